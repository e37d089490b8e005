//! The aarch64 operand grammar (GNU assembler syntax as GCC prints
//! `sys/sdt.h` operands).
//!
//! - `xN`, `wN` (N 0–30), `sp`, `wsp`, `xzr`, `wzr`, `fp`, `lr`: core registers;
//! - `vN`, `qN`, `dN`, `sN`, `hN`, `bN`: SIMD and float registers;
//! - `N`, `#N`: constants (GCC prints them without `$`);
//! - `[reg]`, `[reg, N]`, `[reg, #N]`: memory at a base register plus offset;
//! - `[reg, #:lo12:sym]`, `[reg, :lo12:sym+N]`: memory at a base plus the low
//!   12 bits of a symbol's address (the second half of an `adrp` pair).
//!
//! GCC names the 64-bit register even for narrower values (`-4@x0`); the
//! size prefix, not the register name, gives the value's width.

use std::fmt;

use super::{parse_int, parse_symbol_expr, Location, MemOperand, RegOperand, Register, Reloc};
use crate::error::ArgErrorKind;

/// An aarch64 register.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Reg {
    /// General register `x0`–`x30` (`x29` is the frame pointer, `x30` the link register).
    X(u8),
    /// The stack pointer.
    Sp,
    /// The zero register.
    Xzr,
    /// SIMD/float register `v0`–`v31`.
    V(u8),
}

impl fmt::Display for Reg {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Reg::X(n) => write!(f, "x{n}"),
            Reg::Sp => f.write_str("sp"),
            Reg::Xzr => f.write_str("xzr"),
            Reg::V(n) => write!(f, "v{n}"),
        }
    }
}

/// Map a register name to its full register and the width named.
pub fn register(name: &str) -> Option<RegOperand> {
    let op = |reg, width| Some(RegOperand { reg: Register::AArch64(reg), width, shift: 0 });
    match name {
        "sp" => return op(Reg::Sp, 8),
        "wsp" => return op(Reg::Sp, 4),
        "xzr" => return op(Reg::Xzr, 8),
        "wzr" => return op(Reg::Xzr, 4),
        "fp" => return op(Reg::X(29), 8),
        "lr" => return op(Reg::X(30), 8),
        _ => {}
    }
    let (first, digits) = name.split_at(name.find(|c: char| c.is_ascii_digit())?);
    if digits.len() > 2 || (digits.len() == 2 && digits.starts_with('0')) {
        return None;
    }
    let n: u8 = digits.parse().ok()?;
    match first {
        "x" if n <= 30 => op(Reg::X(n), 8),
        "w" if n <= 30 => op(Reg::X(n), 4),
        "v" | "q" if n <= 31 => op(Reg::V(n), 16),
        "d" if n <= 31 => op(Reg::V(n), 8),
        "s" if n <= 31 => op(Reg::V(n), 4),
        "h" if n <= 31 => op(Reg::V(n), 2),
        "b" if n <= 31 => op(Reg::V(n), 1),
        _ => None,
    }
}

fn looks_numeric(s: &str) -> bool {
    s.as_bytes().first().is_some_and(|c| c.is_ascii_digit() || *c == b'-' || *c == b'+')
}

/// Parse an operand (the part after `N@`).
pub fn parse_operand(s: &str) -> Result<Location<'_>, ArgErrorKind> {
    if let Some(inner) = s.strip_prefix('[') {
        let inner = inner.strip_suffix(']').ok_or(ArgErrorKind::Syntax)?;
        let mut parts = inner.splitn(2, ',').map(str::trim);
        let base_name = parts.next().unwrap_or("");
        let base = register(base_name)
            .filter(|r| !matches!(r.reg, Register::AArch64(Reg::V(_))))
            .ok_or_else(|| ArgErrorKind::UnknownRegister(base_name.to_string()))?
            .reg;
        let mut mem = MemOperand::based(base, 0);
        if let Some(off) = parts.next() {
            let off = off.strip_prefix('#').unwrap_or(off);
            if let Some(sym) = off.strip_prefix(":lo12:") {
                mem.symbol = Some(parse_symbol_expr(sym, Reloc::Lo12)?);
            } else if looks_numeric(off) {
                mem.offset = parse_int(off)?;
            } else {
                return Err(ArgErrorKind::Syntax);
            }
        }
        return Ok(Location::Memory(mem));
    }
    let num = s.strip_prefix('#').unwrap_or(s);
    if looks_numeric(num) {
        return parse_int(num).map(Location::Constant);
    }
    register(s).map(Location::Register).ok_or_else(|| ArgErrorKind::UnknownRegister(s.to_string()))
}

/// Every register name the grammar accepts, 64-bit names first.
pub fn register_names() -> Vec<String> {
    let mut v: Vec<String> = (0..31).map(|n| format!("x{n}")).collect();
    v.extend(["sp", "xzr"].map(String::from));
    v.extend((0..31).map(|n| format!("w{n}")));
    v.extend(["wsp", "wzr", "fp", "lr"].map(String::from));
    for p in ["v", "q", "d", "s", "h", "b"] {
        v.extend((0..32).map(|n| format!("{p}{n}")));
    }
    v
}

#[cfg(test)]
mod tests {
    use crate::args::{parse_arg, Arch};

    fn p(s: &str) -> String {
        match parse_arg(s, Arch::AArch64) {
            Ok(a) => a.to_string(),
            Err(e) => format!("error: {e}"),
        }
    }

    #[test]
    fn operand_forms() {
        assert_eq!(p("8@x0"), "u64 reg x0");
        assert_eq!(p("-4@w1"), "i32 reg x1");
        assert_eq!(p("8@sp"), "u64 reg sp");
        assert_eq!(p("8@fp"), "u64 reg x29");
        assert_eq!(p("8@lr"), "u64 reg x30");
        assert_eq!(p("8@[x0]"), "u64 mem [x0 + 0]");
        assert_eq!(p("8@[x0, 8]"), "u64 mem [x0 + 8]");
        assert_eq!(p("-4@[x19, #-8]"), "i32 mem [x19 - 8]");
        assert_eq!(p("8@[sp, 16]"), "u64 mem [sp + 16]");
        assert_eq!(p("4@5"), "u32 imm 5");
        assert_eq!(p("-4@#-1"), "i32 imm -1");
        assert_eq!(p("8@0x10"), "u64 imm 16");
        assert_eq!(p("8f@d0"), "f64 reg v0");
        assert_eq!(p("4f@s3"), "f32 reg v3");
        assert_eq!(p("8@[x1, #:lo12:counter]"), "u64 mem [x1 + lo12(counter)]");
        assert_eq!(p("8@[x1, :lo12:counter+16]"), "u64 mem [x1 + lo12(counter+16)]");
        assert_eq!(p("x3"), "u64 reg x3");
    }

    #[test]
    fn malformed_operands_are_errors() {
        for bad in ["8@x31", "8@w31", "8@v32", "8@[v0]", "8@[x0, x1]", "8@[x0", "8@y0", "8@[x0, #abc]", "8@x01"] {
            assert!(parse_arg(bad, Arch::AArch64).is_err(), "{bad}");
        }
    }
}
