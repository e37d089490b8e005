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
//!
//! One concept per submodule: `ir` the checked program's types,
//! `variables` declarations and variables, `statements` statements and the
//! default action's probe line, `aggregations` aggregations and `printa`,
//! `actions` actions and built-in calls, `expressions` operators, built-in
//! variables and macros, `records` the shaping of ring-buffer records.

use std::collections::{HashMap, HashSet};

use stap_notes::meta::ArgKind;

use super::ast::{self, BaseType, BinOp, Expr, ExprKind, Item, Scope, Signedness, StmtKind, TypeName, UnaryOp};
use super::diag::{Diagnostic, Span};
use super::printf::{self, Conv, Format};

mod actions;
mod aggregations;
mod expressions;
mod ir;
mod records;
mod statements;
#[cfg(test)]
mod tests;
mod variables;

pub use self::expressions::truncate;
use self::expressions::*;
pub use self::ir::*;
use self::records::*;
use self::variables::*;

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
    /// The probe descriptions of the clause being checked.
    clause_descs: Vec<ast::ProbeDesc>,
    /// The kernel's types, for `curthread->…`.
    kernel: &'m dyn KernelTypes,
    /// `inline` names: each one's type and the expression it stands for.
    inlines: HashMap<String, (Ty, Expr)>,
    /// The inlines being expanded (so that one naming itself is an error).
    expanding: Vec<String>,
    /// Unset `$N` are 0 and `$$N` "" (see [`Macros::defaultargs`]).
    defaultargs: bool,
    /// Destructive actions are allowed (see [`Macros::destructive`]).
    destructive: bool,
    /// A survey of the program's assignments (see [`check_typed`]).
    survey: bool,
    /// The types surveys learnt: a variable read before the clause that
    /// assigns it has its type.
    known: Known,
    /// The spans of zeros whose type their use decides: `NULL`, and in a
    /// survey a variable not yet typed. Such a zero compared with, or
    /// chosen instead of, a string is the empty string.
    zeros: HashSet<Span>,
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
    check_with_kernel(program, macros, describe, &NoKernelTypes)
}

/// [`check_typed`], with `kernel` resolving member paths from `curthread`.
pub fn check_with_kernel(
    program: &ast::Program,
    macros: &Macros,
    describe: &dyn Fn(&ast::Clause) -> ClauseArgs,
    kernel: &dyn KernelTypes,
) -> Result<Ir, Vec<Diagnostic>> {
    let args: Vec<ClauseArgs> = program
        .items
        .iter()
        .filter_map(|i| match i {
            Item::Clause(cl) => Some(describe(cl)),
            _ => None,
        })
        .collect();
    // DTrace lets a clause read a variable that only a later clause
    // assigns (it reads 0 or ""), so the types of variables come from
    // surveys of the whole program first: each survey's assignments type
    // what the next one reads, until nothing new is learnt.
    let mut known = Known::default();
    for _ in 0..4 {
        let survey = check_pass(program, macros, kernel, &args, &known, true).ir;
        let learnt = Known::from_ir(&survey);
        if learnt == known {
            break;
        }
        known = learnt;
    }
    let c = check_pass(program, macros, kernel, &args, &known, false);
    if c.diags.is_empty() {
        Ok(c.ir)
    } else {
        Err(c.diags)
    }
}

/// Types of variables and arrays that some clause assigns, learnt by a
/// survey of the program.
#[derive(Debug, Default, Clone, PartialEq)]
struct Known {
    vars: HashMap<(Scope, String), Ty>,
    arrays: Vec<Array>,
}

impl Known {
    fn from_ir(ir: &Ir) -> Known {
        let mut vars = HashMap::new();
        for (scope, list) in
            [(Scope::Global, &ir.globals), (Scope::ThreadLocal, &ir.thread_vars), (Scope::ClauseLocal, &ir.clause_vars)]
        {
            for v in list {
                vars.insert((scope, v.name.clone()), v.ty);
            }
        }
        Known { vars, arrays: ir.arrays.clone() }
    }
}

/// One pass of the checker over `program`, knowing the types `known` of
/// variables that some clause assigns. A `survey` leaves variables that
/// nothing is known of untyped where they are read (its diagnostics are
/// not shown).
fn check_pass<'m>(
    program: &ast::Program,
    macros: &'m Macros,
    kernel: &'m dyn KernelTypes,
    args: &[ClauseArgs],
    known: &Known,
    survey: bool,
) -> Checker<'m> {
    let pragma = |option: &str| program.items.iter().any(|i| matches!(i, Item::Pragma { name, .. } if name == option));
    // NDJSON output has no probe lines: a record says what it is.
    let json = program.items.iter().any(
        |i| matches!(i, Item::Pragma { name, value, .. } if name == "json" || (name == "oformat" && value.as_deref() == Some("json"))),
    );
    let quiet = macros.quiet || pragma("quiet") || json;
    let flowindent = macros.flowindent || pragma("flowindent");
    let defaultargs = macros.defaultargs || pragma("defaultargs");
    let destructive = macros.destructive || pragma("destructive");
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
        inlines: HashMap::new(),
        expanding: Vec::new(),
        clause_descs: Vec::new(),
        kernel,
        defaultargs,
        destructive,
        survey,
        known: known.clone(),
        zeros: HashSet::new(),
    };
    let mut args = args.iter();
    for item in &program.items {
        match item {
            Item::Pragma { name, value, span } => c.ir.options.push((name.clone(), value.clone(), *span)),
            Item::Decl(d) => c.declare(d),
            Item::Inline(i) => c.define_inline(i),
            Item::Clause(cl) => {
                c.clause_args = args.next().cloned().unwrap_or(ClauseArgs::Unknown);
                c.clause_descs = cl.descs.clone();
                c.speculated = None;
                c.recorded = None;
                c.unspeculable = None;
                // `/lines++ > 20/`: the increment happens as the predicate is
                // tested, so it moves before the test (see below).
                let mut predicate = cl.predicate.as_ref().map(|p| {
                    let e = c.expr(p);
                    c.want_scalar(&e, "a predicate");
                    e
                });
                let before_predicate = std::mem::take(&mut c.hoisted);
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
                if !before_predicate.is_empty() {
                    if body.iter().any(|s| matches!(s, IStmt::Speculate(_))) {
                        let at = cl.predicate.as_ref().map_or(cl.span, |p| p.span);
                        c.err(at, "a clause that calls speculate() cannot have `++`/`--` in its predicate");
                    }
                    let test = predicate.take().expect("the increments came from the predicate");
                    let mut wrapped = before_predicate;
                    wrapped.push(IStmt::If(test, body, Vec::new()));
                    body = wrapped;
                }
                let uses_args = uses_args_clause(predicate.as_ref(), &body);
                c.ir.clauses.push(IClause { descs: cl.descs.clone(), predicate, body, uses_args, span: cl.span });
            }
        }
    }
    c
}

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
}
