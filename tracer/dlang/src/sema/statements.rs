//! Statements: the probe line of the default action, assignments,
//! increments (hoisted out of expressions), and statement lists.

use super::*;

impl Checker<'_> {
    /// dtrace(1)'s probe line around a firing's output: the heading's
    /// columns (CPU, probe id, `function:name`) before the clause's first
    /// record (after `speculate()`, so that it belongs to the speculation),
    /// and a newline after its last (before a final `exit()`, whose record
    /// ends the output).
    pub(super) fn add_probe_line(&mut self, body: &mut Vec<IStmt>, span: Span) {
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

    pub(super) fn add_format(&mut self, _text: &str, f: Format, _span: Span) -> usize {
        self.ir.formats.push(f);
        self.ir.formats.len() - 1
    }

    pub(super) fn want_scalar(&mut self, e: &TExpr, what: &str) {
        if e.ty == Ty::Str {
            self.err(e.span, format!("{what} must be an integer, not a string"));
        }
    }

    pub(super) fn stmts(&mut self, stmts: &[ast::Stmt]) -> Vec<IStmt> {
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

    pub(super) fn place(&mut self, e: &Expr, ty: Option<Ty>) -> Option<(VarRef, Ty)> {
        let (scope, name) = match &e.kind {
            ExprKind::Ident(n) if n == "NULL" => {
                self.err(e.span, "`NULL` cannot be assigned to");
                return None;
            }
            ExprKind::Ident(n) if self.inlines.contains_key(n) => {
                self.err(e.span, format!("`{n}` is an inline, which cannot be assigned to"));
                return None;
            }
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

    pub(super) fn stmt_expr(&mut self, e: &Expr) -> IStmt {
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
                // A zero of undecided type (NULL) does not type a variable
                // in a survey: a later assignment may.
                let typed = !(self.survey && self.is_zero(&value));
                let Some((place, ty)) = self.place(lhs, typed.then_some(value.ty)) else { return IStmt::Nop };
                let value = if ty == Ty::Str && self.is_zero(&value) {
                    TExpr { kind: TKind::Str(String::new()), ty: Ty::Str, span: value.span }
                } else {
                    value
                };
                let value = match op {
                    None => value,
                    Some(op) => {
                        let cur = TExpr { kind: TKind::Var(place), ty, span: lhs.span };
                        self.binary(*op, cur, value, e.span)
                    }
                };
                // 0 is NULL: assigned to a string it is "" (and frees a
                // thread-local), as `self->file = 0;` does in DTrace.
                let value = if ty == Ty::Str && op.is_none() && value.kind == TKind::Int(0) {
                    if matches!(place, VarRef::Thread(_)) {
                        return IStmt::Free(place);
                    }
                    TExpr { kind: TKind::Str(String::new()), ty: Ty::Str, span: value.span }
                } else {
                    value
                };
                if ty == Ty::Str && !value.ty.is_stringy() || ty != Ty::Str && value.ty == Ty::Str {
                    self.err(
                        rhs.span,
                        format!(
                            "cannot assign {} to `{}`, {}",
                            with_article(value.ty),
                            lhs_text(lhs),
                            with_article(ty)
                        ),
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
            // `c ? printf(…) : printf(…);`: one of two statements.
            ExprKind::Ternary { cond, then, else_ }
                if matches!(then.kind, ExprKind::Call { .. }) || matches!(else_.kind, ExprKind::Call { .. }) =>
            {
                let c = self.expr(cond);
                self.want_scalar(&c, "a condition");
                self.if_depth += 1;
                let t = vec![self.stmt_expr(then)];
                let f = vec![self.stmt_expr(else_)];
                self.if_depth -= 1;
                IStmt::If(c, t, f)
            }
            _ => {
                let _ = self.expr(e);
                IStmt::Nop
            }
        }
    }

    pub(super) fn incdec(&mut self, operand: &Expr, inc: bool, span: Span) -> IStmt {
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
    pub(super) fn incdec_value(&mut self, operand: &Expr, inc: bool, pre: bool, span: Span) -> TExpr {
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
}
