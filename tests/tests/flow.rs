//! `sdtrace flow` on Debian's python3.11 running a program whose call tree
//! its source fixes: the text nests calls and syscalls as the source does
//! and is in time order across two threads; the Perfetto trace decodes
//! with Perfetto's own protos (the `perfetto` package from PyPI) with every
//! slice ended, slices nested on each thread's track, every `leaf` call
//! inside its caller and the syscalls of `opener` inside it; the Chrome
//! JSON has the same slices.

use std::path::PathBuf;
use std::process::Command;

use tests::{can_attach, scratch_file, sdtrace_bin, system_file, test_venv_python};

const PYTHON: &str = "/usr/bin/python3.11";

/// Two threads, each 20 × handle_request (10 × leaf, then opener, which
/// opens /etc/hostname once).
const APP: &str = r#"import threading

def leaf(i):
    return i * 2

def opener(path):
    with open(path) as f:
        return len(f.read(16))

def handle_request(k):
    s = 0
    for i in range(10):
        s += leaf(i)
    opener("/etc/hostname")
    return s

def worker():
    for k in range(20):
        handle_request(k)

threads = [threading.Thread(target=worker) for _ in range(2)]
for t in threads:
    t.start()
for t in threads:
    t.join()
"#;

fn scratch(name: &str) -> PathBuf {
    scratch_file("flow", name, APP)
}

fn flow(args: &[&str]) -> String {
    let out = Command::new(sdtrace_bin()).arg("flow").args(args).output().unwrap();
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    String::from_utf8_lossy(&out.stdout).into_owned()
}

#[test]
fn flow_nests_calls_and_syscalls_as_the_source_does_in_time_order() {
    if !can_attach() {
        return;
    }
    let Some(python) = system_file(PYTHON) else { return };
    let app = scratch("flow_app.py");
    let cmd = format!("{} {}", python.display(), app.display());
    let text = flow(&["--syscalls", "--file", "flow_app.py", "-c", &cmd]);
    let mut last = 0.0f64;
    // Per thread: the events' text without the time and tid columns.
    let mut threads: std::collections::BTreeMap<u32, Vec<String>> = Default::default();
    for l in text.lines().skip(1) {
        let mut w = l.split_whitespace();
        let t: f64 = w.next().unwrap().parse().unwrap();
        assert!(t >= last, "out of time order at {l}\n{text}");
        last = t;
        let tid: u32 = w.next().unwrap().parse().unwrap();
        // The columns: 12 for the time, a space, 7 for the tid, two spaces.
        threads.entry(tid).or_default().push(l[22..].to_string());
    }
    let workers: Vec<&Vec<String>> = threads.values().filter(|v| v.iter().any(|e| e.contains("-> worker"))).collect();
    assert_eq!(workers.len(), 2, "two worker threads:\n{text}");
    for events in workers {
        // What the source makes one request do, at its depth under worker
        // (the thread's first shown call): handle_request, ten leaf calls,
        // then opener and the openat it makes, read inside it.
        let calls: Vec<String> = events
            .iter()
            .filter(|e| !e.contains("=> ") && !e.contains("<= "))
            .map(|e| {
                let indent = e.len() - e.trim_start().len();
                let words: Vec<&str> = e.split_whitespace().collect();
                format!("{}{} {}", " ".repeat(indent), words[0], words[1])
            })
            .collect();
        let mut one = vec!["  -> handle_request".to_string()];
        for _ in 0..10 {
            one.push("    -> leaf".into());
            one.push("    <- leaf".into());
        }
        one.extend(["    -> opener".into(), "    <- opener".into(), "  <- handle_request".into()]);
        let mut want = vec!["-> worker".to_string()];
        for _ in 0..20 {
            want.extend(one.iter().cloned());
        }
        want.push("<- worker".into());
        assert_eq!(calls, want, "\n{text}");
        let opens: Vec<&String> = events.iter().filter(|e| e.contains("=> openat")).collect();
        assert_eq!(opens.len(), 20, "{events:#?}");
        assert!(opens.iter().all(|e| e.starts_with("      =>")), "openat inside opener: {opens:?}");
    }
}

/// Checks a Perfetto trace with Perfetto's protos; prints a JSON summary.
const CHECK: &str = r#"
import json, sys
from perfetto.protos.perfetto.trace.perfetto_trace_pb2 import Trace, TrackEvent
trace = Trace()
trace.ParseFromString(open(sys.argv[1], "rb").read())
names, stacks, slices = {}, {}, []
for p in trace.packet:
    if p.HasField("track_descriptor"):
        d = p.track_descriptor
        if d.HasField("thread"):
            names[d.uuid] = (d.thread.pid, d.thread.tid, d.thread.thread_name)
    if p.HasField("track_event"):
        e = p.track_event
        st = stacks.setdefault(e.track_uuid, [])
        if e.type == TrackEvent.TYPE_SLICE_BEGIN:
            parent = st[-1] if st else None
            s = {"name": e.name, "cat": list(e.categories), "ts": p.timestamp, "end": None,
                 "parent": parent["name"] if parent else None, "track": e.track_uuid}
            if parent and p.timestamp < parent["ts"]:
                sys.exit("slice %s begins before its parent %s" % (e.name, parent["name"]))
            st.append(s)
            slices.append(s)
        elif e.type == TrackEvent.TYPE_SLICE_END:
            if not st:
                sys.exit("an end with no slice open on track %d" % e.track_uuid)
            s = st.pop()
            s["end"] = p.timestamp
            if s["end"] < s["ts"]:
                sys.exit("slice %s ends before it begins" % s["name"])
unended = [s["name"] for s in slices if s["end"] is None]
if unended:
    sys.exit("slices never ended: %s" % unended[:5])
if any(s["track"] not in names for s in slices):
    sys.exit("a slice on a track with no thread descriptor")
count = lambda name, parent: sum(1 for s in slices if s["name"] == name and s["parent"] == parent)
print(json.dumps({
    "threads": len({names[s["track"]][1] for s in slices}),
    "leaf_in_handle_request": count("leaf", "handle_request"),
    "leaf": sum(1 for s in slices if s["name"] == "leaf"),
    "openat_in_opener": count("openat", "opener"),
    "opener_in_handle_request": count("opener", "handle_request"),
}))
"#;

#[test]
fn perfetto_trace_decodes_with_perfettos_protos_and_nests_as_the_source() {
    if !can_attach() {
        return;
    }
    let Some(python) = system_file(PYTHON) else { return };
    let Some(venv) = test_venv_python() else { return };
    let app = scratch("flow_pf.py");
    let pf = app.with_extension("pftrace");
    let chrome = app.with_extension("json");
    let cmd = format!("{} {}", python.display(), app.display());
    let out = Command::new(sdtrace_bin())
        .args(["flow", "-q", "--syscalls", "--sched", "--perfetto"])
        .arg(&pf)
        .arg("--chrome-json")
        .arg(&chrome)
        .args(["-c", &cmd])
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    assert!(out.stdout.is_empty(), "-q prints no events");
    let check = Command::new(venv).args(["-c", CHECK]).arg(&pf).output().unwrap();
    assert!(check.status.success(), "{}", String::from_utf8_lossy(&check.stderr));
    let summary: serde_json::Value = serde_json::from_slice(&check.stdout).unwrap();
    assert_eq!(summary["leaf"], 400, "{summary}");
    assert_eq!(summary["leaf_in_handle_request"], 400, "{summary}");
    assert_eq!(summary["opener_in_handle_request"], 40, "{summary}");
    assert_eq!(summary["openat_in_opener"], 40, "{summary}");
    assert!(summary["threads"].as_u64().unwrap() >= 3, "main and two workers: {summary}");
    // The Chrome file has the same calls, begins and ends balanced per thread.
    let doc: serde_json::Value = serde_json::from_str(&std::fs::read_to_string(&chrome).unwrap()).unwrap();
    let events = doc["traceEvents"].as_array().unwrap();
    let leafs = events.iter().filter(|e| e["ph"] == "B" && e["name"] == "leaf").count();
    assert_eq!(leafs, 400);
    let mut open: std::collections::HashMap<u64, i64> = Default::default();
    for e in events.iter().filter(|e| e["ph"] == "B" || e["ph"] == "E") {
        *open.entry(e["tid"].as_u64().unwrap()).or_default() += if e["ph"] == "B" { 1 } else { -1 };
    }
    assert!(open.values().all(|&n| n == 0), "{open:?}");
}

#[test]
fn flow_files_that_cannot_be_written_are_said_before_tracing() {
    let out = Command::new(sdtrace_bin())
        .args(["flow", "--runtime", "python", "--perfetto", "/nonexistent-dir/t.pftrace", "-c", "/bin/true"])
        .output()
        .unwrap();
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{err}");
    assert!(err.contains("/nonexistent-dir/t.pftrace"), "{err}");
}

#[test]
fn trace_perfetto_writes_each_event_as_an_instant_with_its_arguments() {
    if !can_attach() {
        return;
    }
    let Some(python) = system_file(PYTHON) else { return };
    let Some(venv) = test_venv_python() else { return };
    let dir = std::env::temp_dir().join(format!("sdtrace-trace-pf-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let app = dir.join("gc_events.py");
    std::fs::write(&app, "import gc\ngc.disable()\nfor gen in (0, 1, 2):\n    print('collected', gc.collect(gen))\n")
        .unwrap();
    let pf = dir.join("gc.pftrace");
    let out = Command::new(sdtrace_bin())
        .args(["trace", "python:gc__done", "--perfetto"])
        .arg(&pf)
        .arg("-c")
        .arg(format!("{} {}", python.display(), app.display()))
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let stdout = String::from_utf8_lossy(&out.stdout);
    let asked: Vec<String> = stdout.lines().filter_map(|l| l.strip_prefix("collected ")).map(str::to_string).collect();
    assert_eq!(asked.len(), 3, "{stdout}");
    let check = "import sys\n\
        from perfetto.protos.perfetto.trace.perfetto_trace_pb2 import Trace, TrackEvent\n\
        t = Trace()\nt.ParseFromString(open(sys.argv[1], 'rb').read())\n\
        for p in t.packet:\n    e = p.track_event\n\
        \x20   if p.HasField('track_event') and e.type == TrackEvent.TYPE_INSTANT and e.name == 'python:gc__done':\n\
        \x20       print(' '.join(str(a.int_value) for a in e.debug_annotations if a.name == 'collected'))\n";
    let decoded = Command::new(venv).args(["-c", check]).arg(&pf).output().unwrap();
    assert!(decoded.status.success(), "{}", String::from_utf8_lossy(&decoded.stderr));
    let seen: Vec<String> = String::from_utf8_lossy(&decoded.stdout).lines().map(str::to_string).collect();
    // Interpreter start and exit collect too; the program's three are in a row.
    assert!(seen.windows(3).any(|w| w == asked.as_slice()), "asked {asked:?}, the trace has {seen:?}");
}
