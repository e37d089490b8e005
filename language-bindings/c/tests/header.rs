//! `include/usdt_runtime.h` is what cbindgen makes of `src/lib.rs` today:
//! CI runs this, so a change to the ABI without the header fails.
//! `USDT_BLESS=1 cargo test -p usdt-runtime-c --test header` rewrites it.

use std::path::Path;

#[test]
fn checked_in_header_matches_cbindgen_output() {
    let crate_dir = Path::new(env!("CARGO_MANIFEST_DIR"));
    let config = cbindgen::Config::from_file(crate_dir.join("cbindgen.toml")).expect("read cbindgen.toml");
    let bindings = cbindgen::Builder::new()
        .with_crate(crate_dir)
        .with_config(config)
        .generate()
        .expect("cbindgen could not generate the header");
    let mut generated = Vec::new();
    bindings.write(&mut generated);
    let header = crate_dir.join("include/usdt_runtime.h");
    if std::env::var_os("USDT_BLESS").is_some() {
        // Rewriting the header would make the check pass by definition.
        assert!(std::env::var("CI").map_or(true, |v| v != "true"), "USDT_BLESS is not allowed under CI=true");
        std::fs::write(&header, &generated).expect("write header");
        return;
    }
    let current = std::fs::read(&header).unwrap_or_default();
    assert!(
        current == generated,
        "{} is out of date with src/lib.rs; regenerate it with\n  USDT_BLESS=1 cargo test -p usdt-runtime-c --test header",
        header.display()
    );
}
