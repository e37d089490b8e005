//! Running a D program: parse, check, match probes, generate, load, attach,
//! run `BEGIN`, consume records until `exit()`, Ctrl-C, the target's end or
//! `--duration`, then run `END` and print the aggregations.
//!
//! Order of work (so a bad program or option is reported to any user before
//! privileges are needed, a missing privilege fails before a command
//! starts, and a command is held before `execve` until every probe is
//! attached): parse → check (a held command's pid taken as 0) and options →
//! held command (its pid is `$target`; killed before its exec on an error)
//! → check again with that pid → plan (probes that match nothing) →
//! privileges (a ring buffer) → maps → programs → attach → `BEGIN` →
//! release the command → consume.

use std::cell::RefCell;
use std::io::Write;
use std::os::fd::OwnedFd;
use std::time::Instant;

use super::codegen::{self, slot_size, CodegenError, Layout, MapFds, ProgramSpec};
use super::diag::Source;
use super::options::options;
use super::printer::{Printer, Sink};
use super::probes::{self, ProbeTable, UsdtScope};
use super::reports::{errors_message, nested_message, verifier_message};
use super::sema::{self, Macros};
use crate::kernel::btf::Btf;
use crate::kernel::entries::MapEntries;
use crate::kernel::perf;
use crate::kernel::ringbuf::RingBuffer;
use crate::kernel::sys::{Map, Program};
use crate::kernel::uprobe::{self, Method, UprobeMultiLink};
use crate::kernel::KernelError;
use crate::process::HeldCommand;
use crate::stop;
use crate::target;

mod config;
mod helpers;
mod listing;
mod objects;
pub use self::config::{DConfig, DError, Dump, Report, StackOutput};
use self::helpers::{BtfTypes, Helpers};
use self::objects::{attach_usdt, usdt_scopes};

/// Run `cfg`, writing the program's output to `out`. Returns the exit
/// status the program asked for (`exit(n)`), else 0.
pub fn run(cfg: &DConfig, out: &mut dyn Write) -> Result<i32, DError> {
    let src = &cfg.source;
    let ast = super::parse(src).map_err(|d| DError::from_diagnostics(d, src))?;
    if cfg.dump == Some(Dump::Ast) {
        writeln!(out, "{}", super::ast::dump(&ast))?;
        return Ok(0);
    }
    if !ast.items.iter().any(|i| matches!(i, super::ast::Item::Clause(_))) {
        // dtrace(1) refuses it too; it used to run until Ctrl-C, doing nothing.
        return Err(DError::Usage(format!("{}: the program has no probe clauses: nothing to trace", src.name)));
    }
    let runs = cfg.dump.is_none() && !cfg.list_only;
    // The kernel's wait before the first uprobe registration passes while
    // the program compiles (without privileges it fails, unseen).
    let warmup = (runs && probes::may_use_uprobes(&ast)).then(uprobe::warm_up);

    let exe = match cfg.command.first() {
        Some(c) => Some(target::command_program(c).map_err(DError::Usage)?),
        None => None,
    };
    // The whole program is checked, and its options read, before anything
    // needs privileges or a command starts: a user without them still sees
    // the program's errors, and a bad program starts nothing. A command's
    // pid is not known before it starts; the check takes it as 0 and is
    // done again with the real one.
    let held_placeholder = exe.as_ref().map(|_| 0);
    let mut target = held_placeholder.or(cfg.pids.first().copied());
    let mut scopes = usdt_scopes(cfg, exe.as_deref(), target, &ast)?;
    // NDJSON output has no probe lines (a record says what it is).
    let quiet = cfg.quiet
        || cfg.options.iter().any(|(name, value)| {
            name == "quiet" || name == "json" || (name == "oformat" && value.as_deref() == Some("json"))
        });
    let flowindent = cfg.flowindent || cfg.options.iter().any(|(name, _)| name == "flowindent");
    let defaultargs = cfg.options.iter().any(|(name, _)| name == "defaultargs");
    let destructive = cfg.options.iter().any(|(name, _)| name == "destructive");
    let mut macros = Macros { target, args: cfg.args.clone(), quiet, flowindent, defaultargs, destructive };
    let mut catalog = probes::ArgCatalog::discover(&scopes);
    let kernel_types = BtfTypes::default();
    let mut ir = sema::check_with_kernel(&ast, &macros, &|cl| catalog.describe(cl, target), &kernel_types)
        .map_err(|d| DError::from_diagnostics(d, src))?;
    let opts = options(&ir, cfg)?;
    if cfg.dump == Some(Dump::Types) {
        writeln!(out, "{ir:#?}")?;
        return Ok(0);
    }
    // -l starts the command too (held, then killed), so that what it lists
    // carries the process's pid (`pid1234`), as dtrace(1) shows it.
    let mut held = match (&exe, cfg.dump.is_some()) {
        (Some(e), false) => Some(HeldCommand::spawn(e, &cfg.command)?),
        _ => None,
    };
    if let Some(h) = &held {
        target = Some(h.pid());
        macros.target = target;
        for s in scopes.iter_mut().filter(|s| s.held) {
            s.pid = Some(h.pid());
        }
        catalog.set_held_pid(h.pid());
        ir = sema::check_with_kernel(&ast, &macros, &|cl| catalog.describe(cl, target), &kernel_types)
            .map_err(|d| DError::from_diagnostics(d, src))?;
    }
    // -l shows the function that holds each USDT site.
    ir.uses_probefunc |= cfg.list_only;
    // -lv shows each USDT probe's arguments, which events lay out.
    ir.uses_events |= cfg.list_only && cfg.list_verbose;

    let mut plan = probes::plan(&ir, catalog, target, cfg.allow_empty).map_err(|d| DError::from_diagnostics(d, src))?;
    for w in &plan.warnings {
        eprintln!("sdtrace: warning: {w}");
    }
    for n in plan.notes.iter().filter(|_| !opts.quiet) {
        eprintln!("sdtrace: note: {n}");
    }
    if cfg.list_only {
        listing::write(&plan, cfg.list_verbose, out)?;
        return Ok(0);
    }
    // The flame graph's file is made before tracing starts, so a path that
    // cannot be written is said before anything is traced.
    let svg = match &cfg.stacks.flamegraph {
        Some(path) => {
            Some((path, std::fs::File::create(path).map_err(|e| DError::Usage(format!("{}: {e}", path.display())))?))
        }
        None => None,
    };

    // Privileges last, before the first map: a held command that was
    // started only to read its pid is killed, before its exec, if they are
    // missing.
    if runs {
        drop(Map::ringbuf("sdtrace_d_rb", 4096)?);
    }
    let mut layout = Layout::new(&ir, opts.strsize);
    layout.nspec = opts.nspec;
    if !plan.tracepoints.is_empty() || ir.uses_task || ir.uses_vtime {
        layout.kernel = kernel_facts();
    }
    // Objects the traced processes map later are matched like those at
    // the start, by the same matcher.
    // Without -p or -c, USDT descriptions look in every process, and in
    // those that exec later (an exec watch tells of them).
    let system_wide = held.is_none() && cfg.pids.is_empty() && scopes.iter().any(|s| s.pid.is_none() && !s.by_path);
    let mut late_matcher = plan
        .usdt_matcher
        .take()
        .filter(|m| m.wants_process_objects() && (held.is_some() || !cfg.pids.is_empty() || system_wide));
    // Programs made later hold some of the USDT clauses: size them all.
    let late_sizing = late_matcher.as_ref().map(|m| {
        let mut clauses: Vec<usize> = m.descs.iter().map(|d| d.clause).collect();
        clauses.dedup();
        // A `printevent()` of a probe found later may read up to 12
        // arguments, every one a string.
        let widest = crate::bpf::usdt::ArgPlan {
            fetch: crate::bpf::usdt::Fetch::Const(0),
            size: 8,
            signed: false,
            string: crate::bpf::usdt::StringRead::NulTerminated,
        };
        let plans = if ir.uses_events { vec![widest; 12] } else { Vec::new() };
        ProgramSpec {
            context: codegen::Context::Usdt(plans),
            clauses: clauses.into_iter().map(|c| (c, codegen::Filter::All)).collect(),
            ids: Vec::new(),
            on_error: plan.error_handler.clone(),
        }
    });
    let specs: Vec<&ProgramSpec> = plan.specs();
    // Code is generated once, against map references that are relocated
    // to the maps' descriptors at load time; the scratch area is sized by
    // what the programs need, those made later included.
    let refs = MapFds::numbered(&ir);
    let mut code = Vec::with_capacity(specs.len());
    let mut scratch = codegen::SCRATCH_HEADER;
    for s in &specs {
        let (insns, need) = codegen::generate(&ir, &layout, &refs, s, &plan.table)?;
        scratch = scratch.max(need);
        code.push(insns);
    }
    if let Some(s) = &late_sizing {
        // As much as the kernel allows when the widest case needs more: a
        // program made later that needs more than there is is refused
        // then, naming its object, rather than every run at the start.
        let need = match codegen::generate(&ir, &layout, &refs, s, &plan.table) {
            Ok((_, need)) => need,
            Err(_) => codegen::SCRATCH_MAX,
        };
        scratch = scratch.max(need.min(codegen::SCRATCH_MAX));
    }
    if cfg.dump == Some(Dump::Bpf) {
        let names = refs.names(&ir);
        let map_name = |fd| names.iter().find(|(f, _)| *f == fd).map(|(_, name)| name.as_str());
        for (i, (s, insns)) in specs.iter().zip(&code).enumerate() {
            writeln!(out, "program {i}: {:?}, clauses {:?}, {} instructions", s.context, s.clauses, insns.len())?;
            for line in crate::bpf::disasm::disassemble(insns, map_name) {
                writeln!(out, "  {:4}: {}", line.at, line.text)?;
            }
        }
        return Ok(0);
    }

    // Maps.
    let ringbuf = Map::ringbuf("sdtrace_d_events", opts.bufsize)?;
    let counters = Map::percpu_counters("sdtrace_d_count", codegen::counter::COUNT)?;
    let scratch_map =
        Map::create(libbpf_sys::BPF_MAP_TYPE_PERCPU_ARRAY, "sdtrace_d_tmp", 4, scratch as u32, codegen::SCRATCH_SLOTS)?;
    let globals = if ir.globals.is_empty() {
        None
    } else {
        Some(Map::create(libbpf_sys::BPF_MAP_TYPE_ARRAY, "sdtrace_d_glob", 4, layout.globals_size as u32, 1)?)
    };
    let thread = if ir.thread_vars.is_empty() {
        None
    } else {
        Some(Map::create(libbpf_sys::BPF_MAP_TYPE_HASH, "sdtrace_d_self", 16, layout.thread_value as u32, MAP_ENTRIES)?)
    };
    let mut arrays = Vec::new();
    for (i, a) in ir.arrays.iter().enumerate() {
        let key = layout.array_keys[i].1 as u32;
        let value = slot_size(a.value, layout.strsize) as u32;
        arrays.push(Map::create(libbpf_sys::BPF_MAP_TYPE_HASH, &format!("sdtrace_d_arr{i}"), key, value, MAP_ENTRIES)?);
    }
    let mut aggs = Vec::new();
    for (i, _) in ir.aggs.iter().enumerate() {
        let key = layout.agg_keys[i].1 as u32;
        aggs.push(Map::create(
            libbpf_sys::BPF_MAP_TYPE_PERCPU_HASH,
            &format!("sdtrace_d_agg{i}"),
            key,
            codegen::AGG_VALUE as u32,
            MAP_ENTRIES,
        )?);
    }
    let stacks = if ir.uses_stacks {
        let value = u32::from(sema::MAX_FRAMES) * 8;
        Some(Map::create(libbpf_sys::BPF_MAP_TYPE_STACK_TRACE, "sdtrace_d_stk", 4, value, 4096)?)
    } else {
        None
    };
    let speculations = if ir.uses_speculation {
        Some(Map::create(libbpf_sys::BPF_MAP_TYPE_ARRAY, "sdtrace_d_spec", 4, 16, 1)?)
    } else {
        None
    };
    let active_speculations = if ir.uses_speculation {
        Some(Map::create(libbpf_sys::BPF_MAP_TYPE_HASH, "sdtrace_d_specid", 8, 8, opts.nspec.saturating_mul(2))?)
    } else {
        None
    };
    let vtime = if ir.uses_vtime {
        Some(Map::create(
            libbpf_sys::BPF_MAP_TYPE_LRU_HASH,
            "sdtrace_d_vtime",
            4,
            codegen::VTIME_VALUE as u32,
            1 << 16,
        )?)
    } else {
        None
    };
    let fds = MapFds {
        ringbuf: ringbuf.fd(),
        counters: counters.fd(),
        scratch: scratch_map.fd(),
        globals: globals.as_ref().map(|m| m.fd()),
        thread: thread.as_ref().map(|m| m.fd()),
        arrays: arrays.iter().map(|m| m.fd()).collect(),
        aggs: aggs.iter().map(|m| m.fd()).collect(),
        stacks: stacks.as_ref().map(|m| m.fd()),
        speculations: speculations.as_ref().map(|m| m.fd()),
        active_speculations: active_speculations.as_ref().map(|m| m.fd()),
        vtime: vtime.as_ref().map(|m| m.fd()),
    };

    // Programs.
    let method =
        cfg.method.unwrap_or_else(|| if uprobe::multi_supported() { Method::Multi } else { Method::PerfEvent });
    let relocation = refs.relocation_to(&fds);
    let fd_of = |r: i32| relocation.iter().find(|(k, _)| *k == r).map(|(_, fd)| *fd);
    // A program's code: generated above for the programs of the plan, now
    // for one made later (`table` then holds its probes).
    let load_kind = |spec: &ProgramSpec, name: &str, kind: ProgKind, table: &ProbeTable| -> Result<Program, DError> {
        let mut insns = match specs.iter().position(|s| std::ptr::eq(*s, spec)) {
            Some(i) => code[i].clone(),
            None => {
                let (insns, need) = codegen::generate(&ir, &layout, &refs, spec, table)?;
                if need > scratch {
                    return Err(DError::Codegen(CodegenError(format!(
                        "its program needs {need} bytes of scratch space per CPU, more than the {scratch} the run \
                         made at the start; lower strsize (-x strsize=N)"
                    ))));
                }
                insns
            }
        };
        crate::bpf::insn::relocate_maps(&mut insns, fd_of).map_err(|e| DError::Codegen(CodegenError(e.to_string())))?;
        let loaded = match kind {
            ProgKind::RawTp => Program::load_raw_tp(name, &insns),
            ProgKind::Uprobe => Program::load(method, name, &insns),
            ProgKind::PerfEvent => Program::load_perf_event(name, &insns),
        };
        loaded.map_err(|e| match e {
            KernelError::Verifier { log, source, .. } => {
                let spans: Vec<String> = spec
                    .clauses
                    .iter()
                    .map(|(c, _)| {
                        let lc = src.line_col(ir.clauses[*c].span.lo);
                        format!("{}:{}:{}", src.name, lc.line, lc.col)
                    })
                    .collect();
                DError::Verifier(verifier_message(&spans.join(", "), &source, &log))
            }
            other => other.into(),
        })
    };
    let load = |spec: &ProgramSpec, name: &str, raw: bool| {
        load_kind(spec, name, if raw { ProgKind::RawTp } else { ProgKind::Uprobe }, &plan.table)
    };
    let load_perf = |spec: &ProgramSpec, name: &str| load_kind(spec, name, ProgKind::PerfEvent, &plan.table);
    let mut links: Vec<UprobeMultiLink> = Vec::new();
    let mut tp_links: Vec<OwnedFd> = Vec::new();
    let mut usdt_programs = Vec::new();
    for (i, (spec, _)) in plan.usdt.iter().enumerate() {
        usdt_programs.push(load(spec, &format!("sdtrace_d_u{i}"), false)?);
    }
    let sys_enter = plan.sys_enter.as_ref().map(|s| load(s, "sdtrace_d_sysin", true)).transpose()?;
    let sys_exit = plan.sys_exit.as_ref().map(|s| load(s, "sdtrace_d_sysout", true)).transpose()?;
    let mut timer_programs = Vec::new();
    for (i, (spec, _)) in plan.timers.iter().enumerate() {
        timer_programs.push(load_perf(spec, &format!("sdtrace_d_t{i}"))?);
    }
    let mut proc_programs = Vec::new();
    for (i, (spec, _)) in plan.tracepoints.iter().enumerate() {
        proc_programs.push(load(spec, &format!("sdtrace_d_proc{i}"), true)?);
    }
    // vtimestamp's accounts are kept at every context switch.
    let vtime_program = match &vtime {
        Some(map) => {
            let task = layout.kernel.task.clone().unwrap_or_else(|| Err("it was not read".into())).map_err(|why| {
                DError::Codegen(CodegenError(format!(
                    "vtimestamp reads the kernel's task_struct, whose layout comes from BTF: {why}"
                )))
            })?;
            let insns = codegen::vtime_program(map.fd(), task);
            Some(Program::load_raw_tp("sdtrace_d_vtime", &insns)?)
        }
        None => None,
    };
    let exec_watch = match (&late_matcher, system_wide) {
        (Some(_), true) => Some(Program::load_raw_tp("sdtrace_d_exec", &codegen::exec_watch_program(ringbuf.fd()))?),
        _ => None,
    };
    let begin = plan.begin.as_ref().map(|s| load(s, "sdtrace_d_begin", true)).transpose()?;
    let end = plan.end.as_ref().map(|s| load(s, "sdtrace_d_end", true)).transpose()?;

    // Output state: the ring buffer's callback prints each record.
    super::printf::set_utc_offset(crate::process::local_utc_offset());
    let state = RefCell::new(Sink {
        printer: Printer::new(
            &ir,
            &layout,
            plan.table.clone(),
            aggs.iter().map(|m| m as &dyn MapEntries).collect(),
            stacks.as_ref().map(|m| m as &dyn MapEntries),
            opts.specsize,
        )
        .with_style(opts.style)
        .with_sort(opts.aggsort)
        .with_folded(match (cfg.stacks.folded, &cfg.stacks.flamegraph) {
            (true, _) => Some(true),
            (false, Some(_)) => Some(false),
            (false, None) => None,
        }),
        out,
        status: None,
        error: None,
        in_end: false,
    });
    let mut rb = RingBuffer::new(&ringbuf, |data| {
        let mut s = state.borrow_mut();
        let Sink { printer, out, status, error, in_end } = &mut *s;
        // After exit(), only END's records are printed.
        if status.is_some() && !*in_end {
            return;
        }
        match printer.record(data, &mut **out) {
            Ok(Some(st)) => {
                status.get_or_insert(st);
            }
            Ok(None) => {}
            Err(e) => {
                error.get_or_insert(e);
                stop::request();
            }
        }
    })?;
    // Reads records in batches of 4096: all that are there, or during the
    // run at most `DRAIN_BATCHES` batches and none once a stop is asked
    // for, so that a flood of records cannot hold off Ctrl-C or
    // `--duration` (after detaching, the rest is read whole). Returns
    // whether records were left waiting.
    let drain = |rb: &mut RingBuffer, bounded: bool| -> Result<bool, DError> {
        let mut batches = 0;
        let busy = loop {
            if rb.consume(4096)? < 4096 {
                break false;
            }
            batches += 1;
            if bounded && (batches >= DRAIN_BATCHES || stop::requested()) {
                break true;
            }
        };
        if let Some(e) = state.borrow_mut().error.take() {
            return Err(e);
        }
        Ok(busy)
    };

    // Attach: the vtimestamp accounts first, so that no probe sees a
    // thread switch in uncounted.
    if let Some(p) = &exec_watch {
        tp_links.push(p.attach_raw_tp("sched_process_exec")?);
    }
    if let Some(p) = &vtime_program {
        tp_links.push(p.attach_raw_tp("sched_switch")?);
    }
    for ((_, attaches), prog) in plan.usdt.iter().zip(&usdt_programs) {
        for a in attaches {
            links.push(attach_usdt(method, prog, a, &plan.table)?);
        }
    }
    let mut helpers = Helpers::default();
    helpers.attach(method, &plan.helpers);
    let mut sites: usize = links.iter().map(|l| l.sites).sum();
    drop(warmup);
    if let Some(p) = &sys_enter {
        tp_links.push(p.attach_raw_tp("sys_enter")?);
    }
    if let Some(p) = &sys_exit {
        tp_links.push(p.attach_raw_tp("sys_exit")?);
    }
    for ((_, probe), prog) in plan.tracepoints.iter().zip(&proc_programs) {
        tp_links.push(prog.attach_raw_tp(probe.tracepoint())?);
    }
    let mut timer_links = Vec::new();
    if !plan.timers.is_empty() {
        let cpus = perf::online_cpus()?;
        for ((_, timer), prog) in plan.timers.iter().zip(&timer_programs) {
            let on: &[u32] = if timer.every_cpu { &cpus } else { &cpus[..1] };
            for &cpu in on {
                timer_links.push(perf::attach_cpu_clock(prog, cpu, timer.period_ns)?);
            }
        }
    }
    if let Report::Tool(name) = cfg.report {
        eprintln!(
            "sdtrace: {name}: tracing {} probe{}; Ctrl-C to stop",
            plan.matched,
            if plan.matched == 1 { "" } else { "s" }
        );
    }
    if !opts.quiet && cfg.report == Report::Script {
        eprintln!(
            "sdtrace: script '{}' matched {} probe{}",
            src.name,
            plan.matched,
            if plan.matched == 1 { "" } else { "s" }
        );
    }
    {
        let mut s = state.borrow_mut();
        let Sink { printer, out, .. } = &mut *s;
        printer.start(&mut **out)?;
    }
    stop::arm();
    if let Some(b) = &begin {
        b.test_run()?;
        drain(&mut rb, true)?;
    }
    if let Some(h) = held.as_mut() {
        h.release()?;
    }
    let started = Instant::now();
    let mut table = plan.table.clone();
    let late_pids = match &late_matcher {
        Some(_) => cfg.pids.iter().copied().chain(held.as_ref().map(|h| h.pid())).collect(),
        None => Vec::new(),
    };
    let mut late = if system_wide {
        target::LateScan::system_wide(scopes.iter().map(|s| s.open_path.as_path()))
    } else {
        target::LateScan::new(late_pids, scopes.iter().map(|s| (s.pid, s.open_path.as_path())))
    };
    // Processes whose user stacks may be printed after they are gone.
    let watched: Vec<u32> = held.as_ref().map(|h| h.pid()).into_iter().chain(cfg.pids.iter().copied()).collect();
    let mut ticks = 0u64;
    let mut busy = false;
    while state.borrow().status.is_none() {
        // Records left waiting are read at once, without a pause.
        if !busy {
            stop::pause(opts.switchrate, || {
                stop::run_over(started, cfg.duration, held.as_mut(), &cfg.pids).unwrap_or(true)
                    || state.borrow().status.is_some()
            });
        }
        ticks += 1;
        state.borrow_mut().printer.snapshot_processes(&watched, ticks % 10 == 1);
        busy = drain(&mut rb, true)?;
        state.borrow_mut().out.flush()?;
        if stop::run_over(started, cfg.duration, held.as_mut(), &cfg.pids)? {
            break;
        }
        for pid in std::mem::take(&mut state.borrow_mut().printer.execs) {
            late.add(pid);
        }
        let Some(matcher) = late_matcher.as_mut().filter(|_| late.due()) else { continue };
        for (pid, obj) in late.new_objects() {
            let scope = if late.is_system_wide() {
                // On the file, for every process that maps it.
                let open_path = Some(std::path::PathBuf::from(&obj.name))
                    .filter(|p| p.is_absolute() && p.is_file())
                    .unwrap_or(obj.open_path);
                UsdtScope {
                    shown: obj.name.clone(),
                    open_path,
                    pid: None,
                    held: false,
                    by_path: false,
                    executable: false,
                }
            } else {
                UsdtScope {
                    executable: target::process_executable(pid).as_deref() == Some(obj.name.as_str()),
                    shown: obj.name.clone(),
                    open_path: obj.open_path,
                    pid: Some(pid),
                    held: false,
                    by_path: false,
                }
            };
            let before = table.0.len();
            let found = matcher.scan(&scope, &mut table);
            state.borrow_mut().printer.table.0.extend_from_slice(&table.0[before..]);
            for d in &found.diags {
                eprintln!("sdtrace: warning: pid {pid}: {}", d.message);
            }
            for w in &found.warnings {
                eprintln!("sdtrace: warning: pid {pid}: {w}");
            }
            for n in found.notes.iter().filter(|_| !opts.quiet) {
                eprintln!("sdtrace: note: pid {pid}: {n}");
            }
            helpers.attach(method, &found.helpers);
            let mut more = 0;
            for (mut spec, attaches) in found.programs {
                spec.on_error = plan.error_handler.clone();
                let name = format!("sdtrace_d_u{}", usdt_programs.len());
                let attached = load_kind(&spec, &name, ProgKind::Uprobe, &table).and_then(|prog| {
                    for a in &attaches {
                        let link = attach_usdt(method, &prog, a, &table)?;
                        more += link.sites;
                        links.push(link);
                    }
                    usdt_programs.push(prog);
                    Ok(())
                });
                if let Err(e) = attached {
                    eprintln!("sdtrace: warning: pid {pid}: {}: not traced: {e}", obj.name);
                }
            }
            sites += more;
            let what = if cfg.report == Report::Events { "site" } else { "probe" };
            if more > 0 && (!opts.quiet || cfg.report == Report::Events) {
                eprintln!(
                    "sdtrace: pid {pid} mapped {}: {more} more {what}{}",
                    obj.name,
                    if more == 1 { "" } else { "s" }
                );
            }
        }
    }
    if let Some(how) = held.as_ref().and_then(|h| h.killed_by()) {
        eprintln!("sdtrace: {how}");
    }
    // Stop tracing, then END.
    state.borrow_mut().printer.snapshot_processes(&watched, true);
    drop(links);
    drop(tp_links);
    drop(timer_links);
    drain(&mut rb, false)?;
    if let Some(e) = &end {
        state.borrow_mut().in_end = true;
        e.test_run()?;
        drain(&mut rb, false)?;
    }
    drop(rb);
    let Sink { mut printer, out, status, .. } = state.into_inner();
    printer.print_remaining(out)?;
    out.flush()?;
    if let Some((path, file)) = svg {
        let title = cfg.stacks.title.clone().unwrap_or_else(|| format!("sdtrace {}", src.name));
        let lines = printer.take_folded();
        match super::printer::flamegraph(&lines, &title, "samples", std::io::BufWriter::new(file)) {
            Ok(()) => eprintln!("sdtrace: wrote {} ({} stacks)", path.display(), lines.len()),
            Err(e) => eprintln!("sdtrace: warning: {}: {e}", path.display()),
        }
    }
    if printer.spec_drops > 0 {
        eprintln!(
            "sdtrace: {} speculative record(s) dropped: speculation() gave 0 (raise -x nspec=N), a speculation \
             outgrew specsize, or speculate() named one that was not active",
            printer.spec_drops
        );
    }
    let drops = counters.percpu_sum(codegen::counter::DROPS as u32)?;
    let errors = counters.percpu_sum(codegen::counter::ERRORS as u32)?;
    let divzero = counters.percpu_sum(codegen::counter::DIVZERO as u32)?;
    let nested = counters.percpu_sum(codegen::counter::NESTED as u32)?;
    let full = counters.percpu_sum(codegen::counter::FULL as u32)?;
    match cfg.report {
        Report::Events if !opts.quiet => {
            eprintln!("sdtrace: {} events from {sites} sites, {drops} dropped", printer.events.events)
        }
        Report::Events => {}
        Report::Script | Report::Tool(_) if drops > 0 => {
            eprintln!("sdtrace: {drops} record(s) dropped: the buffer was full (raise it with -x bufsize=16m)")
        }
        Report::Script | Report::Tool(_) => {}
    }
    if printer.events.malformed > 0 {
        eprintln!(
            "sdtrace: {} event record(s) could not be decoded (a bug: please report it)",
            printer.events.malformed
        );
    }
    if nested > 0 {
        eprintln!("{}", nested_message(nested));
    }
    if full > 0 {
        eprintln!(
            "sdtrace: {full} value{} not stored: an aggregation, associative array or thread-local store was full \
             ({MAP_ENTRIES} entries); the values of keys already there were kept",
            if full == 1 { " was" } else { "s were" }
        );
    }
    if errors > 0 {
        eprintln!("{}", errors_message(errors, "invalid user address in copyin or copyinstr"));
    }
    if divzero > 0 {
        eprintln!("{}", errors_message(divzero, "division by zero"));
    }
    // A command still running is ended (see HeldCommand's drop).
    drop(held);
    Ok(status.unwrap_or(0))
}

/// What a program is loaded as.
#[derive(Debug, Clone, Copy)]
enum ProgKind {
    RawTp,
    Uprobe,
    PerfEvent,
}

/// Entries of each aggregation, associative array and the thread-local
/// store (docs/safety.md).
const MAP_ENTRIES: u32 = 1 << 16;

/// Most batches of records read between two looks at whether the run
/// should end (a batch is 4096 records).
const DRAIN_BATCHES: usize = 16;

/// What the kernel's BTF says, for programs that read kernel structures.
fn kernel_facts() -> codegen::KernelFacts {
    match Btf::vmlinux() {
        Ok(btf) => codegen::KernelFacts {
            task: Some(btf.task_offsets().map_err(|e| e.to_string())),
            process: Some(btf.process_offsets().map_err(|e| e.to_string())),
            exit_has_group_dead: btf.raw_tracepoint_args("sched_process_exit").is_ok_and(|n| n >= 2),
        },
        Err(e) => codegen::KernelFacts {
            task: Some(Err(e.to_string())),
            process: Some(Err(e.to_string())),
            exit_has_group_dead: false,
        },
    }
}

/// The source of a `-s` script, at most [`MAX_SCRIPT`] bytes (`-s
/// /dev/zero` grew sdtrace to gigabytes), UTF-8.
pub fn read_script(path: &std::path::Path) -> Result<Source, DError> {
    use std::io::Read as _;
    let usage = |why: String| DError::Usage(format!("{}: {why}", path.display()));
    let file = std::fs::File::open(path).map_err(|e| usage(e.to_string()))?;
    let mut bytes = Vec::new();
    file.take(MAX_SCRIPT as u64 + 1).read_to_end(&mut bytes).map_err(|e| usage(e.to_string()))?;
    if bytes.len() > MAX_SCRIPT {
        return Err(usage(format!("a D script is at most {} MiB; this one is larger", MAX_SCRIPT >> 20)));
    }
    let text = String::from_utf8(bytes)
        .map_err(|e| usage(format!("not UTF-8 text (invalid byte at offset {})", e.utf8_error().valid_up_to())))?;
    Ok(Source::new(path.display().to_string(), text))
}

/// The largest script `-s` reads.
pub const MAX_SCRIPT: usize = 16 << 20;
