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

// One concept per submodule: `layout` (specs, maps, layout, limits),
// `context` (which probe fired, built-ins, arguments), `scratch` (stack,
// scratch, counters, records), `statements`, `expressions`,
// `aggregations` (and stacks, speculations), `faults` (runtime errors),
// `strings` (string functions and their `bpf_loop` callbacks), `vtime`.
mod aggregations;
mod context;
mod expressions;
mod faults;
mod layout;
mod scratch;
mod statements;
mod strings;
#[cfg(test)]
mod tests;
mod vtime;

pub use self::layout::*;
pub use self::vtime::*;

use self::strings::Callback;
use super::ast::{BinOp, UnaryOp};
use super::sema::{AggFunc, Builtin, IStmt, Ir, ProbeField, StrFn, TExpr, TKind, TaskField, Ty, VarRef};
use crate::bpf::asm::{Asm, Label};
use crate::bpf::insn::{helper, Alu, Cond, Insn, Reg, Size, R0, R1, R10, R2, R3, R4, R5, R6, R7, R8, R9};
use crate::bpf::usdt::ArgPlan;
use crate::kernel::btf::{ProcessOffsets, TaskOffsets};

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
    /// `printevent()`: an event laid out as [`crate::d::events`] says.
    pub const EVENT: u32 = 9;
    /// A process exec'd (the u64 pid): sdtrace looks in its objects for
    /// the USDT probes of a program without `-p` or `-c`.
    pub const EXECED: u32 = 10;
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
    if g.about_next() {
        g.next_thread_prologue()?;
    }
    // Clause-local variables start at zero in each firing (a clause may
    // read one before it is assigned), and the clauses of one firing share
    // them.
    if !ir.clause_vars.is_empty() {
        g.zero_scratch(SCRATCH_HEADER as i32, layout.temps - SCRATCH_HEADER);
    }
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
}

/// One more than the highest syscall number this build knows.
pub fn syscall_count() -> usize {
    super::syscalls::count()
}
