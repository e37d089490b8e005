//! The tools' subcommands (`calls`, `flow`, `latency`): their flags, and
//! the step from flags to a tool run (docs/tools.md).

use std::io::{self, Write};
use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::Context;

use tracer::d::run::DError;
use tracer::tools::{ByPath, Target};

use crate::{StackArgs, TargetArgs};

/// Count a Python or Ruby program's function calls, in the kernel.
///
/// A D program (see --dump-script) over the runtime's entry and return
/// probes: calls per file and function; with -L their inclusive and
/// exclusive time, with -D a distribution of it, with -S the syscalls
/// made inside each function. The runtime is found from the probes of
/// the -c program (through a `#!` script) or the -p process.
#[derive(Debug, clap::Args)]
#[command(after_help = "\
Examples:
  sdtrace calls -c 'python3.11 app.py'
  sdtrace calls -L -S -T 10 -p 1234 --duration 10
  sdtrace calls -L --filter 'handle_*' -c 'python3.11 app.py' --json
  sdtrace calls -L -S --file app.py -c 'python3.11 app.py'   (app.py's functions only)
  sdtrace calls -c 'ruby -r/path/to/tracer/d/rb_tracepoint.rb app.rb'
  sdtrace calls --flamegraph calls.svg -c 'python3.11 app.py'
  sdtrace calls -L -S -c 'python3.11 app.py' --dump-script > calls.d

--folded and --flamegraph show where time goes by the stack of calls each
function ran under, weighted by its exclusive time in ns: the stacks are
kept per thread from the entry and return probes, so no frame is unwound.

CPython 3.11 fires function-entry for calls made from Python only while its
`line` probe is enabled: sdtrace enables it, with no program on its sites.
Ruby fires method-entry and method-return only while a call/return
TracePoint is enabled in the process: load tracer/d/rb_tracepoint.rb (an
empty one) with -r or RUBYOPT. Times are in microseconds; a call still
running when tracing stops is not counted with -L.")]
pub(crate) struct CallsArgs {
    #[command(flatten)]
    traced: TracedArgs,
    /// Inclusive and exclusive time per function (total and average).
    #[arg(short = 'L', long)]
    latency: bool,
    /// A distribution of each function's inclusive time.
    #[arg(short = 'D', long)]
    distribution: bool,
    /// The syscalls made inside each function (counts and time).
    #[arg(short = 'S', long)]
    syscalls: bool,
    /// Only the N functions called most (with -L: that took longest).
    #[arg(short = 'T', long, value_name = "N")]
    top: Option<usize>,
    /// Only functions whose name matches GLOB (`*` wildcards; Ruby
    /// names are `Class#method`).
    #[arg(long, value_name = "GLOB")]
    filter: Option<String>,
    /// Only functions of files whose name (without its directory)
    /// matches GLOB (`app.py`, `*.py`).
    #[arg(long, value_name = "GLOB")]
    file: Option<String>,
    /// Print one JSON object instead of tables.
    #[arg(long)]
    json: bool,
    #[command(flatten)]
    stacks: StackArgs,
    /// Print the D program, then exit.
    #[arg(long)]
    dump_script: bool,
}

/// Follow a Python or Ruby program's calls as they happen.
///
/// Each call's entry and return, indented by depth per thread, with the
/// call's duration at its return; with --syscalls the syscalls made
/// inside calls, with --sched the time off CPU inside them. Events are
/// ordered by time across threads and CPUs. --perfetto writes a native
/// Perfetto trace (a track per thread, calls as nested slices, syscalls
/// and off-CPU time as slices inside them); --chrome-json the same in
/// Chrome's Trace Event Format.
#[derive(Debug, clap::Args)]
#[command(after_help = "\
Examples:
  sdtrace flow -c 'python3.11 app.py'
  sdtrace flow --syscalls --file app.py -c 'python3.11 app.py'
  sdtrace flow -q --syscalls --sched --perfetto app.pftrace -p 1234 --duration 5
  sdtrace flow --json --filter 'handle_*' -p 1234
  sdtrace flow --syscalls -c 'python3.11 app.py' --dump-script > flow.d

Open a --perfetto file at https://ui.perfetto.dev (or with trace_processor).
TIME is milliseconds since the first event shown; a return shows how long
the call took. Calls that began before tracing show from their callees on.")]
pub(crate) struct FlowArgs {
    #[command(flatten)]
    traced: TracedArgs,
    /// Show the syscalls made inside calls.
    #[arg(long)]
    syscalls: bool,
    /// Show when a thread leaves the CPU inside a call, and for how long.
    #[arg(long)]
    sched: bool,
    /// Only calls of functions whose name matches GLOB (`*` wildcards).
    #[arg(long, value_name = "GLOB")]
    filter: Option<String>,
    /// Only calls of functions of files whose name matches GLOB.
    #[arg(long, value_name = "GLOB")]
    file: Option<String>,
    /// Print NDJSON events instead of text.
    #[arg(long)]
    json: bool,
    /// Write a Perfetto trace (protobuf) to FILE.
    #[arg(long, value_name = "FILE")]
    perfetto: Option<PathBuf>,
    /// Write a Chrome Trace Event Format (JSON) file.
    #[arg(long, value_name = "FILE")]
    chrome_json: Option<PathBuf>,
    /// Print no events (with --perfetto or --chrome-json).
    #[arg(short, long)]
    quiet: bool,
    /// Print the D program, then exit.
    #[arg(long)]
    dump_script: bool,
}

/// The time between two probes: a histogram, with the syscalls and
/// off-CPU time between them.
///
/// START and DONE are PROVIDER:NAME (`postgresql:query-start`) or D
/// descriptions. An interval starts when START fires and ends when DONE
/// fires in the same thread, or, with --key, with the same value of
/// an argument (a request id). --by splits the figures by a value
/// taken at START. See --dump-script for the D program.
#[derive(Debug, clap::Args)]
#[command(after_help = "\
Examples:
  sdtrace latency postgresql:query-start postgresql:query-done -p POSTMASTER_PID --syscalls --sched
  sdtrace latency postgresql:query-start postgresql:query-done -p PID --by 'copyinstr(arg0)'
  sdtrace latency myapp:request-start myapp:request-done --key arg0 -c ./server --duration 30
  sdtrace latency python:function-entry python:function-return -c 'python3.11 app.py' --json
  sdtrace latency myservice:handle_request -p PID --by args->route --syscalls   (a tracing span)

--children follows the traced processes' descendants, forked before or
after the start (a server's workers); it is on for the postgresql provider,
whose backends are children of the postmaster given with -p. Intervals still
open when tracing stops are not counted.")]
pub(crate) struct LatencyArgs {
    /// The probe that starts an interval.
    #[arg(value_name = "START")]
    start: String,
    /// The probe that ends it. Without it, START names a span of a
    /// service using usdt-runtime's tracing layer (PROVIDER:SPAN): from
    /// the span's enter to its exit.
    #[arg(value_name = "DONE")]
    done: Option<String>,
    #[command(flatten)]
    target: TargetArgs,
    /// Match START and DONE by this D expression of their arguments
    /// (`arg0`) instead of by thread.
    #[arg(long, value_name = "EXPR")]
    key: Option<String>,
    /// Split the figures by this D expression, taken at START
    /// (`copyinstr(arg0)`).
    #[arg(long, value_name = "EXPR")]
    by: Option<String>,
    /// The syscalls made between START and DONE (by thread only).
    #[arg(long)]
    syscalls: bool,
    /// The time off CPU between START and DONE (by thread only).
    #[arg(long)]
    sched: bool,
    /// Follow the traced processes' descendants too.
    #[arg(long)]
    children: bool,
    /// Print one JSON object instead of text.
    #[arg(long)]
    json: bool,
    /// Print the D program, then exit.
    #[arg(long)]
    dump_script: bool,
}

/// The runtime a tool traces: the one named, or the one the -c program or
/// -p processes carry probes of; and whether its probes may be mapped
/// only later (a wrapper in front of the interpreter), so the tool starts
/// with -Z.
fn tool_runtime(
    traced: &TracedArgs,
    dump_script: bool,
    method_probes: bool,
) -> anyhow::Result<(tracer::tools::Runtime, Target, ByPath)> {
    use tracer::tools::Runtime;
    let named = traced.runtime;
    let mut target = tool_target(&traced.target, false);
    let none = target.pids.is_empty() && target.command.is_empty();
    let (runtime, object) = match named {
        Some(r) if r != Runtime::Java || none => {
            target.allow_zero = true;
            (r, None)
        }
        None if dump_script && none => {
            anyhow::bail!("name the runtime with --runtime, or the program with -c or -p")
        }
        _ => {
            let found = tracer::tools::detect(&target.pids, &target.command).map_err(anyhow::Error::msg)?;
            if let Some(n) = &found.note {
                eprintln!("sdtrace: note: {n}");
            }
            target.allow_zero |= found.object.is_none();
            if let Some(c) = found.command {
                target.command = c;
            }
            (named.unwrap_or(found.runtime), found.object)
        }
    };
    if runtime == Runtime::Java && method_probes {
        java_method_probes(&mut target);
    }
    let by_path = ByPath::for_runtime(runtime, object.as_deref(), &target.pids);
    Ok((runtime, target, by_path))
}

/// HotSpot fires its method probes only under `-XX:+DTraceMethodProbes`
/// (or `ExtendedDTraceProbes`): added to a `-c` java command that lacks
/// it; said of a `-p` JVM started without it.
fn java_method_probes(target: &mut Target) {
    let has = |args: &[String]| args.iter().any(|a| a == "-XX:+DTraceMethodProbes" || a == "-XX:+ExtendedDTraceProbes");
    if !target.command.is_empty() {
        if !has(&target.command) {
            target.command.insert(1, "-XX:+DTraceMethodProbes".into());
            eprintln!(
                "sdtrace: note: the JVM fires method probes only under -XX:+DTraceMethodProbes: added to the command"
            );
        }
        return;
    }
    for pid in &target.pids {
        let cmdline = std::fs::read(format!("/proc/{pid}/cmdline")).unwrap_or_default();
        let args: Vec<String> = cmdline.split(|&b| b == 0).map(|a| String::from_utf8_lossy(a).into_owned()).collect();
        if !has(&args) {
            eprintln!(
                "sdtrace: warning: pid {pid} was started without -XX:+DTraceMethodProbes: its JVM fires no method \
                 probes (start it with the flag)"
            );
        }
    }
}

/// Each garbage collection of a Python or Ruby program, with its duration.
///
/// CPython's collections show their generation and the objects found
/// unreachable (the gc__start and gc__done probes); Ruby's its mark and
/// sweep phases (Ruby sweeps lazily, in steps); the JVM's whether each is
/// young or full. Totals per generation or phase at the end.
#[derive(Debug, clap::Args)]
#[command(after_help = "\
Examples:
  sdtrace gc -c 'python3.11 app.py'
  sdtrace gc -p 1234 --duration 30 --json
  sdtrace gc -c 'ruby app.rb' --dump-script > gc.d
  sdtrace gc -c 'java -cp classes Main'")]
pub(crate) struct GcArgs {
    #[command(flatten)]
    traced: TracedArgs,
    /// Print one JSON object per collection, and one of totals at the end.
    #[arg(long)]
    json: bool,
    /// Print the D program, then exit.
    #[arg(long)]
    dump_script: bool,
}

/// `sdtrace gc`.
pub(crate) fn gc(args: GcArgs) -> anyhow::Result<ExitCode> {
    use tracer::tools::gc;
    let GcArgs { traced, json, dump_script } = args;
    // HotSpot's gc probes fire without a flag.
    let (runtime, target, by_path) = tool_runtime(&traced, dump_script, false)?;
    let none = target.pids.is_empty() && target.command.is_empty();
    let run = gc::GcRun { runtime, target, json, by_path };
    finish(dump_script, || gc::program(runtime, &run.by_path), none, |out| gc::run(&run, out))
}

/// The objects a Ruby program allocates, counted per class in the kernel.
///
/// From Ruby's object__create probe, which fires without a TracePoint.
/// Ruby's probe carries no size, so bytes are not shown; CPython has no
/// allocation probe.
#[derive(Debug, clap::Args)]
#[command(after_help = "\
Examples:
  sdtrace objnew -c 'ruby app.rb'
  sdtrace objnew --sites -T 20 -p 1234 --duration 10
  sdtrace objnew -p 1234 --json")]
pub(crate) struct ObjnewArgs {
    #[command(flatten)]
    traced: TracedArgs,
    /// Count per allocating file and line too.
    #[arg(long)]
    sites: bool,
    /// Only the N rows with the most objects.
    #[arg(short = 'T', long, value_name = "N")]
    top: Option<usize>,
    /// Print one JSON object instead of a table.
    #[arg(long)]
    json: bool,
    /// Print the D program, then exit.
    #[arg(long)]
    dump_script: bool,
}

/// `sdtrace objnew`.
pub(crate) fn objnew(args: ObjnewArgs) -> anyhow::Result<ExitCode> {
    use tracer::tools::objnew;
    let ObjnewArgs { traced, sites, top, json, dump_script } = args;
    let (runtime, target, _) = tool_runtime(&traced, dump_script, true)?;
    let none = target.pids.is_empty() && target.command.is_empty();
    let run = objnew::ObjnewRun { runtime, target, sites, top, json };
    finish(dump_script, || objnew::program(runtime, sites), none, |out| objnew::run(&run, out))
}

/// What each Python and Ruby process does per second, refreshed.
///
/// ustat's columns: calls, garbage collections, objects allocated, files
/// loaded (imports, requires) and exceptions raised per second, per
/// process, counted in the kernel. Without -p or -c every process with the
/// runtimes' probes is watched, those started later included.
#[derive(Debug, clap::Args)]
#[command(after_help = "\
Examples:
  sdtrace stat                      (every Python and Ruby process, every second)
  sdtrace stat -i 5 3               (three intervals of 5 s)
  sdtrace stat -p 1234 --runtime ruby --json

Columns a runtime has no probe for stay 0 (CPython has no allocation or
raise probe). Ruby counts calls only under a call/return TracePoint.")]
pub(crate) struct StatArgs {
    #[command(flatten)]
    target: TargetArgs,
    /// Watch this runtime only (both without it).
    #[arg(long, value_enum)]
    runtime: Option<tracer::tools::Runtime>,
    /// Seconds between tables.
    #[arg(short = 'i', long, default_value_t = 1, value_name = "SECONDS", value_parser = clap::value_parser!(u32).range(1..=3600))]
    interval: u32,
    /// Print this many tables, then stop (for ever without).
    #[arg(value_name = "COUNT", value_parser = clap::value_parser!(u32).range(1..))]
    count: Option<u32>,
    /// Print one JSON object per interval.
    #[arg(long)]
    json: bool,
    /// Print the D program, then exit.
    #[arg(long)]
    dump_script: bool,
}

/// `sdtrace stat`.
pub(crate) fn stat(args: StatArgs) -> anyhow::Result<ExitCode> {
    use tracer::tools::{stat, Runtime};
    let StatArgs { target, runtime, interval, count, json, dump_script } = args;
    if runtime == Some(Runtime::Java) {
        anyhow::bail!("stat: not yet for Java");
    }
    let runtimes = runtime.map_or(vec![Runtime::Python, Runtime::Ruby], |r| vec![r]);
    let run = stat::StatRun { runtimes, target: tool_target(&target, true), interval, count, json };
    finish(dump_script, || Ok(stat::program(&run.runtimes, interval, count)), false, |out| stat::run(&run, out))
}

/// What a runtime tool traces: the flags `calls`, `flow`, `gc` and
/// `objnew` share, defined once.
#[derive(Debug, clap::Args)]
pub(crate) struct TracedArgs {
    #[command(flatten)]
    target: TargetArgs,
    /// The runtime, when it cannot be told from the program.
    #[arg(long, value_enum)]
    runtime: Option<tracer::tools::Runtime>,
}

/// The end of every tool: with `--dump-script` print its D program
/// (`program`), else check a target was named (`needs_target`) and run it
/// with stdout as its output; compile errors and no-matches are rendered
/// with their exit status (2 and 1), as for `-n`.
fn finish(
    dump_script: bool,
    program: impl FnOnce() -> Result<String, String>,
    needs_target: bool,
    run: impl FnOnce(&mut dyn Write) -> Result<(), DError>,
) -> anyhow::Result<ExitCode> {
    let stdout = io::stdout();
    let mut out = io::BufWriter::new(stdout.lock());
    if dump_script {
        out.write_all(program().map_err(anyhow::Error::msg)?.as_bytes())?;
        out.flush().context("writing output")?;
        return Ok(ExitCode::SUCCESS);
    }
    if needs_target {
        anyhow::bail!("name the program to trace with -c COMMAND or -p PID");
    }
    match run(&mut out) {
        Ok(()) => {}
        Err(e @ (DError::Compile { .. } | DError::NoMatch { .. })) => {
            eprint!("{e}");
            return Ok(ExitCode::from(e.exit_status()));
        }
        Err(e) => return Err(e.into()),
    }
    out.flush().context("writing output")?;
    Ok(ExitCode::SUCCESS)
}

/// What a tool traces, from its flags.
fn tool_target(target: &TargetArgs, late: bool) -> Target {
    Target {
        pids: target.unique_pids(),
        command: target.command.clone().map(|c| c.0).unwrap_or_default(),
        duration: target.duration,
        allow_zero: target.allow_zero || late,
    }
}

/// `sdtrace calls`.
pub(crate) fn calls(args: CallsArgs) -> anyhow::Result<ExitCode> {
    let CallsArgs { traced, latency, distribution, syscalls, top, filter, file, json, stacks, dump_script } = args;
    use tracer::tools::calls;
    let options = calls::CallsOptions {
        latency,
        distribution,
        syscalls,
        top,
        filter,
        file,
        stacks: stacks.folded || stacks.flamegraph.is_some(),
        by_path: ByPath::default(),
    };
    let (runtime, target, by_path) = tool_runtime(&traced, dump_script, true)?;
    let none = target.pids.is_empty() && target.command.is_empty();
    let options = calls::CallsOptions { by_path, ..options };
    let run = calls::CallsRun { runtime, options, target, json, stacks: stacks.output() };
    finish(dump_script, || calls::program(runtime, &run.options), none, |out| calls::run(&run, out))
}

/// `sdtrace flow`.
pub(crate) fn flow(args: FlowArgs) -> anyhow::Result<ExitCode> {
    let FlowArgs { traced, syscalls, sched, filter, file, json, perfetto, chrome_json, quiet, dump_script } = args;
    use tracer::tools::flow;
    let options = flow::FlowOptions { syscalls, sched, filter, file, by_path: ByPath::default() };
    let (runtime, target, by_path) = tool_runtime(&traced, dump_script, true)?;
    let none = target.pids.is_empty() && target.command.is_empty();
    let options = flow::FlowOptions { by_path, ..options };
    let run = flow::FlowRun { runtime, options, target, json, perfetto, chrome_json, quiet };
    finish(dump_script, || flow::program(runtime, &run.options), none, |out| flow::run(&run, out))
}

/// `sdtrace latency`.
pub(crate) fn latency(args: LatencyArgs) -> anyhow::Result<ExitCode> {
    let LatencyArgs { start, done, target, key, by, syscalls, sched, children, json, dump_script } = args;
    use tracer::tools::{self, latency};
    let pids = target.unique_pids();
    let command = target.command.clone().map(|c| c.0).unwrap_or_default();
    let provider = start.split(':').next().unwrap_or_default().to_string();
    // PROVIDER:SPAN alone: the tracing layer's NAME__enter to NAME__exit.
    let (start, done) = match done {
        Some(d) => (start, d),
        None if start.matches(':').count() == 1 => (format!("{start}-enter"), format!("{start}-exit")),
        None => anyhow::bail!("`{start}`: name the DONE probe too, or a span as PROVIDER:SPAN"),
    };
    let mut options = latency::LatencyOptions { start, done, key, by, syscalls, sched, children: None };
    if (children || provider == "postgresql") && (!pids.is_empty() || !command.is_empty()) {
        let files = tools::target_objects(&pids, &command).map_err(anyhow::Error::msg)?;
        let object = tools::object_with_provider(&files, &provider).ok_or_else(|| {
            anyhow::anyhow!(
                "--children: no object of the traced {} has `{provider}` probes",
                if command.is_empty() { "processes" } else { "command" }
            )
        })?;
        let object = std::fs::canonicalize(&object).unwrap_or(object);
        let within = if command.is_empty() {
            pids.iter().map(|p| format!("progenyof({p})")).collect::<Vec<_>>().join(" || ")
        } else {
            "progenyof($target)".to_string()
        };
        options.children = Some((object, within));
    }
    let run = latency::LatencyRun { options, target: tool_target(&target, false), json };
    finish(dump_script, || latency::program(&run.options), false, |out| latency::run(&run, out))
}
