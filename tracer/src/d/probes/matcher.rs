//! Matching USDT and pid-provider descriptions against the probes of an
//! object, and grouping the matched sites into programs by argument
//! layout: at the start and for objects mapped later.

use super::*;

/// One USDT description, compiled.
#[derive(Debug, Clone)]
pub struct DescPattern {
    /// The clause it heads.
    pub clause: usize,
    pub(super) provider: glob::Pattern,
    pub(super) module: glob::Pattern,
    pub(super) function: glob::Pattern,
    pub(super) name: glob::Pattern,
    pub(super) module_text: String,
    /// For the pid provider (`pid1234`, `pid$target`): the process.
    pub(super) pid_provider: Option<u32>,
    /// The description as written.
    pub text: String,
    /// Where it is written.
    pub span: crate::d::diag::Span,
}

/// USDT programs keyed by their clauses and argument plans, with the
/// sites each attaches to and the probe ids it sees.
pub(super) type Programs = BTreeMap<(Vec<usize>, String), (ProgramSpec, Vec<UsdtAttach>)>;

/// Matches a program's USDT descriptions against objects: those there at
/// the start, and those a traced process maps later (a dlopened library, a
/// run-time provider), so one mechanism serves both.
#[derive(Debug, Clone)]
pub struct UsdtMatcher {
    /// The descriptions.
    pub descs: Vec<DescPattern>,
    /// Which descriptions matched a site so far.
    pub matched: Vec<bool>,
    pub(super) needs_functions: bool,
    /// The program calls `printevent()`: sites read their arguments as
    /// their descriptions say, and the probe table says how to print them.
    pub(super) events: bool,
    pub(super) nop10_results: Vec<([u8; 10], bool)>,
    pub(super) programs: Programs,
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
    /// What sdtrace does for the user, said unless quiet (a helper probe
    /// enabled).
    pub notes: Vec<String>,
    /// Semaphores to raise with no program on the probe's sites: a
    /// runtime probe that fires only while another is enabled (see
    /// [`crate::catalog::needs_enabled`]).
    pub helpers: Vec<UsdtAttach>,
}

impl UsdtMatcher {
    /// Compile the USDT descriptions of `ir`.
    pub fn new(ir: &Ir, target: Option<u32>) -> Result<UsdtMatcher, Diagnostic> {
        let mut descs = Vec::new();
        for (clause, c) in ir.clauses.iter().enumerate() {
            for d in &c.descs {
                if !names_usdt(d) {
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
            events: ir.uses_events,
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
        for w in &objects.warnings {
            found.warnings.push(format!("{}: {w}", scope.shown));
        }
        let Ok(file) = crate::site::SiteFile::open(&scope.open_path) else { return found };
        let module =
            PathBuf::from(&scope.shown).file_name().map(|f| f.to_string_lossy().into_owned()).unwrap_or_default();
        let mut programs: Programs = BTreeMap::new();
        for probe in &objects.probes {
            let with_pid = scope.pid.map(|pid| format!("{}{pid}", probe.provider));
            for site in probe.traced_sites() {
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
                let offset = match file.form(offset, arch) {
                    Ok(SiteForm::NopNop10(n)) if nop10_safe(&mut self.nop10_results, n) => offset + 1,
                    Ok(_) => offset,
                    Err(e) => {
                        found.diags.push(site_err(e));
                        continue;
                    }
                };
                let planned = if self.events {
                    crate::d::events::plan(probe, &site.raw_args, arch)
                        .map(|(plans, format)| (plans, Some(std::sync::Arc::new(format))))
                } else {
                    plan_args(&site.raw_args, arch).map(|plans| (plans, None))
                };
                let (plans, event) = match planned {
                    Ok(p) => p,
                    Err(e) => {
                        found.diags.push(site_err(e));
                        continue;
                    }
                };
                let ref_ctr_offset = probe.semaphore.and_then(|(_, off)| off).unwrap_or(0);
                if ref_ctr_offset != 0
                    && scope.held
                    && semaphore_page_is_shared(&objects.writable_segments, ref_ctr_offset)
                {
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
                    event,
                };
                let site = SiteAttach { offset, ref_ctr_offset, cookie: 0, ret: false };
                add_site(table, &mut programs, scope, info, &clauses, &plans, site);
                found.matched += 1;
            }
        }
        self.scan_functions(scope, arch, &module, table, &mut found, &mut programs);
        found.programs = programs.into_values().collect();
        if found.matched > 0 {
            self.enable_needed(scope, &objects, &module, &mut found);
        }
        found
    }

    /// A matched probe that fires only while another probe of the object
    /// is enabled (CPython 3.11's function-entry needs `line`): raise the
    /// other probe's semaphore without putting a program on its sites —
    /// an empty uprobe at the object's entry point (run once, when a
    /// process starts) carries that semaphore, so the runtime takes its
    /// tracing path and the needed probe's own sites cost nothing.
    fn enable_needed(
        &mut self,
        scope: &UsdtScope,
        objects: &crate::discovery::ObjectProbes,
        module: &str,
        found: &mut Found,
    ) {
        for probe in &objects.probes {
            // Only for a probe the program traces.
            let traced = self.descs.iter().enumerate().any(|(k, d)| {
                self.matched[k] && d.pid_provider.is_none() && d.name.matches(&probe.name) && {
                    let with_pid = scope.pid.map(|pid| format!("{}{pid}", probe.provider));
                    d.provider.matches(&probe.provider) || with_pid.as_deref().is_some_and(|w| d.provider.matches(w))
                }
            });
            let Some((needed, why)) = crate::catalog::needs_enabled(&probe.provider, &probe.name, module) else {
                // A probe only the program itself can turn on: say how.
                if let Some(note) = crate::catalog::firing_note(&probe.provider, &probe.name, module).filter(|_| traced)
                {
                    let w = format!("{}: {}:{}: {note}", scope.shown, probe.provider, probe.name.replace("__", "-"));
                    if !found.warnings.contains(&w) {
                        found.warnings.push(w);
                    }
                }
                continue;
            };
            let Some(sem) = objects.probes.iter().find(|p| p.name == needed).and_then(|p| p.semaphore?.1) else {
                continue;
            };
            let Some(entry) = objects.entry_offset.filter(|_| traced) else { continue };
            if found.helpers.iter().any(|h| h.open_path == scope.open_path && h.pid == scope.pid) {
                continue;
            }
            found.helpers.push(UsdtAttach {
                open_path: scope.open_path.clone(),
                pid: scope.pid,
                sites: vec![SiteAttach { offset: entry, ref_ctr_offset: sem, cookie: 0, ret: false }],
            });
            found
                .notes
                .push(format!("{}: {why}: sdtrace enables `{needed}` too, with no program on its sites", scope.shown));
        }
    }

    /// The pid provider: `pidPID:MODULE:FUNCTION:entry` and `:return` on
    /// the function symbols of one object of process PID, a uprobe at the
    /// function's first instruction (a uretprobe for `return`). On entry
    /// `arg0`… are the function's first six (register) arguments; on
    /// return `arg1` is the return value and `arg0` is 0 (dtrace(1) gives
    /// the offset of the return instruction, which a uretprobe does not
    /// know).
    pub(super) fn scan_functions(
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
                    ..Default::default()
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
    pub(super) fn merge(&mut self, programs: Vec<(ProgramSpec, Vec<UsdtAttach>)>) {
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

/// Give a matched site of `scope` the next probe id (`info` in `table`)
/// and add it to the program of its clauses and argument plans.
pub(super) fn add_site(
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

/// Plan the reading of a site's arguments (strings are the program's business).
pub(super) fn plan_args(raw: &str, arch: Arch) -> Result<Vec<ArgPlan>, String> {
    let specs = stap_notes::args::parse_args(raw, arch).map_err(|e| e.to_string())?;
    specs.iter().map(|s| crate::bpf::usdt::plan_arg(s, arch, StringRead::No)).collect()
}
