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
        [("BEGIN /x ? y++ : 0/ { }", 12), ("BEGIN { y = z ? x++ : 0; }", 17), ("BEGIN { y = z && x--; }", 18)]
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
    check(
        &prog,
        &Macros {
            target: Some(42),
            args: vec!["7".into(), "x".into()],
            quiet: true,
            flowindent: false,
            defaultargs: false,
            destructive: false,
        },
    )
    .map_err(|d| crate::diag::render_all(&d, &source))
}

fn check_described(src: &str, args: &[(&str, ArgKind)]) -> Result<Ir, String> {
    let source = Source::new("t.d", src);
    let prog = crate::parse(&source).map_err(|d| crate::diag::render_all(&d, &source))?;
    let typed = ClauseArgs::Typed(args.iter().map(|(n, k)| (n.to_string(), *k)).collect());
    check_typed(
        &prog,
        &Macros {
            target: Some(42),
            args: vec![],
            quiet: true,
            flowindent: false,
            defaultargs: false,
            destructive: false,
        },
        &|_| typed.clone(),
    )
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
    assert!(e.contains("at most 65535 buckets"), "{e}");
    // cpuwalk.d's lquantize(cpu, 0, 1024, 1) is within dtrace(1)'s limit.
    check_src("BEGIN { @l = lquantize(cpu, 0, 1024, 1); }").unwrap();
    let e = check_src("BEGIN { @l = lquantize(5, 0, 65536, 1); }").unwrap_err();
    assert!(e.contains("at most 65535 buckets"), "{e}");
    let e = check_src("BEGIN { @l = lquantize(5, 10, 0, 1); }").unwrap_err();
    assert!(e.contains("lquantize needs low < high"), "{e}");
    let e = check_src("BEGIN { @l = lquantize(5); }").unwrap_err();
    assert!(e.contains("`lquantize()` takes 4 arguments"), "{e}");
}

fn check_loud(src: &str) -> Ir {
    let source = Source::new("t.d", src);
    let prog = crate::parse(&source).unwrap();
    check(
        &prog,
        &Macros { target: None, args: vec![], quiet: false, flowindent: false, defaultargs: false, destructive: false },
    )
    .unwrap()
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
        e.contains("t.d:1:13: error: `ustack()` can only be an action, a `trace` or `printf` `%k` argument or an aggregation key"),
        "{e}"
    );
    let e = check_src("BEGIN { ustack(0); }").unwrap_err();
    assert!(e.contains("t.d:1:16: error: ustack's frame count must be a constant from 1 to 127"), "{e}");
    let e = check_src("BEGIN { stack(1, 2); }").unwrap_err();
    assert!(e.contains("stack takes at most one argument"), "{e}");
    let e = check_src("BEGIN { printf(\"%s\", stack()); }").unwrap_err();
    assert!(e.contains("`%s` cannot print a stack"), "{e}");
    check_src("BEGIN { printf(\"%k\", stack()); }").unwrap();
    let e = check_src("BEGIN { printf(\"%k\", 1); }").unwrap_err();
    assert!(e.contains("`%k` needs a stack (stack()), this is an integer"), "{e}");
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
    assert!(e.contains("t.d:1:32: error: llquantize's factor, low, high and nsteps must be integer constants"), "{e}");
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
    let ir =
        check_src("BEGIN { x = speculation(); speculate(x); printf(\"a\"); } END { commit(x); discard(x); }").unwrap();
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
    assert!(e.contains("`z` is read but never assigned"), "{e}");
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
    // 0 deletes an element of a string array, wherever it comes first.
    let ir = check_src("BEGIN { a[1] = 0; } END { a[2] = \"s\"; a[2] = 0; }").unwrap();
    assert_eq!(ir.arrays[0].value, Ty::Str);
    let e = check_src("BEGIN { y = b[1]; }").unwrap_err();
    assert!(e.contains("`b` is read but never assigned"), "{e}");
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
    let e = check_src("BEGIN { @a[probefunc] = count(); @b[1] = count(); printa(\"%@d %@d\", @a, @b); }").unwrap_err();
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
    let e = check_src("BEGIN { @a[1] = count(); @b[\"x\"] = lquantize(3, 0, 10, 1); printa(@a, @b); }").unwrap_err();
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

#[test]
fn a_variable_read_before_the_clause_that_assigns_it_has_that_type() {
    let ir = check_src("BEGIN { printf(\"%s %d\\n\", s, self->n); } END { s = execname; self->n = 1; }").unwrap();
    assert_eq!(ir.globals, [Var { name: "s".into(), ty: Ty::Str }]);
    assert_eq!(ir.thread_vars, [Var { name: "n".into(), ty: Ty::I64 }]);
    // A chain of reads is followed: a's type is b's, which is known only later.
    let ir = check_src("BEGIN { self->a = self->b; } END { self->b = \"x\"; }").unwrap();
    assert!(ir.thread_vars.iter().all(|v| v.ty == Ty::Str), "{:?}", ir.thread_vars);
    // NULL beside a string is the empty string; assigned, it does not type.
    let ir = check_src("BEGIN { this->f = NULL; this->f = this->f != NULL ? this->f : \".\"; }").unwrap();
    assert_eq!(ir.clause_vars, [Var { name: "f".into(), ty: Ty::Str }]);
    let e = check_src("BEGIN { NULL = 1; }").unwrap_err();
    assert!(e.contains("`NULL` cannot be assigned to"), "{e}");
}

#[test]
fn inline_values_are_typed_and_folded() {
    let ir = check_src("inline uint8_t N = 257; BEGIN { x = N; }").unwrap();
    let IStmt::Assign(_, v) = &ir.clauses[0].body[0] else { panic!("{:?}", ir.clauses[0].body) };
    assert_eq!((&v.kind, v.ty), (&TKind::Int(1), Ty::Int { size: 1, signed: false }));
    let e = check_src("inline int N = 1; inline int N = 2; BEGIN { }").unwrap_err();
    assert!(e.contains("`N` is already defined"), "{e}");
    let e = check_src("inline string S = 1; BEGIN { }").unwrap_err();
    assert!(e.contains("`S` is declared a string, but its value is an integer"), "{e}");
}

#[test]
fn aggregation_keys_are_typed_by_kind_of_value() {
    let ir = check_src(
        "BEGIN { @a[basename(execname), probefunc] = count(); @a[execname, \"x\"] = count(); \
         @n[pid] = count(); @n[arg0] = count(); }",
    )
    .unwrap();
    assert_eq!(ir.aggs[0].keys, [Ty::Str, Ty::Str]);
    assert_eq!(ir.aggs[1].keys, [Ty::I64]);
    let e = check_src("BEGIN { @a[1] = count(); @a[\"s\"] = count(); }").unwrap_err();
    assert!(e.contains("@a is keyed by [integer] elsewhere, not by [string]"), "{e}");
}

#[test]
fn misspelt_names_get_the_closest_known_one() {
    let e = check_src("syscall::read:entry { @[exename] = count(); }").unwrap_err();
    assert!(e.contains("`exename` is read but never assigned") && e.contains("did you mean `execname`?"), "{e}");
    let e = check_src("BEGIN { self->depth = 1; } END { trace(self->dpeth); }").unwrap_err();
    assert!(e.contains("did you mean `self->depth`?"), "{e}");
    let e = check_src("BEGIN { trace(strln(\"x\")); }").unwrap_err();
    assert!(e.contains("unknown function `strln`") && e.contains("did you mean `strlen`?"), "{e}");
    // Nothing close: no guess.
    let e = check_src("BEGIN { trace(zzzzz); }").unwrap_err();
    assert!(!e.contains("did you mean"), "{e}");
}

#[test]
fn destructive_actions_need_the_option() {
    let e = check_src("BEGIN { system(\"ls\"); stop(); }").unwrap_err();
    assert!(e.contains("`system()` is a destructive action") && e.contains("`stop()` is a destructive action"), "{e}");
    let ir =
        check_src("#pragma D option destructive\nBEGIN { system(\"ls %d\", 1); printf(\"x\"); raise(10); }").unwrap();
    // system's record is its own (never merged with a printf's).
    let formats: Vec<bool> = ir.formats.iter().map(|f| f.system).collect();
    assert_eq!(formats, [true, false]);
    assert!(matches!(ir.clauses[0].body.last(), Some(IStmt::Raise(_))));
}

#[test]
fn an_increment_in_a_predicate_happens_as_it_is_tested() {
    // `/lines++ > 20/`: the update moves before the test, which guards the body.
    let ir = check_src("BEGIN /lines++ > 20/ { printf(\"%d\", lines); }").unwrap();
    let c = &ir.clauses[0];
    assert!(c.predicate.is_none());
    assert!(matches!(c.body.last(), Some(IStmt::If(_, t, e)) if t.len() == 1 && e.is_empty()), "{:#?}", c.body);
    let e = check_src("BEGIN /n++/ { speculate(1); }").unwrap_err();
    assert!(e.contains("cannot have `++`/`--` in its predicate"), "{e}");
}

#[test]
fn symbol_functions_type_their_address() {
    let ir = check_src("BEGIN { @[usym(arg0)] = count(); trace(umod(arg1)); trace(func(arg2)); }").unwrap();
    assert_eq!(ir.aggs[0].keys, [Ty::Sym { user: true, form: SymForm::Symbol }]);
    let e = check_src("BEGIN { trace(usym(\"x\")); }").unwrap_err();
    assert!(e.contains("usym takes an address, not a string"), "{e}");
}

#[test]
fn curthread_paths_are_typed_by_the_kernels_types() {
    struct Fake;
    impl KernelTypes for Fake {
        fn task_path(&self, steps: &[(bool, String)]) -> Result<KernelPath, String> {
            let names: Vec<&str> = steps.iter().map(|(_, n)| n.as_str()).collect();
            match names.as_slice() {
                ["real_parent", "tgid"] => {
                    Ok(KernelPath { derefs: vec![16], offset: 8, size: 4, signed: true, string_len: None })
                }
                ["comm"] => Ok(KernelPath { derefs: vec![], offset: 40, size: 0, signed: false, string_len: Some(16) }),
                _ => Err(format!("no member {names:?}")),
            }
        }
    }
    let source = Source::new("t.d", "BEGIN { x = curthread->real_parent->tgid; s = curthread->comm; }");
    let prog = crate::parse(&source).unwrap();
    let macros =
        Macros { target: None, args: vec![], quiet: true, flowindent: false, defaultargs: false, destructive: false };
    let ir = check_with_kernel(&prog, &macros, &|_| ClauseArgs::Unknown, &Fake).unwrap();
    assert_eq!(ir.globals[0].ty, Ty::Int { size: 4, signed: true });
    assert_eq!(ir.globals[1].ty, Ty::Str);
    let bad = crate::parse(&Source::new("t.d", "BEGIN { x = curthread->nope; }")).unwrap();
    let e = check_with_kernel(&bad, &macros, &|_| ClauseArgs::Unknown, &Fake).unwrap_err();
    assert!(e[0].message.contains("curthread: no member"), "{:?}", e);
}
