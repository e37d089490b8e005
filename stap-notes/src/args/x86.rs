//! The x86 and x86-64 operand grammar (AT&T syntax, as GCC and Clang print
//! `sys/sdt.h` operands).
//!
//! - `%reg`: any general register or sub-register (`%rax %eax %ax %al %ah`,
//!   `%r8 %r8d %r8w %r8b`, `%sil`, …), `%rip`, `%xmmN`;
//! - `$imm`: a constant, decimal or `0x` hex, possibly negative;
//! - `disp(base)`, `disp(base,index,scale)`, `(,index,scale)`: memory, where
//!   `disp` is a number, a symbol, `sym+N`, `sym-N` or `N+sym`;
//! - `sym(%rip)`, `sym+N(%rip)`: RIP-relative memory at a symbol;
//! - a bare `disp`: absolute memory.

use std::fmt;

use super::{parse_int, parse_symbol_expr, Arch, Location, MemOperand, RegOperand, Register, Reloc};
use crate::error::ArgErrorKind;

/// An x86 register, as the full register that holds an operand.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[allow(missing_docs)]
pub enum Reg {
    Rax,
    Rbx,
    Rcx,
    Rdx,
    Rsi,
    Rdi,
    Rbp,
    Rsp,
    R8,
    R9,
    R10,
    R11,
    R12,
    R13,
    R14,
    R15,
    Rip,
    /// SSE register `xmmN` (0–31).
    Xmm(u8),
}

const LEGACY: [(Reg, &str); 8] = [
    (Reg::Rax, "a"),
    (Reg::Rbx, "b"),
    (Reg::Rcx, "c"),
    (Reg::Rdx, "d"),
    (Reg::Rsi, "si"),
    (Reg::Rdi, "di"),
    (Reg::Rbp, "bp"),
    (Reg::Rsp, "sp"),
];
const NUMBERED: [Reg; 8] = [Reg::R8, Reg::R9, Reg::R10, Reg::R11, Reg::R12, Reg::R13, Reg::R14, Reg::R15];

impl Reg {
    /// The 64-bit name (`rax`, `r8`, `rip`, `xmm0`).
    pub fn name(self) -> String {
        match self {
            Reg::Xmm(n) => format!("xmm{n}"),
            Reg::Rip => "rip".into(),
            r => {
                if let Some((_, base)) = LEGACY.iter().find(|(l, _)| *l == r) {
                    if base.len() == 1 {
                        format!("r{base}x")
                    } else {
                        format!("r{base}")
                    }
                } else {
                    let i = NUMBERED.iter().position(|n| *n == r).expect("numbered register");
                    format!("r{}", i + 8)
                }
            }
        }
    }

    /// The DWARF register number (x86-64 psABI), used for `pt_regs` lookups.
    pub fn dwarf_number(self) -> u16 {
        match self {
            Reg::Rax => 0,
            Reg::Rdx => 1,
            Reg::Rcx => 2,
            Reg::Rbx => 3,
            Reg::Rsi => 4,
            Reg::Rdi => 5,
            Reg::Rbp => 6,
            Reg::Rsp => 7,
            Reg::R8 => 8,
            Reg::R9 => 9,
            Reg::R10 => 10,
            Reg::R11 => 11,
            Reg::R12 => 12,
            Reg::R13 => 13,
            Reg::R14 => 14,
            Reg::R15 => 15,
            Reg::Rip => 16,
            Reg::Xmm(n) => 17 + u16::from(n),
        }
    }
}

impl fmt::Display for Reg {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.name())
    }
}

/// Map a register name (without `%`) to its full register, width and shift.
pub fn register(name: &str) -> Option<RegOperand> {
    static TABLE: std::sync::OnceLock<std::collections::HashMap<String, RegOperand>> = std::sync::OnceLock::new();
    TABLE
        .get_or_init(|| register_names().into_iter().filter_map(|n| derive_register(&n).map(|r| (n, r))).collect())
        .get(name)
        .copied()
}

/// The register-name rules; [`register`] caches their result for every name.
fn derive_register(name: &str) -> Option<RegOperand> {
    let op = |reg, width, shift| Some(RegOperand { reg: Register::X86(reg), width, shift });
    match name {
        "rip" => return op(Reg::Rip, 8, 0),
        "eip" => return op(Reg::Rip, 4, 0),
        _ => {}
    }
    if let Some(n) = name.strip_prefix("xmm") {
        let n: u8 = n.parse().ok().filter(|n| *n < 32)?;
        return op(Reg::Xmm(n), 16, 0);
    }
    for (reg, base) in LEGACY {
        if base.len() == 1 {
            // a: rax eax ax al ah
            let b = base;
            if name == format!("r{b}x") {
                return op(reg, 8, 0);
            } else if name == format!("e{b}x") {
                return op(reg, 4, 0);
            } else if name == format!("{b}x") {
                return op(reg, 2, 0);
            } else if name == format!("{b}l") {
                return op(reg, 1, 0);
            } else if name == format!("{b}h") {
                return op(reg, 1, 8);
            }
        } else if name == format!("r{base}") {
            return op(reg, 8, 0);
        } else if name == format!("e{base}") {
            return op(reg, 4, 0);
        } else if name == base {
            return op(reg, 2, 0);
        } else if name == format!("{base}l") {
            return op(reg, 1, 0);
        }
    }
    let rest = name.strip_prefix('r')?;
    let digits_end = rest.find(|c: char| !c.is_ascii_digit()).unwrap_or(rest.len());
    let n: usize = rest[..digits_end].parse().ok()?;
    let reg = *NUMBERED.get(n.checked_sub(8)?)?;
    match &rest[digits_end..] {
        "" => op(reg, 8, 0),
        "d" => op(reg, 4, 0),
        "w" => op(reg, 2, 0),
        "b" | "l" => op(reg, 1, 0),
        _ => None,
    }
}

fn parse_reg(s: &str) -> Result<Register, ArgErrorKind> {
    let name = s.strip_prefix('%').ok_or(ArgErrorKind::Syntax)?;
    register(name).map(|r| r.reg).ok_or_else(|| ArgErrorKind::UnknownRegister(name.to_string()))
}

/// Parse an operand (the part after `N@`).
pub fn parse_operand(s: &str, _arch: Arch) -> Result<Location<'_>, ArgErrorKind> {
    if let Some(name) = s.strip_prefix('%') {
        return register(name).map(Location::Register).ok_or_else(|| ArgErrorKind::UnknownRegister(name.to_string()));
    }
    if let Some(imm) = s.strip_prefix('$') {
        return parse_int(imm).map(Location::Constant);
    }
    let (disp, regs) = match s.find('(') {
        Some(i) => {
            let inner = s[i + 1..].strip_suffix(')').ok_or(ArgErrorKind::Syntax)?;
            (&s[..i], Some(inner))
        }
        None => (s, None),
    };
    let mut mem = MemOperand { base: None, index: None, scale: 1, offset: 0, symbol: None };
    if !disp.is_empty() {
        match parse_int(disp) {
            Ok(v) => mem.offset = v,
            Err(_) => mem.symbol = Some(parse_symbol_expr(disp, Reloc::Absolute)?),
        }
    }
    if let Some(inner) = regs {
        let parts: Vec<&str> = inner.split(',').map(str::trim).collect();
        match parts.as_slice() {
            [base] => mem.base = Some(parse_reg(base)?),
            [base, index] | [base, index, ""] => {
                mem.base = if base.is_empty() { None } else { Some(parse_reg(base)?) };
                mem.index = Some(parse_reg(index)?);
            }
            [base, index, scale] => {
                mem.base = if base.is_empty() { None } else { Some(parse_reg(base)?) };
                mem.index = Some(parse_reg(index)?);
                mem.scale = match *scale {
                    "1" => 1,
                    "2" => 2,
                    "4" => 4,
                    "8" => 8,
                    other => return Err(ArgErrorKind::BadNumber(other.to_string())),
                };
            }
            _ => return Err(ArgErrorKind::Syntax),
        }
        if mem.base.is_none() && mem.index.is_none() {
            return Err(ArgErrorKind::Syntax);
        }
    }
    Ok(Location::Memory(mem))
}

/// Every register name the grammar accepts (without `%`), widest forms first.
pub fn register_names() -> Vec<String> {
    let mut v: Vec<String> = vec!["rip".into(), "eip".into()];
    for (_, b) in LEGACY {
        if b.len() == 1 {
            v.extend([format!("r{b}x"), format!("e{b}x"), format!("{b}x"), format!("{b}l"), format!("{b}h")]);
        } else {
            v.extend([format!("r{b}"), format!("e{b}"), b.to_string(), format!("{b}l")]);
        }
    }
    for n in 8..16 {
        v.extend([format!("r{n}"), format!("r{n}d"), format!("r{n}w"), format!("r{n}b"), format!("r{n}l")]);
    }
    v.extend((0..32).map(|n| format!("xmm{n}")));
    v
}

#[cfg(test)]
mod tests {
    use crate::args::{parse_arg, Arch};
    use crate::error::ArgErrorKind;

    fn p(s: &str) -> String {
        match parse_arg(s, Arch::X86_64) {
            Ok(a) => a.to_string(),
            Err(e) => format!("error: {e}"),
        }
    }

    #[test]
    fn every_register_name_maps_to_its_full_register() {
        let cases = [
            ("rax", "rax", 8, 0),
            ("eax", "rax", 4, 0),
            ("ax", "rax", 2, 0),
            ("al", "rax", 1, 0),
            ("ah", "rax", 1, 8),
            ("rbx", "rbx", 8, 0),
            ("bh", "rbx", 1, 8),
            ("ecx", "rcx", 4, 0),
            ("dl", "rdx", 1, 0),
            ("rsi", "rsi", 8, 0),
            ("esi", "rsi", 4, 0),
            ("si", "rsi", 2, 0),
            ("sil", "rsi", 1, 0),
            ("dil", "rdi", 1, 0),
            ("bpl", "rbp", 1, 0),
            ("spl", "rsp", 1, 0),
            ("esp", "rsp", 4, 0),
            ("r8", "r8", 8, 0),
            ("r8d", "r8", 4, 0),
            ("r8w", "r8", 2, 0),
            ("r8b", "r8", 1, 0),
            ("r8l", "r8", 1, 0),
            ("r15d", "r15", 4, 0),
            ("rip", "rip", 8, 0),
            ("xmm0", "xmm0", 16, 0),
            ("xmm15", "xmm15", 16, 0),
        ];
        for (name, full, width, shift) in cases {
            let r = super::register(name).unwrap_or_else(|| panic!("{name}"));
            assert_eq!((r.reg.to_string().as_str(), r.width, r.shift), (full, width, shift), "{name}");
        }
        for bad in ["r7", "r16", "r8x", "xmm32", "eex", "rxx", "", "r"] {
            assert!(super::register(bad).is_none(), "{bad}");
        }
    }

    #[test]
    fn operand_forms() {
        assert_eq!(p("-4@%eax"), "i32 reg rax");
        assert_eq!(p("1@%ah"), "u8 reg rax[8:16]");
        assert_eq!(p("-4@$-5"), "i32 imm -5");
        assert_eq!(p("8@$0x10"), "u64 imm 16");
        assert_eq!(p("-4@-20(%rbp)"), "i32 mem [rbp - 20]");
        assert_eq!(p("8@(%rax)"), "u64 mem [rax + 0]");
        assert_eq!(p("8@16(%rax,%rbx,8)"), "u64 mem [rax + rbx*8 + 16]");
        assert_eq!(p("4@(,%rcx,4)"), "u32 mem [rcx*4 + 0]");
        assert_eq!(p("8@counter(%rip)"), "u64 mem [rip + counter]");
        assert_eq!(p("8@counter+16(%rip)"), "u64 mem [rip + counter+16]");
        assert_eq!(p("8@16+counter(%rip)"), "u64 mem [rip + counter+16]");
        assert_eq!(p("8@_ZN3foo3BAR17h0123E.llvm.42-8(%rip)"), "u64 mem [rip + _ZN3foo3BAR17h0123E.llvm.42-8]");
        assert_eq!(p("4@global_counter"), "u32 mem [global_counter]");
        assert_eq!(p("8f@%xmm3"), "f64 reg xmm3");
    }

    #[test]
    fn malformed_operands_are_errors() {
        assert!(matches!(parse_arg("8@%rxx", Arch::X86_64), Err(ArgErrorKind::UnknownRegister(_))));
        assert!(matches!(parse_arg("8@$abc", Arch::X86_64), Err(ArgErrorKind::BadNumber(_))));
        assert!(matches!(parse_arg("8@8(%rax,%rbx,3)", Arch::X86_64), Err(ArgErrorKind::BadNumber(_))));
        assert!(parse_arg("8@8(%rax", Arch::X86_64).is_err());
        assert!(parse_arg("8@()", Arch::X86_64).is_err());
        assert!(parse_arg("8@", Arch::X86_64).is_err());
        assert!(parse_arg("8@%fs:0x28", Arch::X86_64).is_err());
    }
}
