//! The constants every D program has (dtrace(1)'s signal.d and errno.d
//! inlines) against the C library's values.

use std::process::Command;

use tests::{can_attach, sdtrace_bin};

#[test]
fn signal_and_errno_names_have_the_c_librarys_values() {
    if !can_attach() {
        return;
    }
    let names = [
        ("SIGHUP", libc::SIGHUP),
        ("SIGINT", libc::SIGINT),
        ("SIGABRT", libc::SIGABRT),
        ("SIGBUS", libc::SIGBUS),
        ("SIGKILL", libc::SIGKILL),
        ("SIGUSR1", libc::SIGUSR1),
        ("SIGSEGV", libc::SIGSEGV),
        ("SIGPIPE", libc::SIGPIPE),
        ("SIGTERM", libc::SIGTERM),
        ("SIGCHLD", libc::SIGCHLD),
        ("SIGSTOP", libc::SIGSTOP),
        ("SIGWINCH", libc::SIGWINCH),
        ("SIGSYS", libc::SIGSYS),
        ("SIGIOT", libc::SIGIOT),
        ("EPERM", libc::EPERM),
        ("ENOENT", libc::ENOENT),
        ("EAGAIN", libc::EAGAIN),
        ("EWOULDBLOCK", libc::EWOULDBLOCK),
        ("EACCES", libc::EACCES),
        ("EINVAL", libc::EINVAL),
        ("ERANGE", libc::ERANGE),
        ("ENOSYS", libc::ENOSYS),
        ("ELOOP", libc::ELOOP),
    ];
    let list: Vec<&str> = names.iter().map(|(n, _)| *n).collect();
    let program =
        format!("BEGIN {{ printf(\"{}\\n\", {}); exit(0); }}", vec!["%d"; names.len()].join(" "), list.join(", "));
    let out = Command::new(sdtrace_bin()).args(["-q", "-n", &program]).output().unwrap();
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let want: Vec<String> = names.iter().map(|(_, v)| v.to_string()).collect();
    assert_eq!(String::from_utf8_lossy(&out.stdout).trim(), want.join(" "), "{list:?}");
}
