//! The C ABI end to end: `tests/c/c_probes.c` is compiled with `cc` against
//! `include/usdt_runtime.h` and this crate's shared library, declares a
//! provider with typed probes (twelve arguments, negative 64-bit integers,
//! floats, non-ASCII text), and the real `sdtrace` traces it as root,
//! attached by path to the provider's shared object before the program
//! starts. Under `CI=true` a run that cannot attach fails.

use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::OnceLock;

use tests::{can_attach, ndjson, sdtrace_bin};

/// The directory of this test binary, where cargo also put the library.
fn deps_dir() -> PathBuf {
    let mut p = std::env::current_exe().expect("test binary path");
    p.pop();
    p
}

/// The C program, compiled once per test run; and the provider directory it uses.
fn c_probes() -> &'static (PathBuf, PathBuf) {
    static BUILT: OnceLock<(PathBuf, PathBuf)> = OnceLock::new();
    BUILT.get_or_init(|| {
        let crate_dir = Path::new(env!("CARGO_MANIFEST_DIR"));
        let lib = deps_dir().join("libusdt_runtime.so");
        assert!(lib.exists(), "{} is missing: cargo builds this crate's cdylib only when asked; run `cargo build --workspace --lib` first (scripts/test does)", lib.display());
        let dir = std::env::temp_dir().join(format!("usdt-c-abi-{}", std::process::id()));
        std::fs::create_dir_all(&dir).expect("temp dir");
        let exe = dir.join("c_probes");
        let out = Command::new("cc")
            .args(["-std=c11", "-Wall", "-Wextra", "-Werror", "-O2", "-I"])
            .arg(crate_dir.join("include"))
            .arg("-o")
            .arg(&exe)
            .arg(crate_dir.join("tests/c/c_probes.c"))
            .arg(&lib)
            .arg(format!("-Wl,-rpath,{}", deps_dir().display()))
            .output()
            .expect("run cc");
        assert!(out.status.success(), "cc failed:\n{}", String::from_utf8_lossy(&out.stderr));
        (exe, dir.join("providers"))
    })
}

/// The traced test attaches to the provider's file; the test that expects
/// its probes off must not run meanwhile.
static ONE_AT_A_TIME: std::sync::Mutex<()> = std::sync::Mutex::new(());

fn run(args: &[&str]) -> (bool, String, String) {
    let (exe, providers) = c_probes();
    let out = Command::new(exe).args(args).env("SDTRACE_PROVIDER_DIR", providers).output().expect("run c_probes");
    (out.status.success(), String::from_utf8_lossy(&out.stdout).into(), String::from_utf8_lossy(&out.stderr).into())
}

#[test]
fn error_paths_return_codes_and_messages() {
    let (ok, out, err) = run(&["errors"]);
    assert!(ok, "{out}{err}");
    assert!(out.contains("bad provider name: -3 invalid provider name `9bad-name`"), "{out}");
    assert!(out.contains("missing probe: -8 provider `cabi_err` has no probe `two`"), "{out}");
    assert!(out.ends_with("errors ok\n"), "{out}");
}

#[test]
fn untraced_probes_are_disabled_by_call_and_inline_semaphore_read() {
    let _alone = ONE_AT_A_TIME.lock().unwrap_or_else(|e| e.into_inner());
    let (ok, out, err) = run(&["enabled"]);
    assert!(ok, "{err}");
    assert_eq!(out, "enabled call=0 inline=0\n");
}

#[test]
fn sdtrace_traces_the_c_program_by_path_and_reads_every_value() {
    if !can_attach() {
        return;
    }
    let _alone = ONE_AT_A_TIME.lock().unwrap_or_else(|e| e.into_inner());
    let (ok, path, err) = run(&["path"]);
    assert!(ok, "{err}");
    let path = path.trim();
    assert!(path.contains("/libcabi-") && path.ends_with(".so"), "{path}");
    let (exe, providers) = c_probes();
    let out = Command::new(sdtrace_bin())
        .args(["trace", "--json", &format!("{path}:cabi:*"), "-c", &format!("{} 2", exe.display())])
        .env("SDTRACE_PROVIDER_DIR", providers)
        .output()
        .expect("run sdtrace");
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "{stderr}");
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(stdout.contains("round 1 enabled=true"), "{stdout}\n{stderr}");
    let events = ndjson(stdout.as_bytes());
    let of = |p: &str| events.iter().filter(|e| e["probe"] == p).map(|e| &e["args"]).collect::<Vec<_>>();
    let ints = of("ints");
    assert_eq!(ints.len(), 2, "{events:?}");
    assert_eq!(
        (ints[1]["a"].as_i64(), ints[1]["b"].as_u64(), ints[1]["c"].as_i64()),
        (Some(-2), Some(60002), Some(-200_000))
    );
    assert_eq!(ints[1]["d"].as_u64(), Some(u64::MAX - 2));
    assert_eq!(ints[1]["e"].as_i64(), Some(i64::MIN + 2));
    let text = of("text");
    assert_eq!(text.len(), 2, "{events:?}");
    assert_eq!(text[0]["s"], "héllo wörld 1");
    assert_eq!(text[1]["s"], "héllo wörld 2");
    assert_eq!(text[0]["c"], "c string");
    assert_eq!(text[0]["b"], "010203ff");
    let floats = of("floats");
    assert_eq!(
        (floats[0]["x"].as_f64(), floats[0]["y"].as_f64(), floats[0]["flag"].as_bool()),
        (Some(-1.25), Some(0.5), Some(true))
    );
    assert_eq!((floats[1]["x"].as_f64(), floats[1]["flag"].as_bool()), (Some(-2.5), Some(false)));
    let twelve = of("twelve");
    assert_eq!(twelve.len(), 2, "{events:?}");
    for k in 0..11 {
        assert_eq!(twelve[1][format!("a{k}")], 200 + k, "a{k}");
    }
    assert_eq!(twelve[1]["a11"], -2);
    assert_eq!(of("none").len(), 2, "{events:?}");
}
