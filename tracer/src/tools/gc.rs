//! `sdtrace gc`: each garbage collection of a Python or Ruby program as it
//! happens, with its duration — CPython's generation and the objects it
//! found unreachable (`gc__start`/`gc__done`), Ruby's mark and sweep
//! phases (`gc__mark__begin`/`end`, `gc__sweep__begin`/`end`; Ruby sweeps
//! lazily, so one collection may sweep in several steps), the JVM's young
//! and full collections (`hotspot:gc__begin`/`gc__end`) — and a summary
//! per generation or phase at the end.

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::io::Write;

use super::{run_program, ByPath, OutputLines, Printed, Runtime, Target};
use crate::d::run::DError;

/// The D program of `gc`: one tab-separated record per collection or
/// phase: kind, time, pid, tid, program, then the duration (ns) and, for
/// Python, the generation and the objects collected.
pub fn program(rt: Runtime, by_path: &ByPath) -> Result<String, String> {
    let who = "timestamp, pid, tid, execname";
    let mut d = String::new();
    let _ = writeln!(d, "#!/usr/bin/env -S sdtrace -s");
    let _ = writeln!(
        d,
        "/*\n * sdtrace gc: {} garbage collections as they happen, one tab-separated record each",
        rt.name()
    );
    let _ =
        writeln!(d, " * (time, pid, tid, program, then what the collection did). Run with -c COMMAND or -p PID.\n */");
    let _ = writeln!(d, "#pragma D option quiet\n#pragma D option switchrate=10ms\n");
    match rt {
        Runtime::Python => {
            let _ = writeln!(d, "python:::gc-start\n{{\n\tself->gc = timestamp;\n\tself->gen = arg0;\n}}\n");
            let _ = writeln!(
                d,
                "python:::gc-done\n/self->gc/\n{{\n\tprintf(\"G\\t%d\\t%d\\t%d\\t%s\\t%d\\t%d\\t%d\\n\", {who}, \
                 timestamp - self->gc, self->gen, arg0);\n\tself->gc = 0;\n}}"
            );
        }
        Runtime::Ruby => {
            for (phase, tag) in [("mark", "M"), ("sweep", "S")] {
                let _ = writeln!(d, "ruby:::gc-{phase}-begin\n{{\n\tself->{phase} = timestamp;\n}}\n");
                let _ = writeln!(
                    d,
                    "ruby:::gc-{phase}-end\n/self->{phase}/\n{{\n\tprintf(\"{tag}\\t%d\\t%d\\t%d\\t%s\\t%d\\n\", {who}, \
                     timestamp - self->{phase});\n\tself->{phase} = 0;\n}}\n"
                );
            }
        }
        Runtime::Java => {
            // HotSpot's, in the thread that runs the collection (the VM
            // thread), `arg0` whether it is a full collection.
            let _ = writeln!(
                d,
                "{}\n{}{{\n\tself->gc = timestamp;\n\tself->full = arg0;\n}}\n",
                by_path.desc("hotspot", "gc-begin"),
                by_path.pred("")
            );
            let _ = writeln!(
                d,
                "{}\n/self->gc/\n{{\n\tprintf(\"J\\t%d\\t%d\\t%d\\t%s\\t%d\\t%d\\n\", {who}, timestamp - self->gc, \
                 self->full);\n\tself->gc = 0;\n}}",
                by_path.desc("hotspot", "gc-end")
            );
        }
    }
    Ok(d)
}

/// One collection (or phase) of a record line.
#[derive(Debug, Clone, PartialEq, Eq)]
struct Collection {
    ts: u64,
    pid: u32,
    tid: u32,
    comm: String,
    /// `gen N` (Python), `mark` or `sweep` (Ruby).
    what: String,
    ns: u64,
    /// Objects found unreachable (Python).
    collected: Option<i64>,
}

fn parse(line: &str) -> Option<Collection> {
    let f: Vec<&str> = line.split('\t').collect();
    let (ts, pid, tid, comm, ns) = (
        f.get(1)?.parse().ok()?,
        f.get(2)?.parse().ok()?,
        f.get(3)?.parse().ok()?,
        f.get(4)?.to_string(),
        f.get(5)?.parse().ok()?,
    );
    let (what, collected) = match (*f.first()?, f.len()) {
        ("G", 8) => (format!("gen {}", f[6]), Some(f[7].parse().ok()?)),
        ("M", 6) => ("mark".to_string(), None),
        ("S", 6) => ("sweep".to_string(), None),
        ("J", 7) => (if f[6] == "0" { "young" } else { "full" }.to_string(), None),
        _ => return None,
    };
    Some(Collection { ts, pid, tid, comm, what, ns, collected })
}

/// Totals of one generation or phase.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
struct Totals {
    count: u64,
    ns: u64,
    max: u64,
    collected: i64,
}

/// How a `gc` run is started and printed.
#[derive(Debug, Clone)]
pub struct GcRun {
    /// The runtime.
    pub runtime: Runtime,
    /// What to trace.
    pub target: Target,
    /// `--json`: one object per collection, and one of totals at the end.
    pub json: bool,
    /// Where the runtime's probes are attached (the JVM's: on libjvm.so).
    pub by_path: ByPath,
}

/// Run `gc`: a line per collection as it happens, totals at the end.
pub fn run(cfg: &GcRun, out: &mut dyn Write) -> Result<(), DError> {
    let mut totals: BTreeMap<String, Totals> = BTreeMap::new();
    let mut first = None;
    let json = cfg.json;
    if !json {
        writeln!(out, "{:>12} {:>7}  {:<10} {:>14} {:>10}", "TIME(ms)", "PID", "GC", "DURATION(us)", "COLLECTED")?;
    }
    {
        let mut lines = OutputLines::new(|p: Printed| {
            let Printed::Line(l) = p else { return Ok(()) };
            let Some(c) = parse(l) else { return Ok(()) };
            let t = totals.entry(c.what.clone()).or_default();
            t.count += 1;
            t.ns += c.ns;
            t.max = t.max.max(c.ns);
            t.collected += c.collected.unwrap_or(0);
            if json {
                let mut o = serde_json::json!({"time_ns": c.ts, "pid": c.pid, "tid": c.tid, "comm": c.comm, "gc": c.what, "ns": c.ns});
                if let Some(n) = c.collected {
                    o["collected"] = n.into();
                }
                return writeln!(out, "{o}");
            }
            let first = *first.get_or_insert(c.ts);
            let collected = c.collected.map(|n| n.to_string()).unwrap_or_default();
            writeln!(
                out,
                "{:>12.3} {:>7}  {:<10} {:>14.1} {:>10}",
                (c.ts - first) as f64 / 1e6,
                c.pid,
                c.what,
                c.ns as f64 / 1000.0,
                collected
            )?;
            out.flush()
        });
        run_program("gc", program(cfg.runtime, &cfg.by_path).map_err(DError::Usage)?, &cfg.target, &mut lines)?;
    }
    if totals.is_empty() {
        eprintln!("sdtrace: gc: no {} garbage collection was traced", cfg.runtime.name());
    }
    if json {
        let all: serde_json::Map<String, serde_json::Value> = totals
            .iter()
            .map(|(k, t)| {
                (
                    k.clone(),
                    serde_json::json!({"count": t.count, "ns": t.ns, "max_ns": t.max, "collected": t.collected}),
                )
            })
            .collect();
        writeln!(out, "{}", serde_json::json!({ "totals": all }))?;
        return Ok(());
    }
    writeln!(out)?;
    for (what, t) in &totals {
        let unit = if cfg.runtime == Runtime::Ruby { "phases" } else { "collections" };
        let mut line = format!(
            "{what}: {} {unit}, {:.1}us in all, {:.1}us at most",
            t.count,
            t.ns as f64 / 1000.0,
            t.max as f64 / 1000.0
        );
        if cfg.runtime == Runtime::Python {
            let _ = write!(line, ", {} objects collected", t.collected);
        }
        writeln!(out, "{line}")?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn records_parse_by_runtime() {
        let c = parse("G\t10\t1\t2\tpython3\t500\t2\t40").unwrap();
        assert_eq!((c.what.as_str(), c.ns, c.collected), ("gen 2", 500, Some(40)));
        let c = parse("J\t10\t1\t2\tVM Thread\t900\t1").unwrap();
        assert_eq!((c.what.as_str(), c.ns), ("full", 900));
        let c = parse("S\t10\t1\t2\truby\t700").unwrap();
        assert_eq!((c.what.as_str(), c.collected), ("sweep", None));
        assert_eq!(parse("G\t10\t1\t2\tpython3\t500"), None);
    }
}
