//! SDT argument specs: the `N@operand` strings of a stapsdt note.
//!
//! `sys/sdt.h` records each probe argument as an assembler operand with a
//! size prefix: `-4@%eax` is a signed 4-byte value in `eax`, `8@16(%rbp)` an
//! unsigned 8-byte value in memory, `8f@%xmm0` a double. The operand syntax
//! is the target's assembler syntax, so each architecture has a grammar
//! ([`x86`], [`aarch64`], [`other`]). Arguments are separated by whitespace
//! outside brackets (aarch64 writes `8@[x0, 8]`).
//!
//! The parse is exact: a register is mapped to the full register that holds
//! it and the bits it names; anything the grammar does not cover is an
//! [`ArgError`] naming the argument and its position, never a guess.

use std::fmt;

use crate::error::{ArgError, ArgErrorKind};

pub use format::format_arg;

pub mod aarch64;
mod format;
pub mod other;
pub mod x86;

/// An architecture with (or without) an argument grammar in this crate.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum Arch {
    /// x86-64 (AT&T syntax).
    X86_64,
    /// 32-bit x86 (AT&T syntax).
    I386,
    /// 64-bit Arm.
    AArch64,
    /// 32-bit Arm.
    Arm,
    /// 64-bit RISC-V.
    RiscV64,
    /// IBM Z.
    S390x,
    /// 64-bit POWER. Its assembler writes registers as bare numbers, so an
    /// operand like `8@3` is ambiguous: parsing returns
    /// [`ArgErrorKind::UnsupportedArch`].
    PowerPc64,
}

impl Arch {
    /// The architecture of an ELF file from `e_machine` and its class.
    pub fn from_elf(machine: u16, class: crate::elf::Class) -> Option<Arch> {
        use crate::elf::Class::*;
        use goblin::elf::header::*;
        Some(match (machine, class) {
            (EM_X86_64, _) => Arch::X86_64,
            (EM_386, _) => Arch::I386,
            (EM_AARCH64, _) => Arch::AArch64,
            (EM_ARM, _) => Arch::Arm,
            (EM_RISCV, Elf64) => Arch::RiscV64,
            (EM_S390, Elf64) => Arch::S390x,
            (EM_PPC64, _) => Arch::PowerPc64,
            _ => return None,
        })
    }

    /// The architecture this crate was compiled for, if it has a grammar.
    pub fn host() -> Option<Arch> {
        if cfg!(target_arch = "x86_64") {
            Some(Arch::X86_64)
        } else if cfg!(target_arch = "aarch64") {
            Some(Arch::AArch64)
        } else if cfg!(target_arch = "x86") {
            Some(Arch::I386)
        } else if cfg!(target_arch = "arm") {
            Some(Arch::Arm)
        } else if cfg!(target_arch = "riscv64") {
            Some(Arch::RiscV64)
        } else if cfg!(target_arch = "s390x") {
            Some(Arch::S390x)
        } else if cfg!(target_arch = "powerpc64") {
            Some(Arch::PowerPc64)
        } else {
            None
        }
    }

    /// Size in bytes of a general-purpose register (and of an argument
    /// written without a size prefix).
    pub fn word_size(self) -> u8 {
        match self {
            Arch::I386 | Arch::Arm => 4,
            _ => 8,
        }
    }

    /// The name used in messages and listings (`x86_64`, `aarch64`, …).
    pub fn name(self) -> &'static str {
        match self {
            Arch::X86_64 => "x86_64",
            Arch::I386 => "i386",
            Arch::AArch64 => "aarch64",
            Arch::Arm => "arm",
            Arch::RiscV64 => "riscv64",
            Arch::S390x => "s390x",
            Arch::PowerPc64 => "ppc64",
        }
    }
}

impl fmt::Display for Arch {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// The value type of an argument: size, signedness, integer or float.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct ArgType {
    /// Size in bytes: 1, 2, 4 or 8.
    pub size: u8,
    /// Signed integer (`-N@`).
    pub signed: bool,
    /// IEEE float (`Nf@`); `size` is then 4 or 8.
    pub float: bool,
}

impl ArgType {
    /// An unsigned integer of `size` bytes.
    pub const fn unsigned(size: u8) -> Self {
        ArgType { size, signed: false, float: false }
    }
    /// A signed integer of `size` bytes.
    pub const fn signed(size: u8) -> Self {
        ArgType { size, signed: true, float: false }
    }
    /// A float of `size` bytes.
    pub const fn float(size: u8) -> Self {
        ArgType { size, signed: true, float: true }
    }
    /// The `N@` prefix that denotes this type (`-4`, `8`, `8f`).
    pub fn prefix(&self) -> String {
        match (self.float, self.signed) {
            (true, _) => format!("{}f", self.size),
            (false, true) => format!("-{}", self.size),
            (false, false) => self.size.to_string(),
        }
    }
}

impl fmt::Display for ArgType {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let letter = if self.float {
            'f'
        } else if self.signed {
            'i'
        } else {
            'u'
        };
        write!(f, "{letter}{}", u32::from(self.size) * 8)
    }
}

/// A machine register, as the full register that holds an operand.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Register {
    /// An x86 or x86-64 register.
    X86(x86::Reg),
    /// An aarch64 register.
    AArch64(aarch64::Reg),
    /// A RISC-V integer register `x0`–`x31`.
    RiscV(u8),
    /// A 32-bit Arm core register `r0`–`r15`.
    Arm(u8),
    /// An IBM Z general register `r0`–`r15`.
    S390(u8),
}

impl fmt::Display for Register {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Register::X86(r) => r.fmt(f),
            Register::AArch64(r) => r.fmt(f),
            Register::RiscV(n) => write!(f, "x{n}"),
            Register::Arm(n) | Register::S390(n) => write!(f, "r{n}"),
        }
    }
}

/// A register operand: which register, and which of its bits.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct RegOperand {
    /// The full register.
    pub reg: Register,
    /// Width in bytes of the register as named (`%eax` is 4, `%rax` 8, `w1` 4).
    pub width: u8,
    /// Bit position of the named part within the full register (8 for `%ah`).
    pub shift: u8,
}

/// A relocation operator applied to a symbol in an operand.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Reloc {
    /// The symbol's address.
    Absolute,
    /// The low 12 bits of the symbol's address (aarch64 `:lo12:`).
    Lo12,
}

/// A symbol in an operand: `sym+16` or `:lo12:sym`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct SymbolRef<'a> {
    /// The symbol's name.
    pub name: &'a str,
    /// Added to the symbol's address before the relocation applies.
    pub addend: i64,
    /// What the operand takes of the address.
    pub reloc: Reloc,
}

impl fmt::Display for SymbolRef<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let inner = match self.addend {
            0 => self.name.to_string(),
            a if a < 0 => format!("{}-{}", self.name, a.unsigned_abs()),
            a => format!("{}+{a}", self.name),
        };
        match self.reloc {
            Reloc::Absolute => f.write_str(&inner),
            Reloc::Lo12 => write!(f, "lo12({inner})"),
        }
    }
}

/// A memory operand: `base + index*scale + symbol + offset`, read from the
/// traced process. An x86 RIP-relative operand has base `rip` and a symbol
/// whose link-time address is the effective address.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct MemOperand<'a> {
    /// Base register.
    pub base: Option<Register>,
    /// Index register.
    pub index: Option<Register>,
    /// Scale applied to the index (1, 2, 4 or 8).
    pub scale: u8,
    /// Constant displacement.
    pub offset: i64,
    /// Symbolic displacement.
    pub symbol: Option<SymbolRef<'a>>,
}

impl<'a> MemOperand<'a> {
    /// `[base + offset]`.
    pub fn based(base: Register, offset: i64) -> Self {
        MemOperand { base: Some(base), index: None, scale: 1, offset, symbol: None }
    }
}

/// Where an argument's value is found.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Location<'a> {
    /// In a register.
    Register(RegOperand),
    /// In the traced process's memory.
    Memory(MemOperand<'a>),
    /// A constant known at compile time.
    Constant(i64),
}

impl fmt::Display for Location<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Location::Register(r) if r.shift != 0 => {
                write!(f, "reg {}[{}:{}]", r.reg, r.shift, u32::from(r.shift) + u32::from(r.width) * 8)
            }
            Location::Register(r) => write!(f, "reg {}", r.reg),
            Location::Constant(v) => write!(f, "imm {v}"),
            Location::Memory(m) => {
                f.write_str("mem [")?;
                let mut first = true;
                let mut term = |f: &mut fmt::Formatter<'_>, neg: bool, s: &dyn fmt::Display| {
                    let r = match (first, neg) {
                        (true, false) => write!(f, "{s}"),
                        (true, true) => write!(f, "-{s}"),
                        (false, false) => write!(f, " + {s}"),
                        (false, true) => write!(f, " - {s}"),
                    };
                    first = false;
                    r
                };
                if let Some(b) = m.base {
                    term(f, false, &b)?;
                }
                if let Some(i) = m.index {
                    term(f, false, &format_args!("{i}*{}", m.scale))?;
                }
                if let Some(s) = m.symbol {
                    term(f, false, &s)?;
                }
                if m.offset != 0 || m.symbol.is_none() {
                    term(f, m.offset < 0, &m.offset.unsigned_abs())?;
                }
                f.write_str("]")
            }
        }
    }
}

/// One parsed argument.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct ArgSpec<'a> {
    /// The value's type.
    pub ty: ArgType,
    /// Whether the size was written (`N@`); the legacy form without it
    /// takes the architecture's word size, unsigned.
    pub sized: bool,
    /// Where the value is.
    pub location: Location<'a>,
    /// The argument as written.
    pub text: &'a str,
}

impl fmt::Display for ArgSpec<'_> {
    /// The canonical form used by listings and golden tests: `i32 mem [sp + 16]`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} {}", self.ty, self.location)
    }
}

/// Iterator over the argument tokens of an argument string: whitespace
/// separates arguments except inside brackets or parentheses.
#[derive(Debug, Clone)]
pub struct ArgTokens<'a> {
    rest: &'a str,
}

impl<'a> ArgTokens<'a> {
    /// Tokens of `args`.
    pub fn new(args: &'a str) -> Self {
        ArgTokens { rest: args }
    }
}

impl<'a> Iterator for ArgTokens<'a> {
    /// A token, or `Err(token)` when its brackets do not balance.
    type Item = Result<&'a str, &'a str>;

    fn next(&mut self) -> Option<Self::Item> {
        let s = self.rest.trim_start();
        if s.is_empty() {
            self.rest = s;
            return None;
        }
        let mut depth = 0i32;
        let mut end = s.len();
        for (i, c) in s.char_indices() {
            match c {
                '[' | '(' => depth += 1,
                ']' | ')' => depth -= 1,
                c if c.is_whitespace() && depth <= 0 => {
                    end = i;
                    break;
                }
                _ => {}
            }
        }
        let (tok, rest) = s.split_at(end);
        self.rest = rest;
        Some(if depth == 0 { Ok(tok) } else { Err(tok) })
    }
}

/// Iterator over the parsed arguments of an argument string.
///
/// ```
/// use stap_notes::args::{Arch, ArgSpecs};
/// let specs: Vec<String> = ArgSpecs::new("8@%rbx -4@112(%rsp) 8f@%xmm0", Arch::X86_64)
///     .map(|a| a.unwrap().to_string())
///     .collect();
/// assert_eq!(specs, ["u64 reg rbx", "i32 mem [rsp + 112]", "f64 reg xmm0"]);
/// ```
#[derive(Debug, Clone)]
pub struct ArgSpecs<'a> {
    tokens: ArgTokens<'a>,
    arch: Arch,
    position: usize,
}

impl<'a> ArgSpecs<'a> {
    /// Arguments of `args` in the grammar of `arch`.
    pub fn new(args: &'a str, arch: Arch) -> Self {
        ArgSpecs { tokens: ArgTokens::new(args), arch, position: 0 }
    }
}

impl<'a> Iterator for ArgSpecs<'a> {
    type Item = Result<ArgSpec<'a>, ArgError>;

    fn next(&mut self) -> Option<Self::Item> {
        let tok = self.tokens.next()?;
        self.position += 1;
        Some(match tok {
            Ok(t) => parse_arg(t, self.arch).map_err(|kind| self.error(t, kind)),
            Err(t) => Err(self.error(t, ArgErrorKind::Unbalanced)),
        })
    }
}

impl ArgSpecs<'_> {
    fn error(&self, text: &str, kind: ArgErrorKind) -> ArgError {
        ArgError { position: self.position, text: text.to_string(), arch: self.arch, kind }
    }
}

/// Parse every argument of `args`, stopping at the first error.
pub fn parse_args(args: &str, arch: Arch) -> Result<Vec<ArgSpec<'_>>, ArgError> {
    ArgSpecs::new(args, arch).collect()
}

/// Parse one argument token (`-4@%eax`).
pub fn parse_arg(token: &str, arch: Arch) -> Result<ArgSpec<'_>, ArgErrorKind> {
    let (ty, sized, operand) = split_size(token, arch)?;
    if operand.is_empty() {
        return Err(ArgErrorKind::Syntax);
    }
    let location = match arch {
        Arch::X86_64 | Arch::I386 => x86::parse_operand(operand, arch)?,
        Arch::AArch64 => aarch64::parse_operand(operand)?,
        Arch::Arm => other::parse_arm(operand)?,
        Arch::RiscV64 => other::parse_riscv(operand)?,
        Arch::S390x => other::parse_s390(operand)?,
        Arch::PowerPc64 => return Err(ArgErrorKind::UnsupportedArch),
    };
    Ok(ArgSpec { ty, sized, location, text: token })
}

/// Split `N@operand` into its type and operand. A token whose text before
/// the first `@` is not made of digits, `-` and `f` has no size prefix.
fn split_size(token: &str, arch: Arch) -> Result<(ArgType, bool, &str), ArgErrorKind> {
    let Some((prefix, operand)) = token.split_once('@') else {
        return Ok((ArgType::unsigned(arch.word_size()), false, token));
    };
    if prefix.is_empty() || !prefix.bytes().all(|b| b.is_ascii_digit() || b == b'-' || b == b'f') {
        return Ok((ArgType::unsigned(arch.word_size()), false, token));
    }
    let bad = || ArgErrorKind::BadSize(prefix.to_string());
    let (signed, rest) = match prefix.strip_prefix('-') {
        Some(r) => (true, r),
        None => (false, prefix),
    };
    let (float, digits) = match rest.strip_suffix('f') {
        Some(d) => (true, d),
        None => (false, rest),
    };
    let size: u8 = match digits {
        "1" => 1,
        "2" => 2,
        "4" => 4,
        "8" => 8,
        _ => return Err(bad()),
    };
    if float && size < 4 {
        return Err(bad());
    }
    let ty = if float { ArgType::float(size) } else { ArgType { size, signed, float: false } };
    Ok((ty, true, operand))
}

/// Parse an integer: decimal or `0x` hex, with an optional sign.
pub(crate) fn parse_int(s: &str) -> Result<i64, ArgErrorKind> {
    let bad = || ArgErrorKind::BadNumber(s.to_string());
    let (neg, digits) = match s.as_bytes().first() {
        Some(b'-') => (true, &s[1..]),
        Some(b'+') => (false, &s[1..]),
        _ => (false, s),
    };
    let magnitude = if let Some(hex) = digits.strip_prefix("0x").or_else(|| digits.strip_prefix("0X")) {
        u64::from_str_radix(hex, 16).map_err(|_| bad())?
    } else {
        if !digits.bytes().all(|b| b.is_ascii_digit()) {
            return Err(bad());
        }
        digits.parse::<u64>().map_err(|_| bad())?
    };
    // Values up to u64::MAX are written by compilers for unsigned constants;
    // they keep their bit pattern.
    Ok(if neg { (magnitude as i64).wrapping_neg() } else { magnitude as i64 })
}

/// Parse `sym`, `sym+N`, `sym-N`, `N+sym`: a symbol with an addend.
pub(crate) fn parse_symbol_expr(s: &str, reloc: Reloc) -> Result<SymbolRef<'_>, ArgErrorKind> {
    let is_sym_start = |c: u8| c.is_ascii_alphabetic() || c == b'_' || c == b'.';
    // `N+sym`
    if s.as_bytes().first().is_some_and(|c| c.is_ascii_digit() || *c == b'-') {
        let (num, sym) = s.split_once('+').ok_or(ArgErrorKind::Syntax)?;
        let addend = parse_int(num)?;
        let mut r = parse_symbol_expr(sym, reloc)?;
        r.addend = r.addend.wrapping_add(addend);
        return Ok(r);
    }
    let split = s.char_indices().skip(1).find(|&(_, c)| c == '+' || c == '-').map(|(i, _)| i);
    let (name, addend) = match split {
        Some(i) => (&s[..i], parse_int(&s[i..])?),
        None => (s, 0),
    };
    let valid = name.as_bytes().first().is_some_and(|&c| is_sym_start(c))
        && name.bytes().all(|c| c.is_ascii_alphanumeric() || matches!(c, b'_' | b'.' | b'$' | b'@'));
    if !valid {
        return Err(ArgErrorKind::Syntax);
    }
    Ok(SymbolRef { name, addend, reloc })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tokens_split_outside_brackets() {
        let t: Vec<_> = ArgTokens::new(" 8@[x0, 8]  -4@x1 8@(%rax,%rbx,8) ").collect();
        assert_eq!(t, [Ok("8@[x0, 8]"), Ok("-4@x1"), Ok("8@(%rax,%rbx,8)")]);
    }

    #[test]
    fn unbalanced_bracket_is_an_error() {
        let e = parse_args("8@x0 8@[x1, 4", Arch::AArch64).unwrap_err();
        assert_eq!(e.position, 2);
        assert_eq!(e.kind, ArgErrorKind::Unbalanced);
    }

    #[test]
    fn size_prefixes() {
        for (tok, ty) in [
            ("1@%al", "u8"),
            ("-2@%ax", "i16"),
            ("-4@%eax", "i32"),
            ("8@%rax", "u64"),
            ("4f@%xmm1", "f32"),
            ("8f@%xmm1", "f64"),
            ("-8f@%xmm1", "f64"),
        ] {
            assert_eq!(parse_arg(tok, Arch::X86_64).unwrap().ty.to_string(), ty, "{tok}");
        }
        for bad in ["3@%eax", "16@%rax", "2f@%xmm0", "-@%rax", "8ff@%xmm0"] {
            assert!(matches!(parse_arg(bad, Arch::X86_64), Err(ArgErrorKind::BadSize(_))), "{bad}");
        }
    }

    #[test]
    fn legacy_form_without_size_is_word_sized_unsigned() {
        let a = parse_arg("%rdi", Arch::X86_64).unwrap();
        assert!(!a.sized);
        assert_eq!(a.to_string(), "u64 reg rdi");
        assert_eq!(parse_arg("%eax", Arch::I386).unwrap().ty, ArgType::unsigned(4));
    }

    #[test]
    fn numbers() {
        assert_eq!(parse_int("-0x10"), Ok(-16));
        assert_eq!(parse_int("18446744073709551615"), Ok(-1));
        assert!(parse_int("12a").is_err());
        assert!(parse_int("").is_err());
        assert!(parse_int("-").is_err());
    }

    #[test]
    fn error_names_position_and_text() {
        let e = parse_args("8@%rax 8@%bogus", Arch::X86_64).unwrap_err();
        assert_eq!(e.to_string(), "argument 2 `8@%bogus` (x86_64): unknown register `bogus`");
    }

    #[test]
    fn powerpc_is_unsupported() {
        assert_eq!(parse_arg("8@3", Arch::PowerPc64).unwrap_err(), ArgErrorKind::UnsupportedArch);
    }
}
