//! Where everything sits: the program specs code generation takes (what
//! a program is attached to, its clauses and probe ids), the maps a
//! program refers to ([`MapFds`]), the layout of globals, scratch, keys and
//! records ([`Layout`]), and the kernel's limits they must fit.

use super::*;

/// Bytes of an aggregation's value: four u64 slots (sum or count, count
/// or "has a value", and `stddev`'s 128-bit sum of squares).
pub const AGG_VALUE: usize = 32;

/// Most maps one program may use (the kernel's `MAX_USED_MAPS`).
pub const MAX_MAPS_PER_PROGRAM: usize = 64;

/// Most bytes of global variables: every byte of them must lie at an
/// offset an instruction takes (an `i16`).
pub const MAX_GLOBALS: usize = i16::MAX as usize + 1;

/// Largest per-CPU scratch area (the kernel's limit for a per-CPU value).
pub const SCRATCH_MAX: usize = 32 * 1024;

/// Scratch areas per CPU (entries of the scratch map): one for programs
/// that run in a task's context (uprobes, syscall and scheduler
/// tracepoints, `BEGIN`/`END`), one for timer programs, which run from the
/// timer interrupt and so can interrupt any of those on their CPU. Sharing
/// one area let a `profile-N` clause overwrite the strings of a clause it
/// interrupted.
pub const SCRATCH_SLOTS: u32 = 2;

/// Offset of the busy word at the start of each scratch area. A program
/// claims its area with a compare-and-exchange of this word before using
/// it and frees it at its exit; a program that finds it claimed (another
/// program of the same kind that it interrupted or preempted on this CPU)
/// skips its clauses and counts the firing in [`counter::NESTED`], rather
/// than overwriting the other one's values.
pub const SCRATCH_BUSY: i16 = 0;

/// Offset of the `pid_tgid` of the thread a `sched:::on-cpu` program is
/// about (the switch's `next`), which its prologue stores there.
pub const SCRATCH_THREAD: i16 = 8;

/// Bytes at the start of a scratch area before the clause-locals.
pub const SCRATCH_HEADER: usize = 16;

/// The per-CPU counters (entries of the counters map).
pub mod counter {
    /// Records the ring buffer had no room for.
    pub const DROPS: i32 = 0;
    /// Runtime errors: invalid user addresses.
    pub const ERRORS: i32 = 1;
    /// Firings skipped because their CPU's scratch area was in use by a
    /// program they interrupted.
    pub const NESTED: i32 = 2;
    /// Runtime errors: integer divisions and remainders by zero.
    pub const DIVZERO: i32 = 3;
    /// Values not stored because their aggregation, associative array or
    /// thread-local store was full.
    pub const FULL: i32 = 4;
    /// How many counters there are.
    pub const COUNT: u32 = 5;
}

impl Context {
    /// The entry of the scratch map the program uses on its CPU.
    pub fn scratch_slot(&self) -> i32 {
        match self {
            Context::Timer(_) => 1,
            _ => 0,
        }
    }
}

/// What the program is attached to, which decides how it reads arguments
/// and which probe fired.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum Context {
    /// USDT sites that read their arguments with these plans.
    Usdt(Vec<ArgPlan>),
    /// The `sys_enter` raw tracepoint; probe id = `base + nr`.
    SyscallEntry {
        /// Probe id of syscall 0.
        base: u64,
    },
    /// The `sys_exit` raw tracepoint; probe id = `base + nr`.
    SyscallReturn {
        /// Probe id of syscall 0.
        base: u64,
    },
    /// `BEGIN` or `END`, run once by sdtrace; the probe id is fixed.
    Special(u64),
    /// A `tick-N` or `profile-N` timer (a perf-event program); the probe
    /// id is fixed. `arg0` is the kernel PC, `arg1` the user PC.
    Timer(u64),
    /// A `proc` or `sched` probe over a scheduler raw tracepoint; the
    /// probe id is fixed.
    Tracepoint(u64, TracepointProbe),
}

/// The probes of the `proc` and `sched` providers, each over one of the
/// scheduler's raw tracepoints.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum TracepointProbe {
    /// `exec-success`: `sched_process_exec`, in the new image.
    ExecSuccess,
    /// `exit`: `sched_process_exit`, once per process.
    Exit,
    /// `create`: `sched_process_fork` for a new process (not a thread), in
    /// the parent; `arg0` is the child's pid.
    Create,
    /// `signal-send`: `signal_generate`, in the sender; `args[0]` and
    /// `args[1]` (`pr_lwpid`, `pr_pid`, `pr_ppid`, `pr_fname`) describe the
    /// receiving thread and process, `args[2]` (and `arg2`) is the signal.
    SignalSend,
    /// `sched:::off-cpu`: `sched_switch`, in the thread leaving the CPU.
    OffCpu,
    /// `sched:::wakeup`: `sched_wakeup`, in the thread that wakes another;
    /// `args[0]`/`args[1]` (`pr_lwpid`; `pr_pid`, `pr_ppid`, `pr_fname`)
    /// describe the thread woken.
    Wakeup,
    /// `sched:::on-cpu`: `sched_switch`, about the thread coming onto the
    /// CPU: the built-ins that name a thread (`pid`, `tid`, `execname`,
    /// `self->`…) are read from the switch's `next` task, and those that
    /// only the running thread could give (its user memory and stack, its
    /// credentials) are refused.
    OnCpu,
}

impl TracepointProbe {
    /// Every probe, in the order `-l` lists them.
    pub const ALL: [TracepointProbe; 7] = [
        TracepointProbe::ExecSuccess,
        TracepointProbe::Exit,
        TracepointProbe::Create,
        TracepointProbe::SignalSend,
        TracepointProbe::OnCpu,
        TracepointProbe::OffCpu,
        TracepointProbe::Wakeup,
    ];
    /// The provider that has it.
    pub fn provider(self) -> &'static str {
        match self {
            TracepointProbe::OnCpu | TracepointProbe::OffCpu | TracepointProbe::Wakeup => "sched",
            _ => "proc",
        }
    }
    /// The probe's name in D.
    pub fn name(self) -> &'static str {
        match self {
            TracepointProbe::ExecSuccess => "exec-success",
            TracepointProbe::Exit => "exit",
            TracepointProbe::Create => "create",
            TracepointProbe::SignalSend => "signal-send",
            TracepointProbe::OffCpu => "off-cpu",
            TracepointProbe::OnCpu => "on-cpu",
            TracepointProbe::Wakeup => "wakeup",
        }
    }
    /// The raw tracepoint it is attached to.
    pub fn tracepoint(self) -> &'static str {
        match self {
            TracepointProbe::ExecSuccess => "sched_process_exec",
            TracepointProbe::Exit => "sched_process_exit",
            TracepointProbe::Create => "sched_process_fork",
            TracepointProbe::SignalSend => "signal_generate",
            TracepointProbe::OffCpu | TracepointProbe::OnCpu => "sched_switch",
            TracepointProbe::Wakeup => "sched_wakeup",
        }
    }
}

/// The `ERROR` clauses a program runs when one of its clauses faults.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ErrorHandler {
    /// The `ERROR` probe's id.
    pub id: u64,
    /// Its clauses, in source order.
    pub clauses: Vec<usize>,
}

/// The probe ids a clause applies to within a program.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum Filter {
    /// Every probe the program sees.
    All,
    /// Only these.
    Ids(Vec<u64>),
}

/// One program to generate.
#[derive(Debug, Clone)]
pub struct ProgramSpec {
    /// Where it runs.
    pub context: Context,
    /// Clause indexes (into [`Ir::clauses`]) with their filters, in order.
    pub clauses: Vec<(usize, Filter)>,
    /// Every probe id the program can see.
    pub ids: Vec<u64>,
    /// The `ERROR` clauses, if the program has any.
    pub on_error: Option<ErrorHandler>,
}

/// Map descriptors a program refers to.
#[derive(Debug, Clone)]
pub struct MapFds {
    /// The ring buffer.
    pub ringbuf: i32,
    /// Per-CPU counters, indexed by the constants of [`counter`].
    pub counters: i32,
    /// Per-CPU scratch: [`SCRATCH_SLOTS`] areas, the first 8 bytes of each
    /// its busy word.
    pub scratch: i32,
    /// Globals (array of one value), when there are any.
    pub globals: Option<i32>,
    /// Thread-locals (hash keyed by tid and variable).
    pub thread: Option<i32>,
    /// One hash map per associative array.
    pub arrays: Vec<i32>,
    /// One per aggregation.
    pub aggs: Vec<i32>,
    /// The stack-trace map, when the program takes stacks.
    pub stacks: Option<i32>,
    /// Speculations: an array of one value, the last id given and the
    /// number active (u64 each), when the program uses them.
    pub speculations: Option<i32>,
    /// The ids of the active speculations (a hash map, u64 id → u64 id),
    /// so that ending one twice counts once.
    pub active_speculations: Option<i32>,
    /// On-CPU time per thread for `vtimestamp`: an LRU hash from the u32
    /// thread id to [`VTIME_VALUE`], kept by [`vtime_program`].
    pub vtime: Option<i32>,
}

impl MapFds {
    /// Descriptors that are all 0, one per map the program needs: for a
    /// first pass that only sizes the code (and for the fuzz target).
    pub fn placeholder(ir: &Ir) -> MapFds {
        MapFds {
            ringbuf: 0,
            counters: 0,
            scratch: 0,
            globals: Some(0),
            thread: Some(0),
            arrays: vec![0; ir.arrays.len()],
            aggs: vec![0; ir.aggs.len()],
            stacks: Some(0),
            speculations: Some(0),
            active_speculations: Some(0),
            vtime: Some(0),
        }
    }

    /// Map references: distinct numbers (1, 2, …) standing for the maps the
    /// runner makes for `ir`. Code is generated once against them, before
    /// any map exists; the loader then relocates them to the real
    /// descriptors ([`MapFds::relocation_to`]), and a listing (`-e bpf`)
    /// names the maps by them ([`MapFds::names`]).
    pub fn numbered(ir: &Ir) -> MapFds {
        let mut last = 0;
        let mut fd = || {
            last += 1;
            last
        };
        MapFds {
            ringbuf: fd(),
            counters: fd(),
            scratch: fd(),
            globals: (!ir.globals.is_empty()).then(&mut fd),
            thread: (!ir.thread_vars.is_empty()).then(&mut fd),
            arrays: ir.arrays.iter().map(|_| fd()).collect(),
            aggs: ir.aggs.iter().map(|_| fd()).collect(),
            stacks: ir.uses_stacks.then(&mut fd),
            speculations: ir.uses_speculation.then(&mut fd),
            active_speculations: ir.uses_speculation.then(&mut fd),
            vtime: ir.uses_vtime.then(&mut fd),
        }
    }

    /// Every map slot in a fixed order (arrays and aggregations last), with
    /// its descriptor when the program has that map.
    fn slots(&self) -> Vec<Option<i32>> {
        let mut v = vec![
            Some(self.ringbuf),
            Some(self.counters),
            Some(self.scratch),
            self.globals,
            self.thread,
            self.stacks,
            self.speculations,
            self.active_speculations,
            self.vtime,
        ];
        v.extend(self.arrays.iter().map(|&fd| Some(fd)));
        v.extend(self.aggs.iter().map(|&fd| Some(fd)));
        v
    }

    /// From the references of `self` (see [`MapFds::numbered`]) to the
    /// descriptors of the same maps in `maps`: the relocation that
    /// [`crate::bpf::insn::relocate_maps`] applies to code generated with
    /// `self`.
    pub fn relocation_to(&self, maps: &MapFds) -> Vec<(i32, i32)> {
        self.slots().into_iter().zip(maps.slots()).filter_map(|(r, fd)| Some((r?, fd?))).collect()
    }

    /// Each descriptor with the name a listing gives its map: `ringbuf`,
    /// `counters`, `scratch`, `globals`, `thread`, an associative array's D
    /// name (`self->a` for a thread-local one), `@` and an aggregation's
    /// name, `stacks`, `speculations`, `active_speculations`, `vtime`.
    pub fn names(&self, ir: &Ir) -> Vec<(i32, String)> {
        let mut names = vec![
            (self.ringbuf, "ringbuf".to_string()),
            (self.counters, "counters".to_string()),
            (self.scratch, "scratch".to_string()),
        ];
        let arrays = ir.arrays.iter().map(|a| if a.thread { format!("self->{}", a.name) } else { a.name.clone() });
        names.extend(self.arrays.iter().copied().zip(arrays));
        names.extend(self.aggs.iter().copied().zip(ir.aggs.iter().map(|a| format!("@{}", a.name))));
        for (fd, name) in [
            (self.globals, "globals"),
            (self.thread, "thread"),
            (self.stacks, "stacks"),
            (self.speculations, "speculations"),
            (self.active_speculations, "active_speculations"),
            (self.vtime, "vtime"),
        ] {
            names.extend(fd.map(|fd| (fd, name.to_string())));
        }
        names
    }
}

/// Where everything sits; computed once per run.
#[derive(Debug, Clone)]
pub struct Layout {
    /// Bytes per string (a multiple of 8).
    pub strsize: usize,
    /// Offset of each global in the globals value.
    pub globals: Vec<usize>,
    /// Size of the globals value.
    pub globals_size: usize,
    /// Offset of each clause-local in scratch.
    pub clause_vars: Vec<usize>,
    /// Where scratch temporaries start.
    pub temps: usize,
    /// Size of a thread-local value.
    pub thread_value: usize,
    /// Per aggregation: the offset of each key in the key, and the key size.
    pub agg_keys: Vec<(Vec<usize>, usize)>,
    /// Per associative array: the offset of each key in the map key (a
    /// thread-local array's key starts with the 8-byte thread id), and the
    /// key size.
    pub array_keys: Vec<(Vec<usize>, usize)>,
    /// Nanoseconds to add to `bpf_ktime_get_ns` for `walltimestamp`.
    pub wall_offset: u64,
    /// The most speculations active at once (`nspec`).
    pub nspec: u32,
    /// What the running kernel's BTF says, for the code that reads kernel
    /// structures; filled in by the runner when the program needs it.
    pub kernel: KernelFacts,
}

/// Facts about the running kernel, from its BTF.
#[derive(Debug, Clone, Default)]
pub struct KernelFacts {
    /// `task_struct` offsets, or why they are unknown.
    pub task: Option<Result<TaskOffsets, String>>,
    /// The offsets `curpsinfo`/`curlwpsinfo` read, or why they are unknown.
    pub process: Option<Result<ProcessOffsets, String>>,
    /// Whether `sched_process_exit` passes `group_dead` (Linux 6.16+).
    pub exit_has_group_dead: bool,
}

/// A probe name (`probefunc`…) kept in a string slot of an aggregation key,
/// where other uses of the aggregation put strings there: byte 0 is 0 (so
/// the slot is no string the program could build: a string's bytes after
/// its end are 0), byte 1 this mark, byte 2 the field, bytes 4..8 the probe
/// id. The consumer turns it into the name.
pub const PROBE_IN_STRING: u8 = 0xff;

const PROBE_FIELDS: [ProbeField; 5] =
    [ProbeField::Provider, ProbeField::Module, ProbeField::Function, ProbeField::Name, ProbeField::FunctionName];

/// The byte 2 of a [`PROBE_IN_STRING`] slot for `field`.
pub fn probe_field_code(field: ProbeField) -> u8 {
    PROBE_FIELDS.iter().position(|f| *f == field).expect("every field is listed") as u8
}

/// The probe field and id in a string slot, when it holds a probe name
/// ([`PROBE_IN_STRING`]).
pub fn probe_in_string(slot: &[u8]) -> Option<(ProbeField, u32)> {
    match slot {
        [0, PROBE_IN_STRING, field, _, id @ ..] if id.len() >= 4 => {
            let field = *PROBE_FIELDS.get(usize::from(*field))?;
            Some((field, u32::from_ne_bytes(id[..4].try_into().expect("4 bytes"))))
        }
        _ => None,
    }
}

/// Bytes a value of `ty` takes in a record, key or variable.
pub fn slot_size(ty: Ty, strsize: usize) -> usize {
    match ty {
        Ty::Str => strsize,
        // The address, then the id of the process it is in.
        Ty::Sym { user: true, .. } => 16,
        _ => 8,
    }
}

impl Layout {
    /// Lay out `ir` with strings of `strsize` bytes (rounded up to 8).
    pub fn new(ir: &Ir, strsize: usize) -> Layout {
        let strsize = strsize.div_ceil(8) * 8;
        let (globals, globals_end) = pack(ir.globals.iter().map(|v| v.ty), 0, strsize);
        let globals_size = globals_end.max(8);
        let (clause_vars, temps) = pack(ir.clause_vars.iter().map(|v| v.ty), SCRATCH_HEADER, strsize);
        let thread_value = if ir.thread_vars.iter().any(|v| v.ty == Ty::Str) { strsize } else { 8 };
        let key_layout = |keys: &[Ty], start: usize| {
            let (offs, end) = pack(keys.iter().copied(), start, strsize);
            (offs, end.max(8))
        };
        let agg_keys = ir.aggs.iter().map(|a| key_layout(&a.keys, 0)).collect();
        let array_keys = ir.arrays.iter().map(|a| key_layout(&a.keys, if a.thread { 8 } else { 0 })).collect();
        Layout {
            strsize,
            globals,
            globals_size,
            clause_vars,
            temps,
            thread_value,
            agg_keys,
            array_keys,
            wall_offset: wall_offset(),
            nspec: 1,
            kernel: KernelFacts::default(),
        }
    }
}

/// Offsets of values of types `tys` laid end to end from `start`, and where
/// the last one ends.
fn pack(tys: impl Iterator<Item = Ty>, start: usize, strsize: usize) -> (Vec<usize>, usize) {
    let mut at = start;
    let offsets = tys
        .map(|t| {
            let off = at;
            at += slot_size(t, strsize);
            off
        })
        .collect();
    (offsets, at)
}

fn wall_offset() -> u64 {
    let mut mono = libc::timespec { tv_sec: 0, tv_nsec: 0 };
    let mut real = libc::timespec { tv_sec: 0, tv_nsec: 0 };
    // SAFETY: clock_gettime writes into the timespec it is given.
    unsafe {
        libc::clock_gettime(libc::CLOCK_MONOTONIC, &mut mono);
        libc::clock_gettime(libc::CLOCK_REALTIME, &mut real);
    }
    let ns = |t: libc::timespec| t.tv_sec as u64 * 1_000_000_000 + t.tv_nsec as u64;
    ns(real).saturating_sub(ns(mono))
}
