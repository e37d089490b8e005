//! The D examples of the documentation, compiled and run, so that none can
//! rot. README.md and every docs/*.md are read when the test runs, and the
//! examples are taken from the Markdown itself:
//!
//! - in a ```` ```console ```` block, each `$ sdtrace …` command line. A
//!   command goes on over the next lines while a quote is open (or a line
//!   ends in `\`); the lines after it, up to the next `$ `, are its output,
//!   where `…` stands for lines left out and a line that starts with `#`
//!   is a comment;
//! - in a ```` ```sh ```` block, each line that is not blank or a `#`
//!   comment, continued the same way;
//! - every ```` ```d ```` block, a whole program.
//!
//! Command lines are split into words by `shlex`, as a shell splits them
//! (so a trailing `# comment` is not part of the command); those that give
//! sdtrace `-n PROGRAM` or `-s FILE` are examples. Each is reported by file
//! and line.
//!
//! Every example is compiled by the real sdtrace, from the workspace root:
//! `-e types` (parse and type check), then `-e bpf` (probe matching and
//! code generation). Neither attaches or loads anything, and neither needs
//! root (both run as `nobody`). `-e` does not start a `-c` command, but
//! finds it in `$PATH` and reads its executable and libraries (where USDT
//! descriptions and `args->name` look), and it reads the maps of a `-p`
//! process, which must exist. What only the reader has (`app.py`,
//! `-p 1234`) is replaced as [`plan`] documents.
//!
//! The examples that the repository can run end to end also run for real
//! (as root; under `CI=true` a test that cannot attach fails), one at a
//! time, with `-o FILE` so that the program's output is apart from the
//! traced command's. Their output must show, in order, the lines the doc
//! shows ([`shape::same_shape`]: the values may differ), and the values must
//! agree with a source independent of sdtrace: strace, Python's profiler,
//! Ruby's TracePoint, or the traced program's own output or source.

use std::collections::BTreeMap;
use std::fmt;
use std::path::Path;
use std::process::{Command, Stdio};
use std::sync::{Mutex, MutexGuard};

use tests::{can_attach, sdtrace_bin, system_file};

mod markdown;
mod shape;
mod sources;
mod stand_ins;

use markdown::{extract, join, Example, Form};
use shape::in_order;
use sources::{output_lines, strace, strace_counts, PYTHON_PROFILER, RUBY_TRACEPOINT};
use stand_ins::{command_of, plan, with_command, Plan, StandInProcess};

/// The Python the docs mean by `python3` and `python3.11`: Debian's, with
/// its USDT probes (plain `python3` may be a pyenv shim here).
const PYTHON: &str = "/usr/bin/python3.11";

/// What runs for a Python program of the reader's (`app.py`): the
/// interpreter, with its probes, running nothing.
const PYTHON_STAND_IN: &str = "/usr/bin/python3.11 -c pass";

/// The Ruby the docs' `ruby` finds in `$PATH`.
const RUBY: &str = "/usr/bin/ruby";

/// strace, the independent count of syscalls.
const STRACE: &str = "/usr/bin/strace";

/// Providers the docs make up to show the syntax: no stand-in has their
/// probes, so probe matching (`-e bpf`) is given `-Z` for them.
const MADE_UP_PROVIDERS: &[&str] = &["myapp$target", "pyrt$target"];

/// The examples that show no program (`-s` of the reader's script).
const NO_PROGRAM: &[&str] = &["script.d"];

/// How many D examples each file shows, at least, so that a change that
/// breaks extraction fails here rather than leaving nothing to check.
const EXPECTED: &[(&str, usize)] = &[("README.md", 6), ("docs/d-language.md", 16), ("docs/performance.md", 1)];

/// The workspace root, where the docs' relative paths start.
fn root() -> &'static Path {
    Path::new(env!("CARGO_MANIFEST_DIR")).parent().expect("tests/ is inside the workspace")
}

/// The Markdown files whose examples are checked: README.md and docs/*.md.
fn doc_files() -> Vec<String> {
    let mut docs: Vec<String> = std::fs::read_dir(root().join("docs"))
        .expect("read docs/")
        .map(|e| e.expect("read docs/").file_name().into_string().expect("a UTF-8 file name in docs/"))
        .filter(|n| n.ends_with(".md"))
        .map(|n| format!("docs/{n}"))
        .collect();
    docs.sort();
    docs.insert(0, "README.md".to_string());
    docs
}

/// Every D example of the docs, in file order.
fn doc_examples() -> Vec<Example> {
    doc_files()
        .iter()
        .flat_map(|file| {
            let text = std::fs::read_to_string(root().join(file)).unwrap_or_else(|e| panic!("{file}: {e}"));
            extract(file, &text)
        })
        .collect()
}

/// Runs sdtrace with `-e STAGE` and `args` from the workspace root; its
/// stderr when it fails.
fn compile(stage: &str, args: &[String]) -> Result<(), String> {
    let out = Command::new(sdtrace_bin())
        .current_dir(root())
        .args(["-e", stage])
        .args(args)
        .stdin(Stdio::null())
        .output()
        .expect("run sdtrace");
    if out.status.success() {
        return Ok(());
    }
    Err(format!("-e {stage}: exit status {:?}\n{}", out.status.code(), String::from_utf8_lossy(&out.stderr)))
}

#[test]
fn the_docs_show_the_examples_this_test_expects() {
    let examples = doc_examples();
    for (file, n) in EXPECTED {
        let found = examples.iter().filter(|e| e.file == *file).count();
        assert!(found >= *n, "{file}: {found} D examples found, expected at least {n}:\n{examples:#?}");
    }
    assert!(examples.iter().any(|e| matches!(e.form, Form::Block(_))), "no ```d block found");
    assert!(examples.iter().any(|e| e.program().contains('\n')), "no program over several lines found");
}

/// Every example, compiled by the real sdtrace: it parses, type checks,
/// matches probes and generates code. No root needed.
#[test]
fn every_doc_example_compiles() {
    if system_file(PYTHON).is_none() || system_file(RUBY).is_none() {
        return;
    }
    let process = StandInProcess::start();
    let examples = doc_examples();
    let mut report = Vec::new();
    let mut failures = Vec::new();
    let mut no_program = Vec::new();
    for ex in &examples {
        let args = match plan(ex, Some(process.pid())) {
            Plan::NoProgram(file) => {
                report.push(format!("{ex}\n    shows no program: `{file}` is the reader's script"));
                no_program.push(file);
                continue;
            }
            Plan::Run(args) => args,
        };
        let mut bpf = args.clone();
        if MADE_UP_PROVIDERS.iter().any(|p| ex.program().contains(p)) && !bpf.iter().any(|a| a == "-Z") {
            bpf.insert(0, "-Z".to_string());
        }
        let result = compile("types", &args).and_then(|()| compile("bpf", &bpf));
        let verdict = if result.is_ok() { "compiles" } else { "FAILS" };
        let first_line = |args: &[String]| join(args).lines().next().unwrap_or_default().to_string();
        let doc = match &ex.form {
            Form::Command(words) => first_line(words),
            Form::Block(_) => String::new(),
        };
        let ours = first_line(&bpf);
        let run_as = if ours == doc { String::new() } else { format!(", run as sdtrace {ours}") };
        report.push(format!("{ex}\n    {verdict} (-e types, -e bpf){run_as}"));
        if let Err(e) = result {
            failures.push(format!("{ex}\n{e}"));
        }
    }
    eprintln!("{} D examples in the docs:\n{}", examples.len(), report.join("\n"));
    assert_eq!(no_program, NO_PROGRAM, "the examples that show no program changed: give a new one a stand-in");
    assert!(
        failures.is_empty(),
        "{} of {} doc examples do not compile:\n\n{}",
        failures.len(),
        examples.len(),
        failures.join("\n\n")
    );
}

/// Real runs go one at a time: some programs see the whole machine
/// (`execname == "ls"`), and strace runs the same commands.
static ONE_AT_A_TIME: Mutex<()> = Mutex::new(());

fn one_at_a_time() -> MutexGuard<'static, ()> {
    ONE_AT_A_TIME.lock().unwrap_or_else(|e| e.into_inner())
}

/// The one example of `file` whose command line or block contains `needle`.
fn example(file: &str, needle: &str) -> Example {
    let found: Vec<Example> = doc_examples()
        .into_iter()
        .filter(|e| e.file == file && format!("{e}{}", e.program()).contains(needle))
        .collect();
    assert_eq!(
        found.len(),
        1,
        "{file} should show one D example with `{needle}`, not {}; if the doc changed, change this test with it",
        found.len()
    );
    found.into_iter().next().expect("one")
}

/// The arguments [`plan`] gives an example that needs no `-p` process.
fn plan_args(example: &Example) -> Vec<String> {
    match plan(example, None) {
        Plan::Run(args) => args,
        Plan::NoProgram(f) => panic!("{example}: `{f}` is no program to run"),
    }
}

/// What a real run printed.
struct RealRun {
    /// The program's output (`-o FILE`).
    program: String,
    /// The traced command's own output.
    command: String,
    stderr: String,
}

impl fmt::Display for RealRun {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "--- output\n{}--- stderr\n{}--- command's stdout\n{}", self.program, self.stderr, self.command)
    }
}

/// Runs `example` for real as sdtrace `args` (its plan, or that with
/// another command), from the workspace root; it must exit 0.
fn run_for_real(example: &Example, args: &[String]) -> RealRun {
    let stem = example.file.replace(['/', '.'], "_");
    let out_file = std::env::temp_dir().join(format!("sdtrace-doc-{}-{stem}-{}.out", std::process::id(), example.line));
    let out = Command::new(sdtrace_bin())
        .current_dir(root())
        .arg("-o")
        .arg(&out_file)
        .args(args)
        .stdin(Stdio::null())
        .output()
        .expect("run sdtrace");
    let program = std::fs::read_to_string(&out_file).unwrap_or_default();
    let _ = std::fs::remove_file(&out_file);
    let run = RealRun {
        program,
        command: String::from_utf8_lossy(&out.stdout).into_owned(),
        stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
    };
    assert!(
        out.status.success(),
        "{example}\nrun as sdtrace {}: exit status {:?}\n{run}",
        join(args),
        out.status.code()
    );
    run
}

/// Checks that `run` shows, in order, the lines `example` shows after its
/// command (each shaped as [`shape::same_shape`] says): those that start with
/// `sdtrace: ` on stderr, the others in the program's output.
fn check_shown(example: &Example, shown: &[String], run: &RealRun) {
    let (diagnostics, output): (Vec<&String>, Vec<&String>) = shown.iter().partition(|l| l.starts_with("sdtrace: "));
    let result = in_order(&diagnostics, &run.stderr).and_then(|()| in_order(&output, &run.program));
    if let Err(e) = result {
        panic!("{example}: {e}\n{run}");
    }
}

/// The rows `KEY VALUE` of an aggregation printed without a format.
fn aggregation_rows(output: &str) -> Vec<(String, u64)> {
    output
        .lines()
        .filter(|l| !l.trim().is_empty())
        .map(|l| match l.split_whitespace().collect::<Vec<_>>()[..] {
            [key, value] => (key.to_string(), value.parse().unwrap_or_else(|_| panic!("not a count: `{l}`"))),
            _ => panic!("not a `KEY VALUE` row: `{l}`\n{output}"),
        })
        .collect()
}

/// The README's and the guide's syscall counts of a command: the same
/// counts as strace's, sorted by value as DTrace prints them.
fn check_syscall_counts(file: &str, needle: &str) {
    if !can_attach() || system_file(STRACE).is_none() {
        return;
    }
    let _serial = one_at_a_time();
    let ex = example(file, needle);
    let args = plan_args(&ex);
    let run = run_for_real(&ex, &args);
    check_shown(&ex, &ex.shown, &run);
    let rows = aggregation_rows(&run.program);
    assert!(rows.windows(2).all(|w| w[0].1 <= w[1].1), "{ex}: not sorted by value\n{run}");
    let mut counts: BTreeMap<String, u64> = rows.into_iter().collect();
    // strace -c leaves out exit_group, which never returns.
    assert_eq!(counts.remove("exit_group"), Some(1), "{ex}\n{run}");
    let want = strace_counts(command_of(&args));
    let differ: Vec<String> = counts
        .keys()
        .chain(want.keys())
        .collect::<std::collections::BTreeSet<_>>()
        .into_iter()
        .filter(|k| counts.get(*k) != want.get(*k))
        .map(|k| format!("{k}: sdtrace {:?}, strace {:?}", counts.get(k), want.get(k)))
        .collect();
    assert!(differ.is_empty(), "{ex}: counts differ from strace's: {differ:?}\n{run}");
}

#[test]
fn readme_syscall_counts_match_strace() {
    check_syscall_counts("README.md", "-c 'ls /usr'");
}

#[test]
fn guide_syscall_counts_match_strace() {
    check_syscall_counts("docs/d-language.md", "@[probefunc] = count()");
}

/// `syscall::read:return /execname == "ls"/` sums what every `ls` reads
/// (only the command's, since real runs go one at a time): strace's sum.
#[test]
fn guide_read_bytes_match_strace() {
    if !can_attach() || system_file(STRACE).is_none() {
        return;
    }
    let _serial = one_at_a_time();
    let ex = example("docs/d-language.md", "@bytes = sum(arg0)");
    let args = plan_args(&ex);
    let run = run_for_real(&ex, &args);
    let got: Vec<&str> = run.program.split_whitespace().collect();
    // `read(3, "..."..., 832) = 832` (a string may hold `=`: the last one).
    let want: i64 = strace(&["-f", "-e", "trace=read"], command_of(&args))
        .lines()
        .filter(|l| l.contains("read("))
        .map(|l| l.rsplit("= ").next().and_then(|r| r.split_whitespace().next()).expect("a result"))
        .map(|r| r.parse::<i64>().expect("a number"))
        .sum();
    assert_eq!(got, [want.to_string()], "{ex}\n{run}");
}

/// `trace(execname); trace(arg2);` in dtrace(1)'s columns, and the flags
/// that strace shows cat passing to openat, in the same order.
#[test]
fn guide_trace_columns_and_openat_flags_match_strace() {
    if !can_attach() || system_file(STRACE).is_none() {
        return;
    }
    let _serial = one_at_a_time();
    let ex = example("docs/d-language.md", "trace(execname); trace(arg2);");
    let args = plan_args(&ex);
    let run = run_for_real(&ex, &args);
    check_shown(&ex, &ex.shown, &run);
    let mut lines = run.program.lines();
    let heading = ex.shown.iter().find(|l| l.starts_with("CPU")).expect("the doc shows the heading");
    assert_eq!(lines.next(), Some(heading.as_str()), "{ex}: the heading\n{run}");
    // Each line: "%3d %6d %32s " (CPU, id, function:name), then the traces.
    let flags: Vec<u64> = lines
        .map(|l| {
            let data = l.get(11..).unwrap_or_else(|| panic!("a short line `{l}`"));
            let value = data.split_whitespace().last().and_then(|v| v.parse::<u64>().ok()).expect("a value");
            assert_eq!(data, format!("{:>32}   {:<33} {value:>16}", "openat:entry", "cat"), "{ex}\n{run}");
            value
        })
        .collect();
    // openat(-100, "/etc/ld.so.cache", 0x80000) = 3
    let want: Vec<u64> = strace(&["-X", "raw", "-e", "trace=openat"], command_of(&args))
        .lines()
        .filter_map(|l| l.strip_prefix("openat("))
        .map(|l| {
            let third = l.rsplit("\", ").next().and_then(|r| r.split(')').next()).expect("flags");
            let hex = third.strip_prefix("0x");
            hex.map_or_else(|| third.parse(), |h| u64::from_str_radix(h, 16)).expect("a number")
        })
        .collect();
    assert_eq!(flags, want, "{ex}: openat's flags, sdtrace's (left) and strace's (right)\n{run}");
    let hostname = std::fs::read_to_string("/etc/hostname").expect("read /etc/hostname");
    assert_eq!(run.command, hostname, "{ex}: cat's own output");
}

/// The README's count of Python returns by function: `fib` returns as
/// often as Python's profiler counts, and the README shows that number.
#[test]
fn readme_python_return_count_matches_the_profiler() {
    if !can_attach() || system_file(PYTHON).is_none() {
        return;
    }
    let _serial = one_at_a_time();
    let ex = example("README.md", "@[copyinstr(arg1)] = count()");
    let args = plan_args(&ex);
    let run = run_for_real(&ex, &args);
    check_shown(&ex, &ex.shown, &run);
    let script = shlex::split(command_of(&args)).expect("words")[1].clone();
    let returns =
        output_lines(PYTHON, &["-c", PYTHON_PROFILER, &script]).iter().filter(|l| l.starts_with("<- fib ")).count();
    // The program's format is "%-12s %@d\n".
    let line = format!("{:<12} {returns}", "fib");
    assert!(run.program.lines().any(|l| l == line), "{ex}: no line `{line}`\n{run}");
    assert!(ex.shown.contains(&line), "{ex}: the README shows {:?}, Python counts `{line}`", ex.shown);
}

/// The Python flow script as the README and the guide run it: the lines of
/// flow.py are Python's profile of it, indented by depth, and the syscalls
/// show what the program did (the bytes of /etc/hostname, one pid).
#[test]
fn python_flow_examples_match_the_profiler() {
    if !can_attach() || system_file(PYTHON).is_none() {
        return;
    }
    let _serial = one_at_a_time();
    let readme = example("README.md", "py_flowtime.d");
    let guide = example("docs/d-language.md", "py_flowtime.d");
    let args = plan_args(&readme);
    assert_eq!(plan_args(&guide), args, "{guide}: not the README's command; check it too");
    let run = run_for_real(&readme, &args);
    check_shown(&readme, &readme.shown, &run);
    check_shown(&guide, &guide.shown, &run);

    let script = shlex::split(command_of(&args)).expect("words")[1].clone();
    let profile = output_lines(PYTHON, &["-c", PYTHON_PROFILER, &script]);
    // "%3d %9d  " (CPU, delta), then the event indented two columns a level.
    let event = |l: &str| l.get(15..).unwrap_or_else(|| panic!("a short line `{l}`\n{run}")).to_string();
    let events: Vec<String> = run.program.lines().skip(1).map(event).collect();
    let ours: Vec<&String> = events.iter().filter(|e| e.contains("(flow.py:")).collect();
    let flow: Vec<&str> = ours.iter().map(|e| e.trim_start()).collect();
    assert_eq!(flow, profile, "{readme}: flow.py's lines (left), Python's profile (right)\n{run}");
    let mut depth = 0_usize;
    for e in &ours {
        if e.trim_start().starts_with("<-") {
            depth = depth.checked_sub(1).unwrap_or_else(|| panic!("{readme}: `{e}` returns from nothing\n{run}"));
        }
        assert_eq!(e.len() - e.trim_start().len(), 2 * depth, "{readme}: `{e}` is not at depth {depth}\n{run}");
        depth += usize::from(e.trim_start().starts_with("->"));
    }

    // The syscalls inside each read_file, and work's getpid after it.
    let hostname_len = std::fs::metadata("/etc/hostname").expect("/etc/hostname").len().to_string();
    let mut pids = Vec::new();
    let mut at = 0;
    while let Some(start) = events[at..].iter().position(|e| e.trim_start() == "-> read_file (flow.py:4)") {
        let start = at + start;
        let end =
            start + events[start..].iter().position(|e| e.trim_start().starts_with("<- read_file")).expect("a return");
        let results = |call: &str| -> Vec<String> {
            let prefix = format!("<= {call} = ");
            events[start..end].iter().filter_map(|e| e.trim_start().strip_prefix(&prefix).map(str::to_string)).collect()
        };
        assert_eq!(results("read"), [hostname_len.as_str(), "0"], "{readme}: read_file's reads\n{run}");
        let fds = results("openat");
        assert!(fds.len() == 1 && fds[0].parse::<u32>().is_ok(), "{readme}: read_file's openat {fds:?}\n{run}");
        let pid = events[end..].iter().find_map(|e| e.trim_start().strip_prefix("<= getpid = ")).expect("a getpid");
        pids.push(pid.parse::<u32>().expect("a pid"));
        at = end;
    }
    assert!(pids.len() == 2 && pids[0] == pids[1] && pids[0] > 0, "{readme}: getpid gave {pids:?}\n{run}");
}

/// The Ruby flow script as the guide runs it: the methods of shop.rb and
/// where they return are what a TracePoint sees.
#[test]
fn ruby_flow_example_matches_tracepoint() {
    if !can_attach() || system_file(RUBY).is_none() {
        return;
    }
    let _serial = one_at_a_time();
    let ex = example("docs/d-language.md", "rb_flowtime.d");
    let args = plan_args(&ex);
    let run = run_for_real(&ex, &args);
    check_shown(&ex, &ex.shown, &run);
    let script = shlex::split(command_of(&args)).expect("words").pop().expect("the script");
    let traced = output_lines(RUBY, &["--disable-gems", "-e", RUBY_TRACEPOINT, &script]);
    // `-> Shop#work (shop.rb:8)`: the probes give a method's first line
    // on entry where TracePoint gives its `def`, so only returns keep it.
    let ours: Vec<String> = run
        .program
        .lines()
        .filter_map(|l| l.get(15..)?.split_once("(shop.rb:"))
        .map(|(event, line)| (event.trim(), line.trim_end_matches(')')))
        .map(|(event, line)| if event.starts_with("<-") { format!("{event} {line}") } else { event.to_string() })
        .collect();
    let want: Vec<String> = traced
        .iter()
        .map(|l| if l.starts_with("->") { l.rsplit_once(' ').expect("a line").0.to_string() } else { l.clone() })
        .collect();
    assert_eq!(ours, want, "{ex}: shop.rb's lines (left), Ruby's TracePoint (right)\n{run}");
}

/// The Python CPU-time script as the guide runs it: the calls are Python's
/// count, and `nap`, which sleeps 0.2 s, is 0.2 s elapsed but not on a CPU.
#[test]
fn python_cputime_example_counts_calls_like_the_profiler() {
    if !can_attach() || system_file(PYTHON).is_none() {
        return;
    }
    let _serial = one_at_a_time();
    let ex = example("docs/d-language.md", "py_cputime.d");
    let args = plan_args(&ex);
    let run = run_for_real(&ex, &args);
    check_shown(&ex, &ex.shown, &run);
    let script = shlex::split(command_of(&args)).expect("words")[1].clone();
    let mut calls: BTreeMap<String, u64> = BTreeMap::new();
    for l in output_lines(PYTHON, &["-c", PYTHON_PROFILER, &script]) {
        if let Some(rest) = l.strip_prefix("<- ") {
            *calls.entry(rest.split(' ').next().expect("a name").to_string()).or_default() += 1;
        }
    }
    // FILE FUNCTION CALLS ELAPSED(us) ON-CPU(us), for cputime.py's functions.
    let mut rows: BTreeMap<String, u64> = BTreeMap::new();
    let mut nap = None;
    for l in run.program.lines().filter(|l| l.starts_with("cputime.py ")) {
        let f: Vec<&str> = l.split_whitespace().collect();
        let n = |i: usize| f[i].parse::<u64>().unwrap_or_else(|_| panic!("not a number in `{l}`"));
        rows.insert(f[1].to_string(), n(2));
        if f[1] == "nap" {
            nap = Some((n(3), n(4)));
        }
    }
    assert_eq!(rows, calls, "{ex}: CALLS (left), Python's count (right)\n{run}");
    let (elapsed, on_cpu) = nap.expect("a row for nap");
    assert!(elapsed >= 200_000 && on_cpu < 50_000, "{ex}: nap {elapsed} us elapsed, {on_cpu} on a CPU\n{run}");
}

/// The guide's `vtimestamp` block, run on tests/d/cputime.py (where the
/// plan's stand-in runs nothing): of its two aggregations, the elapsed one
/// holds `nap`'s 0.2 s sleep and the on-CPU one does not.
#[test]
fn guide_vtimestamp_block_tells_waiting_from_computing() {
    if !can_attach() || system_file(PYTHON).is_none() {
        return;
    }
    let _serial = one_at_a_time();
    let ex = example("docs/d-language.md", "vtimestamp - self->v");
    let args = with_command(&plan_args(&ex), &format!("{PYTHON} tests/d/cputime.py"));
    let run = run_for_real(&ex, &args);
    // Two aggregations printed at the end, each after a blank line.
    let sections: Vec<BTreeMap<String, u64>> = run
        .program
        .split("\n\n")
        .filter(|s| !s.trim().is_empty())
        .map(|s| aggregation_rows(s).into_iter().collect())
        .collect();
    assert_eq!(sections.len(), 2, "{ex}: not two aggregations\n{run}");
    let nap = |s: &BTreeMap<String, u64>| *s.get("nap").unwrap_or_else(|| panic!("{ex}: no nap\n{run}"));
    let (cpu, elapsed) =
        if nap(&sections[0]) < nap(&sections[1]) { (&sections[0], &sections[1]) } else { (&sections[1], &sections[0]) };
    assert!(nap(elapsed) >= 200_000_000 && nap(cpu) < 50_000_000, "{ex}: nap's nanoseconds\n{run}");
    for f in ["spin", "main"] {
        let (c, e) = (cpu.get(f), elapsed.get(f));
        assert!(c.is_some_and(|c| e.is_some_and(|e| *c > 0 && c <= e)), "{ex}: {f}: {c:?} on a CPU, {e:?}\n{run}");
    }
}

/// The guide's `-F` example on the C fixture that stands for `./prog`:
/// the flow of calls its source makes (`main` calls `repeated_a`, then
/// `repeated_b`), at the doc's indentation (the doc's `parse` is
/// `repeated_a`).
#[test]
fn guide_flow_indent_follows_the_fixtures_calls() {
    if !can_attach() {
        return;
    }
    let _serial = one_at_a_time();
    let ex = example("docs/d-language.md", "-F -n");
    let args = plan_args(&ex);
    let run = run_for_real(&ex, &args);
    let shown: Vec<String> = ex.shown.iter().map(|l| l.replace("parse", "repeated_a")).collect();
    check_shown(&ex, &shown, &run);
    let ours = ["main", "repeated_a", "repeated_b"];
    let flow: Vec<&str> = run
        .program
        .lines()
        .map(str::trim)
        .filter(|l| l.split_whitespace().nth(2).is_some_and(|f| ours.contains(&f)))
        .map(|l| l.split_once(' ').expect("CPU, then the flow").1.trim())
        .collect();
    let want = ["-> main", "-> repeated_a", "<- repeated_a", "-> repeated_b", "<- repeated_b", "<- main"];
    assert_eq!(flow, want, "{ex}\n{run}");
}

/// `args->s` and `args[1]` of the Rust fixture's `text` probe: what the
/// fixture fires each round, one line for each round it says it ran.
#[test]
fn guide_typed_args_print_what_the_fixture_fired() {
    if !can_attach() {
        return;
    }
    let _serial = one_at_a_time();
    let ex = example("docs/d-language.md", "args->s, args[1]");
    let args = plan_args(&ex);
    let run = run_for_real(&ex, &args);
    // The fixture prints `round R enabled=…` per round, then `closures N`.
    let rounds: Vec<&str> = run.command.lines().filter_map(|l| l.strip_prefix("round ")?.split(' ').next()).collect();
    let want: Vec<String> = rounds.iter().map(|r| format!("héllo wörld {r} c string")).collect();
    assert_eq!(run.program.lines().collect::<Vec<_>>(), want, "{ex}\n{run}");
    assert_eq!(run.command.lines().last(), Some(format!("closures {}", want.len()).as_str()), "{ex}\n{run}");
}

/// `quantize` as dtrace(1) prints it: a heading, power-of-two rows from
/// an empty bucket to an empty bucket, bars of at most 40 `@`s.
#[test]
fn readme_malloc_histogram_has_dtraces_shape() {
    if !can_attach() {
        return;
    }
    let _serial = one_at_a_time();
    let ex = example("README.md", "quantize(arg0)");
    let run = run_for_real(&ex, &plan_args(&ex));
    let mut lines = run.program.lines().filter(|l| !l.trim().is_empty());
    let heading: Vec<&str> = lines.next().unwrap_or_default().split_whitespace().collect();
    assert_eq!(heading, ["value", "-------------", "Distribution", "-------------", "count"], "{ex}\n{run}");
    let rows: Vec<(u64, usize, u64)> = lines
        .map(|l| {
            let (value, rest) = l.split_once('|').unwrap_or_else(|| panic!("{ex}: not a row `{l}`\n{run}"));
            let bar = rest.chars().take_while(|&c| c == '@').count();
            let count = rest.trim().trim_start_matches('@').trim();
            (value.trim().parse().expect("a value"), bar, count.parse().expect("a count"))
        })
        .collect();
    assert!(rows.len() >= 3, "{ex}\n{run}");
    let next = |v: u64| if v == 0 { 1 } else { 2 * v };
    assert!(rows.windows(2).all(|w| w[1].0 == next(w[0].0)), "{ex}: not powers of two in a row\n{run}");
    assert!(rows.iter().all(|r| r.1 <= 40), "{ex}: a bar over 40\n{run}");
    assert!(rows[0].2 == 0 && rows[rows.len() - 1].2 == 0, "{ex}: not framed by empty buckets\n{run}");
    assert!(rows.iter().map(|r| r.2).sum::<u64>() > 0, "{ex}: no malloc\n{run}");
}

/// The pid-provider benchmark's command: one count of libc's `f*` calls.
#[test]
fn performance_libc_call_count_is_one_number() {
    if !can_attach() {
        return;
    }
    let _serial = one_at_a_time();
    let ex = example("docs/performance.md", "libc.so.6:f*:entry");
    let run = run_for_real(&ex, &plan_args(&ex));
    let got: Vec<&str> = run.program.split_whitespace().collect();
    assert!(got.len() == 1 && got[0].parse::<u64>().is_ok_and(|n| n > 0), "{ex}\n{run}");
}
