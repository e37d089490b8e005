//! Sources of the values a run must show that are independent of sdtrace:
//! Python's profiler, Ruby's TracePoint, strace.

use std::collections::BTreeMap;
use std::process::{Command, Stdio};

use super::{root, STRACE};

/// Python's own account of a script's calls, from `sys.setprofile`: for
/// each call and return of a function of that file, `-> NAME (FILE:LINE)`
/// or `<- NAME (FILE:LINE)`, as the docs' flow scripts print them.
pub(super) const PYTHON_PROFILER: &str = r#"
import os, sys
path = os.path.abspath(sys.argv[1])
name = os.path.basename(path)
def profile(frame, event, arg):
    if event in ("call", "return") and frame.f_code.co_filename == path:
        kind = "->" if event == "call" else "<-"
        print("%s %s (%s:%d)" % (kind, frame.f_code.co_name, name, frame.f_lineno))
code = compile(open(path).read(), path, "exec")
sys.argv = sys.argv[1:]
sys.setprofile(profile)
exec(code, {"__name__": "__main__", "__file__": path})
sys.setprofile(None)
"#;

/// Ruby's own account of a script's method calls, from a TracePoint:
/// `-> Class#method LINE` and `<- Class#method LINE`.
pub(super) const RUBY_TRACEPOINT: &str = r##"
path = File.expand_path(ARGV[0])
TracePoint.new(:call, :return) do |tp|
  next unless tp.path == path
  puts "#{tp.event == :call ? '->' : '<-'} #{tp.defined_class}##{tp.method_id} #{tp.lineno}"
end.enable { load path }
"##;

/// Runs `program` with `args` from the workspace root; its stdout lines.
pub(super) fn output_lines(program: &str, args: &[&str]) -> Vec<String> {
    let out = Command::new(program).current_dir(root()).args(args).stdin(Stdio::null()).output().expect("run a helper");
    assert!(out.status.success(), "{program} {args:?}: {}", String::from_utf8_lossy(&out.stderr));
    String::from_utf8_lossy(&out.stdout).lines().map(str::to_string).collect()
}

/// What strace writes for `command` (split as `-c` splits it), run from the
/// workspace root as sdtrace runs it: stdin null, stdout a pipe.
pub(super) fn strace(options: &[&str], command: &str) -> String {
    let file = std::env::temp_dir().join(format!("sdtrace-doc-strace-{}.txt", std::process::id()));
    let words = shlex::split(command).expect("a command");
    let out = Command::new(STRACE)
        .current_dir(root())
        .arg("-o")
        .arg(&file)
        .args(options)
        .args(&words)
        .stdin(Stdio::null())
        .output()
        .expect("run strace");
    assert!(out.status.success(), "strace {command}: {}", String::from_utf8_lossy(&out.stderr));
    let text = std::fs::read_to_string(&file).expect("strace's output");
    let _ = std::fs::remove_file(&file);
    text
}

/// Calls per syscall of `command`, as `strace -f -c` counts them.
pub(super) fn strace_counts(command: &str) -> BTreeMap<String, u64> {
    // % time  seconds  usecs/call  calls  [errors]  syscall
    strace(&["-f", "-c"], command)
        .lines()
        .filter_map(|l| {
            let f: Vec<&str> = l.split_whitespace().collect();
            let row = f.len() >= 5 && f[0].parse::<f64>().is_ok() && f[f.len() - 1] != "total";
            row.then(|| (f[f.len() - 1].to_string(), f[3].parse().expect("a count of calls")))
        })
        .collect()
}
