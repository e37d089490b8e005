//! What a run says on stderr about what went wrong: the kernel's verifier
//! refusing code (its documented limits as one-line errors), and the
//! end-of-run reports of skipped firings and runtime errors.

use std::io;

/// Most lines of a verifier log a report shows (its end, where the
/// verifier says what it refused); logs of complex programs run to
/// hundreds of kilobytes.
const VERIFIER_LOG_LINES: usize = 40;

/// What to say when the kernel's verifier refuses the code of the clauses
/// at `at`: the kernel's documented limits as one-line errors, anything
/// else as a compiler bug with the end of the log.
pub(super) fn verifier_message(at: &str, errno: &io::Error, log: &str) -> String {
    if log.contains("BPF program is too large") || log.contains("too many states") {
        return format!(
            "the kernel's verifier gave up on the code for the clause(s) at {at}: checking it takes more than the \
             kernel's limit of 1,000,000 instructions; use fewer string functions, stacks or printf arguments per \
             probe, or a smaller strsize"
        );
    }
    if log.contains("combined stack size") || log.contains("stack size of") {
        return format!(
            "the code for the clause(s) at {at} needs more stack than the kernel's 512 bytes a program; use fewer \
             nested expressions or string functions per clause"
        );
    }
    let lines: Vec<&str> = log.lines().collect();
    let shown = &lines[lines.len().saturating_sub(VERIFIER_LOG_LINES)..];
    let cut = if lines.len() > shown.len() {
        format!("(the last {} of {} lines)\n", shown.len(), lines.len())
    } else {
        String::new()
    };
    format!(
        "the kernel's verifier rejected the code for the clause(s) at {at} ({errno}); this is a bug in sdtrace's \
         compiler, please report it with the program and this log:\n{cut}{}",
        shown.join("\n")
    )
}

/// The run-end report of firings skipped because they came while another
/// program of theirs was running on the same CPU (one preempted in a
/// task's context, say): their clauses did not run, so aggregations and
/// output leave them out.
pub(super) fn nested_message(nested: u64) -> String {
    format!(
        "sdtrace: {nested} probe firing{s} skipped: {it} came while another of the program's probes was \
         running on the same CPU, whose scratch space {it} would have overwritten",
        s = if nested == 1 { "" } else { "s" },
        it = if nested == 1 { "it" } else { "they" },
    )
}

/// The run-end report of runtime errors of one kind.
pub(super) fn errors_message(errors: u64, kind: &str) -> String {
    format!(
        "sdtrace: {errors} error{} ({kind}); {} its clause early",
        if errors == 1 { "" } else { "s" },
        if errors == 1 { "it ended" } else { "each ended" }
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_kernels_limits_are_one_line_errors_and_other_refusals_keep_the_end_of_the_log() {
        let e2big = io::Error::from_raw_os_error(libc::E2BIG);
        let long: String = (0..5000).map(|i| format!("{i}: (b7) r0 = 0\n")).collect();
        let m =
            verifier_message("t.d:1:1", &e2big, &format!("{long}BPF program is too large. Processed 1000001 insn\n"));
        assert!(m.contains("more than the kernel's limit of 1,000,000 instructions") && !m.contains("bug"), "{m}");
        assert!(m.lines().count() == 1, "{m}");
        let m = verifier_message("t.d:1:1", &e2big, "combined stack size of 2 calls is 544. Too large\n");
        assert!(m.contains("more stack than the kernel's 512 bytes"), "{m}");
        let einval = io::Error::from_raw_os_error(libc::EINVAL);
        let m = verifier_message("t.d:1:1", &einval, &format!("{long}R1 invalid mem access 'scalar'\n"));
        assert!(m.contains("a bug in sdtrace's compiler") && m.contains("R1 invalid mem access"), "{m}");
        assert!(m.contains("(the last 40 of 5001 lines)"), "{m}");
        assert!(m.lines().count() <= 42, "{}", m.lines().count());
    }
}
