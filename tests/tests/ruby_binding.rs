//! The Ruby gem (`language-bindings/ruby`) end to end: `build-gem` builds the
//! C ABI's static library and the gem, `gem install` compiles the extension
//! offline into a temporary GEM_HOME, and the gem's minitest suite runs
//! against the installed gem; as root its traced test has the real sdtrace
//! read the values a Ruby program fired. Under `CI=true` a missing Ruby
//! fails (scripts/install-deps installs ruby and ruby-dev).

use std::path::{Path, PathBuf};
use std::process::Command;

use tests::{can_attach, sdtrace_bin, system_file};

fn run(cmd: &mut Command, what: &str) -> String {
    let out = cmd.output().unwrap_or_else(|e| panic!("cannot run {what}: {e}"));
    let stdout = String::from_utf8_lossy(&out.stdout).into_owned();
    assert!(out.status.success(), "{what} failed:\n{stdout}\n{}", String::from_utf8_lossy(&out.stderr));
    stdout
}

/// The numbers of minitest's closing line
/// ("N runs, N assertions, N failures, N errors, N skips").
fn minitest_summary(out: &str) -> [u64; 5] {
    let line =
        out.lines().rev().find(|l| l.contains(" runs, ")).unwrap_or_else(|| panic!("no minitest summary:\n{out}"));
    let nums: Vec<u64> = line.split(", ").map(|part| part.split(' ').next().unwrap().parse().unwrap()).collect();
    nums.try_into().unwrap_or_else(|_| panic!("odd minitest summary: {line}"))
}

#[test]
fn gem_builds_installs_offline_and_its_minitest_suite_passes_traced_by_sdtrace() {
    let (Some(ruby), Some(gem)) = (system_file("/usr/bin/ruby"), system_file("/usr/bin/gem")) else { return };
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).parent().unwrap().to_path_buf();
    let gem_dir = root.join("language-bindings/ruby");
    let tmp = std::env::temp_dir().join(format!("usdt-ruby-gem-{}", std::process::id()));
    let (out, home, providers) = (tmp.join("out"), tmp.join("gem-home"), tmp.join("providers"));
    run(Command::new(gem_dir.join("build-gem")).arg(&out), "build-gem");
    let gems: Vec<PathBuf> = std::fs::read_dir(&out)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|x| x == "gem"))
        .collect();
    assert_eq!(gems.len(), 1, "{gems:?}");
    run(
        Command::new(gem)
            .args(["install", "--local", "--no-document", "--install-dir"])
            .arg(&home)
            .arg(&gems[0])
            .current_dir(&tmp),
        "gem install",
    );
    let traced = can_attach();
    let mut suite = Command::new(ruby);
    suite
        .args(["-e", r#"Dir["test/test_*.rb"].sort.each { |f| require_relative f }"#])
        .current_dir(&gem_dir)
        .env("GEM_HOME", &home)
        .env_remove("GEM_PATH")
        .env_remove("RUBYLIB")
        .env("SDTRACE_PROVIDER_DIR", &providers);
    if traced {
        suite.env("SDTRACE_BIN", sdtrace_bin());
    }
    let text = run(&mut suite, "the gem's minitest suite");
    let [runs, _, failures, errors, skips] = minitest_summary(&text);
    assert!(runs >= 9 && failures == 0 && errors == 0, "{text}");
    if traced {
        assert_eq!(skips, 0, "as root nothing may be skipped:\n{text}");
    }
    // The suite must have used the installed gem, not the source tree.
    let loaded = run(
        Command::new(ruby)
            .args(["-e", r#"require "usdt_runtime"; print $LOADED_FEATURES.grep(/usdt_runtime\.so/).first"#])
            .env("GEM_HOME", &home)
            .env("SDTRACE_PROVIDER_DIR", &providers),
        "ruby -e require",
    );
    assert!(Path::new(&loaded).starts_with(&home), "{loaded}");
    let _ = std::fs::remove_dir_all(&tmp);
}
