//! `sdtrace trace` end to end, as root: C fixtures built with `sys/sdt.h`
//! (registers at -O2, memory operands at -O0, constants, twelve arguments,
//! floats, semaphores, a probe in a shared library, one probe at two sites),
//! Debian's python3.11 and ruby, and bpftrace counting the same events.

use std::process::{Command, Output};

use serde_json::Value;
use tests::{can_attach, example_bin, fixture, ndjson, sdtrace_bin, system_file};

fn sdtrace(args: &[&str]) -> Output {
    let out = Command::new(sdtrace_bin()).args(args).output().expect("run sdtrace");
    eprintln!("sdtrace {args:?}\nstderr: {}", String::from_utf8_lossy(&out.stderr));
    out
}

/// Trace `command` as NDJSON; returns the events and all of stdout (the
/// command's own output included) followed by sdtrace's stderr.
fn trace_json(pattern: &str, command: &str) -> (Vec<Value>, String) {
    trace_json_with(&[], pattern, command)
}

/// [`trace_json`] with extra options.
fn trace_json_with(extra: &[&str], pattern: &str, command: &str) -> (Vec<Value>, String) {
    let mut args = vec!["trace", "--json", pattern, "-c", command];
    args.extend_from_slice(extra);
    let out = sdtrace(&args);
    assert!(out.status.success(), "sdtrace failed: {}", String::from_utf8_lossy(&out.stderr));
    let mut text = String::from_utf8_lossy(&out.stdout).into_owned();
    text.push_str(&String::from_utf8_lossy(&out.stderr));
    (ndjson(&out.stdout), text)
}

fn args_of<'a>(events: &'a [Value], probe: &str) -> Vec<&'a Value> {
    events.iter().filter(|e| e["probe"] == probe).map(|e| &e["args"]).collect()
}

fn check_fixture_values(binary: &str, extra: &[&str]) {
    let exe = fixture(binary);
    let (events, _) = trace_json_with(extra, "fixture:*", &format!("{} 3", exe.display()));
    let gated = args_of(&events, "gated");
    assert_eq!(gated.len(), 3, "{events:?}");
    for (i, a) in gated.iter().enumerate() {
        let i = i as i64;
        assert_eq!(a["arg0"], -i, "int8 -i");
        assert_eq!(a["arg1"], i * 7, "uint16 7i");
        assert_eq!(a["arg2"], -100 - i, "int32");
        assert_eq!(a["arg3"].as_u64().unwrap(), u64::MAX - i as u64, "uint64 max-i");
    }
    for a in args_of(&events, "constants") {
        assert_eq!((a["arg0"].as_i64(), a["arg1"].as_i64()), (Some(42), Some(-7)));
    }
    for (i, a) in args_of(&events, "twelve").iter().enumerate() {
        for k in 0..12 {
            assert_eq!(a[format!("arg{k}")], i as i64 + k, "twelve arg{k}");
        }
    }
    for (i, a) in args_of(&events, "floats").iter().enumerate() {
        assert_eq!(a["arg0"].as_f64(), Some(i as f64 / 2.0));
        assert_eq!(a["arg1"].as_f64(), Some(i as f64 * 1.5));
    }
    let repeated: Vec<i64> = args_of(&events, "repeated").iter().map(|a| a["arg0"].as_i64().unwrap()).collect();
    assert_eq!(repeated, [0, 0, 1, 3, 2, 6], "one probe, two sites, in program order");
    for e in &events {
        assert_eq!(e["provider"], "fixture");
        assert!(e["pid"].as_u64().unwrap() > 0 && e["tid"] == e["pid"]);
        assert_eq!(e["comm"], binary.chars().take(15).collect::<String>());
    }
}

#[test]
fn c_fixture_arguments_are_exact_at_o2() {
    if can_attach() {
        check_fixture_values("sdt_basic_O2", &[]);
    }
}

#[test]
fn c_fixture_memory_operands_are_exact_at_o0() {
    if can_attach() {
        check_fixture_values("sdt_basic_O0", &[]);
    }
}

#[test]
fn perf_event_fallback_reads_the_same_values_and_raises_semaphores() {
    if !can_attach() {
        return;
    }
    let perf = ["--uprobe-method", "perf-event"];
    check_fixture_values("sdt_basic_O0", &perf);
    let exe = fixture("sdt_basic_O2");
    let (events, text) = trace_json_with(&perf, "fixture:gated", &format!("{} 3 sem", exe.display()));
    assert_eq!(events.len(), 3, "{text}");
    assert!(!text.contains("semaphore=0"), "{text}");
}

#[test]
fn nop_nop10_site_is_probed_where_the_kernels_verdict_says() {
    if !can_attach() {
        return;
    }
    let exe = fixture("sdt_nop10");
    let out = Command::new(sdtrace_bin())
        .args(["trace", "--json", "fixture:nop10", "--", exe.to_str().unwrap(), "4"])
        .env("SDTRACE_TIMINGS", "1")
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "{stderr}");
    let events = ndjson(&out.stdout);
    let got: Vec<(i64, i64)> =
        args_of(&events, "nop10").iter().map(|a| (a["arg0"].as_i64().unwrap(), a["arg1"].as_i64().unwrap())).collect();
    assert_eq!(got, [(0, 0), (1, -1), (2, -2), (3, -3)]);
    // The program prints its own site bytes while sdtrace is still attached.
    let stdout = String::from_utf8_lossy(&out.stdout);
    let site: Vec<u8> = stdout
        .lines()
        .find_map(|l| l.strip_prefix("site:"))
        .expect("site line")
        .split_whitespace()
        .map(|b| u8::from_str_radix(b, 16).unwrap())
        .collect();
    let verdict = stderr.lines().find(|l| l.contains("sdtrace: nop10")).expect("verdict line");
    let nop10 = [0x66, 0x2e, 0x0f, 0x1f, 0x84, 0, 0, 0, 0, 0];
    if verdict.contains("OptimisedSafely") {
        assert_eq!(site[0], 0x90, "probed one byte in: {verdict}");
        assert_ne!(site[1..], nop10, "the kernel rewrote the nop10: {verdict}");
    } else {
        assert_eq!(site[0], 0xcc, "probed on the 1-byte nop (int3): {verdict}");
        assert_eq!(site[1..], nop10, "the nop10 is untouched: {verdict}");
    }
}

#[test]
fn probes_of_the_usdt_crate_are_traced_with_their_values() {
    if !can_attach() {
        return;
    }
    let exe = example_bin("usdt_crate");
    // With -c, either sdtrace warns that this binary's semaphores share a
    // file page with the RELRO segment (rust-lld's layout; whether they do
    // depends on the sizes of what comes before, which differ between
    // checkouts), where the kernel raises the wrong copy while the program
    // loads and bpftrace -c sees nothing too; or every event arrives.
    let (events, text) = trace_json("usdtcrate:*", &format!("{} 1", exe.display()));
    let warned = text.contains("shares a file page with another writable segment");
    let all = args_of(&events, "job-start").len() == 1 && args_of(&events, "job-done").len() == 1;
    assert!(warned || all, "neither a warning nor every event:\n{text}");
    // Traced by pid once it runs, every event arrives.
    let mut child = Command::new(&exe).arg("100000").stdout(std::process::Stdio::null()).spawn().unwrap();
    std::thread::sleep(std::time::Duration::from_millis(200));
    let pid = child.id().to_string();
    let out = sdtrace(&["trace", "--json", "usdtcrate:*", "-p", &pid, "--duration", "0.5"]);
    child.kill().unwrap();
    child.wait().unwrap();
    let text = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "{text}");
    let events = ndjson(&out.stdout);
    let start = args_of(&events, "job-start");
    let done = args_of(&events, "job-done");
    assert!(start.len() >= 50, "{text}");
    let ids: Vec<u64> = start.iter().map(|a| a["arg0"].as_u64().unwrap()).collect();
    assert!(ids.windows(2).all(|w| w[1] == w[0] + 1), "consecutive ids: {ids:?}");
    // The crate passes a &str as a pointer to a NUL-terminated copy.
    assert!(start.iter().all(|a| a["arg1"].as_u64().unwrap() != 0), "{text}");
    assert!(done.iter().all(|a| a["arg1"].as_i64().unwrap() == -a["arg0"].as_i64().unwrap()), "{text}");
}

#[test]
fn probes_of_the_probe_crate_are_traced_eager_and_lazy() {
    if !can_attach() {
        return;
    }
    let exe = example_bin("probe_crate");
    let (events, text) = trace_json("probecrate:*", &format!("{} 3", exe.display()));
    let pairs = |probe| -> Vec<(i64, i64)> {
        args_of(&events, probe).iter().map(|a| (a["arg0"].as_i64().unwrap(), a["arg1"].as_i64().unwrap())).collect()
    };
    assert_eq!(pairs("eager"), [(0, 0), (1, -1), (2, -2)], "{text}");
    // probe_lazy! evaluates its arguments only while its semaphore is raised.
    assert_eq!(pairs("lazy"), [(0, 0), (2, 1), (4, 2)], "{text}");
}

#[test]
fn semaphore_is_raised_while_traced_and_zero_otherwise() {
    if !can_attach() {
        return;
    }
    let exe = fixture("sdt_basic_O2");
    let plain = Command::new(&exe).args(["3", "sem"]).output().unwrap();
    assert!(String::from_utf8_lossy(&plain.stdout).contains("semaphore=0"));
    let (_, text) = trace_json("fixture:gated", &format!("{} 3 sem", exe.display()));
    // At least 1: the kernel counts every uprobe_multi link on the probe, and
    // another session tracing the same binary (for another pid) counts too.
    let seen: u32 =
        text.split("semaphore=").nth(1).and_then(|v| v.split_whitespace().next()?.parse().ok()).unwrap_or(0);
    assert!(seen >= 1, "{text}");
    // Tracing a probe that has no semaphore of its own leaves gated's at 0.
    let (_, text) = trace_json("fixture:constants", &format!("{} 3 sem", exe.display()));
    assert!(text.contains("semaphore=0"), "{text}");
}

#[test]
fn probe_in_a_shared_library_is_traced_through_the_command() {
    if !can_attach() {
        return;
    }
    let (events, _) = trace_json("fixturelib:work", &format!("{} 4", fixture("sdt_lib_main").display()));
    let xs: Vec<(i64, i64)> =
        events.iter().map(|e| (e["args"]["arg0"].as_i64().unwrap(), e["args"]["arg1"].as_i64().unwrap())).collect();
    assert_eq!(xs, [(0, 0), (1, 1000), (2, 2000), (3, 3000)]);
}

#[test]
fn trace_by_pid_sees_a_running_process() {
    if !can_attach() {
        return;
    }
    let mut child = Command::new(fixture("sdt_basic_O2"))
        .args(["100000", "slow"])
        .stdout(std::process::Stdio::null())
        .spawn()
        .unwrap();
    let pid = child.id().to_string();
    std::thread::sleep(std::time::Duration::from_millis(100));
    let out = sdtrace(&["trace", "--json", "-q", "fixture:repeated", "-p", &pid, "--duration", "0.5"]);
    child.kill().unwrap();
    child.wait().unwrap();
    assert!(out.status.success());
    let events = ndjson(&out.stdout);
    assert!(events.len() > 20, "only {} events in 0.5 s", events.len());
    assert!(events.iter().all(|e| e["pid"].as_u64() == Some(u64::from(child.id()))));
}

/// Counts per (probe, function) that bpftrace prints for the functions of
/// `script` (other files' counts vary between runs: the import system
/// caches directory listings of /tmp, which other tests change).
fn bpftrace_python_counts(py: &std::path::Path, script: &std::path::Path) -> Vec<(String, String, usize)> {
    let prog = format!(
        "usdt:{py}:python:function__entry, usdt:{py}:python:function__return /str(arg0) == \"{file}\"/ {{ @[probe, str(arg1)] = count(); }}",
        py = py.display(),
        file = script.display()
    );
    let out = Command::new("bpftrace")
        .args(["-e", &prog, "-c", &format!("{} {}", py.display(), script.display())])
        .output()
        .unwrap();
    assert!(out.status.success(), "bpftrace: {}", String::from_utf8_lossy(&out.stderr));
    let mut v: Vec<(String, String, usize)> = String::from_utf8_lossy(&out.stdout)
        .lines()
        .filter_map(|l| {
            // @[usdt:/usr/bin/python3.11:python:function__entry, name]: 3
            let inner = l.strip_prefix("@[")?;
            let (key, count) = inner.rsplit_once("]: ")?;
            let (probe, func) = key.split_once(", ")?;
            Some((probe.rsplit(':').next()?.to_string(), func.to_string(), count.trim().parse().ok()?))
        })
        .collect();
    v.sort();
    v
}

#[test]
fn python_function_probes_give_file_function_and_line_as_bpftrace_does() {
    if !can_attach() {
        return;
    }
    let Some(py) = system_file("/usr/bin/python3.11") else { return };
    let dir = std::env::temp_dir().join(format!("sdtrace-py-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let script = dir.join("calls.py");
    // One string per print: the output shares sdtrace's stdout, and an
    // unbuffered Python writes each piece of `print(a, b)` separately.
    std::fs::write(&script, "def double(x):\n    return x * 2\n\nprint(f'{double(1)} {double(2)}')\n").unwrap();
    let (events, text) = trace_json("python:function-*", &format!("{} {}", py.display(), script.display()));
    assert!(text.contains("2 4"), "{}", text.lines().filter(|l| !l.starts_with('{')).collect::<Vec<_>>().join("\n"));
    let file = script.to_str().unwrap();
    let ours: Vec<(&str, &str, i64)> = events
        .iter()
        .filter(|e| e["args"]["filename"] == file)
        .map(|e| {
            (
                e["probe"].as_str().unwrap(),
                e["args"]["funcname"].as_str().unwrap(),
                e["args"]["lineno"].as_i64().unwrap(),
            )
        })
        .collect();
    // CPython 3.11 fires function__return for every Python function, with
    // the line of the `return`.
    let r = ("function__return", "double", 2);
    assert_eq!(ours.iter().filter(|e| **e == r).count(), 2, "{ours:?}");
    assert!(ours.contains(&("function__return", "<module>", 4)), "{ours:?}");
    // Events per probe and function.
    let mut counts: Vec<(String, String, usize)> = Vec::new();
    for e in events.iter().filter(|e| e["args"]["filename"] == file) {
        let key = (e["probe"].as_str().unwrap().to_string(), e["args"]["funcname"].as_str().unwrap().to_string());
        match counts.iter_mut().find(|c| (&c.0, &c.1) == (&key.0, &key.1)) {
            Some(c) => c.2 += 1,
            None => counts.push((key.0, key.1, 1)),
        }
    }
    counts.sort();
    // Every call has its entry: CPython 3.11 fires function__entry only
    // while its line probe is enabled, which sdtrace does (cpython#98894).
    let of = |probe: &str| -> Vec<(String, usize)> {
        counts.iter().filter(|c| c.0 == probe).map(|c| (c.1.clone(), c.2)).collect()
    };
    assert_eq!(of("function__entry"), of("function__return"), "{counts:?}");
    // Returns, which fire without help, are the events bpftrace sees too
    // (bpftrace does not enable `line`, so it sees few entries).
    if system_file("/usr/bin/bpftrace").is_some() {
        let theirs = bpftrace_python_counts(py, &script);
        let returns = |c: &[(String, String, usize)]| -> Vec<(String, String, usize)> {
            c.iter().filter(|c| c.0 == "function__return").cloned().collect()
        };
        assert_eq!(returns(&counts), returns(&theirs));
    }
    std::fs::remove_dir_all(&dir).unwrap();
}

/// Ruby's object__create probe names the class, file and line of `.new`.
/// (Not `cmethod__entry`: with its semaphore raised, Debian's Ruby 3.1.2
/// sometimes crashes in its own `rb_dtrace_setup`; see docs/tracing.md.)
#[test]
fn ruby_object_create_gives_class_file_and_line() {
    if !can_attach() {
        return;
    }
    let Some(ruby) = system_file("/usr/bin/ruby3.1") else { return };
    let out = sdtrace(&[
        "trace",
        "--json",
        "ruby:object-create",
        "--",
        ruby.to_str().unwrap(),
        "-e",
        "class Greeter; end\nGreeter.new",
    ]);
    assert!(out.status.success());
    let events = ndjson(&out.stdout);
    let from_script: Vec<String> = events
        .iter()
        .filter(|e| e["args"]["filename"] == "-e")
        .map(|e| format!("{}:{}", e["args"]["classname"], e["args"]["lineno"]))
        .collect();
    assert_eq!(from_script, ["\"Greeter\":2"], "{} events in all", events.len());
}

#[test]
fn sdtrace_and_bpftrace_count_the_same_events() {
    if !can_attach() {
        return;
    }
    let Some(bpftrace) = system_file("/usr/bin/bpftrace") else { return };
    let exe = fixture("sdt_basic_O2");
    let (events, _) = trace_json("fixture:*", &format!("{} 25", exe.display()));
    let script = format!("usdt:{}:fixture:* {{ @[probe] = count(); }}", exe.display());
    let out = Command::new(bpftrace).args(["-e", &script, "-c", &format!("{} 25", exe.display())]).output().unwrap();
    assert!(out.status.success(), "bpftrace: {}", String::from_utf8_lossy(&out.stderr));
    let text = String::from_utf8_lossy(&out.stdout);
    for probe in ["gated", "constants", "twelve", "floats", "text", "repeated"] {
        let ours = events.iter().filter(|e| e["probe"] == probe).count();
        let line = text
            .lines()
            .find(|l| l.contains(&format!(":fixture:{probe}]")))
            .unwrap_or_else(|| panic!("bpftrace has no {probe}: {text}"));
        let theirs: usize = line.rsplit(' ').next().unwrap().trim().parse().unwrap();
        assert_eq!(ours, theirs, "{probe}");
    }
}

#[test]
fn no_match_suggests_close_names() {
    let exe = fixture("sdt_basic_O2");
    let out = sdtrace(&["trace", "fixture:gatd", "-c", exe.to_str().unwrap()]);
    assert_eq!(out.status.code(), Some(1));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("no probe matches fixture:gatd (did you mean fixture:gated"), "{err}");
}

#[test]
fn bad_targets_are_clear_errors() {
    let out = sdtrace(&["trace", "fixture:gated", "-p", "4000000000"]);
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("pid 4000000000: no such process"));
    // Without -p or -c every process is looked in; none has a fixture provider.
    let out = sdtrace(&["trace", "fixture:gated"]);
    assert_eq!(out.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&out.stderr).contains("no probe matches fixture:gated"), "{out:?}");
    let out = sdtrace(&["trace", "fixture:gated", "-c", "/nonexistent/cmd"]);
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("command `/nonexistent/cmd` not found"));
}

/// uprobe_multi links that exist now, by id (bpftool's view of the kernel).
fn uprobe_multi_links() -> Vec<u64> {
    let out = Command::new("bpftool").args(["link", "list", "-j"]).output().expect("run bpftool");
    assert!(out.status.success(), "bpftool: {}", String::from_utf8_lossy(&out.stderr));
    let links: Value = serde_json::from_slice(&out.stdout).expect("bpftool JSON");
    links
        .as_array()
        .map(|a| a.iter().filter(|l| l["type"] == "uprobe_multi").filter_map(|l| l["id"].as_u64()).collect())
        .unwrap_or_default()
}

#[test]
fn soak_200_attach_detach_cycles_leave_the_process_correct_and_nothing_behind() {
    use std::io::{BufRead, BufReader};
    if !can_attach() {
        return;
    }
    let Some(_) = system_file("/usr/sbin/bpftool") else { return };
    let before = uprobe_multi_links();
    let mut child = Command::new(fixture("sdt_basic_O2"))
        .args(["0", "soak"])
        .stdout(std::process::Stdio::piped())
        .spawn()
        .expect("start fixture");
    let mut stdout = BufReader::new(child.stdout.take().unwrap());
    let mut line = String::new();
    stdout.read_line(&mut line).unwrap();
    assert_eq!(line.trim(), "ready");
    let pid = child.id().to_string();
    let mut events = 0;
    for round in 0..200 {
        let out = Command::new(sdtrace_bin())
            .args([
                "trace",
                "-q",
                "--bufsize",
                "1",
                "fixture:gated",
                "fixture:repeated",
                "-p",
                &pid,
                "--duration",
                "0.005",
            ])
            .output()
            .unwrap();
        assert!(out.status.success(), "round {round}: {}", String::from_utf8_lossy(&out.stderr));
        // The probes fire in a tight loop: count lines, parsing is the slow part here.
        events += out.stdout.iter().filter(|&&b| b == b'\n').count();
    }
    // Ask the fixture to finish (SIGTERM ends its loop).
    Command::new("kill").args(["-TERM", &pid]).status().unwrap();
    let mut rest = String::new();
    stdout.read_line(&mut rest).unwrap();
    assert!(child.wait().unwrap().success());
    assert!(events > 200, "only {events} events in 200 rounds");
    assert!(rest.contains("semaphore=0") && rest.contains("checksum=0"), "{rest}");
    let after = uprobe_multi_links();
    let leaked: Vec<_> = after.iter().filter(|id| !before.contains(id)).collect();
    assert!(leaked.is_empty(), "links left behind: {leaked:?}");
}

#[test]
fn without_privileges_the_error_names_the_capabilities_and_the_command_never_runs() {
    if !can_attach() {
        return;
    }
    let Some(py) = system_file("/usr/bin/python3.11") else { return };
    let marker = std::env::temp_dir().join(format!("sdtrace-unpriv-{}", std::process::id()));
    let script = format!("open('{}', 'w')", marker.display());
    let out = Command::new("setpriv")
        .args(["--reuid=65534", "--regid=65534", "--clear-groups"])
        .arg(sdtrace_bin())
        .args(["trace", "python:function-entry", "--", py.to_str().unwrap(), "-c", &script])
        .output()
        .expect("run setpriv");
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{err}");
    assert!(err.contains("needs root, or CAP_BPF and CAP_PERFMON"), "{err}");
    assert!(!marker.exists(), "the command ran untraced");
}

/// Regression: a site described by three identical notes was probed three
/// times, each hit printed three times. The fixture prints how often it
/// fired.
#[test]
fn a_site_with_identical_notes_is_one_site() {
    if !can_attach() {
        return;
    }
    let exe = fixture("sdt_dup_notes");
    let (events, text) = trace_json("fixture:dup", &format!("{} 7", exe.display()));
    assert!(text.contains("fired 7"), "{text}");
    assert_eq!(events.len(), 7, "{text}");
    assert!(text.contains("7 events from 1 sites"), "{text}");
}

/// The event lines of a `trace` text output, without their first columns
/// (time since the first event, pid, tid), which differ between runs.
fn event_columns(text: &str) -> Vec<String> {
    text.lines()
        .filter(|l| l.len() > 31 && l[..15].trim_start().chars().next().is_some_and(|c| c.is_ascii_digit()))
        .filter(|l| l[..15].contains('.'))
        .map(|l| l[31..].to_string())
        .collect()
}

/// `sdtrace trace P -c C --dump-script` prints a D program that, run with
/// `sdtrace -s FILE -c C`, prints the same events as `sdtrace trace P -c C`
/// (the issue's acceptance: a user can copy the trace as D and edit it).
#[test]
fn the_dumped_d_script_prints_the_same_events_as_trace() {
    if !can_attach() {
        return;
    }
    let fib = format!("/usr/bin/python3.11 {}/d/fib.py", env!("CARGO_MANIFEST_DIR"));
    let rust = format!("{} 3", tests::rust_fixture("debug", "rust_fixture").display());
    // Python's start-up varies a little from run to run (a codecs call or
    // not); the program's own calls do not.
    let cases = [
        ("python:function__return", fib.as_str(), "fib.py"),
        ("fixture:ints", rust.as_str(), ""),
        ("fixture:generic", rust.as_str(), ""),
        ("fixture:json", rust.as_str(), ""),
        ("dfix:hello", rust.as_str(), ""),
    ];
    let dir = std::env::temp_dir().join(format!("sdtrace-dump-script-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    for (pattern, command, only) in cases {
        let only = |v: Vec<String>| -> Vec<String> { v.into_iter().filter(|l| l.contains(only)).collect() };
        let dumped = sdtrace(&["trace", pattern, "-c", command, "--dump-script"]);
        assert!(dumped.status.success(), "{pattern}: {}", String::from_utf8_lossy(&dumped.stderr));
        let script = dir.join("trace.d");
        std::fs::write(&script, &dumped.stdout).unwrap();
        let printed = dir.join("out");
        let ran = sdtrace(&["-s", &script.display().to_string(), "-c", command, "-o", &printed.display().to_string()]);
        assert!(ran.status.success(), "{pattern}: {}", String::from_utf8_lossy(&ran.stderr));
        let from_d = only(event_columns(&std::fs::read_to_string(&printed).unwrap()));
        let traced = sdtrace(&["trace", pattern, "-c", command]);
        assert!(traced.status.success());
        let from_trace = only(event_columns(&String::from_utf8_lossy(&traced.stdout)));
        assert!(!from_trace.is_empty(), "{pattern}: no events");
        assert_eq!(
            from_d,
            from_trace,
            "{pattern}: the D program printed other events; it was:\n{}",
            String::from_utf8_lossy(&dumped.stdout)
        );
    }
    let _ = std::fs::remove_dir_all(&dir);
}

/// The dumped program of a `--json` trace is a D program with NDJSON
/// output: run with `-s`, it prints floats exactly, bytes in hex with
/// their length and strings with their length, as the fixture fired them
/// (tests/rust-fixture/src/lib.rs: round r fires `misc` with 1.5 and
/// -2.25 * r, `text` with "héllo wörld r" and the bytes 01 02 03 ff).
#[test]
fn a_dumped_json_trace_runs_with_s_and_prints_every_type_exactly() {
    if !can_attach() {
        return;
    }
    let rust = format!("{} 2", tests::rust_fixture("debug", "rust_fixture").display());
    let dumped = sdtrace(&["trace", "fixture:misc", "fixture:text", "-c", &rust, "--json", "--dump-script"]);
    assert!(dumped.status.success());
    let dir = std::env::temp_dir().join(format!("sdtrace-dump-json-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let script = dir.join("trace.d");
    std::fs::write(&script, &dumped.stdout).unwrap();
    let printed = dir.join("out");
    let ran = sdtrace(&["-s", &script.display().to_string(), "-c", &rust, "-o", &printed.display().to_string()]);
    assert!(ran.status.success(), "{}", String::from_utf8_lossy(&ran.stderr));
    let events = ndjson(&std::fs::read(&printed).unwrap());
    let _ = std::fs::remove_dir_all(&dir);
    let misc = args_of(&events, "misc");
    let text = args_of(&events, "text");
    assert_eq!((misc.len(), text.len()), (2, 2), "{events:?}");
    for (r, (m, t)) in misc.iter().zip(&text).enumerate() {
        let r = r as f64 + 1.0;
        assert_eq!(m["x"].as_f64(), Some(1.5));
        assert_eq!(m["y"].as_f64(), Some(-2.25 * r));
        assert_eq!(m["ch"], "é");
        assert_eq!(m["flag"], r == 1.0);
        assert_eq!(t["s"], format!("héllo wörld {r}"));
        assert_eq!(t["c"], "c string");
        assert_eq!(t["b"], "010203ff");
    }
}
