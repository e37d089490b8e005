//! An instruction buffer with named forward labels, so code generators can
//! jump to a block before they emit it.

use super::insn::{Cond, Insn, Reg};

/// A jump target, resolved when [`Asm::bind`] is called.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Label(usize);

/// Collects instructions and patches jump offsets once labels are bound.
#[derive(Debug, Default)]
pub struct Asm {
    insns: Vec<Insn>,
    labels: Vec<Option<usize>>,
    fixups: Vec<(usize, Label)>,
    /// `ld_func` instructions whose `imm` is the distance to a label.
    func_fixups: Vec<(usize, Label)>,
}

impl Asm {
    /// An empty buffer.
    pub fn new() -> Self {
        Self::default()
    }
    /// Append one instruction.
    pub fn emit(&mut self, insn: Insn) {
        self.insns.push(insn);
    }
    /// Append several instructions.
    pub fn emit_all(&mut self, insns: impl IntoIterator<Item = Insn>) {
        self.insns.extend(insns);
    }
    /// A new, unbound label.
    pub fn label(&mut self) -> Label {
        self.labels.push(None);
        Label(self.labels.len() - 1)
    }
    /// Bind `label` to the next instruction.
    pub fn bind(&mut self, label: Label) {
        self.labels[label.0] = Some(self.insns.len());
    }
    /// `if dst cond imm goto label`.
    pub fn jmp_imm(&mut self, cond: Cond, dst: Reg, imm: i32, label: Label) {
        self.fixups.push((self.insns.len(), label));
        self.emit(Insn::jmp_imm(cond, dst, imm, 0));
    }
    /// `if dst cond src goto label`.
    pub fn jmp_reg(&mut self, cond: Cond, dst: Reg, src: Reg, label: Label) {
        self.fixups.push((self.insns.len(), label));
        self.emit(Insn::jmp(cond, dst, src, 0));
    }
    /// `goto label`.
    pub fn goto(&mut self, label: Label) {
        self.fixups.push((self.insns.len(), label));
        self.emit(Insn::jmp_imm(Cond::Always, Reg(0), 0, 0));
    }
    /// `dst = &label`, a subprogram that starts at `label` (two slots).
    pub fn ld_func(&mut self, dst: Reg, label: Label) {
        self.func_fixups.push((self.insns.len(), label));
        self.emit_all(Insn::ld_func(dst, 0));
    }
    /// Number of instructions so far.
    pub fn len(&self) -> usize {
        self.insns.len()
    }
    /// Whether nothing was emitted.
    pub fn is_empty(&self) -> bool {
        self.insns.is_empty()
    }
    /// Resolve every jump and return the program.
    ///
    /// # Panics
    /// When a label used by a jump was never bound, or a jump is longer
    /// than an offset can hold: both are bugs in the code generator. Code
    /// whose length depends on its input uses [`Asm::try_finish`].
    pub fn finish(self) -> Vec<Insn> {
        self.try_finish().expect("jump too long")
    }

    /// Resolve every jump and return the program, or the error of a jump
    /// longer than the 16-bit offset holds.
    ///
    /// # Panics
    /// When a label used by a jump was never bound (a code generator bug).
    pub fn try_finish(mut self) -> Result<Vec<Insn>, TooLong> {
        for (at, label) in self.fixups {
            let target = self.labels[label.0].expect("jump to an unbound label");
            let off = target as i64 - at as i64 - 1;
            self.insns[at].off = i16::try_from(off).map_err(|_| TooLong { from: at, to: target })?;
        }
        for (at, label) in self.func_fixups {
            let target = self.labels[label.0].expect("subprogram label never bound");
            self.insns[at].imm =
                i32::try_from(target as i64 - at as i64 - 1).map_err(|_| TooLong { from: at, to: target })?;
        }
        Ok(self.insns)
    }
}

/// A jump that spans more instructions than an offset holds.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[error("a jump from instruction {from} to {to} is longer than eBPF allows (32767 instructions)")]
pub struct TooLong {
    /// The jump.
    pub from: usize,
    /// Its target.
    pub to: usize,
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::bpf::insn::R0;

    #[test]
    fn forward_jumps_are_patched() {
        let mut a = Asm::new();
        let out = a.label();
        a.jmp_imm(Cond::Eq, R0, 0, out);
        a.emit(Insn::mov_imm(R0, 1));
        a.emit(Insn::mov_imm(R0, 2));
        a.bind(out);
        a.emit(Insn::exit());
        let p = a.finish();
        assert_eq!(p[0].off, 2);
    }

    #[test]
    fn subprogram_addresses_count_from_after_the_first_slot() {
        let mut a = Asm::new();
        let sub = a.label();
        a.ld_func(R0, sub);
        a.emit(Insn::exit());
        a.bind(sub);
        a.emit(Insn::exit());
        let p = a.finish();
        // ld_func at 0 (two slots), exit at 2, the subprogram at 3.
        assert_eq!(p[0].imm, 2);
    }

    #[test]
    fn a_jump_past_32767_instructions_is_an_error_not_a_panic() {
        let mut a = Asm::new();
        let out = a.label();
        a.jmp_imm(Cond::Eq, R0, 0, out);
        for _ in 0..40_000 {
            a.emit(Insn::mov_imm(R0, 1));
        }
        a.bind(out);
        assert_eq!(a.try_finish(), Err(TooLong { from: 0, to: 40_001 }));
    }
}
