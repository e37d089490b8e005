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
use super::codegen::{Context, ErrorHandler, Filter, ProcProbe, ProgramSpec};
use super::diag::Diagnostic;
use super::sema::{ClauseArgs, Ir, ProbeField};
use super::syscalls;
use crate::bpf::usdt::{self, ArgPlan, StringRead};
use crate::discovery::{annotate_sites, discover_file};
use crate::kernel::uprobe::SiteAttach;
use crate::site::{check_site_bytes, nop10_safe, semaphore_page_is_shared, SiteForm};
use stap_notes::meta::ArgKind;

/// A probe the run can see.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ProbeInfo {
    /// Provider as DTrace names it (`python1234` for USDT).
    pub provider: String,
    /// Module.
    pub module: String,
    /// Function.
    pub function: String,
    /// Name (`function-entry`: `__` shown as `-`).
    pub name: String,
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
    pub proc: Vec<(ProgramSpec, ProcProbe)>,
    /// How many probes matched, for the banner.
    pub matched: usize,
    /// Warnings to print.
    pub warnings: Vec<String>,
    /// The USDT descriptions, kept to match objects mapped later.
    pub usdt_matcher: Option<UsdtMatcher>,
    /// The `ERROR` clauses every program runs, for programs made later.
    pub error_handler: Option<ErrorHandler>,
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
    pub fn module_matches(&self, module: &str, pattern: &glob::Pattern, file_name: &str) -> bool {
        if module.starts_with('/') {
            self.by_path && pattern.matches(&self.shown)
        } else {
            !self.by_path && pattern.matches(file_name)
        }
    }
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

fn is_proc(d: &ProbeDesc) -> bool {
    d.provider == "proc"
}

/// Descriptions that belong to a provider other than `syscall` and USDT.
fn claimed(d: &ProbeDesc) -> bool {
    is_special(d, "BEGIN") || is_special(d, "END") || is_special(d, "ERROR") || is_timer(d) || is_proc(d)
}

/// Whether a description of `program` may name USDT probes, which are
/// attached as uprobes (see [`crate::kernel::uprobe::warm_up`]).
pub fn may_use_uprobes(program: &super::ast::Program) -> bool {
    program.descs().any(|d| !claimed(d) && !glob(&d.provider, false).is_ok_and(|g| g.matches("syscall")))
}

/// The USDT probes of every scope, discovered once before type checking
/// so that `args[N]` and `args->name` take the types of the probes'
/// metadata records (or of [`crate::catalog`] for runtimes without them).
#[derive(Debug, Default)]
pub struct ArgCatalog {
    /// (scope, file name, probes).
    objects: Vec<(UsdtScope, String, crate::discovery::ObjectProbes)>,
    /// Whether there was any scope to look in.
    any_scope: bool,
}

/// Argument names and kinds in declaration order.
type Described = Vec<(String, ArgKind)>;

impl ArgCatalog {
    /// Discover the probes of `scopes`; files that cannot be read are left
    /// for [`plan`] to report.
    pub fn discover(scopes: &[UsdtScope]) -> ArgCatalog {
        let mut objects = Vec::new();
        for scope in scopes {
            if let Ok(o) = discover_file(&scope.open_path) {
                let module = PathBuf::from(&scope.shown)
                    .file_name()
                    .map(|f| f.to_string_lossy().into_owned())
                    .unwrap_or_default();
                objects.push((scope.clone(), module, o));
            }
        }
        ArgCatalog { objects, any_scope: !scopes.is_empty() }
    }

    /// The held command has started as process `pid`: its objects are
    /// scoped to it from now on.
    pub fn set_held_pid(&mut self, pid: u32) {
        for (scope, _, _) in self.objects.iter_mut().filter(|(s, _, _)| s.held) {
            scope.pid = Some(pid);
        }
    }

    /// What the USDT probes `clause` names say of their arguments. The
    /// function field is not looked at: a description belongs to a probe,
    /// not to one of its sites.
    pub fn describe(&self, clause: &super::ast::Clause, target: Option<u32>) -> ClauseArgs {
        let mut seen: Vec<(String, Option<Described>)> = Vec::new();
        let mut usdt = false;
        for d in clause.descs.iter().filter(|d| !claimed(d)) {
            let prov = d.provider.replace("$target", &target.map(|t| t.to_string()).unwrap_or_default());
            let (Ok(pg), Ok(mg), Ok(ng)) = (glob(&prov, false), glob(&d.module, false), glob(&d.name, true)) else {
                continue;
            };
            if pg.matches("syscall") {
                continue;
            }
            usdt = true;
            for (scope, module, objects) in &self.objects {
                let with_pid = scope.pid.map(|p| format!("{p}"));
                for probe in &objects.probes {
                    let prov_ok = pg.matches(&probe.provider)
                        || with_pid.as_ref().is_some_and(|p| pg.matches(&format!("{}{p}", probe.provider)));
                    if !(prov_ok && scope.module_matches(&d.module, &mg, module) && ng.matches(&probe.name)) {
                        continue;
                    }
                    let args = match &probe.description {
                        Some(desc) => Some(desc.args.iter().map(|a| (a.name.clone(), a.kind)).collect()),
                        None => crate::catalog::lookup(&probe.provider, &probe.name),
                    };
                    let shown = format!("{}:{}", probe.provider, probe.name.replace("__", "-"));
                    if !seen.iter().any(|(s, a)| *s == shown && *a == args) {
                        seen.push((shown, args));
                    }
                }
            }
        }
        let Some((first_name, first)) = seen.first() else {
            return if usdt { ClauseArgs::NotYet } else { ClauseArgs::Unknown };
        };
        if let Some((other, _)) = seen.iter().find(|(_, a)| a != first) {
            let side = |n: &str, a: &Option<Described>| match a {
                Some(a) => format!(
                    "{n} ({})",
                    a.iter().map(|(n, k)| format!("{n}: {}", k.name())).collect::<Vec<_>>().join(", ")
                ),
                None => format!("{n} (no metadata record)"),
            };
            let other_args = &seen.iter().find(|(n, _)| n == other).expect("found above").1;
            return ClauseArgs::Mixed(format!("{} but {}", side(first_name, first), side(other, other_args)));
        }
        match first {
            Some(a) => ClauseArgs::Typed(a.clone()),
            None => ClauseArgs::Unknown,
        }
    }
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
        "sched",
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
        let info = ProbeInfo { provider: "profile".into(), module: String::new(), function: String::new(), name };
        let id = add(&mut p, info);
        p.matched += 1;
        p.timers.push((ProgramSpec { context: Context::Timer(id), clauses, ids: vec![id], on_error: None }, timer));
    }

    // proc: one program per probe.
    for probe in [ProcProbe::ExecSuccess, ProcProbe::Exit, ProcProbe::Create] {
        let clauses: Vec<(usize, Filter)> = ir
            .clauses
            .iter()
            .enumerate()
            .filter(|(_, c)| {
                c.descs.iter().any(|d| {
                    is_proc(d)
                        && [(&d.module, ""), (&d.function, ""), (&d.name, probe.name())]
                            .iter()
                            .all(|(f, v)| glob(f, false).is_ok_and(|g| g.matches(v)))
                })
            })
            .map(|(i, _)| (i, Filter::All))
            .collect();
        if !clauses.is_empty() {
            let info = ProbeInfo {
                provider: "proc".into(),
                module: String::new(),
                function: String::new(),
                name: probe.name().into(),
            };
            let id = add(&mut p, info);
            p.matched += 1;
            p.proc.push((
                ProgramSpec { context: Context::Proc(id, probe), clauses, ids: vec![id], on_error: None },
                probe,
            ));
        }
    }

    // Syscalls: two ranges of ids, entry and return.
    let uses_syscalls = ir
        .clauses
        .iter()
        .any(|c| c.descs.iter().any(|d| !claimed(d) && glob(&d.provider, false).is_ok_and(|g| g.matches("syscall"))));
    if uses_syscalls {
        let n = syscalls::count();
        for (dir, is_entry) in [("entry", true), ("return", false)] {
            let base = p.table.0.len() as u64;
            for nr in 0..n {
                let function = syscalls::name(nr).unwrap_or("").to_string();
                add(
                    &mut p,
                    ProbeInfo { provider: "syscall".into(), module: "vmlinux".into(), function, name: dir.into() },
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
    let usdt_descs: Vec<&ProbeDesc> = ir
        .clauses
        .iter()
        .flat_map(|c| &c.descs)
        .filter(|d| !claimed(d) && !glob(&d.provider, false).is_ok_and(|g| g.matches("syscall")))
        .collect();
    // Descriptions with `$target` need one.
    for d in &usdt_descs {
        if d.provider.contains("$target") && target.is_none() && !d.module.starts_with('/') {
            diags.push(
                Diagnostic::error(d.span, "`$target` needs a target process").with_hint("add -c 'COMMAND' or -p PID"),
            );
        }
    }
    if !usdt_descs.is_empty() && !catalog.any_scope {
        for d in &usdt_descs {
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
        return Err(diags);
    }
    let mut matcher = match UsdtMatcher::new(ir, target) {
        Ok(m) => m,
        Err(d) => {
            diags.push(d);
            return Err(diags);
        }
    };
    // The objects were read once, for typing, before.
    for (scope, _, objects) in catalog.objects {
        let found = matcher.scan_probes(&scope, objects, &mut p.table);
        diags.extend(found.diags);
        for w in found.warnings {
            if !p.warnings.contains(&w) {
                p.warnings.push(w);
            }
        }
        p.matched += found.matched;
        matcher.merge(found.programs);
    }
    p.usdt = std::mem::take(&mut matcher.programs).into_values().collect();
    if !allow_empty {
        for (k, d) in matcher.descs.iter().enumerate() {
            if !matcher.matched[k] && !matcher.descs[..k].iter().any(|e| e.text == d.text) {
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
                diags.push(
                    Diagnostic::no_match(d.span, &d.text)
                        .with_hint("list what there is with `sdtrace list -p PID`, or allow it with -Z"),
                );
            }
        }
        for c in &ir.clauses {
            for d in &c.descs {
                let (Ok(pg), Ok(fg), Ok(ng)) =
                    (glob(&d.provider, false), glob(&d.function, false), glob(&d.name, false))
                else {
                    continue;
                };
                if is_proc(d) {
                    let ng = glob(&d.name, false);
                    let any = [ProcProbe::ExecSuccess, ProcProbe::Exit, ProcProbe::Create]
                        .iter()
                        .any(|p| ng.as_ref().is_ok_and(|g| g.matches(p.name())));
                    if !any {
                        diags.push(
                            Diagnostic::no_match(d.span, &d.text)
                                .with_hint("the proc provider has exec-success, exit and create"),
                        );
                    }
                    continue;
                }
                if pg.matches("syscall")
                    && !claimed(d)
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
        let info = ProbeInfo {
            provider: "dtrace".into(),
            module: String::new(),
            function: String::new(),
            name: "ERROR".into(),
        };
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

/// One USDT description, compiled.
#[derive(Debug, Clone)]
pub struct DescPattern {
    /// The clause it heads.
    pub clause: usize,
    provider: glob::Pattern,
    module: glob::Pattern,
    function: glob::Pattern,
    name: glob::Pattern,
    module_text: String,
    /// For the pid provider (`pid1234`, `pid$target`): the process.
    pid_provider: Option<u32>,
    /// The description as written.
    pub text: String,
    /// Where it is written.
    pub span: super::diag::Span,
}

/// USDT programs keyed by their clauses and argument plans, with the
/// sites each attaches to and the probe ids it sees.
type Programs = BTreeMap<(Vec<usize>, String), (ProgramSpec, Vec<UsdtAttach>)>;

/// Matches a program's USDT descriptions against objects: those there at
/// the start, and those a traced process maps later (a dlopened library, a
/// run-time provider), so one mechanism serves both.
#[derive(Debug, Clone)]
pub struct UsdtMatcher {
    /// The descriptions.
    pub descs: Vec<DescPattern>,
    /// Which descriptions matched a site so far.
    pub matched: Vec<bool>,
    needs_functions: bool,
    nop10_results: Vec<([u8; 10], bool)>,
    programs: Programs,
}

/// What one object adds.
#[derive(Debug, Default)]
pub struct Found {
    /// New programs with their sites (ids continue the probe table).
    pub programs: Vec<(ProgramSpec, Vec<UsdtAttach>)>,
    /// Sites matched.
    pub matched: usize,
    /// Sites that cannot be traced, at the description that matched them.
    pub diags: Vec<Diagnostic>,
    /// Warnings to print.
    pub warnings: Vec<String>,
}

impl UsdtMatcher {
    /// Compile the USDT descriptions of `ir`.
    pub fn new(ir: &Ir, target: Option<u32>) -> Result<UsdtMatcher, Diagnostic> {
        let mut descs = Vec::new();
        for (clause, c) in ir.clauses.iter().enumerate() {
            for d in &c.descs {
                if claimed(d) || glob(&d.provider, false).is_ok_and(|g| g.matches("syscall")) {
                    continue;
                }
                let prov = d.provider.replace("$target", &target.map(|t| t.to_string()).unwrap_or_default());
                let pat = |f: &str, dash| glob(f, dash).map_err(|e| Diagnostic::error(d.span, e));
                let pid_provider = prov.strip_prefix("pid").and_then(|p| p.parse::<u32>().ok());
                descs.push(DescPattern {
                    pid_provider,
                    clause,
                    provider: pat(&prov, false)?,
                    module: pat(&d.module, false)?,
                    function: pat(&d.function, false)?,
                    name: pat(&d.name, true)?,
                    module_text: d.module.clone(),
                    text: d.text.clone(),
                    span: d.span,
                });
            }
        }
        let needs_functions = ir.uses_probefunc
            || ir.clauses.iter().flat_map(|c| &c.descs).any(|d| !d.function.is_empty() && d.function != "*");
        Ok(UsdtMatcher {
            matched: vec![false; descs.len()],
            descs,
            needs_functions,
            nop10_results: Vec::new(),
            programs: BTreeMap::new(),
        })
    }

    /// Whether any description could match an object of a process (one
    /// not named by path).
    pub fn wants_process_objects(&self) -> bool {
        self.descs.iter().any(|d| !d.module_text.starts_with('/'))
    }

    /// Match the sites of one object: new probes go into `table`, and the
    /// programs that see them are returned (not yet merged).
    pub fn scan(&mut self, scope: &UsdtScope, table: &mut ProbeTable) -> Found {
        match discover_file(&scope.open_path) {
            Ok(objects) => self.scan_probes(scope, objects, table),
            Err(_) => Found::default(),
        }
    }

    /// [`UsdtMatcher::scan`] for an object already read.
    pub fn scan_probes(
        &mut self,
        scope: &UsdtScope,
        mut objects: crate::discovery::ObjectProbes,
        table: &mut ProbeTable,
    ) -> Found {
        let mut found = Found::default();
        let Some(arch) = objects.arch else { return found };
        if self.needs_functions {
            annotate_sites(&mut objects);
        }
        let Ok(file) = stap_notes::Mapped::open(&scope.open_path) else { return found };
        let module =
            PathBuf::from(&scope.shown).file_name().map(|f| f.to_string_lossy().into_owned()).unwrap_or_default();
        let mut programs: Programs = BTreeMap::new();
        for probe in &objects.probes {
            let with_pid = scope.pid.map(|pid| format!("{}{pid}", probe.provider));
            // Identical notes for one site (a toolchain that concatenated
            // objects can leave several) are one site: probed once, each
            // hit one event.
            let mut seen: Vec<u64> = Vec::new();
            for site in &probe.sites {
                if seen.contains(&site.address) {
                    continue;
                }
                seen.push(site.address);
                let function = site.function.clone().unwrap_or_default();
                let mut clauses: Vec<usize> = Vec::new();
                let mut first = None;
                for (k, d) in self.descs.iter().enumerate() {
                    if d.pid_provider.is_some() {
                        continue;
                    }
                    let prov_ok = d.provider.matches(&probe.provider)
                        || with_pid.as_deref().is_some_and(|w| d.provider.matches(w));
                    if prov_ok
                        && scope.module_matches(&d.module_text, &d.module, &module)
                        && d.function.matches(&function)
                        && d.name.matches(&probe.name)
                    {
                        self.matched[k] = true;
                        first.get_or_insert(d.span);
                        if !clauses.contains(&d.clause) {
                            clauses.push(d.clause);
                        }
                    }
                }
                let Some(span) = first else { continue };
                clauses.sort_unstable();
                let shown = format!("{}:{}", probe.provider, probe.name);
                let site_err = |why: String| {
                    Diagnostic::error(span, format!("{}: {shown} at {:#x}: {why}", scope.shown, site.address))
                };
                let Some(offset) = site.file_offset else {
                    found.diags.push(site_err("the site is not in the file".into()));
                    continue;
                };
                let offset = match check_site_bytes(&file, offset, arch) {
                    Ok(SiteForm::NopNop10(n)) if nop10_safe(&mut self.nop10_results, n) => offset + 1,
                    Ok(_) => offset,
                    Err(e) => {
                        found.diags.push(site_err(e));
                        continue;
                    }
                };
                let plans = match plan_args(&site.raw_args, arch) {
                    Ok(p) => p,
                    Err(e) => {
                        found.diags.push(site_err(e));
                        continue;
                    }
                };
                let ref_ctr_offset = probe.semaphore.and_then(|(_, off)| off).unwrap_or(0);
                if ref_ctr_offset != 0 && scope.held && semaphore_page_is_shared(&file, ref_ctr_offset) {
                    let w = format!(
                        "{}: the semaphore of {shown} shares a file page with another writable segment; with -c \
                         the probe may stay off (docs/tracing.md): trace the running process with -p instead",
                        scope.shown
                    );
                    if !found.warnings.contains(&w) {
                        found.warnings.push(w);
                    }
                }
                let info = ProbeInfo {
                    provider: with_pid.clone().unwrap_or_else(|| probe.provider.clone()),
                    module: module.clone(),
                    function: function.clone(),
                    name: probe.name.replace("__", "-"),
                };
                let site = SiteAttach { offset, ref_ctr_offset, cookie: 0, ret: false };
                add_site(table, &mut programs, scope, info, &clauses, &plans, site);
                found.matched += 1;
            }
        }
        self.scan_functions(scope, arch, &module, table, &mut found, &mut programs);
        found.programs = programs.into_values().collect();
        found
    }

    /// The pid provider: `pidPID:MODULE:FUNCTION:entry` and `:return` on
    /// the function symbols of one object of process PID, a uprobe at the
    /// function's first instruction (a uretprobe for `return`). On entry
    /// `arg0`… are the function's first six (register) arguments; on
    /// return `arg1` is the return value and `arg0` is 0 (dtrace(1) gives
    /// the offset of the return instruction, which a uretprobe does not
    /// know).
    fn scan_functions(
        &mut self,
        scope: &UsdtScope,
        arch: Arch,
        module: &str,
        table: &mut ProbeTable,
        found: &mut Found,
        programs: &mut Programs,
    ) {
        let Some(pid) = scope.pid else { return };
        let descs: Vec<usize> = (0..self.descs.len())
            .filter(|&k| {
                let d = &self.descs[k];
                d.pid_provider == Some(pid)
                    && (scope.module_matches(&d.module_text, &d.module, module)
                        || (scope.executable && d.module_text == "a.out"))
            })
            .collect();
        if descs.is_empty() {
            return;
        }
        let (entry_regs, return_reg) = match arch {
            Arch::X86_64 => ("8@%rdi 8@%rsi 8@%rdx 8@%rcx 8@%r8 8@%r9", "8@%rax"),
            Arch::AArch64 => ("8@x0 8@x1 8@x2 8@x3 8@x4 8@x5", "8@x0"),
            _ => return,
        };
        let entry_plans = plan_args(entry_regs, arch).expect("register arguments plan");
        let return_plans = plan_args(&format!("8@$0 {return_reg}"), arch).expect("return value plan");
        let symbols = function_symbols(&scope.open_path);
        // Aliases (`free`, `__libc_free`) share an address: one probe, which
        // runs the clauses of every alias and is named by the first.
        for aliases in symbols.chunk_by(|a, b| a.offset == b.offset) {
            let FunctionSymbol { offset, probeable, returns, .. } = aliases[0];
            for (name, ret) in [("entry", false), ("return", true)] {
                let mut clauses: Vec<usize> = Vec::new();
                let mut function = None;
                for alias in aliases.iter().map(|f| &f.name) {
                    for &k in &descs {
                        let d = &self.descs[k];
                        if d.function.matches(alias) && d.name.matches(name) {
                            self.matched[k] = true;
                            function.get_or_insert(alias);
                            if !clauses.contains(&d.clause) {
                                clauses.push(d.clause);
                            }
                        }
                    }
                }
                let Some(function) = function else { continue };
                if ret && !returns {
                    let w = format!(
                        "{}: pid{pid}:{module}:{function}:return left out: the function is not entered by a call \
                         (a return probe would overwrite what is at its stack pointer)",
                        scope.shown
                    );
                    found.warnings.push(w);
                    continue;
                }
                if !probeable {
                    let w = format!(
                        "{}: pid{pid}:{module}:{function}:{name} left out: uprobes cannot probe its first \
                         instruction (lock-prefixed)",
                        scope.shown
                    );
                    found.warnings.push(w);
                    continue;
                }
                clauses.sort_unstable();
                let info = ProbeInfo {
                    provider: format!("pid{pid}"),
                    module: module.to_string(),
                    function: function.clone(),
                    name: name.to_string(),
                };
                let plans = if ret { &return_plans } else { &entry_plans };
                let site = SiteAttach { offset, ref_ctr_offset: 0, cookie: 0, ret };
                add_site(table, programs, scope, info, &clauses, plans, site);
                found.matched += 1;
            }
        }
    }

    /// Fold the programs of several objects found at the start into one
    /// per clause set and argument plan.
    fn merge(&mut self, programs: Vec<(ProgramSpec, Vec<UsdtAttach>)>) {
        for (spec, attaches) in programs {
            let Context::Usdt(plans) = &spec.context else { continue };
            let key = (spec.clauses.iter().map(|(c, _)| *c).collect(), format!("{plans:?}"));
            match self.programs.get_mut(&key) {
                Some((s, a)) => {
                    s.ids.extend(spec.ids);
                    a.extend(attaches);
                }
                None => {
                    self.programs.insert(key, (spec, attaches));
                }
            }
        }
    }
}

impl Plan {
    /// Every program of the plan.
    pub fn specs(&self) -> Vec<&ProgramSpec> {
        let mut out: Vec<&ProgramSpec> = self.usdt.iter().map(|(s, _)| s).collect();
        out.extend([&self.sys_enter, &self.sys_exit, &self.begin, &self.end].into_iter().flatten());
        out.extend(self.timers.iter().map(|(s, _)| s));
        out.extend(self.proc.iter().map(|(s, _)| s));
        out
    }

    fn specs_mut(&mut self) -> Vec<&mut ProgramSpec> {
        let mut out: Vec<&mut ProgramSpec> = self.usdt.iter_mut().map(|(s, _)| s).collect();
        out.extend([&mut self.sys_enter, &mut self.sys_exit, &mut self.begin, &mut self.end].into_iter().flatten());
        out.extend(self.timers.iter_mut().map(|(s, _)| s));
        out.extend(self.proc.iter_mut().map(|(s, _)| s));
        out
    }
}

/// Give a matched site of `scope` the next probe id (`info` in `table`)
/// and add it to the program of its clauses and argument plans.
fn add_site(
    table: &mut ProbeTable,
    programs: &mut Programs,
    scope: &UsdtScope,
    info: ProbeInfo,
    clauses: &[usize],
    plans: &[ArgPlan],
    mut site: SiteAttach,
) {
    table.0.push(info);
    let id = (table.0.len() - 1) as u64;
    site.cookie = id;
    let (spec, attaches) = programs.entry((clauses.to_vec(), format!("{plans:?}"))).or_insert_with(|| {
        let spec = ProgramSpec {
            context: Context::Usdt(plans.to_vec()),
            clauses: clauses.iter().map(|&c| (c, Filter::All)).collect(),
            ids: Vec::new(),
            on_error: None,
        };
        (spec, Vec::new())
    });
    spec.ids.push(id);
    match attaches.iter_mut().find(|a| a.open_path == scope.open_path && a.pid == scope.pid) {
        Some(a) => a.sites.push(site),
        None => attaches.push(UsdtAttach { open_path: scope.open_path.clone(), pid: scope.pid, sites: vec![site] }),
    }
}

/// The functions an object defines (`STT_FUNC` symbols of `.symtab` and
/// `.dynsym` with an address in an executable segment), each name once,
/// with the file offset of its first instruction. Indirect functions
/// (`STT_GNU_IFUNC`, such as glibc's `memcpy`) are left out: their symbol
/// is the resolver, not the code that runs. Sorted by offset, and at one
/// offset the public name first (`free` before `__libc_free`), which names
/// the probe of aliases.
fn function_symbols(path: &std::path::Path) -> Vec<FunctionSymbol> {
    let Ok(bytes) = std::fs::read(path) else { return Vec::new() };
    let Ok(elf) = goblin::elf::Elf::parse(&bytes) else { return Vec::new() };
    let code: Vec<_> = elf
        .program_headers
        .iter()
        .filter(|p| p.p_type == goblin::elf::program_header::PT_LOAD && p.is_executable())
        .map(|p| (p.p_vaddr, p.p_filesz, p.p_offset))
        .collect();
    let lock_prefixed =
        |off: u64| elf.header.e_machine == goblin::elf::header::EM_X86_64 && bytes.get(off as usize) == Some(&0xf0);
    let entry_point = elf.header.e_entry;
    // A name that is an indirect function in any version (glibc's default
    // `memcpy@@GLIBC_2.14`) is left out whole, not probed at an old version.
    let indirect: std::collections::HashSet<&str> = [(&elf.syms, &elf.strtab), (&elf.dynsyms, &elf.dynstrtab)]
        .into_iter()
        .flat_map(|(syms, strtab)| {
            syms.iter()
                .filter(|s| s.st_type() == goblin::elf::sym::STT_GNU_IFUNC)
                .filter_map(|s| strtab.get_at(s.st_name))
        })
        .collect();
    let mut out = Vec::new();
    let mut names = std::collections::HashSet::new();
    for (dynamic, syms, strtab) in [(false, &elf.syms, &elf.strtab), (true, &elf.dynsyms, &elf.dynstrtab)] {
        for (i, s) in syms.iter().enumerate() {
            if s.st_type() != goblin::elf::sym::STT_FUNC || s.st_value == 0 || s.st_shndx == 0 {
                continue;
            }
            // A non-default version (`realpath@GLIBC_2.2.5` beside
            // `realpath@@GLIBC_2.3`) is not what programs call now.
            if dynamic && elf.versym.as_ref().and_then(|v| v.get_at(i)).is_some_and(|v| v.is_hidden()) {
                continue;
            }
            let Some(name) = strtab.get_at(s.st_name).filter(|n| !n.is_empty() && !indirect.contains(n)) else {
                continue;
            };
            let Some(&(vaddr, _, off)) = code.iter().find(|(v, n, _)| s.st_value >= *v && s.st_value < v + n) else {
                continue;
            };
            let offset = s.st_value - vaddr + off;
            if names.insert(name) {
                out.push(FunctionSymbol {
                    name: name.to_string(),
                    offset,
                    probeable: !lock_prefixed(offset),
                    returns: s.st_value != entry_point && !NOT_CALLED.contains(&name),
                });
            }
        }
    }
    out.sort_by(|a, b| {
        a.offset
            .cmp(&b.offset)
            .then_with(|| (a.name.starts_with('_'), a.name.len()).cmp(&(b.name.starts_with('_'), b.name.len())))
    });
    // An alias of a function that is not called is not called either.
    for group in out.chunk_by_mut(|a, b| a.offset == b.offset) {
        let returns = group.iter().all(|f| f.returns);
        group.iter_mut().for_each(|f| f.returns = returns);
    }
    out
}

/// A function an object defines, for the pid provider.
#[derive(Debug, Clone, PartialEq, Eq)]
struct FunctionSymbol {
    name: String,
    /// The file offset of its first instruction.
    offset: u64,
    /// False for x86 functions that start with a `lock`-prefixed
    /// instruction, which uprobes refuse.
    probeable: bool,
    /// False for code that is entered without a call (the entry point,
    /// signal return trampolines, new threads' first frames): a return
    /// probe takes the word at the stack pointer for a return address and
    /// replaces it, and there it is something else (`argc`, a signal
    /// frame), which would corrupt the process.
    returns: bool,
}

/// Functions entered without a call, besides the ELF entry point.
const NOT_CALLED: &[&str] = &[
    "_start",
    "__restore_rt",
    "_dl_start",
    "_dl_start_user",
    "__clone",
    "__clone3",
    "clone",
    "clone3",
    "__clone_internal",
];

/// Plan the reading of a site's arguments (strings are the program's business).
fn plan_args(raw: &str, arch: Arch) -> Result<Vec<ArgPlan>, String> {
    let specs = stap_notes::args::parse_args(raw, arch).map_err(|e| e.to_string())?;
    specs.iter().map(|s| usdt::plan_arg(s, arch, StringRead::No)).collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::d::diag::Source;
    use crate::d::sema::{check, Macros};

    fn plan_src(src: &str) -> Result<Plan, Vec<Diagnostic>> {
        let source = Source::new("t.d", src);
        let ast = crate::d::parse(&source).expect("parses");
        let ir = check(&ast, &Macros::default()).expect("checks");
        plan(&ir, ArgCatalog::default(), None, false)
    }

    #[test]
    fn function_symbols_name_aliases_publicly_and_flag_lock_prefixed_starts() {
        // Debian 12's glibc: free and __libc_free are one function;
        // pthread_spin_lock starts with `lock decl (%rdi)`.
        let libc = std::path::Path::new("/lib/x86_64-linux-gnu/libc.so.6");
        let syms = function_symbols(libc);
        let at = |name: &str| syms.iter().position(|s| s.name == name).unwrap_or_else(|| panic!("{name} in libc"));
        let (free, libc_free) = (at("free"), at("__libc_free"));
        assert_eq!(syms[free].offset, syms[libc_free].offset);
        assert!(free < libc_free, "the public name comes first");
        assert!(syms[free].probeable && syms[free].returns);
        assert!(!syms[at("pthread_spin_lock")].probeable);
        // The offset is the function's first byte in the file.
        let bytes = std::fs::read(libc).unwrap();
        assert_eq!(bytes[syms[at("pthread_spin_lock")].offset as usize], 0xf0);
        // Indirect functions are not offered.
        assert!(!syms.iter().any(|s| s.name == "memcpy"));
        // The entry point of this test program is not called: no return
        // probe there; main is called.
        let own = function_symbols(&std::env::current_exe().unwrap());
        let own_at = |name: &str| own.iter().find(|s| s.name == name).unwrap_or_else(|| panic!("{name}"));
        assert!(!own_at("_start").returns);
        assert!(own_at("main").returns);
    }

    #[test]
    fn timer_names_take_dtrace_units_and_default_to_hertz() {
        let t = |n: &str| parse_timer(n).expect("a timer name").map(|t| (t.every_cpu, t.period_ns));
        assert_eq!(t("tick-1s"), Ok((false, 1_000_000_000)));
        assert_eq!(t("tick-250msec"), Ok((false, 250_000_000)));
        assert_eq!(t("profile-997"), Ok((true, 1_000_000_000 / 997)));
        assert_eq!(t("profile-100hz"), Ok((true, 10_000_000)));
        assert_eq!(t("tick-2min"), Ok((false, 120_000_000_000)));
        assert!(t("tick-1fortnight").unwrap_err().contains("unknown unit `fortnight`"));
        assert!(t("tick-s").unwrap_err().contains("expected a number"));
        assert!(t("profile-0").is_err());
        assert!(t("tick-10us").unwrap_err().contains("at least 100 us"));
        assert!(parse_timer("tock-1s").is_none());
    }

    #[test]
    fn timers_proc_and_error_get_programs_of_their_own() {
        let p = plan_src(
            "tick-1s { x = 1; } profile:::tick-1s { x = 2; } profile-99 { x = 3; } \
             proc:::exec-success, proc:::exit { x = 4; } proc:::create { x = 5; } \
             BEGIN { x = 6; } ERROR { x = 7; }",
        )
        .unwrap();
        // One program per distinct timer, holding every clause that names it.
        let timers: Vec<(Vec<usize>, bool)> =
            p.timers.iter().map(|(s, t)| (s.clauses.iter().map(|c| c.0).collect(), t.every_cpu)).collect();
        assert_eq!(timers, [(vec![0, 1], false), (vec![2], true)]);
        let procs: Vec<(ProcProbe, Vec<usize>)> =
            p.proc.iter().map(|(s, pr)| (*pr, s.clauses.iter().map(|c| c.0).collect())).collect();
        assert_eq!(
            procs,
            [(ProcProbe::ExecSuccess, vec![3]), (ProcProbe::Exit, vec![3]), (ProcProbe::Create, vec![4])]
        );
        // Timers and proc probes are neither syscalls nor USDT probes.
        assert!(p.sys_enter.is_none() && p.usdt.is_empty());
        // Every program runs the ERROR clause on a fault.
        let error_id = p.table.0.iter().position(|i| i.name == "ERROR").unwrap() as u64;
        for s in p.specs() {
            assert_eq!(s.on_error, Some(ErrorHandler { id: error_id, clauses: vec![6] }), "{:?}", s.context);
        }
    }

    #[test]
    fn bad_timer_and_proc_names_are_reported_at_their_description() {
        let render = |d: Vec<Diagnostic>| d.iter().map(|d| d.message.clone()).collect::<Vec<_>>().join("\n");
        let e = render(plan_src("tick-5parsecs { x = 1; }").unwrap_err());
        assert!(e.contains("unknown unit `parsecs`"), "{e}");
        let e = render(plan_src("proc:::fork { x = 1; }").unwrap_err());
        assert!(e.contains("probe description `proc:::fork` matches no probes"), "{e}");
    }
}
