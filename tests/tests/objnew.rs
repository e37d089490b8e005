//! `sdtrace objnew` on Debian's ruby3.1: a class the program allocates a
//! known number of times (its source says how many, and so does its own
//! ObjectSpace count) is counted exactly, at the line that allocates it;
//! Python is refused with the reason.

use std::process::Command;

use tests::{can_attach, scratch_file, sdtrace_bin, system_file};

#[test]
fn ruby_allocations_are_counted_per_class_and_site() {
    if !can_attach() {
        return;
    }
    let Some(ruby) = system_file("/usr/bin/ruby3.1") else { return };
    let app = scratch_file(
        "objnew",
        "alloc.rb",
        "class Order; end\nclass Item; end\nGC.disable\n\
         orders = Array.new(250) { Order.new }\nitems = Array.new(40) { Item.new }\n\
         puts \"live #{ObjectSpace.each_object(Order).count} #{ObjectSpace.each_object(Item).count}\"\n",
    );
    let out = Command::new(sdtrace_bin())
        .args(["objnew", "--sites", "--json", "-c"])
        .arg(format!("{} --disable-gems {}", ruby.display(), app.display()))
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let live: Vec<i64> = stdout
        .lines()
        .find_map(|l| l.strip_prefix("live "))
        .unwrap()
        .split_whitespace()
        .map(|w| w.parse().unwrap())
        .collect();
    assert_eq!(live, [250, 40], "{stdout}");
    let report: serde_json::Value = serde_json::from_str(stdout.lines().find(|l| l.starts_with('{')).unwrap()).unwrap();
    let count = |class: &str, line: i64| {
        report["objects"]
            .as_array()
            .unwrap()
            .iter()
            .filter(|o| o["class"] == class && o["file"] == "alloc.rb" && o["line"] == line)
            .map(|o| o["count"].as_i64().unwrap())
            .sum::<i64>()
    };
    assert_eq!((count("Order", 4), count("Item", 5)), (live[0], live[1]), "{report}");
}

#[test]
fn python_is_refused_with_the_reason() {
    let out = Command::new(sdtrace_bin()).args(["objnew", "--runtime", "python", "-c", "/bin/true"]).output().unwrap();
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{err}");
    assert!(err.contains("no allocation probe"), "{err}");
}
