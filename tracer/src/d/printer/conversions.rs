//! What some printf conversions and actions need of the machine: `%a`
//! and `%A` arguments and the `usym()` kin as symbols, and `system()`'s
//! command run.

use super::*;

impl Printer<'_> {
    /// The `%a` and `%A` arguments of a printf as symbols: a kernel
    /// address, or a user address with the hidden id of the process that
    /// fired after it (see [`Conv::UserSym`]).
    pub(super) fn symbolize(&self, f: &Format, vals: &mut Vec<Value>) {
        let kinds = f.arg_kinds();
        if !kinds.iter().any(|k| matches!(k, Conv::KernelSym | Conv::UserSym)) {
            return;
        }
        let mut it = std::mem::take(vals).into_iter();
        let mut symbols = self.symbols.borrow_mut();
        for k in kinds {
            let Some(v) = it.next() else { break };
            vals.push(match (k, v) {
                (Conv::KernelSym, Value::Int(a)) => Value::Str(symbols.kernel_frame(a as u64)),
                (Conv::UserSym, Value::Int(a)) => {
                    let pid = match it.next() {
                        Some(Value::Int(p)) => p as u32,
                        _ => 0,
                    };
                    Value::Str(symbols.user_frame(pid, a as u64))
                }
                (_, v) => v,
            });
        }
        vals.extend(it);
    }
}

/// `module`symbol+0xoff` (a frame as [`Symbolizer`] names it) in `form`:
/// whole, without the offset, or the module alone. An address no symbol
/// covers stays hex.
pub(super) fn symbol_form(frame: &str, form: sema::SymForm) -> String {
    match form {
        sema::SymForm::Addr => frame.to_string(),
        sema::SymForm::Symbol => frame.rsplit_once("+0x").map_or(frame, |(s, _)| s).to_string(),
        sema::SymForm::Module => frame.split_once('`').map_or(frame, |(m, _)| m).to_string(),
    }
}

/// `system(...)`: run `command` with `/bin/sh -c`, as dtrace(1) does, and
/// wait for it; what it prints on stdout is the record's output, so it
/// goes where the program's output goes (`-o`, JSON). A command that
/// cannot start, or fails, is said on stderr; the run goes on.
pub(super) fn run_system(command: &str) -> String {
    let shown = command.escape_debug();
    match std::process::Command::new("/bin/sh").arg("-c").arg(command).stdin(std::process::Stdio::null()).output() {
        Ok(o) => {
            if !o.status.success() {
                eprintln!("sdtrace: system(\"{shown}\"): {}", o.status);
            }
            String::from_utf8_lossy(&o.stdout).into_owned()
        }
        Err(e) => {
            eprintln!("sdtrace: system(\"{shown}\"): {e}");
            String::new()
        }
    }
}
