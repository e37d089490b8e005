//! What the test uses for what only the doc's reader has (`app.py`,
//! `-p 1234`, `./prog`, `/path/to/rust_fixture`).
//! `-p PID` is a service instrumented with `tracing` through sdtrace's
//! layer (its provider `myservice`), waiting on its stdin.

use std::process::{Child, Command, Stdio};

use tests::{fixture, rust_fixture};

use super::markdown::{join, Example, Form};
use super::{root, PYTHON, PYTHON_STAND_IN};

/// How the test runs an example.
#[derive(Debug, PartialEq)]
pub(super) enum Plan {
    /// sdtrace's arguments, from the workspace root.
    Run(Vec<String>),
    /// `-s FILE` of the reader's script: the example shows no program.
    NoProgram(String),
}

/// sdtrace's arguments for `example`, run from the workspace root, where
/// what only the reader has is replaced:
///
/// - `-s FILE` of a file the repository does not have (`script.d`) shows
///   no program: [`Plan::NoProgram`], and the test checks that these are
///   exactly [`NO_PROGRAM`](super::NO_PROGRAM);
/// - `-p PID` is `pid`, a process the test started (it must exist);
/// - in `-c COMMAND`, word by word: `python3` and `python3.11` are
///   [`PYTHON`]; a script (`*.py`, `*.rb`) in the repository, at the root
///   or in `tests/d/` (the README's `fib.py`), is that file, and a Python
///   script that is not (`app.py`) makes the command [`PYTHON_STAND_IN`];
///   `./prog` is the C fixture `sdt_basic_O0` (its `main` calls
///   `repeated_a`, where the doc's calls `parse`); `rust_fixture` is
///   tests/rust-fixture's debug build;
/// - in the program, `/path/to/rust_fixture` is that build;
/// - a ```d block is `-n TEXT`, with `-c` [`PYTHON_STAND_IN`] when it
///   names `python$target`.
pub(super) fn plan(example: &Example, pid: Option<u32>) -> Plan {
    let words = match &example.form {
        Form::Block(text) => {
            let mut args = vec!["-n".to_string(), text.clone()];
            if text.contains("python$target") {
                args.extend(["-c".to_string(), PYTHON_STAND_IN.to_string()]);
            }
            return Plan::Run(args);
        }
        Form::Command(words) => words,
    };
    let mut args = Vec::new();
    let mut words = words.iter();
    while let Some(w) = words.next() {
        args.push(w.clone());
        if !["-s", "-p", "-c", "-n"].contains(&w.as_str()) {
            continue;
        }
        let value = words.next().unwrap_or_else(|| panic!("{example}: `{w}` without its value"));
        let value = match w.as_str() {
            "-s" if !root().join(value).is_file() => return Plan::NoProgram(value.clone()),
            "-p" => pid.unwrap_or_else(|| panic!("{example}: `-p` needs a stand-in process")).to_string(),
            "-c" => stand_in_command(example, value),
            "-n" if value.contains("/path/to/rust_fixture") => {
                value.replace("/path/to/rust_fixture", &rust_fixture("debug", "rust_fixture").display().to_string())
            }
            _ => value.clone(),
        };
        args.push(value);
    }
    Plan::Run(args)
}

/// A doc's `-c` command with the reader's things replaced (see [`plan`]).
fn stand_in_command(example: &Example, command: &str) -> String {
    let words = shlex::split(command).unwrap_or_else(|| panic!("{example}: `-c {command}` does not split"));
    let mut out = Vec::new();
    for word in words {
        let word = match word.as_str() {
            "python3" | "python3.11" => PYTHON.to_string(),
            "./prog" => fixture("sdt_basic_O0").display().to_string(),
            "rust_fixture" => rust_fixture("debug", "rust_fixture").display().to_string(),
            w if !w.starts_with('-') && (w.ends_with(".py") || w.ends_with(".rb")) => {
                if root().join(w).is_file() {
                    word
                } else if root().join("tests/d").join(w).is_file() {
                    format!("tests/d/{w}")
                } else if w.ends_with(".py") {
                    return PYTHON_STAND_IN.to_string();
                } else {
                    panic!("{example}: `{w}` is not in the repository and has no stand-in")
                }
            }
            _ => word,
        };
        out.push(word);
    }
    join(&out)
}

/// `args` with the value of `-c` replaced by `command`.
pub(super) fn with_command(args: &[String], command: &str) -> Vec<String> {
    let at = args.iter().position(|a| a == "-c").expect("a -c command") + 1;
    let mut args = args.to_vec();
    args[at] = command.to_string();
    args
}

/// The value of `-c` in `args`.
pub(super) fn command_of(args: &[String]) -> &str {
    let at = args.iter().position(|a| a == "-c").expect("a -c command") + 1;
    &args[at]
}

/// A process for the docs' `-p PID`, killed when dropped.
pub(super) struct StandInProcess(Child);

impl StandInProcess {
    /// The service of examples/tracing_service.rs with its provider
    /// named `myservice`, as the README's example of the tracing layer
    /// names it, warmed up (its span probes are declared) and waiting.
    pub(super) fn start() -> Self {
        use std::io::BufRead;
        let mut child = Command::new(tests::example_bin("tracing_service"))
            .env("SVC_PROVIDER", "myservice")
            .arg("/index=1")
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .spawn()
            .expect("start the stand-in service");
        let mut line = String::new();
        let out = child.stdout.as_mut().expect("piped");
        std::io::BufReader::new(out).read_line(&mut line).expect("the service says it is ready");
        assert!(line.starts_with("ready "), "{line}");
        StandInProcess(child)
    }

    /// The process id that stands for the doc's `-p PID`.
    pub(super) fn pid(&self) -> u32 {
        self.0.id()
    }
}

impl Drop for StandInProcess {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

#[test]
fn stand_ins_replace_what_only_the_reader_has() {
    let ex = |words: &[&str]| Example {
        file: "x.md".to_string(),
        line: 1,
        written: String::new(),
        form: Form::Command(words.iter().map(|s| s.to_string()).collect()),
        shown: Vec::new(),
    };
    let run = |words: &[&str]| match plan(&ex(words), Some(42)) {
        Plan::Run(args) => args,
        other => panic!("{other:?}"),
    };
    assert_eq!(plan(&ex(&["-s", "script.d", "-p", "1234"]), None), Plan::NoProgram("script.d".to_string()));
    assert_eq!(run(&["-n", "BEGIN {}", "-p", "1234"]), ["-n", "BEGIN {}", "-p", "42"]);
    assert_eq!(run(&["-Z", "-n", "x", "-c", "python3 app.py"]), ["-Z", "-n", "x", "-c", PYTHON_STAND_IN]);
    assert_eq!(
        run(&["-n", "x", "-c", "/usr/bin/python3.11 fib.py"]),
        ["-n", "x", "-c", "/usr/bin/python3.11 tests/d/fib.py"]
    );
    assert_eq!(
        run(&["-s", "tracer/d/rb_flowtime.d", "-c", "ruby -r./tracer/d/rb_tracepoint.rb tests/d/shop.rb"]),
        ["-s", "tracer/d/rb_flowtime.d", "-c", "ruby -r./tracer/d/rb_tracepoint.rb tests/d/shop.rb"]
    );
}
