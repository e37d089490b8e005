//! The checker: names resolved, types inferred and checked, and the AST
//! lowered to a typed IR ([`Ir`]) that the code generator walks.
//!
//! Typing follows DTrace: integers are 64-bit in evaluation (narrower types
//! matter for casts and for how arguments are read), strings are values of
//! at most `strsize` bytes, and a variable takes the type of its first
//! assignment in program order unless it is declared. The probe-naming
//! built-ins (`probeprov`, `probemod`, `probefunc`, `probename`) are strings
//! to the user but a probe id in the kernel: the consumer turns the id into
//! text, and a comparison with a literal becomes a comparison of ids.
//!
//! Every error carries the span of the offending source; checking goes on
//! after an error so that one run reports as many as it can.

use std::collections::HashMap;

use stap_notes::meta::ArgKind;

use super::ast::{self, BaseType, BinOp, Expr, ExprKind, Item, Scope, Signedness, StmtKind, TypeName, UnaryOp};
use super::diag::{Diagnostic, Span};
use super::printf::{self, Conv, Format};

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
        matches!(self, Ty::Str | Ty::Probe(_))
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
    fn name(self) -> &'static str {
        match self {
            Ty::Int { .. } => "integer",
            Ty::Str => "string",
            Ty::Probe(_) => "string (probe name)",
            Ty::Stack { .. } => "stack",
            Ty::Float { .. } => "float",
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
    fn of(name: &str) -> Option<StrFn> {
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
    fn params(self) -> (&'static [bool], &'static [bool]) {
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

struct Checker<'m> {
    /// Quiet output: see [`Macros::quiet`].
    quiet: bool,
    /// Flow-indented probe lines: see [`Macros::flowindent`].
    flowindent: bool,
    ir: Ir,
    diags: Vec<Diagnostic>,
    macros: &'m Macros,
    declared: HashMap<(Scope, String), Ty>,
    /// The argument description of the clause being checked.
    clause_args: ClauseArgs,
    /// Statements that `++`/`--` used as values add before the statement
    /// being checked (`a[i++] = x` is `t = i; i = t + 1; a[t] = x`).
    hoisted: Vec<IStmt>,
    /// Above 0 where an increment cannot move before the statement: a
    /// predicate, a `?:` branch, the right side of `&&` or `||`.
    no_hoist: u32,
    /// Whether `stack()`/`ustack()` may appear here (an action, a `trace`
    /// argument or an aggregation key).
    stack_ok: bool,
    /// Per clause: where `speculate()` was called, if it was.
    speculated: Option<Span>,
    /// Per clause: the first data-recording action (which `speculate()`
    /// must not follow), and the first action a speculative clause cannot
    /// hold (`exit`, an aggregation).
    recorded: Option<Span>,
    unspeculable: Option<(Span, &'static str)>,
    /// How deep in `if` statements the checker is.
    if_depth: usize,
    /// Whether a float argument may appear here (directly as a `printf`
    /// or `trace` argument).
    float_ok: bool,
}

/// Check `program` and lower it, or return every error found. `args[N]`
/// is untyped (`argN`); see [`check_typed`].
pub fn check(program: &ast::Program, macros: &Macros) -> Result<Ir, Vec<Diagnostic>> {
    check_typed(program, macros, &|_| ClauseArgs::Unknown)
}

/// [`check`], with `describe` telling what each clause's probes say of
/// their arguments, so that `args[N]` and `args->name` have the types of
/// the probes' metadata records.
pub fn check_typed(
    program: &ast::Program,
    macros: &Macros,
    describe: &dyn Fn(&ast::Clause) -> ClauseArgs,
) -> Result<Ir, Vec<Diagnostic>> {
    let pragma = |option: &str| program.items.iter().any(|i| matches!(i, Item::Pragma { name, .. } if name == option));
    let quiet = macros.quiet || pragma("quiet");
    let flowindent = macros.flowindent || pragma("flowindent");
    let mut c = Checker {
        quiet,
        flowindent,
        ir: Ir::default(),
        diags: Vec::new(),
        macros,
        declared: HashMap::new(),
        clause_args: ClauseArgs::Unknown,
        hoisted: Vec::new(),
        no_hoist: 0,
        stack_ok: false,
        speculated: None,
        recorded: None,
        unspeculable: None,
        if_depth: 0,
        float_ok: false,
    };
    for item in &program.items {
        match item {
            Item::Pragma { name, value, span } => c.ir.options.push((name.clone(), value.clone(), *span)),
            Item::Decl(d) => c.declare(d),
            Item::Clause(cl) => {
                c.clause_args = describe(cl);
                c.speculated = None;
                c.recorded = None;
                c.unspeculable = None;
                let predicate = cl.predicate.as_ref().map(|p| {
                    c.no_hoist += 1;
                    let e = c.expr(p);
                    c.no_hoist -= 1;
                    c.want_scalar(&e, "a predicate");
                    e
                });
                let mut body = match &cl.body {
                    Some(stmts) => c.stmts(stmts),
                    None => Vec::new(),
                };
                // A clause with no statement takes DTrace's default action:
                // the probe line alone (nothing when quiet).
                let default_action =
                    cl.body.as_ref().is_none_or(|b| b.iter().all(|s| matches!(s.kind, StmtKind::Empty)));
                if !c.quiet && (default_action || records_data(&body)) {
                    c.add_probe_line(&mut body, cl.span);
                }
                merge_printfs(&mut c.ir.formats, &mut body);
                let uses_args = uses_args_clause(predicate.as_ref(), &body);
                c.ir.clauses.push(IClause { descs: cl.descs.clone(), predicate, body, uses_args, span: cl.span });
            }
        }
    }
    if c.diags.is_empty() {
        Ok(c.ir)
    } else {
        Err(c.diags)
    }
}

/// The format `trace(x)` prints `x` with, as dtrace(1) does: bare when
/// quiet, else in a column after a space (integers right-aligned by size,
/// strings left-aligned in 33). A stack keeps its own lines.
fn trace_format(ty: Ty, quiet: bool) -> Format {
    let text = match ty {
        Ty::Stack { .. } if quiet => "%s\n",
        Ty::Stack { .. } => "\n%s",
        Ty::Str | Ty::Probe(_) if quiet => "%s",
        Ty::Str | Ty::Probe(_) => "  %-33s",
        Ty::Float { .. } if quiet => "%f",
        Ty::Float { .. } => " %f",
        Ty::Int { .. } if quiet => "%d",
        Ty::Int { size: 1, .. } => " %3d",
        Ty::Int { size: 2, .. } => " %5d",
        Ty::Int { size: 4, .. } => " %8d",
        Ty::Int { .. } => " %16d",
    };
    printf::parse(text).expect("a valid format")
}

/// Whether a clause body records data, so that dtrace(1) prints its probe
/// line: any action but assignments and aggregations.
fn records_data(body: &[IStmt]) -> bool {
    body.iter().any(|s| match s {
        IStmt::Printf { .. }
        | IStmt::Printa(_)
        | IStmt::AggOp { .. }
        | IStmt::Normalize { .. }
        | IStmt::Exit(_)
        | IStmt::Speculate(_)
        | IStmt::EndSpeculation { .. } => true,
        IStmt::If(_, t, e) => records_data(t) || records_data(e),
        IStmt::Nop | IStmt::Assign(..) | IStmt::Free(_) | IStmt::ArraySet { .. } | IStmt::Aggregate { .. } => false,
    })
}

/// Join each run of adjacent `printf`s into one, so that a firing's line
/// (probe line, `trace`s, `printf`s) is one record: fewer ring-buffer
/// writes, and no other CPU's output can land inside the line. Two
/// records that both hold strings are joined only up to
/// [`MERGED_STRINGS`] strings, so that a large `strsize` still fits the
/// scratch space.
fn merge_printfs(formats: &mut Vec<Format>, body: &mut Vec<IStmt>) {
    let strings = |args: &[TExpr]| args.iter().filter(|a| a.ty == Ty::Str).count();
    let mut out: Vec<IStmt> = Vec::with_capacity(body.len());
    for s in body.drain(..) {
        let s = match s {
            IStmt::If(c, mut t, mut e) => {
                merge_printfs(formats, &mut t);
                merge_printfs(formats, &mut e);
                IStmt::If(c, t, e)
            }
            s => s,
        };
        match (out.last_mut(), s) {
            (Some(IStmt::Printf { format: a, args: aa }), IStmt::Printf { format: b, args: bb })
                if formats[*a].aggregation_conversions() == 0
                    && formats[b].aggregation_conversions() == 0
                    && (strings(aa) == 0 || strings(&bb) == 0 || strings(aa) + strings(&bb) <= MERGED_STRINGS) =>
            {
                let mut joined = formats[*a].clone();
                joined.pieces.extend(formats[b].pieces.iter().cloned());
                joined.heading |= formats[b].heading;
                joined.flow |= formats[b].flow;
                formats.push(joined);
                *a = formats.len() - 1;
                aa.extend(bb);
            }
            (_, s) => out.push(s),
        }
    }
    *body = out;
}

/// The most strings one joined `printf` record holds (see [`merge_printfs`]).
const MERGED_STRINGS: usize = 2;

fn uses_args_clause(pred: Option<&TExpr>, body: &[IStmt]) -> bool {
    fn e(x: &TExpr) -> bool {
        match &x.kind {
            TKind::Builtin(Builtin::Arg(_)) | TKind::Builtin(Builtin::Errno) => true,
            TKind::Unary(_, a) | TKind::Cast(a) | TKind::Strlen(a) => e(a),
            TKind::Binary(_, a, b) | TKind::StrCmp(_, a, b) => e(a) || e(b),
            TKind::Cond(a, b, c) => e(a) || e(b) || e(c),
            TKind::Copyinstr(a, b) => e(a) || b.as_deref().is_some_and(e),
            TKind::ArrayGet(_, keys) | TKind::StrFn(_, keys) => keys.iter().any(e),
            TKind::Progenyof(a) => e(a),
            _ => false,
        }
    }
    fn s(x: &IStmt) -> bool {
        match x {
            IStmt::Assign(_, v) | IStmt::Exit(v) | IStmt::Speculate(v) => e(v),
            IStmt::EndSpeculation { id, .. } => e(id),
            IStmt::ArraySet { keys, value, .. } => keys.iter().any(e) || e(value),
            IStmt::Aggregate { keys, value, .. } => keys.iter().any(e) || value.as_ref().is_some_and(e),
            IStmt::Printf { args, .. } => args.iter().any(e),
            IStmt::If(c, a, b) => e(c) || a.iter().any(s) || b.iter().any(s),
            _ => false,
        }
    }
    pred.is_some_and(e) || body.iter().any(s)
}

fn type_of(t: &TypeName) -> Result<Ty, String> {
    if t.pointer_depth > 0 {
        return Ok(Ty::U64);
    }
    let int = |size: u8, s: Signedness| Ty::Int { size, signed: s == Signedness::Signed };
    Ok(match &t.base {
        BaseType::Char(s) => int(1, *s),
        BaseType::Short(s) => int(2, *s),
        BaseType::Int(s) => int(4, *s),
        BaseType::Long(s) | BaseType::LongLong(s) => int(8, *s),
        BaseType::String => Ty::Str,
        other => match fixed_width(other) {
            Some(t) => t,
            None => return Err(format!("type `{other:?}` is not supported here")),
        },
    })
}

fn fixed_width(b: &BaseType) -> Option<Ty> {
    let int = |size, signed| Some(Ty::Int { size, signed });
    match b {
        BaseType::Int8 => int(1, true),
        BaseType::Int16 => int(2, true),
        BaseType::Int32 => int(4, true),
        BaseType::Int64 | BaseType::Ssize => int(8, true),
        BaseType::Uint8 => int(1, false),
        BaseType::Uint16 => int(2, false),
        BaseType::Uint32 => int(4, false),
        BaseType::Uint64 | BaseType::Size | BaseType::Uintptr => int(8, false),
        // Common kernel and libc typedefs.
        BaseType::Named(n) => match n.as_str() {
            "uid_t" | "gid_t" | "pid_t" | "id_t" => int(4, n != "pid_t"),
            "off_t" | "loff_t" | "time_t" | "intptr_t" | "ptrdiff_t" => int(8, true),
            "dev_t" | "ino_t" | "u64" => int(8, false),
            "u32" => int(4, false),
            "u16" => int(2, false),
            "u8" | "uchar_t" => int(1, false),
            _ => None,
        },
        _ => None,
    }
}

/// The most frames a stack keeps (the kernel's default
/// `perf_event_max_stack`).
pub const MAX_FRAMES: u16 = 127;

/// An argument asked for by position (`args[N]`) or name (`args->name`).
enum ArgRef<'a> {
    Index(u64),
    Name(&'a str),
}

impl Checker<'_> {
    fn err(&mut self, span: Span, msg: impl Into<String>) {
        self.diags.push(Diagnostic::error(span, msg));
    }

    /// `args[N]` or `args->name` in a clause whose probes are described:
    /// the argument's note slot, read as its kind says (text kinds become
    /// strings, pointer+length kinds read exactly `length` bytes).
    fn typed_arg(&mut self, what: ArgRef<'_>, at: Span, span: Span) -> TExpr {
        let bad = TExpr { kind: TKind::Int(0), ty: Ty::I64, span };
        let args = match &self.clause_args {
            ClauseArgs::Typed(a) => a.clone(),
            ClauseArgs::Unknown => {
                self.diags.push(
                    Diagnostic::error(at, "this clause's probes have no argument names (no metadata record)")
                        .with_hint("use arg0, arg1, … (or args[N]) for the raw arguments"),
                );
                return bad;
            }
            ClauseArgs::NotYet => {
                self.diags.push(
                    Diagnostic::error(at, "no probe this clause names is there yet, so neither are its argument names")
                        .with_hint(
                            "args->name needs the probe when the program starts (trace the running process with \
                             -p PID); until then use arg0, arg1, …",
                        ),
                );
                return bad;
            }
            ClauseArgs::Mixed(why) => {
                let why = why.clone();
                self.diags.push(
                    Diagnostic::error(at, format!("this clause's probes describe their arguments differently: {why}"))
                        .with_hint("split the clause by probe, or use arg0, arg1, …"),
                );
                return bad;
            }
        };
        let found = match what {
            ArgRef::Index(i) => usize::try_from(i).ok().filter(|&i| i < args.len()),
            ArgRef::Name(n) => args.iter().position(|(name, _)| name == n),
        };
        let Some(i) = found else {
            let names: Vec<String> =
                args.iter().enumerate().map(|(i, (n, k))| format!("args[{i}] {n}: {}", k.name())).collect();
            let msg = match what {
                ArgRef::Index(i) => format!("the probe has {} arguments; args[{i}] does not exist", args.len()),
                ArgRef::Name(n) => format!("the probe has no argument named `{n}`"),
            };
            let hint = if names.is_empty() { "it takes no arguments".to_string() } else { names.join(", ") };
            self.diags.push(Diagnostic::error(at, msg).with_hint(hint));
            return bad;
        };
        let slot: usize = args[..i].iter().map(|(_, k)| k.note_args()).sum();
        let kind = args[i].1;
        let last = slot + kind.note_args() - 1;
        if last >= 12 {
            self.err(at, format!("argument {i} is in note slot {last}; only 12 slots can be read"));
            return bad;
        }
        let raw = |n: usize, ty: Ty| TExpr { kind: TKind::Builtin(Builtin::Arg(n as u8)), ty, span };
        match kind {
            ArgKind::CStr => TExpr { kind: TKind::Copyinstr(Box::new(raw(slot, Ty::U64)), None), ty: Ty::Str, span },
            ArgKind::Str | ArgKind::Bytes | ArgKind::Json => TExpr {
                kind: TKind::Copyinstr(Box::new(raw(slot, Ty::U64)), Some(Box::new(raw(slot + 1, Ty::U64)))),
                ty: Ty::Str,
                span,
            },
            ArgKind::Int { size, signed } => raw(slot, Ty::Int { size: 8.min(size.max(1)), signed }),
            ArgKind::Bool => raw(slot, Ty::Int { size: 1, signed: false }),
            ArgKind::Char => raw(slot, Ty::Int { size: 4, signed: false }),
            ArgKind::Float { size } => {
                if !std::mem::take(&mut self.float_ok) {
                    self.diags.push(
                        Diagnostic::error(
                            at,
                            format!("argument `{}` is a float: it can only be printed (printf's %f, trace)", args[i].0),
                        )
                        .with_hint(format!("arg{slot} holds its bits as an integer")),
                    );
                    return bad;
                }
                raw(slot, Ty::Float { size })
            }
            // Pointers, and kinds added by newer writers: an address.
            _ => raw(slot, Ty::U64),
        }
    }

    fn declare(&mut self, d: &ast::Decl) {
        if let Some(index) = &d.array_index {
            self.declare_array(d, index);
            return;
        }
        match type_of(&d.ty) {
            Ok(ty) => {
                self.declared.insert((d.scope, d.name.clone()), ty);
                self.var(d.scope, &d.name, Some(ty), d.span);
            }
            Err(e) => self.err(d.ty.span, e),
        }
    }

    /// `int a[string, int];` or `self string a[int];`.
    fn declare_array(&mut self, d: &ast::Decl, index: &[TypeName]) {
        let thread = match d.scope {
            Scope::Global => false,
            Scope::ThreadLocal => true,
            Scope::ClauseLocal => {
                self.err(d.span, "clause-local (`this->`) associative arrays are not supported");
                return;
            }
        };
        let mut keys = Vec::new();
        for t in index.iter().chain(std::iter::once(&d.ty)) {
            match type_of(t) {
                Ok(ty) => keys.push(ty),
                Err(e) => {
                    self.err(t.span, e);
                    return;
                }
            }
        }
        let value = keys.pop().expect("the value type was chained last");
        if self.ir.arrays.iter().any(|a| a.name == d.name && a.thread == thread) {
            self.err(d.span, format!("`{}` is declared twice", d.name));
            return;
        }
        if self.scalar_exists(thread, &d.name) {
            self.err(d.span, format!("`{}` is already a scalar variable", d.name));
            return;
        }
        self.ir.arrays.push(Array { name: d.name.clone(), thread, keys, value });
    }

    fn scalar_exists(&self, thread: bool, name: &str) -> bool {
        let list = if thread { &self.ir.thread_vars } else { &self.ir.globals };
        list.iter().any(|v| v.name == name)
    }

    /// Find or create the associative array `name` for an access with
    /// `keys`; `value` is the type assigned, if this is an assignment.
    /// Returns the array, the checked keys and the value type.
    fn array(
        &mut self,
        thread: bool,
        name: &str,
        keys: &[Expr],
        value: Option<Ty>,
        span: Span,
    ) -> Option<(usize, Vec<TExpr>, Ty)> {
        let keys: Vec<TExpr> = keys.iter().map(|k| self.expr(k)).collect();
        let shown = if thread { format!("self->{name}") } else { name.to_string() };
        if let Some(k) = keys.iter().find(|k| matches!(k.ty, Ty::Probe(_))) {
            self.diags.push(
                Diagnostic::error(k.span, "a probe name cannot be an array key yet")
                    .with_hint("key an aggregation by it instead: @a[probefunc] = count()"),
            );
            return None;
        }
        if self.scalar_exists(thread, name) {
            self.err(span, format!("`{shown}` is a scalar variable, not an associative array"));
            return None;
        }
        let key_tys: Vec<Ty> = keys.iter().map(|k| k.ty).collect();
        let describe = |tys: &[Ty]| tys.iter().map(|t| t.name()).collect::<Vec<_>>().join(", ");
        match self.ir.arrays.iter().position(|a| a.name == name && a.thread == thread) {
            Some(i) => {
                let a = &self.ir.arrays[i];
                let same = a.keys.len() == key_tys.len()
                    && a.keys.iter().zip(&key_tys).all(|(x, y)| (*x == Ty::Str) == (*y == Ty::Str));
                if !same {
                    let msg = format!(
                        "`{shown}` is keyed by [{}] elsewhere, not by [{}]",
                        describe(&a.keys),
                        describe(&key_tys)
                    );
                    self.err(span, msg);
                    return None;
                }
                Some((i, keys, a.value))
            }
            None => match value {
                Some(v) => {
                    self.ir.arrays.push(Array { name: name.to_string(), thread, keys: key_tys, value: v });
                    Some((self.ir.arrays.len() - 1, keys, v))
                }
                None => {
                    self.diags.push(
                        Diagnostic::error(span, format!("`{shown}` is used before anything is assigned to it"))
                            .with_hint("assign an element in an earlier clause, or declare it (`int a[string];`)"),
                    );
                    None
                }
            },
        }
    }

    /// An assignment or `++`/`--` to `a[keys]`: `op` combines the current
    /// value with `value` (`None` for a plain `=`).
    fn array_store(
        &mut self,
        target: (bool, &str, &[Expr]),
        lhs: &Expr,
        value: TExpr,
        op: Option<BinOp>,
        span: Span,
    ) -> IStmt {
        let (thread, name, index) = target;
        let Some((array, keys, ty)) = self.array(thread, name, index, Some(value.ty), lhs.span) else {
            return IStmt::Nop;
        };
        let value = match op {
            None => value,
            Some(op) => {
                let cur = TExpr { kind: TKind::ArrayGet(array, keys.clone()), ty, span: lhs.span };
                self.binary(op, cur, value, span)
            }
        };
        if ty.is_stringy() != value.ty.is_stringy() || ty == Ty::Str && value.ty != Ty::Str {
            self.err(
                value.span,
                format!("cannot store {} in `{name}[…]`, which holds {}s", with_article(value.ty), ty.name()),
            );
            return IStmt::Nop;
        }
        IStmt::ArraySet { array, keys, value }
    }

    /// Find or create a variable; `ty` is the type assigned, if known.
    fn var(&mut self, scope: Scope, name: &str, ty: Option<Ty>, span: Span) -> Option<(VarRef, Ty)> {
        if scope != Scope::ClauseLocal
            && self.ir.arrays.iter().any(|a| a.name == name && a.thread == (scope == Scope::ThreadLocal))
        {
            let prefix = if scope == Scope::ThreadLocal { "self->" } else { "" };
            self.diags.push(
                Diagnostic::error(span, format!("`{prefix}{name}` is an associative array"))
                    .with_hint(format!("index it: {prefix}{name}[key]")),
            );
            return None;
        }
        let (list, mk): (&mut Vec<Var>, fn(usize) -> VarRef) = match scope {
            Scope::Global => (&mut self.ir.globals, VarRef::Global),
            Scope::ThreadLocal => (&mut self.ir.thread_vars, VarRef::Thread),
            Scope::ClauseLocal => (&mut self.ir.clause_vars, VarRef::Clause),
        };
        if let Some(i) = list.iter().position(|v| v.name == name) {
            return Some((mk(i), list[i].ty));
        }
        let prefix = match scope {
            Scope::Global => "",
            Scope::ThreadLocal => "self->",
            Scope::ClauseLocal => "this->",
        };
        match ty {
            Some(ty) => {
                list.push(Var { name: name.to_string(), ty });
                Some((mk(list.len() - 1), ty))
            }
            None => {
                self.diags.push(
                    Diagnostic::error(span, format!("`{prefix}{name}` is used before anything is assigned to it"))
                        .with_hint("assign it in an earlier clause, or declare it (`self int x;`)"),
                );
                None
            }
        }
    }

    /// dtrace(1)'s probe line around a firing's output: the heading's
    /// columns (CPU, probe id, `function:name`) before the clause's first
    /// record (after `speculate()`, so that it belongs to the speculation),
    /// and a newline after its last (before a final `exit()`, whose record
    /// ends the output).
    fn add_probe_line(&mut self, body: &mut Vec<IStmt>, span: Span) {
        let at = |kind, ty| TExpr { kind: TKind::Builtin(kind), ty, span };
        let cpu = at(Builtin::Cpu, Ty::Int { size: 4, signed: false });
        let id = at(Builtin::Id, Ty::Int { size: 4, signed: false });
        // With -F the printer turns the id into the indented function.
        let (text, args) = if self.flowindent {
            ("%3d %-41s ", vec![cpu, id])
        } else {
            let name = at(Builtin::Probe(ProbeField::FunctionName), Ty::Probe(ProbeField::FunctionName));
            ("%3d %6d %32s ", vec![cpu, id, name])
        };
        let mut prefix = printf::parse(text).expect("a valid format");
        prefix.heading = true;
        prefix.flow = self.flowindent;
        let prefix = self.add_format("", prefix, span);
        self.ir.uses_probefunc = true;
        let start = body.iter().position(|s| matches!(s, IStmt::Speculate(_))).map_or(0, |i| i + 1);
        body.insert(start, IStmt::Printf { format: prefix, args });
        let newline = self.add_format("", printf::parse("\n").expect("a valid format"), span);
        let end = if matches!(body.last(), Some(IStmt::Exit(_))) { body.len() - 1 } else { body.len() };
        body.insert(end, IStmt::Printf { format: newline, args: Vec::new() });
    }

    fn add_format(&mut self, _text: &str, f: Format, _span: Span) -> usize {
        self.ir.formats.push(f);
        self.ir.formats.len() - 1
    }

    fn want_scalar(&mut self, e: &TExpr, what: &str) {
        if e.ty == Ty::Str {
            self.err(e.span, format!("{what} must be an integer, not a string"));
        }
    }

    fn stmts(&mut self, stmts: &[ast::Stmt]) -> Vec<IStmt> {
        let mut out = Vec::new();
        for s in stmts {
            match &s.kind {
                StmtKind::Empty => {}
                StmtKind::Decl(d) => self.declare(d),
                StmtKind::If { cond, then, else_ } => {
                    let c = self.expr(cond);
                    out.append(&mut self.hoisted);
                    self.want_scalar(&c, "an `if` condition");
                    self.if_depth += 1;
                    let t = self.stmts(then);
                    let e = else_.as_deref().map(|e| self.stmts(e)).unwrap_or_default();
                    self.if_depth -= 1;
                    out.push(IStmt::If(c, t, e));
                }
                StmtKind::Expr(e) => {
                    let st = self.stmt_expr(e);
                    out.append(&mut self.hoisted);
                    out.push(st);
                }
            }
        }
        out
    }

    fn place(&mut self, e: &Expr, ty: Option<Ty>) -> Option<(VarRef, Ty)> {
        let (scope, name) = match &e.kind {
            ExprKind::Ident(n) if builtin(n).is_none() => (Scope::Global, n),
            ExprKind::SelfVar(n) => (Scope::ThreadLocal, n),
            ExprKind::ThisVar(n) => (Scope::ClauseLocal, n),
            _ => {
                self.err(e.span, "this cannot be assigned to");
                return None;
            }
        };
        let declared = self.declared.get(&(scope, name.clone())).copied();
        self.var(scope, name, declared.or(ty), e.span)
    }

    fn stmt_expr(&mut self, e: &Expr) -> IStmt {
        match &e.kind {
            ExprKind::Assign { op, lhs, rhs } => {
                if let ExprKind::Agg { name, keys } = &lhs.kind {
                    if op.is_some() {
                        self.err(e.span, "aggregations take `=` only");
                    }
                    return self.aggregate(name, keys, rhs, lhs.span);
                }
                if let Some(target) = array_target(lhs) {
                    let value = self.expr(rhs);
                    return self.array_store(target, lhs, value, *op, e.span);
                }
                let value = self.expr(rhs);
                let Some((place, ty)) = self.place(lhs, Some(value.ty)) else { return IStmt::Nop };
                let value = match op {
                    None => value,
                    Some(op) => {
                        let cur = TExpr { kind: TKind::Var(place), ty, span: lhs.span };
                        self.binary(*op, cur, value, e.span)
                    }
                };
                if ty == Ty::Str && !value.ty.is_stringy() || ty != Ty::Str && value.ty == Ty::Str {
                    self.err(
                        rhs.span,
                        format!("cannot assign a {} to `{}`, a {}", value.ty.name(), lhs_text(lhs), ty.name()),
                    );
                    return IStmt::Nop;
                }
                if matches!(place, VarRef::Thread(_)) && value.kind == TKind::Int(0) {
                    return IStmt::Free(place);
                }
                IStmt::Assign(place, value)
            }
            ExprKind::Postfix { op, operand } => self.incdec(operand, *op == ast::PostfixOp::Inc, e.span),
            ExprKind::Unary { op: UnaryOp::PreInc, operand } => self.incdec(operand, true, e.span),
            ExprKind::Unary { op: UnaryOp::PreDec, operand } => self.incdec(operand, false, e.span),
            ExprKind::Call { func, func_span, args } => self.action(func, *func_span, args, e.span),
            _ => {
                let _ = self.expr(e);
                IStmt::Nop
            }
        }
    }

    fn incdec(&mut self, operand: &Expr, inc: bool, span: Span) -> IStmt {
        let op = if inc { BinOp::Add } else { BinOp::Sub };
        if let Some(target) = array_target(operand) {
            let one = TExpr { kind: TKind::Int(1), ty: Ty::I64, span };
            return self.array_store(target, operand, one, Some(op), span);
        }
        let Some((place, ty)) = self.place(operand, Some(Ty::I64)) else { return IStmt::Nop };
        if ty == Ty::Str {
            self.err(operand.span, "`++`/`--` need an integer");
            return IStmt::Nop;
        }
        let cur = TExpr { kind: TKind::Var(place), ty, span: operand.span };
        let one = TExpr { kind: TKind::Int(1), ty: Ty::I64, span };
        IStmt::Assign(place, self.binary(op, cur, one, span))
    }

    /// `x++`, `x--`, `++x`, `--x` as a value: the update moves before the
    /// statement, and a post-increment reads a clause-local copy taken
    /// before it.
    fn incdec_value(&mut self, operand: &Expr, inc: bool, pre: bool, span: Span) -> TExpr {
        let bad = TExpr { kind: TKind::Int(0), ty: Ty::I64, span };
        if self.no_hoist > 0 {
            self.err(span, "`++`/`--` cannot be a value in a predicate, a `?:` branch or the right side of `&&`/`||`");
            return bad;
        }
        if array_target(operand).is_some() {
            self.err(span, "`++`/`--` on an array element are statements, not values");
            return bad;
        }
        let Some((place, ty)) = self.place(operand, Some(Ty::I64)) else { return bad };
        if ty == Ty::Str {
            self.err(operand.span, "`++`/`--` need an integer");
            return bad;
        }
        let cur = TExpr { kind: TKind::Var(place), ty, span: operand.span };
        let one = TExpr { kind: TKind::Int(1), ty: Ty::I64, span };
        let updated = self.binary(if inc { BinOp::Add } else { BinOp::Sub }, cur.clone(), one, span);
        if pre {
            self.hoisted.push(IStmt::Assign(place, updated));
            return cur;
        }
        let name = format!("%old{}", self.ir.clause_vars.len());
        let Some((copy, _)) = self.var(Scope::ClauseLocal, &name, Some(ty), span) else { return bad };
        self.hoisted.push(IStmt::Assign(copy, cur));
        self.hoisted.push(IStmt::Assign(place, updated));
        TExpr { kind: TKind::Var(copy), ty, span }
    }

    fn aggregate(&mut self, name: &str, keys: &[Expr], rhs: &Expr, span: Span) -> IStmt {
        self.not_speculative(span, "an aggregation");
        let ExprKind::Call { func, args, func_span } = &rhs.kind else {
            self.err(
                rhs.span,
                "an aggregation is assigned an aggregating function: count(), sum(x), avg(x), min(x), max(x), \
                 quantize(x) or lquantize(x, lo, hi, step)",
            );
            return IStmt::Nop;
        };
        let (f, nargs) = match func.as_str() {
            "count" => (AggFunc::Count, 0),
            "sum" => (AggFunc::Sum, 1),
            "avg" => (AggFunc::Avg, 1),
            "min" => (AggFunc::Min, 1),
            "max" => (AggFunc::Max, 1),
            "quantize" => (AggFunc::Quantize, 1),
            "lquantize" => {
                if args.len() != 4 {
                    self.err(
                        rhs.span,
                        format!("`lquantize()` takes 4 arguments (value, low, high, step), not {}", args.len()),
                    );
                    return IStmt::Nop;
                }
                let mut c = [0i64; 3];
                for (i, a) in args[1..].iter().enumerate() {
                    let v = self.expr(a);
                    match v.kind {
                        TKind::Int(n) => c[i] = n,
                        _ => {
                            self.err(a.span, "lquantize's low, high and step must be integer constants");
                            return IStmt::Nop;
                        }
                    }
                }
                let [lo, hi, step] = c;
                if step <= 0 || hi <= lo || hi.checked_sub(lo).is_none_or(|w| w / step > 1000) {
                    self.err(rhs.span, "lquantize needs low < high, step > 0 and at most 1000 buckets");
                    return IStmt::Nop;
                }
                (AggFunc::Lquantize { lo, hi, step }, 4)
            }
            "stddev" => (AggFunc::Stddev, 1),
            "llquantize" => {
                if args.len() != 5 {
                    self.err(
                        rhs.span,
                        format!(
                            "`llquantize()` takes 5 arguments (value, factor, low, high, nsteps), not {}",
                            args.len()
                        ),
                    );
                    return IStmt::Nop;
                }
                let mut c = [0i64; 4];
                for (i, a) in args[1..].iter().enumerate() {
                    match self.expr(a).kind {
                        TKind::Int(n) => c[i] = n,
                        _ => {
                            self.err(a.span, "llquantize's factor, low, high and nsteps must be integer constants");
                            return IStmt::Nop;
                        }
                    }
                }
                let [factor, low, high, nsteps] = c;
                let bad = |i: usize, msg: &str| Some((args[i + 1].span, msg.to_string()));
                let problem = if factor < 2 {
                    bad(0, "llquantize's factor must be at least 2")
                } else if low < 0 {
                    bad(1, "llquantize's low magnitude must not be negative")
                } else if high <= low {
                    bad(2, "llquantize's high magnitude must be greater than the low one")
                } else if u32::try_from(high + 1).ok().and_then(|h| factor.checked_pow(h)).is_none() {
                    bad(2, "llquantize's factor to the power high + 1 does not fit in 64 bits")
                } else if nsteps < factor || nsteps % factor != 0 {
                    bad(3, "llquantize's nsteps must be a multiple of the factor (and at least the factor)")
                } else if llquantize_count(factor, low as u32, high as u32, nsteps) > 1000 {
                    Some((rhs.span, "llquantize makes more than 1000 buckets".to_string()))
                } else {
                    None
                };
                if let Some((at, msg)) = problem {
                    self.err(at, msg);
                    return IStmt::Nop;
                }
                (AggFunc::Llquantize { factor, low: low as u32, high: high as u32, nsteps }, 5)
            }
            _ => {
                self.err(
                    *func_span,
                    format!("`{func}` is not an aggregating function (count, sum, avg, min, max, stddev, quantize, lquantize, \
                         llquantize)"),
                );
                return IStmt::Nop;
            }
        };
        if args.len() != nargs {
            self.err(rhs.span, format!("`{func}()` takes {nargs} argument(s), not {}", args.len()));
            return IStmt::Nop;
        }
        let value = args.first().map(|a| {
            let v = self.expr(a);
            self.want_scalar(&v, &format!("the argument of `{func}()`"));
            v
        });
        let keys: Vec<TExpr> = keys
            .iter()
            .map(|k| {
                self.stack_ok = is_stack_call(k);
                let e = self.expr(k);
                self.stack_ok = false;
                e
            })
            .collect();
        let mut key_tys: Vec<Ty> = keys.iter().map(|k| k.ty).collect();
        if f.is_histogram() {
            // The bucket, computed from the value by the program.
            key_tys.push(Ty::I64);
        }
        let agg = match self.ir.aggs.iter().position(|a| a.name == name) {
            Some(i) => {
                let (afunc, akeys) = (self.ir.aggs[i].func, self.ir.aggs[i].keys.clone());
                if afunc != f {
                    let msg = format!("@{name} is used with {afunc:?} elsewhere; one aggregation takes one function");
                    self.err(*func_span, msg);
                }
                if akeys != key_tys {
                    self.err(span, format!("@{name} has different keys elsewhere"));
                }
                i
            }
            None => {
                self.ir.aggs.push(Agg { name: name.to_string(), func: f, keys: key_tys });
                self.ir.aggs.len() - 1
            }
        };
        IStmt::Aggregate { agg, keys, value }
    }

    fn agg_ref(&mut self, e: &Expr) -> Option<usize> {
        match &e.kind {
            ExprKind::Agg { name, keys } if keys.is_empty() => {
                let found = self.ir.aggs.iter().position(|a| a.name == *name);
                if found.is_none() {
                    self.err(e.span, format!("@{name} is not assigned before this point"));
                }
                found
            }
            _ => {
                self.err(e.span, "expected an aggregation such as `@counts`");
                None
            }
        }
    }

    /// `printa([fmt,] @a, ...)`: one aggregation, or several with keys of
    /// the same types whose values fill the format's `%@` conversions in
    /// order (one each) or, without a format, columns.
    fn printa(&mut self, args: &[Expr], span: Span) -> IStmt {
        let (fmt, agg_args) = match args {
            [] => {
                self.err(span, "printa takes aggregations, optionally after a format");
                return IStmt::Nop;
            }
            [f, rest @ ..] => match &f.kind {
                ExprKind::Str(s) => match printf::parse(s) {
                    Ok(p) => (Some((p, f.span)), rest),
                    Err(e) => {
                        self.err(f.span, format!("bad format: {e}"));
                        return IStmt::Nop;
                    }
                },
                ExprKind::Agg { .. } => (None, args),
                _ => {
                    self.err(f.span, "printa's format must be a string literal");
                    return IStmt::Nop;
                }
            },
        };
        if agg_args.is_empty() {
            self.err(span, "printa needs an aggregation after its format");
            return IStmt::Nop;
        }
        let aggs: Vec<Option<usize>> = agg_args.iter().map(|a| self.agg_ref(a)).collect();
        let Some(aggs) = aggs.into_iter().collect::<Option<Vec<usize>>>() else { return IStmt::Nop };
        if aggs.len() > 1 {
            let first = &self.ir.aggs[aggs[0]];
            let (first_name, first_keys) = (first.name.clone(), first.printed_keys().to_vec());
            for (&a, e) in aggs.iter().zip(agg_args).skip(1) {
                let other = &self.ir.aggs[a];
                let keys = other.printed_keys();
                let same =
                    keys.len() == first_keys.len() && keys.iter().zip(&first_keys).all(|(x, y)| x.keys_alike(*y));
                if !same {
                    let msg = format!(
                        "@{} is keyed by [{}], @{first_name} by [{}]: aggregations printed together need the same key \
                         types",
                        other.name,
                        type_list(keys),
                        type_list(&first_keys)
                    );
                    self.err(e.span, msg);
                    return IStmt::Nop;
                }
            }
            if let Some((f, fspan)) = &fmt {
                let convs = f.aggregation_conversions();
                if convs != aggs.len() {
                    self.err(
                        *fspan,
                        format!(
                            "the format has {convs} `%@` conversion{} for {} aggregations",
                            if convs == 1 { "" } else { "s" },
                            aggs.len()
                        ),
                    );
                    return IStmt::Nop;
                }
            }
        }
        let format = fmt.map(|(f, _)| self.add_format("", f, span));
        self.ir.printas.push(Printa { format, aggs });
        IStmt::Printa(self.ir.printas.len() - 1)
    }

    /// `exit` or an aggregation at `span`: an error after `speculate()`.
    fn not_speculative(&mut self, span: Span, what: &'static str) {
        if self.speculated.is_some() {
            self.diags.push(
                Diagnostic::error(span, format!("{what} cannot be in a clause that calls speculate()"))
                    .with_hint("move it to a clause of its own"),
            );
        }
        self.unspeculable.get_or_insert((span, what));
    }

    fn action(&mut self, func: &str, func_span: Span, args: &[Expr], span: Span) -> IStmt {
        if matches!(func, "printf" | "trace" | "printa" | "stack" | "ustack") {
            self.recorded.get_or_insert(span);
        }
        match func {
            "speculate" | "commit" | "discard" => {
                let [id] = args else {
                    self.err(span, format!("{func} takes a speculation id"));
                    return IStmt::Nop;
                };
                let id = self.expr(id);
                self.want_scalar(&id, &format!("{func}'s id"));
                self.ir.uses_speculation = true;
                if func != "speculate" {
                    return IStmt::EndSpeculation { commit: func == "commit", id };
                }
                if self.speculated.is_some() {
                    self.err(span, "a clause can call speculate() once");
                } else if self.recorded.is_some() {
                    self.diags.push(
                        Diagnostic::error(span, "speculate() must come before the clause's data-recording actions")
                            .with_hint("call speculate() first in the clause"),
                    );
                } else if let Some((_, what)) = self.unspeculable {
                    self.err(span, format!("a clause that calls speculate() cannot hold {what}"));
                } else if self.if_depth > 0 {
                    self.err(span, "speculate() cannot be inside an `if`; put the condition in a predicate");
                }
                self.speculated = Some(span);
                IStmt::Speculate(id)
            }
            "printf" => {
                let Some(ExprKind::Str(fmt)) = args.first().map(|a| &a.kind) else {
                    self.err(span, "printf needs a string literal format first");
                    return IStmt::Nop;
                };
                let format = match printf::parse(fmt) {
                    Ok(f) => f,
                    Err(e) => {
                        self.err(args[0].span, format!("bad format: {e}"));
                        return IStmt::Nop;
                    }
                };
                let vals: Vec<TExpr> = args[1..]
                    .iter()
                    .map(|a| {
                        self.float_ok = is_arg_ref(a);
                        let v = self.expr(a);
                        self.float_ok = false;
                        v
                    })
                    .collect();
                let wanted = format.arg_kinds();
                if wanted.len() != vals.len() {
                    self.err(
                        span,
                        format!("the format takes {} argument(s) but {} were given", wanted.len(), vals.len()),
                    );
                    return IStmt::Nop;
                }
                for (v, k) in vals.iter().zip(&wanted) {
                    let float = matches!(v.ty, Ty::Float { .. });
                    if *k == Conv::Float || float {
                        if *k != Conv::Float {
                            self.diags.push(
                                Diagnostic::error(v.span, format!("`%{}` cannot print a float", k.letter()))
                                    .with_hint("use %f"),
                            );
                        } else if !float {
                            self.err(v.span, format!("`%f` needs a float argument, this is {}", with_article(v.ty)));
                        }
                        continue;
                    }
                    if k.wants_string() && !v.ty.is_stringy() {
                        self.err(v.span, format!("`%{}` needs a string, this is an integer", k.letter()));
                    } else if !k.wants_string() && v.ty.is_stringy() {
                        self.diags.push(
                            Diagnostic::error(v.span, format!("`%{}` needs an integer, this is a string", k.letter()))
                                .with_hint("use %s for strings"),
                        );
                    }
                }
                if format.aggregation_conversions() > 0 {
                    self.err(args[0].span, "`%@` is for printa");
                }
                let format = self.add_format(fmt, format, span);
                IStmt::Printf { format, args: vals }
            }
            "trace" => {
                if args.len() != 1 {
                    self.err(span, "trace takes one argument");
                    return IStmt::Nop;
                }
                self.stack_ok = is_stack_call(&args[0]);
                self.float_ok = is_arg_ref(&args[0]);
                let v = self.expr(&args[0]);
                self.stack_ok = false;
                self.float_ok = false;
                let f = trace_format(v.ty, self.quiet);
                let format = self.add_format("", f, span);
                IStmt::Printf { format, args: vec![v] }
            }
            "printa" => self.printa(args, span),
            "clear" | "trunc" => {
                let Some(first) = args.first() else {
                    self.err(span, format!("{func} takes an aggregation"));
                    return IStmt::Nop;
                };
                let Some(agg) = self.agg_ref(first) else { return IStmt::Nop };
                let trunc = if func == "clear" {
                    None
                } else {
                    match args.get(1).map(|a| &a.kind) {
                        None => Some(0),
                        Some(ExprKind::Int(n)) => Some(n.value as i64),
                        Some(_) => {
                            self.err(args[1].span, "trunc's count must be an integer literal");
                            return IStmt::Nop;
                        }
                    }
                };
                IStmt::AggOp { agg, trunc }
            }
            "normalize" | "denormalize" => {
                let want = if func == "normalize" { 2 } else { 1 };
                if args.len() != want {
                    let what = if want == 2 { "an aggregation and a divisor" } else { "an aggregation" };
                    self.err(span, format!("{func} takes {what}"));
                    return IStmt::Nop;
                }
                let Some(agg) = self.agg_ref(&args[0]) else { return IStmt::Nop };
                let by = match args.get(1) {
                    Some(a) => {
                        let v = self.expr(a);
                        self.want_scalar(&v, "normalize's divisor");
                        v
                    }
                    None => TExpr { kind: TKind::Int(1), ty: Ty::I64, span },
                };
                IStmt::Normalize { agg, by }
            }
            "exit" => {
                self.not_speculative(span, "exit()");
                let v = match args {
                    [a] => self.expr(a),
                    _ => {
                        self.err(span, "exit takes one argument, the exit status");
                        return IStmt::Nop;
                    }
                };
                self.want_scalar(&v, "exit's status");
                IStmt::Exit(v)
            }
            "stack" | "ustack" => {
                // As an action: print the stack (a `trace` of it).
                self.stack_ok = true;
                let v = self.call(func, func_span, args, span);
                self.stack_ok = false;
                if !matches!(v.ty, Ty::Stack { .. }) {
                    return IStmt::Nop;
                }
                let format = self.add_format("", printf::parse("\n%s").expect("a valid format"), span);
                IStmt::Printf { format, args: vec![v] }
            }
            "count" | "sum" | "avg" | "min" | "max" => {
                self.err(func_span, format!("`{func}()` is assigned to an aggregation: `@name[keys] = {func}(...)`"));
                IStmt::Nop
            }
            _ => {
                let _ = self.call(func, func_span, args, span);
                IStmt::Nop
            }
        }
    }

    fn call(&mut self, func: &str, func_span: Span, args: &[Expr], span: Span) -> TExpr {
        let bad = TExpr { kind: TKind::Int(0), ty: Ty::I64, span };
        match func {
            "copyinstr" => {
                if args.is_empty() || args.len() > 2 {
                    self.err(span, "copyinstr takes an address and an optional length");
                    return bad;
                }
                let a = self.expr(&args[0]);
                self.want_scalar(&a, "copyinstr's address");
                let n = args.get(1).map(|l| {
                    let n = self.expr(l);
                    self.want_scalar(&n, "copyinstr's length");
                    Box::new(n)
                });
                TExpr { kind: TKind::Copyinstr(Box::new(a), n), ty: Ty::Str, span }
            }
            "strlen" => {
                let [s] = args else {
                    self.err(span, "strlen takes one string");
                    return bad;
                };
                let s = self.expr(s);
                if s.ty != Ty::Str {
                    self.err(s.span, "strlen takes a string");
                }
                TExpr { kind: TKind::Strlen(Box::new(s)), ty: Ty::I64, span }
            }
            "stringof" => {
                let [s] = args else {
                    self.err(span, "stringof takes one argument");
                    return bad;
                };
                let s = self.expr(s);
                if s.ty != Ty::Str {
                    self.err(s.span, "stringof of an integer is not supported yet; use copyinstr for user addresses");
                }
                s
            }
            "copyin" => {
                let [a, n] = args else {
                    self.err(span, "copyin takes an address and a length");
                    return bad;
                };
                let a = self.expr(a);
                self.want_scalar(&a, "copyin's address");
                let n = self.expr(n);
                self.want_scalar(&n, "copyin's length");
                TExpr { kind: TKind::Copyinstr(Box::new(a), Some(Box::new(n))), ty: Ty::Str, span }
            }
            "speculation" => {
                if !args.is_empty() {
                    self.err(span, "speculation takes no arguments");
                }
                self.ir.uses_speculation = true;
                TExpr { kind: TKind::Speculation, ty: Ty::I64, span }
            }
            "progenyof" => {
                let [p] = args else {
                    self.err(span, "progenyof takes a process id");
                    return bad;
                };
                let p = self.expr(p);
                self.want_scalar(&p, "progenyof's argument");
                self.ir.uses_task = true;
                TExpr { kind: TKind::Progenyof(Box::new(p)), ty: Ty::I64, span }
            }
            _ if StrFn::of(func).is_some() => {
                let f = StrFn::of(func).expect("checked");
                let (required, optional) = f.params();
                if args.len() < required.len() || args.len() > required.len() + optional.len() {
                    let kinds = |k: &[bool]| {
                        k.iter().map(|s| if *s { "a string" } else { "an integer" }).collect::<Vec<_>>().join(", ")
                    };
                    let msg = if optional.is_empty() {
                        format!("{func} takes {}", kinds(required))
                    } else {
                        format!("{func} takes {}, and optionally {}", kinds(required), kinds(optional))
                    };
                    self.err(span, msg);
                    return bad;
                }
                let mut vals = Vec::new();
                for (a, want_str) in args.iter().zip(required.iter().chain(optional)) {
                    let v = self.expr(a);
                    if *want_str && v.ty != Ty::Str {
                        self.err(v.span, format!("{func} needs a string here"));
                    } else if !*want_str && v.ty.is_stringy() {
                        self.err(v.span, format!("{func} needs an integer here"));
                    }
                    vals.push(v);
                }
                let ty = if f == StrFn::Index { Ty::I64 } else { Ty::Str };
                TExpr { kind: TKind::StrFn(f, vals), ty, span }
            }
            "printf" | "printa" | "trace" | "exit" | "clear" | "trunc" | "normalize" | "denormalize" => {
                self.err(func_span, format!("`{func}` is an action; it cannot be used as a value"));
                bad
            }
            "stack" | "ustack" => {
                // Only this call may be a stack, not its arguments.
                let stack_ok = std::mem::take(&mut self.stack_ok);
                let user = func == "ustack";
                let frames = match args {
                    [] => MAX_FRAMES,
                    [n] => match self.expr(n).kind {
                        TKind::Int(k) if (1..=i64::from(MAX_FRAMES)).contains(&k) => k as u16,
                        _ => {
                            self.err(n.span, format!("{func}'s frame count must be a constant from 1 to {MAX_FRAMES}"));
                            return bad;
                        }
                    },
                    _ => {
                        self.err(span, format!("{func} takes at most one argument, the number of frames"));
                        return bad;
                    }
                };
                if !stack_ok {
                    self.diags.push(
                        Diagnostic::error(
                            span,
                            format!("`{func}()` can only be an action, a `trace` argument or an aggregation key"),
                        )
                        .with_hint(format!("{func}(); or @[{func}()] = count();")),
                    );
                    return bad;
                }
                self.ir.uses_stacks = true;
                TExpr { kind: TKind::Stack, ty: Ty::Stack { user, frames }, span }
            }
            "ufunc" | "usym" => {
                self.err(func_span, format!("`{func}()` is not supported yet"));
                bad
            }
            _ => {
                self.err(func_span, format!("unknown function `{func}`"));
                bad
            }
        }
    }

    fn binary(&mut self, op: BinOp, l: TExpr, r: TExpr, span: Span) -> TExpr {
        let cmp = matches!(op, BinOp::Eq | BinOp::Ne | BinOp::Lt | BinOp::Le | BinOp::Gt | BinOp::Ge);
        if l.ty.is_stringy() || r.ty.is_stringy() {
            if !cmp {
                self.err(span, format!("`{}` does not apply to strings", op.as_str()));
                return TExpr { kind: TKind::Int(0), ty: Ty::I64, span };
            }
            // A probe field against a literal compares probe ids.
            let (field, lit) = match (&l, &r) {
                (TExpr { ty: Ty::Probe(f), .. }, TExpr { kind: TKind::Str(s), .. })
                | (TExpr { kind: TKind::Str(s), .. }, TExpr { ty: Ty::Probe(f), .. }) => (Some(*f), Some(s.clone())),
                _ => (None, None),
            };
            if let (Some(field), Some(text)) = (field, lit) {
                if matches!(op, BinOp::Eq | BinOp::Ne) {
                    let negate = op == BinOp::Ne;
                    return TExpr { kind: TKind::ProbeIs { field, text, negate }, ty: Ty::I64, span };
                }
            }
            if l.ty != Ty::Str || r.ty != Ty::Str {
                self.err(span, "compare a string with a string");
                return TExpr { kind: TKind::Int(0), ty: Ty::I64, span };
            }
            if !matches!(op, BinOp::Eq | BinOp::Ne) {
                self.err(span, "only `==` and `!=` compare strings so far");
            }
            return TExpr { kind: TKind::StrCmp(op, Box::new(l), Box::new(r)), ty: Ty::I64, span };
        }
        let signed = |t: Ty| matches!(t, Ty::Int { signed: true, .. });
        let ty = if cmp || op.is_logical() || signed(l.ty) && signed(r.ty) { Ty::I64 } else { Ty::U64 };
        if matches!(op, BinOp::Div | BinOp::Mod) && matches!(r.kind, TKind::Int(0)) {
            // dtrace(1) refuses this at compile time too.
            self.err(r.span, "division by zero");
            return TExpr { kind: TKind::Int(0), ty, span };
        }
        // Fold constants so `-1` and `2 * 3` cost nothing.
        if let (TKind::Int(a), TKind::Int(b)) = (&l.kind, &r.kind) {
            if let Some(v) = fold(op, *a, *b) {
                return TExpr { kind: TKind::Int(v), ty, span };
            }
        }
        TExpr { kind: TKind::Binary(op, Box::new(l), Box::new(r)), ty, span }
    }

    fn expr(&mut self, e: &Expr) -> TExpr {
        let span = e.span;
        let int = |kind, ty| TExpr { kind, ty, span };
        match &e.kind {
            ExprKind::Int(lit) => {
                let signed = !lit.unsigned && lit.value <= i64::MAX as u64;
                int(TKind::Int(lit.value as i64), if signed { Ty::I64 } else { Ty::U64 })
            }
            ExprKind::Char(c) => int(TKind::Int(i64::from(*c)), Ty::Int { size: 1, signed: true }),
            ExprKind::Str(s) => TExpr { kind: TKind::Str(s.clone()), ty: Ty::Str, span },
            ExprKind::Ident(name) => match builtin(name) {
                Some(b) => {
                    self.ir.uses_probefunc |= b == Builtin::Probe(ProbeField::Function);
                    self.ir.uses_task |= b == Builtin::Ppid;
                    self.ir.uses_vtime |= b == Builtin::Vtimestamp;
                    int(TKind::Builtin(b), builtin_type(b))
                }
                None => match self.var(
                    Scope::Global,
                    name,
                    self.declared.get(&(Scope::Global, name.clone())).copied(),
                    span,
                ) {
                    Some((v, ty)) => int(TKind::Var(v), ty),
                    None => {
                        if let Some(d) = self.diags.last_mut() {
                            if unsupported_builtin(name) {
                                d.message = format!("the built-in `{name}` is not supported yet");
                                d.hint = None;
                            }
                        }
                        int(TKind::Int(0), Ty::I64)
                    }
                },
            },
            ExprKind::Macro(m) => self.macro_value(m, span),
            ExprKind::SelfVar(n) | ExprKind::ThisVar(n) => {
                let scope =
                    if matches!(e.kind, ExprKind::SelfVar(_)) { Scope::ThreadLocal } else { Scope::ClauseLocal };
                let declared = self.declared.get(&(scope, n.clone())).copied();
                match self.var(scope, n, declared, span) {
                    Some((v, ty)) => int(TKind::Var(v), ty),
                    None => int(TKind::Int(0), Ty::I64),
                }
            }
            ExprKind::Agg { .. } => {
                self.err(span, "an aggregation's value cannot be read in a clause; print it with printa");
                int(TKind::Int(0), Ty::I64)
            }
            ExprKind::Index { base, index } => {
                if let (ExprKind::Ident(n), [ix]) = (&base.kind, index.as_slice()) {
                    if n == "args" {
                        if let ExprKind::Int(lit) = ix.kind {
                            if !matches!(self.clause_args, ClauseArgs::Unknown | ClauseArgs::NotYet) {
                                return self.typed_arg(ArgRef::Index(lit.value), ix.span, span);
                            }
                            if lit.value < 12 {
                                return int(TKind::Builtin(Builtin::Arg(lit.value as u8)), Ty::I64);
                            }
                        }
                        self.err(ix.span, "args[] takes a constant index from 0 to 11");
                        return int(TKind::Int(0), Ty::I64);
                    }
                }
                match array_target(e) {
                    Some((thread, name, index)) => match self.array(thread, name, index, None, span) {
                        Some((array, keys, ty)) => int(TKind::ArrayGet(array, keys), ty),
                        None => int(TKind::Int(0), Ty::I64),
                    },
                    None => {
                        self.err(base.span, "only associative arrays and args[] can be indexed");
                        int(TKind::Int(0), Ty::I64)
                    }
                }
            }
            ExprKind::Call { func, func_span, args } => self.call(func, *func_span, args, span),
            ExprKind::Unary { op, operand } => {
                let v = self.expr(operand);
                match op {
                    UnaryOp::Plus => v,
                    UnaryOp::Neg | UnaryOp::BitNot | UnaryOp::Not => {
                        if v.ty.is_stringy() {
                            self.err(span, format!("`{}` needs an integer", op.as_str()));
                        }
                        if let TKind::Int(x) = v.kind {
                            let r = match op {
                                UnaryOp::Neg => x.wrapping_neg(),
                                UnaryOp::BitNot => !x,
                                _ => i64::from(x == 0),
                            };
                            return int(TKind::Int(r), if *op == UnaryOp::Not { Ty::I64 } else { v.ty });
                        }
                        let ty = if *op == UnaryOp::Not { Ty::I64 } else { v.ty };
                        int(TKind::Unary(*op, Box::new(v)), ty)
                    }
                    UnaryOp::Deref | UnaryOp::AddrOf => {
                        self.diags.push(
                            Diagnostic::error(span, format!("`{}` on user memory is not supported", op.as_str()))
                                .with_hint("read user memory with copyin/copyinstr"),
                        );
                        int(TKind::Int(0), Ty::I64)
                    }
                    UnaryOp::PreInc | UnaryOp::PreDec => self.incdec_value(operand, *op == UnaryOp::PreInc, true, span),
                }
            }
            ExprKind::Postfix { op, operand } => self.incdec_value(operand, *op == ast::PostfixOp::Inc, false, span),
            ExprKind::Binary { op, lhs, rhs } => {
                let l = self.expr(lhs);
                let short_circuit = matches!(op, BinOp::LogAnd | BinOp::LogOr);
                self.no_hoist += u32::from(short_circuit);
                let r = self.expr(rhs);
                self.no_hoist -= u32::from(short_circuit);
                self.binary(*op, l, r, span)
            }
            ExprKind::Ternary { cond, then, else_ } => {
                let c = self.expr(cond);
                self.want_scalar(&c, "a condition");
                self.no_hoist += 1;
                let a = self.expr(then);
                let b = self.expr(else_);
                self.no_hoist -= 1;
                if a.ty.is_stringy() != b.ty.is_stringy() {
                    self.err(span, "both branches of `?:` must be strings, or both integers");
                }
                if a.ty.is_stringy() && a.ty != b.ty && (a.ty != Ty::Str || b.ty != Ty::Str) {
                    self.err(span, "`?:` cannot mix a probe name with other strings yet");
                }
                let ty = a.ty;
                int(TKind::Cond(Box::new(c), Box::new(a), Box::new(b)), ty)
            }
            ExprKind::Assign { .. } => {
                self.err(span, "an assignment is a statement here, not a value");
                int(TKind::Int(0), Ty::I64)
            }
            ExprKind::Cast { ty, expr } => {
                let v = self.expr(expr);
                match type_of(ty) {
                    Ok(Ty::Str) => {
                        self.err(ty.span, "cast to string: use copyinstr() for user memory");
                        v
                    }
                    Ok(t) => {
                        if v.ty.is_stringy() {
                            self.err(expr.span, "cannot cast a string to an integer");
                        }
                        if let TKind::Int(x) = v.kind {
                            return int(TKind::Int(truncate(x, t)), t);
                        }
                        int(TKind::Cast(Box::new(v)), t)
                    }
                    Err(m) => {
                        self.err(ty.span, m);
                        v
                    }
                }
            }
            ExprKind::Member { base, field, arrow: true } if matches!(&base.kind, ExprKind::Ident(n) if n == "args") => {
                self.typed_arg(ArgRef::Name(field), span, span)
            }
            ExprKind::Member { .. } => {
                self.err(span, "struct members are not supported yet");
                int(TKind::Int(0), Ty::I64)
            }
            ExprKind::SizeofType(t) => match type_of(t) {
                Ok(Ty::Int { size, .. }) => int(TKind::Int(i64::from(size)), Ty::U64),
                _ => {
                    self.err(span, "sizeof takes an integer or pointer type here");
                    int(TKind::Int(0), Ty::U64)
                }
            },
            ExprKind::SizeofExpr(x) => {
                let v = self.expr(x);
                match v.ty {
                    Ty::Int { size, .. } => int(TKind::Int(i64::from(size)), Ty::U64),
                    _ => {
                        self.err(span, "sizeof of a string is not supported yet");
                        int(TKind::Int(0), Ty::U64)
                    }
                }
            }
        }
    }

    fn macro_value(&mut self, m: &str, span: Span) -> TExpr {
        let name = m.trim_start_matches('$');
        let int = |v: i64| TExpr { kind: TKind::Int(v), ty: Ty::I64, span };
        match name {
            "target" => match self.macros.target {
                Some(p) => int(i64::from(p)),
                None => {
                    self.diags.push(
                        Diagnostic::error(span, "`$target` needs a target process")
                            .with_hint("start one with -c 'COMMAND' or name one with -p PID"),
                    );
                    int(0)
                }
            },
            "pid" => int(i64::from(std::process::id())),
            _ => match name.parse::<usize>() {
                Ok(n) if n >= 1 => match self.macros.args.get(n - 1) {
                    Some(v) if m.starts_with("$$") => TExpr { kind: TKind::Str(v.clone()), ty: Ty::Str, span },
                    Some(v) => match parse_int(v) {
                        Some(x) => int(x),
                        None => TExpr { kind: TKind::Str(v.clone()), ty: Ty::Str, span },
                    },
                    None => {
                        self.err(
                            span,
                            format!("`{m}` has no value: the script got {} argument(s)", self.macros.args.len()),
                        );
                        int(0)
                    }
                },
                _ => {
                    self.err(span, format!("unknown macro variable `{m}`"));
                    int(0)
                }
            },
        }
    }
}

/// `a[keys]` (global) or `self->a[keys]` (thread-local): whether it is
/// thread-local, the name and the keys.
fn array_target(e: &Expr) -> Option<(bool, &str, &[Expr])> {
    let ExprKind::Index { base, index } = &e.kind else { return None };
    match &base.kind {
        ExprKind::Ident(n) if n != "args" && builtin(n).is_none() => Some((false, n, index)),
        ExprKind::SelfVar(n) => Some((true, n, index)),
        _ => None,
    }
}

/// Whether `e` is a call of `stack` or `ustack` (which may be an
/// aggregation key or `trace`'s argument).
fn is_stack_call(e: &Expr) -> bool {
    matches!(&e.kind, ExprKind::Call { func, .. } if func == "stack" || func == "ustack")
}

/// Whether `e` is `args[N]` or `args->name` (which may be a float).
fn is_arg_ref(e: &Expr) -> bool {
    match &e.kind {
        ExprKind::Index { base, .. } | ExprKind::Member { base, arrow: true, .. } => {
            matches!(&base.kind, ExprKind::Ident(n) if n == "args")
        }
        _ => false,
    }
}

/// "an integer", "a string".
fn with_article(ty: Ty) -> String {
    match ty {
        Ty::Int { .. } => "an integer".into(),
        _ => format!("a {}", ty.name()),
    }
}

fn parse_int(s: &str) -> Option<i64> {
    if let Some(h) = s.strip_prefix("0x") {
        return i64::from_str_radix(h, 16).ok();
    }
    s.parse().ok()
}

fn lhs_text(e: &Expr) -> String {
    match &e.kind {
        ExprKind::Ident(n) => n.clone(),
        ExprKind::SelfVar(n) => format!("self->{n}"),
        ExprKind::ThisVar(n) => format!("this->{n}"),
        _ => "this".into(),
    }
}

/// Truncate `v` to the width and sign of `t`, as a C cast does.
pub fn truncate(v: i64, t: Ty) -> i64 {
    match t {
        Ty::Int { size, signed } if size < 8 => {
            let bits = 64 - 8 * u32::from(size);
            if signed {
                (v << bits) >> bits
            } else {
                ((v as u64) << bits >> bits) as i64
            }
        }
        _ => v,
    }
}

fn fold(op: BinOp, a: i64, b: i64) -> Option<i64> {
    Some(match op {
        BinOp::Add => a.wrapping_add(b),
        BinOp::Sub => a.wrapping_sub(b),
        BinOp::Mul => a.wrapping_mul(b),
        BinOp::Div if b != 0 => a.wrapping_div(b),
        BinOp::Mod if b != 0 => a.wrapping_rem(b),
        BinOp::BitAnd => a & b,
        BinOp::BitOr => a | b,
        BinOp::BitXor => a ^ b,
        BinOp::Shl => a.wrapping_shl(b as u32),
        BinOp::Shr => a.wrapping_shr(b as u32),
        BinOp::Eq => i64::from(a == b),
        BinOp::Ne => i64::from(a != b),
        BinOp::Lt => i64::from(a < b),
        BinOp::Le => i64::from(a <= b),
        BinOp::Gt => i64::from(a > b),
        BinOp::Ge => i64::from(a >= b),
        BinOp::LogAnd => i64::from(a != 0 && b != 0),
        BinOp::LogOr => i64::from(a != 0 || b != 0),
        BinOp::LogXor => i64::from((a != 0) != (b != 0)),
        _ => return None,
    })
}

fn builtin(name: &str) -> Option<Builtin> {
    Some(match name {
        "pid" => Builtin::Pid,
        "tid" => Builtin::Tid,
        "uid" => Builtin::Uid,
        "gid" => Builtin::Gid,
        "timestamp" => Builtin::Timestamp,
        "walltimestamp" => Builtin::Walltimestamp,
        "vtimestamp" => Builtin::Vtimestamp,
        "cpu" => Builtin::Cpu,
        "execname" => Builtin::Execname,
        "errno" => Builtin::Errno,
        "probeprov" => Builtin::Probe(ProbeField::Provider),
        "probemod" => Builtin::Probe(ProbeField::Module),
        "probefunc" => Builtin::Probe(ProbeField::Function),
        "probename" => Builtin::Probe(ProbeField::Name),
        "ppid" => Builtin::Ppid,
        "curthread" => Builtin::Curthread,
        _ => {
            let n: u8 = name.strip_prefix("arg")?.parse().ok()?;
            return (n < 12).then_some(Builtin::Arg(n));
        }
    })
}

/// Types as a diagnostic lists them: `integer, string`; stacks with their
/// kind and depth, which keys must match in too.
fn type_list(tys: &[Ty]) -> String {
    let name = |t: &Ty| match *t {
        Ty::Stack { user, frames } => format!("{} stack of {frames} frames", if user { "user" } else { "kernel" }),
        t => t.name().to_string(),
    };
    tys.iter().map(name).collect::<Vec<_>>().join(", ")
}

fn unsupported_builtin(name: &str) -> bool {
    matches!(name, "stackdepth" | "ustackdepth" | "caller" | "ucaller" | "curpsinfo")
}

fn builtin_type(b: Builtin) -> Ty {
    match b {
        Builtin::Execname => Ty::Str,
        Builtin::Probe(f) => Ty::Probe(f),
        Builtin::Pid | Builtin::Tid | Builtin::Uid | Builtin::Gid | Builtin::Cpu | Builtin::Ppid => {
            Ty::Int { size: 4, signed: false }
        }
        Builtin::Timestamp | Builtin::Walltimestamp | Builtin::Vtimestamp | Builtin::Curthread => Ty::U64,
        Builtin::Id => Ty::Int { size: 4, signed: false },
        Builtin::Arg(_) | Builtin::Errno => Ty::I64,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::diag::Source;

    #[test]
    fn increments_as_values_move_before_their_statement() {
        let ir = check_src("BEGIN { x = 5; y = x++; z = ++x; }").unwrap();
        let body = &ir.clauses[0].body;
        let names: Vec<String> = body
            .iter()
            .map(|st| match st {
                IStmt::Assign(VarRef::Global(i), _) => ir.globals[*i].name.clone(),
                IStmt::Assign(VarRef::Clause(i), _) => ir.clause_vars[*i].name.clone(),
                other => format!("{other:?}"),
            })
            .collect();
        // y = x++: a copy of x, x updated, y the copy; z = ++x: x, then z.
        assert_eq!(names, ["x", "%old0", "x", "y", "x", "z"], "{body:#?}");
        let IStmt::Assign(_, TExpr { kind: TKind::Var(VarRef::Clause(0)), .. }) = &body[3] else {
            panic!("y is not the copy: {body:#?}")
        };
    }

    #[test]
    fn increments_that_cannot_move_are_errors() {
        for (src, col) in
            [("BEGIN /x++ > 1/ { }", 8), ("BEGIN { y = z ? x++ : 0; }", 17), ("BEGIN { y = z && x--; }", 18)]
        {
            let e = check_src(src).unwrap_err();
            assert!(e.contains(&format!("t.d:1:{col}: error: `++`/`--` cannot be a value")), "{src}: {e}");
        }
        let e = check_src("BEGIN { y = a[1]++; }").unwrap_err();
        assert!(e.contains("on an array element are statements"), "{e}");
    }

    fn check_src(src: &str) -> Result<Ir, String> {
        let source = Source::new("t.d", src);
        let prog = crate::parse(&source).map_err(|d| crate::diag::render_all(&d, &source))?;
        check(&prog, &Macros { target: Some(42), args: vec!["7".into(), "x".into()], quiet: true, flowindent: false })
            .map_err(|d| crate::diag::render_all(&d, &source))
    }

    fn check_described(src: &str, args: &[(&str, ArgKind)]) -> Result<Ir, String> {
        let source = Source::new("t.d", src);
        let prog = crate::parse(&source).map_err(|d| crate::diag::render_all(&d, &source))?;
        let typed = ClauseArgs::Typed(args.iter().map(|(n, k)| (n.to_string(), *k)).collect());
        check_typed(&prog, &Macros { target: Some(42), args: vec![], quiet: true, flowindent: false }, &|_| {
            typed.clone()
        })
        .map_err(|d| crate::diag::render_all(&d, &source))
    }

    fn first_printf_args(ir: &Ir) -> Vec<TExpr> {
        match &ir.clauses[0].body[0] {
            IStmt::Printf { args, .. } => args.clone(),
            other => panic!("not a printf: {other:?}"),
        }
    }

    #[test]
    fn described_args_map_names_to_note_slots_past_two_slot_kinds() {
        let desc = [("s", ArgKind::Str), ("n", ArgKind::Int { size: 2, signed: true }), ("c", ArgKind::CStr)];
        let ir = check_described("p:::x { printf(\"%s %d %s\", args->s, args[1], args->c); }", &desc).unwrap();
        let a = first_printf_args(&ir);
        let arg = |n| TKind::Builtin(Builtin::Arg(n));
        // &str: pointer in slot 0, length in slot 1, read as a string.
        match &a[0].kind {
            TKind::Copyinstr(p, Some(l)) => assert_eq!((&p.kind, &l.kind), (&arg(0), &arg(1))),
            k => panic!("{k:?}"),
        }
        assert_eq!(a[0].ty, Ty::Str);
        assert_eq!((&a[1].kind, a[1].ty), (&arg(2), Ty::Int { size: 2, signed: true }));
        match &a[2].kind {
            TKind::Copyinstr(p, None) => assert_eq!(p.kind, arg(3)),
            k => panic!("{k:?}"),
        }
    }

    #[test]
    fn float_arguments_can_only_be_printed_with_percent_f_or_traced() {
        let desc = [("x", ArgKind::Float { size: 4 }), ("n", ArgKind::Int { size: 4, signed: true })];
        let ir = check_described("p:::x { printf(\"%f\", args->x); trace(args[0]); }", &desc).unwrap();
        assert_eq!(first_printf_args(&ir)[0].ty, Ty::Float { size: 4 });
        let e = check_described("p:::x { printf(\"%d\", args->x); }", &desc).unwrap_err();
        assert!(e.contains("t.d:1:22: error: `%d` cannot print a float"), "{e}");
        let e = check_described("p:::x { printf(\"%f\", args->n); }", &desc).unwrap_err();
        assert!(e.contains("t.d:1:22: error: `%f` needs a float argument, this is an integer"), "{e}");
        let e = check_described("p:::x { y = args->x; }", &desc).unwrap_err();
        assert!(e.contains("t.d:1:13: error: argument `x` is a float: it can only be printed"), "{e}");
        let e = check_described("p:::x { trace(args->x * 2); }", &desc).unwrap_err();
        assert!(e.contains("argument `x` is a float"), "{e}");
    }

    #[test]
    fn missing_described_args_are_errors_with_the_description() {
        let desc = [("fd", ArgKind::Int { size: 4, signed: true })];
        let e = check_described("p:::x { trace(args->path); }", &desc).unwrap_err();
        assert!(e.contains("t.d:1:15: error: the probe has no argument named `path`"), "{e}");
        assert!(e.contains("hint: args[0] fd: i32"), "{e}");
        let e = check_described("p:::x { trace(args[1]); }", &desc).unwrap_err();
        assert!(e.contains("t.d:1:20: error: the probe has 1 arguments; args[1] does not exist"), "{e}");
        let e = check_src("p:::x { trace(args->path); }").unwrap_err();
        assert!(e.contains("no argument names (no metadata record)"), "{e}");
        assert!(e.contains("use arg0, arg1"), "{e}");
    }

    #[test]
    fn histograms_take_a_hidden_bucket_key_and_constant_bounds() {
        let ir = check_src("BEGIN { @q[execname] = quantize(1); @l = lquantize(5, -10, 10, 5); }").unwrap();
        assert_eq!((ir.aggs[0].func, ir.aggs[0].keys.as_slice()), (AggFunc::Quantize, &[Ty::Str, Ty::I64][..]));
        assert_eq!(ir.aggs[1].func, AggFunc::Lquantize { lo: -10, hi: 10, step: 5 });
        let e = check_src("BEGIN { @l = lquantize(5, 0, pid, 1); }").unwrap_err();
        assert!(e.contains("t.d:1:30: error: lquantize's low, high and step must be integer constants"), "{e}");
        let e = check_src("BEGIN { @l = lquantize(5, -9223372036854775807, 9223372036854775807, 1); }").unwrap_err();
        assert!(e.contains("at most 1000 buckets"), "{e}");
        let e = check_src("BEGIN { @l = lquantize(5, 10, 0, 1); }").unwrap_err();
        assert!(e.contains("lquantize needs low < high"), "{e}");
        let e = check_src("BEGIN { @l = lquantize(5); }").unwrap_err();
        assert!(e.contains("`lquantize()` takes 4 arguments"), "{e}");
    }

    fn check_loud(src: &str) -> Ir {
        let source = Source::new("t.d", src);
        let prog = crate::parse(&source).unwrap();
        check(&prog, &Macros { target: None, args: vec![], quiet: false, flowindent: false }).unwrap()
    }

    /// The text of a clause's one record, with `{}` for each argument.
    fn record_text(ir: &Ir, clause: usize) -> Option<String> {
        let body = &ir.clauses[clause].body;
        let printfs: Vec<_> = body.iter().filter(|s| matches!(s, IStmt::Printf { .. })).collect();
        assert!(printfs.len() <= 1, "{body:?}");
        let IStmt::Printf { format, args } = printfs.first()? else { unreachable!() };
        let vals: Vec<_> = args.iter().map(|_| printf::Value::Str("{}".into())).collect();
        Some(ir.formats[*format].render(&vals, None))
    }

    #[test]
    fn without_quiet_a_clause_that_records_data_prints_a_probe_line() {
        let ir = check_loud(
            "BEGIN { trace(1); trace(\"s\"); trace((int)2); } BEGIN { x = 1; @ = count(); } BEGIN {} BEGIN \
             BEGIN { printf(\"a\"); exit(0); }",
        );
        // The probe line's columns, then the trace()s in dtrace(1)'s columns, then a newline.
        let probe_line = format!("{:>3} {:>6} {:>32} ", "{}", "{}", "{}");
        let trace = format!("{probe_line} {:>16}  {:<33} {:>8}\n", "{}", "{}", "{}");
        assert_eq!(record_text(&ir, 0).as_deref(), Some(trace.as_str()));
        assert!(ir.formats.iter().any(|f| f.heading));
        // Assignments and aggregations record nothing: no line.
        assert_eq!(record_text(&ir, 1), None);
        // No statement: the default action, the probe line alone.
        assert_eq!(record_text(&ir, 2).as_deref(), Some(format!("{probe_line}\n").as_str()));
        assert_eq!(record_text(&ir, 3).as_deref(), Some(format!("{probe_line}\n").as_str()));
        // The newline comes before exit(), whose record ends the output.
        assert_eq!(record_text(&ir, 4).as_deref(), Some(format!("{probe_line}a\n").as_str()));
        assert!(matches!(ir.clauses[4].body.last(), Some(IStmt::Exit(_))));
    }

    #[test]
    fn quiet_trace_prints_bare_values_and_no_probe_line() {
        let ir = check_src("BEGIN { trace(1); trace(\"s\"); } BEGIN {} BEGIN").unwrap();
        assert_eq!(record_text(&ir, 0).as_deref(), Some("{}{}"));
        assert_eq!(record_text(&ir, 1), None);
        assert_eq!(record_text(&ir, 2), None);
        assert!(!ir.formats.iter().any(|f| f.heading));
        // Records that both hold strings are joined up to MERGED_STRINGS
        // strings (scratch space grows with strsize).
        let ir = check_src("BEGIN { trace(execname); trace(execname); trace(execname); trace(1); }").unwrap();
        let records: Vec<usize> = ir.clauses[0]
            .body
            .iter()
            .filter_map(|s| match s {
                IStmt::Printf { args, .. } => Some(args.len()),
                _ => None,
            })
            .collect();
        assert_eq!(records, [MERGED_STRINGS, 4 - MERGED_STRINGS]);
        // The pragma makes a program quiet without -q.
        let ir = check_loud("#pragma D option quiet\nBEGIN { trace(1); }");
        assert_eq!(record_text(&ir, 0).as_deref(), Some("{}"));
    }

    #[test]
    fn a_speculative_clause_has_its_probe_line_in_the_speculation() {
        let ir = check_loud("BEGIN { speculate(1); printf(\"x\"); }");
        assert!(matches!(ir.clauses[0].body[0], IStmt::Speculate(_)), "{:?}", ir.clauses[0].body);
        assert!(matches!(ir.clauses[0].body[1], IStmt::Printf { .. }));
    }

    #[test]
    fn stacks_are_actions_trace_arguments_or_aggregation_keys_only() {
        let ir = check_src("BEGIN { stack(); ustack(5); trace(ustack()); @[stack(), pid] = count(); }").unwrap();
        assert!(ir.uses_stacks);
        assert_eq!(ir.aggs[0].keys[0], Ty::Stack { user: false, frames: MAX_FRAMES });
        // The three actions are one record (adjacent printfs are joined).
        let IStmt::Printf { args, .. } = &ir.clauses[0].body[0] else { panic!("{:?}", ir.clauses[0].body[0]) };
        assert_eq!(args.len(), 3);
        assert_eq!(args[1].ty, Ty::Stack { user: true, frames: 5 });
        let e = check_src("BEGIN { x = ustack(); }").unwrap_err();
        assert!(
            e.contains("t.d:1:13: error: `ustack()` can only be an action, a `trace` argument or an aggregation key"),
            "{e}"
        );
        let e = check_src("BEGIN { ustack(0); }").unwrap_err();
        assert!(e.contains("t.d:1:16: error: ustack's frame count must be a constant from 1 to 127"), "{e}");
        let e = check_src("BEGIN { stack(1, 2); }").unwrap_err();
        assert!(e.contains("stack takes at most one argument"), "{e}");
        let e = check_src("BEGIN { printf(\"%s\", stack()); }").unwrap_err();
        assert!(e.contains("`stack()` can only be"), "{e}");
        let e = check_src("BEGIN { @[stack() + 1] = count(); }").unwrap_err();
        assert!(e.contains("t.d:1:11: error: `stack()` can only be"), "{e}");
        let e = check_src("BEGIN { trace(ustack(stack())); }").unwrap_err();
        assert!(e.contains("t.d:1:22: error: `stack()` can only be"), "{e}");
    }

    #[test]
    fn llquantize_checks_its_constants_at_their_spans() {
        let ir = check_src("BEGIN { @l = llquantize(5, 10, 0, 6, 20); @s = stddev(1); }").unwrap();
        assert_eq!(ir.aggs[0].func, AggFunc::Llquantize { factor: 10, low: 0, high: 6, nsteps: 20 });
        assert_eq!(ir.aggs[1].func, AggFunc::Stddev);
        let e = check_src("BEGIN { @l = llquantize(5, 1, 0, 6, 20); }").unwrap_err();
        assert!(e.contains("t.d:1:28: error: llquantize's factor must be at least 2"), "{e}");
        let e = check_src("BEGIN { @l = llquantize(5, 10, -1, 6, 20); }").unwrap_err();
        assert!(e.contains("t.d:1:32: error: llquantize's low magnitude must not be negative"), "{e}");
        let e = check_src("BEGIN { @l = llquantize(5, 10, 3, 3, 20); }").unwrap_err();
        assert!(e.contains("t.d:1:35: error: llquantize's high magnitude must be greater"), "{e}");
        let e = check_src("BEGIN { @l = llquantize(5, 10, 0, 19, 20); }").unwrap_err();
        assert!(e.contains("t.d:1:35: error: llquantize's factor to the power high + 1 does not fit"), "{e}");
        let e = check_src("BEGIN { @l = llquantize(5, 10, 0, 6, 15); }").unwrap_err();
        assert!(e.contains("t.d:1:38: error: llquantize's nsteps must be a multiple of the factor"), "{e}");
        let e = check_src("BEGIN { @l = llquantize(5, 10, pid, 6, 20); }").unwrap_err();
        assert!(
            e.contains("t.d:1:32: error: llquantize's factor, low, high and nsteps must be integer constants"),
            "{e}"
        );
        let e = check_src("BEGIN { @l = llquantize(5, 2, 0, 40, 1000); }").unwrap_err();
        assert!(e.contains("llquantize makes more than 1000 buckets"), "{e}");
        let e = check_src("BEGIN { @l = llquantize(5, 10, 0, 17, 1000000000000000000); }").unwrap_err();
        assert!(e.contains("llquantize makes more than 1000 buckets"), "{e}");
        let e = check_src("BEGIN { @l = llquantize(5, 10); }").unwrap_err();
        assert!(e.contains("`llquantize()` takes 5 arguments"), "{e}");
    }

    #[test]
    fn llquantize_bounds_step_through_each_magnitude() {
        assert_eq!(llquantize_bounds(10, 0, 1, 10), [1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 20, 30, 40, 50, 60, 70, 80, 90]);
        assert_eq!(llquantize_bounds(2, 1, 2, 4), [2, 3, 4, 6]);
        assert_eq!(llquantize_count(10, 0, 1, 10), 18);
        assert_eq!(llquantize_count(2, 1, 2, 4), 4);
    }

    #[test]
    fn speculate_comes_first_and_excludes_exit_and_aggregations() {
        let ir = check_src("BEGIN { x = speculation(); speculate(x); printf(\"a\"); } END { commit(x); discard(x); }")
            .unwrap();
        assert!(ir.uses_speculation);
        assert!(matches!(ir.clauses[0].body[1], IStmt::Speculate(_)));
        assert!(matches!(ir.clauses[1].body[0], IStmt::EndSpeculation { commit: true, .. }));
        let e = check_src("BEGIN { printf(\"a\"); speculate(1); }").unwrap_err();
        assert!(e.contains("t.d:1:22: error: speculate() must come before the clause's data-recording actions"), "{e}");
        let e = check_src("BEGIN { speculate(1); exit(0); }").unwrap_err();
        assert!(e.contains("t.d:1:23: error: exit() cannot be in a clause that calls speculate()"), "{e}");
        let e = check_src("BEGIN { speculate(1); @a = count(); }").unwrap_err();
        assert!(e.contains("t.d:1:23: error: an aggregation cannot be in a clause that calls speculate()"), "{e}");
        let e = check_src("BEGIN { @a = count(); speculate(1); }").unwrap_err();
        assert!(e.contains("a clause that calls speculate() cannot hold an aggregation"), "{e}");
        let e = check_src("BEGIN { speculate(1); speculate(2); }").unwrap_err();
        assert!(e.contains("a clause can call speculate() once"), "{e}");
        let e = check_src("BEGIN { if (1) { speculate(1); } }").unwrap_err();
        assert!(e.contains("speculate() cannot be inside an `if`"), "{e}");
        let e = check_src("BEGIN { commit(); }").unwrap_err();
        assert!(e.contains("commit takes a speculation id"), "{e}");
    }

    #[test]
    fn normalize_takes_an_aggregation_and_a_divisor() {
        let ir = check_src("BEGIN { @s = sum(1); normalize(@s, 1000); denormalize(@s); }").unwrap();
        assert!(matches!(&ir.clauses[0].body[1], IStmt::Normalize { agg: 0, by } if by.kind == TKind::Int(1000)));
        assert!(matches!(&ir.clauses[0].body[2], IStmt::Normalize { agg: 0, by } if by.kind == TKind::Int(1)));
        let e = check_src("BEGIN { @s = sum(1); normalize(@s); }").unwrap_err();
        assert!(e.contains("t.d:1:22: error: normalize takes an aggregation and a divisor"), "{e}");
        let e = check_src("BEGIN { @s = sum(1); normalize(@s, execname); }").unwrap_err();
        assert!(e.contains("normalize's divisor"), "{e}");
    }

    #[test]
    fn variables_take_the_type_of_their_first_assignment() {
        let ir = check_src("BEGIN { x = 1; self->s = execname; } END { printf(\"%d %s\\n\", x, self->s); }").unwrap();
        assert_eq!(ir.globals, [Var { name: "x".into(), ty: Ty::I64 }]);
        assert_eq!(ir.thread_vars, [Var { name: "s".into(), ty: Ty::Str }]);
    }

    #[test]
    fn type_errors_point_at_the_source() {
        let e = check_src("BEGIN { printf(\"%d\\n\", execname); }").unwrap_err();
        assert!(e.contains("t.d:1:24: error: `%d` needs an integer, this is a string"), "{e}");
        let e = check_src("BEGIN { y = z + 1; }").unwrap_err();
        assert!(e.contains("`z` is used before anything is assigned to it"), "{e}");
        let e = check_src("BEGIN { @a = count(); @a = sum(1); }").unwrap_err();
        assert!(e.contains("one aggregation takes one function"), "{e}");
        let e = check_src("BEGIN { printf(\"%d %d\\n\", 1); }").unwrap_err();
        assert!(e.contains("the format takes 2 argument(s) but 1 were given"), "{e}");
    }

    #[test]
    fn several_errors_are_reported_at_once() {
        let e = check_src("BEGIN { a = b; c = d; }").unwrap_err();
        assert_eq!(e.matches("error:").count(), 2, "{e}");
    }

    #[test]
    fn constants_fold_and_macros_expand() {
        let ir = check_src("BEGIN /pid == $target/ { exit(-1 + 2 * $1); }").unwrap();
        let IStmt::Exit(v) = &ir.clauses[0].body[0] else { panic!() };
        assert_eq!(v.kind, TKind::Int(13));
        assert!(check_src("BEGIN { trace($3); }").unwrap_err().contains("the script got 2 argument(s)"));
    }

    #[test]
    fn casts_truncate_like_c() {
        assert_eq!(truncate(0x1ff, Ty::Int { size: 1, signed: false }), 0xff);
        assert_eq!(truncate(0xff, Ty::Int { size: 1, signed: true }), -1);
        assert_eq!(truncate(-1, Ty::Int { size: 4, signed: false }), 0xffff_ffff);
    }

    #[test]
    fn associative_arrays_take_key_and_value_types_from_the_first_assignment() {
        let ir = check_src("BEGIN { a[\"x\", 1] = 2; self->s[3] = execname; a[\"y\", 2]++; }").unwrap();
        assert_eq!(ir.arrays.len(), 2);
        assert_eq!(
            (ir.arrays[0].thread, ir.arrays[0].keys.as_slice(), ir.arrays[0].value),
            (false, &[Ty::Str, Ty::I64][..], Ty::I64)
        );
        assert_eq!((ir.arrays[1].thread, ir.arrays[1].value), (true, Ty::Str));
        // `++` reads the element and stores the sum.
        let IStmt::ArraySet { value, .. } = &ir.clauses[0].body[2] else { panic!("{:?}", ir.clauses[0].body[2]) };
        assert!(matches!(&value.kind, TKind::Binary(BinOp::Add, cur, _) if matches!(cur.kind, TKind::ArrayGet(0, _))));
    }

    #[test]
    fn declared_arrays_can_be_read_before_any_assignment() {
        let ir = check_src("self int n[string]; BEGIN { trace(self->n[\"a\"]); }").unwrap();
        assert_eq!(ir.arrays[0].keys, [Ty::Str]);
        assert!(ir.arrays[0].thread);
    }

    #[test]
    fn array_misuse_is_reported_with_its_span() {
        let e = check_src("BEGIN { a[1] = 2; a[\"s\"] = 3; }").unwrap_err();
        assert!(e.contains("t.d:1:19: error: `a` is keyed by [integer] elsewhere, not by [string]"), "{e}");
        let e = check_src("BEGIN { a[1] = 2; a = 3; }").unwrap_err();
        assert!(e.contains("`a` is an associative array"), "{e}");
        let e = check_src("BEGIN { x = 1; y = x[0]; }").unwrap_err();
        assert!(e.contains("`x` is a scalar variable, not an associative array"), "{e}");
        let e = check_src("BEGIN { a[1] = \"s\"; a[2] = 3; }").unwrap_err();
        assert!(e.contains("cannot store an integer in `a[…]`, which holds strings"), "{e}");
        let e = check_src("BEGIN { y = b[1]; }").unwrap_err();
        assert!(e.contains("`b` is used before anything is assigned to it"), "{e}");
    }

    #[test]
    fn string_functions_check_their_arguments() {
        let ir = check_src("BEGIN { x = index(\"ab\", \"b\", 1); s = substr(strjoin(\"a\", \"b\"), 1); }").unwrap();
        assert_eq!(ir.globals, [Var { name: "x".into(), ty: Ty::I64 }, Var { name: "s".into(), ty: Ty::Str }]);
        let e = check_src("BEGIN { s = substr(\"a\"); }").unwrap_err();
        assert!(e.contains("substr takes a string, an integer, and optionally an integer"), "{e}");
        let e = check_src("BEGIN { s = strjoin(\"a\", 1); }").unwrap_err();
        assert!(e.contains("t.d:1:26: error: strjoin needs a string here"), "{e}");
        let e = check_src("BEGIN { s = lltostr(\"a\"); }").unwrap_err();
        assert!(e.contains("lltostr needs an integer here"), "{e}");
        let e = check_src("BEGIN { x = stackdepth; }").unwrap_err();
        assert!(e.contains("the built-in `stackdepth` is not supported yet"), "{e}");
    }

    #[test]
    fn ppid_and_progenyof_ask_for_the_kernels_btf() {
        assert!(!check_src("BEGIN { x = pid; }").unwrap().uses_task);
        assert!(check_src("BEGIN { x = ppid; }").unwrap().uses_task);
        assert!(check_src("BEGIN { x = progenyof(1); }").unwrap().uses_task);
        assert!(!check_src("BEGIN { x = curthread; }").unwrap().uses_task);
    }

    #[test]
    fn printa_of_several_aggregations_checks_keys_and_conversions() {
        let ir = check_src("BEGIN { @a[1] = count(); @b[2] = sum(3); printa(\"%d %@d %@d\\n\", @a, @b); }").unwrap();
        assert!(ir.clauses[0].body.contains(&IStmt::Printa(0)));
        assert_eq!(ir.printas, [Printa { format: Some(0), aggs: vec![0, 1] }]);
        let e = check_src("BEGIN { @a[1] = count(); @b[\"x\"] = sum(3); printa(\"%@d %@d\", @a, @b); }").unwrap_err();
        assert!(e.contains("t.d:1:66: error: @b is keyed by [string], @a by [integer]"), "{e}");
        let e = check_src("BEGIN { @a[1] = count(); @b[2] = sum(3); printa(\"%@d\", @a, @b); }").unwrap_err();
        assert!(e.contains("t.d:1:49: error: the format has 1 `%@` conversion for 2 aggregations"), "{e}");
        let e = check_src("BEGIN { @a[1] = count(); @b[2] = sum(3); printa(\"%@d %@d %@d\", @a, @b); }").unwrap_err();
        assert!(e.contains("the format has 3 `%@` conversions for 2 aggregations"), "{e}");
        let e = check_src("BEGIN { @a = count(); printa(\"%@d\\n\"); }").unwrap_err();
        assert!(e.contains("printa needs an aggregation after its format"), "{e}");
        let e = check_src("BEGIN { @a = count(); printa(\"%@d %@d\", @a, 1); }").unwrap_err();
        assert!(e.contains("t.d:1:45: error: expected an aggregation"), "{e}");
    }

    #[test]
    fn printa_of_several_aggregations_needs_no_format() {
        let ir = check_src("BEGIN { @a[1] = count(); @b[2] = sum(3); printa(@a, @b); }").unwrap();
        assert_eq!(ir.printas, [Printa { format: None, aggs: vec![0, 1] }]);
    }

    /// Regression: a probe name and an integer were taken for keys of the
    /// same type (only strings were told apart), so the printed rows never
    /// matched up.
    #[test]
    fn printa_keys_must_print_alike() {
        let e =
            check_src("BEGIN { @a[probefunc] = count(); @b[1] = count(); printa(\"%@d %@d\", @a, @b); }").unwrap_err();
        assert!(e.contains("t.d:1:73: error: @b is keyed by [integer], @a by [string (probe name)]"), "{e}");
        let e = check_src("BEGIN { @a[1, 2] = count(); @b[1] = count(); printa(@a, @b); }").unwrap_err();
        assert!(e.contains("@b is keyed by [integer], @a by [integer, integer]"), "{e}");
        let e = check_src("BEGIN { @a[stack()] = count(); @b[ustack()] = count(); printa(@a, @b); }").unwrap_err();
        assert!(e.contains("@b is keyed by [user stack of 127 frames], @a by [kernel stack of 127 frames]"), "{e}");
        // A probe name is a string; integers of any width match; a
        // histogram's bucket is not one of its keys.
        check_src("BEGIN { @a[probefunc] = count(); @b[\"x\"] = sum(1); printa(@a, @b); }").unwrap();
        check_src("BEGIN { @a[(int)1, pid] = count(); @b[2, 3] = sum(1); printa(@a, @b); }").unwrap();
        check_src("BEGIN { @a[1] = count(); @b[2] = quantize(3); printa(\"%d %@d %@d\", @a, @b); }").unwrap();
        let e =
            check_src("BEGIN { @a[1] = count(); @b[\"x\"] = lquantize(3, 0, 10, 1); printa(@a, @b); }").unwrap_err();
        assert!(e.contains("@b is keyed by [string], @a by [integer]"), "{e}");
    }

    #[test]
    fn vtimestamp_asks_for_on_cpu_accounting() {
        let ir = check_src("BEGIN { x = vtimestamp; }").unwrap();
        assert!(ir.uses_vtime);
        assert_eq!(ir.globals, [Var { name: "x".into(), ty: Ty::U64 }]);
        assert!(!check_src("BEGIN { x = timestamp; }").unwrap().uses_vtime);
    }

    #[test]
    fn probefunc_against_a_literal_compares_ids() {
        let ir = check_src("syscall:::entry /probefunc == \"read\"/ { @[probefunc] = count(); }").unwrap();
        assert!(matches!(ir.clauses[0].predicate.as_ref().unwrap().kind, TKind::ProbeIs { negate: false, .. }));
        assert_eq!(ir.aggs[0].keys, [Ty::Probe(ProbeField::Function)]);
    }

    #[test]
    fn a_constant_zero_divisor_is_a_compile_error() {
        for program in ["BEGIN { x = 1 / 0; }", "BEGIN { x = timestamp % 0; }"] {
            let e = check_src(program).unwrap_err();
            assert!(e.contains("error: division by zero"), "{e}");
        }
        assert!(check_src("BEGIN { z = 0; x = 1 / z; }").is_ok());
    }
}
