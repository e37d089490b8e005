//! `sdtrace calls`: the calls a Python or Ruby program makes, counted per
//! function in the kernel from the runtime's entry and return probes;
//! with `-L` their inclusive and exclusive time, with `-D` a distribution
//! of it, with `-S` the syscalls made inside each function (counts and
//! time). The D program ([`program`]) aggregates; the tool reads the
//! aggregations the engine prints as NDJSON at exit and lays them out.

use std::collections::HashMap;
use std::fmt::Write as _;
use std::io::Write;

use serde_json::Value as J;

use super::{
    agg_entries, entry_buckets, entry_keys, entry_value, glob_condition, run_collect, ByPath, Runtime, Target,
};
use crate::d::run::{DError, StackOutput};

/// What `calls` counts and shows.
#[derive(Debug, Clone, Default)]
pub struct CallsOptions {
    /// `-L`: inclusive and exclusive time per function.
    pub latency: bool,
    /// `-D`: a distribution of each function's inclusive time.
    pub distribution: bool,
    /// `-S`: syscalls made inside each function.
    pub syscalls: bool,
    /// `-T N`: the N functions that called most (or took longest, with -L).
    pub top: Option<usize>,
    /// `--filter GLOB`: only functions whose name (Ruby: `Class#method`)
    /// matches.
    pub filter: Option<String>,
    /// `--file GLOB`: only functions of files whose name (without the
    /// directory) matches.
    pub file: Option<String>,
    /// `--folded`/`--flamegraph`: each call's exclusive time by the stack
    /// of calls it ran under (a shadow stack per thread, built from the
    /// entry and return probes: no unwinding).
    pub stacks: bool,
    /// Where the runtime's probes are attached (the JVM's: on libjvm.so).
    pub by_path: ByPath,
}

/// How many bytes of frame names a stack of `--folded` holds (`strsize`
/// of the program): deeper stacks are cut, and said to be.
pub const STACK_BYTES: usize = 1024;

/// The D expressions of a runtime's probe arguments, at entry and return
/// alike: the file and the function.
fn names(rt: Runtime) -> (&'static str, &'static str) {
    match rt {
        Runtime::Python => ("basename(copyinstr(arg0))", "copyinstr(arg1)"),
        Runtime::Ruby => ("basename(copyinstr(arg2))", "strjoin(strjoin(copyinstr(arg0), \"#\"), copyinstr(arg1))"),
        // HotSpot passes each name as a pointer and a length: the class
        // (`java/lang/String`) stands where the file does.
        Runtime::Java => ("copyinstr(arg1, arg2)", "copyinstr(arg3, arg4)"),
    }
}

/// The probe names of a runtime's entry and return.
pub(super) fn entry_return(rt: Runtime) -> (&'static str, &'static str) {
    match rt {
        Runtime::Python => ("function-entry", "function-return"),
        Runtime::Ruby | Runtime::Java => ("method-entry", "method-return"),
    }
}

/// The D condition of `--filter` and `--file` on these expressions, or
/// "" for every call.
fn condition(o: &CallsOptions, file: &str, func: &str) -> Result<String, String> {
    let mut conds = Vec::new();
    if let Some(g) = &o.filter {
        conds.push(glob_condition(func, g)?);
    }
    if let Some(g) = &o.file {
        conds.push(glob_condition(file, g).map_err(|e| e.replace("--filter", "--file"))?);
    }
    Ok(conds.join(" && "))
}

/// The D program of `calls` for `rt`.
pub fn program(rt: Runtime, o: &CallsOptions) -> Result<String, String> {
    let p = rt.provider();
    let (file, func) = names(rt);
    let keep = condition(o, file, func)?;
    let timed = o.latency || o.distribution || o.stacks;
    if rt == Runtime::Java && o.syscalls {
        return Err(
            "calls -S: not yet for Java (HotSpot's names are not NUL-terminated, and -S reads them later)".into()
        );
    }
    let mut d = String::new();
    let _ = writeln!(d, "#!/usr/bin/env -S sdtrace -s");
    let _ = writeln!(d, "/*");
    let _ = writeln!(
        d,
        " * sdtrace calls: {} calls counted per file and function{}{}.",
        rt.name(),
        if timed { ", with their inclusive and exclusive time (ns)" } else { "" },
        if o.syscalls { ", and the syscalls made inside each" } else { "" }
    );
    let _ = writeln!(d, " * Run with `sdtrace -s FILE -c COMMAND` or `-p PID`; the aggregations print at exit.");
    if rt == Runtime::Ruby {
        let _ = writeln!(
            d,
            " * Ruby fires method-entry/return only under a call/return TracePoint (see `sdtrace calls --help`)."
        );
    }
    if rt == Runtime::Java {
        let _ = writeln!(d, " * The JVM fires method-entry/return only when started with -XX:+DTraceMethodProbes.");
    }
    let _ = writeln!(d, " */");
    let _ = writeln!(d, "#pragma D option quiet");
    if o.stacks {
        let _ = writeln!(d, "#pragma D option strsize={STACK_BYTES}");
    }
    d.push('\n');
    let _ = writeln!(d, "self int depth;");
    if o.stacks {
        let _ = writeln!(d, "self string stack;");
    }
    d.push('\n');
    let (entry, ret) = entry_return(rt);
    let (entry, ret) = (o.by_path.desc(p, entry), o.by_path.desc(p, ret));
    if !timed && !o.syscalls {
        let pred = o.by_path.pred(&keep);
        let _ = writeln!(d, "{entry}\n{pred}{{\n\t@calls[{file}, {func}] = count();\n}}");
        return Ok(d);
    }
    // The calls in progress on each thread, by depth: when each started
    // and how long its callees took; with -S, the function's names.
    let _ = writeln!(d, "{entry}\n{}{{\n\tself->depth++;", o.by_path.pred(""));
    let _ = writeln!(d, "\tt0[tid, self->depth] = timestamp;\n\tinner[tid, self->depth] = 0;");
    if o.stacks {
        // The caller's stack is kept, to go back to at return.
        let _ = writeln!(d, "\tcaller[tid, self->depth] = self->stack;");
        let _ = writeln!(d, "\tthis->frame = strjoin(strjoin(strjoin({func}, \" (\"), {file}), \")\");");
        let _ = writeln!(
            d,
            "\tself->stack = self->depth > 1 ? strjoin(strjoin(self->stack, \";\"), this->frame) : this->frame;"
        );
    }
    if o.syscalls {
        let (f, n) = match rt {
            Runtime::Python => ("arg0", "arg1"),
            Runtime::Ruby | Runtime::Java => ("arg2", "arg1"),
        };
        let _ = writeln!(d, "\tfilep[tid, self->depth] = {f};\n\tfnp[tid, self->depth] = {n};");
        if rt == Runtime::Ruby {
            let _ = writeln!(d, "\tclsp[tid, self->depth] = arg0;");
        }
    }
    let _ = writeln!(d, "}}\n");
    let _ = writeln!(d, "{ret}\n/self->depth > 0/\n{{");
    let _ = writeln!(d, "\tthis->incl = timestamp - t0[tid, self->depth];");
    let _ = writeln!(d, "\tthis->excl = this->incl - inner[tid, self->depth];");
    let body = {
        let mut b = String::from("\t@calls[this->file, this->func] = count();\n");
        if o.latency {
            b.push_str("\t@incl[this->file, this->func] = sum(this->incl);\n");
            b.push_str("\t@excl[this->file, this->func] = sum(this->excl);\n");
        }
        if o.distribution {
            b.push_str("\t@dist[this->file, this->func] = quantize(this->incl / 1000);\n");
        }
        if o.stacks {
            b.push_str("\t@stacks[self->stack] = sum(this->excl);\n");
        }
        b
    };
    let _ = writeln!(d, "\tthis->file = {file};\n\tthis->func = {func};");
    if keep.is_empty() {
        d.push_str(&body);
    } else {
        let keep = condition(o, "this->file", "this->func")?;
        let _ = writeln!(d, "\tif ({keep}) {{\n{}\t}}", body.replace('\t', "\t\t"));
    }
    let _ = writeln!(d, "\tt0[tid, self->depth] = 0;\n\tinner[tid, self->depth] = 0;");
    if o.syscalls {
        let _ = writeln!(d, "\tfilep[tid, self->depth] = 0;\n\tfnp[tid, self->depth] = 0;");
        if rt == Runtime::Ruby {
            let _ = writeln!(d, "\tclsp[tid, self->depth] = 0;");
        }
    }
    if o.stacks {
        let _ = writeln!(d, "\tself->stack = caller[tid, self->depth];\n\tcaller[tid, self->depth] = 0;");
    }
    let _ = writeln!(d, "\tself->depth--;");
    let _ = writeln!(d, "\tif (self->depth > 0) {{\n\t\tinner[tid, self->depth] += this->incl;\n\t}}\n}}");
    if o.syscalls {
        let (sfile, sfunc) = match rt {
            Runtime::Python => (
                "basename(copyinstr(filep[tid, self->depth]))".to_string(),
                "copyinstr(fnp[tid, self->depth])".to_string(),
            ),
            Runtime::Ruby | Runtime::Java => (
                "basename(copyinstr(filep[tid, self->depth]))".to_string(),
                "strjoin(strjoin(copyinstr(clsp[tid, self->depth]), \"#\"), copyinstr(fnp[tid, self->depth]))"
                    .to_string(),
            ),
        };
        let _ = writeln!(d, "\nsyscall:::entry\n/self->depth > 0/\n{{\n\tself->sys = timestamp;\n}}\n");
        let _ = writeln!(d, "syscall:::return\n/self->sys/\n{{");
        let _ = writeln!(d, "\tthis->file = {sfile};\n\tthis->func = {sfunc};");
        let body = "\t@sys[this->file, this->func, probefunc] = count();\n\
                    \t@systime[this->file, this->func, probefunc] = sum(timestamp - self->sys);\n";
        if keep.is_empty() {
            d.push_str(body);
        } else {
            let keep = condition(o, "this->file", "this->func")?;
            let _ = writeln!(d, "\tif ({keep}) {{\n{}\t}}", body.replace('\t', "\t\t"));
        }
        let _ = writeln!(d, "\tself->sys = 0;\n}}");
    }
    Ok(d)
}

/// One function's row.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
struct Row {
    file: String,
    func: String,
    calls: i64,
    incl: i64,
    excl: i64,
    dist: Vec<(String, i64)>,
}

/// What the run counted, as the tool shows it.
#[derive(Debug, Clone, Default)]
pub struct CallsReport {
    rows: Vec<Row>,
    /// Folded stacks (`frame;frame;…`) and their exclusive time.
    stacks: Vec<(String, i64)>,
    /// (file, function, syscall, count, ns).
    syscalls: Vec<(String, String, String, i64, i64)>,
}

/// The report of the NDJSON `lines` the engine printed.
fn report(lines: &[J], o: &CallsOptions) -> CallsReport {
    let mut rows: HashMap<(String, String), Row> = HashMap::new();
    fn row(rows: &mut HashMap<(String, String), Row>, k: Vec<String>) -> Option<&mut Row> {
        let [file, func] = <[String; 2]>::try_from(k).ok()?;
        Some(rows.entry((file.clone(), func.clone())).or_insert_with(|| Row { file, func, ..Default::default() }))
    }
    for e in agg_entries(lines, "calls") {
        if let Some(r) = row(&mut rows, entry_keys(e)) {
            r.calls = entry_value(e);
        }
    }
    for e in agg_entries(lines, "incl") {
        if let Some(r) = row(&mut rows, entry_keys(e)) {
            r.incl = entry_value(e);
        }
    }
    for e in agg_entries(lines, "excl") {
        if let Some(r) = row(&mut rows, entry_keys(e)) {
            r.excl = entry_value(e);
        }
    }
    for e in agg_entries(lines, "dist") {
        if let Some(r) = row(&mut rows, entry_keys(e)) {
            r.dist = entry_buckets(e);
        }
    }
    let mut rows: Vec<Row> = rows.into_values().collect();
    // Most first: by time with -L, else by calls; then by name.
    rows.sort_by(|a, b| {
        let (x, y) = if o.latency { (a.incl, b.incl) } else { (a.calls, b.calls) };
        y.cmp(&x).then_with(|| (&a.file, &a.func).cmp(&(&b.file, &b.func)))
    });
    if let Some(n) = o.top {
        rows.truncate(n);
    }
    let mut times: HashMap<Vec<String>, i64> = HashMap::new();
    for e in agg_entries(lines, "systime") {
        times.insert(entry_keys(e), entry_value(e));
    }
    let mut syscalls: Vec<(String, String, String, i64, i64)> = agg_entries(lines, "sys")
        .filter_map(|e| {
            let k = entry_keys(e);
            let t = times.get(&k).copied().unwrap_or(0);
            let [file, func, sys] = <[String; 3]>::try_from(k).ok()?;
            Some((file, func, sys, entry_value(e), t))
        })
        .filter(|(file, func, ..)| o.top.is_none() || rows.iter().any(|r| &r.file == file && &r.func == func))
        .collect();
    syscalls.sort_by(|a, b| b.3.cmp(&a.3).then_with(|| (&a.0, &a.1, &a.2).cmp(&(&b.0, &b.1, &b.2))));
    let mut stacks: Vec<(String, i64)> = agg_entries(lines, "stacks")
        .filter_map(|e| Some((entry_keys(e).into_iter().next()?, entry_value(e))))
        .filter(|(s, v)| !s.is_empty() && *v > 0)
        .collect();
    stacks.sort();
    CallsReport { rows, syscalls, stacks }
}

fn micros(ns: i64) -> String {
    format!("{:.1}", ns as f64 / 1000.0)
}

/// The text table of a report.
fn render(r: &CallsReport, o: &CallsOptions) -> String {
    let mut s = String::new();
    let fw = r.rows.iter().map(|x| x.file.len()).chain(r.syscalls.iter().map(|x| x.0.len())).max().unwrap_or(4).max(4);
    let nw = r.rows.iter().map(|x| x.func.len()).chain(r.syscalls.iter().map(|x| x.1.len())).max().unwrap_or(8).max(8);
    if o.latency {
        let _ = writeln!(
            s,
            "{:<fw$}  {:<nw$} {:>10} {:>14} {:>12} {:>14} {:>12}",
            "FILE", "FUNCTION", "CALLS", "INCL_TOTAL(us)", "INCL_AVG(us)", "EXCL_TOTAL(us)", "EXCL_AVG(us)"
        );
    } else {
        let _ = writeln!(s, "{:<fw$}  {:<nw$} {:>10}", "FILE", "FUNCTION", "CALLS");
    }
    for x in &r.rows {
        if o.latency {
            let n = x.calls.max(1);
            let _ = writeln!(
                s,
                "{:<fw$}  {:<nw$} {:>10} {:>14} {:>12} {:>14} {:>12}",
                x.file,
                x.func,
                x.calls,
                micros(x.incl),
                micros(x.incl / n),
                micros(x.excl),
                micros(x.excl / n)
            );
        } else {
            let _ = writeln!(s, "{:<fw$}  {:<nw$} {:>10}", x.file, x.func, x.calls);
        }
    }
    if o.distribution {
        for x in r.rows.iter().filter(|x| !x.dist.is_empty()) {
            let _ = writeln!(s, "\n{} {}: inclusive time (us)", x.file, x.func);
            s.push_str(&histogram_text(&x.dist));
        }
    }
    if o.syscalls {
        let _ = writeln!(s, "\nSyscalls made inside each function (not its callees):");
        let _ =
            writeln!(s, "{:<fw$}  {:<nw$} {:<16} {:>10} {:>12}", "FILE", "FUNCTION", "SYSCALL", "COUNT", "TIME(us)");
        if r.syscalls.is_empty() {
            let _ = writeln!(s, "(none)");
        }
        for (file, func, sys, n, t) in &r.syscalls {
            let _ = writeln!(s, "{file:<fw$}  {func:<nw$} {sys:<16} {n:>10} {:>12}", micros(*t));
        }
    }
    s
}

/// A distribution's rows as dtrace(1) draws them: value, a bar of `@`
/// in 40 columns, count.
pub(super) fn histogram_text(rows: &[(String, i64)]) -> String {
    let total: i64 = rows.iter().map(|r| r.1).sum::<i64>().max(1);
    let mut s = format!("{:>16}  {:-^41} {}\n", "value", " Distribution ", "count");
    for (v, n) in rows {
        let bar = (n * 40 + total / 2) / total;
        let _ = writeln!(s, "{v:>16} |{:<40} {n}", "@".repeat(bar as usize));
    }
    s
}

/// The report as one JSON object: `{"runtime":…,"functions":[{"file",
/// "function","calls","inclusive_ns","exclusive_ns"}…],"syscalls":[{"file",
/// "function","syscall","count","ns"}…]}`.
fn render_json(r: &CallsReport, rt: Runtime, o: &CallsOptions) -> String {
    use serde_json::json;
    let functions: Vec<J> = r
        .rows
        .iter()
        .map(|x| {
            let mut f = json!({ "file": x.file, "function": x.func, "calls": x.calls });
            if o.latency {
                f["inclusive_ns"] = json!(x.incl);
                f["exclusive_ns"] = json!(x.excl);
            }
            if o.distribution {
                f["inclusive_us"] = x.dist.iter().map(|(v, n)| json!({ "value": v, "count": n })).collect();
            }
            f
        })
        .collect();
    let mut out = json!({ "runtime": rt.provider(), "functions": functions });
    if o.syscalls {
        out["syscalls"] = r
            .syscalls
            .iter()
            .map(|(file, func, sys, n, t)| json!({ "file": file, "function": func, "syscall": sys, "count": n, "ns": t }))
            .collect();
    }
    format!("{out}\n")
}

/// How a `calls` run is started and printed.
#[derive(Debug, Clone)]
pub struct CallsRun {
    /// The runtime.
    pub runtime: Runtime,
    /// What to count.
    pub options: CallsOptions,
    /// What to trace.
    pub target: Target,
    /// `--json`.
    pub json: bool,
    /// `--folded` and `--flamegraph`: the stacks of calls by exclusive
    /// time, instead of the table.
    pub stacks: StackOutput,
}

/// Run `calls` and print its report to `out`.
pub fn run(cfg: &CallsRun, out: &mut dyn Write) -> Result<(), DError> {
    let mut options = cfg.options.clone();
    options.stacks |= cfg.stacks.folded || cfg.stacks.flamegraph.is_some();
    let text = program(cfg.runtime, &options).map_err(DError::Usage)?;
    // Made before tracing, so a path that cannot be written is said first.
    let svg = match &cfg.stacks.flamegraph {
        Some(p) => Some((p, std::fs::File::create(p).map_err(|e| DError::Usage(format!("{}: {e}", p.display())))?)),
        None => None,
    };
    let lines = run_collect("calls", text, &cfg.target)?;
    let r = report(&lines, &options);
    if r.rows.is_empty() {
        eprintln!(
            "sdtrace: calls: no {} call was traced{}",
            cfg.runtime.name(),
            match cfg.runtime {
                Runtime::Ruby =>
                    ": Ruby fires its method probes only under a call/return TracePoint (run the program \
                                 with RUBYOPT=-r/path/to/tracer/d/rb_tracepoint.rb)",
                Runtime::Java => ": the JVM fires its method probes only when started with -XX:+DTraceMethodProbes",
                Runtime::Python => "",
            }
        );
    }
    if options.stacks {
        let lines: Vec<String> = r.stacks.iter().map(|(s, v)| format!("{s} {v}")).collect();
        if r.stacks.iter().any(|(s, _)| s.len() + 1 >= STACK_BYTES) {
            eprintln!(
                "sdtrace: calls: warning: some stacks are deeper than {STACK_BYTES} bytes of names: their innermost \
                 frames are cut"
            );
        }
        if cfg.stacks.folded {
            for l in &lines {
                writeln!(out, "{l}")?;
            }
        }
        if let Some((path, file)) = svg {
            let title = format!("{} calls by exclusive time", cfg.runtime.name());
            match crate::d::printer::flamegraph(&lines, &title, "ns", std::io::BufWriter::new(file)) {
                Ok(()) => eprintln!("sdtrace: wrote {} ({} stacks)", path.display(), lines.len()),
                Err(e) => return Err(DError::Usage(format!("{}: {e}", path.display()))),
            }
        }
        if cfg.stacks.folded {
            return Ok(());
        }
    }
    let text = if cfg.json { render_json(&r, cfg.runtime, &cfg.options) } else { render(&r, &cfg.options) };
    out.write_all(text.as_bytes())?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn rows_merge_the_aggregations_by_key_and_sort_by_what_is_shown() {
        let lines = vec![
            json!({"aggregation":"@calls","function":"count","entries":[
                {"keys":["a.py","f"],"value":3},{"keys":["a.py","g"],"value":5}]}),
            json!({"aggregation":"@incl","function":"sum","entries":[
                {"keys":["a.py","f"],"value":9000},{"keys":["a.py","g"],"value":1000}]}),
            json!({"aggregation":"@excl","function":"sum","entries":[
                {"keys":["a.py","f"],"value":8000},{"keys":["a.py","g"],"value":1000}]}),
            json!({"aggregation":"@sys","function":"count","entries":[{"keys":["a.py","f","read"],"value":2}]}),
            json!({"aggregation":"@systime","function":"sum","entries":[{"keys":["a.py","f","read"],"value":400}]}),
        ];
        let by_calls = report(&lines, &CallsOptions::default());
        assert_eq!(by_calls.rows.iter().map(|r| r.func.as_str()).collect::<Vec<_>>(), ["g", "f"]);
        let o = CallsOptions { latency: true, syscalls: true, top: Some(1), ..Default::default() };
        let r = report(&lines, &o);
        assert_eq!(r.rows.len(), 1);
        assert_eq!((r.rows[0].func.as_str(), r.rows[0].calls, r.rows[0].excl), ("f", 3, 8000));
        assert_eq!(r.syscalls, [("a.py".into(), "f".into(), "read".into(), 2, 400)]);
        let text = render(&r, &o);
        assert!(text.contains("a.py  f"), "{text}");
        let row: Vec<&str> = text.lines().nth(1).unwrap().split_whitespace().collect();
        assert_eq!(row, ["a.py", "f", "3", "9.0", "3.0", "8.0", "2.7"], "microseconds: {text}");
    }
}
