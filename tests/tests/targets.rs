//! Processes sdtrace is pointed at in unusual states.

use std::io::{BufRead, BufReader};
use std::process::{Command, Stdio};

use tests::{can_attach, sdtrace_bin};

/// Regression: the probes of a deleted non-PIE executable could not be
/// read: its `/proc/PID/maps` range keeps zero padding
/// (`00400000-00401000`) that its `/proc/PID/map_files` name does not.
#[test]
fn a_deleted_non_pie_executable_is_listed_and_traced() {
    if !can_attach() {
        return;
    }
    let dir = std::env::temp_dir().join(format!("sdtrace-nopie-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let exe = dir.join("nopie_fixture");
    let source = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("fixtures/sdt_basic.c");
    let cc = Command::new("cc").arg("-O2").arg("-no-pie").arg("-o").arg(&exe).arg(&source).status().unwrap();
    assert!(cc.success());
    let mut prog = Command::new(&exe).args(["0", "soak"]).stdout(Stdio::piped()).spawn().unwrap();
    let mut out = BufReader::new(prog.stdout.take().unwrap());
    let mut line = String::new();
    out.read_line(&mut line).unwrap();
    std::fs::remove_file(&exe).unwrap();
    let pid = prog.id().to_string();
    let maps = std::fs::read_to_string(format!("/proc/{pid}/maps")).unwrap();
    assert!(maps.lines().any(|l| l.starts_with("00400000-") && l.ends_with("(deleted)")), "{maps}");
    let listed = Command::new(sdtrace_bin()).args(["list", "-p", &pid, "fixture:gated"]).output().unwrap();
    let traced = Command::new(sdtrace_bin())
        .args(["-q", "-n", "fixture$target:::gated { @ = count(); } tick-200ms { exit(0); }", "-p", &pid])
        .output()
        .unwrap();
    let _ = prog.kill();
    let _ = prog.wait();
    let _ = std::fs::remove_dir_all(&dir);
    let text = String::from_utf8_lossy(&listed.stdout);
    assert!(listed.status.success(), "{}", String::from_utf8_lossy(&listed.stderr));
    assert!(text.contains("(deleted)") && text.contains("fixture:gated"), "{text}");
    let count: u64 = String::from_utf8_lossy(&traced.stdout).trim().parse().unwrap_or(0);
    assert!(traced.status.success() && count > 0, "{}", String::from_utf8_lossy(&traced.stderr));
}
