//! `sdtrace -l` with no program lists every probe there is, as `dtrace -l`
//! does: the special probes, proc, sched, every syscall, and the USDT
//! probes of running processes.

use std::process::{Command, Stdio};

use tests::{sdtrace_bin, system_file};

#[test]
fn l_alone_lists_every_provider_and_a_running_processs_usdt_probes() {
    let Some(py) = system_file("/usr/bin/python3.11") else { return };
    let mut python =
        Command::new(py).args(["-c", "import sys; sys.stdin.read()"]).stdin(Stdio::piped()).spawn().unwrap();
    // Let it map its executable.
    std::thread::sleep(std::time::Duration::from_millis(300));
    let out = Command::new(sdtrace_bin()).arg("-l").output().unwrap();
    drop(python.stdin.take());
    python.wait().unwrap();
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let rows: Vec<Vec<&str>> = text.lines().skip(1).map(|l| l.split_whitespace().collect()).collect();
    let has = |prov: &str, name: &str| rows.iter().any(|r| r.get(1) == Some(&prov) && r.last() == Some(&name));
    for (prov, name) in [("dtrace", "BEGIN"), ("proc", "exec-success"), ("proc", "signal-send"), ("sched", "on-cpu")] {
        assert!(has(prov, name), "no {prov}:::{name} in\n{text}");
    }
    // Every syscall the kernel has, entry and return: openat among them.
    assert!(rows.iter().any(|r| r[1..] == ["syscall", "vmlinux", "openat", "entry"]), "{text}");
    // CPython 3.11's own probes (readelf -n shows them in the executable).
    assert!(has("python", "function-entry") && has("python", "gc-start"), "{text}");
}

#[test]
fn lv_shows_each_probes_arguments() {
    let Some(py) = system_file("/usr/bin/python3.11") else { return };
    let mut python =
        Command::new(py).args(["-c", "import sys; sys.stdin.read()"]).stdin(Stdio::piped()).spawn().unwrap();
    std::thread::sleep(std::time::Duration::from_millis(300));
    let out = Command::new(sdtrace_bin())
        .args(["-lv", "-n", "python*:::function-entry, syscall::read:entry"])
        .output()
        .unwrap();
    drop(python.stdin.take());
    python.wait().unwrap();
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    // CPython documents function__entry's arguments as filename, funcname, lineno.
    let block = text.split("function-entry").nth(1).unwrap_or_else(|| panic!("{text}"));
    for want in ["args[0]: cstr filename", "args[1]: cstr funcname", "args[2]: i32 lineno"] {
        assert!(block.contains(want), "{want} in\n{text}");
    }
    assert!(text.contains("arg0 … arg5: the system call's arguments"), "{text}");
}
