//! Helpers shared by the workspace's end-to-end suites (`tests/tests/*.rs`):
//! locating the built `sdtrace` binary, the C fixtures compiled by this
//! crate's build script, and the Debian files the suites read.

use std::path::{Path, PathBuf};

/// Directory where the build script put the compiled C fixtures.
pub fn fixture_dir() -> PathBuf {
    PathBuf::from(env!("SDTRACE_FIXTURE_DIR"))
}

/// Path of a compiled C fixture by name.
pub fn fixture(name: &str) -> PathBuf {
    fixture_dir().join(name)
}

/// The `sdtrace` binary built from this workspace (`$SDTRACE_BIN` overrides).
///
/// Cargo builds a package's binaries only for that package's own tests, so
/// `scripts/test` runs `cargo build --workspace --bins` first.
pub fn sdtrace_bin() -> PathBuf {
    if let Some(p) = std::env::var_os("SDTRACE_BIN") {
        return PathBuf::from(p);
    }
    let mut p = std::env::current_exe().expect("test binary path");
    p.pop();
    if p.ends_with("deps") {
        p.pop();
    }
    let bin = p.join("sdtrace");
    assert!(
        bin.exists(),
        "{} is missing: run `cargo build --workspace --bins` first (scripts/test does)",
        bin.display()
    );
    bin
}

/// An example program of this crate (`tests/examples/NAME.rs`), as
/// `cargo build --workspace --examples` leaves it in `target/*/examples`
/// (`cargo test` builds examples too but does not put them there).
pub fn example_bin(name: &str) -> PathBuf {
    let mut p = std::env::current_exe().expect("test binary path");
    p.pop();
    if p.ends_with("deps") {
        p.pop();
    }
    let bin = p.join("examples").join(name);
    assert!(
        bin.exists(),
        "{} is missing: run `cargo build --workspace --examples` first (scripts/test does)",
        bin.display()
    );
    bin
}

/// Whether the suite runs under CI, where missing prerequisites fail tests.
pub fn in_ci() -> bool {
    std::env::var("CI").is_ok_and(|v| v == "true" || v == "1")
}

/// A Debian file a suite needs. Under CI a missing file fails the test;
/// elsewhere the caller gets `None` and reports the test as not run.
pub fn system_file(path: &str) -> Option<&Path> {
    let p = Path::new(path);
    if p.exists() {
        return Some(p);
    }
    assert!(!in_ci(), "{path} is missing; the test command installs it (scripts/test)");
    eprintln!("NOT RUN: {path} is missing; run scripts/test to install it");
    None
}

/// Whether tests that attach probes can run: root is needed. Under CI a
/// non-root run fails the test; elsewhere it prints `NOT RUN` and returns false.
pub fn can_attach() -> bool {
    // SAFETY: geteuid has no preconditions.
    let root = unsafe { libc_geteuid() } == 0;
    if !root {
        assert!(!in_ci(), "end-to-end tracing tests need root; CI runs as root");
        eprintln!("NOT RUN: attaching probes needs root");
    }
    root
}

extern "C" {
    #[link_name = "geteuid"]
    fn libc_geteuid() -> u32;
}

/// Parse NDJSON output into values, failing on any malformed line.
pub fn ndjson(out: &[u8]) -> Vec<serde_json::Value> {
    String::from_utf8_lossy(out)
        .lines()
        .filter(|l| l.starts_with('{'))
        .map(|l| serde_json::from_str(l).unwrap_or_else(|e| panic!("bad NDJSON line {l:?}: {e}")))
        .collect()
}

/// The workspace's `target` directory, found from the test binary's path.
fn target_dir() -> PathBuf {
    let mut p = std::env::current_exe().expect("test binary path");
    p.pop();
    if p.ends_with("deps") {
        p.pop();
    }
    p.pop();
    p
}

/// A build of `tests/rust-fixture` (`#[provider]` probes): `file` is
/// `rust_fixture` (the program) or `librust_fixture.so` (the cdylib), and
/// `profile` one of `debug`, `fixture-lto` (opt-level 3, fat LTO,
/// panic=abort), `fixture-thin` (opt-level 1, thin LTO) or `fixture-o2`
/// (opt-level 2, the program linked non-PIE). `scripts/test` builds them.
pub fn rust_fixture(profile: &str, file: &str) -> PathBuf {
    let p = target_dir().join(profile).join(file);
    assert!(p.exists(), "{} is missing: scripts/test builds the rust-fixture profiles", p.display());
    p
}

pub mod probe_cost;

/// The objects inside `tests/rust-fixture`'s rlib built for `triple` (by
/// `scripts/test`: `cargo rustc --lib --crate-type rlib --target TRIPLE`),
/// extracted with binutils' `ar`.
pub fn cross_fixture_objects(triple: &str) -> Vec<(String, Vec<u8>)> {
    let rlib = target_dir().join(triple).join("debug/librust_fixture.rlib");
    assert!(rlib.exists(), "{} is missing: scripts/test cross-builds the rust-fixture library", rlib.display());
    let dir = std::env::temp_dir().join(format!("rlib-{triple}-{}", std::process::id()));
    std::fs::create_dir_all(&dir).expect("temp dir");
    let st = std::process::Command::new("ar").arg("x").arg(&rlib).current_dir(&dir).status().expect("run ar");
    assert!(st.success(), "ar x {} failed", rlib.display());
    let mut objects = Vec::new();
    for e in std::fs::read_dir(&dir).expect("read temp dir") {
        let p = e.expect("dir entry").path();
        if p.extension().is_some_and(|x| x == "o") {
            objects.push((p.display().to_string(), std::fs::read(&p).expect("read object")));
        }
    }
    let _ = std::fs::remove_dir_all(&dir);
    objects
}

/// `sdtrace -q -n PROGRAM -c "/bin/sh -c 'SCRIPT'"`: its stdout (the
/// program's output and the script's), after asserting that it succeeded.
pub fn trace_shell(program: &str, script: &str) -> String {
    let command = format!("/bin/sh -c '{}'", script.replace('\'', "'\\''"));
    let out = std::process::Command::new(sdtrace_bin())
        .args(["-q", "-n", program, "-c", &command])
        .output()
        .expect("sdtrace runs");
    let stdout = String::from_utf8_lossy(&out.stdout).into_owned();
    assert!(out.status.success(), "{stdout}\n{}", String::from_utf8_lossy(&out.stderr));
    stdout
}

/// The Python of the tests' virtualenv (`target/test-venv`, made by
/// `scripts/install-deps test`), which has Perfetto's protos from PyPI.
/// Under CI a missing one fails the test.
pub fn test_venv_python() -> Option<PathBuf> {
    let p = Path::new(env!("CARGO_MANIFEST_DIR")).join("../target/test-venv/bin/python");
    let ok = std::process::Command::new(&p)
        .args(["-c", "import perfetto.protos.perfetto.trace.perfetto_trace_pb2"])
        .output()
        .is_ok_and(|o| o.status.success());
    if ok {
        return Some(p);
    }
    assert!(!in_ci(), "{} lacks the perfetto package; scripts/install-deps test makes it", p.display());
    eprintln!("NOT RUN: {} lacks the perfetto package; run scripts/install-deps test", p.display());
    None
}

/// Write `text` to `name` in this test process's scratch directory for
/// `suite` (`$TMPDIR/sdtrace-SUITE-PID`), made if missing; its path.
pub fn scratch_file(suite: &str, name: &str, text: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("sdtrace-{suite}-{}", std::process::id()));
    std::fs::create_dir_all(&dir).expect("make the scratch directory");
    let p = dir.join(name);
    std::fs::write(&p, text).expect("write the scratch file");
    p
}
