//! `sdtrace trace`: find the probes that match, check every site, generate
//! one program per argument layout, attach with uprobe_multi links, and
//! print events until the target exits, a signal arrives or time is up.
//!
//! Order of work: plan (no kernel objects) → start the command, held
//! before `execve` → create maps, load programs, attach → release the
//! command → consume the ring buffer every `switchrate` → detach (drop).

use std::cell::{Cell, RefCell};
use std::collections::HashMap;
use std::io::{self, Write};
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use stap_notes::meta::ArgKind;
use stap_notes::{Arch, ArgSpec};

use crate::bpf::usdt::{self, ArgPlan, StringRead};
use crate::consumer::{Consumer, DisplayArg, SiteFormat, Style};
use crate::discovery::{discover_file, DiscoveryError, Probe};
use crate::kernel::ringbuf::RingBuffer;
use crate::kernel::sys::{Map, Program};
use crate::kernel::uprobe::{self, Method, SiteAttach, UprobeMultiLink};
use crate::kernel::KernelError;
use crate::pattern::{PatternError, ProbePattern};
use crate::process::{HeldCommand, ProcessError};
use crate::site::{check_site_bytes, nop10_safe, semaphore_page_is_shared, SiteForm};

use crate::stop;
use crate::target;

/// What to trace and how to print it.
#[derive(Debug, Clone)]
pub struct TraceConfig {
    /// `[PATH:]PROVIDER:PROBE` patterns.
    pub patterns: Vec<String>,
    /// Processes to trace.
    pub pids: Vec<u32>,
    /// A command to start and trace (program and arguments).
    pub command: Vec<String>,
    /// Text or NDJSON.
    pub style: Style,
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
    /// Print the D program that prints these events, instead of tracing
    /// (see [`crate::trace_script`]).
    pub dump_script: bool,
}

impl Default for TraceConfig {
    fn default() -> Self {
        TraceConfig {
            patterns: Vec::new(),
            pids: Vec::new(),
            command: Vec::new(),
            style: Style::Text,
            strsize: 128,
            bufsize: 8 << 20,
            switchrate: Duration::from_millis(10),
            duration: None,
            method: None,
            allow_zero: false,
            dump_script: false,
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
    /// No probe matched.
    #[error("no probe matches {patterns}{hint}")]
    NoMatch {
        /// The patterns.
        patterns: String,
        /// Suggestions.
        hint: String,
    },
    /// Reading an object failed.
    #[error(transparent)]
    Discovery(#[from] DiscoveryError),
    /// A process could not be read or started.
    #[error(transparent)]
    Process(#[from] ProcessError),
    /// A site that sdtrace refuses to probe, or whose argument it cannot read.
    #[error("{path}: {probe} at {address:#x}: {reason}")]
    Site {
        /// The object.
        path: String,
        /// `provider:name`.
        probe: String,
        /// Site address.
        address: u64,
        /// Why.
        reason: String,
    },
    /// A BPF operation failed.
    #[error(transparent)]
    Kernel(#[from] KernelError),
    /// `--dump-script` of a trace D cannot express yet.
    #[error(transparent)]
    Script(#[from] crate::trace_script::NotExpressible),
    /// Writing events failed.
    #[error("writing events: {0}")]
    Output(#[source] io::Error),
}

/// Totals reported at exit.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Summary {
    /// Events printed.
    pub events: u64,
    /// Events the kernel dropped because the ring buffer was full.
    pub drops: u64,
    /// Probe sites attached.
    pub sites: usize,
    /// Undecodable events (a bug if not zero).
    pub malformed: u64,
}

/// A pattern with an optional object path: `/usr/bin/python3.11:python:line`.
#[derive(Debug, Clone)]
struct TracePattern {
    path: Option<PathBuf>,
    probe: ProbePattern,
}

fn parse_pattern(s: &str) -> Result<TracePattern, PatternError> {
    if s.starts_with('/') || s.starts_with('.') {
        let parts: Vec<&str> = s.rsplitn(3, ':').collect();
        if parts.len() == 3 {
            return Ok(TracePattern {
                path: Some(PathBuf::from(parts[2])),
                probe: ProbePattern::parse(&format!("{}:{}", parts[1], parts[0]))?,
            });
        }
        return Err(PatternError { text: s.into(), reason: "expected PATH:PROVIDER:PROBE".into() });
    }
    Ok(TracePattern { path: None, probe: ProbePattern::parse(s)? })
}

/// One object to attach in, and the process it is limited to.
#[derive(Debug, Clone)]
struct Scope {
    open_path: PathBuf,
    shown: String,
    pid: Option<u32>,
    /// Patterns that apply (those without a path, or naming this path).
    patterns: Vec<ProbePattern>,
}

/// The sites of one object and process that share an argument layout.
#[derive(Debug)]
struct AttachGroup {
    open_path: PathBuf,
    pid: Option<u32>,
    plans: Vec<ArgPlan>,
    sites: Vec<SiteAttach>,
}

/// Describe the arguments of `probe`: its description (metadata record or
/// built-in catalog, see discovery), or the note's sizes.
fn describe(probe: &Probe, notes: &[ArgSpec<'_>]) -> Vec<(String, ArgKind)> {
    if let Some(d) = &probe.description {
        return d.args.iter().map(|a| (a.name.clone(), a.kind)).collect();
    }
    notes
        .iter()
        .enumerate()
        .map(|(i, a)| {
            let kind = if a.ty.float {
                ArgKind::Float { size: a.ty.size }
            } else {
                ArgKind::Int { size: a.ty.size, signed: a.ty.signed }
            };
            (format!("arg{i}"), kind)
        })
        .collect()
}

/// Plans and display formats for one site.
fn plan_site(probe: &Probe, raw_args: &str, arch: Arch) -> Result<(Vec<ArgPlan>, Vec<DisplayArg>), String> {
    let specs: Vec<ArgSpec<'_>> = stap_notes::args::parse_args(raw_args, arch).map_err(|e| e.to_string())?;
    let described = describe(probe, &specs);
    let needed: usize = described.iter().map(|(_, k)| k.note_args()).sum();
    if needed != specs.len() {
        return Err(format!("its description needs {needed} arguments but the note has {}", specs.len()));
    }
    let mut strings = vec![StringRead::No; specs.len()];
    let mut display = Vec::new();
    let (mut slot, mut string_index) = (0usize, 0usize);
    for (name, kind) in described {
        let string = match kind {
            ArgKind::CStr => Some(StringRead::NulTerminated),
            ArgKind::Str | ArgKind::Bytes | ArgKind::Json => Some(StringRead::WithLength { len_arg: slot + 1 }),
            _ => None,
        };
        let idx = string.map(|s| {
            strings[slot] = s;
            string_index += 1;
            string_index - 1
        });
        display.push(DisplayArg { name, kind, slot, string: idx });
        slot += kind.note_args();
    }
    let plans = specs.iter().zip(strings).map(|(s, st)| usdt::plan_arg(s, arch, st)).collect::<Result<Vec<_>, _>>()?;
    Ok((plans, display))
}

/// Plans the sites of scopes: which programs (by argument layout) attach
/// where, and how the consumer prints each site. Used at the start and for
/// objects a traced process maps later.
struct Planner {
    nop10_results: Vec<([u8; 10], bool)>,
    warned: Vec<String>,
    formats: Vec<SiteFormat>,
    groups: Vec<AttachGroup>,
    candidates: Vec<String>,
    /// The cookie of the first site planned here.
    first_cookie: usize,
    command: bool,
    /// Every matched site as `--dump-script` names and prints it.
    script_probes: Vec<crate::trace_script::ScriptProbe>,
}

impl Planner {
    fn new(first_cookie: usize, command: bool) -> Self {
        Planner {
            nop10_results: Vec::new(),
            warned: Vec::new(),
            formats: Vec::new(),
            groups: Vec::new(),
            candidates: Vec::new(),
            first_cookie,
            command,
            script_probes: Vec::new(),
        }
    }

    fn plan(&mut self, scope: &Scope) -> Result<(), TraceError> {
        if scope.patterns.is_empty() {
            return Ok(());
        }
        let objects = discover_file(&scope.open_path)?;
        let file = stap_notes::Mapped::open(&scope.open_path).map_err(DiscoveryError::from)?;
        let Some(arch) = objects.arch else { return Ok(()) };
        for probe in &objects.probes {
            if !scope.patterns.iter().any(|p| p.matches(&probe.provider, &probe.name)) {
                self.candidates.push(format!("{}:{}", probe.provider, probe.name));
                continue;
            }
            let shown = format!("{}:{}", probe.provider, probe.name);
            for site in probe.traced_sites() {
                let site_err = |reason: String| TraceError::Site {
                    path: scope.shown.clone(),
                    probe: shown.clone(),
                    address: site.address,
                    reason,
                };
                let offset = site.file_offset.ok_or_else(|| site_err("the site is not in the file".into()))?;
                let form = check_site_bytes(&file, offset, arch).map_err(site_err)?;
                let offset = match form {
                    SiteForm::NopNop10(nop10) if nop10_safe(&mut self.nop10_results, nop10) => offset + 1,
                    _ => offset,
                };
                let (plans, display) = plan_site(probe, &site.raw_args, arch).map_err(site_err)?;
                let cookie = (self.first_cookie + self.formats.len()) as u64;
                self.script_probes.push(crate::trace_script::ScriptProbe {
                    provider: probe.provider.clone(),
                    name: probe.name.clone(),
                    path: (scope.pid.is_none() && !self.command).then(|| scope.shown.clone()),
                    args: display.iter().map(|a| (a.name.clone(), a.kind)).collect(),
                    described: probe.description.is_some(),
                });
                self.formats.push(SiteFormat {
                    provider: probe.provider.clone(),
                    probe: probe.name.clone(),
                    slots: plans.len(),
                    args: display,
                });
                let ref_ctr_offset = probe.semaphore.and_then(|(_, off)| off).unwrap_or(0);
                if ref_ctr_offset != 0
                    && scope.pid.is_none()
                    && self.command
                    && !self.warned.contains(&shown)
                    && semaphore_page_is_shared(&file, ref_ctr_offset)
                {
                    eprintln!(
                        "sdtrace: warning: {}: the semaphore of {shown} (file offset {ref_ctr_offset:#x}) shares a \
                         file page with another writable segment; with -c the kernel may raise the other copy \
                         and the probe stays off. Start the program first and trace it with -p (docs/tracing.md).",
                        scope.shown
                    );
                    self.warned.push(shown.clone());
                }
                let attach = SiteAttach { offset, ref_ctr_offset, cookie, ret: false };
                match self
                    .groups
                    .iter_mut()
                    .find(|g| g.open_path == scope.open_path && g.pid == scope.pid && g.plans == plans)
                {
                    Some(g) => g.sites.push(attach),
                    None => self.groups.push(AttachGroup {
                        open_path: scope.open_path.clone(),
                        pid: scope.pid,
                        plans,
                        sites: vec![attach],
                    }),
                }
            }
        }
        Ok(())
    }
}

/// Run a trace, printing events to `out`.
pub fn run(cfg: &TraceConfig, out: &mut dyn Write) -> Result<Summary, TraceError> {
    let t0 = Instant::now();
    let timings = std::env::var_os("SDTRACE_TIMINGS").is_some();
    let phase = |name: &str| {
        if timings {
            eprintln!("sdtrace: {:>8.3} ms  {name}", t0.elapsed().as_secs_f64() * 1e3);
        }
    };
    if cfg.patterns.is_empty() {
        return Err(TraceError::Usage("name at least one probe, e.g. 'python:function__entry'".into()));
    }
    let patterns = cfg.patterns.iter().map(|p| parse_pattern(p)).collect::<Result<Vec<_>, _>>()?;
    // The kernel's wait before the first uprobe registration passes while
    // the probes are found and the programs built.
    let warmup = uprobe::warm_up();
    let bare: Vec<ProbePattern> = patterns.iter().filter(|p| p.path.is_none()).map(|p| p.probe.clone()).collect();

    // Where to look, and for which process.
    let mut scopes: Vec<Scope> = Vec::new();
    let mut command_exe = None;
    if !cfg.command.is_empty() {
        let exe = target::command_program(&cfg.command[0]).map_err(TraceError::Usage)?;
        let image = target::executed_image(&exe);
        for obj in std::iter::once(image.clone()).chain(target::needed_libraries(&image)) {
            scopes.push(Scope { shown: obj.display().to_string(), open_path: obj, pid: None, patterns: bare.clone() });
        }
        command_exe = Some(exe);
    }
    for &pid in &cfg.pids {
        for obj in target::process_objects(pid)? {
            scopes.push(Scope { shown: obj.name, open_path: obj.open_path, pid: Some(pid), patterns: bare.clone() });
        }
    }
    for p in patterns.iter().filter(|p| p.path.is_some()) {
        let path = p.path.clone().expect("filtered");
        if !path.exists() {
            return Err(TraceError::Usage(format!("{}: no such file", path.display())));
        }
        match scopes.iter_mut().find(|s| same_file(&s.open_path, &path)) {
            Some(s) => s.patterns.push(p.probe.clone()),
            // A file the targets do not map (yet): with -c it is probed in
            // the command, with -p in those processes, whenever they map it
            // (a library opened later with dlopen); alone, in every process.
            None if cfg.pids.is_empty() => scopes.push(Scope {
                shown: path.display().to_string(),
                open_path: path,
                pid: None,
                patterns: vec![p.probe.clone()],
            }),
            None => {
                for &pid in &cfg.pids {
                    scopes.push(Scope {
                        shown: path.display().to_string(),
                        open_path: path.clone(),
                        pid: Some(pid),
                        patterns: vec![p.probe.clone()],
                    });
                }
            }
        }
    }
    if scopes.is_empty() {
        return Err(TraceError::Usage(
            "say what to trace: -p PID, -c 'COMMAND', or a pattern with a path (/usr/bin/python3.11:python:line)"
                .into(),
        ));
    }

    // Plan every matching site.
    let mut planner = Planner::new(0, command_exe.is_some());
    for scope in &scopes {
        planner.plan(scope)?;
    }
    if cfg.dump_script {
        if cfg.style == Style::Json {
            return Err(TraceError::Usage(
                "--dump-script prints the D program of the text output; D programs have no NDJSON output yet".into(),
            ));
        }
        let opts = crate::trace_script::ScriptOptions {
            command_line: format!("sdtrace trace {}", cfg.patterns.join(" ")),
            strsize: cfg.strsize,
            bufsize: cfg.bufsize,
            switchrate_ms: cfg.switchrate.as_millis(),
        };
        let text = crate::trace_script::script(&planner.script_probes, &opts)?;
        out.write_all(text.as_bytes()).map_err(TraceError::Output)?;
        return Ok(Summary::default());
    }
    let formats = std::mem::take(&mut planner.formats);
    let mut groups = std::mem::take(&mut planner.groups);
    let waits = cfg.allow_zero && !bare.is_empty() && (!cfg.pids.is_empty() || command_exe.is_some());
    if groups.is_empty() && !waits {
        let has_process = !cfg.pids.is_empty() || command_exe.is_some();
        return Err(no_match(&cfg.patterns, &planner.candidates, has_process));
    }

    phase("planned");
    // Kernel objects first: a missing privilege fails before any command starts.
    let ringbuf = Map::ringbuf("sdtrace_events", cfg.bufsize)?;
    let drops = Map::percpu_counters("sdtrace_drops", 1)?;
    phase("maps created");
    let method =
        cfg.method.unwrap_or_else(|| if uprobe::multi_supported() { Method::Multi } else { Method::PerfEvent });
    phase("attach method chosen");
    // One program per argument layout, loaded when a group first needs it.
    let mut programs: HashMap<Vec<ArgPlan>, Program> = HashMap::new();
    let load_for = |programs: &mut HashMap<Vec<ArgPlan>, Program>, plans: &[ArgPlan]| {
        if !programs.contains_key(plans) {
            let insns = usdt::generate(plans, cfg.strsize, ringbuf.fd(), drops.fd());
            let prog = Program::load(method, &format!("sdtrace_usdt{}", programs.len()), &insns)?;
            programs.insert(plans.to_vec(), prog);
        }
        Ok::<(), TraceError>(())
    };
    for g in &groups {
        load_for(&mut programs, &g.plans)?;
    }
    phase("programs loaded");

    // The ring buffer is mapped before attaching: the held command waits
    // only for the links.
    let consumer = RefCell::new(Consumer::new(&mut *out, formats, cfg.strsize, cfg.style));
    let write_error: Cell<Option<io::Error>> = Cell::new(None);
    let mut rb = RingBuffer::new(&ringbuf, |data| {
        if let Err(e) = consumer.borrow_mut().event(data) {
            write_error.set(Some(e));
            stop::request();
        }
    })?;
    phase("ring buffer open");

    // Start the command, held before execve, so attaching happens first.
    let mut held = match &command_exe {
        Some(exe) => Some(HeldCommand::spawn(exe, &cfg.command)?),
        None => None,
    };
    if let Some(pid) = held.as_ref().map(|h| h.pid()) {
        for g in groups.iter_mut().filter(|g| g.pid.is_none()) {
            g.pid = Some(pid);
        }
    }
    let mut links: Vec<UprobeMultiLink> = Vec::new();
    for g in &groups {
        links.push(uprobe::attach_with(method, &programs[&g.plans], &g.open_path, &g.sites, g.pid)?);
    }
    drop(warmup);
    let mut sites: usize = links.iter().map(|l| l.sites).sum();
    phase("attached");

    // Objects the traced processes map later (dlopen, run-time providers)
    // are found by reading their maps every LATE_SCAN and attached like
    // those at the start. Patterns with a path need no scan: their uprobes
    // are set on the file already.
    let late_pids: Vec<u32> = if bare.is_empty() {
        Vec::new()
    } else {
        cfg.pids.iter().copied().chain(held.as_ref().map(|h| h.pid())).collect()
    };
    let mut late = target::LateScan::new(late_pids, scopes.iter().map(|s| (s.pid, s.open_path.as_path())));

    consumer.borrow_mut().header().map_err(TraceError::Output)?;
    stop::arm();
    if let Some(h) = held.as_mut() {
        h.release()?;
    }
    phase("command released");
    let started = Instant::now();
    // At most this many events per drain, so stop conditions are checked
    // even while a hot probe fills the buffer faster than it is read.
    const BATCH: usize = 4096;
    loop {
        let drained = rb.consume(BATCH)?;
        if stop::run_over(started, cfg.duration, held.as_mut(), &cfg.pids)? {
            break;
        }
        if late.due() {
            for (pid, obj) in late.new_objects() {
                planner.first_cookie = consumer.borrow().site_count();
                planner.command = false;
                let scope =
                    Scope { shown: obj.name.clone(), open_path: obj.open_path, pid: Some(pid), patterns: bare.clone() };
                let attached = planner.plan(&scope).and_then(|()| {
                    consumer.borrow_mut().add_sites(std::mem::take(&mut planner.formats));
                    let mut n = 0;
                    for g in std::mem::take(&mut planner.groups) {
                        load_for(&mut programs, &g.plans)?;
                        let link = uprobe::attach_with(method, &programs[&g.plans], &g.open_path, &g.sites, g.pid)?;
                        n += link.sites;
                        links.push(link);
                    }
                    Ok(n)
                });
                match attached {
                    Ok(0) => {}
                    Ok(n) => {
                        sites += n;
                        eprintln!(
                            "sdtrace: pid {pid} mapped {}: {n} more site{}",
                            obj.name,
                            if n == 1 { "" } else { "s" }
                        );
                    }
                    Err(e) => eprintln!("sdtrace: warning: pid {pid}: {}: not traced: {e}", obj.name),
                }
            }
        }
        // A full batch means more is waiting: drain again without sleeping.
        if drained < BATCH {
            stop::pause(cfg.switchrate, || {
                stop::run_over(started, cfg.duration, held.as_mut(), &cfg.pids).unwrap_or(true)
            });
        }
    }
    if let Some(how) = held.as_ref().and_then(|h| h.killed_by()) {
        eprintln!("sdtrace: {how}");
    }
    // Detach first: then nothing more is written and the drain ends.
    drop(links);
    while rb.consume(BATCH)? > 0 {}
    drop(rb);
    if let Some(e) = write_error.take() {
        if e.kind() != io::ErrorKind::BrokenPipe {
            return Err(TraceError::Output(e));
        }
    }
    let mut c = consumer.into_inner();
    c.flush().map_err(TraceError::Output)?;
    Ok(Summary { events: c.events, drops: drops.percpu_sum(0)?, sites, malformed: c.malformed })
}

fn same_file(a: &Path, b: &Path) -> bool {
    use std::os::unix::fs::MetadataExt;
    match (std::fs::metadata(a), std::fs::metadata(b)) {
        (Ok(x), Ok(y)) => x.dev() == y.dev() && x.ino() == y.ino(),
        _ => false,
    }
}

/// The error for patterns that matched nothing, with the closest probe names.
fn no_match(patterns: &[String], candidates: &[String], has_process: bool) -> TraceError {
    let mut scored: Vec<(usize, &String)> = candidates
        .iter()
        .map(|c| (patterns.iter().map(|p| edit_distance(&p.replace('-', "__"), c)).min().unwrap_or(usize::MAX), c))
        .collect();
    scored.sort();
    scored.dedup_by(|a, b| a.1 == b.1);
    let close: Vec<&str> = scored.iter().take(3).map(|(_, c)| c.as_str()).collect();
    let mut hints = Vec::new();
    if !close.is_empty() {
        hints.push(format!("did you mean {}?", close.join(", ")));
    }
    if has_process {
        hints.push("with -Z, sdtrace waits for a library or run-time provider the process loads later".into());
    }
    let hint = if hints.is_empty() { String::new() } else { format!(" ({})", hints.join("; ")) };
    TraceError::NoMatch { patterns: patterns.join(", "), hint }
}

fn edit_distance(a: &str, b: &str) -> usize {
    let b: Vec<char> = b.chars().collect();
    let mut prev: Vec<usize> = (0..=b.len()).collect();
    for (i, ca) in a.chars().enumerate() {
        let mut cur = vec![i + 1];
        for (j, cb) in b.iter().enumerate() {
            cur.push((prev[j] + usize::from(ca != *cb)).min(prev[j + 1] + 1).min(cur[j] + 1));
        }
        prev = cur;
    }
    prev[b.len()]
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn patterns_with_paths() {
        let p = parse_pattern("/usr/bin/python3.11:python:function__entry").unwrap();
        assert_eq!(p.path.unwrap(), PathBuf::from("/usr/bin/python3.11"));
        assert!(p.probe.matches("python", "function__entry"));
        assert!(parse_pattern("python:line").unwrap().path.is_none());
        assert!(parse_pattern("/usr/bin/x").is_err());
    }

    #[test]
    fn suggestions_are_the_closest_names() {
        let e = no_match(
            &["python:functon-entry".into()],
            &["python:function__entry".into(), "python:gc__start".into()],
            false,
        );
        assert!(e.to_string().contains("did you mean python:function__entry"), "{e}");
    }
}
