//! The checked program ([`Ir`]) that code generation walks: types, typed
//! expressions and statements, variables, aggregations (with the bucket
//! math of `quantize`, `lquantize` and `llquantize`), the `printa`
//! actions, and what the checker is told ([`Macros`], [`ClauseArgs`]).

use super::*;

/// A value's type after checking.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Ty {
    /// An integer of `size` bytes; arithmetic happens in 64 bits.
    Int {
        /// Bytes: 1, 2, 4 or 8.
        size: u8,
        /// Signed.
        signed: bool,
    },
    /// A string of at most `strsize` bytes.
    Str,
    /// A field of the probe that fired (a string to the user).
    Probe(ProbeField),
    /// A probe argument declared `f32` or `f64` (its bits, in the low
    /// `size` bytes): it can be printed with `%f` or `trace`d, nothing else.
    Float {
        /// 4 or 8.
        size: u8,
    },
    /// An address shown as a symbol: `sym()`/`func()`/`mod()` (kernel) or
    /// `usym()`/`ufunc()`/`umod()`/`uaddr()` (user). It is the address in
    /// the kernel (a user one with the firing process's id in a second
    /// word); the consumer prints the symbol, and entries of an aggregation
    /// keyed by it that print the same are one.
    Sym {
        /// A user address.
        user: bool,
        /// How it prints.
        form: SymForm,
    },
    /// A stack trace: `stack()` (kernel) or `ustack([frames])` (user). In
    /// the kernel it is the id in the stack-trace map (and, for a user
    /// stack, the process id in the upper 32 bits); the consumer prints
    /// its frames.
    Stack {
        /// A user stack (`ustack`).
        user: bool,
        /// At most this many frames are printed.
        frames: u16,
    },
}

impl Ty {
    /// `int64_t`, the type of most built-ins and literals.
    pub const I64: Ty = Ty::Int { size: 8, signed: true };
    /// `uint64_t`.
    pub const U64: Ty = Ty::Int { size: 8, signed: false };
    /// Whether values of this type are strings to the user.
    pub fn is_stringy(self) -> bool {
        matches!(self, Ty::Str | Ty::Probe(_) | Ty::Sym { .. })
    }
    /// Whether aggregation keys of this type and of `other` print alike,
    /// so that `printa` can match keys of two aggregations up: integers of
    /// any width, strings and probe names, floats of one size, stacks of
    /// one kind and depth.
    pub fn keys_alike(self, other: Ty) -> bool {
        match (self, other) {
            (Ty::Int { .. }, Ty::Int { .. }) => true,
            (Ty::Float { .. }, Ty::Float { .. }) | (Ty::Stack { .. }, Ty::Stack { .. }) => self == other,
            _ => self.is_stringy() && other.is_stringy(),
        }
    }
    pub(super) fn name(self) -> &'static str {
        match self {
            Ty::Int { .. } => "integer",
            Ty::Str => "string",
            Ty::Probe(_) => "string (probe name)",
            Ty::Stack { .. } => "stack",
            Ty::Float { .. } => "float",
            Ty::Sym { .. } => "symbol",
        }
    }
}

/// The four parts of a probe's name.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum ProbeField {
    /// `probeprov`.
    Provider,
    /// `probemod`.
    Module,
    /// `probefunc`.
    Function,
    /// `probename`.
    Name,
    /// `probefunc:probename`, as dtrace(1)'s probe lines show it.
    FunctionName,
}

/// Built-in variables.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Builtin {
    /// Process id.
    Pid,
    /// Thread id.
    Tid,
    /// User id.
    Uid,
    /// Group id.
    Gid,
    /// Monotonic nanoseconds.
    Timestamp,
    /// Nanoseconds since the epoch.
    Walltimestamp,
    /// Nanoseconds the thread has spent on a CPU, counted from the first
    /// time this run saw it (differences are exact).
    Vtimestamp,
    /// The CPU.
    Cpu,
    /// The thread's command name.
    Execname,
    /// `argN` (and `args[N]`).
    Arg(u8),
    /// The error of a syscall return probe, else 0.
    Errno,
    /// A part of the probe's name.
    Probe(ProbeField),
    /// The parent's process id (`real_parent->tgid`, from BTF offsets).
    Ppid,
    /// The current thread's `task_struct` address.
    Curthread,
    /// The probe's id (`id`), as `-l` lists it.
    Id,
    /// `rand()`: a pseudo-random 32-bit number (`bpf_get_prandom_u32`).
    Rand,
    /// `curpsinfo->pr_psargs`: the process's arguments, as `ps -o args`
    /// shows them (from `mm->arg_start`, NULs between them made spaces).
    Psargs,
    /// `curlwpsinfo->pr_pri`: the thread's priority (`task_struct.prio`).
    Prio,
    /// `ucaller`: the user address the traced function was called from
    /// (pid provider probes).
    Ucaller,
    /// `ustackdepth`: how many frames `ustack()` has here (at most 127).
    UstackDepth,
    /// A member of the thread or process a probe's arguments describe
    /// (`args[1]->pr_pid` in `proc:::signal-send`: the receiver).
    Other(TaskField),
}

/// What [`Builtin::Other`] reads of the task a probe names.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum TaskField {
    /// `pr_pid`: its process id.
    Pid,
    /// `pr_lwpid`: its thread id.
    Tid,
    /// `pr_ppid`: its parent's process id.
    Ppid,
    /// `pr_fname`: its command name.
    Fname,
}

/// Where a variable lives.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum VarRef {
    /// A global: index into [`Ir::globals`].
    Global(usize),
    /// A thread-local: index into [`Ir::thread_vars`].
    Thread(usize),
    /// A clause-local: index into [`Ir::clause_vars`].
    Clause(usize),
}

/// A declared or inferred variable.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Var {
    /// Its name.
    pub name: String,
    /// Its type.
    pub ty: Ty,
}

/// An associative array: a global `a[k1, k2]` or a thread-local
/// `self->a[k]`, kept in a BPF hash map of its own.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Array {
    /// Its name.
    pub name: String,
    /// Whether it is thread-local (`self->a[k]`): the key then starts with
    /// the thread's id.
    pub thread: bool,
    /// The types of its keys, in order.
    pub keys: Vec<Ty>,
    /// The type of its values.
    pub value: Ty,
}

/// The kernel's types, for member paths from `curthread`
/// (`curthread->real_parent->tgid`): the code that knows the running
/// kernel's BTF answers.
pub trait KernelTypes {
    /// What the path `steps` (`(arrow, member)`, `arrow` for `->`) from
    /// `curthread`, a `struct task_struct *`, reads, or why it cannot.
    fn task_path(&self, steps: &[(bool, String)]) -> Result<KernelPath, String>;
}

/// [`KernelTypes`] where none are known: every path is an error.
#[derive(Debug, Clone, Copy, Default)]
pub struct NoKernelTypes;

impl KernelTypes for NoKernelTypes {
    fn task_path(&self, _: &[(bool, String)]) -> Result<KernelPath, String> {
        Err("struct members of curthread need the kernel's BTF, which was not read here".into())
    }
}

/// A member path's reads: pointers at `derefs` in turn, then the value at
/// `offset` — an integer of `size` bytes, or a string of at most
/// `string_len` bytes.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct KernelPath {
    /// Offsets of the pointers read in turn from `curthread`.
    pub derefs: Vec<u32>,
    /// Offset of the value from the last pointer.
    pub offset: u32,
    /// Bytes of an integer value.
    pub size: u8,
    /// Whether the integer is signed.
    pub signed: bool,
    /// A `char` array's length: the value is a string.
    pub string_len: Option<u32>,
}

/// How a [`Ty::Sym`] prints.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum SymForm {
    /// `module`symbol+0xoff` (`uaddr`).
    Addr,
    /// `module`symbol` (`sym`, `usym`, `func`, `ufunc`).
    Symbol,
    /// `module` (`mod`, `umod`).
    Module,
}

/// Aggregating functions.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum AggFunc {
    /// `count()`.
    Count,
    /// `sum(x)`.
    Sum,
    /// `avg(x)`.
    Avg,
    /// `min(x)`.
    Min,
    /// `max(x)`.
    Max,
    /// `quantize(x)`: counts in power-of-two buckets. The aggregation's
    /// last kernel key is the bucket (see [`quantize_bucket`]).
    Quantize,
    /// `lquantize(x, lo, hi, step)`: counts in linear buckets; the last
    /// kernel key is 0 below `lo`, `1 + (x - lo) / step` inside, and
    /// `1 + (hi - lo) / step` at or above `hi`.
    Lquantize {
        /// The lowest value of the first bucket.
        lo: i64,
        /// The first value of the overflow bucket.
        hi: i64,
        /// The width of a bucket.
        step: i64,
    },
    /// `llquantize(x, factor, low, high, nsteps)`: counts in log-linear
    /// buckets; the last kernel key is 0 below `factor^low`, then the
    /// buckets of [`llquantize_bounds`] from 1, then one at or above
    /// `factor^(high + 1)`.
    Llquantize {
        /// The base of the magnitudes.
        factor: i64,
        /// The lowest magnitude.
        low: u32,
        /// The highest magnitude.
        high: u32,
        /// Buckets per magnitude (those below `factor^m` left out).
        nsteps: i64,
    },
    /// `stddev(x)`: the standard deviation, kept as the sum, the count and
    /// the 128-bit sum of squares.
    Stddev,
}

/// How many in-range buckets [`llquantize_bounds`] gives, computed without
/// listing them.
pub fn llquantize_count(factor: i64, low: u32, high: u32, nsteps: i64) -> i64 {
    let mut n = 0i64;
    for m in low..=high {
        let (Some(from), Some(to)) = (factor.checked_pow(m), factor.checked_pow(m + 1)) else { break };
        let step = (to / nsteps).max(1);
        n = n.saturating_add((to - from - 1) / step + 1);
    }
    n
}

/// The lowest value of each in-range `llquantize` bucket, in order: for
/// each magnitude `m` from `low` to `high`, from `factor^m` up to
/// `factor^(m+1)` in steps of `factor^(m+1) / nsteps`.
pub fn llquantize_bounds(factor: i64, low: u32, high: u32, nsteps: i64) -> Vec<i64> {
    let mut out = Vec::new();
    for m in low..=high {
        let (Some(from), Some(to)) = (factor.checked_pow(m), factor.checked_pow(m + 1)) else { break };
        let step = (to / nsteps).max(1);
        let mut v = from;
        while v < to {
            out.push(v);
            let Some(next) = v.checked_add(step) else { break };
            v = next;
        }
    }
    out
}

impl AggFunc {
    /// The function's D name (`count`, `lquantize`, …).
    pub fn name(self) -> &'static str {
        match self {
            AggFunc::Count => "count",
            AggFunc::Sum => "sum",
            AggFunc::Avg => "avg",
            AggFunc::Min => "min",
            AggFunc::Max => "max",
            AggFunc::Quantize => "quantize",
            AggFunc::Lquantize { .. } => "lquantize",
            AggFunc::Llquantize { .. } => "llquantize",
            AggFunc::Stddev => "stddev",
        }
    }

    /// Whether the function keeps a histogram (its last key is a bucket).
    pub fn is_histogram(self) -> bool {
        matches!(self, AggFunc::Quantize | AggFunc::Lquantize { .. } | AggFunc::Llquantize { .. })
    }
}

/// The `quantize` bucket of `x`: 0 for 0, `k + 1` for `2^k <= x < 2^(k+1)`,
/// and the negation of the bucket of `-x` for negative `x`.
pub fn quantize_bucket(x: i64) -> i64 {
    if x == 0 {
        return 0;
    }
    let b = 64 - i64::from(x.unsigned_abs().leading_zeros());
    if x < 0 {
        -b
    } else {
        b
    }
}

/// The smallest value in `quantize` bucket `b`.
pub fn quantize_value(b: i64) -> i64 {
    match b {
        0 => 0,
        b if b > 0 => 1i64.checked_shl(b as u32 - 1).unwrap_or(i64::MAX),
        b => -(1i64.checked_shl((-b) as u32 - 1).unwrap_or(i64::MAX)),
    }
}

/// An aggregation.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Agg {
    /// Its name without `@` (empty for the anonymous one).
    pub name: String,
    /// The function every use applies.
    pub func: AggFunc,
    /// The types of its keys.
    pub keys: Vec<Ty>,
}

impl Agg {
    /// The types of the keys the program gives (a histogram's last kernel
    /// key is its bucket).
    pub fn printed_keys(&self) -> &[Ty] {
        if self.func.is_histogram() {
            &self.keys[..self.keys.len() - 1]
        } else {
            &self.keys
        }
    }
}

/// A `printa` action.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Printa {
    /// Index into [`Ir::formats`], if a format was given.
    pub format: Option<usize>,
    /// Indexes into [`Ir::aggs`]: one, or several whose keys have the same
    /// types ([`Ty::keys_alike`]), printed side by side: their values fill
    /// the format's `%@` conversions in order, one each.
    pub aggs: Vec<usize>,
}

/// A typed expression.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TExpr {
    /// What it computes.
    pub kind: TKind,
    /// Its type.
    pub ty: Ty,
    /// Where it was written.
    pub span: Span,
}

/// Typed expression kinds.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum TKind {
    /// An integer constant.
    Int(i64),
    /// A string constant.
    Str(String),
    /// A built-in variable.
    Builtin(Builtin),
    /// A variable.
    Var(VarRef),
    /// `-x`, `~x`, `!x`.
    Unary(UnaryOp, Box<TExpr>),
    /// A binary operator on integers (logical ones short-circuit).
    Binary(BinOp, Box<TExpr>, Box<TExpr>),
    /// `==`/`!=` (and `<` … on strings) of two strings.
    StrCmp(BinOp, Box<TExpr>, Box<TExpr>),
    /// A probe field compared with a literal: true for the probe ids whose
    /// field equals it (`probefunc == "read"`), filled in per program.
    ProbeIs {
        /// The field.
        field: ProbeField,
        /// The literal.
        text: String,
        /// `!=` rather than `==`.
        negate: bool,
    },
    /// `c ? a : b`.
    Cond(Box<TExpr>, Box<TExpr>, Box<TExpr>),
    /// A cast to an integer type (the target is the node's type).
    Cast(Box<TExpr>),
    /// `copyinstr(addr[, len])`.
    Copyinstr(Box<TExpr>, Option<Box<TExpr>>),
    /// `strlen(s)`.
    Strlen(Box<TExpr>),
    /// `usym(addr)` and its kin: the address, typed [`Ty::Sym`].
    Symbol(Box<TExpr>),
    /// `curthread->a->b`: kernel memory read along a member path.
    KernelPath(KernelPath),
    /// `a[keys]`: index into [`Ir::arrays`]; a missing key reads as 0 or "".
    ArrayGet(usize, Vec<TExpr>),
    /// A string function: `strjoin`, `basename`, `dirname`, `strstr`,
    /// `substr`, `lltostr` (string-valued) or `index` (integer-valued).
    StrFn(StrFn, Vec<TExpr>),
    /// `progenyof(pid)`: 1 when the current process descends from `pid`.
    Progenyof(Box<TExpr>),
    /// `stack()` or `ustack()`: the node's type says which.
    Stack,
    /// `speculation()`: a new speculation's id, or 0 when `nspec` are
    /// active.
    Speculation,
}

/// String functions.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum StrFn {
    /// `strjoin(a, b)`.
    Strjoin,
    /// `basename(s)`.
    Basename,
    /// `dirname(s)`.
    Dirname,
    /// `strstr(s, t)`: `s` from the first `t` on, or "".
    Strstr,
    /// `substr(s, i[, len])`.
    Substr,
    /// `index(s, t[, start])`: where `t` first occurs, or -1.
    Index,
    /// `lltostr(x)`: decimal text.
    Lltostr,
}

impl StrFn {
    pub(super) fn of(name: &str) -> Option<StrFn> {
        Some(match name {
            "strjoin" => StrFn::Strjoin,
            "basename" => StrFn::Basename,
            "dirname" => StrFn::Dirname,
            "strstr" => StrFn::Strstr,
            "substr" => StrFn::Substr,
            "index" => StrFn::Index,
            "lltostr" => StrFn::Lltostr,
            _ => return None,
        })
    }
    /// The argument types, required then optional (true = string).
    pub(super) fn params(self) -> (&'static [bool], &'static [bool]) {
        match self {
            StrFn::Strjoin | StrFn::Strstr => (&[true, true], &[]),
            StrFn::Basename | StrFn::Dirname => (&[true], &[]),
            StrFn::Substr => (&[true, false], &[false]),
            StrFn::Index => (&[true, true], &[false]),
            StrFn::Lltostr => (&[false], &[]),
        }
    }
}

/// An assignable place.
pub type LValue = VarRef;

/// A typed statement.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum IStmt {
    /// `place = value` (compound assignments and `++` are lowered to this).
    Assign(LValue, TExpr),
    /// `self->x = 0`: frees the thread-local.
    Free(LValue),
    /// `a[keys] = value`; storing 0 (or "") deletes the entry instead.
    ArraySet {
        /// Index into [`Ir::arrays`].
        array: usize,
        /// Key values.
        keys: Vec<TExpr>,
        /// The value.
        value: TExpr,
    },
    /// `@a[keys] = func(value)`.
    Aggregate {
        /// Index into [`Ir::aggs`].
        agg: usize,
        /// Key values.
        keys: Vec<TExpr>,
        /// The argument (`None` for `count()`).
        value: Option<TExpr>,
    },
    /// `printf(fmt, args)`, `trace(x)` (a format of its own).
    Printf {
        /// Index into [`Ir::formats`].
        format: usize,
        /// The values, in format order.
        args: Vec<TExpr>,
    },
    /// `printa([fmt,] @a, ...)`: an index into [`Ir::printas`].
    Printa(usize),
    /// `printevent()`: one event as `sdtrace trace` prints it (time, pid,
    /// tid, execname, the probe, and every argument by its name and
    /// type). The record's shape is the probe's, so it is laid out when
    /// the program of each probe is generated, not here: a probe that
    /// appears later (`-Z`) prints as well as one there at the start.
    Event,
    /// `clear(@a)`, `trunc(@a[, n])`.
    AggOp {
        /// Index into [`Ir::aggs`].
        agg: usize,
        /// `None` for clear; `Some(n)` to keep the top n (`trunc(@a)` is 0).
        trunc: Option<i64>,
    },
    /// `normalize(@a, n)` (values print divided by `n`) and
    /// `denormalize(@a)` (`n` is 1).
    Normalize {
        /// Index into [`Ir::aggs`].
        agg: usize,
        /// The divisor, evaluated when the action runs.
        by: TExpr,
    },
    /// `exit(status)`.
    Exit(TExpr),
    /// `raise(signal)` (and `stop()`, which raises SIGSTOP): the signal is
    /// sent to the process that fired (`bpf_send_signal`). Destructive.
    Raise(TExpr),
    /// `speculate(id)`: the clause's later records belong to speculation `id`.
    Speculate(TExpr),
    /// `commit(id)` (true) or `discard(id)` (false).
    EndSpeculation {
        /// Commit rather than discard.
        commit: bool,
        /// The speculation.
        id: TExpr,
    },
    /// `if`.
    If(TExpr, Vec<IStmt>, Vec<IStmt>),
    /// An expression evaluated for nothing (kept for its errors only).
    Nop,
}

/// A checked clause.
#[derive(Debug, Clone)]
pub struct IClause {
    /// Its descriptions, as parsed.
    pub descs: Vec<ast::ProbeDesc>,
    /// The predicate.
    pub predicate: Option<TExpr>,
    /// The body (the default action is a `printf` of the probe).
    pub body: Vec<IStmt>,
    /// Built-ins the clause reads (decides what a program must compute).
    pub uses_args: bool,
    /// Where it was written.
    pub span: Span,
}

/// The whole checked program.
#[derive(Debug, Clone, Default)]
pub struct Ir {
    /// Clauses in source order.
    pub clauses: Vec<IClause>,
    /// Global variables.
    pub globals: Vec<Var>,
    /// Thread-local variables.
    pub thread_vars: Vec<Var>,
    /// Clause-local variables.
    pub clause_vars: Vec<Var>,
    /// Associative arrays.
    pub arrays: Vec<Array>,
    /// Aggregations.
    pub aggs: Vec<Agg>,
    /// printf/printa formats (and the ones made for `trace`).
    pub formats: Vec<Format>,
    /// The `printa` actions.
    pub printas: Vec<Printa>,
    /// `#pragma D option` and `-x` options, in order.
    pub options: Vec<(String, Option<String>, Span)>,
    /// Whether any clause reads `probefunc` (USDT sites then need their
    /// enclosing functions looked up).
    pub uses_probefunc: bool,
    /// Whether any clause reads `task_struct` (`ppid`, `progenyof`): the
    /// runner then reads the kernel's BTF for its layout.
    pub uses_task: bool,
    /// Whether any clause takes a `stack()` or `ustack()` (the runner then
    /// makes a stack-trace map).
    pub uses_stacks: bool,
    /// Whether any clause uses speculations (the runner then makes their
    /// counter map).
    pub uses_speculation: bool,
    /// Whether any clause reads `vtimestamp` (the runner then counts
    /// on-CPU time per thread at every context switch).
    pub uses_vtime: bool,
    /// Whether any clause calls `printevent()` (USDT sites then read their
    /// arguments as their descriptions say, strings included).
    pub uses_events: bool,
}

/// Values the program refers to with `$`.
#[derive(Debug, Clone, Default)]
pub struct Macros {
    /// `$target`: the pid of `-c`/the first `-p`.
    pub target: Option<u32>,
    /// `$1`…: the script's arguments.
    pub args: Vec<String>,
    /// Quiet output (`-q`, `-x quiet`; `#pragma D option quiet` in the
    /// program counts too): without it, as in dtrace(1), each firing of a
    /// clause that records data prints a line naming the CPU and the probe,
    /// and `trace()` prints in columns.
    pub quiet: bool,
    /// `-F` (`-x flowindent`; `#pragma D option flowindent` counts too):
    /// probe lines show entries and returns indented by call depth.
    pub flowindent: bool,
    /// `-x defaultargs` (`#pragma D option defaultargs` counts too): a
    /// `$N` the script was not given is 0, a `$$N` "".
    pub defaultargs: bool,
    /// `-w` (`-x destructive`, `#pragma D option destructive`): destructive
    /// actions (`system`, `raise`, `stop`) are allowed.
    pub destructive: bool,
}

/// What the probes a clause names say of their arguments, for typed
/// `args[N]` and `args->name`.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub enum ClauseArgs {
    /// No USDT probe with a description (syscalls, timers, a probe without
    /// a metadata record): `args[N]` is `argN`, an integer.
    #[default]
    Unknown,
    /// Every USDT probe the clause names has this description: names and
    /// kinds in declaration order (a pointer+length kind takes two slots).
    Typed(Vec<(String, ArgKind)>),
    /// The clause's probes disagree; the text says which.
    Mixed(String),
    /// The clause names USDT probes but none is there yet (`-Z`, a
    /// provider the process loads later): `args[N]` is `argN`.
    NotYet,
}

/// The most frames a stack keeps (the kernel's default
/// `perf_event_max_stack`).
pub const MAX_FRAMES: u16 = 127;
