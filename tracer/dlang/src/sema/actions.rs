//! Actions (`printf`, `trace`, `exit`, `speculate`, `clear`...) and
//! built-in function calls (`copyinstr`, `strjoin`, `stack`...).

use super::*;

impl Checker<'_> {
    pub(super) fn action(&mut self, func: &str, func_span: Span, args: &[Expr], span: Span) -> IStmt {
        if matches!(func, "printf" | "trace" | "printa" | "stack" | "ustack" | "jstack" | "printevent") {
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
            "system" | "raise" | "stop" if !self.destructive => {
                self.diags.push(
                    Diagnostic::error(span, format!("`{func}()` is a destructive action"))
                        .with_hint("allow destructive actions with -w (or #pragma D option destructive)"),
                );
                IStmt::Nop
            }
            "raise" | "stop" => {
                let sig = match (func, args) {
                    ("stop", []) => TExpr { kind: TKind::Int(19), ty: Ty::I64, span },
                    ("raise", [sig]) => {
                        let v = self.expr(sig);
                        self.want_scalar(&v, "raise's signal");
                        v
                    }
                    _ => {
                        let want = if func == "stop" { "no arguments" } else { "one argument, the signal" };
                        self.err(span, format!("{func} takes {want}"));
                        return IStmt::Nop;
                    }
                };
                IStmt::Raise(sig)
            }
            "chill" | "panic" | "breakpoint" | "copyout" | "copyoutstr" => {
                let why = match func {
                    "chill" => "a BPF program cannot spin for a time",
                    "panic" | "breakpoint" => "sdtrace never stops the kernel",
                    _ => "writing into a traced process is not supported yet",
                };
                self.err(span, format!("`{func}()` is not supported: {why}"));
                IStmt::Nop
            }
            "printf" | "system" => {
                let Some(ExprKind::Str(fmt)) = args.first().map(|a| &a.kind) else {
                    self.err(span, format!("{func} needs a string literal format first"));
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
                        self.stack_ok = is_stack_call(a);
                        let v = self.expr(a);
                        self.float_ok = false;
                        self.stack_ok = false;
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
                let mut with_pids = Vec::with_capacity(vals.len());
                for (v, k) in vals.into_iter().zip(&wanted) {
                    let float = matches!(v.ty, Ty::Float { .. });
                    let stack = matches!(v.ty, Ty::Stack { .. });
                    if *k == Conv::UserSym {
                        // The symbol is looked up in the process that fired.
                        let pid = TExpr { kind: TKind::Builtin(Builtin::Pid), ty: builtin_type(Builtin::Pid), span };
                        with_pids.push(v.clone());
                        with_pids.push(pid);
                    } else {
                        with_pids.push(v.clone());
                    }
                    if *k == Conv::Stack || stack {
                        if !stack {
                            self.err(v.span, format!("`%k` needs a stack (stack()), this is {}", with_article(v.ty)));
                        } else if *k != Conv::Stack {
                            self.diags.push(
                                Diagnostic::error(v.span, format!("`%{}` cannot print a stack", k.letter()))
                                    .with_hint("use %k"),
                            );
                        }
                        continue;
                    }
                    if k.wants_float() {
                        if !float {
                            let msg =
                                format!("`%{}` needs a float argument, this is {}", k.letter(), with_article(v.ty));
                            self.err(v.span, msg);
                        }
                        continue;
                    }
                    if float {
                        self.diags.push(
                            Diagnostic::error(v.span, format!("`%{}` cannot print a float", k.letter()))
                                .with_hint("use %f, %e or %g"),
                        );
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
                let format = Format { system: func == "system", ..format };
                let format = self.add_format(fmt, format, span);
                IStmt::Printf { format, args: with_pids }
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
            "printevent" => {
                if !args.is_empty() {
                    self.err(span, "printevent takes no arguments: it prints every argument of the probe");
                    return IStmt::Nop;
                }
                self.ir.uses_events = true;
                IStmt::Event
            }
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
            "stack" | "ustack" | "jstack" => {
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

    pub(super) fn call(&mut self, func: &str, func_span: Span, args: &[Expr], span: Span) -> TExpr {
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
            "printf" | "printa" | "trace" | "exit" | "clear" | "trunc" | "normalize" | "denormalize" | "printevent" => {
                self.err(func_span, format!("`{func}` is an action; it cannot be used as a value"));
                bad
            }
            // jstack() is ustack() with a runtime's frame names where the
            // runtime has a ustack helper; Linux runtimes have none, so the
            // native frames are what dtrace(1) would print too.
            "stack" | "ustack" | "jstack" => {
                // Only this call may be a stack, not its arguments.
                let stack_ok = std::mem::take(&mut self.stack_ok);
                let user = func != "stack";
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
                            format!("`{func}()` can only be an action, a `trace` or `printf` `%k` argument or an aggregation key"),
                        )
                        .with_hint(format!("{func}(); or @[{func}()] = count();")),
                    );
                    return bad;
                }
                self.ir.uses_stacks = true;
                TExpr { kind: TKind::Stack, ty: Ty::Stack { user, frames }, span }
            }
            "rand" => {
                if !args.is_empty() {
                    self.err(span, "rand takes no arguments");
                }
                TExpr { kind: TKind::Builtin(Builtin::Rand), ty: builtin_type(Builtin::Rand), span }
            }
            "usym" | "ufunc" | "umod" | "uaddr" | "sym" | "func" | "mod" => {
                let [a] = args else {
                    self.err(span, format!("{func} takes one address"));
                    return bad;
                };
                let v = self.expr(a);
                if v.ty.is_stringy() || matches!(v.ty, Ty::Float { .. } | Ty::Stack { .. }) {
                    self.err(v.span, format!("{func} takes an address, not {}", with_article(v.ty)));
                    return bad;
                }
                let user = func.starts_with('u');
                let form = match func.trim_start_matches('u') {
                    "addr" => SymForm::Addr,
                    "mod" => SymForm::Module,
                    _ => SymForm::Symbol,
                };
                TExpr { kind: TKind::Symbol(Box::new(v)), ty: Ty::Sym { user, form }, span }
            }
            _ => {
                let d = Diagnostic::error(func_span, format!("unknown function `{func}`"));
                self.diags.push(match did_you_mean(func, FUNCTION_NAMES.iter().copied()) {
                    Some(k) => d.with_hint(format!("did you mean `{k}`?")),
                    None => d,
                });
                bad
            }
        }
    }
}
