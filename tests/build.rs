//! Compiles the C fixtures under `fixtures/` with the system's C compiler and
//! `sys/sdt.h` (Debian's systemtap-sdt-dev), at -O0 and -O2, into
//! `$OUT_DIR/fixtures`, whose path the tests read from `SDTRACE_FIXTURE_DIR`.

use std::path::Path;
use std::process::Command;

fn cc(args: &[&str], what: &str) {
    let status = Command::new("cc").args(args).status().unwrap_or_else(|e| panic!("cannot run cc for {what}: {e}"));
    assert!(status.success(), "cc failed building {what}");
}

fn main() {
    println!("cargo:rerun-if-changed=fixtures");
    assert!(
        Path::new("/usr/include/x86_64-linux-gnu/sys/sdt.h").exists() || Path::new("/usr/include/sys/sdt.h").exists(),
        "sys/sdt.h is missing: install systemtap-sdt-dev (scripts/install-deps test does)"
    );
    let out = Path::new(&std::env::var("OUT_DIR").expect("OUT_DIR")).join("fixtures");
    std::fs::create_dir_all(&out).expect("create fixture dir");
    let o = |name: &str| out.join(name).to_string_lossy().into_owned();
    for opt in ["O0", "O2"] {
        cc(&[&format!("-{opt}"), "-g", "-o", &o(&format!("sdt_basic_{opt}")), "fixtures/sdt_basic.c"], "sdt_basic");
    }
    cc(&["-O2", "-o", &o("sdt_nop10"), "fixtures/sdt_nop10.c"], "sdt_nop10");
    cc(
        &[
            "-O2",
            "-g",
            "-shared",
            "-fPIC",
            "-Wl,-soname,libsdtfixture.so.1",
            "-o",
            &o("libsdtfixture.so.1"),
            "fixtures/sdt_lib.c",
        ],
        "sdt_lib",
    );
    cc(
        &["-O2", "-o", &o("sdt_lib_main"), "fixtures/sdt_lib_main.c", &o("libsdtfixture.so.1"), "-Wl,-rpath,$ORIGIN"],
        "sdt_lib_main",
    );
    // The C probe of the disabled-probe comparison (benches/, examples/probe_cost.rs).
    cc::Build::new().file("fixtures/bench_sdt.c").opt_level(2).compile("bench_sdt");
    println!("cargo:rustc-env=SDTRACE_FIXTURE_DIR={}", out.display());
}
