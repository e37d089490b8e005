//! Probe descriptions to attachments: which clauses run where.
//!
//! Providers: `BEGIN`/`END` (also `dtrace:::BEGIN`); `syscall` over the
//! `sys_enter`/`sys_exit` raw tracepoints (no tracefs needed), function =
//! syscall name, name = `entry` or `return`; anything else is a USDT
//! provider, looked up in the objects of the traced processes (`-p`, `-c`).
//! A USDT provider field matches the note's provider with or without the
//! pid appended (`python`, `python1234`, `python$target`, `python*`); the
//! module is the object's file name; the function, the symbol that holds
//! the site; in the name, `-` matches the note's `__`.
//!
//! Every probe the run can see gets an id, its index in the probe table,
//! which the programs compute and the consumer turns back into names.

use std::collections::BTreeMap;
use std::path::PathBuf;

use stap_notes::Arch;

use super::ast::ProbeDesc;
use super::codegen::{Context, ErrorHandler, Filter, ProgramSpec, TracepointProbe};
use super::diag::Diagnostic;
use super::sema::{ClauseArgs, Ir, ProbeField};
use super::syscalls;
use crate::bpf::usdt::{ArgPlan, StringRead};
use crate::discovery::{annotate_sites, discover_file};
use crate::kernel::uprobe::SiteAttach;
use crate::site::{nop10_safe, semaphore_page_is_shared, SiteForm};
use stap_notes::meta::ArgKind;

mod catalog;
mod functions;
mod matcher;
#[cfg(test)]
mod tests;

pub use self::catalog::*;
use self::functions::*;
pub use self::matcher::*;

/// A probe the run can see.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct ProbeInfo {
    /// Provider as DTrace names it (`python1234` for USDT).
    pub provider: String,
    /// Module.
    pub module: String,
    /// Function.
    pub function: String,
    /// Name (`function-entry`: `__` shown as `-`).
    pub name: String,
    /// What its `printevent()` records hold, for a USDT site of a program
    /// that prints events; `None` prints the probe with no arguments.
    pub event: Option<std::sync::Arc<super::events::EventFormat>>,
}

/// The probe table.
#[derive(Debug, Clone, Default)]
pub struct ProbeTable(pub Vec<ProbeInfo>);

impl super::codegen::ProbeNames for ProbeTable {
    fn field(&self, id: u64, field: ProbeField) -> String {
        self.0.get(id as usize).map(|p| p.get(field).to_string()).unwrap_or_default()
    }
}

impl ProbeInfo {
    /// One field.
    pub fn get(&self, f: ProbeField) -> std::borrow::Cow<'_, str> {
        match f {
            ProbeField::Provider => self.provider.as_str().into(),
            ProbeField::Module => self.module.as_str().into(),
            ProbeField::Function => self.function.as_str().into(),
            ProbeField::Name => self.name.as_str().into(),
            ProbeField::FunctionName => format!("{}:{}", self.function, self.name).into(),
        }
    }
}

/// Sites of one object and process that one program attaches to.
#[derive(Debug, Clone)]
pub struct UsdtAttach {
    /// Path to open (through /proc/PID/root when needed).
    pub open_path: PathBuf,
    /// Process scope.
    pub pid: Option<u32>,
    /// The sites, cookie = probe id.
    pub sites: Vec<SiteAttach>,
}

/// Everything to load and attach.
#[derive(Debug, Clone, Default)]
pub struct Plan {
    /// Probe ids to names.
    pub table: ProbeTable,
    /// USDT programs with their attachments.
    pub usdt: Vec<(ProgramSpec, Vec<UsdtAttach>)>,
    /// The `sys_enter` program.
    pub sys_enter: Option<ProgramSpec>,
    /// The `sys_exit` program.
    pub sys_exit: Option<ProgramSpec>,
    /// `BEGIN` clauses.
    pub begin: Option<ProgramSpec>,
    /// `END` clauses.
    pub end: Option<ProgramSpec>,
    /// `tick-N` and `profile-N` programs with their timers.
    pub timers: Vec<(ProgramSpec, Timer)>,
    /// `proc` programs.
    pub tracepoints: Vec<(ProgramSpec, TracepointProbe)>,
    /// How many probes matched, for the banner.
    pub matched: usize,
    /// Warnings to print.
    pub warnings: Vec<String>,
    /// Notes to print unless quiet (see [`matcher::Found::notes`]).
    pub notes: Vec<String>,
    /// The USDT descriptions, kept to match objects mapped later.
    pub usdt_matcher: Option<UsdtMatcher>,
    /// The `ERROR` clauses every program runs, for programs made later.
    pub error_handler: Option<ErrorHandler>,
    /// Semaphores raised with an empty program (see [`Found::helpers`]).
    pub helpers: Vec<UsdtAttach>,
}

/// An object to look for USDT probes in.
#[derive(Debug, Clone)]
pub struct UsdtScope {
    /// The name to show and match the module against.
    pub shown: String,
    /// The path to open.
    pub open_path: PathBuf,
    /// The process, when scoped to one.
    pub pid: Option<u32>,
    /// Whether the process is a command held before exec (for warnings).
    pub held: bool,
    /// Whether the object was named by path in a description's module
    /// field (`python:/usr/bin/python3.11::function-return`): it is traced
    /// in every process, and only path modules match it.
    pub by_path: bool,
    /// Whether it is the process's executable, which the pid provider's
    /// module `a.out` names, as in dtrace(1).
    pub executable: bool,
}

impl UsdtScope {
    /// Whether a description's `module` field (compiled to `pattern`)
    /// names this object: a path module matches the path of an object
    /// named by path, any other module the file name of a process's object.
    /// A module given by name matches the object's file name, or that name
    /// without its version (`libc.so` or `libc` for `libc.so.6`), as
    /// dtrace(1) matches `libc` to `libc.so.1`.
    pub fn module_matches(&self, module: &str, pattern: &glob::Pattern, file_name: &str) -> bool {
        if module.starts_with('/') {
            self.by_path && pattern.matches(&self.shown)
        } else {
            !self.by_path && module_names(file_name).iter().any(|n| pattern.matches(n))
        }
    }
}

/// The names a module description may give an object by: its file name,
/// and for a shared object that name up to `.so` and before it
/// (`libc.so.6`, `libc.so`, `libc`).
pub fn module_names(file_name: &str) -> Vec<&str> {
    let mut names = vec![file_name];
    if let Some(at) = file_name.find(".so") {
        let rest = &file_name[at + 3..];
        if rest.is_empty() || rest.starts_with('.') {
            if !rest.is_empty() {
                names.push(&file_name[..at + 3]);
            }
            if at > 0 {
                names.push(&file_name[..at]);
            }
        }
    }
    names
}

fn glob(field: &str, dash_is_underscores: bool) -> Result<glob::Pattern, String> {
    let f = if field.is_empty() { "*".to_string() } else { field.to_string() };
    let f = if dash_is_underscores { f.replace('-', "__") } else { f };
    glob::Pattern::new(&f).map_err(|e| format!("bad pattern `{field}`: {e}"))
}

fn is_special(d: &ProbeDesc, which: &str) -> bool {
    d.name == which && d.function.is_empty() && d.module.is_empty() && (d.provider.is_empty() || d.provider == "dtrace")
}

/// A `tick-N` or `profile-N` timer.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Timer {
    /// `profile-N` fires on every CPU, `tick-N` on one.
    pub every_cpu: bool,
    /// Nanoseconds between firings.
    pub period_ns: u64,
}

/// The shortest timer period accepted (10 kHz).
pub const MIN_TIMER_NS: u64 = 100_000;

/// `tick-N[unit]` or `profile-N[unit]` (units `ns us ms s m h d hz`, with
/// DTrace's long spellings `nsec usec msec sec min hour day`; no unit
/// means `hz`). `None` when the name is not a timer's.
pub fn parse_timer(name: &str) -> Option<Result<Timer, String>> {
    let (every_cpu, rate) = match (name.strip_prefix("tick-"), name.strip_prefix("profile-")) {
        (Some(r), _) => (false, r),
        (_, Some(r)) => (true, r),
        _ => return None,
    };
    let split = rate.find(|c: char| !c.is_ascii_digit()).unwrap_or(rate.len());
    let (digits, unit) = rate.split_at(split);
    let Ok(n) = digits.parse::<u64>() else {
        return Some(Err(format!("`{name}`: expected a number after `-`, such as tick-1s or profile-997")));
    };
    let per_unit: Option<u64> = match unit {
        "ns" | "nsec" => Some(1),
        "us" | "usec" => Some(1_000),
        "ms" | "msec" => Some(1_000_000),
        "s" | "sec" => Some(1_000_000_000),
        "m" | "min" => Some(60_000_000_000),
        "h" | "hour" => Some(3_600_000_000_000),
        "d" | "day" => Some(86_400_000_000_000),
        "" | "hz" => None,
        _ => return Some(Err(format!("`{name}`: unknown unit `{unit}` (ns, us, ms, s, m, h, d or hz)"))),
    };
    let period_ns = match per_unit {
        Some(k) => n.checked_mul(k),
        None => (n > 0).then(|| 1_000_000_000 / n),
    };
    match period_ns {
        Some(p) if p >= MIN_TIMER_NS => Some(Ok(Timer { every_cpu, period_ns: p })),
        _ => Some(Err(format!("`{name}`: the period must be at least {} us (at most 10000hz)", MIN_TIMER_NS / 1000))),
    }
}

fn is_timer(d: &ProbeDesc) -> bool {
    (d.provider.is_empty() || d.provider == "profile")
        && d.module.is_empty()
        && d.function.is_empty()
        && (d.name.starts_with("tick-") || d.name.starts_with("profile-"))
}

/// Whether `d` names the `proc` or `sched` provider (probes over the
/// scheduler's tracepoints).
fn is_tracepoint_provider(d: &ProbeDesc) -> bool {
    d.provider == "proc" || d.provider == "sched"
}

/// Descriptions that belong to a provider other than `syscall` and USDT.
fn claimed(d: &ProbeDesc) -> bool {
    is_special(d, "BEGIN") || is_special(d, "END") || is_special(d, "ERROR") || is_timer(d) || is_tracepoint_provider(d)
}

/// Whether `d` names syscall probes: its provider field matches `syscall`.
fn names_syscalls(d: &ProbeDesc) -> bool {
    !claimed(d) && glob(&d.provider, false).is_ok_and(|g| g.matches("syscall"))
}

/// Whether `d` may name USDT (or pid-provider) probes: any provider field
/// but `syscall` itself. A glob such as `*` (or an empty field) names both
/// kinds, as `*:::entry` names every provider's probes in dtrace(1).
pub(crate) fn names_usdt(d: &ProbeDesc) -> bool {
    !claimed(d) && d.provider != "syscall"
}

/// Whether `d`, read as a syscall description, matches some syscall.
fn matches_syscalls(d: &ProbeDesc) -> bool {
    let (Ok(mg), Ok(fg), Ok(ng)) = (glob(&d.module, false), glob(&d.function, false), glob(&d.name, false)) else {
        return false;
    };
    names_syscalls(d)
        && mg.matches("vmlinux")
        && ["entry", "return"].iter().any(|n| ng.matches(n))
        && syscalls::all().any(|(_, s)| fg.matches(s))
}

/// Whether a description of `program` may name USDT probes, which are
/// attached as uprobes (see [`crate::kernel::uprobe::warm_up`]).
pub fn may_use_uprobes(program: &super::ast::Program) -> bool {
    program.descs().any(names_usdt)
}

/// DTrace providers that sdtrace does not offer, named exactly in a
/// description that matched nothing: an error that says so, rather than
/// one about USDT probes.
fn unsupported_provider(prov: &str, text: &str, span: super::diag::Span) -> Option<Diagnostic> {
    let (what, hint) = if prov == "fbt" {
        (
            "the fbt provider (entry and return of kernel functions) is not supported by sdtrace yet",
            "system calls are syscall::NAME:entry and syscall::NAME:return",
        )
    } else if [
        "io",
        "lockstat",
        "sdt",
        "kinst",
        "fasttrap",
        "plockstat",
        "cpc",
        "sysinfo",
        "vminfo",
        "ip",
        "tcp",
        "udp",
    ]
    .contains(&prov)
    {
        ("this DTrace provider is not supported by sdtrace yet", UNSUPPORTED_HINT)
    } else if let Some(pid) = prov.strip_prefix("pid").filter(|p| p.parse::<u32>().is_ok()) {
        return Some(
            Diagnostic::error(span, format!("`{text}`: the pid provider traces process {pid}, which was not given"))
                .with_hint(format!("add -p {pid}, or use pid$target with -c 'COMMAND'")),
        );
    } else {
        return None;
    };
    Some(Diagnostic::error(span, format!("`{text}`: {what}")).with_hint(hint))
}

/// What sdtrace does offer, for [`unsupported_provider`].
const UNSUPPORTED_HINT: &str = "sdtrace's providers are syscall, proc, pid, profile, tick, BEGIN/END/ERROR, and the \
                                USDT providers of programs (with -p PID or -c 'COMMAND')";

/// Match every clause's descriptions. `target` replaces `$target` in
/// provider fields.
pub fn plan(ir: &Ir, catalog: ArgCatalog, target: Option<u32>, allow_empty: bool) -> Result<Plan, Vec<Diagnostic>> {
    let mut p = Plan::default();
    let mut diags = Vec::new();
    let add = |p: &mut Plan, info: ProbeInfo| -> u64 {
        p.table.0.push(info);
        (p.table.0.len() - 1) as u64
    };

    // BEGIN and END.
    for (which, slot) in [("BEGIN", 0), ("END", 1)] {
        let clauses: Vec<(usize, Filter)> = ir
            .clauses
            .iter()
            .enumerate()
            .filter(|(_, c)| c.descs.iter().any(|d| is_special(d, which)))
            .map(|(i, _)| (i, Filter::All))
            .collect();
        if !clauses.is_empty() {
            let id = add(
                &mut p,
                ProbeInfo {
                    provider: "dtrace".into(),
                    module: String::new(),
                    function: String::new(),
                    name: which.into(),
                    ..Default::default()
                },
            );
            p.matched += 1;
            let spec = ProgramSpec { context: Context::Special(id), clauses, ids: vec![id], on_error: None };
            if slot == 0 {
                p.begin = Some(spec);
            } else {
                p.end = Some(spec);
            }
        }
    }

    // Timers: one program per distinct timer name.
    // (name, timer, clauses)
    type TimerUse = (String, Timer, Vec<(usize, Filter)>);
    let mut timers: Vec<TimerUse> = Vec::new();
    for (ci, c) in ir.clauses.iter().enumerate() {
        for d in c.descs.iter().filter(|d| is_timer(d)) {
            match parse_timer(&d.name) {
                Some(Ok(t)) => match timers.iter_mut().find(|(n, _, _)| *n == d.name) {
                    Some((_, _, cl)) if cl.iter().any(|(i, _)| *i == ci) => {}
                    Some((_, _, cl)) => cl.push((ci, Filter::All)),
                    None => timers.push((d.name.clone(), t, vec![(ci, Filter::All)])),
                },
                Some(Err(e)) => diags.push(Diagnostic::error(d.span, e)),
                None => {}
            }
        }
    }
    for (name, timer, clauses) in timers {
        let info = ProbeInfo { provider: "profile".into(), name, ..Default::default() };
        let id = add(&mut p, info);
        p.matched += 1;
        p.timers.push((ProgramSpec { context: Context::Timer(id), clauses, ids: vec![id], on_error: None }, timer));
    }

    // proc and sched: one program per probe.
    for probe in TracepointProbe::ALL {
        let clauses: Vec<(usize, Filter)> = ir
            .clauses
            .iter()
            .enumerate()
            .filter(|(_, c)| {
                c.descs.iter().any(|d| {
                    d.provider == probe.provider()
                        && [(&d.module, ""), (&d.function, ""), (&d.name, probe.name())]
                            .iter()
                            .all(|(f, v)| glob(f, false).is_ok_and(|g| g.matches(v)))
                })
            })
            .map(|(i, _)| (i, Filter::All))
            .collect();
        if !clauses.is_empty() {
            let info = ProbeInfo { provider: probe.provider().into(), name: probe.name().into(), ..Default::default() };
            let id = add(&mut p, info);
            p.matched += 1;
            p.tracepoints.push((
                ProgramSpec { context: Context::Tracepoint(id, probe), clauses, ids: vec![id], on_error: None },
                probe,
            ));
        }
    }

    // Syscalls: two ranges of ids, entry and return.
    let uses_syscalls = ir.clauses.iter().any(|c| c.descs.iter().any(names_syscalls));
    if uses_syscalls {
        let n = syscalls::count();
        for (dir, is_entry) in [("entry", true), ("return", false)] {
            let base = p.table.0.len() as u64;
            for nr in 0..n {
                let function = syscalls::name(nr).unwrap_or("").to_string();
                add(
                    &mut p,
                    ProbeInfo {
                        provider: "syscall".into(),
                        module: "vmlinux".into(),
                        function,
                        name: dir.into(),
                        ..Default::default()
                    },
                );
            }
            let mut clauses = Vec::new();
            let mut seen = Vec::new();
            for (ci, c) in ir.clauses.iter().enumerate() {
                let mut ids = Vec::new();
                let mut all = false;
                for d in &c.descs {
                    let (Ok(pg), Ok(mg), Ok(fg), Ok(ng)) = (
                        glob(&d.provider, false),
                        glob(&d.module, false),
                        glob(&d.function, false),
                        glob(&d.name, false),
                    ) else {
                        continue;
                    };
                    if claimed(d) || !pg.matches("syscall") || !mg.matches("vmlinux") || !ng.matches(dir) {
                        continue;
                    }
                    if d.function.is_empty() || d.function == "*" {
                        all = true;
                    }
                    for (nr, name) in syscalls::all() {
                        if fg.matches(name) {
                            ids.push(base + nr as u64);
                        }
                    }
                }
                if all || !ids.is_empty() {
                    ids.sort_unstable();
                    ids.dedup();
                    p.matched += ids.len();
                    seen.extend(ids.iter().copied());
                    clauses.push((ci, if all { Filter::All } else { Filter::Ids(ids) }));
                }
            }
            if !clauses.is_empty() {
                let ids = (base..base + n as u64).collect();
                let context = if is_entry { Context::SyscallEntry { base } } else { Context::SyscallReturn { base } };
                let spec = ProgramSpec { context, clauses, ids, on_error: None };
                if is_entry {
                    p.sys_enter = Some(spec);
                } else {
                    p.sys_exit = Some(spec);
                }
            }
        }
    }

    // USDT.
    let usdt_descs: Vec<&ProbeDesc> = ir.clauses.iter().flat_map(|c| &c.descs).filter(|d| names_usdt(d)).collect();
    // Descriptions with `$target` need one.
    for d in &usdt_descs {
        if d.provider.contains("$target") && target.is_none() && !d.module.starts_with('/') {
            diags.push(
                Diagnostic::error(d.span, "`$target` needs a target process").with_hint("add -c 'COMMAND' or -p PID"),
            );
        }
    }
    if !usdt_descs.is_empty() && !catalog.any_scope {
        // A description that names syscalls too (`*:::entry`) may be
        // satisfied by them.
        for d in usdt_descs.iter().filter(|d| !names_syscalls(d)) {
            if let Some(diag) = unsupported_provider(&d.provider, &d.text, d.span) {
                diags.push(diag);
                continue;
            }
            diags.push(
                Diagnostic::error(d.span, format!("`{}` names a USDT probe, which needs processes to look in", d.text))
                    .with_hint(
                        "add -p PID or -c 'COMMAND', or name the object by path to trace every process: \
                         provider:/path/to/object::name",
                    ),
            );
        }
        if !diags.is_empty() {
            return Err(diags);
        }
    }
    let mut matcher = match UsdtMatcher::new(ir, target) {
        Ok(m) => m,
        Err(d) => {
            diags.push(d);
            return Err(diags);
        }
    };
    // The objects were read once, for typing, before.
    let mut known: Vec<String> = Vec::new();
    let scoped_pids: Vec<u32> = catalog.objects.iter().filter_map(|(s, _, _)| s.pid).collect();
    for (scope, _, objects) in catalog.objects {
        for probe in &objects.probes {
            let name = format!("{}:{}", probe.provider, probe.name);
            if !known.contains(&name) {
                known.push(name);
            }
        }
        let found = matcher.scan_probes(&scope, objects, &mut p.table);
        diags.extend(found.diags);
        p.helpers.extend(found.helpers);
        for w in found.warnings {
            if !p.warnings.contains(&w) {
                p.warnings.push(w);
            }
        }
        for n in found.notes {
            if !p.notes.contains(&n) {
                p.notes.push(n);
            }
        }
        p.matched += found.matched;
        matcher.merge(found.programs);
    }
    p.usdt = std::mem::take(&mut matcher.programs).into_values().collect();
    if !allow_empty {
        for (k, d) in matcher.descs.iter().enumerate() {
            let by_syscalls = ir.clauses[d.clause].descs.iter().any(|e| e.span == d.span && matches_syscalls(e));
            if !matcher.matched[k] && !by_syscalls && !matcher.descs[..k].iter().any(|e| e.text == d.text) {
                let pid_not_given = d
                    .provider
                    .as_str()
                    .strip_prefix("pid")
                    .and_then(|p| p.parse::<u32>().ok())
                    .is_some_and(|pid| !scoped_pids.contains(&pid));
                if pid_not_given {
                    if let Some(diag) = unsupported_provider(d.provider.as_str(), &d.text, d.span) {
                        diags.push(diag);
                        continue;
                    }
                }
                if d.pid_provider.is_some() {
                    diags.push(Diagnostic::no_match(d.span, &d.text).with_hint(
                        "pid provider probes are pidPID:MODULE:FUNCTION:entry and :return, where FUNCTION is \
                                 a function symbol (`nm -D`) of the executable or a library of a process given with \
                                 -p or -c",
                    ));
                    continue;
                }
                if let Some(diag) = unsupported_provider(d.provider.as_str(), &d.text, d.span) {
                    diags.push(diag);
                    continue;
                }
                let list = "list what there is with `sdtrace list -p PID`, or allow it with -Z";
                let hint = match closest(d, &known) {
                    Some(close) => format!("did you mean {close}? ({list})"),
                    None => list.to_string(),
                };
                diags.push(Diagnostic::no_match(d.span, &d.text).with_hint(hint));
            }
        }
        for c in &ir.clauses {
            for d in &c.descs {
                let (Ok(pg), Ok(fg), Ok(ng)) =
                    (glob(&d.provider, false), glob(&d.function, false), glob(&d.name, false))
                else {
                    continue;
                };
                if is_tracepoint_provider(d) {
                    let ng = glob(&d.name, false);
                    let names: Vec<&str> =
                        TracepointProbe::ALL.iter().filter(|p| p.provider() == d.provider).map(|p| p.name()).collect();
                    if !names.iter().any(|n| ng.as_ref().is_ok_and(|g| g.matches(n))) {
                        let hint = format!("the {} provider has {}", d.provider, names.join(", "));
                        diags.push(Diagnostic::no_match(d.span, &d.text).with_hint(hint));
                    }
                    continue;
                }
                // One that may name USDT probes too is judged above.
                if pg.matches("syscall")
                    && !claimed(d)
                    && !names_usdt(d)
                    && (!["entry", "return"].iter().any(|n| ng.matches(n))
                        || !syscalls::all().any(|(_, s)| fg.matches(s)))
                {
                    diags.push(
                        Diagnostic::no_match(d.span, &d.text)
                            .with_hint("syscall probes are syscall::NAME:entry and syscall::NAME:return"),
                    );
                }
            }
        }
    }
    if !usdt_descs.is_empty() {
        p.usdt_matcher = Some(matcher);
    }
    // ERROR: every program runs the ERROR clauses when one of its clauses faults.
    let error_clauses: Vec<usize> = ir
        .clauses
        .iter()
        .enumerate()
        .filter(|(_, c)| c.descs.iter().any(|d| is_special(d, "ERROR")))
        .map(|(i, _)| i)
        .collect();
    if !error_clauses.is_empty() {
        let info = ProbeInfo { provider: "dtrace".into(), name: "ERROR".into(), ..Default::default() };
        let id = add(&mut p, info);
        p.matched += 1;
        let handler = ErrorHandler { id, clauses: error_clauses };
        for spec in p.specs_mut() {
            spec.on_error = Some(handler.clone());
        }
        p.error_handler = Some(handler);
    }
    if diags.is_empty() {
        Ok(p)
    } else {
        Err(diags)
    }
}

/// The (at most three) probe names of `known` closest to description
/// `d`'s provider and name, as `provider:name`.
fn closest(d: &DescPattern, known: &[String]) -> Option<String> {
    let prov = d.text.split(':').next().unwrap_or("").replace("$target", "");
    let name = d.text.rsplit(':').next().unwrap_or("").replace('-', "__");
    let wanted = format!("{}:{name}", prov.trim_end_matches(|c: char| c.is_ascii_digit()));
    let mut scored: Vec<(usize, &String)> = known.iter().map(|k| (strsim::levenshtein(&wanted, k), k)).collect();
    scored.sort();
    let close: Vec<&str> = scored.iter().take(3).map(|(_, k)| k.as_str()).collect();
    (!close.is_empty()).then(|| close.join(", "))
}

impl Plan {
    /// Every program of the plan.
    pub fn specs(&self) -> Vec<&ProgramSpec> {
        let mut out: Vec<&ProgramSpec> = self.usdt.iter().map(|(s, _)| s).collect();
        out.extend([&self.sys_enter, &self.sys_exit, &self.begin, &self.end].into_iter().flatten());
        out.extend(self.timers.iter().map(|(s, _)| s));
        out.extend(self.tracepoints.iter().map(|(s, _)| s));
        out
    }

    fn specs_mut(&mut self) -> Vec<&mut ProgramSpec> {
        let mut out: Vec<&mut ProgramSpec> = self.usdt.iter_mut().map(|(s, _)| s).collect();
        out.extend([&mut self.sys_enter, &mut self.sys_exit, &mut self.begin, &mut self.end].into_iter().flatten());
        out.extend(self.timers.iter_mut().map(|(s, _)| s));
        out.extend(self.tracepoints.iter_mut().map(|(s, _)| s));
        out
    }
}
