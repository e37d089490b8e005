//! `sdtrace objnew`: the objects a Ruby program allocates, counted per
//! class (and with `--sites` per file and line) in the kernel from Ruby's
//! `object__create` probe. Ruby's probe carries no size: an object takes
//! one heap slot (40 bytes in Ruby 3.1) plus what it allocates outside the
//! heap, which no probe reports, so bytes are not shown. CPython has no
//! allocation probe; the tool says so.

use std::fmt::Write as _;
use std::io::Write;

use super::{agg_entries, entry_keys, entry_value, run_collect, Runtime, Target};
use crate::d::run::DError;

/// The D program of `objnew`.
pub fn program(rt: Runtime, sites: bool) -> Result<String, String> {
    if rt == Runtime::Java {
        return Err("objnew: not yet for Java (HotSpot's object__alloc, under -XX:+DTraceAllocProbes)".into());
    }
    if rt != Runtime::Ruby {
        return Err(format!(
            "objnew: {} has no allocation probe (CPython's probes are calls, lines, GC, imports and audit \
             events); `sdtrace gc` shows its collections",
            rt.name()
        ));
    }
    let keys = if sites { "copyinstr(arg0), basename(copyinstr(arg1)), arg2" } else { "copyinstr(arg0)" };
    let mut d = String::new();
    let _ = writeln!(d, "#!/usr/bin/env -S sdtrace -s");
    let _ = writeln!(
        d,
        "/*\n * sdtrace objnew: Ruby objects allocated, counted per class{}.",
        if sites { " and site" } else { "" }
    );
    let _ = writeln!(d, " * Run with -c COMMAND or -p PID; the counts print at exit.\n */");
    let _ = writeln!(d, "#pragma D option quiet\n");
    let _ = writeln!(d, "ruby:::object-create\n{{\n\t@objects[{keys}] = count();\n}}");
    Ok(d)
}

/// How an `objnew` run is started and printed.
#[derive(Debug, Clone)]
pub struct ObjnewRun {
    /// The runtime.
    pub runtime: Runtime,
    /// What to trace.
    pub target: Target,
    /// `--sites`: per file and line too.
    pub sites: bool,
    /// `-T N`.
    pub top: Option<usize>,
    /// `--json`.
    pub json: bool,
}

/// Run `objnew` and print its table.
pub fn run(cfg: &ObjnewRun, out: &mut dyn Write) -> Result<(), DError> {
    let text = program(cfg.runtime, cfg.sites).map_err(DError::Usage)?;
    let lines = run_collect("objnew", text, &cfg.target)?;
    let mut rows: Vec<(Vec<String>, i64)> =
        agg_entries(&lines, "objects").map(|e| (entry_keys(e), entry_value(e))).collect();
    rows.sort_by(|a, b| b.1.cmp(&a.1).then_with(|| a.0.cmp(&b.0)));
    if let Some(n) = cfg.top {
        rows.truncate(n);
    }
    if cfg.json {
        let objects: Vec<serde_json::Value> = rows
            .iter()
            .map(|(k, n)| {
                let mut o = serde_json::json!({ "class": k[0], "count": n });
                if let (true, Some(file), Some(line)) = (cfg.sites, k.get(1), k.get(2)) {
                    o["file"] = file.as_str().into();
                    o["line"] = line.parse::<i64>().unwrap_or(0).into();
                }
                o
            })
            .collect();
        writeln!(out, "{}", serde_json::json!({ "objects": objects }))?;
        return Ok(());
    }
    if rows.is_empty() {
        eprintln!("sdtrace: objnew: no Ruby object was allocated while tracing");
    }
    let cw = rows.iter().map(|r| r.0[0].len()).max().unwrap_or(5).max(5);
    if cfg.sites {
        writeln!(out, "{:<cw$}  {:<30} {:>10}", "CLASS", "SITE", "OBJECTS")?;
    } else {
        writeln!(out, "{:<cw$} {:>10}", "CLASS", "OBJECTS")?;
    }
    for (k, n) in &rows {
        if cfg.sites {
            // No Ruby frame (the interpreter's own objects): no site.
            let site = match (k.get(1).map(String::as_str), k.get(2).map(String::as_str)) {
                (Some("."), Some("0")) | (None, _) | (_, None) => "-".to_string(),
                (Some(f), Some(l)) => format!("{f}:{l}"),
            };
            writeln!(out, "{:<cw$}  {site:<30} {n:>10}", k[0])?;
        } else {
            writeln!(out, "{:<cw$} {n:>10}", k[0])?;
        }
    }
    Ok(())
}
