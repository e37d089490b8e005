//! `sdtrace list` output: the human table and the stable JSON document
//! (schema `sdtrace.list/1`, specified in `docs/list-json.md`).

use std::io::{self, Write};

use serde_json::{json, Value};

use crate::discovery::{ObjectProbes, Probe};

/// Probe name as a user types it in D (`function__entry` → `function-entry`)
/// is shown beside the note's spelling only in `--help`; listings keep the
/// note's own name so that they match `readelf -n` and bpftrace.
fn arg_summary(p: &Probe) -> String {
    match &p.description {
        Some(d) => d.args.iter().map(|a| format!("{} {}", a.name, a.kind)).collect::<Vec<_>>().join(", "),
        None => p.note_arg_types().join(", "),
    }
}

/// Write the human listing of `objects`. `verbose` adds every site.
pub fn write_text(out: &mut dyn Write, objects: &[(ObjectProbes, Vec<&Probe>)], verbose: bool) -> io::Result<()> {
    for (obj, probes) in objects {
        let arch = obj.arch.map_or("unknown-arch".to_string(), |a| a.to_string());
        let id = obj.build_id.as_deref().map(|b| format!(", build-id {b}")).unwrap_or_default();
        let n = probes.len();
        let discarded = match obj.discarded_sites {
            0 => String::new(),
            d => format!(" ({d} note{} for code the linker discarded, ignored)", if d == 1 { "" } else { "s" }),
        };
        writeln!(
            out,
            "{} ({arch} {}{id}): {n} probe{}{discarded}",
            obj.path.display(),
            obj.kind,
            if n == 1 { "" } else { "s" }
        )?;
        let width = probes.iter().map(|p| p.provider.len() + p.name.len() + 1).max().unwrap_or(0);
        for p in probes {
            let full = format!("{}:{}", p.provider, p.name);
            let sites = p.sites.len();
            let sites = format!("{sites} site{}", if sites == 1 { "" } else { "s" });
            let sem = if p.semaphore.is_some() { "semaphore" } else { "" };
            writeln!(out, "  {full:<width$}  {sites:<8} {sem:<9}  ({})", arg_summary(p))?;
            if let Some(d) = &p.description {
                for line in d.doc.lines().filter(|l| !l.trim().is_empty()) {
                    writeln!(out, "      {}", line.trim())?;
                }
                if verbose {
                    if let Some((file, line)) = &d.source {
                        writeln!(out, "      declared at {file}:{line}")?;
                    }
                }
            }
            if verbose {
                if let Some((addr, off)) = p.semaphore {
                    let off = off.map_or("not in file".into(), |o| format!("{o:#x}"));
                    writeln!(out, "      semaphore {addr:#x} (file offset {off})")?;
                }
                for s in &p.sites {
                    let off = s.file_offset.map_or("not in file".into(), |o| format!("{o:#x}"));
                    writeln!(out, "      site {:#x} (file offset {off})  {}", s.address, s.raw_args)?;
                    match (&s.function, &s.source) {
                        (Some(f), Some((file, line))) => writeln!(out, "        in {f} at {file}:{line}")?,
                        (Some(f), None) => writeln!(out, "        in {f}")?,
                        (None, Some((file, line))) => writeln!(out, "        at {file}:{line}")?,
                        (None, None) => {}
                    }
                    for (i, a) in s.args.iter().enumerate() {
                        match a {
                            Ok(a) => writeln!(out, "        arg{i}: {} {}", a.ty, a.location)?,
                            Err(e) => writeln!(out, "        arg{i}: cannot be read: {e}")?,
                        }
                    }
                }
            }
        }
    }
    Ok(())
}

fn probe_json(p: &Probe) -> Value {
    let types = p.note_arg_types();
    let args: Vec<Value> = match &p.description {
        Some(d) => {
            d.args.iter().enumerate().map(|(i, a)| json!({"index": i, "name": a.name, "type": a.kind.name()})).collect()
        }
        None => types.iter().enumerate().map(|(i, t)| json!({"index": i, "name": null, "type": t})).collect(),
    };
    let sites: Vec<Value> = p
        .sites
        .iter()
        .map(|s| {
            let args: Vec<Value> = s
                .args
                .iter()
                .map(|a| match a {
                    Ok(a) => json!({"type": a.ty, "location": a.location}),
                    Err(e) => json!({"error": e}),
                })
                .collect();
            json!({
                "address": s.address,
                "file_offset": s.file_offset,
                "args_raw": s.raw_args,
                "args": args,
                "function": s.function,
                "source": s.source.as_ref().map(|(f, l)| json!({"file": f, "line": l})),
            })
        })
        .collect();
    let d = p.description.as_ref();
    json!({
        "provider": p.provider,
        "name": p.name,
        "semaphore": p.semaphore.map(|(a, o)| json!({"address": a, "file_offset": o})),
        "args": args,
        "doc": d.map(|d| d.doc.clone()),
        "source": d.and_then(|d| d.source.clone()).map(|(f, l)| json!({"file": f, "line": l})),
        "sites": sites,
    })
}

/// Write the JSON document for `objects`.
pub fn write_json(out: &mut dyn Write, objects: &[(ObjectProbes, Vec<&Probe>)]) -> io::Result<()> {
    let objects: Vec<Value> = objects
        .iter()
        .map(|(o, probes)| {
            json!({
                "path": o.path,
                "arch": o.arch.map(|a| a.name()),
                "kind": o.kind.to_string(),
                "build_id": o.build_id,
                "probes": probes.iter().map(|p| probe_json(p)).collect::<Vec<_>>(),
            })
        })
        .collect();
    serde_json::to_writer_pretty(&mut *out, &json!({"schema": "sdtrace.list/1", "objects": objects}))?;
    writeln!(out)
}
