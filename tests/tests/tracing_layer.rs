//! `usdt_runtime::tracing::layer` on a service instrumented with `tracing`
//! only (examples/tracing_service.rs): `sdtrace list -p` shows a probe per
//! span callsite with the span's fields named and typed, a D program
//! counts by `args->route` exactly the requests the service says it
//! served, with each request's elapsed time at least the millisecond it
//! sleeps; the generic probes fire once per span, and bpftrace reads them.

use std::io::{BufRead, BufReader, Write};
use std::process::{Child, ChildStdin, Command, Stdio};

use tests::{can_attach, example_bin, sdtrace_bin};

const PLAN: [(&str, u64); 3] = [("/users", 7), ("/orders", 3), ("/health", 5)];

/// The service, warmed up and waiting: its pid, stdin (a line starts the
/// requests) and stdout.
fn start() -> (Child, ChildStdin, BufReader<std::process::ChildStdout>) {
    let mut child = Command::new(example_bin("tracing_service"))
        .args(PLAN.iter().map(|(r, n)| format!("{r}={n}")))
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .spawn()
        .unwrap();
    let stdin = child.stdin.take().unwrap();
    let mut out = BufReader::new(child.stdout.take().unwrap());
    let mut line = String::new();
    out.read_line(&mut line).unwrap();
    assert!(line.starts_with("ready "), "{line}");
    (child, stdin, out)
}

/// Run `sdtrace ARGS` on the service: wait until its BEGIN prints, start
/// the requests, wait for the service to end; sdtrace's stdout and what
/// the service printed.
fn traced(args: &[&str]) -> (String, String) {
    let (mut svc, mut stdin, mut svc_out) = start();
    let pid = svc.id().to_string();
    let mut t = Command::new(sdtrace_bin())
        .args(args)
        .args(["-p", &pid])
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut t_out = BufReader::new(t.stdout.take().unwrap());
    let mut line = String::new();
    t_out.read_line(&mut line).unwrap();
    assert_eq!(line.trim(), "attached", "{line}");
    writeln!(stdin, "go").unwrap();
    let mut said = String::new();
    std::io::Read::read_to_string(&mut svc_out, &mut said).unwrap();
    assert!(svc.wait().unwrap().success());
    let mut rest = String::new();
    std::io::Read::read_to_string(&mut t_out, &mut rest).unwrap();
    let status = t.wait().unwrap();
    let mut err = String::new();
    std::io::Read::read_to_string(&mut t.stderr.take().unwrap(), &mut err).unwrap();
    assert!(status.success(), "{err}");
    (rest, said)
}

fn sent(said: &str) -> Vec<(String, u64)> {
    let mut v: Vec<(String, u64)> = said
        .lines()
        .filter_map(|l| l.strip_prefix("sent "))
        .map(|l| {
            let (r, n) = l.split_once(' ').unwrap();
            (r.to_string(), n.parse().unwrap())
        })
        .collect();
    v.sort();
    v
}

#[test]
fn span_probes_are_listed_with_the_spans_fields() {
    if !can_attach() {
        return;
    }
    let (mut svc, mut stdin, _out) = start();
    let out = Command::new(sdtrace_bin()).args(["list", "-p", &svc.id().to_string(), "svc:*"]).output().unwrap();
    writeln!(stdin, "go").unwrap();
    svc.wait().unwrap();
    let text = String::from_utf8_lossy(&out.stdout);
    let line = |probe: &str| {
        text.lines().find(|l| l.trim_start().starts_with(probe)).unwrap_or_else(|| panic!("{probe}:\n{text}"))
    };
    assert!(line("svc:handle_request__enter").ends_with("(id u64, parent u64, route str, req u64)"), "{text}");
    assert!(line("svc:handle_request__exit").ends_with("(id u64, elapsed_ns u64, route str, req u64)"), "{text}");
    assert!(line("svc:handle_request__close").ends_with("(id u64, busy_ns u64, idle_ns u64)"), "{text}");
    assert!(line("svc:span__enter").ends_with("(name str, id u64, parent u64)"), "{text}");
    assert!(line("svc:tracing_service__info").contains("message str"), "{text}");
}

#[test]
fn a_d_program_counts_the_requests_per_route_the_service_served() {
    if !can_attach() {
        return;
    }
    let program = "BEGIN { printf(\"attached\\n\"); }
        svc$target:::handle_request-exit { @n[args->route] = count(); @min[args->route] = min(args->elapsed_ns); }
        svc$target:::span-exit { @generic = count(); }
        END { printa(\"%s %@d\\n\", @n); printa(\"min %s %@d\\n\", @min); printa(\"generic %@d\\n\", @generic); }";
    let (out, said) = traced(&["-q", "-n", program]);
    let want = sent(&said);
    assert_eq!(want.len(), 3, "{said}");
    let mut counted: Vec<(String, u64)> = out
        .lines()
        .filter(|l| l.starts_with('/'))
        .map(|l| {
            let (r, n) = l.split_once(' ').unwrap();
            (r.to_string(), n.trim().parse().unwrap())
        })
        .collect();
    counted.sort();
    assert_eq!(counted, want, "\n{out}");
    for l in out.lines().filter_map(|l| l.strip_prefix("min ")) {
        let ns: u64 = l.rsplit(' ').next().unwrap().parse().unwrap();
        assert!(ns >= 1_000_000, "each request sleeps 1 ms: {l}");
    }
    let generic: u64 = out.lines().find_map(|l| l.strip_prefix("generic ")).unwrap().trim().parse().unwrap();
    assert_eq!(generic, want.iter().map(|w| w.1).sum::<u64>(), "\n{out}");
}

#[test]
fn bpftrace_reads_the_generic_probes() {
    if !can_attach() {
        return;
    }
    let (mut svc, mut stdin, mut svc_out) = start();
    let pid = svc.id();
    // The generic probes live in the provider's first generation; a
    // `str` argument is a pointer and a length, as bpftrace's str(p, n) reads it.
    let maps = std::fs::read_to_string(format!("/proc/{pid}/maps")).unwrap();
    let libs: Vec<&str> =
        maps.lines().filter_map(|l| l.split_whitespace().nth(5)).filter(|p| p.contains("/libsvc-")).collect();
    let lib = libs
        .iter()
        .find(|p| {
            let o = Command::new(sdtrace_bin()).args(["list", p, "svc:span__exit"]).output().unwrap();
            o.status.success()
        })
        .unwrap_or_else(|| panic!("no generic probes in {libs:?}"));
    let script =
        format!("BEGIN {{ printf(\"attached\\n\"); }} usdt:{lib}:svc:span__exit {{ @[str(arg0, arg1)] = count(); }}");
    let mut bt =
        Command::new("bpftrace").args(["-p", &pid.to_string(), "-e", &script]).stdout(Stdio::piped()).spawn().unwrap();
    let mut bt_out = BufReader::new(bt.stdout.take().unwrap());
    let mut line = String::new();
    while !line.contains("attached") {
        line.clear();
        assert!(bt_out.read_line(&mut line).unwrap() > 0, "bpftrace ended");
    }
    writeln!(stdin, "go").unwrap();
    let mut said = String::new();
    std::io::Read::read_to_string(&mut svc_out, &mut said).unwrap();
    svc.wait().unwrap();
    // SAFETY: kill(2) with a pid and a signal number touches no memory.
    unsafe { libc::kill(bt.id() as i32, libc::SIGINT) };
    let mut rest = String::new();
    std::io::Read::read_to_string(&mut bt_out, &mut rest).unwrap();
    bt.wait().unwrap();
    let total: u64 = sent(&said).iter().map(|s| s.1).sum();
    assert!(rest.contains(&format!("@[handle_request]: {total}")), "bpftrace printed:\n{rest}");
}

#[test]
fn latency_of_a_span_by_route_counts_what_the_service_served() {
    if !can_attach() {
        return;
    }
    let (mut svc, mut stdin, mut svc_out) = start();
    let pid = svc.id().to_string();
    let mut t = Command::new(sdtrace_bin())
        .args(["latency", "svc:handle_request", "--by", "args->route", "--syscalls", "--json", "-p", &pid])
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut err = BufReader::new(t.stderr.take().unwrap());
    let mut line = String::new();
    while !line.contains(": tracing ") {
        line.clear();
        assert!(err.read_line(&mut line).unwrap() > 0, "sdtrace ended before tracing");
    }
    writeln!(stdin, "go").unwrap();
    let mut said = String::new();
    std::io::Read::read_to_string(&mut svc_out, &mut said).unwrap();
    svc.wait().unwrap();
    let out = t.wait_with_output().unwrap();
    assert!(out.status.success());
    let r: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    let mut got: Vec<(String, u64)> = r["groups"]
        .as_array()
        .unwrap()
        .iter()
        .map(|g| {
            let n = g["count"].as_u64().unwrap();
            assert!(g["total_ns"].as_u64().unwrap() >= n * 1_000_000, "each request sleeps 1 ms: {g}");
            (g["by"].as_str().unwrap().to_string(), n)
        })
        .collect();
    got.sort();
    assert_eq!(got, sent(&said), "{r}");
    // The 1 ms sleep of each request is a syscall inside its span.
    let sleeps: u64 = r["syscalls"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|s| s["syscall"] == "clock_nanosleep" || s["syscall"] == "nanosleep")
        .map(|s| s["count"].as_u64().unwrap())
        .sum();
    assert!(sleeps >= got.iter().map(|g| g.1).sum::<u64>(), "{r}");
}
