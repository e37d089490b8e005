//! `sdtrace`: find and trace SDT probes. See `sdtrace --help`.

use std::io::{self, Write};
use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::Context;
use clap::{CommandFactory, Parser, Subcommand};

use std::time::Duration;
use tracer::discovery::discover_file;
use tracer::kernel::uprobe::Method;
use tracer::listing;
use tracer::pattern::ProbePattern;
use tracer::trace::{self, TraceConfig, TraceError};

mod tools_cli;

const D_HELP: &str = "\
Run a D program (DTrace's language), compiled by sdtrace to eBPF:
  sdtrace -n 'syscall:::entry { @[execname] = count(); }'
  sdtrace -n 'syscall::read:return /execname == \"ls\"/ { @bytes = sum(arg0); }' -c 'ls -R /usr'
  sdtrace -q -n 'python$target:::function-entry { printf(\"%s:%s\\n\", copyinstr(arg0), copyinstr(arg1)); }' -c 'python3.11 app.py'
  sdtrace -s flow.d -p 1234
  sdtrace -l -n 'python$target:::*' -c python3.11    (what a program would match)

Probes: BEGIN, END, ERROR; syscall::NAME:entry|return; proc:::exec-success,
exit, create; profile-N and tick-N timers; pid$target:MODULE:FUNCTION:entry
and :return (any function of a process); and the USDT probes of the
processes given with -p or -c, or of a file named by path in the module
field (PROVIDER[$target|PID]:MODULE:FUNCTION:NAME, globs in every field).
Guide: docs/d-language.md.

Exit status: 0 on success (or the status given to exit()), 1 when a probe
pattern matched nothing, 2 on an error (compile errors name file:line:col).";

/// Find and trace SDT probes (USDT) in programs and libraries, and run D
/// programs (DTrace's language) over USDT, syscall, pid, proc, timer,
/// BEGIN and END probes.
#[derive(Debug, Parser)]
#[command(name = "sdtrace", version, after_help = D_HELP, args_conflicts_with_subcommands = true)]
struct Cli {
    #[command(subcommand)]
    command: Option<Command>,
    #[command(flatten)]
    d: DArgs,
}

/// Options for running a D program (mirroring dtrace(1)).
#[derive(Debug, clap::Args)]
struct DArgs {
    /// Run the D program PROGRAM (repeatable: the programs are joined).
    #[arg(short = 'n', value_name = "PROGRAM")]
    programs: Vec<String>,
    /// Run the D script in FILE (`#!/usr/bin/env -S sdtrace -s` scripts too).
    #[arg(short = 's', value_name = "FILE", conflicts_with = "programs")]
    script: Option<PathBuf>,
    #[command(flatten)]
    target: TargetArgs,
    /// Quiet: print only what the program prints.
    #[arg(short = 'q')]
    quiet: bool,
    /// Flow indent: probe lines show `-> function` for entry probes and
    /// `<- function` for return probes, indented by call depth.
    #[arg(short = 'F')]
    flowindent: bool,
    /// Run the C preprocessor (cpp) over the program first, so that
    /// `#define`, `#include` and `#if` work (as dtrace -C).
    #[arg(short = 'C')]
    cpp: bool,
    /// With -C: define NAME for the preprocessor (NAME=VALUE, or 1).
    #[arg(short = 'D', value_name = "NAME[=VALUE]", requires = "cpp")]
    defines: Vec<String>,
    /// With -C: undefine NAME.
    #[arg(short = 'U', value_name = "NAME", requires = "cpp")]
    undefines: Vec<String>,
    /// With -C: look for `#include` files in DIR too.
    #[arg(short = 'I', value_name = "DIR", requires = "cpp")]
    includes: Vec<PathBuf>,
    /// Allow destructive actions: system() runs a shell command,
    /// raise(SIG) and stop() signal the process that fired (the same as
    /// `-x destructive`).
    #[arg(short = 'w')]
    destructive: bool,
    /// Write the program's output to FILE.
    #[arg(short = 'o', value_name = "FILE")]
    output: Option<PathBuf>,
    /// Print NDJSON: one object per printf/trace record, per
    /// printevent() event (docs/trace-json.md) and per aggregation
    /// printed (the same as `-x oformat=json`).
    #[arg(long)]
    json: bool,
    #[command(flatten)]
    stacks: StackArgs,
    /// Set an option: `quiet`, `strsize=N`, `bufsize=N[k|m]`, `switchrate=N[ms]` (repeatable).
    #[arg(short = 'x', value_name = "OPTION[=VALUE]")]
    options: Vec<String>,
    /// List the probes the program would match, then exit (without a
    /// program: every probe there is).
    #[arg(short = 'l')]
    list: bool,
    /// With -l: each probe's arguments too (as dtrace -lv).
    #[arg(short = 'v', requires = "list")]
    verbose: bool,
    /// Print a compiler stage and exit: ast, types or bpf.
    #[arg(short = 'e', long = "dump", value_name = "STAGE")]
    dump: Option<DumpStage>,
    /// Arguments for the script: $1, $2, ...
    #[arg(value_name = "ARG", trailing_var_arg = true)]
    args: Vec<String>,
}

/// What to trace and for how long: the flags `sdtrace trace` and D
/// programs share, defined once.
#[derive(Debug, clap::Args)]
struct TargetArgs {
    /// Trace process PID: its USDT probes, and `$target` in D (repeatable).
    #[arg(short = 'p', long = "pid", value_name = "PID")]
    pids: Vec<u32>,
    /// Start COMMAND, held until every probe is attached, and trace it from
    /// its first instruction; `$target` in D is its pid. COMMAND is split
    /// into words as a shell would (quotes, backslashes), but not run by a
    /// shell.
    #[arg(short = 'c', long = "command", value_name = "COMMAND", value_parser = command_words)]
    command: Option<Words>,
    /// Start even when a probe description matches no probe yet, and pick
    /// its probes up when a traced process loads a library or run-time
    /// provider that has them (with -p or -c; objects mapped later are
    /// always picked up).
    #[arg(short = 'Z', long = "allow-zero")]
    allow_zero: bool,
    /// Stop after SECONDS (a decimal number; a D program's END runs then).
    #[arg(long, value_name = "SECONDS", value_parser = seconds)]
    duration: Option<Duration>,
}

impl TargetArgs {
    /// The `-p` processes, each once: a pid given twice would have its
    /// probes attached twice and every event counted twice.
    fn unique_pids(&self) -> Vec<u32> {
        let mut seen = Vec::with_capacity(self.pids.len());
        for &p in &self.pids {
            if !seen.contains(&p) {
                seen.push(p);
            }
        }
        seen
    }
}

/// Aggregations drawn as stacks: the flags of D programs and of the tools
/// that count by stack, defined once.
#[derive(Debug, Clone, clap::Args)]
struct StackArgs {
    /// Print aggregations as folded stacks, one `frame;frame;… count` line
    /// per key (root first; a stack key gives its frames without offsets,
    /// any other key one frame), for flamegraph.pl, inferno or speedscope.
    #[arg(long)]
    folded: bool,
    /// Draw the aggregations' folded stacks as an SVG flame graph in FILE
    /// when the run ends (`@[ustack()] = count();` in a profile-99 clause
    /// is a CPU flame graph).
    #[arg(long, value_name = "FILE.svg")]
    flamegraph: Option<PathBuf>,
}

impl StackArgs {
    fn output(self) -> tracer::d::run::StackOutput {
        tracer::d::run::StackOutput { folded: self.folded, flamegraph: self.flamegraph, title: None }
    }
}

/// Parses `--duration`: a positive, finite number of seconds of at most a
/// year (`0.5`, `10`).
fn seconds(text: &str) -> Result<Duration, String> {
    const MAX: f64 = 365.0 * 24.0 * 3600.0;
    let v: f64 = text.trim().parse().map_err(|_| format!("`{text}` is not a number of seconds"))?;
    if !(v > 0.0 && v <= MAX) {
        return Err(format!("`{text}` is not a number of seconds from above 0 to a year ({MAX})"));
    }
    Ok(Duration::from_secs_f64(v))
}

#[derive(Debug, Clone, Copy, clap::ValueEnum)]
enum DumpStage {
    /// The syntax tree.
    Ast,
    /// The checked, typed program.
    Types,
    /// The generated eBPF, one instruction a line in bpftool's syntax.
    Bpf,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// List the SDT probes in executables and shared libraries.
    ///
    /// Every probe shows its provider and name, its call sites, whether it has a
    /// semaphore (an is-enabled counter the tracer raises) and its arguments:
    /// names, types and docs when the file carries sdtrace metadata records,
    /// otherwise the sizes the stapsdt note records.
    #[command(after_help = "\
Examples:
  sdtrace list /usr/bin/python3.11
  sdtrace list /usr/bin/python3.11 'python:function-entry' -v
  sdtrace list /usr/lib/x86_64-linux-gnu/libruby-3.1.so.3.1 'gc*' --json
  sdtrace list -p 1234 'ruby:*'
  sdtrace list --all 'python:*'             (every process on the machine)
  sdtrace list libruby 'ruby:method-*'      (a library by short name or soname)

A pattern is PROBE or PROVIDER:PROBE with shell globs; '-' matches the '__'
that stapsdt probe names use for DTrace's '-'.")]
    List {
        /// Executables or shared libraries to read.
        #[arg(value_name = "PATH", required_unless_present_any = ["pids", "all"])]
        paths: Vec<PathBuf>,
        /// List the probes of every ELF object process PID has mapped (repeatable).
        #[arg(short, long = "pid", value_name = "PID")]
        pids: Vec<u32>,
        /// List the probes of every ELF object mapped by any process, once per file.
        #[arg(short, long, conflicts_with = "pids")]
        all: bool,
        /// Only probes matching PATTERN (repeatable; an argument that is not a
        /// file is also taken as a pattern).
        #[arg(short = 'P', long = "probe", value_name = "PATTERN")]
        patterns: Vec<String>,
        /// Show every call site: address, file offset, enclosing function, source
        /// line (with debug info), raw and parsed arguments.
        #[arg(short, long)]
        verbose: bool,
        /// Print the documented JSON document (schema sdtrace.list/1) instead.
        #[arg(long)]
        json: bool,
    },
    /// Trace SDT probes: print one line per probe hit with its decoded arguments.
    ///
    /// The trace is a D program (`PATTERNS { printevent(); }`, see
    /// --dump-script) run by the same engine as -n and -s: sdtrace generates
    /// its own eBPF (no compiler at run time), checks every site is a nop it
    /// knows before probing it, and attaches with uprobe_multi links;
    /// semaphores are raised by the kernel while tracing and lowered when
    /// sdtrace exits.
    #[command(after_help = "\
Examples:
  sdtrace trace 'python:function__entry' -c 'python3.11 app.py'
  sdtrace trace 'python:function-*' -p 1234 --json
  sdtrace trace '/usr/bin/python3.11:python:gc*' --duration 10
  sdtrace trace 'ruby:method-entry' -- ruby -e 'puts 1'
  sdtrace trace -Z 'myapp:*' -p 1234        (a provider the process loads later)
  sdtrace trace 'python:gc*' -p 1234 --perfetto gc.pftrace   (a timeline of the events)
  sdtrace trace 'python:function__return' -c 'python3.11 app.py' --dump-script > calls.d
                                            (the same as a D program, to edit and run with -s)

Probes are [PATH:]PROVIDER:PROBE with shell globs; '-' matches '__'. Without -p
or -c, a pattern must name a PATH and every process running it is traced.
Libraries and run-time providers the traced processes load later are traced
as soon as they are mapped (the maps are read every 100 ms).
String arguments are shown for probes with sdtrace metadata and for the
runtimes sdtrace knows (python, ruby, libstdcxx); others print as numbers.
Ends on Ctrl-C, SIGTERM, --duration, or when the traced processes exit.")]
    Trace {
        /// Probe patterns.
        #[arg(required = true, value_name = "PROBE")]
        probes: Vec<String>,
        #[command(flatten)]
        target: TargetArgs,
        /// The command to start, after `--`, with its arguments as given.
        #[arg(last = true, value_name = "ARGV")]
        argv: Vec<String>,
        /// Print NDJSON events (schema in docs/trace-json.md).
        #[arg(long)]
        json: bool,
        /// Bytes copied from each string argument.
        #[arg(long, default_value_t = 128, value_name = "BYTES", value_parser = clap::value_parser!(u16).range(8..=4096))]
        strsize: u16,
        /// Ring buffer size in MiB (a power of two, at most 1024).
        #[arg(long, default_value_t = 4, value_name = "MiB", value_parser = clap::value_parser!(u32).range(1..=1024))]
        bufsize: u32,
        /// How often events are read, in milliseconds.
        #[arg(long, default_value_t = 10, value_name = "MS")]
        switchrate: u64,
        /// Do not print the summary line at exit.
        #[arg(short, long)]
        quiet: bool,
        /// Write the events to FILE as a Perfetto trace: each an instant
        /// on its thread's track, its arguments as debug annotations
        /// (stdout then gets the events only with --json).
        #[arg(long, value_name = "FILE")]
        perfetto: Option<PathBuf>,
        /// Print the D program that prints these events (run it with
        /// `sdtrace -s FILE` and the same -c or -p), then exit.
        #[arg(long)]
        dump_script: bool,
        /// Attach with uprobe_multi links or perf_event uprobes (default:
        /// uprobe_multi where the kernel has it). For tests of the fallback.
        #[arg(long, hide = true, value_name = "multi|perf-event")]
        uprobe_method: Option<UprobeMethod>,
    },
    Calls(tools_cli::CallsArgs),
    Flow(tools_cli::FlowArgs),
    Latency(tools_cli::LatencyArgs),
    Gc(tools_cli::GcArgs),
    Objnew(tools_cli::ObjnewArgs),
    Stat(tools_cli::StatArgs),
}

/// How `trace` attaches (hidden option).
#[derive(Debug, Clone, Copy, clap::ValueEnum)]
enum UprobeMethod {
    /// BPF_TRACE_UPROBE_MULTI links.
    Multi,
    /// One perf_event uprobe per site.
    PerfEvent,
}

fn main() -> ExitCode {
    match run() {
        Ok(code) => code,
        Err(e) => {
            if e.chain().any(|c| c.downcast_ref::<io::Error>().is_some_and(|e| e.kind() == io::ErrorKind::BrokenPipe)) {
                return ExitCode::SUCCESS;
            }
            eprintln!("sdtrace: {e:#}");
            ExitCode::from(2)
        }
    }
}

fn run_d(d: DArgs) -> anyhow::Result<ExitCode> {
    use tracer::d::{diag::Source, run as drun};
    let source = match (&d.script, d.programs.is_empty()) {
        (Some(path), _) => drun::read_script(path)?,
        (None, false) => Source::new("<command line>", d.programs.join("\n")),
        // `sdtrace -l`, as `dtrace -l`: every probe there is (USDT of the
        // running processes, or of -p/-c ones).
        (None, true) if d.list => Source::new("<every probe>", "BEGIN, END, ERROR, proc:::, sched:::, *::: { }"),
        (None, true) => {
            Cli::command().print_help()?;
            return Ok(ExitCode::from(2));
        }
    };
    let source = if d.cpp {
        let opts = tracer::d::cpp::Preprocess { defines: d.defines, undefines: d.undefines, includes: d.includes };
        tracer::d::cpp::preprocess(&source, &opts)?
    } else {
        source
    };
    let mut options: Vec<(String, Option<String>)> = d
        .options
        .iter()
        .map(|o| match o.split_once('=') {
            Some((n, v)) => (n.to_string(), Some(v.to_string())),
            None => (o.clone(), None),
        })
        .collect();
    if d.json {
        options.push(("oformat".into(), Some("json".into())));
    }
    if d.destructive {
        options.push(("destructive".into(), None));
    }
    let cfg = drun::DConfig {
        source,
        pids: d.target.unique_pids(),
        command: d.target.command.map(|c| c.0).unwrap_or_default(),
        quiet: d.quiet,
        flowindent: d.flowindent,
        options,
        allow_empty: d.target.allow_zero,
        duration: d.target.duration,
        args: d.args,
        dump: d.dump.map(|s| match s {
            DumpStage::Ast => drun::Dump::Ast,
            DumpStage::Types => drun::Dump::Types,
            DumpStage::Bpf => drun::Dump::Bpf,
        }),
        list_only: d.list,
        list_verbose: d.verbose,
        method: None,
        report: drun::Report::Script,
        stacks: d.stacks.output(),
    };
    let result = match &d.output {
        Some(path) => {
            let f = std::fs::File::create(path).with_context(|| format!("cannot create {}", path.display()))?;
            let mut w = io::BufWriter::new(f);
            drun::run(&cfg, &mut w)
        }
        None => {
            let stdout = io::stdout();
            let mut w = io::BufWriter::new(stdout.lock());
            drun::run(&cfg, &mut w)
        }
    };
    match result {
        // As exit(3) takes it: the low 8 bits (`exit(-1)` is 255, `exit(256)` 0).
        Ok(status) => Ok(ExitCode::from((status & 0xff) as u8)),
        Err(e @ (drun::DError::Compile { .. } | drun::DError::NoMatch { .. })) => {
            let text = e.to_string();
            eprint!("{text}");
            if !text.ends_with('\n') {
                eprintln!();
            }
            Ok(ExitCode::from(e.exit_status()))
        }
        Err(e) => Err(e.into()),
    }
}

/// A `-c` command split into its words.
#[derive(Debug, Clone)]
struct Words(Vec<String>);

/// Splits a `-c` command into words with POSIX shell quoting (`'…'`, `"…"`,
/// `\`), as dtrace(1) users write `-c 'sh -c "a; b"'`. The command is not
/// run by a shell: no variables, globs or redirections.
fn command_words(text: &str) -> Result<Words, String> {
    match shlex::split(text) {
        None => Err(format!("unbalanced quote or trailing backslash in `{text}`")),
        Some(w) if w.is_empty() => Err("the command is empty".to_string()),
        Some(w) => Ok(Words(w)),
    }
}

fn run() -> anyhow::Result<ExitCode> {
    let cli = Cli::parse();
    let Some(command) = cli.command else { return run_d(cli.d) };
    match command {
        Command::Trace {
            probes,
            target,
            argv,
            json,
            strsize,
            bufsize,
            switchrate,
            quiet,
            perfetto,
            dump_script,
            uprobe_method,
        } => {
            if !bufsize.is_power_of_two() {
                anyhow::bail!("--bufsize must be a power of two (MiB), not {bufsize}");
            }
            let pids = target.unique_pids();
            let TargetArgs { command, allow_zero, duration, .. } = target;
            let command = match (command, argv.is_empty()) {
                (Some(_), false) => {
                    let mut cli = Cli::command();
                    let trace = cli.find_subcommand_mut("trace").map(std::mem::take).unwrap_or_default();
                    trace
                        .bin_name("sdtrace trace")
                        .error(
                            clap::error::ErrorKind::ArgumentConflict,
                            "give the command either with -c COMMAND or after `--`, not both",
                        )
                        .exit();
                }
                (Some(c), true) => c.0,
                (None, _) => argv,
            };
            let cfg = TraceConfig {
                patterns: probes,
                pids,
                command,
                json,
                quiet,
                strsize: strsize.into(),
                bufsize: bufsize << 20,
                switchrate: Duration::from_millis(switchrate.max(1)),
                duration,
                method: uprobe_method.map(|m| match m {
                    UprobeMethod::Multi => Method::Multi,
                    UprobeMethod::PerfEvent => Method::PerfEvent,
                }),
                allow_zero,
                perfetto,
            };
            let stdout = io::stdout();
            let mut out = io::BufWriter::new(stdout.lock());
            if dump_script {
                out.write_all(trace::program(&cfg)?.as_bytes())?;
                out.flush().context("writing output")?;
                return Ok(ExitCode::SUCCESS);
            }
            match trace::run(&cfg, &mut out) {
                Ok(()) => {}
                Err(e @ TraceError::NoMatch { .. }) => {
                    eprintln!("sdtrace: {e}");
                    return Ok(ExitCode::from(1));
                }
                Err(e) => return Err(e.into()),
            }
            out.flush().context("writing output")?;
            Ok(ExitCode::SUCCESS)
        }
        Command::Calls(args) => tools_cli::calls(args),
        Command::Flow(args) => tools_cli::flow(args),
        Command::Latency(args) => tools_cli::latency(args),
        Command::Gc(args) => tools_cli::gc(args),
        Command::Objnew(args) => tools_cli::objnew(args),
        Command::Stat(args) => tools_cli::stat(args),
        Command::List { paths, pids, all, mut patterns, verbose, json } => {
            // `sdtrace list FILE PATTERN`: a trailing argument that names no
            // file but parses as a pattern is a pattern, as in `tplist`.
            // A library may be named by soname or short name (`libruby`).
            let mut files = Vec::new();
            for p in paths {
                let name = p.to_string_lossy().into_owned();
                if p.exists() {
                    files.push(p);
                } else if let Some(lib) = tracer::target::resolve_library(&name) {
                    files.push(lib);
                } else if let Some(cmd) = tracer::target::resolve_command(&name).filter(|_| !name.contains('/')) {
                    // A program named as a shell runs it: found on PATH.
                    files.push(cmd);
                } else if (!files.is_empty() || !pids.is_empty() || all) && !name.contains('/') {
                    patterns.push(name);
                } else {
                    files.push(p);
                }
            }
            let patterns = patterns.iter().map(|p| ProbePattern::parse(p)).collect::<Result<Vec<_>, _>>()?;
            // With -v, sites are annotated before objects get display names.
            let discover = |p: &std::path::Path| {
                discover_file(p).map(|mut o| {
                    if verbose {
                        tracer::discovery::annotate_sites(&mut o);
                    }
                    o
                })
            };
            // A script (a pyenv shim, a wrapper) has no probes of its own:
            // say so, and what it runs when its first line names it.
            for f in &files {
                if let Some(interpreter) = script_interpreter(f) {
                    anyhow::bail!(
                        "{} is a script (#!{interpreter}), not a program with probes: list the program it runs \
                         (for a pyenv shim, `pyenv which python3` names it)",
                        f.display()
                    );
                }
            }
            let mut objects = files.iter().map(|f| discover(f)).collect::<Result<Vec<_>, _>>()?;
            for pid in pids {
                for obj in tracer::target::process_objects(pid)? {
                    let mut found = discover(&obj.open_path)?;
                    found.path = PathBuf::from(format!("{} (pid {pid})", obj.name));
                    // A process maps many objects without probes; show them with -v only.
                    if verbose || !found.probes.is_empty() || !found.warnings.is_empty() {
                        objects.push(found);
                    }
                }
            }
            if all {
                for (obj, pids) in tracer::target::all_process_objects() {
                    // Objects can vanish while the scan runs; skip those that cannot be read.
                    let Ok(mut found) = discover(&obj.open_path) else { continue };
                    let shown: Vec<String> = pids.iter().take(8).map(u32::to_string).collect();
                    let more = if pids.len() > 8 { format!(" and {} more", pids.len() - 8) } else { String::new() };
                    found.path = PathBuf::from(format!("{} (pids {}{more})", obj.name, shown.join(", ")));
                    if verbose || !found.probes.is_empty() || !found.warnings.is_empty() {
                        objects.push(found);
                    }
                }
            }
            // Malformed notes were left out: say which, then list the rest.
            listing::write_warnings(&mut io::stderr().lock(), &objects).context("writing warnings")?;
            let selected: Vec<_> = objects
                .iter()
                .map(|o| {
                    let probes = o
                        .probes
                        .iter()
                        .filter(|p| patterns.is_empty() || patterns.iter().any(|pat| pat.matches(&p.provider, &p.name)))
                        .collect();
                    (o, probes)
                })
                .collect();
            let stdout = io::stdout();
            let mut out = io::BufWriter::new(stdout.lock());
            if json {
                listing::write_json(&mut out, &selected).context("writing output")?;
            } else {
                listing::write_text(&mut out, &selected, verbose).context("writing output")?;
            }
            out.flush().context("writing output")?;
            if objects.iter().all(|o| o.probes.is_empty()) && objects.iter().any(|o| !o.warnings.is_empty()) {
                eprintln!("sdtrace: no probe could be read (see the warnings above)");
                return Ok(ExitCode::from(2));
            }
            let matched: usize = selected.iter().map(|(_, p)| p.len()).sum();
            if !patterns.is_empty() && matched == 0 {
                let names: Vec<String> = patterns.iter().map(|p| p.to_string()).collect();
                eprintln!("sdtrace: no probe matches {}", names.join(", "));
                return Ok(ExitCode::from(1));
            }
            Ok(ExitCode::SUCCESS)
        }
    }
}

/// The `#!` line of `path`, when it is a script.
fn script_interpreter(path: &std::path::Path) -> Option<String> {
    use std::io::Read;
    // Only a regular file: opening a FIFO would block.
    if !std::fs::metadata(path).ok()?.is_file() {
        return None;
    }
    let mut head = [0u8; 256];
    let n = std::fs::File::open(path).ok()?.take(256).read(&mut head).ok()?;
    let text = head[..n].strip_prefix(b"#!")?;
    let line = text.split(|&b| b == b'\n').next()?;
    Some(String::from_utf8_lossy(line).trim().to_string())
}

#[cfg(test)]
mod tests {
    use super::command_words;

    #[test]
    fn a_command_is_split_with_shell_quoting() {
        let w = command_words(r#"sh -c 'echo "a  b"; exit 3' x\ y "" z"#).unwrap().0;
        assert_eq!(w, ["sh", "-c", r#"echo "a  b"; exit 3"#, "x y", "", "z"]);
    }

    #[test]
    fn an_unbalanced_quote_or_an_empty_command_is_an_error() {
        let e = command_words("sh -c 'echo").unwrap_err();
        assert!(e.contains("unbalanced quote") && e.contains("sh -c 'echo"), "{e}");
        assert!(command_words("  ").unwrap_err().contains("empty"));
    }
}
