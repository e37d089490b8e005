//! eBPF for checked D clauses: one program per attachment context, holding
//! every clause that applies there, in source order (so `this->` and the
//! order of actions are DTrace's).
//!
//! Registers: `r6` the context, `r7` this CPU's scratch area (a per-CPU
//! array value: clause-locals, strings, keys, records), `r8` the globals
//! (an array value), `r9` the id of the probe that fired (an index into the
//! run's probe table: a USDT site's attach cookie, `base + nr` for a
//! syscall, a constant for `BEGIN`/`END`). Integer expressions are computed
//! into `r0`, spilling left operands to 8-byte stack slots; strings live in
//! scratch buffers of `strsize` bytes, zero-filled so they can be map keys.
//! Associative arrays are hash maps keyed by their (zero-filled) key
//! tuple, with the thread id in front for `self->a[k]`.
//!
//! A clause that reads user memory ends at a fault: the error is counted
//! and, when the program has `ERROR` clauses, they run in a block after the
//! faulting clause (with `r9` the `ERROR` probe's id), then the next clause
//! runs. `bpf_loop` callbacks (string searches and path scans, in the
//! `strings` submodule) are subprograms after the main program's last
//! `exit`.
//!
//! Records go to the ring buffer with `bpf_ringbuf_output` (no wake-up):
//!
//! ```text
//! u32 tag   1 printf, 2 exit, 3 printa, 4 clear/trunc
//! u32 id    format (printf), printa action (index into `Ir::printas`)
//!           or aggregation
//! ...       printf: arguments in format order, integers and probe ids as
//!           u64, strings as strsize bytes; exit: i64 status; printa:
//!           nothing; clear/trunc: i64 entries kept (-1 = clear)
//! ```

mod strings;

use self::strings::Callback;
use super::ast::{BinOp, UnaryOp};
use super::sema::{AggFunc, Builtin, IStmt, Ir, ProbeField, StrFn, TExpr, TKind, Ty, VarRef};
use crate::bpf::asm::{Asm, Label};
use crate::bpf::insn::{helper, Alu, Cond, Insn, Reg, Size, R0, R1, R10, R2, R3, R4, R5, R6, R7, R8, R9};
use crate::bpf::usdt::ArgPlan;
use crate::kernel::btf::TaskOffsets;

/// Record tags.
pub mod tag {
    /// A printf record.
    pub const PRINTF: u32 = 1;
    /// `exit(n)`.
    pub const EXIT: u32 = 2;
    /// `printa`.
    pub const PRINTA: u32 = 3;
    /// `clear`/`trunc`.
    pub const AGGOP: u32 = 4;
    /// `normalize`/`denormalize`: the aggregation, then the divisor.
    pub const NORMALIZE: u32 = 5;
    /// A record of a speculation: the u64 speculation id, then the record.
    pub const SPECULATIVE: u32 = 6;
    /// `commit(id)` of an active speculation: the u64 id.
    pub const COMMIT: u32 = 7;
    /// `discard(id)` of an active speculation: the u64 id.
    pub const DISCARD: u32 = 8;
}

/// Bytes of an aggregation's value: four u64 slots (sum or count, count
/// or "has a value", and `stddev`'s 128-bit sum of squares).
pub const AGG_VALUE: usize = 32;

/// Bytes of a `vtimestamp` account: the u64 nanoseconds on a CPU before
/// the last switch-in, and the u64 time of that switch-in.
pub const VTIME_VALUE: usize = 16;

/// The `sched_switch` raw-tracepoint program behind `vtimestamp`. For each
/// thread already in the accounts (`vtime`, see [`MapFds::vtime`]): the
/// one switched out adds the time since its switch-in to its total and
/// marks itself off the CPU (`since` 0), the one switched in notes the
/// time. `sched_switch`'s arguments are `(preempt, prev, next, ...)`; the
/// thread ids are read from the tasks at the BTF offset of
/// `task_struct.pid`.
///
/// The kernel does not always report a switch-in: on the 6.18 VM this was
/// written on, about one switch in a few thousand back to a preempted
/// thread reached neither this program nor a perf tracepoint (bpftrace's
/// `tracepoint:sched:sched_switch` missed the same one). Counting from the
/// last switch-in seen would then add the time the thread spent off the
/// CPU. With the mark, such a slice is left out instead: a switch-out
/// finds `since` 0 and adds nothing, and a probe that finds it 0 starts
/// the slice at its own time.
pub fn vtime_program(vtime: i32, task: TaskOffsets) -> Vec<Insn> {
    let mut a = Asm::new();
    a.emit(Insn::mov(R6, R1));
    a.emit(Insn::call(helper::KTIME_GET_NS));
    a.emit(Insn::mov(R7, R0));
    for (arg, switched_in) in [(1, false), (2, true)] {
        let next = a.label();
        // key = task->pid
        a.emit(Insn::store_imm(Size::DW, R10, KEY, 0));
        a.emit(Insn::mov(R1, R10));
        a.emit(Insn::alu_imm(Alu::Add, R1, i32::from(KEY)));
        a.emit(Insn::mov_imm(R2, 4));
        a.emit(Insn::load(Size::DW, R3, R6, 8 * arg));
        a.emit(Insn::alu_imm(Alu::Add, R3, task.pid as i32));
        a.emit(Insn::call(helper::PROBE_READ_KERNEL));
        a.emit(Insn::load(Size::W, R1, R10, KEY));
        a.jmp_imm(Cond::Eq, R1, 0, next); // the idle task
        a.emit_all(Insn::ld_map_fd(R1, vtime));
        a.emit(Insn::mov(R2, R10));
        a.emit(Insn::alu_imm(Alu::Add, R2, i32::from(KEY)));
        a.emit(Insn::call(helper::MAP_LOOKUP_ELEM));
        a.jmp_imm(Cond::Eq, R0, 0, next);
        if switched_in {
            a.emit(Insn::store(Size::DW, R0, 8, R7));
        } else {
            // total += now - since, unless the switch-in was not seen.
            a.emit(Insn::load(Size::DW, R2, R0, 8));
            a.emit(Insn::store_imm(Size::DW, R0, 8, 0));
            a.jmp_imm(Cond::Eq, R2, 0, next);
            a.emit(Insn::mov(R1, R7));
            a.emit(Insn::alu(Alu::Sub, R1, R2));
            a.emit(Insn::load(Size::DW, R2, R0, 0));
            a.emit(Insn::alu(Alu::Add, R1, R2));
            a.emit(Insn::store(Size::DW, R0, 0, R1));
        }
        a.bind(next);
    }
    a.emit(Insn::mov_imm(R0, 0));
    a.emit(Insn::exit());
    a.finish()
}

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

/// Bytes at the start of a scratch area before the clause-locals.
pub const SCRATCH_HEADER: usize = 8;

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
    /// How many counters there are.
    pub const COUNT: u32 = 4;
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
    /// A `proc` probe over a scheduler raw tracepoint; the probe id is fixed.
    Proc(u64, ProcProbe),
}

/// The probes of the `proc` provider.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum ProcProbe {
    /// `exec-success`: `sched_process_exec`, in the new image.
    ExecSuccess,
    /// `exit`: `sched_process_exit`, once per process.
    Exit,
    /// `create`: `sched_process_fork` for a new process (not a thread), in
    /// the parent; `arg0` is the child's pid.
    Create,
}

impl ProcProbe {
    /// The probe's name in D.
    pub fn name(self) -> &'static str {
        match self {
            ProcProbe::ExecSuccess => "exec-success",
            ProcProbe::Exit => "exit",
            ProcProbe::Create => "create",
        }
    }
    /// The raw tracepoint it is attached to.
    pub fn tracepoint(self) -> &'static str {
        match self {
            ProcProbe::ExecSuccess => "sched_process_exec",
            ProcProbe::Exit => "sched_process_exit",
            ProcProbe::Create => "sched_process_fork",
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
    /// Whether `sched_process_exit` passes `group_dead` (Linux 6.16+).
    pub exit_has_group_dead: bool,
}

/// Bytes a value of `ty` takes in a record, key or variable.
pub fn slot_size(ty: Ty, strsize: usize) -> usize {
    if ty == Ty::Str {
        strsize
    } else {
        8
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

/// What a string expression evaluated to: `strsize` bytes at `base + off`.
#[derive(Debug, Clone, Copy)]
struct StrLoc {
    base: Reg,
    off: i32,
}

/// Why a program could not be generated.
#[derive(Debug, thiserror::Error)]
#[error("{0}")]
pub struct CodegenError(pub String);

/// The probe table, for `probefunc == "read"`-style tests.
pub trait ProbeNames {
    /// The text of `field` for probe `id`.
    fn field(&self, id: u64, field: ProbeField) -> String;
}

struct Gen<'a> {
    a: Asm,
    ir: &'a Ir,
    layout: &'a Layout,
    maps: &'a MapFds,
    spec: &'a ProgramSpec,
    names: &'a dyn ProbeNames,
    /// Next free scratch byte.
    scratch: usize,
    /// Highest scratch byte used.
    scratch_high: usize,
    /// Stack slots in use.
    depth: i16,
    /// Where a fault in the current clause goes (the clause's `ERROR`
    /// block, or its end); `None` inside `ERROR` clauses.
    fault: Option<Label>,
    /// Whether the current clause has jumped to `fault`.
    fault_used: bool,
    /// While generating `ERROR` clauses: the index of the clause that faulted.
    in_error: Option<usize>,
    /// `bpf_loop` callbacks, emitted after the main program.
    callbacks: Vec<Callback>,
    /// Whether the current clause has called `speculate()`: its records
    /// then go out wrapped with the id at `SPEC_ID`.
    speculative: bool,
}

// Stack: fp-16..fp-1 the thread-local key; fp-24 a read buffer; temps below.
const KEY: i16 = -16;
const READ_BUF: i16 = -24;
const TEMPS: i16 = -32;
const MAX_DEPTH: i16 = 56;
// Below the temps: the faulting address and the probe id of the faulting
// clause, for `ERROR` clauses (`arg5`, `arg1`).
const ERR_ADDR: i16 = -480;
const ERR_PROBE: i16 = -488;
// The speculation id of the clause's records after `speculate()`.
const SPEC_ID: i16 = -496;
// The fault type of the faulting clause, for `ERROR` clauses (`arg4`).
const ERR_KIND: i16 = -504;

/// `DTRACEFLT_BADADDR`: the fault type in `ERROR`'s `arg4`.
pub const FAULT_BADADDR: i32 = 1;
/// `DTRACEFLT_DIVZERO`: an integer division or remainder by zero.
pub const FAULT_DIVZERO: i32 = 2;

/// Generate the program for `spec`. Returns its instructions and the
/// scratch bytes it needs.
pub fn generate(
    ir: &Ir,
    layout: &Layout,
    maps: &MapFds,
    spec: &ProgramSpec,
    names: &dyn ProbeNames,
) -> Result<(Vec<Insn>, usize), CodegenError> {
    // Globals are addressed by a 16-bit signed offset from their value;
    // past that, offsets wrapped and two variables shared one place.
    if layout.globals_size > MAX_GLOBALS {
        return Err(CodegenError(format!(
            "the program's global variables take {} bytes, more than the {MAX_GLOBALS} sdtrace can address; \
             use fewer of them, make some clause-local (this->) or thread-local (self->), or lower strsize \
             (-x strsize=N: each string takes that many)",
            layout.globals_size
        )));
    }
    let mut g = Gen {
        a: Asm::new(),
        ir,
        layout,
        maps,
        spec,
        names,
        scratch: layout.temps,
        scratch_high: layout.temps,
        depth: 0,
        fault: None,
        fault_used: false,
        in_error: None,
        callbacks: Vec::new(),
        speculative: false,
    };
    let out = g.a.label();
    // The prologue leaves through a nearby exit, so that its jumps stay
    // short however long the clauses are.
    let early = g.a.label();
    g.a.emit(Insn::mov(R6, R1));
    // Scratch: this kind of program's area on this CPU.
    g.lookup_key(maps.scratch, spec.context.scratch_slot());
    g.a.jmp_imm(Cond::Eq, R0, 0, early);
    g.a.emit(Insn::mov(R7, R0));
    if let Some(fd) = maps.globals {
        g.lookup_zero(fd);
        g.a.jmp_imm(Cond::Eq, R0, 0, early);
        g.a.emit(Insn::mov(R8, R0));
    }
    g.probe_id(early)?;
    // Claim the area; from here every way out goes through `out`, which
    // frees it.
    let nested = g.a.label();
    g.a.emit(Insn::mov_imm(R0, 0));
    g.a.emit(Insn::mov_imm(R1, 1));
    g.a.emit(Insn::atomic_cmpxchg(R7, SCRATCH_BUSY, R1));
    g.a.jmp_imm(Cond::Ne, R0, 0, nested);
    let start = g.a.label();
    g.a.goto(start);
    g.a.bind(nested);
    g.bump_counter(counter::NESTED);
    g.a.bind(early);
    g.a.emit(Insn::mov_imm(R0, 0));
    g.a.emit(Insn::exit());
    g.a.bind(start);
    for (ci, filter) in &spec.clauses {
        let clause = &ir.clauses[*ci];
        let skip = g.a.label();
        if let Filter::Ids(ids) = filter {
            let take = g.a.label();
            for id in ids {
                g.jmp_id(Cond::Eq, *id, take);
            }
            g.a.goto(skip);
            g.a.bind(take);
        }
        g.scratch = layout.temps;
        let fault = g.a.label();
        g.fault = Some(fault);
        // A fault in the predicate ends the clause and runs ERROR too.
        g.fault_used = false;
        if let Some(p) = &clause.predicate {
            g.int(p)?;
            g.a.jmp_imm(Cond::Eq, R0, 0, skip);
        }
        g.speculative = false;
        g.stmts(&clause.body, out)?;
        g.speculative = false;
        g.fault = None;
        match &spec.on_error {
            Some(handler) if g.fault_used => {
                g.a.goto(skip);
                g.a.bind(fault);
                g.error_clauses(handler, *ci, out)?;
            }
            _ => g.a.bind(fault),
        }
        g.a.bind(skip);
    }
    g.a.bind(out);
    g.a.emit(Insn::store_imm(Size::DW, R7, SCRATCH_BUSY, 0));
    g.a.emit(Insn::mov_imm(R0, 0));
    g.a.emit(Insn::exit());
    for cb in std::mem::take(&mut g.callbacks) {
        g.emit_callback(cb);
    }
    if g.scratch_high > SCRATCH_MAX {
        return Err(CodegenError(format!(
            "the program needs {} bytes of scratch space per CPU, more than the {SCRATCH_MAX} the kernel allows; \
             lower strsize (-x strsize=N)",
            g.scratch_high
        )));
    }
    let insns = g.a.try_finish().map_err(|e| {
        CodegenError(format!(
            "the program is too long for eBPF: {e}; split the work over fewer string functions per probe, or \
             lower strsize (-x strsize=N)"
        ))
    })?;
    let maps: std::collections::BTreeSet<i32> = insns.iter().filter_map(Insn::map_fd).collect();
    if maps.len() > MAX_MAPS_PER_PROGRAM {
        return Err(CodegenError(format!(
            "one program would use {} maps (aggregations, associative arrays and sdtrace's own), more than the \
             {MAX_MAPS_PER_PROGRAM} the kernel allows: the clauses of one probe share a program (all BEGIN clauses, \
             say), so use fewer aggregations or arrays there, or one aggregation with a key instead of several",
            maps.len()
        )));
    }
    Ok((insns, g.scratch_high))
}

impl Gen<'_> {
    /// The `ERROR` clauses, run after clause `faulted` faulted: `r9` is
    /// the `ERROR` probe's id meanwhile.
    fn error_clauses(&mut self, handler: &ErrorHandler, faulted: usize, out: Label) -> Result<(), CodegenError> {
        self.a.emit(Insn::store(Size::DW, R10, ERR_PROBE, R9));
        self.a.emit_all(Insn::ld_imm64(R9, handler.id));
        self.in_error = Some(faulted);
        for ci in &handler.clauses {
            let clause = &self.ir.clauses[*ci];
            let skip = self.a.label();
            self.scratch = self.layout.temps;
            if let Some(p) = &clause.predicate {
                self.int(p)?;
                self.a.jmp_imm(Cond::Eq, R0, 0, skip);
            }
            self.stmts(&clause.body, out)?;
            self.a.bind(skip);
        }
        self.in_error = None;
        self.a.emit(Insn::load(Size::DW, R9, R10, ERR_PROBE));
        Ok(())
    }

    /// After a read of user memory at the address in stack slot `addr`:
    /// when it failed (r0 < 0), count the error, keep the address for
    /// `ERROR` and leave the clause; inside `ERROR` clauses, empty the
    /// `n` bytes at `r7 + off` and go on.
    fn check_fault(&mut self, addr: i16, off: i32, n: usize) {
        let ok = self.a.label();
        self.a.jmp_imm(Cond::Sge, R0, 0, ok);
        self.count_error();
        match self.fault {
            Some(fault) => {
                self.fault_used = true;
                self.a.emit(Insn::load(Size::DW, R1, R10, addr));
                self.a.emit(Insn::store(Size::DW, R10, ERR_ADDR, R1));
                self.a.emit(Insn::store_imm(Size::DW, R10, ERR_KIND, FAULT_BADADDR));
                self.a.goto(fault);
            }
            None => self.zero_scratch(off, n),
        }
        self.a.bind(ok);
    }

    /// Before `r0 /= r1` or `r0 %= r1`: when `r1` is 0, count the error
    /// and leave the clause as DTrace does (`ERROR` sees fault type
    /// [`FAULT_DIVZERO`], address 0); inside `ERROR` clauses the result is
    /// 0. `r0` and `r1` are untouched when the divisor is not 0.
    fn check_divisor(&mut self) -> Result<(), CodegenError> {
        let ok = self.a.label();
        self.a.jmp_imm(Cond::Ne, R1, 0, ok);
        self.bump_counter(counter::DIVZERO);
        match self.fault {
            Some(fault) => {
                self.fault_used = true;
                self.a.emit(Insn::store_imm(Size::DW, R10, ERR_ADDR, 0));
                self.a.emit(Insn::store_imm(Size::DW, R10, ERR_KIND, FAULT_DIVZERO));
                self.a.goto(fault);
                self.a.bind(ok);
            }
            None => {
                let done = self.a.label();
                self.a.emit(Insn::mov_imm(R0, 0));
                self.a.emit(Insn::mov_imm(R1, 1));
                self.a.goto(done);
                self.a.bind(ok);
                self.a.bind(done);
            }
        }
        Ok(())
    }

    fn err<T>(&self, e: &TExpr, msg: &str) -> Result<T, CodegenError> {
        Err(CodegenError(format!("{msg} (at bytes {}..{})", e.span.lo, e.span.hi)))
    }

    /// `r0 = lookup(map, &0)`.
    fn lookup_zero(&mut self, fd: i32) {
        self.lookup_key(fd, 0);
    }

    /// r0 = the value of u32 key `key` in map `fd`, or null.
    fn lookup_key(&mut self, fd: i32, key: i32) {
        self.a.emit(Insn::store_imm(Size::W, R10, READ_BUF, key));
        self.a.emit_all(Insn::ld_map_fd(R1, fd));
        self.a.emit(Insn::mov(R2, R10));
        self.a.emit(Insn::alu_imm(Alu::Add, R2, i32::from(READ_BUF)));
        self.a.emit(Insn::call(helper::MAP_LOOKUP_ELEM));
    }

    fn jmp_id(&mut self, cond: Cond, id: u64, to: Label) {
        if let Ok(imm) = i32::try_from(id) {
            self.a.jmp_imm(cond, R9, imm, to);
        } else {
            self.a.emit_all(Insn::ld_imm64(R1, id));
            self.a.jmp_reg(cond, R9, R1, to);
        }
    }

    fn probe_id(&mut self, out: Label) -> Result<(), CodegenError> {
        match &self.spec.context {
            Context::Usdt(_) => {
                self.a.emit(Insn::mov(R1, R6));
                self.a.emit(Insn::call(helper::GET_ATTACH_COOKIE));
                self.a.emit(Insn::mov(R9, R0));
            }
            Context::SyscallEntry { base } | Context::SyscallReturn { base } => {
                if matches!(self.spec.context, Context::SyscallEntry { .. }) {
                    // ctx->args[1] is the syscall number.
                    self.a.emit(Insn::load(Size::DW, R9, R6, 8));
                } else {
                    // regs->orig_ax holds it on the way out.
                    self.read_kernel_regs(120);
                    self.a.emit(Insn::mov(R9, R0));
                }
                self.a.jmp_imm(Cond::Sge, R9, syscall_count() as i32, out);
                self.a.jmp_imm(Cond::Slt, R9, 0, out);
                self.a.emit_all(Insn::ld_imm64(R1, *base));
                self.a.emit(Insn::alu(Alu::Add, R9, R1));
            }
            Context::Special(id) | Context::Timer(id) => self.a.emit_all(Insn::ld_imm64(R9, *id)),
            Context::Proc(id, probe) => {
                match probe {
                    ProcProbe::ExecSuccess => {}
                    ProcProbe::Exit if self.layout.kernel.exit_has_group_dead => {
                        // ctx->args[1] is group_dead: the last thread is leaving.
                        self.a.emit(Insn::load(Size::DW, R0, R6, 8));
                        self.a.emit(Insn::alu_imm(Alu::And, R0, 0xff));
                        self.a.jmp_imm(Cond::Eq, R0, 0, out);
                    }
                    ProcProbe::Exit => {
                        // Older kernels: when the thread-group leader exits.
                        self.a.emit(Insn::call(helper::GET_CURRENT_PID_TGID));
                        self.a.emit(Insn::mov(R1, R0));
                        self.a.emit(Insn::alu_imm(Alu::Rsh, R1, 32));
                        self.a.emit(Insn::alu_imm(Alu::Lsh, R0, 32));
                        self.a.emit(Insn::alu_imm(Alu::Rsh, R0, 32));
                        self.a.jmp_reg(Cond::Ne, R0, R1, out);
                    }
                    ProcProbe::Create => {
                        // A new process, not a new thread: child->pid == child->tgid.
                        let task = self.task_offsets()?;
                        self.a.emit(Insn::load(Size::DW, R3, R6, 8));
                        self.read_kernel(R3, task.pid as i32, 4);
                        self.a.emit(Insn::store(Size::DW, R10, KEY, R0));
                        self.a.emit(Insn::load(Size::DW, R3, R6, 8));
                        self.read_kernel(R3, task.tgid as i32, 4);
                        self.a.emit(Insn::load(Size::DW, R1, R10, KEY));
                        self.a.jmp_reg(Cond::Ne, R0, R1, out);
                    }
                }
                self.a.emit_all(Insn::ld_imm64(R9, *id));
            }
        }
        Ok(())
    }

    /// The `task_struct` offsets, or an error that says why they are unknown.
    fn task_offsets(&self) -> Result<TaskOffsets, CodegenError> {
        match &self.layout.kernel.task {
            Some(Ok(t)) => Ok(*t),
            Some(Err(why)) => Err(CodegenError(format!(
                "this program reads the kernel's task_struct, whose layout comes from BTF: {why}"
            ))),
            None => Err(CodegenError("internal error: the kernel's BTF was not read for this program".into())),
        }
    }

    /// `r0 = *(u{size*8} *)(src + off)`, read from kernel memory (0 when
    /// the read fails). `src` must not be `r1` or `r2`.
    fn read_kernel(&mut self, src: Reg, off: i32, size: u8) {
        self.a.emit(Insn::store_imm(Size::DW, R10, READ_BUF, 0));
        if src != R3 {
            self.a.emit(Insn::mov(R3, src));
        }
        if off != 0 {
            self.a.emit(Insn::alu_imm(Alu::Add, R3, off));
        }
        self.a.emit(Insn::mov(R1, R10));
        self.a.emit(Insn::alu_imm(Alu::Add, R1, i32::from(READ_BUF)));
        self.a.emit(Insn::mov_imm(R2, i32::from(size)));
        self.a.emit(Insn::call(helper::PROBE_READ_KERNEL));
        self.a.emit(Insn::load(Size::of(size), R0, R10, READ_BUF));
    }

    /// `r0 = *(u64 *)(regs + off)`, where regs is `ctx->args[0]`.
    fn read_kernel_regs(&mut self, off: i32) {
        self.a.emit(Insn::store_imm(Size::DW, R10, READ_BUF, 0));
        self.a.emit(Insn::mov(R1, R10));
        self.a.emit(Insn::alu_imm(Alu::Add, R1, i32::from(READ_BUF)));
        self.a.emit(Insn::mov_imm(R2, 8));
        self.a.emit(Insn::load(Size::DW, R3, R6, 0));
        self.a.emit(Insn::alu_imm(Alu::Add, R3, off));
        self.a.emit(Insn::call(helper::PROBE_READ_KERNEL));
        self.a.emit(Insn::load(Size::DW, R0, R10, READ_BUF));
    }

    fn push(&mut self) -> Result<i16, CodegenError> {
        if self.depth >= MAX_DEPTH {
            return Err(CodegenError("expression too deep for the BPF stack".into()));
        }
        self.depth += 1;
        Ok(TEMPS - 8 * (self.depth - 1))
    }

    fn pop(&mut self) {
        self.depth -= 1;
    }

    fn alloc(&mut self, bytes: usize) -> i32 {
        let at = self.scratch;
        self.scratch += bytes.div_ceil(8) * 8;
        self.scratch_high = self.scratch_high.max(self.scratch);
        at as i32
    }

    fn zero_scratch(&mut self, off: i32, bytes: usize) {
        for k in (0..bytes).step_by(8) {
            self.a.emit(Insn::store_imm(Size::DW, R7, (off + k as i32) as i16, 0));
        }
    }

    /// The `n`-byte string value a map lookup left in R0, copied to fresh
    /// scratch; "" when R0 is null (a missing key or thread-local).
    fn string_from_lookup(&mut self, n: usize) -> StrLoc {
        let off = self.alloc(n);
        let found = self.a.label();
        let done = self.a.label();
        self.a.jmp_imm(Cond::Ne, R0, 0, found);
        self.zero_scratch(off, n);
        self.a.goto(done);
        self.a.bind(found);
        self.copy(R7, off, StrLoc { base: R0, off: 0 }, n);
        self.a.bind(done);
        StrLoc { base: R7, off }
    }

    /// `dst = memcpy(src, n)` between map values: `bpf_probe_read_kernel`.
    fn copy(&mut self, dst_base: Reg, dst_off: i32, src: StrLoc, n: usize) {
        self.a.emit(Insn::mov(R1, dst_base));
        self.a.emit(Insn::alu_imm(Alu::Add, R1, dst_off));
        self.a.emit(Insn::mov_imm(R2, n as i32));
        self.a.emit(Insn::mov(R3, src.base));
        self.a.emit(Insn::alu_imm(Alu::Add, R3, src.off));
        self.a.emit(Insn::call(helper::PROBE_READ_KERNEL));
    }

    /// Add one to this CPU's counter `index` (see [`counter`]), atomically:
    /// a timer program may interrupt the update.
    fn bump_counter(&mut self, index: i32) {
        let done = self.a.label();
        self.lookup_key(self.maps.counters, index);
        self.a.jmp_imm(Cond::Eq, R0, 0, done);
        self.a.emit(Insn::mov_imm(R1, 1));
        self.a.emit(Insn::atomic_fetch_add(R0, 0, R1));
        self.a.bind(done);
    }

    fn count_error(&mut self) {
        self.bump_counter(counter::ERRORS);
    }

    /// After a ring buffer output: count a drop when it failed (r0 < 0).
    fn count_drop_if_failed(&mut self) {
        let ok = self.a.label();
        self.a.jmp_imm(Cond::Sge, R0, 0, ok);
        self.bump_counter(counter::DROPS);
        self.a.bind(ok);
    }

    /// Build the thread-local key `{tid, var}` on the stack.
    fn thread_key(&mut self, var: usize) {
        self.a.emit(Insn::call(helper::GET_CURRENT_PID_TGID));
        self.a.emit(Insn::store(Size::DW, R10, KEY, R0));
        self.a.emit(Insn::store_imm(Size::DW, R10, KEY + 8, var as i32));
    }

    fn thread_fd(&self) -> i32 {
        self.maps.thread.expect("a thread-local map when thread-locals exist")
    }

    fn output(&mut self, off: i32, size: usize) {
        if self.speculative {
            // The record behind a header that names the speculation.
            let wrapped = self.alloc(size + 16);
            self.a.emit(Insn::store_imm(Size::W, R7, wrapped as i16, tag::SPECULATIVE as i32));
            self.a.emit(Insn::store_imm(Size::W, R7, (wrapped + 4) as i16, 0));
            self.a.emit(Insn::load(Size::DW, R1, R10, SPEC_ID));
            self.a.emit(Insn::store(Size::DW, R7, (wrapped + 8) as i16, R1));
            self.copy(R7, wrapped + 16, StrLoc { base: R7, off }, size);
            self.send(wrapped, size + 16);
            return;
        }
        self.send(off, size);
    }

    fn send(&mut self, off: i32, size: usize) {
        self.a.emit_all(Insn::ld_map_fd(R1, self.maps.ringbuf));
        self.a.emit(Insn::mov(R2, R7));
        self.a.emit(Insn::alu_imm(Alu::Add, R2, off));
        self.a.emit(Insn::mov_imm(R3, size as i32));
        self.a.emit(Insn::mov_imm(R4, 1)); // BPF_RB_NO_WAKEUP
        self.a.emit(Insn::call(helper::RINGBUF_OUTPUT));
        self.count_drop_if_failed();
    }

    fn header(&mut self, off: i32, tag: u32, id: u32) {
        self.a.emit(Insn::store_imm(Size::W, R7, off as i16, tag as i32));
        self.a.emit(Insn::store_imm(Size::W, R7, (off + 4) as i16, id as i32));
    }

    fn stmts(&mut self, stmts: &[IStmt], out: Label) -> Result<(), CodegenError> {
        for s in stmts {
            self.stmt(s, out)?;
        }
        Ok(())
    }

    fn stmt(&mut self, s: &IStmt, out: Label) -> Result<(), CodegenError> {
        let mark = self.scratch;
        match s {
            IStmt::Nop => {}
            IStmt::If(c, t, e) => {
                let other = self.a.label();
                let end = self.a.label();
                self.int(c)?;
                self.a.jmp_imm(Cond::Eq, R0, 0, other);
                self.stmts(t, out)?;
                self.a.goto(end);
                self.a.bind(other);
                self.stmts(e, out)?;
                self.a.bind(end);
            }
            IStmt::Assign(place, v) => self.assign(*place, v)?,
            IStmt::Free(VarRef::Thread(i)) => {
                self.thread_key(*i);
                self.a.emit_all(Insn::ld_map_fd(R1, self.thread_fd()));
                self.a.emit(Insn::mov(R2, R10));
                self.a.emit(Insn::alu_imm(Alu::Add, R2, i32::from(KEY)));
                self.a.emit(Insn::call(helper::MAP_DELETE_ELEM));
            }
            IStmt::Free(_) => {}
            IStmt::ArraySet { array, keys, value } => self.array_set(*array, keys, value)?,
            IStmt::Printf { format, args } => {
                let size: usize = 8 + args.iter().map(|a| slot_size(a.ty, self.layout.strsize)).sum::<usize>();
                let rec = self.alloc(size);
                self.header(rec, tag::PRINTF, *format as u32);
                let mut at = rec + 8;
                for a in args {
                    self.store_value(a, R7, at)?;
                    at += slot_size(a.ty, self.layout.strsize) as i32;
                }
                self.output(rec, size);
            }
            IStmt::Exit(v) => {
                let rec = self.alloc(16);
                self.int(v)?;
                self.a.emit(Insn::store(Size::DW, R7, (rec + 8) as i16, R0));
                self.header(rec, tag::EXIT, 0);
                self.output(rec, 16);
            }
            IStmt::Printa(printa) => {
                // The printer looks the action up in the program.
                let rec = self.alloc(8);
                self.header(rec, tag::PRINTA, *printa as u32);
                self.output(rec, 8);
            }
            IStmt::AggOp { agg, trunc } => {
                let rec = self.alloc(16);
                self.header(rec, tag::AGGOP, *agg as u32);
                self.a.emit(Insn::store_imm(Size::DW, R7, (rec + 8) as i16, trunc.map_or(-1, |n| n as i32)));
                self.output(rec, 16);
            }
            IStmt::Normalize { agg, by } => {
                let rec = self.alloc(16);
                self.int(by)?;
                self.header(rec, tag::NORMALIZE, *agg as u32);
                self.a.emit(Insn::store(Size::DW, R7, (rec + 8) as i16, R0));
                self.output(rec, 16);
            }
            IStmt::Aggregate { agg, keys, value } => self.aggregate(*agg, keys, value.as_ref())?,
            IStmt::Speculate(id) => {
                self.int(id)?;
                self.a.emit(Insn::store(Size::DW, R10, SPEC_ID, R0));
                // A speculation that is not active takes no records: they
                // go to speculation 0, whose records the printer drops.
                let active = self.a.label();
                self.a.jmp_imm(Cond::Eq, R0, 0, active);
                self.a.emit_all(Insn::ld_map_fd(R1, self.active_speculations()));
                self.a.emit(Insn::mov(R2, R10));
                self.a.emit(Insn::alu_imm(Alu::Add, R2, i32::from(SPEC_ID)));
                self.a.emit(Insn::call(helper::MAP_LOOKUP_ELEM));
                self.a.jmp_imm(Cond::Ne, R0, 0, active);
                self.a.emit(Insn::store_imm(Size::DW, R10, SPEC_ID, 0));
                self.a.bind(active);
                self.speculative = true;
            }
            IStmt::EndSpeculation { commit, id } => {
                let rec = self.alloc(16);
                self.int(id)?;
                self.a.emit(Insn::store(Size::DW, R7, (rec + 8) as i16, R0));
                self.header(rec, if *commit { tag::COMMIT } else { tag::DISCARD }, 0);
                // Only an active speculation ends, once: the delete that
                // finds its id lowers the active count and tells the
                // printer; ending one that is not active does nothing.
                let inactive = self.a.label();
                let counted = self.a.label();
                self.a.jmp_imm(Cond::Eq, R0, 0, inactive);
                let key = self.push()?;
                self.a.emit(Insn::store(Size::DW, R10, key, R0));
                self.a.emit_all(Insn::ld_map_fd(R1, self.active_speculations()));
                self.a.emit(Insn::mov(R2, R10));
                self.a.emit(Insn::alu_imm(Alu::Add, R2, i32::from(key)));
                self.a.emit(Insn::call(helper::MAP_DELETE_ELEM));
                self.pop();
                self.a.jmp_imm(Cond::Ne, R0, 0, inactive);
                self.speculation_counters(counted);
                self.a.emit(Insn::mov_imm(R1, -1));
                self.a.emit(Insn::atomic_fetch_add(R0, 8, R1));
                self.a.bind(counted);
                self.send(rec, 16);
                self.a.bind(inactive);
            }
        }
        self.scratch = mark;
        Ok(())
    }

    /// Evaluate `v` and store it (8 bytes, or strsize for strings) at `base + off`.
    fn store_value(&mut self, v: &TExpr, base: Reg, off: i32) -> Result<(), CodegenError> {
        if v.ty == Ty::Str {
            let loc = self.string(v)?;
            if loc.base != base || loc.off != off {
                self.copy(base, off, loc, self.layout.strsize);
            }
        } else {
            self.int(v)?;
            self.a.emit(Insn::store(Size::DW, base, off as i16, R0));
        }
        Ok(())
    }

    fn assign(&mut self, place: VarRef, v: &TExpr) -> Result<(), CodegenError> {
        match place {
            VarRef::Global(i) => self.store_value(v, R8, self.layout.globals[i] as i32),
            VarRef::Clause(i) => self.store_value(v, R7, self.layout.clause_vars[i] as i32),
            VarRef::Thread(i) => {
                let buf = self.alloc(self.layout.thread_value);
                self.store_value(v, R7, buf)?;
                self.thread_key(i);
                self.a.emit_all(Insn::ld_map_fd(R1, self.thread_fd()));
                self.a.emit(Insn::mov(R2, R10));
                self.a.emit(Insn::alu_imm(Alu::Add, R2, i32::from(KEY)));
                self.a.emit(Insn::mov(R3, R7));
                self.a.emit(Insn::alu_imm(Alu::Add, R3, buf));
                self.a.emit(Insn::mov_imm(R4, 0));
                self.a.emit(Insn::call(helper::MAP_UPDATE_ELEM));
                Ok(())
            }
        }
    }

    /// Build the key of `array` for `keys` in scratch; returns its offset.
    fn array_key(&mut self, array: usize, keys: &[TExpr]) -> Result<i32, CodegenError> {
        let (offs, key_size) = self.layout.array_keys[array].clone();
        let key = self.alloc(key_size);
        self.zero_scratch(key, key_size);
        if self.ir.arrays[array].thread {
            self.a.emit(Insn::call(helper::GET_CURRENT_PID_TGID));
            self.a.emit(Insn::store(Size::DW, R7, key as i16, R0));
        }
        for (k, off) in keys.iter().zip(offs) {
            self.store_value(k, R7, key + off as i32)?;
        }
        Ok(key)
    }

    /// `r1 = map, r2 = &key` for a call on `array`'s map.
    fn array_args(&mut self, array: usize, key: i32) {
        self.a.emit_all(Insn::ld_map_fd(R1, self.maps.arrays[array]));
        self.a.emit(Insn::mov(R2, R7));
        self.a.emit(Insn::alu_imm(Alu::Add, R2, key));
    }

    /// `a[keys] = value`, or delete the entry when the value is 0 or "".
    fn array_set(&mut self, array: usize, keys: &[TExpr], value: &TExpr) -> Result<(), CodegenError> {
        let val = if value.ty == Ty::Str {
            let loc = self.string(value)?;
            if loc.base == R7 {
                loc.off
            } else {
                let off = self.alloc(self.layout.strsize);
                self.copy(R7, off, loc, self.layout.strsize);
                off
            }
        } else {
            let off = self.alloc(8);
            self.int(value)?;
            self.a.emit(Insn::store(Size::DW, R7, off as i16, R0));
            off
        };
        let key = self.array_key(array, keys)?;
        let delete = self.a.label();
        let done = self.a.label();
        let first = if value.ty == Ty::Str { Size::B } else { Size::DW };
        self.a.emit(Insn::load(first, R1, R7, val as i16));
        self.a.jmp_imm(Cond::Eq, R1, 0, delete);
        self.array_args(array, key);
        self.a.emit(Insn::mov(R3, R7));
        self.a.emit(Insn::alu_imm(Alu::Add, R3, val));
        self.a.emit(Insn::mov_imm(R4, 0));
        self.a.emit(Insn::call(helper::MAP_UPDATE_ELEM));
        self.a.goto(done);
        self.a.bind(delete);
        self.array_args(array, key);
        self.a.emit(Insn::call(helper::MAP_DELETE_ELEM));
        self.a.bind(done);
        Ok(())
    }

    /// Look `a[keys]` up: r0 = the value's address, or 0 when absent.
    fn array_lookup(&mut self, array: usize, keys: &[TExpr]) -> Result<(), CodegenError> {
        let key = self.array_key(array, keys)?;
        self.array_args(array, key);
        self.a.emit(Insn::call(helper::MAP_LOOKUP_ELEM));
        Ok(())
    }

    /// r0 = the histogram bucket of r0, as [`super::sema::quantize_bucket`] or
    /// [`AggFunc::Lquantize`] define it. Clobbers r1 and r2.
    fn bucket(&mut self, func: AggFunc) {
        match func {
            AggFunc::Lquantize { lo, hi, step } => {
                let n = (hi - lo) / step;
                let under = self.a.label();
                let over = self.a.label();
                let done = self.a.label();
                self.a.emit_all(Insn::ld_imm64(R1, lo as u64));
                self.a.jmp_reg(Cond::Slt, R0, R1, under);
                self.a.emit_all(Insn::ld_imm64(R2, (lo + n * step) as u64));
                self.a.jmp_reg(Cond::Sge, R0, R2, over);
                // lo <= r0 < lo + n * step: unsigned division is right.
                self.a.emit(Insn::alu(Alu::Sub, R0, R1));
                self.a.emit_all(Insn::ld_imm64(R1, step as u64));
                self.a.emit(Insn::alu(Alu::Div, R0, R1));
                self.a.emit(Insn::alu_imm(Alu::Add, R0, 1));
                self.a.goto(done);
                self.a.bind(under);
                self.a.emit(Insn::mov_imm(R0, 0));
                self.a.goto(done);
                self.a.bind(over);
                self.a.emit(Insn::mov_imm(R0, (n + 1) as i32));
                self.a.bind(done);
            }
            AggFunc::Llquantize { factor, low, high, nsteps } => {
                // Magnitude by magnitude: the first whose end is above r0
                // holds it; below factor^low is bucket 0.
                let done = self.a.label();
                let first = factor.pow(low);
                self.a.emit(Insn::mov_imm(R2, 0));
                self.a.emit_all(Insn::ld_imm64(R1, first as u64));
                self.a.jmp_reg(Cond::Slt, R0, R1, done);
                let mut base = 1i64;
                for m in low..=high {
                    let from = factor.pow(m);
                    let to = factor.pow(m + 1);
                    let step = (to / nsteps).max(1);
                    let next = self.a.label();
                    self.a.emit_all(Insn::ld_imm64(R1, to as u64));
                    self.a.jmp_reg(Cond::Sge, R0, R1, next);
                    self.a.emit(Insn::mov(R2, R0));
                    self.a.emit_all(Insn::ld_imm64(R1, from as u64));
                    self.a.emit(Insn::alu(Alu::Sub, R2, R1));
                    self.a.emit_all(Insn::ld_imm64(R1, step as u64));
                    self.a.emit(Insn::alu(Alu::Div, R2, R1));
                    self.a.emit_all(Insn::ld_imm64(R1, base as u64));
                    self.a.emit(Insn::alu(Alu::Add, R2, R1));
                    self.a.goto(done);
                    self.a.bind(next);
                    base += (to - from - 1) / step + 1;
                }
                self.a.emit_all(Insn::ld_imm64(R2, base as u64));
                self.a.bind(done);
                self.a.emit(Insn::mov(R0, R2));
            }
            _ => {
                // Bucket = floor(log2 |x|) + 1, negated for negative x:
                // a binary search over the bit length.
                let done = self.a.label();
                let positive = self.a.label();
                self.a.jmp_imm(Cond::Eq, R0, 0, done);
                self.a.emit(Insn::mov_imm(R2, 1));
                self.a.jmp_imm(Cond::Sgt, R0, 0, positive);
                self.a.emit(Insn::mov_imm(R2, -1));
                self.a.emit(Insn::alu_imm(Alu::Mul, R0, -1));
                self.a.bind(positive);
                // r1 = bit length of r0 (unsigned), r0 >= 1.
                self.a.emit(Insn::mov_imm(R1, 1));
                for shift in [32, 16, 8, 4, 2, 1] {
                    let skip = self.a.label();
                    self.a.emit(Insn::mov(R3, R0));
                    self.a.emit(Insn::alu_imm(Alu::Rsh, R3, shift));
                    self.a.jmp_imm(Cond::Eq, R3, 0, skip);
                    self.a.emit(Insn::mov(R0, R3));
                    self.a.emit(Insn::alu_imm(Alu::Add, R1, shift));
                    self.a.bind(skip);
                }
                self.a.emit(Insn::mov(R0, R1));
                self.a.emit(Insn::alu(Alu::Mul, R0, R2));
                self.a.bind(done);
            }
        }
    }

    fn aggregate(&mut self, agg: usize, keys: &[TExpr], value: Option<&TExpr>) -> Result<(), CodegenError> {
        let (offs, key_size) = self.layout.agg_keys[agg].clone();
        let key = self.alloc(key_size);
        self.zero_scratch(key, key_size);
        for (k, off) in keys.iter().zip(offs) {
            self.store_value(k, R7, key + off as i32)?;
        }
        let slot = self.push()?;
        if let Some(v) = value {
            self.int(v)?;
            self.a.emit(Insn::store(Size::DW, R10, slot, R0));
        }
        let func = self.ir.aggs[agg].func;
        if func.is_histogram() {
            // The value's bucket is the last key; the value counts.
            let last = *self.layout.agg_keys[agg].0.last().expect("a histogram has a bucket key") as i32;
            self.bucket(func);
            self.a.emit(Insn::store(Size::DW, R7, (key + last) as i16, R0));
        }
        let fd = self.maps.aggs[agg];
        let have = self.a.label();
        let done = self.a.label();
        let lookup = |g: &mut Self| {
            g.a.emit_all(Insn::ld_map_fd(R1, fd));
            g.a.emit(Insn::mov(R2, R7));
            g.a.emit(Insn::alu_imm(Alu::Add, R2, key));
            g.a.emit(Insn::call(helper::MAP_LOOKUP_ELEM));
        };
        lookup(self);
        self.a.jmp_imm(Cond::Ne, R0, 0, have);
        let zero = self.alloc(AGG_VALUE);
        self.zero_scratch(zero, AGG_VALUE);
        self.a.emit_all(Insn::ld_map_fd(R1, fd));
        self.a.emit(Insn::mov(R2, R7));
        self.a.emit(Insn::alu_imm(Alu::Add, R2, key));
        self.a.emit(Insn::mov(R3, R7));
        self.a.emit(Insn::alu_imm(Alu::Add, R3, zero));
        self.a.emit(Insn::mov_imm(R4, 1)); // BPF_NOEXIST
        self.a.emit(Insn::call(helper::MAP_UPDATE_ELEM));
        lookup(self);
        self.a.jmp_imm(Cond::Eq, R0, 0, done);
        self.a.bind(have);
        self.a.emit(Insn::load(Size::DW, R1, R0, 0));
        match func {
            AggFunc::Count | AggFunc::Quantize | AggFunc::Lquantize { .. } | AggFunc::Llquantize { .. } => {
                self.a.emit(Insn::alu_imm(Alu::Add, R1, 1))
            }
            AggFunc::Stddev => {
                // Sum and count, then |x|^2 added to the 128-bit sum of
                // squares in slots 2 (low) and 3 (high), from 32-bit halves.
                self.a.emit(Insn::load(Size::DW, R2, R10, slot));
                self.a.emit(Insn::alu(Alu::Add, R1, R2));
                self.a.emit(Insn::load(Size::DW, R3, R0, 8));
                self.a.emit(Insn::alu_imm(Alu::Add, R3, 1));
                self.a.emit(Insn::store(Size::DW, R0, 8, R3));
                let pos = self.a.label();
                self.a.jmp_imm(Cond::Sge, R2, 0, pos);
                self.a.emit(Insn::alu_imm(Alu::Mul, R2, -1));
                self.a.bind(pos);
                self.a.emit(Insn::mov(R3, R2));
                self.a.emit(Insn::alu_imm(Alu::Rsh, R3, 32));
                self.a.emit(Insn::alu_imm(Alu::Lsh, R2, 32));
                self.a.emit(Insn::alu_imm(Alu::Rsh, R2, 32));
                // lo * lo.
                self.a.emit(Insn::mov(R4, R2));
                self.a.emit(Insn::alu(Alu::Mul, R4, R2));
                self.add_low_128(R4);
                // 2 * hi * lo * 2^32: cross << 33 low, cross >> 31 high.
                self.a.emit(Insn::mov(R4, R3));
                self.a.emit(Insn::alu(Alu::Mul, R4, R2));
                self.a.emit(Insn::mov(R2, R4));
                self.a.emit(Insn::alu_imm(Alu::Rsh, R2, 31));
                self.a.emit(Insn::alu_imm(Alu::Lsh, R4, 33));
                self.add_low_128(R4);
                // hi * hi * 2^64.
                self.a.emit(Insn::load(Size::DW, R5, R0, 24));
                self.a.emit(Insn::alu(Alu::Add, R5, R2));
                self.a.emit(Insn::mov(R2, R3));
                self.a.emit(Insn::alu(Alu::Mul, R2, R3));
                self.a.emit(Insn::alu(Alu::Add, R5, R2));
                self.a.emit(Insn::store(Size::DW, R0, 24, R5));
            }
            AggFunc::Sum | AggFunc::Avg => {
                self.a.emit(Insn::load(Size::DW, R2, R10, slot));
                self.a.emit(Insn::alu(Alu::Add, R1, R2));
                if func == AggFunc::Avg {
                    self.a.emit(Insn::load(Size::DW, R3, R0, 8));
                    self.a.emit(Insn::alu_imm(Alu::Add, R3, 1));
                    self.a.emit(Insn::store(Size::DW, R0, 8, R3));
                }
            }
            AggFunc::Min | AggFunc::Max => {
                // Slot 1 says whether slot 0 holds a value yet.
                let take = self.a.label();
                let keep = self.a.label();
                self.a.emit(Insn::load(Size::DW, R2, R10, slot));
                self.a.emit(Insn::load(Size::DW, R3, R0, 8));
                self.a.jmp_imm(Cond::Eq, R3, 0, take);
                let better = if func == AggFunc::Min { Cond::Slt } else { Cond::Sgt };
                self.a.jmp_reg(better, R2, R1, take);
                self.a.goto(keep);
                self.a.bind(take);
                self.a.emit(Insn::mov(R1, R2));
                self.a.emit(Insn::store_imm(Size::DW, R0, 8, 1));
                self.a.bind(keep);
            }
        }
        self.a.emit(Insn::store(Size::DW, R0, 0, R1));
        self.a.bind(done);
        self.pop();
        Ok(())
    }

    /// r0 = the stack of `e` (`stack()` or `ustack()`): its id in the
    /// stack-trace map (negative when the kernel could not take it), with
    /// the process id in the upper 32 bits for a user stack.
    fn stack_id(&mut self, e: &TExpr) -> Result<(), CodegenError> {
        let Ty::Stack { user, .. } = e.ty else { return self.err(e, "not a stack") };
        let Some(fd) = self.maps.stacks else { return self.err(e, "no stack map") };
        self.a.emit(Insn::mov(R1, R6));
        self.a.emit_all(Insn::ld_map_fd(R2, fd));
        // BPF_F_USER_STACK.
        self.a.emit(Insn::mov_imm(R3, if user { 1 << 8 } else { 0 }));
        self.a.emit(Insn::call(helper::GET_STACKID));
        if user {
            let slot = self.push()?;
            self.a.emit(Insn::store(Size::DW, R10, slot, R0));
            self.a.emit(Insn::call(helper::GET_CURRENT_PID_TGID));
            self.a.emit(Insn::alu_imm(Alu::Rsh, R0, 32));
            self.a.emit(Insn::alu_imm(Alu::Lsh, R0, 32));
            self.a.emit(Insn::load(Size::DW, R1, R10, slot));
            self.a.emit(Insn::alu_imm(Alu::Lsh, R1, 32));
            self.a.emit(Insn::alu_imm(Alu::Rsh, R1, 32));
            self.a.emit(Insn::alu(Alu::Or, R0, R1));
            self.pop();
        }
        Ok(())
    }

    /// r0 = the speculation counters (last id, active); to `missing` when
    /// the lookup fails.
    fn speculation_counters(&mut self, missing: Label) {
        let fd = self.maps.speculations.expect("speculations use a map");
        let key = self.alloc(8);
        self.a.emit(Insn::store_imm(Size::DW, R7, key as i16, 0));
        self.a.emit_all(Insn::ld_map_fd(R1, fd));
        self.a.emit(Insn::mov(R2, R7));
        self.a.emit(Insn::alu_imm(Alu::Add, R2, key));
        self.a.emit(Insn::call(helper::MAP_LOOKUP_ELEM));
        self.a.jmp_imm(Cond::Eq, R0, 0, missing);
    }

    fn active_speculations(&self) -> i32 {
        self.maps.active_speculations.expect("speculations use a map")
    }

    /// r0 = `speculation()`: a new id, or 0 when `nspec` are active.
    fn speculation(&mut self) -> Result<(), CodegenError> {
        let done = self.a.label();
        let full = self.a.label();
        let none = self.a.label();
        self.speculation_counters(none);
        self.a.emit(Insn::mov_imm(R1, 1));
        self.a.emit(Insn::atomic_fetch_add(R0, 8, R1));
        self.a.jmp_imm(Cond::Sge, R1, self.layout.nspec as i32, full);
        self.a.emit(Insn::mov_imm(R1, 1));
        self.a.emit(Insn::atomic_fetch_add(R0, 0, R1));
        self.a.emit(Insn::alu_imm(Alu::Add, R1, 1));
        // Noted as active until it ends.
        let id = self.push()?;
        self.a.emit(Insn::store(Size::DW, R10, id, R1));
        self.a.emit_all(Insn::ld_map_fd(R1, self.active_speculations()));
        self.a.emit(Insn::mov(R2, R10));
        self.a.emit(Insn::alu_imm(Alu::Add, R2, i32::from(id)));
        self.a.emit(Insn::mov(R3, R2));
        self.a.emit(Insn::mov_imm(R4, 0)); // BPF_ANY
        self.a.emit(Insn::call(helper::MAP_UPDATE_ELEM));
        // An id that could not be noted could never end: give it up.
        let noted = self.a.label();
        self.a.jmp_imm(Cond::Eq, R0, 0, noted);
        self.speculation_counters(none);
        self.a.goto(full);
        self.a.bind(noted);
        self.a.emit(Insn::load(Size::DW, R0, R10, id));
        self.pop();
        self.a.goto(done);
        self.a.bind(full);
        self.a.emit(Insn::mov_imm(R1, -1));
        self.a.emit(Insn::atomic_fetch_add(R0, 8, R1));
        self.a.bind(none);
        self.a.emit(Insn::mov_imm(R0, 0));
        self.a.bind(done);
        Ok(())
    }

    /// Add `r` to the 128-bit value in slots 2 and 3 of the aggregation
    /// value at r0, carrying into the high half. Clobbers `r` and r5.
    fn add_low_128(&mut self, r: Reg) {
        let no_carry = self.a.label();
        self.a.emit(Insn::load(Size::DW, R5, R0, 16));
        self.a.emit(Insn::alu(Alu::Add, r, R5));
        self.a.emit(Insn::store(Size::DW, R0, 16, r));
        self.a.jmp_reg(Cond::Ge, r, R5, no_carry);
        self.a.emit(Insn::load(Size::DW, R5, R0, 24));
        self.a.emit(Insn::alu_imm(Alu::Add, R5, 1));
        self.a.emit(Insn::store(Size::DW, R0, 24, R5));
        self.a.bind(no_carry);
    }

    /// Evaluate a string expression into a location.
    fn string(&mut self, e: &TExpr) -> Result<StrLoc, CodegenError> {
        let n = self.layout.strsize;
        match &e.kind {
            TKind::Str(s) => {
                let off = self.alloc(n);
                self.zero_scratch(off, n);
                for (i, b) in s.bytes().take(n - 1).enumerate() {
                    self.a.emit(Insn::store_imm(Size::B, R7, (off + i as i32) as i16, i32::from(b)));
                }
                Ok(StrLoc { base: R7, off })
            }
            TKind::Builtin(Builtin::Execname) => {
                let off = self.alloc(n);
                self.zero_scratch(off, n);
                self.a.emit(Insn::mov(R1, R7));
                self.a.emit(Insn::alu_imm(Alu::Add, R1, off));
                self.a.emit(Insn::mov_imm(R2, 16.min(n as i32)));
                self.a.emit(Insn::call(helper::GET_CURRENT_COMM));
                Ok(StrLoc { base: R7, off })
            }
            TKind::Var(VarRef::Global(i)) => Ok(StrLoc { base: R8, off: self.layout.globals[*i] as i32 }),
            TKind::Var(VarRef::Clause(i)) => Ok(StrLoc { base: R7, off: self.layout.clause_vars[*i] as i32 }),
            TKind::Var(VarRef::Thread(i)) => {
                self.thread_key(*i);
                self.a.emit_all(Insn::ld_map_fd(R1, self.thread_fd()));
                self.a.emit(Insn::mov(R2, R10));
                self.a.emit(Insn::alu_imm(Alu::Add, R2, i32::from(KEY)));
                self.a.emit(Insn::call(helper::MAP_LOOKUP_ELEM));
                Ok(self.string_from_lookup(n))
            }
            TKind::StrFn(f, args) if *f != StrFn::Index => self.str_fn(*f, args, e),
            TKind::Cond(c, t, f) => {
                let off = self.alloc(n);
                let other = self.a.label();
                let end = self.a.label();
                self.int(c)?;
                self.a.jmp_imm(Cond::Eq, R0, 0, other);
                let loc = self.string(t)?;
                self.copy(R7, off, loc, n);
                self.a.goto(end);
                self.a.bind(other);
                let loc = self.string(f)?;
                self.copy(R7, off, loc, n);
                self.a.bind(end);
                Ok(StrLoc { base: R7, off })
            }
            TKind::ArrayGet(array, keys) => {
                self.array_lookup(*array, keys)?;
                Ok(self.string_from_lookup(n))
            }
            TKind::Copyinstr(addr, len) => {
                let off = self.alloc(n);
                let slot = self.push()?;
                self.int(addr)?;
                self.a.emit(Insn::store(Size::DW, R10, slot, R0));
                match len {
                    Some(l) => {
                        self.int(l)?;
                        let ok = self.a.label();
                        let pos = self.a.label();
                        self.a.jmp_imm(Cond::Sge, R0, 0, pos);
                        self.a.emit(Insn::mov_imm(R0, 0));
                        self.a.bind(pos);
                        self.a.jmp_imm(Cond::Le, R0, (n - 1) as i32, ok);
                        self.a.emit(Insn::mov_imm(R0, (n - 1) as i32));
                        self.a.bind(ok);
                        self.zero_scratch(off, n);
                        self.a.emit(Insn::mov(R2, R0));
                        self.a.emit(Insn::mov(R1, R7));
                        self.a.emit(Insn::alu_imm(Alu::Add, R1, off));
                        self.a.emit(Insn::load(Size::DW, R3, R10, slot));
                        self.a.emit(Insn::call(helper::PROBE_READ_USER));
                    }
                    None => {
                        self.zero_scratch(off, n);
                        self.a.emit(Insn::mov(R1, R7));
                        self.a.emit(Insn::alu_imm(Alu::Add, R1, off));
                        self.a.emit(Insn::mov_imm(R2, n as i32));
                        self.a.emit(Insn::load(Size::DW, R3, R10, slot));
                        self.a.emit(Insn::call(helper::PROBE_READ_USER_STR));
                    }
                }
                self.check_fault(slot, off, n);
                self.pop();
                Ok(StrLoc { base: R7, off })
            }
            _ => self.err(e, "this string expression is not supported yet"),
        }
    }

    /// Evaluate an integer (or probe id) expression into r0.
    fn int(&mut self, e: &TExpr) -> Result<(), CodegenError> {
        match &e.kind {
            TKind::Int(v) => {
                if let Ok(imm) = i32::try_from(*v) {
                    self.a.emit(Insn::mov_imm(R0, imm));
                } else {
                    self.a.emit_all(Insn::ld_imm64(R0, *v as u64));
                }
            }
            TKind::Builtin(b) => self.builtin(*b, e)?,
            TKind::Var(VarRef::Global(i)) => self.a.emit(Insn::load(Size::DW, R0, R8, self.layout.globals[*i] as i16)),
            TKind::Var(VarRef::Clause(i)) => {
                self.a.emit(Insn::load(Size::DW, R0, R7, self.layout.clause_vars[*i] as i16))
            }
            TKind::Var(VarRef::Thread(i)) => {
                let done = self.a.label();
                self.thread_key(*i);
                self.a.emit_all(Insn::ld_map_fd(R1, self.thread_fd()));
                self.a.emit(Insn::mov(R2, R10));
                self.a.emit(Insn::alu_imm(Alu::Add, R2, i32::from(KEY)));
                self.a.emit(Insn::call(helper::MAP_LOOKUP_ELEM));
                self.a.jmp_imm(Cond::Eq, R0, 0, done);
                self.a.emit(Insn::load(Size::DW, R0, R0, 0));
                self.a.bind(done);
            }
            TKind::StrFn(StrFn::Index, args) => self.index(args, e)?,
            TKind::Progenyof(p) => self.progenyof(p)?,
            TKind::Stack => self.stack_id(e)?,
            TKind::Speculation => self.speculation()?,
            TKind::ArrayGet(array, keys) => {
                let done = self.a.label();
                self.array_lookup(*array, keys)?;
                self.a.jmp_imm(Cond::Eq, R0, 0, done);
                self.a.emit(Insn::load(Size::DW, R0, R0, 0));
                self.a.bind(done);
            }
            TKind::Unary(op, x) => {
                self.int(x)?;
                match op {
                    UnaryOp::Neg => {
                        self.a.emit(Insn::mov_imm(R1, 0));
                        self.a.emit(Insn::alu(Alu::Sub, R1, R0));
                        self.a.emit(Insn::mov(R0, R1));
                    }
                    UnaryOp::BitNot => self.a.emit(Insn::alu_imm(Alu::Xor, R0, -1)),
                    UnaryOp::Not => self.bool_of(Cond::Eq),
                    _ => return self.err(e, "unsupported operator"),
                }
            }
            TKind::Cast(x) => {
                self.int(x)?;
                if let Ty::Int { size, signed } = e.ty {
                    if size < 8 {
                        let bits = 64 - 8 * i32::from(size);
                        self.a.emit(Insn::alu_imm(Alu::Lsh, R0, bits));
                        self.a.emit(Insn::alu_imm(if signed { Alu::Arsh } else { Alu::Rsh }, R0, bits));
                    }
                }
            }
            TKind::Binary(op, l, r) => self.binary(*op, l, r)?,
            TKind::Cond(c, t, f) => {
                let other = self.a.label();
                let end = self.a.label();
                self.int(c)?;
                self.a.jmp_imm(Cond::Eq, R0, 0, other);
                self.int(t)?;
                self.a.goto(end);
                self.a.bind(other);
                self.int(f)?;
                self.a.bind(end);
            }
            TKind::ProbeIs { field, text, negate } => {
                let yes = self.a.label();
                let end = self.a.label();
                let ids: Vec<u64> =
                    self.spec.ids.iter().copied().filter(|id| self.names.field(*id, *field) == *text).collect();
                if ids.is_empty() {
                    // No probe of this program has that name: a constant
                    // (the verifier refuses the unreachable branch).
                    self.a.emit(Insn::mov_imm(R0, i32::from(*negate)));
                    return Ok(());
                }
                for id in ids {
                    self.jmp_id(Cond::Eq, id, yes);
                }
                self.a.emit(Insn::mov_imm(R0, i32::from(*negate)));
                self.a.goto(end);
                self.a.bind(yes);
                self.a.emit(Insn::mov_imm(R0, i32::from(!*negate)));
                self.a.bind(end);
            }
            TKind::StrCmp(op, l, r) => {
                let lo = self.string(l)?;
                let ro = self.string(r)?;
                let differ = self.a.label();
                let same = self.a.label();
                let end = self.a.label();
                for i in 0..self.layout.strsize as i32 {
                    self.a.emit(Insn::load(Size::B, R1, lo.base, (lo.off + i) as i16));
                    self.a.emit(Insn::load(Size::B, R2, ro.base, (ro.off + i) as i16));
                    self.a.jmp_reg(Cond::Ne, R1, R2, differ);
                    self.a.jmp_imm(Cond::Eq, R1, 0, same);
                }
                self.a.goto(same);
                self.a.bind(differ);
                self.a.emit(Insn::mov_imm(R0, i32::from(*op == BinOp::Ne)));
                self.a.goto(end);
                self.a.bind(same);
                self.a.emit(Insn::mov_imm(R0, i32::from(*op == BinOp::Eq)));
                self.a.bind(end);
            }
            TKind::Strlen(s) => {
                let loc = self.string(s)?;
                let end = self.a.label();
                let n = self.layout.strsize as i32;
                for i in 0..n {
                    self.a.emit(Insn::load(Size::B, R1, loc.base, (loc.off + i) as i16));
                    self.a.emit(Insn::mov_imm(R0, i));
                    self.a.jmp_imm(Cond::Eq, R1, 0, end);
                }
                self.a.emit(Insn::mov_imm(R0, n));
                self.a.bind(end);
            }
            TKind::Str(_) | TKind::Copyinstr(..) | TKind::StrFn(..) => {
                return self.err(e, "a string where an integer is needed")
            }
        }
        Ok(())
    }

    /// r0 = (r0 cond 0).
    fn bool_of(&mut self, cond: Cond) {
        let t = self.a.label();
        let end = self.a.label();
        self.a.jmp_imm(cond, R0, 0, t);
        self.a.emit(Insn::mov_imm(R0, 0));
        self.a.goto(end);
        self.a.bind(t);
        self.a.emit(Insn::mov_imm(R0, 1));
        self.a.bind(end);
    }

    fn binary(&mut self, op: BinOp, l: &TExpr, r: &TExpr) -> Result<(), CodegenError> {
        if matches!(op, BinOp::LogAnd | BinOp::LogOr) {
            let end = self.a.label();
            self.int(l)?;
            self.bool_of(Cond::Ne);
            self.a.jmp_imm(if op == BinOp::LogAnd { Cond::Eq } else { Cond::Ne }, R0, 0, end);
            self.int(r)?;
            self.bool_of(Cond::Ne);
            self.a.bind(end);
            return Ok(());
        }
        let slot = self.push()?;
        self.int(l)?;
        self.a.emit(Insn::store(Size::DW, R10, slot, R0));
        self.int(r)?;
        self.a.emit(Insn::mov(R1, R0));
        self.a.emit(Insn::load(Size::DW, R0, R10, slot));
        self.pop();
        let signed = matches!(l.ty, Ty::Int { signed: true, .. }) && matches!(r.ty, Ty::Int { signed: true, .. });
        let alu = |op| Insn::alu(op, R0, R1);
        match op {
            BinOp::Add => self.a.emit(alu(Alu::Add)),
            BinOp::Sub => self.a.emit(alu(Alu::Sub)),
            BinOp::Mul => self.a.emit(alu(Alu::Mul)),
            BinOp::Div | BinOp::Mod => {
                let a = if op == BinOp::Div { Alu::Div } else { Alu::Mod };
                self.check_divisor()?;
                self.a.emit(if signed { Insn::alu_signed(a, R0, R1) } else { alu(a) });
            }
            BinOp::BitAnd => self.a.emit(alu(Alu::And)),
            BinOp::BitOr => self.a.emit(alu(Alu::Or)),
            BinOp::BitXor => self.a.emit(alu(Alu::Xor)),
            BinOp::Shl => self.a.emit(alu(Alu::Lsh)),
            BinOp::Shr => self.a.emit(alu(if signed { Alu::Arsh } else { Alu::Rsh })),
            BinOp::LogXor => {
                self.bool_of(Cond::Ne);
                self.a.emit(Insn::mov(R2, R0));
                self.a.emit(Insn::mov(R0, R1));
                self.bool_of(Cond::Ne);
                self.a.emit(Insn::alu(Alu::Xor, R0, R2));
            }
            BinOp::Eq | BinOp::Ne | BinOp::Lt | BinOp::Le | BinOp::Gt | BinOp::Ge => {
                let cond = match (op, signed) {
                    (BinOp::Eq, _) => Cond::Eq,
                    (BinOp::Ne, _) => Cond::Ne,
                    (BinOp::Lt, true) => Cond::Slt,
                    (BinOp::Lt, false) => Cond::Lt,
                    (BinOp::Le, true) => Cond::Sle,
                    (BinOp::Le, false) => Cond::Le,
                    (BinOp::Gt, true) => Cond::Sgt,
                    (BinOp::Gt, false) => Cond::Gt,
                    (_, true) => Cond::Sge,
                    (_, false) => Cond::Ge,
                };
                let t = self.a.label();
                let end = self.a.label();
                self.a.jmp_reg(cond, R0, R1, t);
                self.a.emit(Insn::mov_imm(R0, 0));
                self.a.goto(end);
                self.a.bind(t);
                self.a.emit(Insn::mov_imm(R0, 1));
                self.a.bind(end);
            }
            BinOp::LogAnd | BinOp::LogOr => unreachable!("handled above"),
        }
        Ok(())
    }

    fn builtin(&mut self, b: Builtin, e: &TExpr) -> Result<(), CodegenError> {
        match b {
            Builtin::Pid => {
                self.a.emit(Insn::call(helper::GET_CURRENT_PID_TGID));
                self.a.emit(Insn::alu_imm(Alu::Rsh, R0, 32));
            }
            Builtin::Tid => {
                self.a.emit(Insn::call(helper::GET_CURRENT_PID_TGID));
                self.a.emit(Insn::alu_imm(Alu::Lsh, R0, 32));
                self.a.emit(Insn::alu_imm(Alu::Rsh, R0, 32));
            }
            Builtin::Uid | Builtin::Gid => {
                self.a.emit(Insn::call(helper::GET_CURRENT_UID_GID));
                if b == Builtin::Uid {
                    self.a.emit(Insn::alu_imm(Alu::Lsh, R0, 32));
                }
                self.a.emit(Insn::alu_imm(Alu::Rsh, R0, 32));
            }
            Builtin::Timestamp => self.a.emit(Insn::call(helper::KTIME_GET_NS)),
            Builtin::Walltimestamp => {
                self.a.emit(Insn::call(helper::KTIME_GET_NS));
                self.a.emit_all(Insn::ld_imm64(R1, self.layout.wall_offset));
                self.a.emit(Insn::alu(Alu::Add, R0, R1));
            }
            Builtin::Vtimestamp => self.vtimestamp()?,
            Builtin::Cpu => self.a.emit(Insn::call(helper::GET_SMP_PROCESSOR_ID)),
            Builtin::Ppid => self.ppid()?,
            Builtin::Curthread => self.a.emit(Insn::call(helper::GET_CURRENT_TASK)),
            Builtin::Probe(_) | Builtin::Id => self.a.emit(Insn::mov(R0, R9)),
            Builtin::Execname => return self.err(e, "execname is a string"),
            Builtin::Arg(n) => self.arg(n)?,
            Builtin::Errno => match self.spec.context {
                Context::SyscallReturn { .. } => {
                    let end = self.a.label();
                    self.a.emit(Insn::load(Size::DW, R1, R6, 8));
                    self.a.emit(Insn::mov_imm(R0, 0));
                    self.a.jmp_imm(Cond::Sge, R1, 0, end);
                    self.a.emit(Insn::alu(Alu::Sub, R0, R1));
                    self.a.bind(end);
                }
                _ => self.a.emit(Insn::mov_imm(R0, 0)),
            },
        }
        Ok(())
    }

    /// `r0 = vtimestamp`: the thread's on-CPU total plus the time since it
    /// was last switched in. A thread not seen before starts its account
    /// here, at 0.
    fn vtimestamp(&mut self) -> Result<(), CodegenError> {
        let fd = self.maps.vtime.ok_or_else(|| CodegenError("internal error: vtimestamp without its map".into()))?;
        let since = self.push()?;
        let total = self.push()?;
        debug_assert_eq!(total + 8, since);
        self.a.emit(Insn::call(helper::KTIME_GET_NS));
        self.a.emit(Insn::store(Size::DW, R10, since, R0));
        self.a.emit(Insn::call(helper::GET_CURRENT_PID_TGID));
        self.a.emit(Insn::store(Size::W, R10, KEY, R0));
        self.a.emit_all(Insn::ld_map_fd(R1, fd));
        self.a.emit(Insn::mov(R2, R10));
        self.a.emit(Insn::alu_imm(Alu::Add, R2, i32::from(KEY)));
        self.a.emit(Insn::call(helper::MAP_LOOKUP_ELEM));
        let found = self.a.label();
        let done = self.a.label();
        self.a.jmp_imm(Cond::Ne, R0, 0, found);
        // First sight: {total 0, since now}.
        self.a.emit(Insn::store_imm(Size::DW, R10, total, 0));
        self.a.emit_all(Insn::ld_map_fd(R1, fd));
        self.a.emit(Insn::mov(R2, R10));
        self.a.emit(Insn::alu_imm(Alu::Add, R2, i32::from(KEY)));
        self.a.emit(Insn::mov(R3, R10));
        self.a.emit(Insn::alu_imm(Alu::Add, R3, i32::from(total)));
        self.a.emit(Insn::mov_imm(R4, 1)); // BPF_NOEXIST
        self.a.emit(Insn::call(helper::MAP_UPDATE_ELEM));
        self.a.emit(Insn::mov_imm(R0, 0));
        self.a.goto(done);
        self.a.bind(found);
        self.a.emit(Insn::load(Size::DW, R1, R10, since));
        self.a.emit(Insn::load(Size::DW, R2, R0, 8));
        let on_cpu = self.a.label();
        self.a.jmp_imm(Cond::Ne, R2, 0, on_cpu);
        // Running, but its switch-in was not seen: count from now.
        self.a.emit(Insn::store(Size::DW, R0, 8, R1));
        self.a.emit(Insn::mov(R2, R1));
        self.a.bind(on_cpu);
        self.a.emit(Insn::alu(Alu::Sub, R1, R2));
        self.a.emit(Insn::load(Size::DW, R0, R0, 0));
        self.a.emit(Insn::alu(Alu::Add, R0, R1));
        self.a.bind(done);
        self.pop();
        self.pop();
        Ok(())
    }

    fn arg(&mut self, n: u8) -> Result<(), CodegenError> {
        if let Some(faulted) = self.in_error {
            // ERROR: arg1 the probe, arg2 the clause, arg4 the fault type,
            // arg5 the address.
            match n {
                1 => self.a.emit(Insn::load(Size::DW, R0, R10, ERR_PROBE)),
                2 => self.a.emit(Insn::mov_imm(R0, faulted as i32)),
                4 => self.a.emit(Insn::load(Size::DW, R0, R10, ERR_KIND)),
                5 => self.a.emit(Insn::load(Size::DW, R0, R10, ERR_ADDR)),
                _ => self.a.emit(Insn::mov_imm(R0, 0)),
            }
            return Ok(());
        }
        match &self.spec.context {
            Context::Timer(_) if n < 2 => {
                // bpf_perf_event_data: pt_regs first; ip at 128, cs at 136.
                // arg0 is the PC in the kernel, arg1 the PC in user space.
                let other = self.a.label();
                let end = self.a.label();
                self.a.emit(Insn::load(Size::DW, R1, R6, 136));
                self.a.emit(Insn::alu_imm(Alu::And, R1, 3));
                self.a.jmp_imm(if n == 0 { Cond::Ne } else { Cond::Eq }, R1, 3, other);
                self.a.emit(Insn::mov_imm(R0, 0));
                self.a.goto(end);
                self.a.bind(other);
                self.a.emit(Insn::load(Size::DW, R0, R6, 128));
                self.a.bind(end);
            }
            Context::Proc(_, ProcProbe::Exit) if n == 0 => {
                // DTrace's reason: CLD_EXITED (1), CLD_KILLED (2) or
                // CLD_DUMPED (3), from the task's wait status.
                let task = self.task_offsets()?;
                self.a.emit(Insn::load(Size::DW, R3, R6, 0));
                self.read_kernel(R3, task.exit_code as i32, 4);
                let signalled = self.a.label();
                let end = self.a.label();
                self.a.emit(Insn::mov(R1, R0));
                self.a.emit(Insn::alu_imm(Alu::And, R1, 0x7f));
                self.a.jmp_imm(Cond::Ne, R1, 0, signalled);
                self.a.emit(Insn::mov_imm(R0, 1));
                self.a.goto(end);
                self.a.bind(signalled);
                self.a.emit(Insn::alu_imm(Alu::Rsh, R0, 7));
                self.a.emit(Insn::alu_imm(Alu::And, R0, 1));
                self.a.emit(Insn::alu_imm(Alu::Add, R0, 2));
                self.a.bind(end);
            }
            Context::Proc(_, ProcProbe::Create) if n == 0 => {
                let task = self.task_offsets()?;
                self.a.emit(Insn::load(Size::DW, R3, R6, 8));
                self.read_kernel(R3, task.tgid as i32, 4);
            }
            Context::Usdt(plans) => match plans.get(usize::from(n)).copied() {
                Some(p) => self.usdt_arg(p),
                None => self.a.emit(Insn::mov_imm(R0, 0)),
            },
            Context::SyscallEntry { .. } => {
                // x86-64 syscall arguments in pt_regs: di si dx r10 r8 r9.
                const OFFS: [i32; 6] = [112, 104, 96, 56, 72, 64];
                match OFFS.get(usize::from(n)) {
                    Some(off) => self.read_kernel_regs(*off),
                    None => self.a.emit(Insn::mov_imm(R0, 0)),
                }
            }
            Context::SyscallReturn { .. } if n < 2 => self.a.emit(Insn::load(Size::DW, R0, R6, 8)),
            _ => self.a.emit(Insn::mov_imm(R0, 0)),
        }
        Ok(())
    }

    fn usdt_arg(&mut self, p: ArgPlan) {
        crate::bpf::usdt::emit_fetch(&mut self.a, &p, R6, R0, (R10, READ_BUF));
    }
}

/// One more than the highest syscall number this build knows.
pub fn syscall_count() -> usize {
    super::syscalls::count()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::d::diag::Source;
    use crate::d::probes::{plan, ProbeTable};
    use crate::d::sema::{check, Macros};

    /// The program of every spec for `src`, with placeholder maps.
    fn programs(src: &str) -> Vec<Vec<Insn>> {
        let source = Source::new("t.d", src);
        let ast = crate::d::parse(&source).expect("parses");
        let ir = check(&ast, &Macros::default()).expect("checks");
        let p = plan(&ir, crate::d::probes::ArgCatalog::default(), None, false).expect("plans");
        let layout = Layout::new(&ir, 64);
        let maps = MapFds {
            ringbuf: 1,
            counters: 2,
            scratch: 3,
            globals: Some(4),
            thread: Some(5),
            arrays: vec![6; ir.arrays.len()],
            aggs: vec![7; ir.aggs.len()],
            stacks: Some(8),
            speculations: Some(9),
            active_speculations: Some(11),
            vtime: Some(10),
        };
        let table: &ProbeTable = &p.table;
        p.specs().iter().map(|s| generate(&ir, &layout, &maps, s, table).expect("generates").0).collect()
    }

    #[test]
    fn globals_past_what_an_offset_addresses_are_refused_not_aliased() {
        // Regression: with 4,097 8-byte globals, v4096 sat at offset 32,768,
        // which wrapped; at 8,193, v8192 shared offset 0 with v0.
        let many = |n: usize| {
            let body: String = (0..n).map(|i| format!("v{i} = {i}; ")).collect();
            format!("BEGIN {{ {body} }}")
        };
        let source = Source::new("t.d", many(4097));
        let ast = crate::d::parse(&source).expect("parses");
        let ir = check(&ast, &Macros::default()).expect("checks");
        let p = plan(&ir, crate::d::probes::ArgCatalog::default(), None, false).expect("plans");
        let layout = Layout::new(&ir, 64);
        let e = generate(&ir, &layout, &MapFds::numbered(&ir), p.specs()[0], &p.table).unwrap_err();
        assert!(e.0.contains("global variables take 32776 bytes, more than the 32768"), "{}", e.0);
        assert_eq!(programs(&many(4096)).len(), 1);
    }

    #[test]
    fn a_program_over_the_kernels_64_maps_is_refused_before_the_kernel_sees_it() {
        // Regression: the verifier's refusal was reported as a compiler bug.
        let many = |n: usize| {
            let body: String = (0..n).map(|i| format!("@a{i} = count(); ")).collect();
            format!("BEGIN {{ {body} }}")
        };
        let source = Source::new("t.d", many(70));
        let ast = crate::d::parse(&source).expect("parses");
        let ir = check(&ast, &Macros::default()).expect("checks");
        let p = plan(&ir, crate::d::probes::ArgCatalog::default(), None, false).expect("plans");
        let layout = Layout::new(&ir, 64);
        let e = generate(&ir, &layout, &MapFds::numbered(&ir), p.specs()[0], &p.table).unwrap_err();
        // 70 aggregations, the ring buffer, the counters, the scratch area.
        assert!(e.0.contains("one program would use 72 maps") && e.0.contains("more than the 64"), "{}", e.0);
        let source = Source::new("t.d", many(60));
        let ir = check(&crate::d::parse(&source).unwrap(), &Macros::default()).unwrap();
        let p = plan(&ir, crate::d::probes::ArgCatalog::default(), None, false).unwrap();
        let layout = Layout::new(&ir, 64);
        assert!(generate(&ir, &layout, &MapFds::numbered(&ir), p.specs()[0], &p.table).is_ok());
    }

    /// Instructions no path from the first one (or from a subprogram
    /// whose address is taken) reaches; the verifier rejects a program
    /// with any.
    fn unreachable(insns: &[Insn]) -> Vec<usize> {
        let mut seen = vec![false; insns.len()];
        let mut todo = vec![0usize];
        while let Some(i) = todo.pop() {
            if i >= insns.len() || seen[i] {
                continue;
            }
            seen[i] = true;
            let code = insns[i].code;
            let next = if code == 0x18 { i + 2 } else { i + 1 };
            if code & 0x07 == 0x05 {
                match code & 0xf0 {
                    0x90 => continue,
                    0x80 => todo.push(next),
                    op => {
                        todo.push((i as i64 + 1 + i64::from(insns[i].off)) as usize);
                        if op != 0x00 {
                            todo.push(next);
                        }
                    }
                }
            } else {
                if code == 0x18 {
                    seen[i + 1] = true;
                    if insns[i].regs >> 4 == 4 {
                        // A subprogram's address: it runs from there.
                        todo.push((i as i64 + 1 + i64::from(insns[i].imm)) as usize);
                    }
                }
                todo.push(next);
            }
        }
        (0..insns.len()).filter(|i| !seen[*i]).collect()
    }

    #[test]
    fn an_error_block_is_emitted_only_for_clauses_that_can_fault() {
        // Regression: the second BEGIN clause cannot fault, and its ERROR
        // block was dead code, which the verifier refuses.
        for insns in programs("BEGIN { s = copyinstr(16); } BEGIN { x = 1; } ERROR { y = arg5; }") {
            assert_eq!(unreachable(&insns), Vec::<usize>::new());
        }
    }

    #[test]
    fn search_and_path_callbacks_follow_the_main_program() {
        let progs = programs("BEGIN { x = index(\"abc\", \"c\"); s = basename(\"/a/b\"); t = strstr(\"ab\", \"b\"); }");
        let p = &progs[0];
        let starts = crate::kernel::sys::subprogram_starts(p);
        assert_eq!(starts.len(), 3, "one callback per search or scan");
        let main_exit = p.iter().position(|i| *i == Insn::exit()).unwrap();
        // The main program's last exit comes before the first callback, and
        // no jump of the main program reaches into a callback.
        let first = starts[0] as usize;
        assert!(p[first - 1] == Insn::exit() && main_exit < first);
        for (at, insn) in p[..first].iter().enumerate() {
            if insn.code & 0x07 == 0x05 && insn.code & 0xf0 != 0x80 && insn.code & 0xf0 != 0x90 {
                let target = at as i64 + 1 + i64::from(insn.off);
                assert!((target as usize) < first, "jump at {at} leaves the main program");
            }
        }
        assert!(unreachable(p).is_empty(), "{:?}", unreachable(p));
    }

    #[test]
    fn a_fault_jumps_to_the_error_clauses() {
        let with = programs("BEGIN { s = copyinstr(16); } ERROR { y = arg5; }");
        let without = programs("BEGIN { s = copyinstr(16); }");
        // The ERROR probe's id is loaded into r9 only when there are ERROR clauses.
        let loads_r9 = |p: &[Insn]| p.iter().filter(|i| i.code == 0x18 && i.regs & 0x0f == 9).count();
        assert_eq!(loads_r9(&with[0]), 2, "the BEGIN id, then the ERROR id");
        assert_eq!(loads_r9(&without[0]), 1);
    }
}
