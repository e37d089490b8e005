//! `sdtrace list` end to end: the real binary on C fixtures built with
//! `sys/sdt.h` and on Debian's files, compared site by site with
//! `readelf -n`, plus the errors a user meets.

use std::path::Path;
use std::process::{Command, Output};

use serde_json::Value;
use tests::{fixture, sdtrace_bin, system_file};

fn sdtrace(args: &[&str]) -> Output {
    Command::new(sdtrace_bin()).args(args).output().expect("run sdtrace")
}

fn list_json(path: &Path) -> Value {
    let out = sdtrace(&["list", "--json", path.to_str().unwrap()]);
    assert!(out.status.success(), "sdtrace list failed: {}", String::from_utf8_lossy(&out.stderr));
    serde_json::from_slice(&out.stdout).expect("valid JSON")
}

/// (provider, name, address, semaphore, args) for every note, per readelf.
fn readelf_sites(path: &Path) -> Vec<(String, String, u64, u64, String)> {
    let out = Command::new("readelf").args(["-n", "--wide"]).arg(path).output().expect("readelf");
    let text = String::from_utf8_lossy(&out.stdout);
    let mut v = Vec::new();
    let mut cur: Option<(String, String, u64, u64)> = None;
    for line in text.lines() {
        let hex = |s: &str| u64::from_str_radix(s.trim().trim_start_matches("0x"), 16).unwrap();
        if let Some((_, p)) = line.split_once("Provider:") {
            cur = Some((p.trim().into(), String::new(), 0, 0));
        } else if let Some(n) = line.trim().strip_prefix("Name:") {
            cur.as_mut().unwrap().1 = n.trim().into();
        } else if let Some(l) = line.trim().strip_prefix("Location:") {
            let parts: Vec<u64> = l.split(',').map(|p| hex(p.rsplit(':').next().unwrap())).collect();
            let c = cur.as_mut().unwrap();
            c.2 = parts[0];
            c.3 = parts[2];
        } else if let Some(a) = line.trim().strip_prefix("Arguments:") {
            let (p, n, addr, sem) = cur.take().unwrap();
            v.push((p, n, addr, sem, a.trim().to_string()));
        }
    }
    v
}

/// Every site sdtrace lists is a site readelf prints, and vice versa.
fn assert_agrees_with_readelf(path: &Path) -> Value {
    let doc = list_json(path);
    assert_eq!(doc["schema"], "sdtrace.list/1");
    let mut ours = Vec::new();
    for p in doc["objects"][0]["probes"].as_array().unwrap() {
        let sem = p["semaphore"]["address"].as_u64().unwrap_or(0);
        for s in p["sites"].as_array().unwrap() {
            for a in s["args"].as_array().unwrap() {
                assert!(a.get("error").is_none(), "{}: {}:{}: {a}", path.display(), p["provider"], p["name"]);
            }
            ours.push((
                p["provider"].as_str().unwrap().to_string(),
                p["name"].as_str().unwrap().to_string(),
                s["address"].as_u64().unwrap(),
                sem,
                s["args_raw"].as_str().unwrap().to_string(),
            ));
        }
    }
    let mut theirs = readelf_sites(path);
    assert!(!theirs.is_empty(), "readelf found no notes in {}", path.display());
    ours.sort();
    theirs.sort();
    assert_eq!(ours, theirs, "{}", path.display());
    doc
}

#[test]
fn fixture_probes_agree_with_readelf_at_o0_and_o2() {
    for name in ["sdt_basic_O0", "sdt_basic_O2", "libsdtfixture.so.1"] {
        assert_agrees_with_readelf(&fixture(name));
    }
}

#[test]
fn fixture_probe_shapes_are_listed() {
    let doc = assert_agrees_with_readelf(&fixture("sdt_basic_O0"));
    let probes = doc["objects"][0]["probes"].as_array().unwrap();
    let get = |n: &str| probes.iter().find(|p| p["name"] == n).unwrap_or_else(|| panic!("probe {n}"));
    assert_eq!(get("repeated")["sites"].as_array().unwrap().len(), 2, "one probe at two sites");
    assert!(get("gated")["semaphore"].is_object());
    let types: Vec<&str> =
        get("gated")["args"].as_array().unwrap().iter().map(|a| a["type"].as_str().unwrap()).collect();
    assert_eq!(types, ["i8", "u16", "i32", "u64"]);
    assert_eq!(get("twelve")["args"].as_array().unwrap().len(), 12);
    let consts: Vec<&str> = get("constants")["sites"][0]["args"]
        .as_array()
        .unwrap()
        .iter()
        .map(|a| a["location"].as_str().unwrap())
        .collect();
    assert_eq!(consts, ["imm 42", "imm -7"]);
    // At -O0 GCC passes arguments through memory.
    let locs = get("twelve")["sites"][0]["args"].as_array().unwrap();
    assert!(locs.iter().any(|a| a["location"].as_str().unwrap().starts_with("mem [rbp")), "{locs:?}");
    assert_eq!(doc["objects"][0]["kind"], "pie");
}

#[test]
fn debian_files_agree_with_readelf() {
    for path in [
        "/usr/bin/python3.11",
        "/usr/lib/x86_64-linux-gnu/libruby-3.1.so.3.1",
        "/usr/lib/jvm/java-17-openjdk-amd64/lib/server/libjvm.so",
        "/usr/lib/postgresql/15/bin/postgres",
        "/usr/lib/x86_64-linux-gnu/libstdc++.so.6",
    ] {
        if let Some(p) = system_file(path) {
            assert_agrees_with_readelf(p);
        }
    }
}

#[test]
fn pattern_filters_and_dash_matches_double_underscore() {
    let out = sdtrace(&["list", fixture("sdt_basic_O2").to_str().unwrap(), "fixture:rep*"]);
    assert!(out.status.success());
    let text = String::from_utf8(out.stdout).unwrap();
    assert!(text.contains("fixture:repeated"), "{text}");
    assert!(!text.contains("fixture:gated"), "{text}");
    if let Some(py) = system_file("/usr/bin/python3.11") {
        let out = sdtrace(&["list", py.to_str().unwrap(), "-P", "python:function-entry"]);
        let text = String::from_utf8(out.stdout).unwrap();
        assert!(text.contains("python:function__entry") && !text.contains("function__return"), "{text}");
    }
}

#[test]
fn no_match_exits_1_with_message() {
    let out = sdtrace(&["list", fixture("sdt_basic_O2").to_str().unwrap(), "nosuch:probe"]);
    assert_eq!(out.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&out.stderr).contains("no probe matches nosuch:probe"));
}

#[test]
fn missing_file_and_non_elf_are_clear_errors() {
    let out = sdtrace(&["list", "/nonexistent/prog"]);
    assert_eq!(out.status.code(), Some(2));
    assert_eq!(
        String::from_utf8_lossy(&out.stderr).trim(),
        "sdtrace: /nonexistent/prog: No such file or directory (os error 2)"
    );
    let out = sdtrace(&["list", "/etc/hostname"]);
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).starts_with("sdtrace: /etc/hostname: not an ELF file"));
}

#[test]
fn verbose_shows_every_site_with_file_offsets() {
    let out = sdtrace(&["list", "-v", fixture("libsdtfixture.so.1").to_str().unwrap()]);
    let text = String::from_utf8(out.stdout).unwrap();
    assert!(text.contains("fixturelib:work"), "{text}");
    assert!(text.contains("(file offset 0x"), "{text}");
    assert!(text.contains("arg0: i32"), "{text}");
}

#[test]
fn list_by_pid_shows_the_probes_of_a_running_process() {
    // A sleeping process that has the fixture library mapped.
    let mut sleeper = Command::new("/bin/sh")
        .args(["-c", &format!("LD_PRELOAD={} exec sleep 5", fixture("libsdtfixture.so.1").display())])
        .spawn()
        .expect("start sleeper");
    std::thread::sleep(std::time::Duration::from_millis(200));
    let pid = sleeper.id().to_string();
    let out = sdtrace(&["list", "-p", &pid, "fixturelib:*"]);
    sleeper.kill().unwrap();
    sleeper.wait().unwrap();
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    assert!(text.contains(&format!("libsdtfixture.so.1 (pid {pid})")), "{text}");
    assert!(text.contains("fixturelib:work"), "{text}");
    let out = sdtrace(&["list", "-p", "4000000000"]);
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("pid 4000000000: no such process"));
}

#[test]
fn verbose_names_the_enclosing_function_and_source_line() {
    let src = std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/fixtures/sdt_basic.c")).unwrap();
    let line_of = |needle: &str| src.lines().position(|l| l.contains(needle)).unwrap() + 1;
    let out = sdtrace(&["list", "-v", fixture("sdt_basic_O2").to_str().unwrap(), "fixture:repeated"]);
    let text = String::from_utf8_lossy(&out.stdout);
    for f in ["repeated_a", "repeated_b"] {
        let want = format!(
            "in {f} at {}:{}",
            concat!(env!("CARGO_MANIFEST_DIR"), "/fixtures/sdt_basic.c"),
            line_of(&format!("void {f}("))
        );
        assert!(text.contains(&want), "missing `{want}` in\n{text}");
    }
}

#[test]
fn library_by_short_name_with_catalog_argument_names() {
    let Some(_) = system_file("/usr/lib/x86_64-linux-gnu/libstdc++.so.6") else { return };
    let out = sdtrace(&["list", "libstdc++", "libstdcxx:throw"]);
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    assert!(text.contains("libstdc++.so"), "{text}");
    assert!(text.contains("libstdcxx:throw") && text.contains("(object ptr, typeinfo ptr)"), "{text}");
    let out = sdtrace(&["list", "libnosuchthing"]);
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("libnosuchthing: No such file"));
}

#[test]
fn list_all_shows_each_object_once_with_its_pids() {
    let lib = fixture("libsdtfixture.so.1");
    let spawn = || {
        Command::new("/bin/sh")
            .args(["-c", &format!("LD_PRELOAD={} exec sleep 5", lib.display())])
            .spawn()
            .expect("start sleeper")
    };
    let (mut a, mut b) = (spawn(), spawn());
    std::thread::sleep(std::time::Duration::from_millis(200));
    let out = sdtrace(&["list", "--all", "fixturelib:*"]);
    for c in [&mut a, &mut b] {
        c.kill().unwrap();
        c.wait().unwrap();
    }
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let headers: Vec<&str> = text.lines().filter(|l| l.contains("libsdtfixture.so.1 (pids")).collect();
    assert_eq!(headers.len(), 1, "{text}");
    for pid in [a.id(), b.id()] {
        assert!(headers[0].contains(&pid.to_string()), "{text}");
    }
}
