//! eBPF instructions: the 8-byte encoding the kernel takes
//! (`include/uapi/linux/bpf.h`, `Documentation/bpf/standardization/instruction-set.rst`),
//! with one constructor per instruction form sdtrace emits.

/// A general register `r0`–`r10`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Reg(pub u8);

/// Return value and helper result.
pub const R0: Reg = Reg(0);
/// First helper argument; the context pointer on entry.
pub const R1: Reg = Reg(1);
/// Second helper argument.
pub const R2: Reg = Reg(2);
/// Third helper argument.
pub const R3: Reg = Reg(3);
/// Fourth helper argument.
pub const R4: Reg = Reg(4);
/// Fifth helper argument.
pub const R5: Reg = Reg(5);
/// Callee-saved.
pub const R6: Reg = Reg(6);
/// Callee-saved.
pub const R7: Reg = Reg(7);
/// Callee-saved.
pub const R8: Reg = Reg(8);
/// Callee-saved.
pub const R9: Reg = Reg(9);
/// Read-only frame pointer.
pub const R10: Reg = Reg(10);

/// One instruction, laid out as `struct bpf_insn`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[repr(C)]
pub struct Insn {
    /// Opcode.
    pub code: u8,
    /// `dst_reg` in the low nibble, `src_reg` in the high nibble.
    pub regs: u8,
    /// Signed offset.
    pub off: i16,
    /// Signed immediate.
    pub imm: i32,
}

// Classes.
const LD: u8 = 0x00;
const LDX: u8 = 0x01;
const ST: u8 = 0x02;
const STX: u8 = 0x03;
const JMP: u8 = 0x05;
const ALU64: u8 = 0x07;
// Sources.
const K: u8 = 0x00;
const X: u8 = 0x08;
// Modes.
const IMM: u8 = 0x00;
const MEM: u8 = 0x60;
const MEMSX: u8 = 0x80;

/// Access size of a load or store.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Size {
    /// 1 byte.
    B,
    /// 2 bytes.
    H,
    /// 4 bytes.
    W,
    /// 8 bytes.
    DW,
}

impl Size {
    /// The size with `bytes` bytes.
    pub fn of(bytes: u8) -> Size {
        match bytes {
            1 => Size::B,
            2 => Size::H,
            4 => Size::W,
            _ => Size::DW,
        }
    }
    fn bits(self) -> u8 {
        match self {
            Size::W => 0x00,
            Size::H => 0x08,
            Size::B => 0x10,
            Size::DW => 0x18,
        }
    }
}

/// ALU operations.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[allow(missing_docs)]
pub enum Alu {
    Add = 0x00,
    Sub = 0x10,
    Mul = 0x20,
    Div = 0x30,
    Or = 0x40,
    And = 0x50,
    Lsh = 0x60,
    Rsh = 0x70,
    Mod = 0x90,
    Xor = 0xa0,
    Mov = 0xb0,
    Arsh = 0xc0,
}

/// Jump conditions.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[allow(missing_docs)]
pub enum Cond {
    Always = 0x00,
    Eq = 0x10,
    Gt = 0x20,
    Ge = 0x30,
    Set = 0x40,
    Ne = 0x50,
    Sgt = 0x60,
    Sge = 0x70,
    Lt = 0xa0,
    Le = 0xb0,
    Slt = 0xc0,
    Sle = 0xd0,
}

fn regs(dst: Reg, src: Reg) -> u8 {
    (src.0 << 4) | (dst.0 & 0x0f)
}

impl Insn {
    /// Signed `dst /= src` or `dst %= src` (`sdiv`/`smod`, Linux 6.6+).
    pub fn alu_signed(op: Alu, dst: Reg, src: Reg) -> Insn {
        Insn { code: ALU64 | X | op as u8, regs: regs(dst, src), off: 1, imm: 0 }
    }
    /// `dst = imm` (sign-extended 32-bit immediate).
    pub fn mov_imm(dst: Reg, imm: i32) -> Insn {
        Insn::alu_imm(Alu::Mov, dst, imm)
    }
    /// `dst = src`.
    pub fn mov(dst: Reg, src: Reg) -> Insn {
        Insn::alu(Alu::Mov, dst, src)
    }
    /// `dst op= imm`.
    pub fn alu_imm(op: Alu, dst: Reg, imm: i32) -> Insn {
        Insn { code: ALU64 | K | op as u8, regs: regs(dst, Reg(0)), off: 0, imm }
    }
    /// `dst op= src`.
    pub fn alu(op: Alu, dst: Reg, src: Reg) -> Insn {
        Insn { code: ALU64 | X | op as u8, regs: regs(dst, src), off: 0, imm: 0 }
    }
    /// `dst = *(size *)(src + off)`, zero-extended.
    pub fn load(size: Size, dst: Reg, src: Reg, off: i16) -> Insn {
        Insn { code: LDX | MEM | size.bits(), regs: regs(dst, src), off, imm: 0 }
    }
    /// `dst = *(size *)(src + off)`, sign-extended (kernel 6.6+).
    pub fn load_signed(size: Size, dst: Reg, src: Reg, off: i16) -> Insn {
        Insn { code: LDX | MEMSX | size.bits(), regs: regs(dst, src), off, imm: 0 }
    }
    /// `*(size *)(dst + off) = src`.
    pub fn store(size: Size, dst: Reg, off: i16, src: Reg) -> Insn {
        Insn { code: STX | MEM | size.bits(), regs: regs(dst, src), off, imm: 0 }
    }
    /// `src = atomic_fetch_add((u64 *)(dst + off), src)`.
    pub fn atomic_fetch_add(dst: Reg, off: i16, src: Reg) -> Insn {
        // BPF_ATOMIC mode (0xc0), BPF_ADD | BPF_FETCH.
        Insn { code: STX | 0xc0 | Size::DW.bits(), regs: regs(dst, src), off, imm: 1 }
    }
    /// `r0 = atomic_cmpxchg((u64 *)(dst + off), r0, src)`: stores `src`
    /// when the word equals `r0`; `r0` gets the word's old value.
    pub fn atomic_cmpxchg(dst: Reg, off: i16, src: Reg) -> Insn {
        // BPF_ATOMIC mode (0xc0), BPF_CMPXCHG (0xf0 | BPF_FETCH).
        Insn { code: STX | 0xc0 | Size::DW.bits(), regs: regs(dst, src), off, imm: 0xf1 }
    }
    /// `*(size *)(dst + off) = imm`.
    pub fn store_imm(size: Size, dst: Reg, off: i16, imm: i32) -> Insn {
        Insn { code: ST | MEM | size.bits(), regs: regs(dst, Reg(0)), off, imm }
    }
    /// `if dst cond imm goto +off`.
    pub fn jmp_imm(cond: Cond, dst: Reg, imm: i32, off: i16) -> Insn {
        Insn { code: JMP | K | cond as u8, regs: regs(dst, Reg(0)), off, imm }
    }
    /// `if dst cond src goto +off`.
    pub fn jmp(cond: Cond, dst: Reg, src: Reg, off: i16) -> Insn {
        Insn { code: JMP | X | cond as u8, regs: regs(dst, src), off, imm: 0 }
    }
    /// Call helper number `id`.
    pub fn call(id: i32) -> Insn {
        Insn { code: JMP | 0x80, regs: 0, off: 0, imm: id }
    }
    /// Return `r0`.
    pub fn exit() -> Insn {
        Insn { code: JMP | 0x90, regs: 0, off: 0, imm: 0 }
    }
    /// `dst = imm64`: two instruction slots.
    pub fn ld_imm64(dst: Reg, imm: u64) -> [Insn; 2] {
        [
            Insn { code: LD | IMM | Size::DW.bits(), regs: regs(dst, Reg(0)), off: 0, imm: imm as u32 as i32 },
            Insn { code: 0, regs: 0, off: 0, imm: (imm >> 32) as u32 as i32 },
        ]
    }
    /// `dst = &subprogram`, the subprogram `imm` instructions after the
    /// next one (`BPF_PSEUDO_FUNC`, for callbacks such as `bpf_loop`'s):
    /// two slots.
    pub fn ld_func(dst: Reg, imm: i32) -> [Insn; 2] {
        const BPF_PSEUDO_FUNC: u8 = 4;
        [
            Insn { code: LD | IMM | Size::DW.bits(), regs: regs(dst, Reg(BPF_PSEUDO_FUNC)), off: 0, imm },
            Insn { code: 0, regs: 0, off: 0, imm: 0 },
        ]
    }
    /// `dst = map` for the map with file descriptor `fd`: two slots.
    pub fn ld_map_fd(dst: Reg, fd: i32) -> [Insn; 2] {
        [
            Insn { code: LD | IMM | Size::DW.bits(), regs: regs(dst, Reg(BPF_PSEUDO_MAP_FD)), off: 0, imm: fd },
            Insn { code: 0, regs: 0, off: 0, imm: 0 },
        ]
    }

    /// The map descriptor this instruction loads, when it is the first
    /// slot of an [`Insn::ld_map_fd`].
    pub fn map_fd(&self) -> Option<i32> {
        (self.code == LD | IMM | Size::DW.bits() && self.regs >> 4 == BPF_PSEUDO_MAP_FD).then_some(self.imm)
    }
}

const BPF_PSEUDO_MAP_FD: u8 = 1;

/// A map reference [`relocate_maps`] found no descriptor for.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[error("instruction {at} loads map reference {reference}, which names no map")]
pub struct UnknownMap {
    /// The instruction's index.
    pub at: usize,
    /// The reference it holds.
    pub reference: i32,
}

/// Replace every map reference a program holds (the `imm` of an
/// [`Insn::ld_map_fd`]) with the descriptor `fd_of` gives it, as a loader
/// does with an object file's map relocations: code is generated once,
/// against references, before any map exists.
pub fn relocate_maps(insns: &mut [Insn], fd_of: impl Fn(i32) -> Option<i32>) -> Result<(), UnknownMap> {
    let mut at = 0;
    while at < insns.len() {
        if let Some(reference) = insns[at].map_fd() {
            insns[at].imm = fd_of(reference).ok_or(UnknownMap { at, reference })?;
        }
        // An ld_imm64's second slot is never an instruction of its own.
        at += if insns[at].code == LD | IMM | Size::DW.bits() { 2 } else { 1 };
    }
    Ok(())
}

/// Helper function numbers (`enum bpf_func_id`).
#[allow(missing_docs)]
pub mod helper {
    pub const MAP_LOOKUP_ELEM: i32 = 1;
    pub const MAP_UPDATE_ELEM: i32 = 2;
    pub const MAP_DELETE_ELEM: i32 = 3;
    pub const GET_SMP_PROCESSOR_ID: i32 = 8;
    pub const GET_PRANDOM_U32: i32 = 7;
    pub const SEND_SIGNAL: i32 = 109;
    pub const GET_CURRENT_UID_GID: i32 = 15;
    pub const PROBE_READ_KERNEL: i32 = 113;
    pub const RINGBUF_OUTPUT: i32 = 130;
    pub const KTIME_GET_NS: i32 = 5;
    pub const GET_CURRENT_PID_TGID: i32 = 14;
    pub const GET_CURRENT_COMM: i32 = 16;
    pub const PROBE_READ_USER: i32 = 112;
    pub const PROBE_READ_USER_STR: i32 = 114;
    pub const RINGBUF_RESERVE: i32 = 131;
    pub const RINGBUF_SUBMIT: i32 = 132;
    pub const GET_ATTACH_COOKIE: i32 = 174;
    pub const GET_CURRENT_TASK: i32 = 35;
    pub const PROBE_READ_KERNEL_STR: i32 = 115;
    pub const LOOP: i32 = 181;
    pub const GET_STACKID: i32 = 27;
    pub const GET_STACK: i32 = 67;
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn encodings_match_the_kernel_abi() {
        // Values as `bpf_insn` bytes, from the kernel's instruction-set document.
        assert_eq!(Insn::mov_imm(R0, 0), Insn { code: 0xb7, regs: 0x00, off: 0, imm: 0 });
        assert_eq!(Insn::mov(R6, R1), Insn { code: 0xbf, regs: 0x16, off: 0, imm: 0 });
        assert_eq!(Insn::load(Size::DW, R2, R6, 112), Insn { code: 0x79, regs: 0x62, off: 112, imm: 0 });
        assert_eq!(Insn::store(Size::W, R10, -8, R1), Insn { code: 0x63, regs: 0x1a, off: -8, imm: 0 });
        assert_eq!(Insn::jmp_imm(Cond::Eq, R0, 0, 3), Insn { code: 0x15, regs: 0x00, off: 3, imm: 0 });
        assert_eq!(Insn::call(helper::RINGBUF_RESERVE), Insn { code: 0x85, regs: 0, off: 0, imm: 131 });
        assert_eq!(Insn::exit(), Insn { code: 0x95, regs: 0, off: 0, imm: 0 });
        assert_eq!(Insn::ld_map_fd(R1, 7)[0], Insn { code: 0x18, regs: 0x11, off: 0, imm: 7 });
        assert_eq!(Insn::ld_func(R2, 5)[0], Insn { code: 0x18, regs: 0x42, off: 0, imm: 5 });
        assert_eq!(std::mem::size_of::<Insn>(), 8);
    }
}

#[cfg(test)]
mod relocation_tests {
    use super::*;

    #[test]
    fn map_references_are_replaced_and_other_immediates_are_not() {
        let mut p = Vec::new();
        p.extend(Insn::ld_map_fd(R1, 3));
        // A plain 64-bit constant whose low half equals a reference.
        p.extend(Insn::ld_imm64(R2, 3));
        p.push(Insn::mov_imm(R3, 3));
        p.extend(Insn::ld_map_fd(R4, 7));
        relocate_maps(&mut p, |r| [(3, 40), (7, 41)].iter().find(|(k, _)| *k == r).map(|(_, fd)| *fd)).unwrap();
        assert_eq!(p[0].imm, 40);
        assert_eq!(p[2].imm, 3);
        assert_eq!(p[4].imm, 3);
        assert_eq!(p[5].imm, 41);
        assert_eq!(p[0].map_fd(), Some(40));
        assert_eq!(p[2].map_fd(), None);
    }

    #[test]
    fn a_reference_to_no_map_is_an_error_naming_the_instruction() {
        let mut p = vec![Insn::mov_imm(R0, 0)];
        p.extend(Insn::ld_map_fd(R1, 9));
        assert_eq!(relocate_maps(&mut p, |_| None), Err(UnknownMap { at: 1, reference: 9 }));
    }
}
