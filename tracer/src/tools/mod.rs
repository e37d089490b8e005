//! The ready-made tools (`sdtrace calls`, …): each is a D program, made
//! from the tool's options and the runtime of the traced process, run by
//! the one D engine ([`crate::d::run`]) with NDJSON output, whose records
//! and aggregations the tool then lays out as a table. `--dump-script`
//! prints the program, which runs with `sdtrace -s` as it is.

pub mod calls;
pub mod flow;
pub mod gc;
pub mod latency;
pub mod objnew;
pub mod stat;
pub mod timeline;

use std::io::Write;
use std::path::{Path, PathBuf};
use std::time::Duration;

use serde_json::Value as J;

use crate::d::diag::Source;
use crate::d::run::{self as drun, DConfig, DError, Report, StackOutput};
use crate::discovery::discover_file;
use crate::target;

/// What a tool traces and for how long.
#[derive(Debug, Clone, Default)]
pub struct Target {
    /// `-p`.
    pub pids: Vec<u32>,
    /// `-c`, split into argv.
    pub command: Vec<String>,
    /// `--duration`.
    pub duration: Option<Duration>,
    /// `-Z`: start before the probes are mapped.
    pub allow_zero: bool,
}

/// Run the D program `text` of tool `tool` over `t`, its NDJSON output
/// written to `out` (the engine prints records as they come and
/// aggregations at exit).
fn run_program(tool: &'static str, text: String, t: &Target, out: &mut dyn Write) -> Result<(), DError> {
    let d = DConfig {
        source: Source::new(format!("<sdtrace {tool}>"), text),
        pids: t.pids.clone(),
        command: t.command.clone(),
        quiet: true,
        flowindent: false,
        options: vec![("oformat".into(), Some("json".into()))],
        allow_empty: t.allow_zero,
        duration: t.duration,
        args: Vec::new(),
        dump: None,
        list_only: false,
        list_verbose: false,
        method: None,
        report: Report::Tool(tool),
        stacks: StackOutput::default(),
    };
    drun::run(&d, out).map(|_| ())
}

/// Run a tool's D program to its end; the NDJSON objects it printed.
fn run_collect(tool: &'static str, text: String, t: &Target) -> Result<Vec<J>, DError> {
    let mut buf = Vec::new();
    run_program(tool, text, t, &mut buf)?;
    Ok(buf.split(|&b| b == b'\n').filter(|l| !l.is_empty()).filter_map(|l| serde_json::from_slice(l).ok()).collect())
}

/// One thing a program printed as NDJSON: a line of the text of its
/// printf records, or another object (an aggregation, printed by `printa`
/// or at exit; a `printevent()` event).
pub(crate) enum Printed<'a> {
    /// A line of text.
    Line(&'a str),
    /// Any other NDJSON object, and its line as printed.
    Object(J, &'a str),
}

/// Reads what a program prints as it runs (the engine's NDJSON:
/// `{"output":…}` per printf record, an object per aggregation or event)
/// and gives each line and object to `on_item` in order.
pub(crate) struct OutputLines<F: FnMut(Printed) -> std::io::Result<()>> {
    on_item: F,
    partial: Vec<u8>,
}

impl<F: FnMut(Printed) -> std::io::Result<()>> OutputLines<F> {
    pub(crate) fn new(on_item: F) -> Self {
        OutputLines { on_item, partial: Vec::new() }
    }
}

impl<F: FnMut(Printed) -> std::io::Result<()>> Write for OutputLines<F> {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.partial.extend_from_slice(buf);
        while let Some(at) = self.partial.iter().position(|&b| b == b'\n') {
            let line: Vec<u8> = self.partial.drain(..=at).collect();
            let Ok(v) = serde_json::from_slice::<J>(&line) else { continue };
            match v.get("output").and_then(J::as_str) {
                Some(text) => {
                    for l in text.lines() {
                        (self.on_item)(Printed::Line(l))?;
                    }
                }
                None => {
                    let raw = String::from_utf8_lossy(&line);
                    (self.on_item)(Printed::Object(v, &raw))?;
                }
            }
        }
        Ok(buf.len())
    }

    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

/// The entries of aggregation `@name` among NDJSON objects.
fn agg_entries<'a>(lines: &'a [J], name: &str) -> impl Iterator<Item = &'a J> + 'a {
    let name = format!("@{name}");
    lines
        .iter()
        .filter(move |l| l.get("aggregation").and_then(J::as_str) == Some(name.as_str()))
        .flat_map(|l| l.get("entries").and_then(J::as_array).into_iter().flatten())
}

/// An aggregation entry's keys as text.
fn entry_keys(e: &J) -> Vec<String> {
    e.get("keys")
        .and_then(J::as_array)
        .map(|k| k.iter().map(|v| v.as_str().map(str::to_string).unwrap_or_else(|| v.to_string())).collect())
        .unwrap_or_default()
}

/// An aggregation entry's value (0 for a histogram).
fn entry_value(e: &J) -> i64 {
    e.get("value").and_then(J::as_i64).unwrap_or(0)
}

/// A histogram entry's rows: (bucket label, count).
fn entry_buckets(e: &J) -> Vec<(String, i64)> {
    e.get("buckets")
        .and_then(J::as_array)
        .into_iter()
        .flatten()
        .map(|b| {
            let v = b.get("value").map(|v| v.as_str().map(str::to_string).unwrap_or_else(|| v.to_string()));
            (v.unwrap_or_default(), b.get("count").and_then(J::as_i64).unwrap_or(0))
        })
        .collect()
}

/// A language runtime whose calls the tools can follow through its USDT
/// probes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum Runtime {
    /// CPython (`python:function__entry`, `function__return`).
    Python,
    /// Ruby (`ruby:method__entry`, `method__return`).
    Ruby,
    /// The JVM (HotSpot's `hotspot:method__entry`, `method__return`, which
    /// fire only under `-XX:+DTraceMethodProbes`; sdtrace adds the flag to
    /// a `-c` command).
    Java,
}

impl Runtime {
    /// The provider that carries its probes.
    pub fn provider(self) -> &'static str {
        match self {
            Runtime::Python => "python",
            Runtime::Ruby => "ruby",
            Runtime::Java => "hotspot",
        }
    }

    /// Its name as users say it.
    pub fn name(self) -> &'static str {
        match self {
            Runtime::Python => "Python",
            Runtime::Ruby => "Ruby",
            Runtime::Java => "Java",
        }
    }

    fn from_provider(p: &str) -> Option<Runtime> {
        match p {
            "python" => Some(Runtime::Python),
            "ruby" => Some(Runtime::Ruby),
            "hotspot" => Some(Runtime::Java),
            _ => None,
        }
    }

    /// The runtime a program's file name suggests (`python3.11`, `ruby3.1`).
    fn from_program_name(path: &Path) -> Option<Runtime> {
        let name = path.file_name()?.to_str()?;
        if name.starts_with("python") || name == "pypy3" {
            Some(Runtime::Python)
        } else if name.starts_with("ruby") {
            Some(Runtime::Ruby)
        } else if name == "java" {
            Some(Runtime::Java)
        } else {
            None
        }
    }
}

/// What was found of the traced program's runtime.
#[derive(Debug, Clone)]
pub struct Detected {
    /// The runtime.
    pub runtime: Runtime,
    /// The file whose probes it has (the interpreter or its library), when
    /// found before the start.
    pub object: Option<PathBuf>,
    /// Something to tell the user (a script in front of the interpreter,
    /// probes not found yet).
    pub note: Option<String>,
    /// The command to run instead of the one given: the interpreter a
    /// pyenv shim names, run directly, so that its probes are attached
    /// before it starts.
    pub command: Option<Vec<String>>,
}

/// The interpreter the pyenv shim `shim` runs for `name`: the shim execs
/// `…/libexec/pyenv exec NAME`, and `pyenv which NAME` says what that
/// runs (by the same `PYENV_VERSION` and `.python-version` files).
fn pyenv_interpreter(shim: &Path, name: &str) -> Option<PathBuf> {
    use std::io::Read;
    let mut text = String::new();
    std::fs::File::open(shim).ok()?.take(64 << 10).read_to_string(&mut text).ok()?;
    let pyenv = text.lines().find_map(|l| {
        let rest = l.trim().strip_prefix("exec \"")?;
        let (path, after) = rest.split_once('"')?;
        (path.ends_with("/pyenv") && after.trim_start().starts_with("exec")).then(|| PathBuf::from(path))
    })?;
    let out =
        std::process::Command::new(pyenv).args(["which", name]).stderr(std::process::Stdio::null()).output().ok()?;
    let path = PathBuf::from(String::from_utf8_lossy(&out.stdout).trim());
    (out.status.success() && path.is_absolute() && path.is_file()).then_some(path)
}

/// System interpreters of `runtime` that have its probes, to suggest.
fn interpreters_with_probes(runtime: Runtime) -> Vec<PathBuf> {
    let names: &[&str] = match runtime {
        Runtime::Python => &["/usr/bin/python3.11", "/usr/bin/python3"],
        Runtime::Ruby => &["/usr/bin/ruby3.1", "/usr/bin/ruby"],
        Runtime::Java => &[],
    };
    names
        .iter()
        .map(PathBuf::from)
        .filter(|p| {
            let mut files = vec![p.clone()];
            files.extend(target::needed_libraries(p));
            providers_in(&files).is_some_and(|(r, _)| r == runtime)
        })
        .take(1)
        .collect()
}

/// The runtime providers in `paths`, with the file that has each.
fn providers_in(paths: &[PathBuf]) -> Option<(Runtime, PathBuf)> {
    for p in paths {
        let Ok(obj) = discover_file(p) else { continue };
        if let Some(r) = obj.probes.iter().find_map(|probe| Runtime::from_provider(&probe.provider)) {
            return Some((r, p.clone()));
        }
    }
    None
}

/// The runtime of the processes `pids` or of the command `argv`, from the
/// probes their executable and libraries carry, else from the program's
/// name (a pyenv shim or wrapper script in front of the interpreter, which
/// is traced once it starts).
pub fn detect(pids: &[u32], argv: &[String]) -> Result<Detected, String> {
    if let Some(program) = argv.first() {
        let exe = target::command_program(program)?;
        let named = Runtime::from_program_name(Path::new(program)).or_else(|| Runtime::from_program_name(&exe));
        let shim = Path::new(program).file_name().and_then(|n| n.to_str()).and_then(|n| pyenv_interpreter(&exe, n));
        if let Some(real) = shim {
            let mut files = vec![real.clone()];
            files.extend(target::needed_libraries(&real));
            let Some((runtime, object)) = providers_in(&files) else {
                let runtime = named.unwrap_or(Runtime::Python);
                let instead = interpreters_with_probes(runtime)
                    .first()
                    .map(|p| format!("; {} has them", p.display()))
                    .unwrap_or_default();
                return Err(format!(
                    "`{program}` is a pyenv shim for {}, which was built without {}'s USDT probes (configure \
                     --with-dtrace): its calls cannot be traced{instead}",
                    real.display(),
                    runtime.name()
                ));
            };
            let mut command = argv.to_vec();
            command[0] = real.to_string_lossy().into_owned();
            return Ok(Detected {
                runtime,
                object: Some(object),
                note: Some(format!(
                    "`{program}` is a pyenv shim: running the interpreter it names, {}",
                    real.display()
                )),
                command: Some(command),
            });
        }
        let image = target::executed_image(&exe);
        let mut files = vec![image.clone()];
        files.extend(target::needed_libraries(&image));
        // The java launcher opens the JVM itself, beside it.
        let image_real = std::fs::canonicalize(&image).unwrap_or(image.clone());
        if let Some(jvm) = image_real.parent().and_then(Path::parent).map(|home| home.join("lib/server/libjvm.so")) {
            if jvm.is_file() {
                files.push(jvm);
            }
        }
        if let Some((runtime, object)) = providers_in(&files) {
            let note = (image != exe)
                .then(|| format!("`{program}` is a script ({}); it runs {}", exe.display(), image.display()));
            return Ok(Detected { runtime, object: Some(object), note, command: None });
        }
        return match named {
            Some(runtime) => Ok(Detected {
                runtime,
                object: None,
                command: None,
                note: Some(format!(
                    "{} has no {} probes: if `{program}` is a wrapper (a pyenv shim, a virtualenv's link), the \
                     interpreter it starts is traced when it maps them; an interpreter built without probes \
                     (--with-dtrace / --enable-dtrace) shows nothing",
                    image.display(),
                    runtime.name()
                )),
            }),
            None => Err(format!(
                "cannot tell which runtime `{program}` is: {} carries no Python, Ruby or Java probes; name it \
                 with --runtime",
                image.display()
            )),
        };
    }
    let mut found: Option<(Runtime, PathBuf)> = None;
    for &pid in pids {
        let objects = target::process_objects(pid).map_err(|e| e.to_string())?;
        let paths: Vec<PathBuf> = objects.into_iter().map(|o| o.open_path).collect();
        match (providers_in(&paths), &found) {
            (None, _) => {
                return Err(format!(
                    "pid {pid} ({}) has no Python, Ruby or Java probes mapped; name the runtime with --runtime if it \
                     loads them later",
                    target::process_executable(pid).unwrap_or_else(|| "?".into())
                ))
            }
            (Some((r, _)), Some((first, _))) if r != *first => {
                return Err(format!(
                    "pid {pid} runs {}, not {} as the others: trace one runtime at a time",
                    r.name(),
                    first.name()
                ))
            }
            (Some(f), None) => found = Some(f),
            (Some(_), Some(_)) => {}
        }
    }
    let (runtime, object) = found.ok_or("name a process to trace with -p PID or a command with -c")?;
    Ok(Detected { runtime, object: Some(object), note: None, command: None })
}

/// The ELF objects of the processes `pids` (what they map) or of the
/// command `argv` (its program, through a `#!` script, and the libraries
/// it links).
pub fn target_objects(pids: &[u32], argv: &[String]) -> Result<Vec<PathBuf>, String> {
    if let Some(program) = argv.first() {
        let image = target::executed_image(&target::command_program(program)?);
        let mut files = vec![image.clone()];
        files.extend(target::needed_libraries(&image));
        return Ok(files);
    }
    let mut files = Vec::new();
    for &pid in pids {
        for o in target::process_objects(pid).map_err(|e| e.to_string())? {
            if !files.contains(&o.open_path) {
                files.push(o.open_path);
            }
        }
    }
    Ok(files)
}

/// The first of `files` with a probe of `provider`.
pub fn object_with_provider(files: &[PathBuf], provider: &str) -> Option<PathBuf> {
    files.iter().find(|p| discover_file(p).is_ok_and(|o| o.probes.iter().any(|pr| pr.provider == provider))).cloned()
}

/// Where a tool's runtime probes are attached: in the traced processes'
/// objects (the default), or on one object for every process that maps it,
/// with a condition that the process is one of those traced. The JVM's
/// probes are attached so: the java launcher opens libjvm.so after it
/// starts, and its method probes have no semaphore, so attaching to the
/// file costs other JVMs nothing.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ByPath(pub Option<(PathBuf, String)>);

impl ByPath {
    /// The description of `provider`'s probe `name`.
    pub fn desc(&self, provider: &str, name: &str) -> String {
        match &self.0 {
            Some((module, _)) => format!("{provider}:{}::{name}", module.display()),
            None => format!("{provider}:::{name}"),
        }
    }

    /// A predicate `/…/` of the condition and `extra` (either may be
    /// empty), with its newline; "" when both are.
    pub fn pred(&self, extra: &str) -> String {
        let conds: Vec<&str> = [self.0.as_ref().map(|(_, c)| c.as_str()).unwrap_or(""), extra]
            .into_iter()
            .filter(|c| !c.is_empty())
            .collect();
        match conds.as_slice() {
            [] => String::new(),
            [one] => format!("/{one}/\n"),
            many => format!("/{}/\n", many.iter().map(|c| format!("({c})")).collect::<Vec<_>>().join(" && ")),
        }
    }

    /// Attach `runtime`'s probes on `object` when it is the JVM, for the
    /// processes `pids` or the command (`$target`).
    pub fn for_runtime(runtime: Runtime, object: Option<&Path>, pids: &[u32]) -> ByPath {
        let Some(object) = object.filter(|_| runtime == Runtime::Java) else { return ByPath(None) };
        let object = std::fs::canonicalize(object).unwrap_or_else(|_| object.to_path_buf());
        let cond = if pids.is_empty() {
            "pid == $target".to_string()
        } else {
            pids.iter().map(|p| format!("pid == {p}")).collect::<Vec<_>>().join(" || ")
        };
        ByPath(Some((object, cond)))
    }
}

/// A D condition that `expr` (a string) matches the shell glob `glob`,
/// whose only wildcard is `*`: literal pieces found in order with
/// `index()` and `substr()`. `?`, `[` and `\` are refused, since D has no
/// other way to say them.
pub fn glob_condition(expr: &str, glob: &str) -> Result<String, String> {
    if let Some(c) = glob.chars().find(|c| matches!(c, '?' | '[' | ']' | '\\' | '"')) {
        return Err(format!("--filter `{glob}`: only `*` is a wildcard here, `{c}` is not supported"));
    }
    let parts: Vec<&str> = glob.split('*').collect();
    if parts.len() == 1 {
        return Ok(format!("{expr} == \"{glob}\""));
    }
    let mut conds = Vec::new();
    let (first, last) = (parts[0], parts[parts.len() - 1]);
    if !first.is_empty() {
        conds.push(format!("substr({expr}, 0, {}) == \"{first}\"", first.len()));
    }
    if !last.is_empty() {
        conds.push(format!("strlen({expr}) >= {}", first.len() + last.len()));
        conds.push(format!("substr({expr}, strlen({expr}) - {}) == \"{last}\"", last.len()));
    }
    // The middle pieces in order, each after the one before it, and
    // before the last piece.
    let mut at = first.len().to_string();
    for piece in parts[1..parts.len() - 1].iter().filter(|p| !p.is_empty()) {
        let found = format!("index({expr}, \"{piece}\", {at})");
        conds.push(format!("{found} >= 0"));
        if !last.is_empty() {
            conds.push(format!("{found} + {} <= strlen({expr}) - {}", piece.len(), last.len()));
        }
        at = format!("{found} + {}", piece.len());
    }
    if conds.is_empty() {
        // `*` alone.
        return Ok("1".into());
    }
    Ok(conds.join(" && "))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn globs_become_conditions_in_order() {
        assert_eq!(glob_condition("f", "main").unwrap(), "f == \"main\"");
        assert_eq!(glob_condition("f", "*").unwrap(), "1");
        assert_eq!(glob_condition("f", "handle_*").unwrap(), "substr(f, 0, 7) == \"handle_\"");
        assert_eq!(glob_condition("f", "*_done").unwrap(), "strlen(f) >= 5 && substr(f, strlen(f) - 5) == \"_done\"");
        assert_eq!(glob_condition("f", "a*b*").unwrap(), "substr(f, 0, 1) == \"a\" && index(f, \"b\", 1) >= 0");
        assert!(glob_condition("f", "a?").unwrap_err().contains("`?`"));
    }
}
