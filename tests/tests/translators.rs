//! `curpsinfo` and `curlwpsinfo` (the psinfo_t/lwpsinfo_t translators)
//! checked against what the traced command says of itself and `/proc`.

use std::process::Command;

use tests::{can_attach, sdtrace_bin};

#[test]
fn curpsinfo_names_the_process_that_execs_with_its_arguments() {
    if !can_attach() {
        return;
    }
    // The shell prints its own pid and its parent's, then execs echo with
    // arguments that hold doubled spaces and a quoted space.
    let script = r#"echo "self $$ $PPID"; exec /bin/echo x "y  z" w"#;
    let program =
        "proc:::exec-success /pid == $target && execname == \"echo\"/ { printf(\"ps %d %d %s [%s] %d %d %d\\n\", \
                   curpsinfo->pr_pid, curpsinfo->pr_ppid, curpsinfo->pr_fname, curpsinfo->pr_psargs, \
                   curlwpsinfo->pr_lwpid, curpsinfo->pr_uid, curlwpsinfo->pr_onpro >= 0); }";
    let stdout = tests::trace_shell(program, script);
    let me = stdout.lines().find_map(|l| l.strip_prefix("self ")).unwrap_or_else(|| panic!("{stdout}"));
    let (pid, ppid) = me.split_once(' ').unwrap();
    let ps = stdout.lines().find_map(|l| l.strip_prefix("ps ")).unwrap_or_else(|| panic!("{stdout}"));
    // The arguments as the kernel keeps them, NULs made spaces (ps -o args).
    let uid = own_uid();
    assert_eq!(ps, format!("{pid} {ppid} echo [/bin/echo x y  z w] {pid} {uid} 1"), "{stdout}");
    // echo's own output shows the same arguments.
    assert!(stdout.lines().any(|l| l == "x y  z w"), "{stdout}");
}

/// The real uid of this test, from /proc (the command inherits it).
fn own_uid() -> u32 {
    let status = std::fs::read_to_string("/proc/self/status").unwrap();
    let line = status.lines().find(|l| l.starts_with("Uid:")).unwrap();
    line.split_whitespace().nth(1).unwrap().parse().unwrap()
}

#[test]
fn curpsinfo_members_it_does_not_read_are_named_in_the_error() {
    let out = Command::new(sdtrace_bin()).args(["-n", "BEGIN { trace(curpsinfo->pr_bogus); }"]).output().unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{stderr}");
    assert!(stderr.contains("`curpsinfo->pr_bogus` is not a member sdtrace reads"), "{stderr}");
    assert!(stderr.contains("pr_psargs"), "{stderr}");
}

#[test]
fn signal_send_names_the_receiver_and_the_signal() {
    if !can_attach() {
        return;
    }
    // The shell starts a child, prints its pid ($!), signals it twice and
    // waits: each signal-send of the shell names that child.
    let script = "sleep 5 & echo child $!; kill -USR1 $!; kill -TERM $!; wait";
    let program = "proc:::signal-send /pid == $target && args[2] != 17/ { printf(\"sent %d %d %d %s\\n\", \
                   args[1]->pr_pid, args[0]->pr_lwpid, args[2], args[1]->pr_ppid == pid ? \"by-parent\" : \"other\"); }";
    let out =
        Command::new(sdtrace_bin()).args(["-q", "-n", program, "-c", &format!("sh -c '{script}'")]).output().unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(out.status.success(), "{stdout}\n{}", String::from_utf8_lossy(&out.stderr));
    let child = stdout.lines().find_map(|l| l.strip_prefix("child ")).unwrap_or_else(|| panic!("{stdout}"));
    let sent: Vec<&str> = stdout.lines().filter_map(|l| l.strip_prefix("sent ")).collect();
    let want = [libc::SIGUSR1, libc::SIGTERM].map(|sig| format!("{child} {child} {sig} by-parent"));
    assert_eq!(sent, want, "{stdout}");
}

#[test]
fn curthread_members_follow_the_kernels_btf() {
    if !can_attach() {
        return;
    }
    // The shell says who it is and who its parent is, then execs echo:
    // curthread's members, read through BTF, must agree.
    let script = r#"echo "self $$ $PPID"; exec /bin/echo done"#;
    let program = "proc:::exec-success /pid == $target && execname == \"echo\"/ { printf(\"ct %d %d %d %s %s\\n\", curthread->tgid, \
                   curthread->pid, curthread->real_parent->tgid, curthread->comm, curthread->group_leader->comm); }";
    let stdout = tests::trace_shell(program, script);
    let me = stdout.lines().find_map(|l| l.strip_prefix("self ")).unwrap_or_else(|| panic!("{stdout}"));
    let (pid, ppid) = me.split_once(' ').unwrap();
    let ct = stdout.lines().find_map(|l| l.strip_prefix("ct ")).unwrap_or_else(|| panic!("{stdout}"));
    assert_eq!(ct, format!("{pid} {pid} {ppid} echo echo"), "{stdout}");
    // A member the kernel does not have is named in the error.
    let out = Command::new(sdtrace_bin()).args(["-n", "BEGIN { trace(curthread->no_such_member); }"]).output().unwrap();
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{err}");
    assert!(err.contains("no member `no_such_member` in struct task_struct"), "{err}");
}
