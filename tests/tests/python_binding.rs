//! The Python package (`language-bindings/python`) end to end: installed
//! with pip into a virtual environment of Debian's python3.11 (maturin
//! builds the extension from this checkout), then its pytest suite runs,
//! including the tests that trace its probes with sdtrace and bpftrace.

use std::path::PathBuf;
use std::process::Command;

use tests::{can_attach, sdtrace_bin, system_file};

fn repo() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).parent().unwrap().to_path_buf()
}

fn run(cmd: &mut Command) -> String {
    let out = cmd.output().unwrap_or_else(|e| panic!("{cmd:?}: {e}"));
    let text = format!("{}{}", String::from_utf8_lossy(&out.stdout), String::from_utf8_lossy(&out.stderr));
    assert!(out.status.success(), "{cmd:?} failed:\n{text}");
    text
}

#[test]
fn pip_installs_the_package_and_its_pytest_suite_passes_traced_by_sdtrace_and_bpftrace() {
    if !can_attach() {
        return;
    }
    let Some(python) = system_file("/usr/bin/python3.11") else { return };
    let sdtrace = sdtrace_bin();
    // The environment lives in the target directory: pip rebuilds the
    // package from the checkout each time, the rest is reused.
    let venv = sdtrace.parent().unwrap().join("python-venv");
    if !venv.join("bin/python").exists() {
        run(Command::new(python).args(["-m", "venv"]).arg(&venv));
    }
    let pip = venv.join("bin/pip");
    run(Command::new(&pip).args(["install", "--quiet", "pytest"]));
    let package = repo().join("language-bindings/python");
    run(Command::new(&pip).args(["install", "--quiet", "--force-reinstall", "--no-deps"]).arg(&package));
    let providers = tempdir();
    let out = run(Command::new(venv.join("bin/python"))
        .args(["-m", "pytest", "-v", "-p", "no:cacheprovider"])
        .arg(package.join("tests"))
        .env("SDTRACE_BIN", &sdtrace)
        .env("SDTRACE_PROVIDER_DIR", &providers)
        .env("CI", "true"));
    let _ = std::fs::remove_dir_all(&providers);
    eprintln!("{out}");
    // Every test ran: none was skipped (CI=true above turns a skip into a failure).
    assert!(!out.contains("SKIPPED") && out.contains(" passed"), "{out}");
    for name in [
        "test_sdtrace_traces_every_probe_by_path_before_the_program_starts PASSED",
        "test_bpftrace_reads_integers_and_strings PASSED",
        "test_sdtrace_lists_a_running_programs_providers_with_docs PASSED",
    ] {
        assert!(out.contains(name), "{name} missing:\n{out}");
    }
}

fn tempdir() -> PathBuf {
    let d = std::env::temp_dir().join(format!("sdtrace-pytest-{}", std::process::id()));
    std::fs::create_dir_all(&d).unwrap();
    d
}
