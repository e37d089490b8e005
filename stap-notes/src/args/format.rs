//! Writing argument specs: the inverse of parsing, for providers that emit
//! notes (usdt-runtime) and for round-trip tests.

use super::{aarch64, x86, Arch, ArgType, Location, MemOperand, RegOperand, Register, Reloc, SymbolRef};
use crate::error::ArgErrorKind;

/// Write one argument as `N@operand` in the grammar of `arch`
/// (x86-64 and aarch64). Errors when the location has no spelling there.
pub fn format_arg(ty: ArgType, location: &Location<'_>, arch: Arch) -> Result<String, ArgErrorKind> {
    let operand = match arch {
        Arch::X86_64 | Arch::I386 => x86_operand(location)?,
        Arch::AArch64 => a64_operand(location)?,
        _ => return Err(ArgErrorKind::UnsupportedArch),
    };
    Ok(format!("{}@{operand}", ty.prefix()))
}

fn reg_name(
    r: &RegOperand,
    names: Vec<String>,
    lookup: fn(&str) -> Option<RegOperand>,
) -> Result<String, ArgErrorKind> {
    names.into_iter().find(|n| lookup(n).as_ref() == Some(r)).ok_or(ArgErrorKind::Syntax)
}

fn full(reg: Register) -> Result<String, ArgErrorKind> {
    match reg {
        Register::X86(r) => Ok(format!("%{r}")),
        Register::AArch64(r) => Ok(r.to_string()),
        _ => Err(ArgErrorKind::UnsupportedArch),
    }
}

fn symbol(s: &SymbolRef<'_>) -> String {
    match s.addend {
        0 => s.name.to_string(),
        a if a < 0 => format!("{}-{}", s.name, a.unsigned_abs()),
        a => format!("{}+{a}", s.name),
    }
}

fn x86_operand(location: &Location<'_>) -> Result<String, ArgErrorKind> {
    Ok(match location {
        Location::Register(r) => format!("%{}", reg_name(r, x86::register_names(), x86::register)?),
        Location::Constant(v) => format!("${v}"),
        Location::Memory(MemOperand { base, index, scale, offset, symbol: sym }) => {
            let disp = match sym {
                Some(s) if s.reloc == Reloc::Absolute && *offset == 0 => symbol(s),
                Some(_) => return Err(ArgErrorKind::Syntax),
                None if *offset == 0 && (base.is_some() || index.is_some()) => String::new(),
                None => offset.to_string(),
            };
            match (base, index) {
                (None, None) => disp,
                (Some(b), None) => format!("{disp}({})", full(*b)?),
                (b, Some(i)) => {
                    let b = b.map(full).transpose()?.unwrap_or_default();
                    format!("{disp}({b},{},{scale})", full(*i)?)
                }
            }
        }
    })
}

fn a64_operand(location: &Location<'_>) -> Result<String, ArgErrorKind> {
    Ok(match location {
        Location::Register(r) => reg_name(r, aarch64::register_names(), aarch64::register)?,
        Location::Constant(v) => v.to_string(),
        Location::Memory(MemOperand { base: Some(b), index: None, offset, symbol: sym, .. }) => {
            let b = full(*b)?;
            match sym {
                Some(s) if s.reloc == Reloc::Lo12 && *offset == 0 => format!("[{b}, #:lo12:{}]", symbol(s)),
                Some(_) => return Err(ArgErrorKind::Syntax),
                None if *offset == 0 => format!("[{b}]"),
                None => format!("[{b}, {offset}]"),
            }
        }
        Location::Memory(_) => return Err(ArgErrorKind::Syntax),
    })
}
