//! Operand grammars of the architectures sdtrace does not trace yet but
//! whose notes it lists: 32-bit Arm, RISC-V 64 and IBM Z. Only the forms
//! whose meaning is unambiguous are accepted; POWER, whose assembler writes
//! registers as bare numbers, is rejected as unsupported in [`super::parse_arg`].

use super::{parse_int, Location, MemOperand, RegOperand, Register};
use crate::error::ArgErrorKind;

fn reg_op(reg: Register, width: u8) -> Location<'static> {
    Location::Register(RegOperand { reg, width, shift: 0 })
}

fn arm_register(name: &str) -> Option<Register> {
    let n = match name {
        "sb" => 9,
        "sl" => 10,
        "fp" => 11,
        "ip" => 12,
        "sp" => 13,
        "lr" => 14,
        "pc" => 15,
        _ => name.strip_prefix('r')?.parse().ok().filter(|n| *n < 16)?,
    };
    Some(Register::Arm(n))
}

/// 32-bit Arm: `rN`/`sp`/`lr`/`fp`, `#N` or `N`, `[rN]`, `[rN, #N]`.
pub fn parse_arm(s: &str) -> Result<Location<'_>, ArgErrorKind> {
    if let Some(inner) = s.strip_prefix('[') {
        let inner = inner.strip_suffix(']').ok_or(ArgErrorKind::Syntax)?;
        let mut parts = inner.splitn(2, ',').map(str::trim);
        let b = parts.next().unwrap_or("");
        let base = arm_register(b).ok_or_else(|| ArgErrorKind::UnknownRegister(b.to_string()))?;
        let offset = match parts.next() {
            Some(o) => parse_int(o.strip_prefix('#').unwrap_or(o))?,
            None => 0,
        };
        return Ok(Location::Memory(MemOperand::based(base, offset)));
    }
    let num = s.strip_prefix('#').unwrap_or(s);
    if num.starts_with(|c: char| c.is_ascii_digit() || c == '-') {
        return parse_int(num).map(Location::Constant);
    }
    arm_register(s).map(|r| reg_op(r, 4)).ok_or_else(|| ArgErrorKind::UnknownRegister(s.to_string()))
}

fn riscv_register(name: &str) -> Option<Register> {
    const ABI: [&str; 32] = [
        "zero", "ra", "sp", "gp", "tp", "t0", "t1", "t2", "s0", "s1", "a0", "a1", "a2", "a3", "a4", "a5", "a6", "a7",
        "s2", "s3", "s4", "s5", "s6", "s7", "s8", "s9", "s10", "s11", "t3", "t4", "t5", "t6",
    ];
    if name == "fp" {
        return Some(Register::RiscV(8));
    }
    if let Some(i) = ABI.iter().position(|a| *a == name) {
        return Some(Register::RiscV(i as u8));
    }
    let n: u8 = name.strip_prefix('x')?.parse().ok().filter(|n| *n < 32)?;
    Some(Register::RiscV(n))
}

/// RISC-V: ABI or `xN` register names, `N`, `off(reg)`.
pub fn parse_riscv(s: &str) -> Result<Location<'_>, ArgErrorKind> {
    if let Some(i) = s.find('(') {
        let name = s[i + 1..].strip_suffix(')').ok_or(ArgErrorKind::Syntax)?;
        let base = riscv_register(name).ok_or_else(|| ArgErrorKind::UnknownRegister(name.to_string()))?;
        let offset = if i == 0 { 0 } else { parse_int(&s[..i])? };
        return Ok(Location::Memory(MemOperand::based(base, offset)));
    }
    if s.starts_with(|c: char| c.is_ascii_digit() || c == '-') {
        return parse_int(s).map(Location::Constant);
    }
    riscv_register(s).map(|r| reg_op(r, 8)).ok_or_else(|| ArgErrorKind::UnknownRegister(s.to_string()))
}

fn s390_register(name: &str) -> Option<Register> {
    let n: u8 = name.strip_prefix("%r")?.parse().ok().filter(|n| *n < 16)?;
    Some(Register::S390(n))
}

/// IBM Z: `%rN`, `N` or `$N`, `off(%rN)`.
pub fn parse_s390(s: &str) -> Result<Location<'_>, ArgErrorKind> {
    if let Some(i) = s.find('(') {
        let name = s[i + 1..].strip_suffix(')').ok_or(ArgErrorKind::Syntax)?;
        let base = s390_register(name).ok_or_else(|| ArgErrorKind::UnknownRegister(name.to_string()))?;
        let offset = if i == 0 { 0 } else { parse_int(&s[..i])? };
        return Ok(Location::Memory(MemOperand::based(base, offset)));
    }
    let num = s.strip_prefix('$').unwrap_or(s);
    if num.starts_with(|c: char| c.is_ascii_digit() || c == '-') {
        return parse_int(num).map(Location::Constant);
    }
    s390_register(s).map(|r| reg_op(r, 8)).ok_or_else(|| ArgErrorKind::UnknownRegister(s.to_string()))
}

#[cfg(test)]
mod tests {
    use crate::args::{parse_arg, Arch};

    fn p(s: &str, arch: Arch) -> String {
        parse_arg(s, arch).map(|a| a.to_string()).unwrap_or_else(|e| format!("error: {e}"))
    }

    #[test]
    fn arm_forms() {
        assert_eq!(p("-4@r0", Arch::Arm), "i32 reg r0");
        assert_eq!(p("4@[sp, #8]", Arch::Arm), "u32 mem [r13 + 8]");
        assert_eq!(p("4@#5", Arch::Arm), "u32 imm 5");
        assert!(parse_arg("4@r16", Arch::Arm).is_err());
    }

    #[test]
    fn riscv_forms() {
        assert_eq!(p("8@a0", Arch::RiscV64), "u64 reg x10");
        assert_eq!(p("-4@-20(s0)", Arch::RiscV64), "i32 mem [x8 - 20]");
        assert_eq!(p("8@16(sp)", Arch::RiscV64), "u64 mem [x2 + 16]");
        assert_eq!(p("4@7", Arch::RiscV64), "u32 imm 7");
        assert!(parse_arg("8@a8", Arch::RiscV64).is_err());
    }

    #[test]
    fn s390_forms() {
        assert_eq!(p("8@%r2", Arch::S390x), "u64 reg r2");
        assert_eq!(p("-4@160(%r15)", Arch::S390x), "i32 mem [r15 + 160]");
        assert!(parse_arg("8@%r16", Arch::S390x).is_err());
    }
}
