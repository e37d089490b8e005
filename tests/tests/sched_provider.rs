//! The `sched` provider against the kernel's own accounts: a thread's time
//! from each `sched:::on-cpu` to its next `sched:::off-cpu` is its time on
//! a CPU, which `/proc/PID/schedstat` counts too.

use tests::can_attach;

#[test]
fn on_cpu_to_off_cpu_time_is_the_time_proc_schedstat_counts() {
    if !can_attach() {
        return;
    }
    // The shell spins for a while, then has cat print its schedstat (cat
    // runs while the shell waits, off the CPU).
    let script = "i=0; while [ $i -lt 150000 ]; do i=$((i+1)); done; cat /proc/$$/schedstat";
    let program = "sched:::on-cpu /pid == $target/ { self->on = timestamp; } \
                   sched:::off-cpu /pid == $target && self->on/ { ran += timestamp - self->on; self->on = 0; } \
                   END { printf(\"ran %d\\n\", ran); }";
    let stdout = tests::trace_shell(program, script);
    let ran: u64 = stdout.lines().find_map(|l| l.strip_prefix("ran ")).unwrap().parse().unwrap();
    // schedstat: time on a CPU (ns), time waiting to run, timeslices.
    let line = stdout.lines().find(|l| l.split_whitespace().count() == 3).unwrap_or_else(|| panic!("{stdout}"));
    let on_cpu: u64 = line.split_whitespace().next().unwrap().parse().unwrap();
    assert!(on_cpu > 50_000_000, "the shell spun for {on_cpu} ns only; the test needs a longer spin");
    // The kernel also counts the moments before the probes were attached
    // and after cat printed: a few milliseconds.
    let diff = on_cpu.abs_diff(ran);
    assert!(diff < 20_000_000 + on_cpu / 20, "sdtrace measured {ran} ns on a CPU, schedstat says {on_cpu} ns");
}

#[test]
fn a_threads_wakeups_are_its_voluntary_switches_as_proc_counts_them() {
    if !can_attach() {
        return;
    }
    // Each time the shell sleeps of its own accord (waiting for a child)
    // something wakes it; /proc/PID/status counts those sleeps. Its last
    // line is read while the shell waits for grep, before that wakeup.
    let script = "for i in 1 2 3 4 5 6 7 8 9 10; do sleep 0.01; done; grep voluntary_ctxt /proc/$$/status";
    let program = "sched:::wakeup /args[1]->pr_pid == $target/ { n++; } END { printf(\"wakeups %d\\n\", n); }";
    let stdout = tests::trace_shell(program, script);
    let wakeups: u64 = stdout.lines().find_map(|l| l.strip_prefix("wakeups ")).unwrap().parse().unwrap();
    let voluntary: u64 = stdout
        .lines()
        .find_map(|l| l.strip_prefix("voluntary_ctxt_switches:"))
        .unwrap_or_else(|| panic!("{stdout}"))
        .trim()
        .parse()
        .unwrap();
    assert!(voluntary >= 10, "{stdout}");
    assert!(wakeups.abs_diff(voluntary) <= 2, "sdtrace saw {wakeups} wakeups, /proc counts {voluntary} sleeps");
}
