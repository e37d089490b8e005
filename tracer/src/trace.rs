//! `sdtrace trace PATTERN…`: a front end of the D engine. The patterns
//! become one D clause whose action is `printevent()` (every argument of
//! the probe, by name and type, in `trace`'s text columns or NDJSON), and
//! the program runs through the same compiler, attach path, pickup of
//! objects mapped later and output as `sdtrace -n`/`-s`.
//! `--dump-script` prints that program instead of running it: run with
//! `sdtrace -s FILE` and the same `-c`/`-p`, it prints the same events.

use std::fmt::Write as _;
use std::io::Write;
use std::path::PathBuf;
use std::time::Duration;

use crate::d::diag::{DiagnosticKind, Level, Source};
use crate::d::run::{self as drun, DConfig, DError, Report};
use crate::kernel::uprobe::Method;
use crate::pattern::{PatternError, ProbePattern};

/// What to trace and how to print it.
#[derive(Debug, Clone)]
pub struct TraceConfig {
    /// `[PATH:]PROVIDER:PROBE` patterns.
    pub patterns: Vec<String>,
    /// Processes to trace.
    pub pids: Vec<u32>,
    /// A command to start and trace (program and arguments).
    pub command: Vec<String>,
    /// NDJSON instead of text lines.
    pub json: bool,
    /// Bytes copied of each string argument.
    pub strsize: usize,
    /// Ring buffer size in bytes.
    pub bufsize: u32,
    /// How often the ring buffer is drained.
    pub switchrate: Duration,
    /// Stop after this long.
    pub duration: Option<Duration>,
    /// How to attach; `None` picks uprobe_multi links where the kernel has
    /// them and perf_event uprobes otherwise.
    pub method: Option<Method>,
    /// Start even if no probe matches yet (`-Z`): wait for the traced
    /// processes to map an object that has them.
    pub allow_zero: bool,
    /// No summary line at exit.
    pub quiet: bool,
    /// `--perfetto FILE`: every event an instant on its thread's track,
    /// its arguments as debug annotations.
    pub perfetto: Option<PathBuf>,
}

impl Default for TraceConfig {
    fn default() -> Self {
        TraceConfig {
            patterns: Vec::new(),
            pids: Vec::new(),
            command: Vec::new(),
            json: false,
            strsize: 128,
            bufsize: 4 << 20,
            switchrate: Duration::from_millis(10),
            duration: None,
            method: None,
            allow_zero: false,
            quiet: false,
            perfetto: None,
        }
    }
}

/// Why tracing could not start or went wrong.
#[derive(Debug, thiserror::Error)]
pub enum TraceError {
    /// Bad options.
    #[error("{0}")]
    Usage(String),
    /// A pattern did not parse.
    #[error(transparent)]
    Pattern(#[from] PatternError),
    /// No probe matched (exit status 1).
    #[error("no probe matches {patterns}{hint}")]
    NoMatch {
        /// The patterns.
        patterns: String,
        /// Suggestions, in parentheses.
        hint: String,
    },
    /// The engine's error: a site it cannot probe, the kernel, the target.
    #[error("{0}")]
    Run(String),
    /// Writing events failed.
    #[error("writing events: {0}")]
    Output(#[source] std::io::Error),
}

/// A pattern with an optional object path: `/usr/bin/python3.11:python:line`.
#[derive(Debug, Clone)]
struct TracePattern {
    path: Option<PathBuf>,
    provider: String,
    name: String,
}

fn parse_pattern(s: &str) -> Result<TracePattern, PatternError> {
    let err = |reason: &str| PatternError { text: s.into(), reason: reason.into() };
    let (path, probe) = if s.starts_with('/') || s.starts_with('.') {
        let parts: Vec<&str> = s.rsplitn(3, ':').collect();
        if parts.len() != 3 {
            return Err(err("expected PATH:PROVIDER:PROBE"));
        }
        (Some(PathBuf::from(parts[2])), format!("{}:{}", parts[1], parts[0]))
    } else {
        (None, s.to_string())
    };
    // The globs are checked as the patterns of `sdtrace list` are.
    ProbePattern::parse(&probe)?;
    let (provider, name) = probe.split_once(':').unwrap_or(("", &probe));
    for field in [provider, name] {
        if let Some(c) = field.bytes().find(|&b| !crate::d::lexer::is_desc_char(b) || b == b':') {
            return Err(err(&format!("`{}` cannot be part of a probe name", c as char)));
        }
    }
    let provider = if provider.is_empty() { "*" } else { provider };
    Ok(TracePattern { path, provider: provider.to_string(), name: name.to_string() })
}

/// The D description of `p`: `provider:::name`, or with the object's
/// path in the module field (`provider:/usr/bin/python3.11::name`), which
/// D traces in every process that maps it, now or later.
fn description(p: &TracePattern) -> Result<String, TraceError> {
    let Some(path) = &p.path else { return Ok(format!("{}:::{}", p.provider, p.name)) };
    let module = std::fs::canonicalize(path)
        .map_err(|e| TraceError::Usage(format!("{}: {e}", path.display())))?
        .to_string_lossy()
        .into_owned();
    if let Some(c) = module.bytes().find(|&b| b != b'/' && !crate::d::lexer::is_desc_char(b) || b == b':') {
        return Err(TraceError::Usage(format!(
            "{}: a path with `{}` in it cannot be traced by path yet; trace the process with -p or -c",
            path.display(),
            c as char
        )));
    }
    Ok(format!("{}:{module}::{}", p.provider, p.name))
}

/// The D program `sdtrace trace` runs for `cfg` (and `--dump-script`
/// prints).
pub fn program(cfg: &TraceConfig) -> Result<String, TraceError> {
    if cfg.patterns.is_empty() {
        return Err(TraceError::Usage("name at least one probe, e.g. 'python:function__entry'".into()));
    }
    let patterns = cfg.patterns.iter().map(|p| parse_pattern(p)).collect::<Result<Vec<_>, _>>()?;
    let processes = !cfg.pids.is_empty() || !cfg.command.is_empty();
    for p in &patterns {
        if let Some(path) = p.path.as_deref().filter(|path| !path.exists()) {
            return Err(TraceError::Usage(format!("{}: no such file", path.display())));
        }
    }
    // Patterns without a path, and those with one when no process is
    // given, are one clause; patterns with a path and -p/-c another, kept
    // to those processes by a predicate (a path alone traces every
    // process that runs it).
    let mut everywhere = Vec::new();
    let mut scoped = Vec::new();
    for p in &patterns {
        let d = description(p)?;
        let list = if p.path.is_some() && processes { &mut scoped } else { &mut everywhere };
        if !list.contains(&d) {
            list.push(d);
        }
    }
    let mut pids: Vec<String> = Vec::new();
    if !cfg.command.is_empty() {
        pids.push("pid == $target".into());
    }
    pids.extend(cfg.pids.iter().map(|p| format!("pid == {p}")));
    let mut out = String::new();
    let _ = writeln!(out, "#!/usr/bin/env -S sdtrace -s");
    let _ = writeln!(out, "/*");
    let _ = writeln!(out, " * sdtrace trace {} as a D program:", comment_safe(&cfg.patterns.join(" ")));
    let _ = writeln!(out, " * run it with sdtrace -s FILE and the same -c or -p.");
    let _ = writeln!(out, " * printevent() prints the time since the first event, pid, tid,");
    let _ = writeln!(out, " * execname, the probe and every argument by name and type; see");
    let _ = writeln!(out, " * `sdtrace list` for the names (args->NAME) to use instead.");
    let _ = writeln!(out, " */");
    let _ = writeln!(out, "#pragma D option strsize={}", cfg.strsize);
    let _ = writeln!(out, "#pragma D option bufsize={}", cfg.bufsize);
    let _ = writeln!(out, "#pragma D option switchrate={}ms", cfg.switchrate.as_millis().max(1));
    if cfg.json {
        let _ = writeln!(out, "#pragma D option oformat=json");
    }
    let _ = writeln!(out);
    if !everywhere.is_empty() {
        let _ = writeln!(out, "{}", everywhere.join(",\n"));
        let _ = writeln!(out, "{{\n\tprintevent();\n}}");
    }
    if !scoped.is_empty() {
        if !everywhere.is_empty() {
            let _ = writeln!(out);
        }
        let _ = writeln!(out, "{}\n/{}/", scoped.join(",\n"), pids.join(" || "));
        let _ = writeln!(out, "{{\n\tprintevent();\n}}");
    }
    Ok(out)
}

/// `text` with nothing that ends a D comment.
fn comment_safe(text: &str) -> String {
    text.replace("*/", "* /")
}

/// Run a trace, printing events to `out`.
pub fn run(cfg: &TraceConfig, out: &mut dyn Write) -> Result<(), TraceError> {
    let Some(path) = &cfg.perfetto else { return run_to(cfg, out) };
    // The events are read as NDJSON, made instants of a timeline, and
    // passed on only when NDJSON was asked for.
    let mut file = std::fs::File::create(path).map_err(|e| TraceError::Usage(format!("{}: {e}", path.display())))?;
    let mut as_json = cfg.clone();
    as_json.json = true;
    let mut timeline = crate::tools::timeline::Timeline::new(crate::tools::flow::TIMELINE_LIMIT);
    {
        let pass = cfg.json;
        let mut events = crate::tools::OutputLines::new(|p: crate::tools::Printed| {
            let crate::tools::Printed::Object(e, raw) = p else { return Ok(()) };
            if pass {
                out.write_all(raw.as_bytes())?;
            }
            add_instant(&mut timeline, &e);
            Ok(())
        });
        run_to(&as_json, &mut events)?;
    }
    let t = timeline;
    if t.dropped > 0 {
        eprintln!(
            "sdtrace: the timeline keeps {} events: {} later ones left out",
            crate::tools::flow::TIMELINE_LIMIT,
            t.dropped
        );
    }
    file.write_all(&t.to_perfetto().map_err(TraceError::Run)?).map_err(TraceError::Output)?;
    eprintln!("sdtrace: wrote {} (Perfetto trace): open it at https://ui.perfetto.dev", path.display());
    Ok(())
}

/// An NDJSON event (docs/trace-json.md) as an instant named
/// `provider:probe` on its thread's track, its arguments as annotations.
fn add_instant(timeline: &mut crate::tools::timeline::Timeline, e: &serde_json::Value) {
    use crate::tools::timeline::Arg;
    let (Some(ts), Some(pid), Some(tid)) = (e["time_ns"].as_u64(), e["pid"].as_u64(), e["tid"].as_u64()) else {
        return;
    };
    let name = format!("{}:{}", e["provider"].as_str().unwrap_or(""), e["probe"].as_str().unwrap_or(""));
    let args = e["args"]
        .as_object()
        .map(|a| a.iter().map(|(k, v)| (k.clone(), Arg::from_json(v))).collect())
        .unwrap_or_default();
    let comm = e["comm"].as_str().unwrap_or("");
    timeline.instant(ts, (pid as u32, tid as u32, comm), name, "usdt", args);
}

/// Run a trace, printing events to `out`.
fn run_to(cfg: &TraceConfig, out: &mut dyn Write) -> Result<(), TraceError> {
    let text = program(cfg)?;
    let d = DConfig {
        source: Source::new("<sdtrace trace>", text),
        pids: cfg.pids.clone(),
        command: cfg.command.clone(),
        quiet: cfg.quiet,
        flowindent: false,
        options: Vec::new(),
        allow_empty: cfg.allow_zero,
        duration: cfg.duration,
        args: Vec::new(),
        dump: None,
        list_only: false,
        list_verbose: false,
        method: cfg.method,
        report: Report::Events,
        stacks: Default::default(),
    };
    match drun::run(&d, out) {
        Ok(_) => Ok(()),
        Err(DError::NoMatch { diagnostics, .. }) => {
            let mut hints: Vec<String> = diagnostics
                .iter()
                .filter(|d| d.level == Level::Error && d.kind == DiagnosticKind::NoMatch)
                .filter_map(|d| d.hint.clone())
                .filter(|h| h.starts_with("did you mean"))
                .map(|h| h.split(" (").next().unwrap_or(&h).to_string())
                .collect();
            hints.dedup();
            if !cfg.pids.is_empty() || !cfg.command.is_empty() {
                hints.push("with -Z, sdtrace waits for a library or run-time provider the process loads later".into());
            }
            let hint = if hints.is_empty() { String::new() } else { format!(" ({})", hints.join("; ")) };
            Err(TraceError::NoMatch { patterns: cfg.patterns.join(", "), hint })
        }
        Err(DError::Output(e)) => Err(TraceError::Output(e)),
        // A diagnostic points into the generated program: say what it says.
        Err(DError::Compile { diagnostics, .. }) => {
            let lines: Vec<String> = diagnostics
                .iter()
                .filter(|d| d.level == Level::Error)
                .map(|d| match &d.hint {
                    Some(h) => format!("{} ({h})", d.message),
                    None => d.message.clone(),
                })
                .collect();
            Err(TraceError::Run(lines.join("\nsdtrace: ")))
        }
        Err(e) => Err(TraceError::Run(e.to_string())),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn patterns_with_paths() {
        let p = parse_pattern("/usr/bin/python3.11:python:function__entry").unwrap();
        assert_eq!(p.path.unwrap(), PathBuf::from("/usr/bin/python3.11"));
        assert_eq!((p.provider.as_str(), p.name.as_str()), ("python", "function__entry"));
        let p = parse_pattern("gc*").unwrap();
        assert_eq!((p.provider.as_str(), p.name.as_str()), ("*", "gc*"));
        assert!(parse_pattern("/usr/bin/x").is_err());
        assert!(parse_pattern("py[thon:x").is_err());
        assert!(parse_pattern("a{b}:x").is_err());
    }

    #[test]
    fn the_program_is_one_clause_that_prints_events() {
        let cfg = TraceConfig {
            patterns: vec!["python:function-entry".into(), "python:function-entry".into(), "gc*".into()],
            pids: vec![1],
            json: true,
            ..TraceConfig::default()
        };
        let text = program(&cfg).unwrap();
        assert!(text.contains("python:::function-entry,\n*:::gc*\n{\n\tprintevent();\n}"), "{text}");
        assert!(text.contains("#pragma D option oformat=json"), "{text}");
        assert!(text.contains("#pragma D option strsize=128"), "{text}");
        // Without -p or -c: the D program's USDT descriptions look in every process.
        let everywhere = TraceConfig { patterns: vec!["python:line".into()], ..TraceConfig::default() };
        assert!(program(&everywhere).unwrap().contains("python:::line\n{\n\tprintevent();\n}"));
    }

    #[test]
    fn a_path_is_the_module_field() {
        let cfg = TraceConfig { patterns: vec!["/bin/../bin/sh:p:n".into()], ..TraceConfig::default() };
        let sh = std::fs::canonicalize("/bin/sh").unwrap();
        assert!(program(&cfg).unwrap().contains(&format!("p:{}::n", sh.display())));
        let cfg = TraceConfig { command: vec!["x".into()], pids: vec![7], ..cfg };
        assert!(program(&cfg).unwrap().contains(&format!("p:{}::n\n/pid == $target || pid == 7/\n", sh.display())));
        let cfg = TraceConfig { patterns: vec!["/nonexistent/x:p:n".into()], ..TraceConfig::default() };
        assert!(program(&cfg).unwrap_err().to_string().contains("/nonexistent/x: no such file"));
    }
}
