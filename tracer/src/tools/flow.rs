//! `sdtrace flow`: each Python or Ruby call's entry and return, indented by
//! depth per thread, with the call's duration at its return; with
//! `--syscalls` the syscalls made inside calls, with `--sched` the time
//! each thread spent off CPU inside them. Events are put in timestamp
//! order across threads and CPUs before they are shown (a window of
//! [`REORDER_NS`]), and can be written as a Perfetto trace or Chrome JSON
//! timeline ([`super::timeline`]).

use std::collections::{BinaryHeap, HashMap};
use std::fmt::Write as _;
use std::io::Write;
use std::path::PathBuf;

use super::timeline::{Arg, Timeline};
use super::{glob_condition, run_program, OutputLines, Printed, Runtime, Target};
use crate::d::run::DError;

/// How far event timestamps may come out of order (records of two CPUs
/// reach the ring buffer in the order they were reserved, not stamped):
/// an event is shown once one this much later has been seen.
pub const REORDER_NS: u64 = 20_000_000;

/// Most events a timeline file keeps.
pub const TIMELINE_LIMIT: usize = 5_000_000;

/// What `flow` shows.
#[derive(Debug, Clone, Default)]
pub struct FlowOptions {
    /// `--syscalls`: syscalls made inside calls.
    pub syscalls: bool,
    /// `--sched`: time off CPU inside calls.
    pub sched: bool,
    /// `--filter GLOB`: calls of matching functions only.
    pub filter: Option<String>,
    /// `--file GLOB`: calls of functions of matching files only.
    pub file: Option<String>,
    /// Where the runtime's probes are attached (the JVM's: on libjvm.so).
    pub by_path: super::ByPath,
}

/// The D program of `flow`: one tab-separated printf record per event
/// (`E`ntry, `R`eturn, `S`yscall, `X` syscall return, `O`ff CPU, o`N` CPU),
/// with the timestamp, pid, tid and comm first.
pub fn program(rt: Runtime, o: &FlowOptions) -> Result<String, String> {
    let p = rt.provider();
    let (probe, func, file, line) = match rt {
        Runtime::Python => ("function", "copyinstr(arg1)", "basename(copyinstr(arg0))", "arg2"),
        Runtime::Ruby => {
            ("method", "strjoin(strjoin(copyinstr(arg0), \"#\"), copyinstr(arg1))", "basename(copyinstr(arg2))", "arg3")
        }
        Runtime::Java => ("method", "copyinstr(arg3, arg4)", "copyinstr(arg1, arg2)", "0"),
    };
    let mut conds = Vec::new();
    if let Some(g) = &o.filter {
        conds.push(glob_condition("this->func", g)?);
    }
    if let Some(g) = &o.file {
        conds.push(glob_condition("this->file", g).map_err(|e| e.replace("--filter", "--file"))?);
    }
    let keep = if conds.is_empty() { "1".to_string() } else { conds.join(" && ") };
    let head = "\"%s\\t%d\\t%d\\t%d\\t%s";
    let who = "timestamp, pid, tid, execname";
    let mut d = String::new();
    let _ = writeln!(d, "#!/usr/bin/env -S sdtrace -s");
    let _ = writeln!(d, "/*\n * sdtrace flow: {} calls as they happen, one tab-separated record per event", rt.name());
    let _ = writeln!(d, " * (E entry, R return, S syscall, X its return, O off CPU, N back on CPU), each with");
    let _ =
        writeln!(d, " * the time, pid, tid and program first. Run with `sdtrace -s FILE -c COMMAND` or `-p PID`.\n */");
    let _ = writeln!(d, "#pragma D option quiet\n#pragma D option switchrate=10ms\n#pragma D option bufsize=16m\n");
    let _ = writeln!(d, "self int depth;\n");
    for (suffix, tag) in [("entry", "E"), ("return", "R")] {
        // The depth counts the calls shown, whose syscalls are shown.
        let step =
            if suffix == "entry" { "\t\tself->depth++;\n" } else { "\t\tself->depth -= self->depth > 0 ? 1 : 0;\n" };
        let _ = writeln!(d, "{}\n{}{{", o.by_path.desc(p, &format!("{probe}-{suffix}")), o.by_path.pred(""));
        let _ = writeln!(d, "\tthis->func = {func};\n\tthis->file = {file};");
        let _ = writeln!(
            d,
            "\tif ({keep}) {{\n{step}\t\tprintf({head}\\t%s\\t%s\\t%d\\n\", \"{tag}\", {who}, this->func, this->file, {line});\n\t}}"
        );
        let _ = writeln!(d, "}}\n");
    }
    if o.syscalls {
        let _ = writeln!(
            d,
            "syscall:::entry\n/self->depth > 0/\n{{\n\tprintf({head}\\t%s\\n\", \"S\", {who}, probefunc);\n}}\n"
        );
        let _ = writeln!(
            d,
            "syscall:::return\n/self->depth > 0/\n{{\n\tprintf({head}\\t%s\\t%d\\n\", \"X\", {who}, probefunc, (long)arg0);\n}}\n"
        );
    }
    if o.sched {
        let _ = writeln!(
            d,
            "sched:::off-cpu\n/self->depth > 0/\n{{\n\tself->off = 1;\n\tprintf({head}\\n\", \"O\", {who});\n}}\n"
        );
        let _ =
            writeln!(d, "sched:::on-cpu\n/self->off/\n{{\n\tself->off = 0;\n\tprintf({head}\\n\", \"N\", {who});\n}}");
    }
    Ok(d)
}

/// One event of the D program's records.
#[derive(Debug, Clone, PartialEq, Eq)]
struct Event {
    ts: u64,
    pid: u32,
    tid: u32,
    comm: String,
    what: What,
}

#[derive(Debug, Clone, PartialEq, Eq)]
enum What {
    Entry { func: String, file: String, line: i64 },
    Return { func: String, file: String, line: i64 },
    Syscall(String),
    SyscallReturn(String, i64),
    OffCpu,
    OnCpu,
}

impl Ord for Event {
    // The heap gives the earliest first.
    fn cmp(&self, other: &Self) -> std::cmp::Ordering {
        other.ts.cmp(&self.ts)
    }
}

impl PartialOrd for Event {
    fn partial_cmp(&self, other: &Self) -> Option<std::cmp::Ordering> {
        Some(self.cmp(other))
    }
}

/// `file:line`, or the file alone when the runtime gives no line (the
/// JVM's probes).
fn place(file: &str, line: i64) -> String {
    if line > 0 {
        format!("{file}:{line}")
    } else {
        file.to_string()
    }
}

/// An event of one record line, or `None` for a line of another shape.
fn parse(line: &str) -> Option<Event> {
    let f: Vec<&str> = line.split('\t').collect();
    let (ts, pid, tid) = (f.get(1)?.parse().ok()?, f.get(2)?.parse().ok()?, f.get(3)?.parse().ok()?);
    let comm = f.get(4)?.to_string();
    let what = match (*f.first()?, f.len()) {
        ("E", 8) | ("R", 8) => {
            let (func, file, line) = (f[5].to_string(), f[6].to_string(), f[7].parse().ok()?);
            if f[0] == "E" {
                What::Entry { func, file, line }
            } else {
                What::Return { func, file, line }
            }
        }
        ("S", 6) => What::Syscall(f[5].to_string()),
        ("X", 7) => What::SyscallReturn(f[5].to_string(), f[6].parse().ok()?),
        ("O", 5) => What::OffCpu,
        ("N", 5) => What::OnCpu,
        _ => return None,
    };
    Some(Event { ts, pid, tid, comm, what })
}

/// Where the events go: text lines or NDJSON as they are ordered, and a
/// timeline for the files.
struct Flow<'o> {
    out: &'o mut dyn Write,
    json: bool,
    pending: BinaryHeap<Event>,
    latest: u64,
    first: Option<u64>,
    /// Per thread: the entry times of the calls it is in, and when it left
    /// the CPU.
    threads: HashMap<u32, (Vec<u64>, Option<u64>)>,
    timeline: Option<Timeline>,
    shown: u64,
}

impl Flow<'_> {
    /// One line of the program's records: held until it is its turn.
    fn record_line(&mut self, line: &str) -> std::io::Result<()> {
        if let Some(e) = parse(line) {
            self.latest = self.latest.max(e.ts);
            self.pending.push(e);
        }
        while self.pending.peek().is_some_and(|e| e.ts + REORDER_NS <= self.latest) {
            let e = self.pending.pop().expect("peeked");
            self.show(e)?;
        }
        Ok(())
    }

    fn flush_all(&mut self) -> std::io::Result<()> {
        while let Some(e) = self.pending.pop() {
            self.show(e)?;
        }
        Ok(())
    }

    fn show(&mut self, e: Event) -> std::io::Result<()> {
        let first = *self.first.get_or_insert(e.ts);
        let (stack, off) = self.threads.entry(e.tid).or_default();
        let who = (e.pid, e.tid, e.comm.as_str());
        let mut elapsed = None;
        let depth;
        match &e.what {
            What::Entry { func, file, line } => {
                depth = stack.len();
                stack.push(e.ts);
                if let Some(t) = self.timeline.as_mut() {
                    let args = vec![("file".into(), Arg::Str(file.clone())), ("line".into(), Arg::Int(*line))];
                    t.begin(e.ts, who, func.clone(), "call", args);
                }
            }
            What::Return { .. } => {
                // A return from a call entered before tracing is not shown.
                let Some(start) = stack.pop() else { return Ok(()) };
                depth = stack.len();
                elapsed = Some(e.ts - start);
                if let Some(t) = self.timeline.as_mut() {
                    t.end(e.ts, e.tid, "call", Vec::new());
                }
            }
            What::Syscall(name) => {
                depth = stack.len();
                if let Some(t) = self.timeline.as_mut() {
                    t.begin(e.ts, who, name.clone(), "syscall", Vec::new());
                }
            }
            What::SyscallReturn(_, ret) => {
                depth = stack.len();
                if let Some(t) = self.timeline.as_mut() {
                    t.end(e.ts, e.tid, "syscall", vec![("ret".into(), Arg::Int(*ret))]);
                }
            }
            What::OffCpu => {
                depth = stack.len();
                *off = Some(e.ts);
                if let Some(t) = self.timeline.as_mut() {
                    t.begin(e.ts, who, "off-cpu".into(), "sched", Vec::new());
                }
            }
            What::OnCpu => {
                depth = stack.len();
                elapsed = off.take().map(|o| e.ts - o);
                if let Some(t) = self.timeline.as_mut() {
                    t.end(e.ts, e.tid, "sched", Vec::new());
                }
            }
        }
        self.shown += 1;
        if self.json {
            return self.json_line(&e, depth, elapsed);
        }
        let us = |ns: u64| format!("{:.1}us", ns as f64 / 1000.0);
        let pad = "  ".repeat(depth);
        let text = match &e.what {
            What::Entry { func, file, line } => format!("{pad}-> {func} ({})", place(file, *line)),
            What::Return { func, file, line } => {
                format!("{pad}<- {func} ({}) {}", place(file, *line), elapsed.map(us).unwrap_or_default())
            }
            What::Syscall(s) => format!("{pad}=> {s}"),
            What::SyscallReturn(s, r) => format!("{pad}<= {s} = {r}"),
            What::OffCpu => format!("{pad}~~ off cpu"),
            What::OnCpu => format!("{pad}~~ on cpu after {}", elapsed.map(us).unwrap_or_default()),
        };
        writeln!(self.out, "{:>12.3} {:>7}  {text}", (e.ts - first) as f64 / 1e6, e.tid)
    }

    fn json_line(&mut self, e: &Event, depth: usize, elapsed: Option<u64>) -> std::io::Result<()> {
        use serde_json::json;
        let mut o = json!({ "time_ns": e.ts, "pid": e.pid, "tid": e.tid, "comm": e.comm, "depth": depth });
        match &e.what {
            What::Entry { func, file, line } | What::Return { func, file, line } => {
                let entry = matches!(e.what, What::Entry { .. });
                o["event"] = json!(if entry { "entry" } else { "return" });
                o["function"] = json!(func);
                o["file"] = json!(file);
                o["line"] = json!(line);
            }
            What::Syscall(s) => {
                o["event"] = json!("syscall-entry");
                o["syscall"] = json!(s);
            }
            What::SyscallReturn(s, r) => {
                o["event"] = json!("syscall-return");
                o["syscall"] = json!(s);
                o["ret"] = json!(r);
            }
            What::OffCpu => o["event"] = json!("off-cpu"),
            What::OnCpu => o["event"] = json!("on-cpu"),
        }
        if let Some(ns) = elapsed {
            o["elapsed_ns"] = json!(ns);
        }
        writeln!(self.out, "{o}")
    }
}

/// How a `flow` run is started and where it writes.
#[derive(Debug, Clone)]
pub struct FlowRun {
    /// The runtime.
    pub runtime: Runtime,
    /// What to show.
    pub options: FlowOptions,
    /// What to trace.
    pub target: Target,
    /// `--json`: NDJSON events.
    pub json: bool,
    /// `--perfetto FILE`.
    pub perfetto: Option<PathBuf>,
    /// `--chrome-json FILE`.
    pub chrome_json: Option<PathBuf>,
    /// `-q`: no text events (only the files).
    pub quiet: bool,
}

/// Run `flow`: events to `out` as they are ordered, files at the end.
pub fn run(cfg: &FlowRun, out: &mut dyn Write) -> Result<(), DError> {
    let text = program(cfg.runtime, &cfg.options).map_err(DError::Usage)?;
    // The files are made first, so a path that cannot be written is said
    // before anything is traced.
    let create = |p: &Option<PathBuf>| -> Result<Option<(PathBuf, std::fs::File)>, DError> {
        p.as_ref()
            .map(|p| {
                std::fs::File::create(p)
                    .map(|f| (p.clone(), f))
                    .map_err(|e| DError::Usage(format!("{}: {e}", p.display())))
            })
            .transpose()
    };
    let perfetto = create(&cfg.perfetto)?;
    let chrome = create(&cfg.chrome_json)?;
    let mut sink = std::io::sink();
    let shown: &mut dyn Write = if cfg.quiet { &mut sink } else { out };
    let mut flow = Flow {
        out: shown,
        json: cfg.json,
        pending: BinaryHeap::new(),
        latest: 0,
        first: None,
        threads: HashMap::new(),
        timeline: (perfetto.is_some() || chrome.is_some()).then(|| Timeline::new(TIMELINE_LIMIT)),
        shown: 0,
    };
    if !cfg.json && !cfg.quiet {
        writeln!(flow.out, "{:>12} {:>7}  EVENT", "TIME(ms)", "TID")?;
    }
    let mut lines = OutputLines::new(|p: Printed| match p {
        Printed::Line(l) => flow.record_line(l),
        Printed::Object(..) => Ok(()),
    });
    run_program("flow", text, &cfg.target, &mut lines)?;
    drop(lines);
    flow.flush_all()?;
    flow.out.flush()?;
    if flow.shown == 0 {
        eprintln!("sdtrace: flow: no {} call was traced", cfg.runtime.name());
    }
    if let Some(mut t) = flow.timeline.take() {
        t.finish();
        if t.dropped > 0 {
            eprintln!("sdtrace: flow: the timeline keeps {TIMELINE_LIMIT} events: {} later ones left out", t.dropped);
        }
        for (file, bytes, what) in [(perfetto, None, "Perfetto trace"), (chrome, Some(()), "Chrome trace (JSON)")]
            .into_iter()
            .filter_map(|(f, json, what)| f.map(|f| (f, json, what)))
        {
            let (path, mut f) = file;
            let data = if bytes.is_some() {
                t.to_chrome_json().into_bytes()
            } else {
                t.to_perfetto().map_err(DError::Usage)?
            };
            f.write_all(&data).map_err(DError::Output)?;
            eprintln!(
                "sdtrace: wrote {} ({what}, {} slices): open it at https://ui.perfetto.dev",
                path.display(),
                t.slices()
            );
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn records_parse_by_kind_and_other_lines_do_not() {
        assert_eq!(
            parse("E\t10\t1\t2\tpython3\tfib\tapp.py\t4"),
            Some(Event {
                ts: 10,
                pid: 1,
                tid: 2,
                comm: "python3".into(),
                what: What::Entry { func: "fib".into(), file: "app.py".into(), line: 4 }
            })
        );
        assert_eq!(parse("X\t11\t1\t2\tpython3\tread\t-11").unwrap().what, What::SyscallReturn("read".into(), -11));
        assert_eq!(parse("N\t12\t1\t2\tpython3").unwrap().what, What::OnCpu);
        assert_eq!(parse("E\t10\t1\t2\tpython3\tfib"), None);
        assert_eq!(parse("hello"), None);
    }

    #[test]
    fn events_are_shown_in_time_order_across_threads() {
        let mut buf = Vec::new();
        {
            let mut f = Flow {
                out: &mut buf,
                json: true,
                pending: BinaryHeap::new(),
                latest: 0,
                first: None,
                threads: HashMap::new(),
                timeline: None,
                shown: 0,
            };
            let rec = |ts: u64, tid: u32| format!("E\t{ts}\t1\t{tid}\tp\tf\ta.py\t1");
            // Thread 3's event was stamped first but arrived second.
            f.record_line(&rec(200, 2)).unwrap();
            f.record_line(&rec(100, 3)).unwrap();
            f.flush_all().unwrap();
        }
        let text = String::from_utf8(buf).unwrap();
        let times: Vec<u64> = text
            .lines()
            .map(|l| serde_json::from_str::<serde_json::Value>(l).unwrap()["time_ns"].as_u64().unwrap())
            .collect();
        assert_eq!(times, [100, 200]);
    }
}
