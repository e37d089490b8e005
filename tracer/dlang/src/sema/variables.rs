//! Declarations and variables: D types of declarations, globals,
//! thread-locals (`self->`), clause-locals (`this->`) and associative
//! arrays, typed by declaration or first assignment.

use super::*;

pub(super) fn type_of(t: &TypeName) -> Result<Ty, String> {
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

pub(super) fn fixed_width(b: &BaseType) -> Option<Ty> {
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

impl Checker<'_> {
    /// `inline int N = 5;`: the value is checked here, where its errors
    /// are reported, and again at each use of the name.
    pub(super) fn define_inline(&mut self, i: &ast::Inline) {
        let ty = match type_of(&i.ty) {
            Ok(ty) => ty,
            Err(e) => return self.err(i.ty.span, e),
        };
        if self.inlines.contains_key(&i.name) || builtin(&i.name).is_some() || self.scalar_exists(false, &i.name) {
            return self.err(i.span, format!("`{}` is already defined", i.name));
        }
        self.expanding.push(i.name.clone());
        let v = self.expr(&i.value);
        self.expanding.pop();
        if (ty == Ty::Str) != v.ty.is_stringy() {
            let msg = format!("`{}` is declared {}, but its value is {}", i.name, with_article(ty), with_article(v.ty));
            return self.err(i.value.span, msg);
        }
        self.inlines.insert(i.name.clone(), (ty, i.value.clone()));
    }

    /// A use of the inline `name`: its value, converted to its type.
    pub(super) fn inline_value(&mut self, name: &str, span: Span) -> Option<TExpr> {
        let (ty, value) = self.inlines.get(name).cloned()?;
        if self.expanding.iter().any(|n| n == name) {
            self.err(span, format!("the inline `{name}` is defined in terms of itself"));
            return Some(TExpr { kind: TKind::Int(0), ty: Ty::I64, span });
        }
        // Errors in the value were reported where it is defined.
        let before = self.diags.len();
        self.expanding.push(name.to_string());
        let v = self.expr(&value);
        self.expanding.pop();
        self.diags.truncate(before);
        Some(match (ty, v.kind) {
            (Ty::Str, kind) => TExpr { kind, ty: v.ty, span },
            (_, TKind::Int(x)) => TExpr { kind: TKind::Int(truncate(x, ty)), ty, span },
            (_, kind) => TExpr { kind: TKind::Cast(Box::new(TExpr { kind, ty: v.ty, span })), ty, span },
        })
    }

    pub(super) fn declare(&mut self, d: &ast::Decl) {
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
    pub(super) fn declare_array(&mut self, d: &ast::Decl, index: &[TypeName]) {
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

    pub(super) fn scalar_exists(&self, thread: bool, name: &str) -> bool {
        let list = if thread { &self.ir.thread_vars } else { &self.ir.globals };
        list.iter().any(|v| v.name == name)
    }

    /// Find or create the associative array `name` for an access with
    /// `keys`; `value` is the type assigned, if this is an assignment.
    /// Returns the array, the checked keys and the value type.
    pub(super) fn array(
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
        let mut at = self.ir.arrays.iter().position(|a| a.name == name && a.thread == thread);
        if at.is_none() {
            // A clause may read what a later one assigns: the survey knows it.
            if let Some(a) = self.known.arrays.iter().find(|a| a.name == name && a.thread == thread) {
                self.ir.arrays.push(a.clone());
                at = Some(self.ir.arrays.len() - 1);
            }
        }
        match at {
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
                None if self.survey => None,
                None => {
                    self.diags.push(
                        Diagnostic::error(span, format!("`{shown}` is read but never assigned"))
                            .with_hint("assign an element in some clause, or declare it (`int a[string];`)"),
                    );
                    None
                }
            },
        }
    }

    /// An assignment or `++`/`--` to `a[keys]`: `op` combines the current
    /// value with `value` (`None` for a plain `=`).
    pub(super) fn array_store(
        &mut self,
        target: (bool, &str, &[Expr]),
        lhs: &Expr,
        value: TExpr,
        op: Option<BinOp>,
        span: Span,
    ) -> IStmt {
        let (thread, name, index) = target;
        // 0 (NULL) stored in a string array is "", which deletes the
        // element, as in DTrace; in a survey it does not type the array.
        let zero = op.is_none() && value.kind == TKind::Int(0);
        let typed = if self.survey && zero { None } else { Some(value.ty) };
        let Some((array, keys, ty)) = self.array(thread, name, index, typed, lhs.span) else {
            return IStmt::Nop;
        };
        let value =
            if zero && ty == Ty::Str { TExpr { kind: TKind::Str(String::new()), ty: Ty::Str, ..value } } else { value };
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
    pub(super) fn var(&mut self, scope: Scope, name: &str, ty: Option<Ty>, span: Span) -> Option<(VarRef, Ty)> {
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
        // A clause may read what a later one assigns: the survey knows its type.
        match self.known.vars.get(&(scope, name.to_string())).copied().or(ty) {
            Some(ty) => {
                list.push(Var { name: name.to_string(), ty });
                Some((mk(list.len() - 1), ty))
            }
            None if self.survey => None,
            None => {
                let hint = self
                    .suggest_variable(scope, name)
                    .unwrap_or_else(|| "assign it in some clause, or declare it (`self int x;`)".into());
                self.diags.push(
                    Diagnostic::error(span, format!("`{prefix}{name}` is read but never assigned")).with_hint(hint),
                );
                None
            }
        }
    }
}
