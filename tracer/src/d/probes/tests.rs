use super::*;
use crate::d::diag::Source;
use crate::d::sema::{check, Macros};

fn plan_src(src: &str) -> Result<Plan, Vec<Diagnostic>> {
    let source = Source::new("t.d", src);
    let ast = crate::d::parse(&source).expect("parses");
    let ir = check(&ast, &Macros::default()).expect("checks");
    plan(&ir, ArgCatalog::default(), None, false)
}

#[test]
fn function_symbols_name_aliases_publicly_and_flag_lock_prefixed_starts() {
    // Debian 12's glibc: free and __libc_free are one function;
    // pthread_spin_lock starts with `lock decl (%rdi)`.
    let libc = std::path::Path::new("/lib/x86_64-linux-gnu/libc.so.6");
    let syms = function_symbols(libc);
    let at = |name: &str| syms.iter().position(|s| s.name == name).unwrap_or_else(|| panic!("{name} in libc"));
    let (free, libc_free) = (at("free"), at("__libc_free"));
    assert_eq!(syms[free].offset, syms[libc_free].offset);
    assert!(free < libc_free, "the public name comes first");
    assert!(syms[free].probeable && syms[free].returns);
    assert!(!syms[at("pthread_spin_lock")].probeable);
    // The offset is the function's first byte in the file.
    let bytes = std::fs::read(libc).unwrap();
    assert_eq!(bytes[syms[at("pthread_spin_lock")].offset as usize], 0xf0);
    // Indirect functions are not offered.
    assert!(!syms.iter().any(|s| s.name == "memcpy"));
    // The entry point of this test program is not called: no return
    // probe there; main is called.
    let own = function_symbols(&std::env::current_exe().unwrap());
    let own_at = |name: &str| own.iter().find(|s| s.name == name).unwrap_or_else(|| panic!("{name}"));
    assert!(!own_at("_start").returns);
    assert!(own_at("main").returns);
}

#[test]
fn timer_names_take_dtrace_units_and_default_to_hertz() {
    let t = |n: &str| parse_timer(n).expect("a timer name").map(|t| (t.every_cpu, t.period_ns));
    assert_eq!(t("tick-1s"), Ok((false, 1_000_000_000)));
    assert_eq!(t("tick-250msec"), Ok((false, 250_000_000)));
    assert_eq!(t("profile-997"), Ok((true, 1_000_000_000 / 997)));
    assert_eq!(t("profile-100hz"), Ok((true, 10_000_000)));
    assert_eq!(t("tick-2min"), Ok((false, 120_000_000_000)));
    assert!(t("tick-1fortnight").unwrap_err().contains("unknown unit `fortnight`"));
    assert!(t("tick-s").unwrap_err().contains("expected a number"));
    assert!(t("profile-0").is_err());
    assert!(t("tick-10us").unwrap_err().contains("at least 100 us"));
    assert!(parse_timer("tock-1s").is_none());
}

#[test]
fn timers_proc_and_error_get_programs_of_their_own() {
    let p = plan_src(
        "tick-1s { x = 1; } profile:::tick-1s { x = 2; } profile-99 { x = 3; } \
         proc:::exec-success, proc:::exit { x = 4; } proc:::create { x = 5; } \
         BEGIN { x = 6; } ERROR { x = 7; }",
    )
    .unwrap();
    // One program per distinct timer, holding every clause that names it.
    let timers: Vec<(Vec<usize>, bool)> =
        p.timers.iter().map(|(s, t)| (s.clauses.iter().map(|c| c.0).collect(), t.every_cpu)).collect();
    assert_eq!(timers, [(vec![0, 1], false), (vec![2], true)]);
    let procs: Vec<(TracepointProbe, Vec<usize>)> =
        p.tracepoints.iter().map(|(s, pr)| (*pr, s.clauses.iter().map(|c| c.0).collect())).collect();
    assert_eq!(
        procs,
        [(TracepointProbe::ExecSuccess, vec![3]), (TracepointProbe::Exit, vec![3]), (TracepointProbe::Create, vec![4])]
    );
    // Timers and proc probes are neither syscalls nor USDT probes.
    assert!(p.sys_enter.is_none() && p.usdt.is_empty());
    // Every program runs the ERROR clause on a fault.
    let error_id = p.table.0.iter().position(|i| i.name == "ERROR").unwrap() as u64;
    for s in p.specs() {
        assert_eq!(s.on_error, Some(ErrorHandler { id: error_id, clauses: vec![6] }), "{:?}", s.context);
    }
}

#[test]
fn bad_timer_and_proc_names_are_reported_at_their_description() {
    let render = |d: Vec<Diagnostic>| d.iter().map(|d| d.message.clone()).collect::<Vec<_>>().join("\n");
    let e = render(plan_src("tick-5parsecs { x = 1; }").unwrap_err());
    assert!(e.contains("unknown unit `parsecs`"), "{e}");
    let e = render(plan_src("proc:::fork { x = 1; }").unwrap_err());
    assert!(e.contains("probe description `proc:::fork` matches no probes"), "{e}");
}

#[test]
fn a_library_is_named_with_or_without_its_version() {
    assert_eq!(module_names("libc.so.6"), ["libc.so.6", "libc.so", "libc"]);
    assert_eq!(module_names("libpython3.11.so.1.0"), ["libpython3.11.so.1.0", "libpython3.11.so", "libpython3.11"]);
    assert_eq!(module_names("libfoo.so"), ["libfoo.so", "libfoo"]);
    assert_eq!(module_names("python3.11"), ["python3.11"]);
    // ".so" inside a name is no suffix.
    assert_eq!(module_names("x.sox"), ["x.sox"]);
}
