//! sdtrace's own eBPF code generation: instructions, a small assembler with
//! forward labels, a disassembler for listings, and the programs that turn
//! a probe hit into an event.
//!
//! No LLVM or clang: programs are built instruction by instruction here and
//! loaded by [`crate::kernel`].

pub mod asm;
pub mod disasm;
pub mod insn;
pub mod usdt;
