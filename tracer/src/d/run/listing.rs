//! `-l` (and `-lv`): the probes a program matches, as dtrace(1) lists
//! them, with each probe's arguments when verbose.

use std::io::Write;

use super::probes;
use super::{codegen, DError};

/// List the probes of `plan`'s programs, each once, in id order.
pub(super) fn write(plan: &probes::Plan, verbose: bool, out: &mut dyn Write) -> Result<(), DError> {
    writeln!(out, "{:>6} {:>16} {:>28} {:>32} NAME", "ID", "PROVIDER", "MODULE", "FUNCTION")?;
    let mut ids: Vec<u64> = Vec::new();
    for s in plan.specs() {
        for (_, f) in &s.clauses {
            match f {
                codegen::Filter::All => ids.extend(&s.ids),
                codegen::Filter::Ids(v) => ids.extend(v),
            }
        }
        ids.extend(s.on_error.as_ref().map(|h| h.id));
    }
    ids.sort_unstable();
    ids.dedup();
    for id in ids {
        let p = &plan.table.0[id as usize];
        writeln!(out, "{id:>6} {:>16} {:>28} {:>32} {}", p.provider, p.module, p.function, p.name)?;
        if verbose {
            writeln!(out, "\n\tArgument Types")?;
            for line in argument_lines(p) {
                writeln!(out, "\t\t{line}")?;
            }
            writeln!(out)?;
        }
    }
    Ok(())
}

/// `-lv`'s argument lines for probe `p`: a USDT probe's by description
/// (metadata record or catalog, else the note's sizes), the others' as
/// their provider defines them.
fn argument_lines(p: &probes::ProbeInfo) -> Vec<String> {
    if let Some(e) = &p.event {
        if e.args.is_empty() {
            return vec!["None".into()];
        }
        return e.args.iter().enumerate().map(|(i, a)| format!("args[{i}]: {} {}", a.kind.name(), a.name)).collect();
    }
    let lines: &[&str] = match (p.provider.as_str(), p.name.as_str()) {
        ("syscall", "entry") => &["arg0 … arg5: the system call's arguments, as integers"],
        ("syscall", "return") => &["arg0: the return value (errno is set on failure)"],
        ("proc", "exit") => &["arg0: why: 1 exited, 2 killed by a signal, 3 dumped core"],
        ("proc", "create") => &["arg0: the new process's pid"],
        ("sched", "wakeup") => &[
            "args[0]: lwpsinfo_t * (the thread woken: pr_lwpid)",
            "args[1]: psinfo_t * (its process: pr_pid, pr_ppid, pr_fname)",
        ],
        ("proc", "signal-send") => &[
            "args[0]: lwpsinfo_t * (the receiving thread: pr_lwpid)",
            "args[1]: psinfo_t * (the receiving process: pr_pid, pr_ppid, pr_fname)",
            "args[2]: int (the signal)",
        ],
        ("profile", _) => &["arg0: the kernel PC, or 0", "arg1: the user PC, or 0"],
        ("dtrace", "ERROR") => &["arg1: the probe id", "arg2: the clause", "arg4: the fault", "arg5: the address"],
        (prov, _) if prov.starts_with("pid") => {
            &["arg0 … arg5: the function's arguments (entry); arg1: its return value (return)"]
        }
        _ => &["None"],
    };
    lines.iter().map(|l| l.to_string()).collect()
}
