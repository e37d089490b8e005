//! Reading USDT arguments in eBPF: each stapsdt argument spec (`-4@%eax`,
//! `8@-8(%rbp)`, `$5`) becomes a plan ([`ArgPlan`]: where the value is,
//! its size and sign, and whether it points at text), and [`emit_fetch`]
//! emits the instructions that leave it in a register. The D code
//! generator reads `argN` and `printevent()`'s arguments through it.

use stap_notes::args::{aarch64, x86, Location, Register};
use stap_notes::{Arch, ArgSpec};

use super::asm::Asm;
use super::insn::{helper, Alu, Insn, Reg, Size, R1, R2, R3};

/// How to fetch one argument value.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Fetch {
    /// A saved register at `ctx_off` in `pt_regs`, shifted right by `shift` bits.
    Reg {
        /// Offset in the probe context.
        ctx_off: i16,
        /// Bits to shift right (8 for `%ah`).
        shift: u8,
    },
    /// User memory at `base + index*scale + disp`.
    Mem {
        /// Context offset of the base register.
        base: Option<i16>,
        /// Context offset of the index register and the scale.
        index: Option<(i16, u8)>,
        /// Displacement.
        disp: i64,
    },
    /// A constant.
    Const(i64),
}

/// How to turn an argument into text, when it is a string.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum StringRead {
    /// Not a string.
    No,
    /// A pointer to NUL-terminated text.
    NulTerminated,
    /// A pointer whose length in bytes is argument `len_arg`.
    WithLength {
        /// Index of the length argument.
        len_arg: usize,
    },
}

/// Everything the program needs to read one argument.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct ArgPlan {
    /// Where the value is.
    pub fetch: Fetch,
    /// Size in bytes of the value.
    pub size: u8,
    /// Sign-extend (else zero-extend) to 64 bits.
    pub signed: bool,
    /// Whether the value points at text to copy.
    pub string: StringRead,
}

/// Offset of a register's slot in the kernel's `struct pt_regs` on x86-64.
fn x86_ctx_offset(r: x86::Reg) -> Option<i16> {
    use x86::Reg::*;
    Some(match r {
        R15 => 0,
        R14 => 8,
        R13 => 16,
        R12 => 24,
        Rbp => 32,
        Rbx => 40,
        R11 => 48,
        R10 => 56,
        R9 => 64,
        R8 => 72,
        Rax => 80,
        Rcx => 88,
        Rdx => 96,
        Rsi => 104,
        Rdi => 112,
        Rip => 128,
        Rsp => 152,
        Xmm(_) => return None,
    })
}

/// Offset of a register's slot in `struct user_pt_regs` on aarch64.
fn aarch64_ctx_offset(r: aarch64::Reg) -> Option<i16> {
    match r {
        aarch64::Reg::X(n) => Some(i16::from(n) * 8),
        aarch64::Reg::Sp => Some(31 * 8),
        aarch64::Reg::Xzr | aarch64::Reg::V(_) => None,
    }
}

fn ctx_offset(reg: Register, arch: Arch) -> Result<i16, String> {
    let off = match (reg, arch) {
        (Register::X86(r), Arch::X86_64) => x86_ctx_offset(r),
        (Register::AArch64(r), Arch::AArch64) => aarch64_ctx_offset(r),
        _ => None,
    };
    off.ok_or_else(|| format!("register {reg} is not saved where a uprobe program can read it"))
}

/// Plan the reading of `spec` on `arch`, or say why it cannot be read.
pub fn plan_arg(spec: &ArgSpec<'_>, arch: Arch, string: StringRead) -> Result<ArgPlan, String> {
    if !matches!(arch, Arch::X86_64 | Arch::AArch64) {
        return Err(format!("tracing {arch} is not supported"));
    }
    let fetch = match spec.location {
        Location::Constant(v) => Fetch::Const(v),
        // Floats passed in general registers are read like integers; SSE
        // and SIMD registers are not saved in pt_regs.
        Location::Register(r) => Fetch::Reg {
            ctx_off: ctx_offset(r.reg, arch).map_err(|e| format!("`{}`: {e}", spec.text))?,
            shift: r.shift,
        },
        Location::Memory(m) => {
            if m.symbol.is_some() {
                return Err(format!("`{}`: symbol-relative operands are not supported yet", spec.text));
            }
            let base = m.base.map(|b| ctx_offset(b, arch)).transpose()?;
            let index = m.index.map(|i| ctx_offset(i, arch).map(|o| (o, m.scale))).transpose()?;
            Fetch::Mem { base, index, disp: m.offset }
        }
    };
    Ok(ArgPlan { fetch, size: spec.ty.size, signed: spec.ty.signed && !spec.ty.float, string })
}

/// Extend the low `size` bytes of `reg` to 64 bits.
fn extend(a: &mut Asm, reg: super::insn::Reg, size: u8, signed: bool) {
    if size >= 8 {
        return;
    }
    let bits = 64 - 8 * i32::from(size);
    a.emit(Insn::alu_imm(Alu::Lsh, reg, bits));
    a.emit(Insn::alu_imm(if signed { Alu::Arsh } else { Alu::Rsh }, reg, bits));
}

/// Emit code that leaves an argument in `dst`, extended to 64 bits as its
/// plan says. `ctx` holds the probe's `pt_regs`. A memory operand is read
/// with `bpf_probe_read_user` into the 8 bytes at `buf` (register and
/// offset), which stay 0 when the read fails; that clobbers r0–r5. Both
/// `sdtrace trace` and D programs fetch arguments here.
pub fn emit_fetch(a: &mut Asm, arg: &ArgPlan, ctx: Reg, dst: Reg, buf: (Reg, i16)) {
    match arg.fetch {
        Fetch::Const(v) => a.emit_all(Insn::ld_imm64(dst, v as u64)),
        Fetch::Reg { ctx_off, shift } => {
            a.emit(Insn::load(Size::DW, dst, ctx, ctx_off));
            if shift != 0 {
                a.emit(Insn::alu_imm(Alu::Rsh, dst, i32::from(shift)));
            }
        }
        Fetch::Mem { base, index, disp } => {
            match base {
                Some(off) => a.emit(Insn::load(Size::DW, R3, ctx, off)),
                None => a.emit(Insn::mov_imm(R3, 0)),
            }
            if disp != 0 {
                a.emit_all(Insn::ld_imm64(R2, disp as u64));
                a.emit(Insn::alu(Alu::Add, R3, R2));
            }
            if let Some((off, scale)) = index {
                a.emit(Insn::load(Size::DW, R2, ctx, off));
                if scale > 1 {
                    a.emit(Insn::alu_imm(Alu::Lsh, R2, scale.trailing_zeros() as i32));
                }
                a.emit(Insn::alu(Alu::Add, R3, R2));
            }
            let (buf_reg, buf_off) = buf;
            a.emit(Insn::store_imm(Size::DW, buf_reg, buf_off, 0));
            a.emit(Insn::mov(R1, buf_reg));
            a.emit(Insn::alu_imm(Alu::Add, R1, i32::from(buf_off)));
            a.emit(Insn::mov_imm(R2, i32::from(arg.size.min(8))));
            a.emit(Insn::call(helper::PROBE_READ_USER));
            a.emit(Insn::load(Size::DW, dst, buf_reg, buf_off));
        }
    }
    extend(a, dst, arg.size, arg.signed);
}

#[cfg(test)]
mod tests {
    use super::*;
    use stap_notes::args::parse_arg;

    fn plan(s: &str) -> Result<ArgPlan, String> {
        plan_arg(&parse_arg(s, Arch::X86_64).unwrap(), Arch::X86_64, StringRead::No)
    }

    #[test]
    fn plans_follow_the_spec() {
        assert_eq!(
            plan("-4@%eax").unwrap(),
            ArgPlan { fetch: Fetch::Reg { ctx_off: 80, shift: 0 }, size: 4, signed: true, string: StringRead::No }
        );
        assert_eq!(plan("1@%ah").unwrap().fetch, Fetch::Reg { ctx_off: 80, shift: 8 });
        assert_eq!(plan("8@-8(%rbp)").unwrap().fetch, Fetch::Mem { base: Some(32), index: None, disp: -8 });
        assert_eq!(plan("-4@$-5").unwrap().fetch, Fetch::Const(-5));
        assert!(plan("8f@%xmm0").unwrap_err().contains("xmm0 is not saved"));
        assert_eq!(plan("8f@%rax").unwrap().fetch, Fetch::Reg { ctx_off: 80, shift: 0 });
        assert!(plan("8@counter(%rip)").unwrap_err().contains("symbol"));
    }
}
