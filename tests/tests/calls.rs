//! `sdtrace calls` on Debian's python3.11 and ruby3.1, running programs
//! whose call counts their source fixes (and that time themselves): the
//! counts equal those of a bpftrace one-liner over the same probes, the
//! inclusive time of `main` agrees with the program's own clock, the
//! syscalls land in the function that made them, `--filter` keeps what
//! matches, and the `--dump-script` program run with `-s` counts the same.

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::process::Command;

use serde_json::Value as J;
use tests::{can_attach, scratch_file, sdtrace_bin, system_file};

const PYTHON: &str = "/usr/bin/python3.11";

/// leaf ×300, opener ×30 (one openat each), handle_request ×30, fib(12)
/// 465 calls, main ×1; main's own duration printed in ns.
const APP: &str = r#"import time

def leaf(i):
    return i * 2

def opener(path):
    with open(path) as f:
        return len(f.read(16))

def fib(n):
    return n if n < 2 else fib(n - 1) + fib(n - 2)

def handle_request(k):
    s = 0
    for i in range(10):
        s += leaf(i)
    opener("/etc/hostname")
    return s

def main():
    for k in range(30):
        handle_request(k)
    fib(12)

t0 = time.perf_counter_ns()
main()
print("main_ns", time.perf_counter_ns() - t0)
"#;

fn scratch(name: &str, text: &str) -> PathBuf {
    scratch_file("calls", name, text)
}

/// `sdtrace calls ARGS --json`: the report, and the traced program's output.
fn calls_json(args: &[&str]) -> (J, String) {
    let out = Command::new(sdtrace_bin()).arg("calls").args(args).arg("--json").output().unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout).into_owned();
    assert!(out.status.success(), "{}\n{stdout}", String::from_utf8_lossy(&out.stderr));
    let json = stdout.lines().rev().find(|l| l.starts_with('{')).unwrap_or_else(|| panic!("no report in {stdout}"));
    (serde_json::from_str(json).unwrap(), stdout)
}

/// Calls per function of `file` in a report.
fn counts(report: &J, file: &str) -> HashMap<String, i64> {
    report["functions"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|f| f["file"] == file)
        .map(|f| (f["function"].as_str().unwrap().to_string(), f["calls"].as_i64().unwrap()))
        .collect()
}

fn function<'a>(report: &'a J, file: &str, name: &str) -> &'a J {
    report["functions"]
        .as_array()
        .unwrap()
        .iter()
        .find(|f| f["file"] == file && f["function"] == name)
        .unwrap_or_else(|| panic!("{file} {name} not in {report}"))
}

#[test]
fn python_calls_equal_the_sources_and_bpftraces_counts() {
    if !can_attach() {
        return;
    }
    let Some(python) = system_file(PYTHON) else { return };
    let app = scratch("app.py", APP);
    let cmd = format!("{} {}", python.display(), app.display());
    let (report, _) = calls_json(&["-c", &cmd]);
    let got = counts(&report, "app.py");
    let want: HashMap<String, i64> =
        [("leaf", 300), ("opener", 30), ("handle_request", 30), ("fib", 465), ("main", 1), ("<module>", 1)]
            .into_iter()
            .map(|(f, n)| (f.to_string(), n))
            .collect();
    assert_eq!(got, want, "{report}");
    // bpftrace over the same probe (with `line` enabled, which CPython
    // 3.11 needs to fire it for calls from Python).
    let script = format!(
        "usdt:{PYTHON}:python:function__entry /pid == cpid/ {{ @[str(arg0), str(arg1)] = count(); }} \
         usdt:{PYTHON}:python:line {{ }}"
    );
    let bt = Command::new("bpftrace").args(["-e", &script, "-c", &cmd]).output().expect("bpftrace runs");
    let text = String::from_utf8_lossy(&bt.stdout);
    let mut bpftrace: HashMap<String, i64> = HashMap::new();
    for line in text.lines().filter(|l| l.contains("app.py")) {
        // @[/tmp/…/app.py, leaf]: 300
        let inner = line.split_once('[').unwrap().1;
        let (key, n) = inner.rsplit_once("]: ").unwrap();
        let func = key.rsplit_once(", ").unwrap().1;
        bpftrace.insert(func.to_string(), n.trim().parse().unwrap());
    }
    assert_eq!(got, bpftrace, "bpftrace printed:\n{text}\n{}", String::from_utf8_lossy(&bt.stderr));
}

#[test]
fn python_latency_and_syscalls_agree_with_the_programs_clock_and_source() {
    if !can_attach() {
        return;
    }
    let Some(python) = system_file(PYTHON) else { return };
    let app = scratch("app_l.py", APP);
    let cmd = format!("{} {}", python.display(), app.display());
    let (report, stdout) = calls_json(&["-L", "-S", "-c", &cmd]);
    let main_ns: i64 = stdout
        .lines()
        .find_map(|l| l.strip_prefix("main_ns "))
        .unwrap_or_else(|| panic!("{stdout}"))
        .trim()
        .parse()
        .unwrap();
    let main = function(&report, "app_l.py", "main");
    let incl = main["inclusive_ns"].as_i64().unwrap();
    // The program's clock is read around the call; the probes fire inside it.
    assert!(
        incl <= main_ns && incl as f64 > main_ns as f64 * 0.9,
        "main: {incl} ns traced, {main_ns} ns by the program"
    );
    // A function that calls nothing from Python spends all its time in itself.
    let leaf = function(&report, "app_l.py", "leaf");
    assert_eq!(leaf["inclusive_ns"], leaf["exclusive_ns"], "{leaf}");
    let main_excl = main["exclusive_ns"].as_i64().unwrap();
    assert!(main_excl < incl / 2, "main mostly waits for its callees: {main}");
    // Each opener call opens one file, in opener itself; leaf makes no syscall.
    let sys = report["syscalls"].as_array().unwrap();
    let opens: i64 = sys
        .iter()
        .filter(|s| s["function"] == "opener" && s["syscall"] == "openat")
        .map(|s| s["count"].as_i64().unwrap())
        .sum();
    assert_eq!(opens, 30, "{report}");
    assert!(!sys.iter().any(|s| s["function"] == "leaf"), "{report}");
    assert!(!sys.iter().any(|s| s["function"] == "handle_request" && s["syscall"] == "openat"), "{report}");
}

#[test]
fn python_filter_keeps_matching_functions_and_the_dumped_script_counts_the_same() {
    if !can_attach() {
        return;
    }
    let Some(python) = system_file(PYTHON) else { return };
    let app = scratch("app_f.py", APP);
    let cmd = format!("{} {}", python.display(), app.display());
    let (report, _) = calls_json(&["--filter", "*e*_*", "-c", &cmd]);
    let names: Vec<&str> =
        report["functions"].as_array().unwrap().iter().map(|f| f["function"].as_str().unwrap()).collect();
    assert!(names.contains(&"handle_request"), "{report}");
    assert!(names.iter().all(|n| glob::Pattern::new("*e*_*").unwrap().matches(n)), "{names:?}");
    let (report, _) = calls_json(&["--file", "*_f.py", "-c", &cmd]);
    let files: Vec<&str> =
        report["functions"].as_array().unwrap().iter().map(|f| f["file"].as_str().unwrap()).collect();
    assert_eq!(files.len(), 6, "the program's six functions: {report}");
    assert!(files.iter().all(|f| *f == "app_f.py"), "{files:?}");
    // The script --dump-script prints, run with -s, counts what calls does.
    let dumped = Command::new(sdtrace_bin()).args(["calls", "--dump-script", "-c", &cmd]).output().unwrap();
    assert!(dumped.status.success(), "{}", String::from_utf8_lossy(&dumped.stderr));
    let script = scratch("calls.d", &String::from_utf8_lossy(&dumped.stdout));
    let out = Command::new(sdtrace_bin()).arg("-s").arg(&script).args(["-c", &cmd]).output().unwrap();
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let text = String::from_utf8_lossy(&out.stdout);
    let row = |func: &str| -> i64 {
        let line = text
            .lines()
            .find(|l| {
                let w: Vec<&str> = l.split_whitespace().collect();
                w.len() == 3 && w[0] == "app_f.py" && w[1] == func
            })
            .unwrap_or_else(|| panic!("no {func} in\n{text}"));
        line.split_whitespace().last().unwrap().parse().unwrap()
    };
    assert_eq!((row("leaf"), row("fib"), row("opener")), (300, 465, 30), "{text}");
}

#[test]
fn ruby_calls_with_the_tracepoint_helper_equal_the_sources_counts() {
    if !can_attach() {
        return;
    }
    let Some(ruby) = system_file("/usr/bin/ruby3.1") else { return };
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).parent().unwrap();
    let helper = root.join("tracer/d/rb_tracepoint.rb");
    let program = root.join("tests/d/shop.rb");
    let cmd = format!("{} --disable-gems -r{} {}", ruby.display(), helper.display(), program.display());
    let (report, _) = calls_json(&["-c", &cmd]);
    let got = counts(&report, "shop.rb");
    // shop.rb: main once, work twice, read_file twice, fib(3) 5 calls.
    for (f, n) in [("Shop#main", 1), ("Shop#work", 2), ("Shop#read_file", 2), ("Shop#fib", 5)] {
        assert_eq!(got.get(f), Some(&n), "{f}: {report}");
    }
}

#[test]
fn a_program_of_no_known_runtime_is_refused_by_name() {
    let out = Command::new(sdtrace_bin()).args(["calls", "-c", "/bin/true"]).output().unwrap();
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{err}");
    assert!(err.contains("/bin/true") && err.contains("--runtime"), "{err}");
    let out = Command::new(sdtrace_bin())
        .args(["calls", "--filter", "a?b", "--runtime", "python", "--dump-script"])
        .output()
        .unwrap();
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{err}");
    assert!(err.contains("a?b"), "{err}");
}

#[test]
fn python_call_stacks_fold_as_the_source_nests_them() {
    if !can_attach() {
        return;
    }
    let Some(python) = system_file(PYTHON) else { return };
    let app = scratch("app_s.py", APP);
    let dir = app.parent().unwrap().to_path_buf();
    let svg = dir.join("calls.svg");
    let cmd = format!("{} {}", python.display(), app.display());
    let out = Command::new(sdtrace_bin())
        .args(["calls", "--folded", "--flamegraph"])
        .arg(&svg)
        .args(["-c", &cmd])
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let text = String::from_utf8_lossy(&out.stdout);
    // The stacks made only of the program's own frames.
    let mut stacks: Vec<String> = Vec::new();
    for line in text.lines().filter(|l| !l.starts_with("main_ns")) {
        let (stack, ns) = line.rsplit_once(' ').unwrap_or_else(|| panic!("not folded: {line}"));
        assert!(ns.parse::<u64>().unwrap() > 0, "{line}");
        let frames: Vec<&str> = stack.split(';').collect();
        if frames.iter().all(|f| f.ends_with(" (app_s.py)")) {
            stacks.push(frames.iter().map(|f| f.trim_end_matches(" (app_s.py)")).collect::<Vec<_>>().join(";"));
        }
    }
    stacks.sort();
    // What the source nests: main's loop and fib(12)'s deepest chain of
    // 12 fib frames (fib(12) down to fib(1)).
    let mut want: Vec<String> =
        ["<module>", "<module>;main", "<module>;main;handle_request"].iter().map(|s| s.to_string()).collect();
    want.push("<module>;main;handle_request;leaf".into());
    want.push("<module>;main;handle_request;opener".into());
    for depth in 1..=12 {
        want.push(format!("<module>;main{}", ";fib".repeat(depth)));
    }
    want.sort();
    assert_eq!(stacks, want, "\n{text}");
    let svg_text = std::fs::read_to_string(&svg).unwrap();
    assert!(svg_text.starts_with("<?xml") && svg_text.contains("handle_request (app_s.py)"), "{}", &svg_text[..200]);
}

/// A pyenv layout of the test's own: `shims/NAME` execs
/// `libexec/pyenv exec NAME`, and `pyenv which NAME` answers `target`.
fn fake_pyenv(tag: &str, target: &str) -> PathBuf {
    let root = std::env::temp_dir().join(format!("sdtrace-pyenv-{tag}-{}", std::process::id()));
    std::fs::create_dir_all(root.join("libexec")).unwrap();
    std::fs::create_dir_all(root.join("shims")).unwrap();
    let pyenv = root.join("libexec/pyenv");
    std::fs::write(&pyenv, format!("#!/bin/sh\n[ \"$1\" = which ] && {{ echo {target}; exit 0; }}\n[ \"$1\" = exec ] && {{ shift 2; exec {target} \"$@\"; }}\nexit 1\n")).unwrap();
    let shim = root.join("shims/python3.11");
    std::fs::write(
        &shim,
        format!(
            "#!/usr/bin/env bash\nset -e\nprogram=\"${{0##*/}}\"\nexec \"{}\" exec \"$program\" \"$@\"\n",
            pyenv.display()
        ),
    )
    .unwrap();
    for f in [&pyenv, &shim] {
        std::fs::set_permissions(f, std::os::unix::fs::PermissionsExt::from_mode(0o755)).unwrap();
    }
    shim
}

#[test]
fn a_pyenv_shim_runs_the_interpreter_it_names_and_says_which() {
    if !can_attach() {
        return;
    }
    let Some(python) = system_file(PYTHON) else { return };
    let shim = fake_pyenv("probes", &python.display().to_string());
    let app = scratch("app_shim.py", APP);
    let out = Command::new(sdtrace_bin())
        .args(["calls", "--json", "-c"])
        .arg(format!("{} {}", shim.display(), app.display()))
        .output()
        .unwrap();
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "{err}");
    assert!(err.contains(&format!("is a pyenv shim: running the interpreter it names, {PYTHON}")), "{err}");
    let stdout = String::from_utf8_lossy(&out.stdout);
    let report: J = serde_json::from_str(stdout.lines().rev().find(|l| l.starts_with('{')).unwrap()).unwrap();
    assert_eq!(counts(&report, "app_shim.py").get("leaf"), Some(&300), "{report}");
}

#[test]
fn a_pyenv_interpreter_without_probes_is_named_as_such() {
    let shim = fake_pyenv("none", "/bin/true");
    let out =
        Command::new(sdtrace_bin()).args(["calls", "-c"]).arg(format!("{} app.py", shim.display())).output().unwrap();
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{err}");
    assert!(err.contains("pyenv shim for /bin/true, which was built without Python's USDT probes"), "{err}");
}

#[test]
fn every_tools_help_shows_examples_of_itself() {
    for tool in ["calls", "flow", "latency", "gc", "objnew", "stat"] {
        let out = Command::new(sdtrace_bin()).args([tool, "--help"]).output().unwrap();
        let help = String::from_utf8_lossy(&out.stdout);
        let examples: Vec<&str> =
            help.lines().skip_while(|l| *l != "Examples:").skip(1).take_while(|l| !l.is_empty()).collect();
        assert!(!examples.is_empty(), "{tool}: no examples in\n{help}");
        assert!(examples.iter().all(|l| l.starts_with(&format!("  sdtrace {tool}"))), "{tool}:\n{help}");
    }
}
