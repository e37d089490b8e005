//! `sdtrace gc` on Debian's python3.11 and ruby3.1: each collection the
//! program asks for shows with the generation it asked for and the
//! number of objects `gc.collect()` itself returned, in order; Ruby's mark
//! phases are as many as the program's own `GC.count`.

use std::process::Command;

use serde_json::Value as J;
use tests::{can_attach, scratch_file, sdtrace_bin, system_file};

fn gc_json(cmd: &str) -> (Vec<J>, String) {
    let out = Command::new(sdtrace_bin()).args(["gc", "--json", "-c", cmd]).output().unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout).into_owned();
    assert!(out.status.success(), "{}\n{stdout}", String::from_utf8_lossy(&out.stderr));
    let events = stdout.lines().filter(|l| l.starts_with('{')).map(|l| serde_json::from_str(l).unwrap()).collect();
    (events, stdout)
}

#[test]
fn python_collections_show_the_generation_and_what_gc_collect_returned() {
    if !can_attach() {
        return;
    }
    let Some(python) = system_file("/usr/bin/python3.11") else { return };
    let app = scratch_file(
        "gc",
        "gcapp.py",
        "import gc\ngc.disable()\nclass Node:\n    pass\n\
         def cycles(n):\n    for _ in range(n):\n        a, b = Node(), Node()\n        a.other, b.other = b, a\n\
         for gen, n in [(0, 10), (0, 20), (1, 30), (2, 40)]:\n    cycles(n)\n    print('collected', gen, gc.collect(gen))\n",
    );
    let (events, stdout) = gc_json(&format!("{} {}", python.display(), app.display()));
    let asked: Vec<(String, i64)> = stdout
        .lines()
        .filter_map(|l| l.strip_prefix("collected "))
        .map(|l| {
            let w: Vec<&str> = l.split_whitespace().collect();
            (format!("gen {}", w[0]), w[1].parse().unwrap())
        })
        .collect();
    assert_eq!(asked.len(), 4, "{stdout}");
    let seen: Vec<(String, i64)> = events
        .iter()
        .filter(|e| e.get("gc").is_some())
        .map(|e| (e["gc"].as_str().unwrap().to_string(), e["collected"].as_i64().unwrap()))
        .collect();
    // The interpreter collects by itself at start and at exit too; the
    // program's four are in a row among them.
    assert!(seen.windows(4).any(|w| w == asked.as_slice()), "asked {asked:?}, traced {seen:?}");
    assert!(events.iter().filter(|e| e.get("gc").is_some()).all(|e| e["ns"].as_u64().unwrap() > 0));
    let totals = events.iter().find(|e| e.get("totals").is_some()).unwrap();
    assert_eq!(totals["totals"]["gen 1"]["count"], seen.iter().filter(|s| s.0 == "gen 1").count(), "{totals}");
}

#[test]
fn ruby_mark_phases_are_as_many_as_gc_count() {
    if !can_attach() {
        return;
    }
    let Some(ruby) = system_file("/usr/bin/ruby3.1") else { return };
    let script =
        "GC.disable; 3.times { GC.start(full_mark: true, immediate_sweep: true) }; puts \"gc_count #{GC.count}\"";
    let out = Command::new(sdtrace_bin())
        .args(["gc", "--json", "-c"])
        .arg(format!("{} --disable-gems -e '{script}'", ruby.display()))
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let count: u64 = stdout.lines().find_map(|l| l.strip_prefix("gc_count ")).unwrap().trim().parse().unwrap();
    let marks = stdout.lines().filter(|l| l.contains("\"gc\":\"mark\"")).count() as u64;
    assert!(count >= 3, "{stdout}");
    assert_eq!(marks, count, "{stdout}");
    assert!(stdout.contains("\"gc\":\"sweep\""), "{stdout}");
}
