//! `sdtrace stat`: a refreshing view of what each Python and Ruby process
//! does per second, in ustat's columns: calls, garbage collections,
//! objects allocated, files loaded (imports, requires) and exceptions
//! raised — counted in the kernel, printed every interval. Without `-p`
//! or `-c` every process with the runtimes' probes is watched, those
//! started later included.

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::io::Write;

use super::{entry_keys, entry_value, run_program, OutputLines, Printed, Runtime, Target};
use crate::d::run::DError;

/// The columns, each the aggregation that counts it, and the probes of
/// each runtime that feed it.
const COLUMNS: [(&str, &str, &[&str], &[&str]); 5] = [
    ("CALLS/s", "calls", &["function-entry"], &["method-entry"]),
    ("GC/s", "gc", &["gc-start"], &["gc-mark-begin"]),
    ("OBJNEW/s", "objnew", &[], &["object-create"]),
    ("LOADS/s", "loads", &["import-find-load-start"], &["require-entry", "load-entry"]),
    ("RAISES/s", "raises", &[], &["raise"]),
];

/// The D program of `stat` for `runtimes`, printing every `interval`
/// seconds, `count` times (for ever without).
pub fn program(runtimes: &[Runtime], interval: u32, count: Option<u32>) -> String {
    let mut d = String::new();
    let _ = writeln!(d, "#!/usr/bin/env -S sdtrace -s");
    let _ = writeln!(d, "/*\n * sdtrace stat: per process, how many calls, collections, allocations, loads and");
    let _ = writeln!(d, " * raises each runtime's probes saw, printed and cleared every {interval} s.");
    let _ = writeln!(d, " * Run with -Z (a runtime may be absent), and -p PID or -c COMMAND or neither.\n */");
    let _ = writeln!(d, "#pragma D option quiet\n");
    for (_, agg, python, ruby) in COLUMNS {
        for rt in runtimes {
            let probes = if *rt == Runtime::Python { python } else { ruby };
            for probe in probes.iter() {
                let _ = writeln!(
                    d,
                    "{}:::{probe}\n{{\n\t@{agg}[pid, execname, \"{}\"] = count();\n}}\n",
                    rt.provider(),
                    rt.provider()
                );
            }
        }
    }
    let used: Vec<&str> = COLUMNS
        .iter()
        .filter(|(_, _, p, r)| runtimes.iter().any(|rt| !(if *rt == Runtime::Python { p } else { r }).is_empty()))
        .map(|c| c.1)
        .collect();
    let _ = writeln!(d, "tick-{interval}s\n{{");
    for a in &used {
        let _ = writeln!(d, "\tprinta(@{a});");
    }
    for a in &used {
        let _ = writeln!(d, "\tclear(@{a});");
    }
    let _ = writeln!(d, "\tprintf(\"interval\\n\");");
    let _ = writeln!(d, "}}");
    if let Some(n) = count {
        let _ = writeln!(d, "\ntick-{interval}s\n/++ticks >= {n}/\n{{\n\texit(0);\n}}");
    }
    d
}

/// One process's counts in an interval: (pid, program, runtime) → per
/// column.
type Rows = BTreeMap<(u32, String, String), [i64; COLUMNS.len()]>;

fn render(rows: &Rows, interval: u32, n: u32, partial: bool, out: &mut dyn Write) -> std::io::Result<()> {
    let now = crate::process::local_utc_offset();
    let secs =
        std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map_or(0, |d| d.as_secs() as i64) + now;
    let (h, m, s) = ((secs / 3600) % 24, (secs / 60) % 60, secs % 60);
    let cut = if partial { ", cut short: rates as if it were whole" } else { "" };
    writeln!(out, "\n{h:02}:{m:02}:{s:02}  interval {n} ({interval} s{cut})")?;
    let mut line = format!("{:>7}  {:<16} {:<7}", "PID", "CMD", "RUNTIME");
    for (title, ..) in COLUMNS {
        let _ = write!(line, " {title:>9}");
    }
    writeln!(out, "{line}")?;
    let mut sorted: Vec<_> = rows.iter().collect();
    sorted.sort_by(|a, b| b.1[0].cmp(&a.1[0]).then_with(|| a.0.cmp(b.0)));
    for ((pid, comm, rt), counts) in sorted {
        let mut line = format!("{pid:>7}  {comm:<16} {rt:<7}");
        for c in counts {
            let _ = write!(line, " {:>9}", c / i64::from(interval));
        }
        writeln!(out, "{line}")?;
    }
    out.flush()
}

/// How a `stat` run is started and printed.
#[derive(Debug, Clone)]
pub struct StatRun {
    /// The runtimes watched.
    pub runtimes: Vec<Runtime>,
    /// What to trace (no pid and no command: every process).
    pub target: Target,
    /// `-i SECONDS`.
    pub interval: u32,
    /// `COUNT`: intervals to print.
    pub count: Option<u32>,
    /// `--json`: one object per interval.
    pub json: bool,
}

/// Run `stat`: a table per interval.
pub fn run(cfg: &StatRun, out: &mut dyn Write) -> Result<(), DError> {
    let mut rows = Rows::new();
    let mut n = 0;
    let how = (cfg.interval, cfg.json);
    {
        let mut lines = OutputLines::new(|p: Printed| match p {
            Printed::Object(a, _) => {
                let Some(col) = COLUMNS.iter().position(|c| a["aggregation"] == format!("@{}", c.1)) else {
                    return Ok(());
                };
                for e in a["entries"].as_array().into_iter().flatten() {
                    let k = entry_keys(e);
                    let (Some(pid), Some(comm), Some(rt)) =
                        (k.first().and_then(|p| p.parse().ok()), k.get(1), k.get(2))
                    else {
                        continue;
                    };
                    rows.entry((pid, comm.clone(), rt.clone())).or_default()[col] += entry_value(e);
                }
                Ok(())
            }
            Printed::Line("interval") => interval_done(&mut rows, &mut n, how, false, out),
            Printed::Line(_) => Ok(()),
        });
        run_program("stat", program(&cfg.runtimes, cfg.interval, cfg.count), &cfg.target, &mut lines)?;
    }
    // What the last, unfinished interval counted (the aggregations the
    // engine prints at exit).
    if !rows.is_empty() {
        interval_done(&mut rows, &mut n, how, true, out)?;
    }
    Ok(())
}

/// Print one interval's table (or JSON object: counts, not rates) and
/// start the next. `how` is the interval's seconds and whether to print
/// JSON; `partial` marks the last interval, cut short.
fn interval_done(
    rows: &mut Rows,
    n: &mut u32,
    how: (u32, bool),
    partial: bool,
    out: &mut dyn Write,
) -> std::io::Result<()> {
    *n += 1;
    let (interval, json) = how;
    if json {
        let procs: Vec<serde_json::Value> = rows
            .iter()
            .map(|((pid, comm, rt), c)| {
                let mut o = serde_json::json!({"pid": pid, "comm": comm, "runtime": rt});
                for (i, (_, agg, ..)) in COLUMNS.iter().enumerate() {
                    o[*agg] = c[i].into();
                }
                o
            })
            .collect();
        let o = serde_json::json!({"interval": *n, "seconds": interval, "partial": partial, "processes": procs});
        writeln!(out, "{o}")?;
        out.flush()?;
    } else {
        render(rows, interval, *n, partial, out)?;
    }
    rows.clear();
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_program_counts_each_runtimes_probes_and_prints_every_interval() {
        let d = program(&[Runtime::Python], 2, Some(3));
        assert!(d.contains("python:::function-entry\n{\n\t@calls[pid, execname, \"python\"] = count();"), "{d}");
        assert!(!d.contains("ruby:::"), "{d}");
        // Python has no allocation or raise probe: those columns are not printed.
        assert!(!d.contains("printa(@objnew)") && d.contains("printa(@gc)"), "{d}");
        assert!(d.contains("tick-2s\n/++ticks >= 3/"), "{d}");
        let both = program(&[Runtime::Python, Runtime::Ruby], 1, None);
        assert!(both.contains("ruby:::object-create") && both.contains("printa(@objnew)"), "{both}");
    }
}
