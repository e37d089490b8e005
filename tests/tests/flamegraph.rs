//! `--folded` and `--flamegraph` on a CPU profile of a program with a known
//! call tree (tests/fixtures/calltree.c: main → tree_a → tree_b → tree_c,
//! which measures the CPU time of each function's own code itself): the
//! folded stacks go root first, their leaf shares match the program's own
//! account, and the SVG that inferno draws from them parses as XML with
//! the same counts.

use std::collections::HashMap;
use std::process::Command;

use tests::{can_attach, fixture, sdtrace_bin, system_file};

const PROFILE: &str = "profile-997 /pid == $target/ { @[ustack()] = count(); }";

/// The shares the program printed: `… self tree_a 0.107 tree_b 0.216 tree_c 0.678`.
fn own_shares(stdout: &str) -> HashMap<String, f64> {
    let line = stdout.lines().find(|l| l.starts_with("calls ")).unwrap_or_else(|| panic!("no account in {stdout}"));
    let words: Vec<&str> = line.split_whitespace().collect();
    words.windows(2).filter(|w| w[0].starts_with("tree_")).map(|w| (w[0].to_string(), w[1].parse().unwrap())).collect()
}

/// `(frames, count)` of each folded line.
fn folded(text: &str) -> Vec<(Vec<String>, u64)> {
    text.lines()
        .filter(|l| l.contains(';') || l.contains('`'))
        .map(|l| {
            let (stack, n) = l.rsplit_once(' ').unwrap_or_else(|| panic!("not a folded line: {l}"));
            (stack.split(';').map(str::to_string).collect(), n.parse().unwrap_or_else(|_| panic!("count in {l}")))
        })
        .collect()
}

#[test]
fn folded_profile_goes_root_first_and_matches_the_programs_own_time() {
    if !can_attach() {
        return;
    }
    let exe = fixture("calltree");
    let out = Command::new(sdtrace_bin())
        .args(["-q", "--folded", "-n", PROFILE, "-c", &format!("{} 2", exe.display())])
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let text = String::from_utf8_lossy(&out.stdout);
    let own = own_shares(&text);
    let stacks = folded(&text);
    let mut leaf: HashMap<String, u64> = HashMap::new();
    for (frames, n) in &stacks {
        let names: Vec<&str> = frames.iter().map(|f| f.rsplit('`').next().unwrap()).collect();
        // Root first: wherever a tree function is, its callers precede it.
        let at = |name: &str| names.iter().position(|f| *f == name);
        if let Some(c) = at("tree_c") {
            assert!(at("main") < at("tree_a") && at("tree_a") < at("tree_b") && at("tree_b") < Some(c), "{frames:?}");
        }
        if let Some(last) = names.last().filter(|f| f.starts_with("tree_")) {
            *leaf.entry(last.to_string()).or_default() += n;
        }
    }
    let total: u64 = leaf.values().sum();
    assert!(total > 500, "too few samples in the tree functions ({total}):\n{text}");
    for (name, share) in &own {
        let got = leaf.get(name).copied().unwrap_or(0) as f64 / total as f64;
        assert!(
            (got - share).abs() < 0.06,
            "{name}: {got:.3} of the samples, {share:.3} of the program's CPU time\n{text}"
        );
    }
    // The line with the most samples is main;tree_a;tree_b;tree_c.
    let top = stacks.iter().max_by_key(|(_, n)| *n).unwrap();
    assert!(top.0.last().unwrap().ends_with("`tree_c"), "{top:?}");
}

#[test]
fn flamegraph_svg_parses_as_xml_with_the_folded_counts() {
    if !can_attach() {
        return;
    }
    let Some(python) = system_file("/usr/bin/python3.11") else { return };
    let dir = std::env::temp_dir().join(format!("sdtrace-flamegraph-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let svg = dir.join("profile.svg");
    let exe = fixture("calltree");
    let out = Command::new(sdtrace_bin())
        .args(["-q", "--folded", "--flamegraph"])
        .arg(&svg)
        .args(["-n", PROFILE, "-c", &format!("{} 1", exe.display())])
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let text = String::from_utf8_lossy(&out.stdout);
    let inclusive = |name: &str| -> u64 {
        folded(&text).iter().filter(|(f, _)| f.iter().any(|x| x.ends_with(&format!("`{name}")))).map(|(_, n)| n).sum()
    };
    // Python's XML parser reads the file; each frame's <title> is
    // "NAME (N samples, P%)".
    let script = "import sys, xml.etree.ElementTree as E\n\
                  ns = '{http://www.w3.org/2000/svg}'\n\
                  for t in E.parse(sys.argv[1]).getroot().iter(ns + 'title'):\n    print(t.text)\n";
    let parsed = Command::new(python).args(["-c", script]).arg(&svg).output().unwrap();
    assert!(parsed.status.success(), "the SVG is not XML: {}", String::from_utf8_lossy(&parsed.stderr));
    let titles = String::from_utf8_lossy(&parsed.stdout);
    for name in ["tree_a", "tree_b", "tree_c"] {
        let want = inclusive(name);
        assert!(want > 0, "{name} not in\n{text}");
        let title = titles
            .lines()
            .find(|l| l.starts_with(&format!("calltree`{name} (")))
            .unwrap_or_else(|| panic!("no {name} frame in the SVG:\n{titles}"));
        let n: u64 = title.split(" (").nth(1).unwrap().split(' ').next().unwrap().replace(',', "").parse().unwrap();
        assert_eq!(n, want, "{title} vs the folded lines\n{text}");
    }
    std::fs::remove_dir_all(&dir).ok();
}

#[test]
fn flamegraph_path_that_cannot_be_written_is_said_before_tracing() {
    let out = Command::new(sdtrace_bin())
        .args(["--flamegraph", "/nonexistent-dir/x.svg", "-n", "BEGIN { @[ustack()] = count(); exit(0); }"])
        .output()
        .unwrap();
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{err}");
    assert!(err.contains("/nonexistent-dir/x.svg") && !err.contains("matched"), "{err}");
}
