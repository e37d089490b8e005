//! A USDT description without `-p` or `-c` looks in every process, as in
//! dtrace(1), and keeps tracing processes that start later: CPython's
//! `gc-start` probe (its argument is the generation) counted per process
//! against each interpreter's own count of its full collections (a
//! `gc.callbacks` hook).

use std::io::{BufRead, BufReader, Write};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use tests::{can_attach, sdtrace_bin, system_file};

/// Each test counts every interpreter of the machine: one at a time.
static SERIAL: std::sync::Mutex<()> = std::sync::Mutex::new(());

/// A Python that counts its own full (generation 2) collections, waits to
/// be told to go, collects `n` times, prints the count and leaves without
/// the collections of interpreter shutdown.
fn python(py: &std::path::Path, n: u32) -> Child {
    let program = format!(
        "import gc, os, sys\n\
         count = [0]\n\
         gc.callbacks.append(lambda phase, info: phase == 'start' and info['generation'] == 2 \
         and count.__setitem__(0, count[0] + 1))\n\
         sys.stdin.readline()\n\
         for _ in range({n}): gc.collect()\n\
         print(count[0], flush=True)\n\
         os._exit(0)\n"
    );
    Command::new(py).args(["-c", &program]).stdin(Stdio::piped()).stdout(Stdio::piped()).spawn().unwrap()
}

/// Tell a waiting [`python`] to go; its own count of collections.
fn go(mut child: Child) -> (u32, u64) {
    child.stdin.take().unwrap().write_all(b"go\n").unwrap();
    let pid = child.id();
    let out = child.wait_with_output().unwrap();
    (pid, String::from_utf8_lossy(&out.stdout).trim().parse().unwrap())
}

#[test]
fn a_provider_glob_without_a_process_traces_running_and_later_processes() {
    if !can_attach() {
        return;
    }
    let Some(py) = system_file("/usr/bin/python3.11") else { return };
    let _one = SERIAL.lock().unwrap_or_else(|e| e.into_inner());
    let before = python(py, 7);
    // Let the first interpreter map its executable before sdtrace looks.
    std::thread::sleep(Duration::from_millis(300));
    let mut sdtrace = Command::new(sdtrace_bin())
        // --duration: a bound if it never attaches (the reads below end).
        .args(["--duration", "30", "-n", "python*:::gc-start /arg0 == 2/ { @[pid] = count(); }"])
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    // Attached once the banner is out.
    let mut err = BufReader::new(sdtrace.stderr.take().unwrap());
    let mut banner = String::new();
    let start = Instant::now();
    while !banner.contains("matched") {
        banner.clear();
        assert!(err.read_line(&mut banner).unwrap() > 0, "sdtrace ended before attaching");
        assert!(start.elapsed() < Duration::from_secs(30), "no banner");
    }
    let after = python(py, 5);
    let counts = [go(before), go(after)];
    sigint(sdtrace.id());
    let out = sdtrace.wait_with_output().unwrap();
    let text = String::from_utf8_lossy(&out.stdout);
    for (pid, own) in counts {
        let seen = count_of(&text, pid);
        assert_eq!(seen, own, "pid {pid}: sdtrace counted {seen} collections, the interpreter {own}:\n{text}");
    }
}

/// The count of `@[pid] = count()`'s row for `pid` in sdtrace's output.
fn count_of(text: &str, pid: u32) -> u64 {
    text.lines()
        .find_map(|l| {
            let mut w = l.split_whitespace();
            (w.next()? == pid.to_string()).then(|| w.next()?.parse().ok())?
        })
        .unwrap_or(0)
}

/// SIGINT to `pid` (kill(1), so that this crate needs no unsafe code).
fn sigint(pid: u32) {
    let ok = Command::new("kill").args(["-INT", &pid.to_string()]).status().unwrap().success();
    assert!(ok, "kill -INT {pid}");
}

#[test]
fn with_z_an_interpreter_that_starts_later_is_picked_up_at_its_exec() {
    if !can_attach() {
        return;
    }
    let Some(py) = system_file("/usr/bin/python3.11") else { return };
    let _one = SERIAL.lock().unwrap_or_else(|e| e.into_inner());
    // No interpreter runs yet: -Z lets the program start with no probe.
    let mut sdtrace = Command::new(sdtrace_bin())
        .args(["--duration", "30", "-Z", "-n", "python*:::gc-start /arg0 == 2/ { @[pid] = count(); }"])
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut err = BufReader::new(sdtrace.stderr.take().unwrap());
    let mut line = String::new();
    let wait_for = |err: &mut BufReader<_>, line: &mut String, what: &str| {
        let start = Instant::now();
        loop {
            line.clear();
            assert!(err.read_line(line).unwrap() > 0, "sdtrace ended before saying {what:?}");
            if line.contains(what) {
                return;
            }
            assert!(start.elapsed() < Duration::from_secs(30), "sdtrace never said {what:?}");
        }
    };
    wait_for(&mut err, &mut line, "matched 0 probes");
    // The exec watch tells sdtrace of the new interpreter, whose probes are
    // then attached (it says so); only then is the interpreter told to go.
    let later = python(py, 6);
    wait_for(&mut err, &mut line, &format!("pid {} mapped", later.id()));
    let (pid, own) = go(later);
    sigint(sdtrace.id());
    let out = sdtrace.wait_with_output().unwrap();
    let text = String::from_utf8_lossy(&out.stdout);
    let seen = count_of(&text, pid);
    assert_eq!(seen, own, "pid {pid}: sdtrace counted {seen} collections, the interpreter {own}:\n{text}");
}
