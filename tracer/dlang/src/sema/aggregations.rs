//! Aggregations: `@a[keys] = func(...)` with keys typed by value, `printa`
//! and its formats, and where speculation forbids them.

use super::*;

impl Checker<'_> {
    pub(super) fn aggregate(&mut self, name: &str, keys: &[Expr], rhs: &Expr, span: Span) -> IStmt {
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
                if step <= 0 || hi <= lo || hi.checked_sub(lo).is_none_or(|w| w / step > 65_535) {
                    self.err(rhs.span, "lquantize needs low < high, step > 0 and at most 65535 buckets (as dtrace(1))");
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
                match unify_keys(&akeys, &key_tys) {
                    Some(keys) => self.ir.aggs[i].keys = keys,
                    None => {
                        let msg = format!(
                            "@{name} is keyed by [{}] elsewhere, not by [{}]",
                            type_list(&akeys),
                            type_list(&key_tys)
                        );
                        self.err(span, msg);
                    }
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

    pub(super) fn agg_ref(&mut self, e: &Expr) -> Option<usize> {
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
    pub(super) fn printa(&mut self, args: &[Expr], span: Span) -> IStmt {
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
    pub(super) fn not_speculative(&mut self, span: Span, what: &'static str) {
        if self.speculated.is_some() {
            self.diags.push(
                Diagnostic::error(span, format!("{what} cannot be in a clause that calls speculate()"))
                    .with_hint("move it to a clause of its own"),
            );
        }
        self.unspeculable.get_or_insert((span, what));
    }
}

/// The key types of an aggregation that two uses key by `a` and `b`, when
/// they agree by kind of value, as DTrace types them: integers of any
/// width and sign are 64-bit integers (signed, unless both are unsigned
/// 64-bit), and a string is a string whether the program built it or it
/// names the probe (`probefunc` beside `copyinstr(arg1)`).
pub(super) fn unify_keys(a: &[Ty], b: &[Ty]) -> Option<Vec<Ty>> {
    if a.len() != b.len() {
        return None;
    }
    a.iter()
        .zip(b)
        .map(|(&x, &y)| match (x, y) {
            _ if x == y => Some(x),
            (Ty::Int { .. }, Ty::Int { .. }) => Some(Ty::I64),
            (Ty::Str | Ty::Probe(_), Ty::Str | Ty::Probe(_)) => Some(Ty::Str),
            _ => None,
        })
        .collect()
}
