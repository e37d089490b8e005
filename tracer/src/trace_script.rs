//! `sdtrace trace … --dump-script`: the D program that prints what
//! `sdtrace trace` prints, for a user to copy and edit. Run with
//! `sdtrace -s FILE` and the same `-c`/`-p`, it prints the same events in
//! the same text columns (`TIME(s) PID TID COMM PROBE ARGS`), with every
//! argument named and decoded by its type.
//!
//! It is the first half of the one-engine design (DESIGN.md): the program
//! `sdtrace trace` itself will run. Argument types D cannot print as
//! `trace` does yet (floats, which `trace` prints exactly and D's `%f` to
//! six decimals; `bytes`, which `trace` prints in hex) are refused by name,
//! as is NDJSON output, rather than dumped as a program that prints
//! something else.

use std::fmt::Write as _;

use stap_notes::meta::ArgKind;

/// A probe the trace matched, as the script names and prints it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ScriptProbe {
    /// Provider, as in the note.
    pub provider: String,
    /// Probe name, as in the note (`function__entry`).
    pub name: String,
    /// The object, for a probe traced in every process running it (a
    /// pattern with a path and neither `-p` nor `-c`).
    pub path: Option<String>,
    /// The arguments: name (`argN` without a description) and type.
    pub args: Vec<(String, ArgKind)>,
    /// Whether the names come from a description (metadata record or
    /// sdtrace's catalog), so that `args->name` works; else `argN`.
    pub described: bool,
}

/// Why a trace cannot be dumped as a D program yet.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{0}")]
pub struct NotExpressible(pub String);

/// Settings of the trace that the script carries as options.
#[derive(Debug, Clone)]
pub struct ScriptOptions {
    /// The command line the script stands for, for its comment.
    pub command_line: String,
    /// `--strsize`.
    pub strsize: usize,
    /// `--bufsize`, in bytes.
    pub bufsize: u32,
    /// `--switchrate`, in milliseconds.
    pub switchrate_ms: u128,
}

/// The D program for `probes` (each distinct probe and argument layout
/// once, in the order given).
pub fn script(probes: &[ScriptProbe], opts: &ScriptOptions) -> Result<String, NotExpressible> {
    if probes.is_empty() {
        return Err(NotExpressible("no probe matches yet, so there is no program to print".into()));
    }
    let mut out = String::new();
    let _ = writeln!(out, "#!/usr/bin/env -S sdtrace -s");
    let _ = writeln!(out, "/*");
    let _ = writeln!(out, " * {} (sdtrace trace --dump-script)", comment_safe(&opts.command_line));
    let _ = writeln!(out, " * as a D program: run it with sdtrace -s FILE and the same -c or -p.");
    let _ = writeln!(out, " * TIME(s) counts from the first event, as sdtrace trace's does.");
    let _ = writeln!(out, " */");
    let _ = writeln!(out, "#pragma D option quiet");
    let _ = writeln!(out, "#pragma D option strsize={}", opts.strsize);
    let _ = writeln!(out, "#pragma D option bufsize={}", opts.bufsize);
    let _ = writeln!(out, "#pragma D option switchrate={}ms", opts.switchrate_ms);
    let _ = writeln!(out);
    let _ = writeln!(out, "BEGIN");
    let _ = writeln!(out, "{{");
    let _ = writeln!(out, "\tstart = 0;");
    let _ = writeln!(
        out,
        "\tprintf(\"%14s %7s %7s %-16s %-28s ARGS\\n\", \"TIME(s)\", \"PID\", \"TID\", \"COMM\", \"PROBE\");"
    );
    let _ = writeln!(out, "}}");
    let mut seen: Vec<&ScriptProbe> = Vec::new();
    for p in probes {
        if seen.contains(&p) {
            continue;
        }
        seen.push(p);
        let desc = description(p);
        let (format, values) = arguments(p)?;
        let label = format!("{}:{}", p.provider, p.name);
        let _ = writeln!(out);
        let _ = writeln!(out, "{desc}\n{{");
        let _ = writeln!(out, "\tthis->now = timestamp;");
        let _ = writeln!(out, "\tstart = start == 0 ? this->now : start;");
        let _ = writeln!(out, "\tthis->t = this->now - start;");
        let _ = write!(
            out,
            "\tprintf(\"%4d.%09d %7d %7d %-16s %-28s{format}\\n\",\n\t    this->t / 1000000000, this->t % 1000000000, \
             pid, tid, execname, \"{label}\""
        );
        for v in values {
            let _ = write!(out, ",\n\t    {v}");
        }
        let _ = writeln!(out, ");\n}}");
    }
    Ok(out)
}

/// The probe description: `provider:::name`, or `provider:PATH::name` for
/// a probe traced in every process running PATH.
fn description(p: &ScriptProbe) -> String {
    match &p.path {
        Some(path) => format!("{}:{path}::{}", p.provider, p.name),
        None => format!("{}:::{}", p.provider, p.name),
    }
}

/// The printf format after the fixed columns, and its values.
fn arguments(p: &ScriptProbe) -> Result<(String, Vec<String>), NotExpressible> {
    let mut format = String::new();
    let mut values = Vec::new();
    for (i, (name, kind)) in p.args.iter().enumerate() {
        let value = if p.described { format!("args->{name}") } else { format!("arg{i}") };
        let not = |what: &str| {
            NotExpressible(format!(
                "{}:{} argument `{name}` is {what}, which D programs cannot print as sdtrace trace does yet; \
                 --dump-script refuses rather than print a program with other output",
                p.provider, p.name
            ))
        };
        let conv = match kind {
            ArgKind::Int { signed: true, .. } => "%d",
            ArgKind::Int { signed: false, .. } => "%u",
            ArgKind::CStr | ArgKind::Str | ArgKind::Json => "\\\"%S\\\"",
            ArgKind::Pointer => "%#x",
            ArgKind::Bool => {
                let _ = write!(format, " {name}=%s");
                values.push(format!("{value} ? \"true\" : \"false\""));
                continue;
            }
            ArgKind::Char => "\\\"%c\\\"",
            ArgKind::Float { .. } => return Err(not("a float")),
            ArgKind::Bytes => return Err(not("bytes (printed in hex)")),
            _ => return Err(not("of a type this version does not print")),
        };
        let _ = write!(format, " {name}={conv}");
        values.push(value);
    }
    Ok((format, values))
}

/// `text` with nothing that ends a D comment.
fn comment_safe(text: &str) -> String {
    text.replace("*/", "* /")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn opts() -> ScriptOptions {
        ScriptOptions {
            command_line: "sdtrace trace 'python:*'".into(),
            strsize: 128,
            bufsize: 4 << 20,
            switchrate_ms: 10,
        }
    }

    fn python_return() -> ScriptProbe {
        ScriptProbe {
            provider: "python".into(),
            name: "function__return".into(),
            path: None,
            args: vec![
                ("filename".into(), ArgKind::CStr),
                ("funcname".into(), ArgKind::CStr),
                ("lineno".into(), ArgKind::Int { size: 4, signed: true }),
            ],
            described: true,
        }
    }

    #[test]
    fn each_argument_is_printed_by_its_type_and_name() {
        let s = script(&[python_return(), python_return()], &opts()).unwrap();
        assert!(s.contains("python:::function__return\n{"), "{s}");
        assert!(s.contains(r#"%-28s filename=\"%S\" funcname=\"%S\" lineno=%d\n""#), "{s}");
        assert!(s.contains("args->filename,\n\t    args->funcname,\n\t    args->lineno);"), "{s}");
        // One clause for the probe, however many sites it has.
        assert_eq!(s.matches("start = start == 0 ? this->now : start;").count(), 1, "{s}");
        assert!(s.contains("#pragma D option strsize=128"));
    }

    #[test]
    fn undescribed_arguments_are_read_by_position_and_paths_name_the_module() {
        let p = ScriptProbe {
            provider: "fixture".into(),
            name: "gated".into(),
            path: Some("/tmp/ab".into()),
            args: vec![("arg0".into(), ArgKind::Int { size: 1, signed: true }), ("arg1".into(), ArgKind::Bool)],
            described: false,
        };
        let s = script(&[p], &opts()).unwrap();
        assert!(s.contains("fixture:/tmp/ab::gated\n"), "{s}");
        assert!(s.contains("arg0=%d arg1=%s"), "{s}");
        assert!(s.contains("arg1 ? \"true\" : \"false\""), "{s}");
    }

    #[test]
    fn floats_bytes_and_an_empty_match_are_refused_by_name() {
        let mut p = python_return();
        p.args.push(("ratio".into(), ArgKind::Float { size: 8 }));
        let e = script(&[p], &opts()).unwrap_err();
        assert!(e.0.contains("python:function__return argument `ratio` is a float"), "{e}");
        assert!(script(&[], &opts()).unwrap_err().0.contains("no probe matches yet"));
    }
}
