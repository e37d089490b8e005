//! Expressions: operators with DTrace's typing and constant folding,
//! variables, built-in variables and macros (`$target`, `$1`), and the
//! names of built-ins.

use super::*;

impl Checker<'_> {
    /// Whether `e` is a zero whose type its use decides (see `zeros`).
    pub(super) fn is_zero(&self, e: &TExpr) -> bool {
        e.kind == TKind::Int(0) && self.zeros.contains(&e.span)
    }

    /// `e` as the other operand's type: a zero of undecided type beside a
    /// string is the empty string (`s != NULL` is `s != ""`).
    pub(super) fn adopt(&self, e: TExpr, other: Ty) -> TExpr {
        if other == Ty::Str && self.is_zero(&e) {
            TExpr { kind: TKind::Str(String::new()), ty: Ty::Str, span: e.span }
        } else {
            e
        }
    }

    /// A variable that is read but not typed yet: 0, typed by its use.
    pub(super) fn untyped(&mut self, span: Span) -> TExpr {
        if self.survey {
            self.zeros.insert(span);
        }
        TExpr { kind: TKind::Int(0), ty: Ty::I64, span }
    }

    pub(super) fn binary(&mut self, op: BinOp, l: TExpr, r: TExpr, span: Span) -> TExpr {
        let (lt, rt) = (l.ty, r.ty);
        let (l, r) = (self.adopt(l, rt), self.adopt(r, lt));
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

    pub(super) fn expr(&mut self, e: &Expr) -> TExpr {
        let span = e.span;
        let int = |kind, ty| TExpr { kind, ty, span };
        match &e.kind {
            ExprKind::Int(lit) => {
                let signed = !lit.unsigned && lit.value <= i64::MAX as u64;
                int(TKind::Int(lit.value as i64), if signed { Ty::I64 } else { Ty::U64 })
            }
            ExprKind::Char(c) => int(TKind::Int(i64::from(*c)), Ty::Int { size: 1, signed: true }),
            ExprKind::Str(s) => TExpr { kind: TKind::Str(s.clone()), ty: Ty::Str, span },
            // There are no zones on Linux: every process is in the global one.
            ExprKind::Ident(name) if name == "zonename" => {
                TExpr { kind: TKind::Str("global".into()), ty: Ty::Str, span }
            }
            ExprKind::Ident(name) if name == "NULL" => {
                self.zeros.insert(span);
                int(TKind::Int(0), Ty::U64)
            }
            ExprKind::Ident(name) => match builtin(name) {
                Some(b) => {
                    self.ir.uses_probefunc |= b == Builtin::Probe(ProbeField::Function);
                    self.ir.uses_task |= b == Builtin::Ppid;
                    self.ir.uses_vtime |= b == Builtin::Vtimestamp;
                    int(TKind::Builtin(b), builtin_type(b))
                }
                None if self.inlines.contains_key(name) => self.inline_value(name, span).expect("an inline's value"),
                None if system_constant(name).is_some() && !self.scalar_exists(false, name) => {
                    int(TKind::Int(system_constant(name).expect("checked")), Ty::Int { size: 4, signed: true })
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
                            if name == "curpsinfo" || name == "curlwpsinfo" {
                                d.message = format!("`{name}` is read through its members");
                                d.hint = Some(format!("{name}->pr_pid, …"));
                            } else if unsupported_builtin(name) {
                                d.message = format!("the built-in `{name}` is not supported yet");
                                d.hint = None;
                            }
                        }
                        self.untyped(span)
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
                    None => self.untyped(span),
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
                        None => self.untyped(span),
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
                let (at, bt) = (a.ty, b.ty);
                let (a, b) = (self.adopt(a, bt), self.adopt(b, at));
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
            ExprKind::Member { base, field, arrow: true }
                if self.signal_send_args() && signal_send_arg(base).is_some() =>
            {
                let n = signal_send_arg(base).expect("matched above");
                let member = match (n, field.as_str()) {
                    (1, "pr_pid") => Some(TaskField::Pid),
                    (1, "pr_ppid") => Some(TaskField::Ppid),
                    (1, "pr_fname") => Some(TaskField::Fname),
                    (0, "pr_lwpid") => Some(TaskField::Tid),
                    _ => None,
                };
                match member {
                    Some(f) => {
                        self.ir.uses_task = true;
                        let b = Builtin::Other(f);
                        int(TKind::Builtin(b), builtin_type(b))
                    }
                    None => {
                        let has = if n == 0 { "pr_lwpid" } else { "pr_pid, pr_ppid, pr_fname" };
                        self.diags.push(
                            Diagnostic::error(span, format!("`args[{n}]->{field}` is not a member sdtrace reads"))
                                .with_hint(format!("in proc:::signal-send and sched:::wakeup, args[{n}] has {has}")),
                        );
                        int(TKind::Int(0), Ty::I64)
                    }
                }
            }
            ExprKind::Member { base, field, arrow: true } if matches!(&base.kind, ExprKind::Ident(n) if n == "curpsinfo" || n == "curlwpsinfo") =>
            {
                let ExprKind::Ident(of) = &base.kind else { unreachable!("matched above") };
                self.translated(of, field, span)
            }
            ExprKind::Member { .. } if curthread_path(e).is_some() => {
                let steps = curthread_path(e).expect("matched");
                match self.kernel.task_path(&steps) {
                    Ok(path) => {
                        let ty = match path.string_len {
                            Some(_) => Ty::Str,
                            None => Ty::Int { size: path.size, signed: path.signed },
                        };
                        int(TKind::KernelPath(path), ty)
                    }
                    Err(why) => {
                        self.err(span, format!("curthread: {why}"));
                        int(TKind::Int(0), Ty::I64)
                    }
                }
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

    /// Whether every probe of the clause is one whose `args[0]` and
    /// `args[1]` translate another thread and process: `proc:::signal-send`
    /// (the receiver) or `sched:::wakeup` (the thread woken).
    pub(super) fn signal_send_args(&self) -> bool {
        !self.clause_descs.is_empty()
            && self.clause_descs.iter().all(|d| {
                (d.provider == "proc" && d.name == "signal-send") || (d.provider == "sched" && d.name == "wakeup")
            })
    }

    /// `curpsinfo->field` or `curlwpsinfo->field`: the members of the
    /// `psinfo_t` and `lwpsinfo_t` translators (Oracle's DTrace for
    /// Linux) that sdtrace reads, for the current process and thread.
    pub(super) fn translated(&mut self, of: &str, field: &str, span: Span) -> TExpr {
        let builtin = match (of, field) {
            ("curpsinfo", "pr_pid") => Builtin::Pid,
            ("curpsinfo", "pr_ppid") => Builtin::Ppid,
            ("curpsinfo", "pr_uid") => Builtin::Uid,
            ("curpsinfo", "pr_gid") => Builtin::Gid,
            ("curpsinfo", "pr_fname") => Builtin::Execname,
            ("curpsinfo", "pr_psargs") => Builtin::Psargs,
            ("curlwpsinfo", "pr_lwpid") => Builtin::Tid,
            ("curlwpsinfo", "pr_onpro") => Builtin::Cpu,
            ("curlwpsinfo", "pr_pri") => Builtin::Prio,
            _ => {
                let members = if of == "curpsinfo" {
                    "pr_pid, pr_ppid, pr_uid, pr_gid, pr_fname, pr_psargs"
                } else {
                    "pr_lwpid, pr_onpro, pr_pri"
                };
                self.diags.push(
                    Diagnostic::error(span, format!("`{of}->{field}` is not a member sdtrace reads"))
                        .with_hint(format!("{of} has {members}")),
                );
                return TExpr { kind: TKind::Int(0), ty: Ty::I64, span };
            }
        };
        self.ir.uses_task |= matches!(builtin, Builtin::Ppid | Builtin::Psargs | Builtin::Prio);
        TExpr { kind: TKind::Builtin(builtin), ty: builtin_type(builtin), span }
    }

    pub(super) fn macro_value(&mut self, m: &str, span: Span) -> TExpr {
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
                    None if self.defaultargs && m.starts_with("$$") => {
                        TExpr { kind: TKind::Str(String::new()), ty: Ty::Str, span }
                    }
                    None if self.defaultargs => int(0),
                    None => {
                        self.diags.push(
                            Diagnostic::error(
                                span,
                                format!("`{m}` has no value: the script got {} argument(s)", self.macros.args.len()),
                            )
                            .with_hint("pass it after the script, or make unset ones 0 and \"\" with -x defaultargs"),
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

/// `curthread->a->b.c`: the steps from `curthread` (`(arrow, member)`).
fn curthread_path(e: &Expr) -> Option<Vec<(bool, String)>> {
    match &e.kind {
        ExprKind::Member { base, field, arrow } => {
            let mut steps = match &base.kind {
                ExprKind::Ident(n) if n == "curthread" => Vec::new(),
                _ => curthread_path(base)?,
            };
            steps.push((*arrow, field.clone()));
            Some(steps)
        }
        _ => None,
    }
}

/// `args[0]` or `args[1]`: which.
fn signal_send_arg(base: &Expr) -> Option<u64> {
    let ExprKind::Index { base, index } = &base.kind else { return None };
    match (&base.kind, index.as_slice()) {
        (ExprKind::Ident(n), [ix]) if n == "args" => match ix.kind {
            ExprKind::Int(lit) if lit.value < 2 => Some(lit.value),
            _ => None,
        },
        _ => None,
    }
}

/// `a[keys]` (global) or `self->a[keys]` (thread-local): whether it is
/// thread-local, the name and the keys.
pub(super) fn array_target(e: &Expr) -> Option<(bool, &str, &[Expr])> {
    let ExprKind::Index { base, index } = &e.kind else { return None };
    match &base.kind {
        ExprKind::Ident(n) if n != "args" && builtin(n).is_none() => Some((false, n, index)),
        ExprKind::SelfVar(n) => Some((true, n, index)),
        _ => None,
    }
}

/// Whether `e` is a call of `stack` or `ustack` (which may be an
/// aggregation key or `trace`'s argument).
pub(super) fn is_stack_call(e: &Expr) -> bool {
    matches!(&e.kind, ExprKind::Call { func, .. } if func == "stack" || func == "ustack" || func == "jstack")
}

/// Whether `e` is `args[N]` or `args->name` (which may be a float).
pub(super) fn is_arg_ref(e: &Expr) -> bool {
    match &e.kind {
        ExprKind::Index { base, .. } | ExprKind::Member { base, arrow: true, .. } => {
            matches!(&base.kind, ExprKind::Ident(n) if n == "args")
        }
        _ => false,
    }
}

/// "an integer", "a string".
pub(super) fn with_article(ty: Ty) -> String {
    match ty {
        Ty::Int { .. } => "an integer".into(),
        _ => format!("a {}", ty.name()),
    }
}

pub(super) fn parse_int(s: &str) -> Option<i64> {
    if let Some(h) = s.strip_prefix("0x") {
        return i64::from_str_radix(h, 16).ok();
    }
    s.parse().ok()
}

pub(super) fn lhs_text(e: &Expr) -> String {
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

pub(super) fn fold(op: BinOp, a: i64, b: i64) -> Option<i64> {
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

pub(super) fn builtin(name: &str) -> Option<Builtin> {
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
        "ucaller" => Builtin::Ucaller,
        "ustackdepth" => Builtin::UstackDepth,
        _ => {
            let n: u8 = name.strip_prefix("arg")?.parse().ok()?;
            return (n < 12).then_some(Builtin::Arg(n));
        }
    })
}

/// Types as a diagnostic lists them: `integer, string`; stacks with their
/// kind and depth, which keys must match in too.
pub(super) fn type_list(tys: &[Ty]) -> String {
    let name = |t: &Ty| match *t {
        Ty::Stack { user, frames } => format!("{} stack of {frames} frames", if user { "user" } else { "kernel" }),
        t => t.name().to_string(),
    };
    tys.iter().map(name).collect::<Vec<_>>().join(", ")
}

/// The constants dtrace(1) defines for every program (its `signal.d` and
/// `errno.d` inlines), with Linux's values.
pub(super) fn system_constant(name: &str) -> Option<i64> {
    const SIGNALS: [&str; 31] = [
        "SIGHUP",
        "SIGINT",
        "SIGQUIT",
        "SIGILL",
        "SIGTRAP",
        "SIGABRT",
        "SIGBUS",
        "SIGFPE",
        "SIGKILL",
        "SIGUSR1",
        "SIGSEGV",
        "SIGUSR2",
        "SIGPIPE",
        "SIGALRM",
        "SIGTERM",
        "SIGSTKFLT",
        "SIGCHLD",
        "SIGCONT",
        "SIGSTOP",
        "SIGTSTP",
        "SIGTTIN",
        "SIGTTOU",
        "SIGURG",
        "SIGXCPU",
        "SIGXFSZ",
        "SIGVTALRM",
        "SIGPROF",
        "SIGWINCH",
        "SIGIO",
        "SIGPWR",
        "SIGSYS",
    ];
    const ERRNOS: [&str; 40] = [
        "EPERM",
        "ENOENT",
        "ESRCH",
        "EINTR",
        "EIO",
        "ENXIO",
        "E2BIG",
        "ENOEXEC",
        "EBADF",
        "ECHILD",
        "EAGAIN",
        "ENOMEM",
        "EACCES",
        "EFAULT",
        "ENOTBLK",
        "EBUSY",
        "EEXIST",
        "EXDEV",
        "ENODEV",
        "ENOTDIR",
        "EISDIR",
        "EINVAL",
        "ENFILE",
        "EMFILE",
        "ENOTTY",
        "ETXTBSY",
        "EFBIG",
        "ENOSPC",
        "ESPIPE",
        "EROFS",
        "EMLINK",
        "EPIPE",
        "EDOM",
        "ERANGE",
        "EDEADLK",
        "ENAMETOOLONG",
        "ENOLCK",
        "ENOSYS",
        "ENOTEMPTY",
        "ELOOP",
    ];
    let at = |list: &[&str]| list.iter().position(|n| *n == name).map(|i| i as i64 + 1);
    match name {
        "SIGIOT" => Some(6),
        "SIGPOLL" => Some(29),
        "SIGCLD" => Some(17),
        "EWOULDBLOCK" => Some(11),
        _ => at(&SIGNALS).or_else(|| at(&ERRNOS)),
    }
}

/// Names of the built-in variables, for "did you mean".
const BUILTIN_NAMES: &[&str] = &[
    "pid",
    "tid",
    "uid",
    "gid",
    "ppid",
    "execname",
    "timestamp",
    "walltimestamp",
    "vtimestamp",
    "cpu",
    "curthread",
    "errno",
    "probeprov",
    "probemod",
    "probefunc",
    "probename",
    "zonename",
    "curpsinfo",
    "curlwpsinfo",
    "arg0",
    "arg1",
    "arg2",
    "arg3",
    "arg4",
    "arg5",
    "args",
    "NULL",
];

/// Names of the functions and actions, for "did you mean".
pub(super) const FUNCTION_NAMES: &[&str] = &[
    "avg",
    "basename",
    "clear",
    "commit",
    "copyin",
    "copyinstr",
    "count",
    "denormalize",
    "dirname",
    "discard",
    "exit",
    "index",
    "lltostr",
    "llquantize",
    "lquantize",
    "max",
    "min",
    "normalize",
    "printa",
    "printevent",
    "printf",
    "progenyof",
    "quantize",
    "raise",
    "rand",
    "speculate",
    "speculation",
    "stack",
    "stddev",
    "stop",
    "strjoin",
    "stringof",
    "strlen",
    "strstr",
    "substr",
    "sum",
    "system",
    "trace",
    "trunc",
    "ustack",
    "jstack",
];

/// The name among `known` closest to `name` by edit distance, when it is
/// close enough to be a likely misspelling (at most a third of its length,
/// and at most 2 edits).
pub(super) fn did_you_mean<'a>(name: &str, known: impl IntoIterator<Item = &'a str>) -> Option<&'a str> {
    let limit = (name.chars().count() / 3).clamp(1, 2);
    known
        .into_iter()
        .filter(|k| *k != name)
        .map(|k| (strsim::damerau_levenshtein(name, k), k))
        .filter(|(d, _)| *d <= limit)
        .min()
        .map(|(_, k)| k)
}

impl Checker<'_> {
    /// "did you mean" for a variable `name` of `scope` that nothing assigns:
    /// the closest built-in (for a bare name) or variable of that scope.
    pub(super) fn suggest_variable(&self, scope: Scope, name: &str) -> Option<String> {
        let mut known: Vec<&str> =
            self.known.vars.keys().filter(|(s, _)| *s == scope).map(|(_, n)| n.as_str()).collect();
        if scope == Scope::Global {
            known.extend(BUILTIN_NAMES);
            known.extend(self.inlines.keys().map(String::as_str));
        }
        let prefix = match scope {
            Scope::Global => "",
            Scope::ThreadLocal => "self->",
            Scope::ClauseLocal => "this->",
        };
        did_you_mean(name, known).map(|k| format!("did you mean `{prefix}{k}`?"))
    }
}

pub(super) fn unsupported_builtin(name: &str) -> bool {
    matches!(name, "stackdepth" | "caller" | "curpsinfo" | "curlwpsinfo")
}

pub(super) fn builtin_type(b: Builtin) -> Ty {
    match b {
        Builtin::Execname | Builtin::Psargs | Builtin::Other(TaskField::Fname) => Ty::Str,
        Builtin::Other(_) => Ty::Int { size: 4, signed: false },
        Builtin::Prio => Ty::Int { size: 4, signed: true },
        Builtin::Probe(f) => Ty::Probe(f),
        Builtin::Pid | Builtin::Tid | Builtin::Uid | Builtin::Gid | Builtin::Cpu | Builtin::Ppid => {
            Ty::Int { size: 4, signed: false }
        }
        Builtin::Timestamp | Builtin::Walltimestamp | Builtin::Vtimestamp | Builtin::Curthread | Builtin::Ucaller => {
            Ty::U64
        }
        Builtin::Id | Builtin::Rand | Builtin::UstackDepth => Ty::Int { size: 4, signed: false },
        Builtin::Arg(_) | Builtin::Errno => Ty::I64,
    }
}
