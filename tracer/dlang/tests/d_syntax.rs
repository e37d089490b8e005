//! Golden tests of the D front end: every `tests/d-syntax/NAME.d` is parsed.
//! If `NAME.ast` exists the parse must succeed and [`dump`] must equal it;
//! if `NAME.err` exists the parse must fail and the rendered diagnostics
//! (with the file name alone as the source name) must equal it.
//!
//! `UPDATE_GOLDEN=1 cargo test -p tracer --test d_syntax` rewrites the
//! expected files from the current output; check the diff by hand.

use std::fs;
use std::path::{Path, PathBuf};

use dlang::ast::dump;
use dlang::diag::{render_all, Source};

fn cases() -> Vec<PathBuf> {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/d-syntax");
    let mut cases: Vec<PathBuf> = fs::read_dir(&dir)
        .unwrap_or_else(|e| panic!("reading {}: {e}", dir.display()))
        .map(|entry| entry.expect("directory entry").path())
        .filter(|path| path.extension().is_some_and(|ext| ext == "d"))
        .collect();
    cases.sort();
    cases
}

/// The actual output for one program, and whether it parsed.
fn run(path: &Path) -> (String, bool) {
    let name = path.file_name().expect("file name").to_string_lossy().into_owned();
    let text = fs::read_to_string(path).unwrap_or_else(|e| panic!("reading {}: {e}", path.display()));
    let source = Source::new(name, text);
    match dlang::parse(&source) {
        Ok(program) => (dump(&program), true),
        Err(diagnostics) => (render_all(&diagnostics, &source), false),
    }
}

#[test]
fn golden() {
    let update = std::env::var_os("UPDATE_GOLDEN").is_some_and(|v| v == "1");
    let cases = cases();
    let mut failures = Vec::new();
    let (mut successes, mut errors) = (0, 0);
    for path in &cases {
        let (actual, parsed) = run(path);
        let ast = path.with_extension("ast");
        let err = path.with_extension("err");
        if update {
            let (write, stale) = if parsed { (&ast, &err) } else { (&err, &ast) };
            fs::write(write, &actual).unwrap_or_else(|e| panic!("writing {}: {e}", write.display()));
            if stale.exists() {
                fs::remove_file(stale).unwrap_or_else(|e| panic!("removing {}: {e}", stale.display()));
            }
        }
        let (expected_path, should_parse) = match (ast.exists(), err.exists()) {
            (true, false) => (&ast, true),
            (false, true) => (&err, false),
            (true, true) => {
                failures.push(format!("{}: both .ast and .err exist", path.display()));
                continue;
            }
            (false, false) => {
                failures.push(format!("{}: no .ast or .err beside it (run with UPDATE_GOLDEN=1)", path.display()));
                continue;
            }
        };
        if should_parse {
            successes += 1;
        } else {
            errors += 1;
        }
        let expected = fs::read_to_string(expected_path).expect("expected output");
        if parsed != should_parse {
            failures.push(format!(
                "{}: expected the parse to {}, got:\n{actual}",
                path.display(),
                if should_parse { "succeed" } else { "fail" }
            ));
        } else if actual != expected {
            failures.push(format!(
                "{}: output differs from {}\n--- expected\n{expected}--- actual\n{actual}",
                path.display(),
                expected_path.display()
            ));
        }
    }
    assert!(
        failures.is_empty(),
        "{} of {} golden cases failed:\n\n{}",
        failures.len(),
        cases.len(),
        failures.join("\n")
    );
    assert!(successes >= 10 && errors >= 8, "too few cases: {successes} parsing, {errors} failing");
}
