//! What the `sdtrace` binary says and exits with when its input is wrong:
//! errors reach every user, name what is wrong, and never panic. These run
//! the real binary; none of them attaches a probe.

use std::process::{Command, Output};

use tests::sdtrace_bin;

fn run(cmd: &mut Command) -> (i32, String) {
    let Output { status, stderr, .. } = cmd.output().expect("sdtrace runs");
    (status.code().unwrap_or(-1), String::from_utf8_lossy(&stderr).into_owned())
}

/// `sdtrace ARGS` as an unprivileged user: as `nobody` when the tests run
/// as root (they do in CI), else as the user running them.
fn unprivileged(args: &[&str]) -> Command {
    let root = std::fs::metadata("/proc/self").map(|m| std::os::unix::fs::MetadataExt::uid(&m) == 0).unwrap_or(false);
    let mut cmd = if root {
        let mut c = Command::new("setpriv");
        c.args(["--reuid=65534", "--regid=65534", "--clear-groups", "--"]).arg(sdtrace_bin());
        c
    } else {
        Command::new(sdtrace_bin())
    };
    cmd.args(args);
    cmd
}

/// `sdtrace` under timeout(1): a run that would hang exits 124 after 10 s.
fn within_10s() -> Command {
    let mut c = Command::new("timeout");
    c.arg("10").arg(sdtrace_bin());
    c
}

#[test]
fn a_type_error_reaches_a_user_without_privileges() {
    // Before, sdtrace made a BPF map as a privilege check before type
    // checking: such a user saw "bpf_map_create failed", never the error.
    let (code, stderr) = run(&mut unprivileged(&["-n", "BEGIN { x = \"a\" + 1; }"]));
    assert_eq!(code, 2, "{stderr}");
    assert!(stderr.contains("<command line>:1:13: error: `+` does not apply to strings"), "{stderr}");
    assert!(!stderr.contains("bpf_map_create"), "{stderr}");
}

#[test]
fn a_probe_that_matches_nothing_reaches_a_user_without_privileges_with_status_1() {
    let (code, stderr) = run(&mut unprivileged(&["-n", "syscall::no_such_call:entry { }"]));
    assert_eq!(code, 1, "{stderr}");
    assert!(stderr.contains("probe description `syscall::no_such_call:entry` matches no probes"), "{stderr}");
    let (code, stderr) = run(&mut unprivileged(&["-n", "fbt::vfs_read:entry { }"]));
    assert_eq!(code, 2, "{stderr}");
    assert!(stderr.contains("the fbt provider"), "{stderr}");
}

#[test]
fn without_privileges_a_command_is_never_run() {
    // The command is started held (before its exec) to learn its pid, and
    // killed when the privilege check fails.
    let marker = std::env::temp_dir().join(format!("sdtrace-cli-unprivileged-{}", std::process::id()));
    let _ = std::fs::remove_file(&marker);
    let touch = format!("touch {}", marker.display());
    let (code, stderr) = run(&mut unprivileged(&["-n", "BEGIN { exit(0); }", "-c", &touch]));
    assert_eq!(code, 2, "{stderr}");
    assert!(stderr.contains("needs root, or CAP_BPF and CAP_PERFMON"), "{stderr}");
    std::thread::sleep(std::time::Duration::from_millis(100));
    assert!(!marker.exists(), "the command ran without privileges to trace it");
}

#[test]
fn a_program_without_errors_needs_privileges_and_says_so() {
    let (code, stderr) = run(&mut unprivileged(&["-n", "BEGIN { exit(0); }"]));
    assert_eq!(code, 2, "{stderr}");
    assert!(stderr.contains("needs root, or CAP_BPF and CAP_PERFMON"), "{stderr}");
}

#[test]
fn no_match_alone_exits_1_and_with_another_error_exits_2() {
    let (code, stderr) = run(Command::new(sdtrace_bin()).args(["-n", "syscall::no_such_call:entry { }"]));
    assert_eq!(code, 1, "{stderr}");
    let (code, stderr) =
        run(Command::new(sdtrace_bin()).args(["-n", "syscall::no_such_call:entry { } BEGIN { x = \"a\" + 1; }"]));
    assert_eq!(code, 2, "{stderr}");
    assert!(stderr.contains("does not apply to strings"), "{stderr}");
}

#[test]
fn a_bad_option_value_is_reported_before_a_command_starts() {
    let marker = std::env::temp_dir().join(format!("sdtrace-cli-errors-{}", std::process::id()));
    let _ = std::fs::remove_file(&marker);
    let touch = format!("touch {}", marker.display());
    let (code, stderr) =
        run(Command::new(sdtrace_bin()).args(["-x", "strsize=2", "-n", "BEGIN { exit(0); }", "-c", &touch]));
    assert_eq!(code, 2, "{stderr}");
    assert!(stderr.contains("strsize must be between 8 and 4096 bytes, not 2"), "{stderr}");
    assert!(!marker.exists(), "the command ran although the options were wrong");
}

#[test]
fn a_duration_that_is_not_a_positive_finite_time_is_a_usage_error_not_a_panic() {
    // Before, each of these panicked in Duration::from_secs_f64 (exit 101).
    for bad in ["-1", "nan", "inf", "1e20", "0", "ten"] {
        for mode in [&["-n", "BEGIN { exit(0); }"][..], &["trace", "python:gc*"][..]] {
            let (code, stderr) = run(Command::new(sdtrace_bin()).args(mode).arg(format!("--duration={bad}")));
            assert_eq!(code, 2, "--duration={bad} {mode:?}: {stderr}");
            assert!(stderr.contains(&format!("invalid value '{bad}' for '--duration <SECONDS>'")), "{stderr}");
            assert!(!stderr.contains("panicked"), "{stderr}");
        }
    }
}

#[test]
fn the_command_given_twice_to_trace_is_a_usage_error() {
    let (code, stderr) = run(Command::new(sdtrace_bin()).args(["trace", "python:gc*", "-c", "true", "--", "ls"]));
    assert_eq!(code, 2, "{stderr}");
    assert!(stderr.contains("either with -c COMMAND or after `--`, not both"), "{stderr}");
}

#[test]
fn an_endless_script_is_refused_at_its_size_limit_not_read_forever() {
    // Before, `-s /dev/zero` read until memory ran out.
    let (code, stderr) = run(within_10s().args(["-s", "/dev/zero"]));
    assert_eq!(code, 2, "{stderr}");
    assert!(stderr.contains("/dev/zero: a D script is at most 16 MiB"), "{stderr}");
}

#[test]
fn a_program_without_clauses_is_an_error_not_an_endless_run() {
    // Before, it attached nothing and ran until Ctrl-C.
    for program in ["", "#pragma D option quiet", "/* nothing */"] {
        let (code, stderr) = run(within_10s().args(["-n", program]));
        assert_eq!(code, 2, "{program:?}: {stderr}");
        assert!(stderr.contains("the program has no probe clauses"), "{program:?}: {stderr}");
    }
}

#[test]
fn a_bufsize_past_1g_is_an_error_not_silently_1g() {
    for v in ["2g", "99999999999999999g"] {
        let (code, stderr) =
            run(Command::new(sdtrace_bin()).args(["-x", &format!("bufsize={v}"), "-n", "BEGIN { exit(0); }"]));
        assert_eq!(code, 2, "{v}: {stderr}");
        assert!(
            stderr.contains("bufsize is at most 1g") || stderr.contains("is not a value option `bufsize` takes"),
            "{v}: {stderr}"
        );
        assert!(!stderr.contains("panicked"), "{stderr}");
    }
}

#[test]
fn a_command_that_is_not_executable_is_refused_before_anything_runs() {
    // Before, BEGIN ran and printed, then exec failed with EACCES.
    let file = std::env::temp_dir().join(format!("sdtrace-not-executable-{}", std::process::id()));
    std::fs::write(&file, "#!/bin/sh\necho ran\n").unwrap();
    std::fs::set_permissions(&file, std::os::unix::fs::PermissionsExt::from_mode(0o644)).unwrap();
    let path = file.display().to_string();
    let (code, stderr) = run(Command::new(sdtrace_bin()).args(["-n", "BEGIN { printf(\"began\\n\"); }", "-c", &path]));
    assert_eq!(code, 2, "{stderr}");
    assert!(stderr.contains(&format!("command `{path}` is not executable")), "{stderr}");
    let (code, stderr) = run(Command::new(sdtrace_bin()).args(["trace", "x:y", "-c", &path]));
    let _ = std::fs::remove_file(&file);
    assert_eq!(code, 2, "{stderr}");
    assert!(stderr.contains(&format!("command `{path}` is not executable")), "{stderr}");
}

/// A kernel thread, by the kernel's own flag (PF_KTHREAD in /proc/PID/stat).
fn a_kernel_thread() -> Option<u32> {
    const PF_KTHREAD: u64 = 0x0020_0000;
    std::fs::read_dir("/proc").ok()?.flatten().find_map(|e| {
        let pid: u32 = e.file_name().to_str()?.parse().ok()?;
        let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
        let flags: u64 = stat.rsplit_once(") ")?.1.split_whitespace().nth(6)?.parse().ok()?;
        (flags & PF_KTHREAD != 0).then_some(pid)
    })
}

#[test]
fn a_kernel_thread_given_with_p_is_named_as_such() {
    // Before: "names a USDT probe, which needs processes to look in".
    let Some(pid) = a_kernel_thread() else { panic!("no kernel thread in /proc") };
    let pid = pid.to_string();
    for args in [&["-n", "python$target:::gc-start { }", "-p", &pid][..], &["trace", "python:gc*", "-p", &pid][..]] {
        let (code, stderr) = run(Command::new(sdtrace_bin()).args(args));
        assert_eq!(code, 2, "{args:?}: {stderr}");
        assert!(stderr.contains(&format!("pid {pid}: is a kernel thread")), "{args:?}: {stderr}");
    }
}

/// With only CAP_BPF and CAP_PERFMON (no root), a user traces a command of
/// their own: both D and `trace` attach and count every hit (the fixture
/// fires `repeated` at two sites a round).
#[test]
fn with_only_cap_bpf_and_cap_perfmon_a_user_traces_their_own_command() {
    if !tests::can_attach() {
        return;
    }
    // A copy the unprivileged user can run, outside root's build tree.
    let exe = std::env::temp_dir().join(format!("sdtrace-caps-{}", std::process::id()));
    std::fs::copy(tests::fixture("sdt_basic_O2"), &exe).unwrap();
    std::fs::set_permissions(&exe, std::os::unix::fs::PermissionsExt::from_mode(0o755)).unwrap();
    let with_caps = |args: &[&str]| {
        let mut c = Command::new("setpriv");
        c.args(["--reuid=65534", "--regid=65534", "--clear-groups"])
            .args(["--inh-caps=+bpf,+perfmon", "--ambient-caps=+bpf,+perfmon", "--"])
            .arg(sdtrace_bin())
            .args(args);
        c.output().unwrap()
    };
    let command = format!("{} 3", exe.display());
    let d = with_caps(&["-q", "-n", "fixture$target:::repeated { @ = count(); }", "-c", &command]);
    let t = with_caps(&["trace", "fixture:repeated", "-c", &command]);
    let _ = std::fs::remove_file(&exe);
    assert!(d.status.success(), "{}", String::from_utf8_lossy(&d.stderr));
    let counted: Vec<u64> =
        String::from_utf8_lossy(&d.stdout).split_whitespace().filter_map(|w| w.parse().ok()).collect();
    assert_eq!(counted.last(), Some(&6), "{}", String::from_utf8_lossy(&d.stdout));
    assert!(t.status.success(), "{}", String::from_utf8_lossy(&t.stderr));
    assert!(
        String::from_utf8_lossy(&t.stderr).contains("6 events from 2 sites"),
        "{}",
        String::from_utf8_lossy(&t.stderr)
    );
}
