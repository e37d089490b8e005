//! Faults injected into a tracing session, and what must hold after them
//! (the production-safety issue's fault suite starts here). Each test
//! attaches for real, as root.

use std::io::{BufRead, BufReader, Read};
use std::process::{Command, Stdio};
use std::sync::Mutex;
use std::time::{Duration, Instant};

use tests::{can_attach, fixture, sdtrace_bin, system_file};

/// The tests here look at every BPF object of the machine: one at a time.
static SERIAL: Mutex<()> = Mutex::new(());

/// Names of the BPF programs, maps and links the kernel holds whose name
/// is sdtrace's (`bpftool -j prog|map show`; links carry no name, so they
/// are counted by program: a link keeps its program alive).
fn sdtrace_objects() -> Vec<String> {
    let mut names = Vec::new();
    for kind in ["prog", "map"] {
        let out = Command::new("bpftool").args(["-j", kind, "show"]).output().expect("bpftool runs");
        assert!(out.status.success(), "bpftool {kind} show: {}", String::from_utf8_lossy(&out.stderr));
        let v: serde_json::Value = serde_json::from_slice(&out.stdout).expect("bpftool prints JSON");
        for o in v.as_array().into_iter().flatten() {
            if let Some(n) = o["name"].as_str().filter(|n| n.starts_with("sdtrace")) {
                names.push(format!("{kind} {n}"));
            }
        }
    }
    names
}

/// [`sdtrace_objects`] once it is empty, or what is still there after
/// `limit` (the kernel frees closed programs and maps after an RCU grace
/// period, not at once).
fn objects_gone_within(limit: Duration) -> Vec<String> {
    let t = Instant::now();
    loop {
        let left = sdtrace_objects();
        if left.is_empty() || t.elapsed() > limit {
            return left;
        }
        std::thread::sleep(Duration::from_millis(50));
    }
}

/// The state letter of `/proc/PID/stat` (`S`, `Z`…), or `None` once the
/// process is gone.
fn state(pid: u32) -> Option<char> {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    stat.rsplit_once(") ").and_then(|(_, rest)| rest.chars().next())
}

fn comm(pid: u32) -> String {
    std::fs::read_to_string(format!("/proc/{pid}/comm")).unwrap_or_default().trim().to_string()
}

/// The children of every thread of `pid`.
fn children(pid: u32) -> Vec<u32> {
    let Ok(tasks) = std::fs::read_dir(format!("/proc/{pid}/task")) else { return Vec::new() };
    tasks
        .flatten()
        .filter_map(|t| std::fs::read_to_string(t.path().join("children")).ok())
        .flat_map(|c| c.split_whitespace().filter_map(|p| p.parse().ok()).collect::<Vec<u32>>())
        .collect()
}

/// Regression: SIGKILL of sdtrace while its `-c` command was still held
/// before `execve` left the command blocked on its hold pipe forever (it
/// kept its own copy of the pipe's write end), holding whatever sdtrace
/// had open. Now it sees sdtrace go, and exits without running.
#[test]
fn sigkill_of_sdtrace_while_the_command_is_held_ends_the_command_unrun() {
    if !can_attach() {
        return;
    }
    let _one = SERIAL.lock().unwrap_or_else(|e| e.into_inner());
    // Attaching every function of libc keeps the command held for a while.
    let program = "pid$target:libc.so.6::entry { @ = count(); }";
    for attempt in 0..10 {
        let mut tracer = Command::new(sdtrace_bin())
            .args(["-q", "-n", program, "-c", "sleep 1000"])
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap();
        let t = Instant::now();
        let child = loop {
            if let Some(&c) = children(tracer.id()).first() {
                break Some(c);
            }
            if t.elapsed() > Duration::from_secs(10) {
                break None;
            }
            std::thread::sleep(Duration::from_millis(1));
        };
        let Some(child) = child else { panic!("sdtrace started no command") };
        let held = comm(child) != "sleep";
        tracer.kill().unwrap();
        tracer.wait().unwrap();
        if !held {
            // Released already: not the case under test; end it and retry.
            // SAFETY: kill(2) on a pid this test saw as sdtrace's child.
            unsafe { kill(child as i32, 9) };
            continue;
        }
        let t = Instant::now();
        while !matches!(state(child), None | Some('Z')) {
            assert!(
                t.elapsed() < Duration::from_secs(5),
                "attempt {attempt}: the held command {child} is still there ({:?}, comm {}) after sdtrace was killed",
                state(child),
                comm(child)
            );
            std::thread::sleep(Duration::from_millis(10));
        }
        assert_ne!(comm(child), "sleep", "the command ran after sdtrace was killed");
        return;
    }
    panic!("the command was never caught held in 10 attempts");
}

extern "C" {
    fn kill(pid: i32, sig: i32) -> i32;
}

/// SIGKILL of sdtrace while it traces a running process with USDT, pid
/// provider, syscall and profile programs at once: the process goes on
/// with correct results (its own checksum, 0 unless a register was
/// corrupted), the probe's semaphore is back to 0 (the process reads it
/// itself), and nothing of sdtrace's stays in the kernel (bpftool).
#[test]
fn sigkill_of_sdtrace_while_attached_leaves_the_process_correct_and_nothing_behind() {
    if !can_attach() {
        return;
    }
    let _one = SERIAL.lock().unwrap_or_else(|e| e.into_inner());
    // The kernel frees a closed program after a grace period: wait for
    // those of earlier tests.
    let left = objects_gone_within(Duration::from_secs(5));
    assert!(left.is_empty(), "objects of an earlier sdtrace are in the kernel: {left:?}");
    let mut prog = Command::new(fixture("sdt_basic_O2")).args(["0", "soak"]).stdout(Stdio::piped()).spawn().unwrap();
    let mut out = BufReader::new(prog.stdout.take().unwrap());
    let mut line = String::new();
    out.read_line(&mut line).unwrap();
    assert_eq!(line.trim(), "ready");
    let pid = prog.id().to_string();
    let program = "fixture$target:::gated { @g = count(); } \
                   pid$target:a.out:repeated_a:entry { @r = count(); } \
                   syscall:::entry /pid == $target/ { @s = count(); } \
                   profile-997 { @p = count(); }";
    let mut tracer = Command::new(sdtrace_bin())
        .args(["-n", program, "-p", &pid])
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    // Without -q, sdtrace says how many probes matched once all are attached.
    let mut err = BufReader::new(tracer.stderr.take().unwrap());
    let mut said = String::new();
    err.read_line(&mut said).unwrap();
    assert!(said.contains("matched"), "sdtrace did not attach: {said}");
    std::thread::sleep(Duration::from_millis(300));
    assert!(sdtrace_objects().iter().any(|o| o.starts_with("prog")), "no sdtrace program was loaded");
    tracer.kill().unwrap();
    tracer.wait().unwrap();
    std::thread::sleep(Duration::from_millis(300));
    assert!(prog.try_wait().unwrap().is_none(), "the traced process died with sdtrace");
    // SAFETY: kill(2) on the fixture this test started; it ends on SIGTERM.
    unsafe { kill(prog.id() as i32, 15) };
    let mut rest = String::new();
    out.read_to_string(&mut rest).unwrap();
    assert!(prog.wait().unwrap().success());
    let fields: Vec<&str> = rest.split_whitespace().collect();
    assert!(fields.len() == 3 && fields[1] == "semaphore=0" && fields[2] == "checksum=0", "the fixture said: {rest}");
    let rounds: u64 = fields[0].strip_prefix("rounds=").and_then(|r| r.parse().ok()).unwrap_or(0);
    assert!(rounds > 0, "{rest}");
    let left = objects_gone_within(Duration::from_secs(5));
    assert!(left.is_empty(), "left in the kernel after SIGKILL: {left:?}");
    eprintln!("checked: {rounds} rounds, semaphore 0, checksum 0, no sdtrace program or map left");
}

/// Peak resident memory of `pid` in KiB (`VmHWM` of /proc/PID/status).
fn peak_rss_kib(pid: u32) -> u64 {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).unwrap_or_default();
    status
        .lines()
        .find_map(|l| l.strip_prefix("VmHWM:"))
        .and_then(|v| v.split_whitespace().next())
        .and_then(|v| v.parse().ok())
        .unwrap_or(0)
}

/// A flood: 32 threads fire a probe as fast as they can into a printing
/// clause and an aggregating one, through a small ring buffer. Drops are
/// counted and reported, sdtrace's memory stays bounded, the target is
/// never blocked, and SIGINT ends the session within a second with END run.
#[test]
fn a_flood_of_events_is_dropped_and_counted_and_sigint_still_ends_the_run_at_once() {
    if !can_attach() {
        return;
    }
    let _one = SERIAL.lock().unwrap_or_else(|e| e.into_inner());
    let mut prog = Command::new(fixture("sdt_flood")).arg("32").stdout(Stdio::piped()).spawn().unwrap();
    let mut out = BufReader::new(prog.stdout.take().unwrap());
    let mut line = String::new();
    out.read_line(&mut line).unwrap();
    assert_eq!(line.trim(), "ready");
    let printed = std::env::temp_dir().join(format!("sdtrace-flood-{}.out", std::process::id()));
    let program = "fixture$target:::flood { printf(\"%d %d\\n\", arg0, arg1); } \
                   fixture$target:::flood { @ = count(); } \
                   END { printa(\"counted %@d\\n\", @); }";
    let mut tracer = Command::new(sdtrace_bin())
        .args(["-q", "-x", "bufsize=64k", "-n", program, "-p", &prog.id().to_string()])
        .stdout(std::fs::File::create(&printed).unwrap())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    // Flooding once records arrive, for a second.
    let t = Instant::now();
    while std::fs::metadata(&printed).map(|m| m.len()).unwrap_or(0) == 0 {
        assert!(t.elapsed() < Duration::from_secs(20), "no record arrived");
        std::thread::sleep(Duration::from_millis(10));
    }
    std::thread::sleep(Duration::from_secs(1));
    let rss = peak_rss_kib(tracer.id());
    // SAFETY: kill(2) on the sdtrace this test started.
    unsafe { kill(tracer.id() as i32, 2) };
    let t = Instant::now();
    let status = tracer.wait().unwrap();
    let ended = t.elapsed();
    let mut stderr = String::new();
    tracer.stderr.take().unwrap().read_to_string(&mut stderr).unwrap();
    // The target was never blocked: it still answers SIGTERM at once.
    // SAFETY: kill(2) on the fixture this test started.
    unsafe { kill(prog.id() as i32, 15) };
    let t = Instant::now();
    let mut rest = String::new();
    out.read_to_string(&mut rest).unwrap();
    assert!(prog.wait().unwrap().success());
    assert!(t.elapsed() < Duration::from_secs(2), "the flooding process took {:?} to stop", t.elapsed());
    let fired: u64 = rest.trim().strip_prefix("fired ").and_then(|n| n.parse().ok()).unwrap_or(0);
    let text = std::fs::read_to_string(&printed).unwrap();
    let _ = std::fs::remove_file(&printed);
    assert!(status.success(), "{stderr}");
    assert!(ended < Duration::from_secs(1), "sdtrace took {ended:?} to end after SIGINT");
    let counted: u64 = text
        .lines()
        .find_map(|l| l.strip_prefix("counted "))
        .and_then(|n| n.parse().ok())
        .unwrap_or_else(|| panic!("END did not run: {}", text.lines().last().unwrap_or_default()));
    let dropped: u64 = stderr
        .lines()
        .find_map(|l| l.strip_prefix("sdtrace: ").and_then(|l| l.split_once(" record(s) dropped")))
        .and_then(|(n, _)| n.parse().ok())
        .unwrap_or_else(|| panic!("no drops reported: {stderr}"));
    let lines = text.lines().count() as u64 - 1;
    assert!(counted > 0 && counted <= fired, "counted {counted}, fired {fired}");
    // Every hit either printed or was dropped; some, at the edges, neither.
    assert!(lines + dropped <= counted, "printed {lines} + dropped {dropped} > counted {counted}");
    assert!(rss < 200 * 1024, "sdtrace's peak RSS was {rss} KiB");
    eprintln!(
        "checked: fired {fired}, counted {counted}, printed {lines}, dropped {dropped}, ended {ended:?} after SIGINT, \
         peak RSS {rss} KiB"
    );
}

/// A line of `r`, waiting for it.
fn line_of(r: &mut impl BufRead) -> String {
    let mut l = String::new();
    r.read_line(&mut l).unwrap();
    l.trim_end().to_string()
}

/// Two sdtrace sessions and a bpftrace on one probe of one process at
/// once: each counts every one of the hits the process makes (it says how
/// many), and once all have stopped the probe's semaphore is 0 again (the
/// process reads it itself).
#[test]
fn two_sdtrace_sessions_and_a_bpftrace_on_one_probe_each_get_every_event() {
    if !can_attach() {
        return;
    }
    let Some(bpftrace) = system_file("/usr/bin/bpftrace") else { return };
    let _one = SERIAL.lock().unwrap_or_else(|e| e.into_inner());
    const HITS: u64 = 20_000;
    let exe = fixture("sdt_gate");
    let mut prog = Command::new(&exe).arg(HITS.to_string()).stdout(Stdio::piped()).spawn().unwrap();
    let mut out = BufReader::new(prog.stdout.take().unwrap());
    assert_eq!(line_of(&mut out), "ready");
    let pid = prog.id().to_string();
    // Whatever fails, nothing this test started outlives it.
    let mut reaper = Reaper(vec![prog.id()]);
    let mut sessions = Vec::new();
    for _ in 0..2 {
        let mut s = Command::new(sdtrace_bin())
            .args(["-n", "fixture$target:::gate { @ = count(); } END { printa(\"count %@d\\n\", @); }", "-p", &pid])
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap();
        reaper.0.push(s.id());
        // Without -q, sdtrace says how many probes matched once attached.
        let said = line_of(&mut BufReader::new(s.stderr.take().unwrap()));
        assert!(said.contains("matched"), "{said}");
        sessions.push(s);
    }
    let script = format!("usdt:{}:fixture:gate {{ @ = count(); }}", exe.display());
    let mut bt = Command::new(bpftrace)
        .args(["-p", &pid, "-e", &script])
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    reaper.0.push(bt.id());
    let mut bt_out = BufReader::new(bt.stdout.take().unwrap());
    let attaching = line_of(&mut bt_out);
    assert!(attaching.starts_with("Attaching"), "bpftrace: {attaching}");
    std::thread::sleep(Duration::from_millis(300));
    // SAFETY: kill(2) on the fixture this test started.
    unsafe { kill(prog.id() as i32, 10) };
    let fired = line_of(&mut out);
    assert!(fired.starts_with(&format!("fired {HITS} semaphore=")) && !fired.ends_with("=0"), "{fired}");
    let mut counts = Vec::new();
    for mut s in sessions {
        // SAFETY: kill(2) on an sdtrace this test started.
        unsafe { kill(s.id() as i32, 2) };
        let mut text = String::new();
        s.stdout.take().unwrap().read_to_string(&mut text).unwrap();
        assert!(s.wait().unwrap().success());
        // Without -q, END's probe line comes first on the line.
        counts.push(text.lines().find_map(|l| l.rsplit_once("count ")).and_then(|(_, n)| n.trim().parse::<u64>().ok()));
    }
    // SAFETY: kill(2) on the bpftrace this test started; SIGINT ends it.
    unsafe { kill(bt.id() as i32, 2) };
    let mut text = String::new();
    bt_out.read_to_string(&mut text).unwrap();
    bt.wait().unwrap();
    counts.push(text.lines().find_map(|l| l.strip_prefix("@: ")).and_then(|n| n.trim().parse::<u64>().ok()));
    assert_eq!(counts, [Some(HITS); 3], "sdtrace, sdtrace, bpftrace; bpftrace printed: {text}");
    // SAFETY: as above.
    unsafe { kill(prog.id() as i32, 15) };
    assert_eq!(line_of(&mut out), "semaphore=0");
    assert!(prog.wait().unwrap().success());
    eprintln!("checked: {HITS} hits counted by each of 2 sdtrace and 1 bpftrace; {fired}; semaphore 0 after");
}

/// Processes a test started, killed when it ends however it ends.
struct Reaper(Vec<u32>);

impl Drop for Reaper {
    fn drop(&mut self) {
        for &pid in &self.0 {
            if state(pid).is_some_and(|s| s != 'Z') {
                // SAFETY: kill(2) on a process this test started and has not reaped.
                unsafe { kill(pid as i32, 9) };
            }
        }
    }
}

/// The number of open descriptors of `pid`.
fn open_fds(pid: u32) -> usize {
    std::fs::read_dir(format!("/proc/{pid}/fd")).map(|d| d.count()).unwrap_or(0)
}

/// Many short-lived targets: 1,000 processes started and ended while a
/// system-wide `proc:::exec-success` clause counts them. Every exec is
/// seen (the test started exactly that many), and sdtrace's descriptors
/// and memory do not grow with them.
#[test]
fn a_thousand_execs_are_each_seen_and_sdtrace_does_not_grow() {
    if !can_attach() {
        return;
    }
    let _one = SERIAL.lock().unwrap_or_else(|e| e.into_inner());
    const EXECS: usize = 1000;
    // A name of its own, so that only this test's processes match.
    let exe = std::env::temp_dir().join("sdt_exec_probe");
    std::fs::copy("/bin/true", &exe).unwrap();
    let program = "proc:::exec-success /execname == \"sdt_exec_probe\"/ { @ = count(); } \
                   END { printa(\"execs %@d\\n\", @); }";
    let mut tracer = Command::new(sdtrace_bin())
        .args(["-n", program])
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let reaper = Reaper(vec![tracer.id()]);
    let said = line_of(&mut BufReader::new(tracer.stderr.take().unwrap()));
    assert!(said.contains("matched"), "{said}");
    let (fds_before, rss_before) = (open_fds(tracer.id()), peak_rss_kib(tracer.id()));
    for _ in 0..EXECS {
        assert!(Command::new(&exe).status().unwrap().success());
    }
    std::thread::sleep(Duration::from_millis(200));
    let (fds_after, rss_after) = (open_fds(tracer.id()), peak_rss_kib(tracer.id()));
    // SAFETY: kill(2) on the sdtrace this test started.
    unsafe { kill(tracer.id() as i32, 2) };
    let mut text = String::new();
    tracer.stdout.take().unwrap().read_to_string(&mut text).unwrap();
    assert!(tracer.wait().unwrap().success());
    drop(reaper);
    let _ = std::fs::remove_file(&exe);
    let execs: Option<usize> =
        text.lines().find_map(|l| l.rsplit_once("execs ")).and_then(|(_, n)| n.trim().parse().ok());
    assert_eq!(execs, Some(EXECS), "{text}");
    assert_eq!(fds_after, fds_before, "sdtrace's descriptors grew");
    assert!(rss_after < rss_before + 4096, "sdtrace's peak RSS grew from {rss_before} to {rss_after} KiB");
    eprintln!("checked: {EXECS} execs seen; {fds_before} descriptors before and after; peak RSS {rss_before} -> {rss_after} KiB");
}

/// Many targets at once: 200 processes running one executable, traced
/// through its path (every process running it); each process's hits are
/// counted under its pid, every one of them, and every semaphore is back
/// to 0 after.
#[test]
fn two_hundred_processes_traced_through_their_executable_are_each_counted_whole() {
    if !can_attach() {
        return;
    }
    let _one = SERIAL.lock().unwrap_or_else(|e| e.into_inner());
    const PROCS: usize = 200;
    const HITS: u64 = 100;
    let exe = fixture("sdt_gate");
    let mut reaper = Reaper(Vec::new());
    let mut procs = Vec::new();
    for _ in 0..PROCS {
        let mut p = Command::new(&exe).arg(HITS.to_string()).stdout(Stdio::piped()).spawn().unwrap();
        reaper.0.push(p.id());
        let mut out = BufReader::new(p.stdout.take().unwrap());
        assert_eq!(line_of(&mut out), "ready");
        procs.push((p, out));
    }
    let program =
        format!("fixture:{}::gate {{ @[pid] = count(); }} END {{ printa(\"%d %@d\\n\", @); }}", exe.display());
    let mut tracer = Command::new(sdtrace_bin())
        .args(["-n", &program])
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    reaper.0.push(tracer.id());
    let said = line_of(&mut BufReader::new(tracer.stderr.take().unwrap()));
    assert!(said.contains("matched"), "{said}");
    let fds = open_fds(tracer.id());
    for (p, _) in &procs {
        // SAFETY: kill(2) on a fixture this test started.
        unsafe { kill(p.id() as i32, 10) };
    }
    for (_, out) in &mut procs {
        let fired = line_of(out);
        assert!(fired.starts_with(&format!("fired {HITS} semaphore=")) && !fired.ends_with("=0"), "{fired}");
    }
    // SAFETY: kill(2) on the sdtrace this test started.
    unsafe { kill(tracer.id() as i32, 2) };
    let mut text = String::new();
    tracer.stdout.take().unwrap().read_to_string(&mut text).unwrap();
    assert!(tracer.wait().unwrap().success());
    let mut counted: Vec<(u32, u64)> = text
        .lines()
        .filter_map(|l| {
            let mut w = l.split_whitespace().rev();
            let n = w.next()?.parse().ok()?;
            Some((w.next()?.parse().ok()?, n))
        })
        .collect();
    counted.sort_unstable();
    let mut expected: Vec<(u32, u64)> = procs.iter().map(|(p, _)| (p.id(), HITS)).collect();
    expected.sort_unstable();
    assert_eq!(counted, expected, "{text}");
    for (mut p, mut out) in procs {
        // SAFETY: as above.
        unsafe { kill(p.id() as i32, 15) };
        assert_eq!(line_of(&mut out), "semaphore=0");
        assert!(p.wait().unwrap().success());
    }
    eprintln!("checked: {PROCS} processes x {HITS} hits each counted under its pid; sdtrace held {fds} descriptors");
}
