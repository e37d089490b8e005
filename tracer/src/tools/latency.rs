//! `sdtrace latency START DONE`: the time from one probe to another,
//! matched by thread (or by an argument both carry), as a histogram with
//! the count, average and maximum; by thread, with the syscalls made and
//! the time spent off CPU between them. `--by EXPR` splits the figures by
//! a value taken at START (a query's text, a route). `--children` follows
//! the traced processes' descendants (a server's workers, PostgreSQL's
//! backends), which it does by itself for the `postgresql` provider.

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::io::Write;
use std::path::Path;

use serde_json::Value as J;

use super::{agg_entries, entry_buckets, entry_keys, entry_value, run_collect, Target};
use crate::d::run::DError;

/// What `latency` measures and shows.
#[derive(Debug, Clone, Default)]
pub struct LatencyOptions {
    /// The probe that starts an interval: `PROVIDER:NAME` or a D
    /// description.
    pub start: String,
    /// The probe that ends it.
    pub done: String,
    /// `--key EXPR`: what matches a START to its DONE (a D expression of
    /// both probes' arguments, `arg0`); by thread without it.
    pub key: Option<String>,
    /// `--by EXPR`: split by this value, taken at START.
    pub by: Option<String>,
    /// `--syscalls`: the syscalls made between START and DONE.
    pub syscalls: bool,
    /// `--sched`: the time off CPU between them.
    pub sched: bool,
    /// The object with the probes, named in the descriptions, and the
    /// condition that the process is one of those traced or a descendant:
    /// set with `--children`.
    pub children: Option<(std::path::PathBuf, String)>,
}

/// `PROVIDER:NAME` as a D description (a description of three or four
/// fields is taken as it is), in `module` when given.
fn description(probe: &str, module: Option<&Path>) -> Result<String, String> {
    let fields: Vec<&str> = probe.split(':').collect();
    let (provider, name) = match fields.as_slice() {
        [provider, name] if !provider.is_empty() && !name.is_empty() => (*provider, *name),
        [_, _, _] | [_, _, _, _] if module.is_none() => return Ok(probe.to_string()),
        _ => {
            return Err(format!(
                "`{probe}`: name a probe as PROVIDER:NAME (`postgresql:query-start`) or as a D description \
                 (PROVIDER:MODULE:FUNCTION:NAME)"
            ))
        }
    };
    for part in [provider, name] {
        if let Some(c) = part.bytes().find(|&b| !crate::d::lexer::is_desc_char(b) || b == b':') {
            return Err(format!("`{probe}`: `{}` cannot be part of a probe name", c as char));
        }
    }
    Ok(match module {
        Some(m) => format!("{provider}:{}::{name}", m.display()),
        None => format!("{provider}:::{name}"),
    })
}

/// The D program of `latency`.
pub fn program(o: &LatencyOptions) -> Result<String, String> {
    let module = o.children.as_ref().map(|(m, _)| m.as_path());
    let start = description(&o.start, module)?;
    let done = description(&o.done, module)?;
    if o.key.is_some() && (o.syscalls || o.sched) {
        return Err("--syscalls and --sched follow the thread between the two probes: they go without --key".into());
    }
    let key = match &o.key {
        Some(k) => format!("pid, {k}"),
        None => "tid".to_string(),
    };
    let within = o.children.as_ref().map(|(_, c)| format!("/{c}/\n")).unwrap_or_default();
    let mut d = String::new();
    let _ = writeln!(d, "#!/usr/bin/env -S sdtrace -s");
    let _ = writeln!(
        d,
        "/*\n * sdtrace latency: from {} to {}, matched by {}.",
        o.start,
        o.done,
        o.key.as_deref().unwrap_or("thread")
    );
    let _ =
        writeln!(d, " * Times in the aggregations are in ns (@us: microseconds). Run with -c COMMAND or -p PID.\n */");
    let _ = writeln!(d, "#pragma D option quiet\n");
    let _ = writeln!(d, "{start}\n{within}{{");
    let _ = writeln!(d, "\tt0[{key}] = timestamp;");
    if let Some(b) = &o.by {
        let _ = writeln!(d, "\tby[{key}] = {b};");
    }
    if o.key.is_none() && (o.syscalls || o.sched) {
        let _ = writeln!(d, "\tself->in = 1;");
    }
    let _ = writeln!(d, "}}\n");
    let _ = writeln!(d, "{done}\n/t0[{key}]/\n{{");
    let _ = writeln!(d, "\tthis->ns = timestamp - t0[{key}];");
    let k = if o.by.is_some() { format!("[by[{key}]]") } else { String::new() };
    let _ = writeln!(d, "\t@us{k} = quantize(this->ns / 1000);");
    let _ = writeln!(d, "\t@count{k} = count();\n\t@total{k} = sum(this->ns);\n\t@max{k} = max(this->ns);");
    let _ = writeln!(d, "\tt0[{key}] = 0;");
    if o.by.is_some() {
        let _ = writeln!(d, "\tby[{key}] = 0;");
    }
    if o.key.is_none() && (o.syscalls || o.sched) {
        let _ = writeln!(d, "\tself->in = 0;");
    }
    let _ = writeln!(d, "}}");
    if o.syscalls {
        let _ = writeln!(d, "\nsyscall:::entry\n/self->in/\n{{\n\tself->sys = timestamp;\n}}\n");
        let _ = writeln!(d, "syscall:::return\n/self->sys/\n{{");
        let _ = writeln!(d, "\t@sys[probefunc] = count();\n\t@systime[probefunc] = sum(timestamp - self->sys);");
        let _ = writeln!(d, "\tself->sys = 0;\n}}");
    }
    if o.sched {
        let _ = writeln!(d, "\nsched:::off-cpu\n/self->in/\n{{\n\tself->off = timestamp;\n}}\n");
        let _ = writeln!(d, "sched:::on-cpu\n/self->off/\n{{");
        let _ = writeln!(d, "\t@offcpu = sum(timestamp - self->off);\n\t@offcount = count();\n\tself->off = 0;\n}}");
    }
    Ok(d)
}

/// One group's figures (all of them without `--by`).
#[derive(Debug, Clone, Default, PartialEq)]
struct Group {
    count: i64,
    total: i64,
    max: i64,
    /// (bucket label in µs, count)
    buckets: Vec<(String, i64)>,
}

/// What a run measured.
#[derive(Debug, Clone, Default, PartialEq)]
struct LatencyReport {
    groups: BTreeMap<String, Group>,
    /// (syscall, count, ns)
    syscalls: Vec<(String, i64, i64)>,
    /// (times off CPU, ns)
    offcpu: Option<(i64, i64)>,
}

/// `@name`'s entries, each with its keys joined as one text.
fn agg<'a>(lines: &'a [J], name: &str) -> impl Iterator<Item = (String, &'a J)> + 'a {
    agg_entries(lines, name).map(|e| (entry_keys(e).join(", "), e))
}

fn report(lines: &[J]) -> LatencyReport {
    let mut r = LatencyReport::default();
    for (k, e) in agg(lines, "count") {
        r.groups.entry(k).or_default().count = entry_value(e);
    }
    for (k, e) in agg(lines, "total") {
        r.groups.entry(k).or_default().total = entry_value(e);
    }
    for (k, e) in agg(lines, "max") {
        r.groups.entry(k).or_default().max = entry_value(e);
    }
    for (k, e) in agg(lines, "us") {
        r.groups.entry(k).or_default().buckets = entry_buckets(e);
    }
    let times: BTreeMap<String, i64> = agg(lines, "systime").map(|(k, e)| (k, entry_value(e))).collect();
    r.syscalls =
        agg(lines, "sys").map(|(k, e)| (k.clone(), entry_value(e), times.get(&k).copied().unwrap_or(0))).collect();
    r.syscalls.sort_by(|a, b| b.2.cmp(&a.2).then_with(|| a.0.cmp(&b.0)));
    let off = agg(lines, "offcpu").next().map(|(_, e)| entry_value(e));
    let offn = agg(lines, "offcount").next().map(|(_, e)| entry_value(e));
    r.offcpu = off.map(|ns| (offn.unwrap_or(0), ns));
    r
}

fn render(r: &LatencyReport, o: &LatencyOptions) -> String {
    let us = |ns: i64| format!("{:.1}", ns as f64 / 1000.0);
    let mut s = String::new();
    let done: i64 = r.groups.values().map(|g| g.count).sum();
    let _ = writeln!(s, "{} -> {}, matched by {}: {done} done", o.start, o.done, o.key.as_deref().unwrap_or("thread"));
    for (name, g) in &r.groups {
        let _ = writeln!(s);
        if o.by.is_some() {
            let _ = writeln!(s, "{name}");
        }
        let avg = if g.count > 0 { g.total / g.count } else { 0 };
        let _ = writeln!(s, "  count {}  avg {}us  max {}us  total {}us", g.count, us(avg), us(g.max), us(g.total));
        s.push_str(&super::calls::histogram_text(&g.buckets));
    }
    if o.syscalls {
        let _ = writeln!(s, "\nSyscalls between them:");
        let _ = writeln!(s, "  {:<20} {:>10} {:>12}", "SYSCALL", "COUNT", "TIME(us)");
        if r.syscalls.is_empty() {
            let _ = writeln!(s, "  (none)");
        }
        for (name, n, ns) in &r.syscalls {
            let _ = writeln!(s, "  {name:<20} {n:>10} {:>12}", us(*ns));
        }
    }
    if o.sched {
        let (n, ns) = r.offcpu.unwrap_or((0, 0));
        let per = if done > 0 { ns / done } else { 0 };
        let _ = writeln!(s, "\nOff CPU between them: {n} times, {}us in all, {}us per interval", us(ns), us(per));
    }
    s
}

fn render_json(r: &LatencyReport) -> String {
    use serde_json::json;
    let groups: Vec<J> = r
        .groups
        .iter()
        .map(|(k, g)| {
            json!({ "by": k, "count": g.count, "total_ns": g.total, "max_ns": g.max,
                    "us": g.buckets.iter().map(|(v, n)| json!({"value": v, "count": n})).collect::<Vec<_>>() })
        })
        .collect();
    let mut out = json!({ "groups": groups });
    if !r.syscalls.is_empty() {
        out["syscalls"] = r.syscalls.iter().map(|(s, n, t)| json!({"syscall": s, "count": n, "ns": t})).collect();
    }
    if let Some((n, ns)) = r.offcpu {
        out["offcpu"] = json!({"count": n, "ns": ns});
    }
    format!("{out}\n")
}

/// How a `latency` run is started.
#[derive(Debug, Clone)]
pub struct LatencyRun {
    /// What to measure.
    pub options: LatencyOptions,
    /// What to trace.
    pub target: Target,
    /// `--json`.
    pub json: bool,
}

/// Run `latency` and print what it measured.
pub fn run(cfg: &LatencyRun, out: &mut dyn Write) -> Result<(), DError> {
    let text = program(&cfg.options).map_err(DError::Usage)?;
    let lines = run_collect("latency", text, &cfg.target)?;
    let r = report(&lines);
    let text = if cfg.json { render_json(&r) } else { render(&r, &cfg.options) };
    out.write_all(text.as_bytes())?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn probes_become_descriptions_and_bad_ones_are_named() {
        assert_eq!(description("postgresql:query-start", None).unwrap(), "postgresql:::query-start");
        assert_eq!(
            description("postgresql:query-start", Some(Path::new("/usr/bin/postgres"))).unwrap(),
            "postgresql:/usr/bin/postgres::query-start"
        );
        assert_eq!(description("p$target:::x", None).unwrap(), "p$target:::x");
        assert!(description("query-start", None).unwrap_err().contains("PROVIDER:NAME"));
        assert!(description("a b:c", None).unwrap_err().contains("` `"));
        let o = LatencyOptions {
            start: "a:b".into(),
            done: "a:c".into(),
            key: Some("arg0".into()),
            syscalls: true,
            ..Default::default()
        };
        assert!(program(&o).unwrap_err().contains("--key"));
    }

    #[test]
    fn groups_gather_their_figures() {
        let lines: Vec<J> = [
            r#"{"aggregation":"@count","function":"count","entries":[{"keys":[],"value":4}]}"#,
            r#"{"aggregation":"@total","function":"sum","entries":[{"keys":[],"value":8000}]}"#,
            r#"{"aggregation":"@max","function":"max","entries":[{"keys":[],"value":5000}]}"#,
            r#"{"aggregation":"@us","function":"quantize","entries":[{"keys":[],"buckets":[{"value":1,"count":3},{"value":4,"count":1}]}]}"#,
            r#"{"aggregation":"@sys","function":"count","entries":[{"keys":["read"],"value":2}]}"#,
        ]
        .iter()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
        let r = report(&lines);
        let g = &r.groups[""];
        assert_eq!((g.count, g.total, g.max, g.buckets.len()), (4, 8000, 5000, 2));
        assert_eq!(r.syscalls, [("read".into(), 2, 0)]);
        let o = LatencyOptions { start: "a:b".into(), done: "a:c".into(), ..Default::default() };
        assert!(render(&r, &o).contains("count 4  avg 2.0us  max 5.0us"), "{}", render(&r, &o));
    }
}
