//! Record shaping: what `trace()` prints, whether a clause records data
//! (and so gets dtrace(1)'s probe line), adjacent printfs joined into one
//! ring-buffer record, and whether a clause reads its arguments.

use super::*;

/// The format `trace(x)` prints `x` with, as dtrace(1) does: bare when
/// quiet, else in a column after a space (integers right-aligned by size,
/// strings left-aligned in 33). A stack keeps its own lines.
pub(super) fn trace_format(ty: Ty, quiet: bool) -> Format {
    let text = match ty {
        Ty::Stack { .. } if quiet => "%s\n",
        Ty::Stack { .. } => "\n%s",
        Ty::Str | Ty::Probe(_) | Ty::Sym { .. } if quiet => "%s",
        Ty::Str | Ty::Probe(_) | Ty::Sym { .. } => "  %-33s",
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
/// line: any action but assignments, aggregations and `printevent()`
/// (whose line names the probe itself).
pub(super) fn records_data(body: &[IStmt]) -> bool {
    body.iter().any(|s| match s {
        IStmt::Printf { .. }
        | IStmt::Printa(_)
        | IStmt::AggOp { .. }
        | IStmt::Normalize { .. }
        | IStmt::Exit(_)
        | IStmt::Speculate(_)
        | IStmt::EndSpeculation { .. } => true,
        IStmt::If(_, t, e) => records_data(t) || records_data(e),
        IStmt::Nop
        | IStmt::Event
        | IStmt::Assign(..)
        | IStmt::Free(_)
        | IStmt::Raise(_)
        | IStmt::ArraySet { .. }
        | IStmt::Aggregate { .. } => false,
    })
}

/// Join each run of adjacent `printf`s into one, so that a firing's line
/// (probe line, `trace`s, `printf`s) is one record: fewer ring-buffer
/// writes, and no other CPU's output can land inside the line. Two
/// records that both hold strings are joined only up to
/// [`MERGED_STRINGS`] strings, so that a large `strsize` still fits the
/// scratch space.
pub(super) fn merge_printfs(formats: &mut Vec<Format>, body: &mut Vec<IStmt>) {
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
                    && !formats[*a].system
                    && !formats[b].system
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
pub(super) const MERGED_STRINGS: usize = 2;

pub(super) fn uses_args_clause(pred: Option<&TExpr>, body: &[IStmt]) -> bool {
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
            IStmt::Assign(_, v) | IStmt::Exit(v) | IStmt::Speculate(v) | IStmt::Raise(v) => e(v),
            IStmt::EndSpeculation { id, .. } => e(id),
            IStmt::ArraySet { keys, value, .. } => keys.iter().any(e) || e(value),
            IStmt::Aggregate { keys, value, .. } => keys.iter().any(e) || value.as_ref().is_some_and(e),
            IStmt::Printf { args, .. } => args.iter().any(e),
            IStmt::Event => true,
            IStmt::If(c, a, b) => e(c) || a.iter().any(s) || b.iter().any(s),
            _ => false,
        }
    }
    pred.is_some_and(e) || body.iter().any(s)
}
