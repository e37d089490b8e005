//! D programs end to end, as root: every `tests/d/*.d` file is a test of
//! its own, `d_file::NAME` for `NAME.d` (`cargo test -p tests --test
//! d_runtime NAME` runs one). tests/build.rs generates the tests from the
//! directory, so a new file is a new test; a test is named after its file,
//! with each character that cannot be in a Rust identifier made `_` and
//! `d_` put in front of a name that starts with a digit or is a keyword
//! (`per-cpu.d` is `d_file::per_cpu`, `2cpus.d` `d_file::d_2cpus`). A
//! file's header comment says how to run it and what it must print:
//!
//! ```text
//! /*
//!  * sdtrace-test
//!  * requires: root, /usr/bin/python3.11      (what it needs; default root)
//!  * timeout: 60                              (seconds; default 60)
//!  * args: -q -c "{fixture:sdt_basic_O2} 3"   (after `sdtrace -s FILE`)
//!  * env: RTPROV_DELAY_MS=600                 (environment of sdtrace and its command)
//!  * status: 0                                (exit status, default 0)
//!  * expect:                                  (the program's output, exactly)
//!  * expect-lines:                            (output lines, any order, each present)
//!  * expect-in-order:                         (lines that appear in this order, other
//!                                               lines between; `*` matches any text)
//!  * stderr:                                  (lines stderr must contain)
//!  */
//! ```
//!
//! `requires:` lists, comma-separated, what the file needs: `root` (to
//! attach probes), a program by path (`/usr/bin/python3.11`) or by a name
//! looked up in `$PATH` (`ruby3.1`). Without the line a file requires
//! `root`; a file that never attaches (a compile error) says `requires:`
//! with nothing after it, or only programs. Everything is checked before
//! sdtrace runs; as with `can_attach()`, what is missing fails the test
//! under `CI=true`, naming it, and elsewhere prints `NOT RUN:` with the
//! file and what it needs (past the test harness's capture of output, so
//! that it shows) and the test returns.
//!
//! `timeout:` is how many seconds sdtrace may run, traced command
//! included: past it sdtrace and every process of its process group are
//! killed and the test fails, naming the file and the timeout.
//!
//! `{fixture:NAME}` is a C fixture built by this crate, `{example:NAME}` an
//! example program of this crate, `{rust:PROFILE}` the `tests/rust-fixture`
//! program built with that profile (`debug`: `cargo build -p rust-fixture`)
//! and `{file:NAME}` a file beside the D files. In the program text, the
//! same placeholders name objects by path (`fixture:{rust:debug}::ints`).

use std::io::{Read, Write};
use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};
use std::sync::mpsc;
use std::time::{Duration, Instant};

use tests::{can_attach, example_bin, fixture, in_ci, rust_fixture, sdtrace_bin};

/// How long sdtrace may run when a file's header gives no `timeout:`.
const DEFAULT_TIMEOUT: Duration = Duration::from_secs(60);

#[derive(Debug, Default)]
struct Spec {
    /// `timeout:`; `DEFAULT_TIMEOUT` when `None`.
    timeout: Option<Duration>,
    args: Vec<String>,
    env: Vec<(String, String)>,
    status: i32,
    expect: Option<Vec<String>>,
    expect_lines: Vec<String>,
    expect_in_order: Vec<String>,
    stderr: Vec<String>,
}

fn split_args(s: &str) -> Vec<String> {
    let mut out = Vec::new();
    let mut cur = String::new();
    let mut quoted = false;
    let mut any = false;
    for c in s.chars() {
        match c {
            '"' => {
                quoted = !quoted;
                any = true;
            }
            ' ' if !quoted => {
                if any || !cur.is_empty() {
                    out.push(std::mem::take(&mut cur));
                }
                any = false;
            }
            _ => cur.push(c),
        }
    }
    if any || !cur.is_empty() {
        out.push(cur);
    }
    out
}

fn substitute(s: &str) -> String {
    let mut s = s.to_string();
    while let Some(start) = s.find('{') {
        let Some(len) = s[start..].find('}') else { break };
        let inner = &s[start + 1..start + len];
        let path = match inner.split_once(':') {
            Some(("fixture", n)) => fixture(n),
            Some(("example", n)) => example_bin(n),
            Some(("rust", profile)) => rust_fixture(profile, "rust_fixture"),
            Some(("file", n)) => Path::new(env!("CARGO_MANIFEST_DIR")).join("d").join(n),
            _ => break,
        };
        s.replace_range(start..start + len + 1, &path.display().to_string());
    }
    s
}

/// The program with placeholders in its text replaced (a module field
/// that is a path: `fixture:{rust:debug}::ints`), written beside the
/// other outputs under the same file name; `path` itself when it has none.
fn program_file(path: &Path) -> PathBuf {
    let text = std::fs::read_to_string(path).unwrap();
    let body_at = text.find("*/").map_or(0, |i| i + 2);
    let (header, body) = text.split_at(body_at);
    let mut out = String::new();
    let mut rest = body;
    while let Some(start) = ["{rust:", "{fixture:", "{file:", "{example:"].iter().filter_map(|p| rest.find(p)).min() {
        let Some(len) = rest[start..].find('}') else { break };
        out.push_str(&rest[..start]);
        out.push_str(&substitute(&rest[start..start + len + 1]));
        rest = &rest[start + len + 1..];
    }
    if out.is_empty() {
        return path.to_path_buf();
    }
    out.push_str(rest);
    // A directory of its own (tests run in parallel, and each removes its
    // directory), so that diagnostics name the file as it is named here.
    let dir = std::env::temp_dir().join(format!(
        "sdtrace-d-{}-{}",
        std::process::id(),
        path.file_stem().unwrap().to_string_lossy()
    ));
    std::fs::create_dir_all(&dir).unwrap();
    let file = dir.join(path.file_name().unwrap());
    std::fs::write(&file, format!("{header}{out}")).unwrap();
    file
}

/// The lines of a D file's header comment after `sdtrace-test`, without
/// their leading ` * `.
fn header(path: &Path) -> Vec<String> {
    let text = std::fs::read_to_string(path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    let header: Vec<String> = text
        .lines()
        .skip_while(|l| !l.contains("sdtrace-test"))
        .skip(1)
        .take_while(|l| !l.trim_start().starts_with("*/"))
        .map(|l| {
            let t = l.trim_start();
            let t = t.strip_prefix('*').unwrap_or(t);
            t.strip_prefix(' ').unwrap_or(t).to_string()
        })
        .collect();
    assert!(!header.is_empty(), "{}: no sdtrace-test header", path.display());
    header
}

fn parse_spec(path: &Path) -> Spec {
    let mut spec = Spec::default();
    let mut section: Option<&str> = None;
    for line in header(path) {
        if line.starts_with("requires:") {
            // Read by `requirements`, before anything else.
            section = None;
        } else if let Some(t) = line.strip_prefix("timeout:") {
            let secs: u64 = t.trim().parse().unwrap_or_else(|_| panic!("{}: timeout wants SECONDS", path.display()));
            assert!(secs > 0, "{}: a timeout of 0 seconds", path.display());
            spec.timeout = Some(Duration::from_secs(secs));
            section = None;
        } else if let Some(a) = line.strip_prefix("args:") {
            spec.args = split_args(&substitute(a.trim()));
            section = None;
        } else if let Some(e) = line.strip_prefix("env:") {
            for kv in e.split_whitespace() {
                let (k, v) = kv.split_once('=').unwrap_or_else(|| panic!("{}: env wants KEY=VALUE", path.display()));
                spec.env.push((k.to_string(), v.to_string()));
            }
            section = None;
        } else if let Some(s) = line.strip_prefix("status:") {
            spec.status = s.trim().parse().unwrap();
            section = None;
        } else if line == "expect:" {
            spec.expect = Some(Vec::new());
            section = Some("expect");
        } else if line == "expect-lines:" {
            section = Some("lines");
        } else if line == "expect-in-order:" {
            section = Some("order");
        } else if line == "stderr:" {
            section = Some("stderr");
        } else {
            match section {
                Some("expect") => spec.expect.as_mut().unwrap().push(substitute(&line)),
                Some("lines") => spec.expect_lines.push(substitute(&line)),
                Some("order") => spec.expect_in_order.push(substitute(&line)),
                Some("stderr") => spec.stderr.push(line),
                _ => panic!("{}: unexpected header line `{line}`", path.display()),
            }
        }
    }
    spec
}

fn run_file(path: &Path) -> Result<(), String> {
    let spec = parse_spec(path);
    // The program's output goes to a file (-o), apart from a traced
    // command's own output.
    let out_file = std::env::temp_dir().join(format!(
        "sdtrace-d-{}-{}.out",
        std::process::id(),
        path.file_stem().unwrap().to_string_lossy()
    ));
    let program = program_file(path);
    let timeout = spec.timeout.unwrap_or(DEFAULT_TIMEOUT);
    let (out, timed_out) = output_within(
        Command::new(sdtrace_bin())
            .arg("-s")
            .arg(&program)
            .arg("-o")
            .arg(&out_file)
            .args(&spec.args)
            .envs(spec.env.iter().map(|(k, v)| (k, v))),
        timeout,
    )
    .map_err(|e| format!("cannot run sdtrace: {e}"))?;
    if program != path {
        let _ = std::fs::remove_file(&program);
        let _ = program.parent().map(std::fs::remove_dir);
    }
    let stdout = std::fs::read_to_string(&out_file).unwrap_or_default();
    let _ = std::fs::remove_file(&out_file);
    let stderr = String::from_utf8_lossy(&out.stderr);
    let cmd = String::from_utf8_lossy(&out.stdout);
    let ctx = || format!("{}\n--- output\n{stdout}--- stderr\n{stderr}--- command's stdout\n{cmd}", path.display());
    if timed_out {
        let (secs, given) = (timeout.as_secs(), if spec.timeout.is_some() { "its" } else { "the default" });
        return Err(format!(
            "not done after {secs} s ({given} `timeout: {secs}`): sdtrace and its command were killed: {}",
            ctx()
        ));
    }
    if out.status.code() != Some(spec.status) {
        return Err(format!("exit status {:?}, expected {}: {}", out.status.code(), spec.status, ctx()));
    }
    if let Some(expect) = &spec.expect {
        // Trailing blanks are not compared (histogram rows end in the
        // padding of their count column; editors strip it from headers).
        let mut want = expect.iter().map(|l| l.trim_end()).collect::<Vec<_>>().join("\n");
        want.push('\n');
        let got: String = stdout.lines().map(|l| format!("{}\n", l.trim_end())).collect();
        if got != want {
            return Err(format!("stdout differs; expected:\n{want}{}", ctx()));
        }
    }
    for l in &spec.expect_lines {
        if !stdout.lines().any(|s| s == l) {
            return Err(format!("stdout lacks the line `{l}`: {}", ctx()));
        }
    }
    let mut lines = stdout.lines();
    for l in &spec.expect_in_order {
        if !lines.any(|s| wildcard_match(l, s.trim_end())) {
            return Err(format!("stdout lacks `{l}` (after the lines before it in expect-in-order): {}", ctx()));
        }
    }
    for l in &spec.stderr {
        if !stderr.contains(l.as_str()) {
            return Err(format!("stderr lacks `{l}`: {}", ctx()));
        }
    }
    Ok(())
}

/// Runs `cmd` (sdtrace) as `Command::output` does, in a process group of
/// its own; once `timeout` has passed, with sdtrace still running or its
/// output still open (held by a process it started), the group is killed.
/// Returns what was output until then and whether it came to that.
fn output_within(cmd: &mut Command, timeout: Duration) -> std::io::Result<(Output, bool)> {
    let deadline = Instant::now() + timeout;
    let mut child = cmd.stdin(Stdio::null()).stdout(Stdio::piped()).stderr(Stdio::piped()).process_group(0).spawn()?;
    let group = i32::try_from(child.id()).expect("a pid is an i32");
    let stdout = read_in_background(child.stdout.take());
    let stderr = read_in_background(child.stderr.take());
    let mut timed_out = false;
    let status = loop {
        if let Some(status) = child.try_wait()? {
            break status;
        }
        if Instant::now() >= deadline {
            timed_out = true;
            kill_group(group);
            break child.wait()?;
        }
        std::thread::sleep(Duration::from_millis(10));
    };
    let mut collect = |pipe: mpsc::Receiver<Vec<u8>>| {
        pipe.recv_timeout(deadline.saturating_duration_since(Instant::now())).unwrap_or_else(|_| {
            timed_out = true;
            kill_group(group);
            // What was read before, once the killed processes let go of the
            // pipe; nothing if one outside the group holds it still.
            pipe.recv_timeout(Duration::from_secs(5)).unwrap_or_default()
        })
    };
    let (stdout, stderr) = (collect(stdout), collect(stderr));
    Ok((Output { status, stdout, stderr }, timed_out))
}

/// The whole of what `pipe` gives, sent once it ends.
fn read_in_background(pipe: Option<impl Read + Send + 'static>) -> mpsc::Receiver<Vec<u8>> {
    let (tx, rx) = mpsc::channel();
    if let Some(mut pipe) = pipe {
        std::thread::spawn(move || {
            let mut buf = Vec::new();
            let _ = pipe.read_to_end(&mut buf);
            let _ = tx.send(buf);
        });
    }
    rx
}

/// SIGKILL to every process of process group `group`.
fn kill_group(group: i32) {
    extern "C" {
        fn kill(pid: i32, sig: i32) -> i32;
    }
    const SIGKILL: i32 = 9;
    // SAFETY: kill has no memory-safety preconditions; a negative pid names
    // a process group, here the one sdtrace leads (it is not yet reaped, or
    // its group still has members, so the id is not reused).
    unsafe { kill(-group, SIGKILL) };
}

/// Something a D file needs to run, from its `requires:` line.
#[derive(Debug, PartialEq)]
enum Requirement {
    /// `root`: the file attaches probes. Files without `requires:` need it.
    Root,
    /// A program by path (`/usr/bin/python3.11`) or looked up in `$PATH`
    /// (`ruby3.1`).
    Program(String),
}

impl Requirement {
    fn is_met(&self) -> bool {
        match self {
            Requirement::Root => {
                extern "C" {
                    fn geteuid() -> u32;
                }
                // SAFETY: geteuid has no preconditions.
                unsafe { geteuid() == 0 }
            }
            Requirement::Program(p) if p.contains('/') => Path::new(p).is_file(),
            Requirement::Program(p) => std::env::var_os("PATH")
                .is_some_and(|path| std::env::split_paths(&path).any(|dir| dir.join(p).is_file())),
        }
    }
}

impl std::fmt::Display for Requirement {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Requirement::Root => f.write_str("root (to attach probes)"),
            Requirement::Program(p) if p.contains('/') => write!(f, "{p}"),
            Requirement::Program(p) => write!(f, "{p} (in $PATH)"),
        }
    }
}

/// What the file's `requires:` line lists; `root` without one.
fn requirements(path: &Path) -> Vec<Requirement> {
    let Some(line) = header(path).into_iter().find_map(|l| l.strip_prefix("requires:").map(str::to_string)) else {
        return vec![Requirement::Root];
    };
    line.split(',')
        .map(str::trim)
        .filter(|r| !r.is_empty())
        .map(|r| match r {
            "root" => Requirement::Root,
            _ if r.contains(char::is_whitespace) => panic!("{}: `{r}` in requires: is no program", path.display()),
            _ => Requirement::Program(r.to_string()),
        })
        .collect()
}

/// The test of one `tests/d` file (`name`: `timer_strings.d`): what it
/// requires, checked; then it is run and its header's checks made.
fn run_d_file(name: &str) {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("d").join(name);
    let missing: Vec<String> = requirements(&path).into_iter().filter(|r| !r.is_met()).map(|r| r.to_string()).collect();
    if !missing.is_empty() {
        let missing = missing.join(", ");
        assert!(!in_ci(), "tests/d/{name} requires {missing}: under CI=true everything must be there");
        // Past the harness's capture of test output, so that it shows.
        let _ = writeln!(std::io::stderr(), "NOT RUN: tests/d/{name} requires {missing}");
        return;
    }
    if let Err(e) = run_file(&path) {
        panic!("tests/d/{name}: {e}");
    }
}

/// One test per `tests/d/*.d` file, named after it (tests/build.rs).
#[allow(non_snake_case)]
mod d_file {
    use super::run_d_file;

    include!(concat!(env!("OUT_DIR"), "/d_files.rs"));
}

/// Whether `text` matches `pattern`, where `*` matches any run of characters.
fn wildcard_match(pattern: &str, text: &str) -> bool {
    let mut parts = pattern.split('*');
    let first = parts.next().unwrap_or("");
    let Some(mut rest) = text.strip_prefix(first) else { return false };
    let parts: Vec<&str> = parts.collect();
    for (i, p) in parts.iter().enumerate() {
        if i + 1 == parts.len() {
            return rest.ends_with(p);
        }
        match rest.find(p) {
            Some(at) => rest = &rest[at + p.len()..],
            None => return false,
        }
    }
    rest.is_empty()
}

#[test]
fn wildcards_match_any_run_of_characters() {
    assert!(wildcard_match("a*c", "abbc"));
    assert!(wildcard_match("*vmlinux`do_syscall_64+0x*", "   vmlinux`do_syscall_64+0x1fa"));
    assert!(!wildcard_match("a*c", "abd"));
    assert!(wildcard_match("abc", "abc"));
    assert!(!wildcard_match("abc", "abcd"));
}

/// The generated tests are those of the files there now (build.rs reruns
/// when the directory changes), and the suite still has its files.
#[test]
fn there_is_a_test_per_d_file() {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("d");
    let mut files: Vec<String> = std::fs::read_dir(&dir)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .filter(|n| n.ends_with(".d"))
        .collect();
    files.sort();
    assert_eq!(files, d_file::D_FILES, "tests/d and the generated tests differ");
    assert!(files.len() >= 5, "the runtime suite lost its files");
}

#[test]
fn requirements_come_from_the_requires_line() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("d");
    assert_eq!(requirements(&root.join("aggregations.d")), [Requirement::Root]);
    assert_eq!(requirements(&root.join("compile_errors.d")), []);
    assert_eq!(
        requirements(&root.join("vtimestamp.d")),
        [Requirement::Root, Requirement::Program("/usr/bin/python3.11".into())]
    );
    assert!(Requirement::Program("sh".into()).is_met());
    assert!(!Requirement::Program("/nonexistent/sdtrace-python".into()).is_met());
    assert!(!Requirement::Program("sdtrace-no-such-program".into()).is_met());
}

/// The Python flow script shipped in tracer/d: on Debian's CPython 3.11,
/// whose function-entry fires only while the line probe is enabled, every
/// return closes the entry above it (direct recursion included), and the
/// syscalls show at the depth of the function that made them.
#[test]
fn the_python_flow_script_nests_calls_and_syscalls() {
    if !can_attach() {
        return;
    }
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).parent().unwrap();
    let program = root.join("tests/d/flow.py");
    let stdout = run_flow_script("py_flowtime.d", &format!("/usr/bin/python3.11 {}", program.display()));
    let flow = flow_events(&stdout, "(flow.py:", "read_file", "work");
    let work = ["-> work", "-> read_file", "=> openat", "=> read", "=> read", "<- read_file", "=> getpid", "<- work"];
    let fib = ["-> fib", "-> fib", "-> fib", "<- fib", "-> fib", "<- fib", "<- fib", "-> fib", "<- fib", "<- fib"];
    let mut want = vec!["-> <module>", "-> main"];
    want.extend(work);
    want.extend(work);
    want.extend(fib);
    want.extend(["<- main", "<- <module>"]);
    assert_eq!(flow, want, "\n{stdout}");
}

/// The Ruby flow script shipped in tracer/d, on Debian's Ruby 3.1 with the
/// TracePoint helper that makes Ruby fire method-entry: every return
/// closes the entry above it (recursion included), and the syscalls show
/// at the depth of the method that made them.
#[test]
fn the_ruby_flow_script_nests_calls_and_syscalls() {
    if !can_attach() {
        return;
    }
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).parent().unwrap();
    let helper = root.join("tracer/d/rb_tracepoint.rb");
    let program = root.join("tests/d/shop.rb");
    let command = format!("/usr/bin/ruby3.1 --disable-gems -r{} {}", helper.display(), program.display());
    let stdout = run_flow_script("rb_flowtime.d", &command);
    let flow = flow_events(&stdout, "(shop.rb:", "Shop#read_file", "Shop#work");
    let work = [
        "-> Shop#work",
        "-> Shop#read_file",
        "=> openat",
        "=> read",
        "=> read",
        "<- Shop#read_file",
        "=> getpid",
        "<- Shop#work",
    ];
    let fib = ["-> Shop#fib", "-> Shop#fib", "-> Shop#fib", "<- Shop#fib", "-> Shop#fib", "<- Shop#fib"];
    let mut want = vec!["-> Shop#main"];
    want.extend(work);
    want.extend(work);
    want.extend(fib);
    want.extend(["<- Shop#fib", "-> Shop#fib", "<- Shop#fib", "<- Shop#fib", "<- Shop#main"]);
    assert_eq!(flow, want, "\n{stdout}");
}

/// Run one of the flow scripts of tracer/d on `command`; its output.
fn run_flow_script(script: &str, command: &str) -> String {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).parent().unwrap();
    let out = Command::new(sdtrace_bin())
        .arg("-s")
        .arg(root.join("tracer/d").join(script))
        .arg("-c")
        .arg(command)
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    String::from_utf8_lossy(&out.stdout).into_owned()
}

/// Check a flow script's output (a heading, then event lines: CPU, delta,
/// and the event indented two spaces a level): every return closes the
/// entry above it, every line is indented by its depth, syscalls happen
/// inside traced code. Returns `KIND NAME` of the program's own lines (those
/// that name `source`), the openat and read syscalls of `reader`, and the
/// getpid of `worker`.
fn flow_events(stdout: &str, source: &str, reader: &str, worker: &str) -> Vec<String> {
    let mut lines = stdout.lines();
    let header = lines.next().unwrap_or_default();
    assert!(header.contains("DELTA(us)") && header.contains("EVENT"), "{header}");
    let mut stack: Vec<String> = Vec::new();
    let mut flow: Vec<String> = Vec::new();
    for line in lines {
        let fields: Vec<&str> = line.split_whitespace().collect();
        assert!(fields.len() >= 4 && fields[0].parse::<u32>().is_ok(), "not an event line: `{line}`");
        // The event starts after "%3d %9d  ".
        let after_delta = line.get(15..).unwrap_or_else(|| panic!("a short line: `{line}`"));
        let indent = after_delta.len() - after_delta.trim_start().len();
        let (kind, name) = (fields[2], fields[3]);
        let depth = match kind {
            "->" => stack.len(),
            "<-" => {
                let top = stack.pop().unwrap_or_else(|| panic!("a return with nothing entered: `{line}`\n{stdout}"));
                assert_eq!(top, name, "`{line}` does not return from `{top}`");
                stack.len()
            }
            "=>" | "<=" => {
                assert!(!stack.is_empty(), "a syscall outside traced code: `{line}`");
                stack.len()
            }
            _ => panic!("unknown event `{line}`"),
        };
        assert_eq!(indent, depth * 2, "`{line}` is not indented by its depth {depth}\n{stdout}");
        if kind == "->" {
            stack.push(name.to_string());
        }
        let top = stack.last().map(String::as_str);
        let read = top == Some(reader) && ["openat", "read"].contains(&name);
        let getpid = top == Some(worker) && name == "getpid";
        if line.contains(source) || (kind == "=>" && (read || getpid)) {
            flow.push(format!("{kind} {name}"));
        }
    }
    flow
}

/// The Python CPU-time script shipped in tracer/d: a function that sleeps
/// shows its sleep as elapsed time but not as time on a CPU, while the
/// functions that compute show both.
#[test]
fn the_python_cputime_script_tells_waiting_from_computing() {
    if !can_attach() {
        return;
    }
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).parent().unwrap();
    let out = Command::new(sdtrace_bin())
        .arg("-s")
        .arg(root.join("tracer/d/py_cputime.d"))
        .arg("-c")
        .arg(format!("/usr/bin/python3.11 {}", root.join("tests/d/cputime.py").display()))
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let mut lines = stdout.lines().filter(|l| !l.trim().is_empty());
    let header: Vec<&str> = lines.next().unwrap_or_default().split_whitespace().collect();
    assert_eq!(header, ["FILE", "FUNCTION", "CALLS", "ELAPSED(us)", "ON-CPU(us)"], "\n{stdout}");
    // FILE FUNCTION CALLS ELAPSED ON-CPU, for cputime.py's functions.
    let rows: std::collections::HashMap<&str, [u64; 3]> = lines
        .filter_map(|l| {
            // Files such as `<frozen abc>` hold spaces: count from the end.
            let f: Vec<&str> = l.split_whitespace().rev().collect();
            assert!(f.len() >= 5, "not a row: `{l}`\n{stdout}");
            let n = |i: usize| f[i].parse::<u64>().unwrap_or_else(|_| panic!("not a number in `{l}`"));
            (f.len() == 5 && f[4] == "cputime.py").then(|| (f[3], [n(2), n(1), n(0)]))
        })
        .collect();
    let row = |name: &str| *rows.get(name).unwrap_or_else(|| panic!("no row for {name}\n{stdout}"));
    let [spin_calls, spin_elapsed, spin_cpu] = row("spin");
    let [nap_calls, nap_elapsed, nap_cpu] = row("nap");
    let [main_calls, main_elapsed, main_cpu] = row("main");
    assert_eq!((spin_calls, nap_calls, main_calls), (2, 1, 1), "\n{stdout}");
    // nap sleeps 0.2 s: elapsed, hardly any of it on a CPU.
    assert!(
        nap_elapsed >= 200_000 && nap_cpu < 50_000,
        "nap: {nap_elapsed} us elapsed, {nap_cpu} us on a CPU\n{stdout}"
    );
    // spin computes: some time on a CPU, never more than elapsed (the two
    // clocks are read one after the other, hence a microsecond of slack).
    assert!(
        spin_cpu > 0 && spin_cpu <= spin_elapsed + 1,
        "spin: {spin_elapsed} us elapsed, {spin_cpu} on a CPU\n{stdout}"
    );
    // main holds both: its CPU time includes spin's, and not nap's sleep.
    assert!(main_cpu >= spin_cpu, "main {main_cpu} us on a CPU, spin {spin_cpu}\n{stdout}");
    assert!(main_elapsed - main_cpu >= 150_000, "main: {main_elapsed} us elapsed, {main_cpu} on a CPU\n{stdout}");
}

/// Without `-q`, output is dtrace(1)'s: a heading, then for each firing of
/// a clause that records data a line with the CPU, the probe id and
/// `function:name`, then what the clause traced, in dtrace(1)'s columns.
/// With `-q` the same program prints the bare values.
#[test]
fn without_quiet_each_firing_prints_a_probe_line() {
    if !can_attach() {
        return;
    }
    let program = r#"
        BEGIN { trace("hello"); trace(7); trace((int)-7); trace((uint8_t)200); }
        BEGIN { x = 1; @n = count(); }
        BEGIN /x == 1/ { }
        BEGIN { printf("p%d\n", x); }
        syscall::exit_group:entry /pid == $target/ { trace(arg0); exit(0); }
    "#;
    let run = |quiet: bool| {
        let mut cmd = Command::new(sdtrace_bin());
        if quiet {
            cmd.arg("-q");
        }
        let out = cmd.args(["-n", program, "-c", "sh -c 'exit 3'"]).output().unwrap();
        let stderr = String::from_utf8_lossy(&out.stderr).into_owned();
        assert!(out.status.success(), "{stderr}");
        String::from_utf8(out.stdout).unwrap()
    };

    let loud = run(false);
    let mut lines = loud.lines();
    assert_eq!(lines.next(), Some("CPU     ID                    FUNCTION:NAME"), "{loud}");
    // Each probe line: "%3d %6d %32s " (CPU, id, function:name), then the data.
    let mut probe_lines = Vec::new();
    let mut rest = Vec::new();
    for line in lines {
        let cols = (line.get(..3), line.get(3..4), line.get(4..10), line.get(10..11));
        match cols {
            (Some(cpu), Some(" "), Some(id), Some(" "))
                if cpu.trim().parse::<u32>().is_ok() && id.trim().parse::<u32>().is_ok() =>
            {
                probe_lines.push(line[11..].trim_end().to_string())
            }
            _ => rest.push(line.trim_end().to_string()),
        }
    }
    let begin = format!("{:>32}", ":BEGIN");
    assert_eq!(
        probe_lines,
        [
            format!("{begin}   {:<33} {:>16} {:>8} {:>3}", "hello", 7, -7, 200).trim_end().to_string(),
            begin.clone(),
            format!("{begin} p1"),
            format!("{:>32}  {:>16}", "exit_group:entry", 3),
        ],
        "{loud}"
    );
    // printf's own newline, then the end of the firing's line: a blank line;
    // then the aggregation at the end.
    assert!(rest.iter().any(|l| l.is_empty()), "{loud}");
    assert!(rest.iter().any(|l| l.trim() == "1"), "the count at the end: {loud}");

    let quiet = run(true);
    assert!(quiet.starts_with("hello7-7200p1\n3"), "{quiet}");
    assert!(!quiet.contains("FUNCTION:NAME"), "{quiet}");
}

/// `-l` with `-c` starts the command (held, then killed) so that the
/// probes it lists carry the process's pid, as dtrace(1) lists them.
#[test]
fn listing_with_a_command_names_the_commands_pid() {
    if !can_attach() {
        return;
    }
    let out = Command::new(sdtrace_bin())
        .args(["-l", "-n", "pid$target:libc.so.6:malloc:entry", "-c", "/bin/true"])
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let row: Vec<&str> = stdout.lines().nth(1).unwrap_or_default().split_whitespace().collect();
    assert_eq!(row.get(2..), Some(&["libc.so.6", "malloc", "entry"][..]), "{stdout}");
    let pid: u32 = row[1].strip_prefix("pid").and_then(|p| p.parse().ok()).unwrap_or_else(|| panic!("{stdout}"));
    assert!(pid > 0, "{stdout}");
    // The held command was killed, not left waiting.
    assert!(!std::path::Path::new(&format!("/proc/{pid}")).exists(), "pid {pid} is still there");
}

/// Regression: `-p P -p P` scoped P's objects twice, so every site was
/// attached twice and every event counted twice. The sites a process is
/// traced at are those of the file's notes, as readelf lists them.
#[test]
fn a_pid_given_twice_is_traced_once() {
    if !can_attach() {
        return;
    }
    let exe = fixture("sdt_basic_O2");
    let notes = Command::new("readelf").args(["-n", &exe.display().to_string()]).output().unwrap();
    let notes = String::from_utf8_lossy(&notes.stdout);
    let sites = notes.lines().filter(|l| l.trim() == "Name: repeated").count();
    assert!(sites > 0, "readelf shows no `repeated` note in {}:\n{notes}", exe.display());
    let mut prog = Command::new(&exe).args(["100000", "slow"]).stdout(Stdio::null()).spawn().unwrap();
    let pid = prog.id().to_string();
    let out = Command::new(sdtrace_bin())
        .args(["-l", "-n", "fixture$target:::repeated", "-p", &pid, "-p", &pid])
        .output()
        .unwrap();
    let _ = prog.kill();
    let _ = prog.wait();
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let listed = stdout.lines().skip(1).filter(|l| l.trim_end().ends_with(" repeated")).count();
    assert_eq!(listed, sites, "{stdout}");
}
