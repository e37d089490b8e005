//! `#[provider]` probes end to end: the `tests/rust-fixture` program and
//! cdylib, built at opt-level 0 to 3, with fat and thin LTO, panic=abort,
//! PIE and non-PIE, read back with stap-notes and readelf, and traced as
//! root by sdtrace, bpftrace, perf and gdb as Debian installs them.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use serde_json::Value;
use stap_notes::{ArgKind, ElfFile, ElfKind};
use tests::{can_attach, ndjson, rust_fixture, sdtrace_bin, system_file};

const PROFILES: [&str; 4] = ["debug", "fixture-lto", "fixture-thin", "fixture-o2"];

fn lib_source() -> String {
    let p = Path::new(env!("CARGO_MANIFEST_DIR")).join("rust-fixture/src/lib.rs");
    std::fs::read_to_string(p).unwrap()
}

/// 1-based line of the first line of the fixture's lib.rs containing `needle`.
fn line_of(src: &str, needle: &str) -> u32 {
    src.lines().position(|l| l.contains(needle)).expect(needle) as u32 + 1
}

#[test]
fn every_build_has_notes_one_semaphore_per_probe_and_metadata_records() {
    let src = lib_source();
    let mut files: Vec<PathBuf> = PROFILES.iter().map(|p| rust_fixture(p, "rust_fixture")).collect();
    files.push(rust_fixture("fixture-lto", "librust_fixture.so"));
    for path in files {
        let bytes = std::fs::read(&path).unwrap();
        let elf = ElfFile::parse(&bytes).unwrap();
        let what = path.display().to_string();
        let kind = elf.kind();
        let is_lib = what.ends_with(".so");
        if is_lib {
            assert_eq!(kind, ElfKind::SharedObject, "{what}");
        } else if what.contains("fixture-o2") {
            assert_eq!(kind, ElfKind::Executable, "{what}: scripts/test links this one non-PIE");
        } else {
            assert_eq!(kind, ElfKind::Pie, "{what}");
        }
        assert!(elf.stapsdt_base().is_some(), "{what}: .stapsdt.base was dropped");
        // Sites and semaphores per probe, ignoring notes of discarded code.
        let code: Vec<_> = elf.segments().iter().filter(|s| s.flags & 1 != 0).cloned().collect();
        let mut probes: BTreeMap<String, (usize, Vec<u64>, String)> = BTreeMap::new();
        for n in elf.stapsdt_notes() {
            let n = n.unwrap();
            let site = elf.probe_site(&n);
            if !code.iter().any(|s| site.address >= s.vaddr && site.address < s.vaddr + s.filesz) {
                continue;
            }
            let sem = site.semaphore.expect("every probe has a semaphore").address;
            let e = probes.entry(format!("{}:{}", n.provider, n.name)).or_default();
            e.0 += 1;
            e.1.push(sem);
            e.2 = n.args.to_string();
            // The site: `nop; nop10` (66 2e 0f 1f 84 00 00 00 00 00).
            let off = site.file_offset.unwrap() as usize;
            assert_eq!(&bytes[off..off + 3], &[0x90, 0x66, 0x2e], "{what}: {}:{} site bytes", n.provider, n.name);
        }
        for (name, (_, sems, _)) in &probes {
            assert!(sems.iter().all(|s| *s == sems[0]), "{what}: {name} has several semaphores {sems:x?}");
        }
        if is_lib {
            assert_eq!(probes.keys().collect::<Vec<_>>(), ["fixture:from_c"], "{what}");
            continue;
        }
        let names: Vec<&str> = probes.keys().map(String::as_str).collect();
        assert_eq!(
            names,
            [
                "dfix:hello",
                "dfix:tick",
                "fixture:generic",
                "fixture:ints",
                "fixture:json",
                "fixture:misc",
                "fixture:text",
                "fixture:twelve"
            ],
            "{what}"
        );
        assert!(probes["fixture:generic"].0 >= 2, "{what}: the generic probe should have several sites");
        assert_eq!(probes["fixture:twelve"].2.split(' ').count(), 12, "{what}");
        assert_eq!(probes["fixture:ints"].2.split(' ').next().unwrap().split('@').next(), Some("1"), "{what}");
        assert!(probes["fixture:ints"].2.contains("-8@"), "{what}: i64 is signed 8 bytes");
        // Semaphores sit in a page-aligned .probes section.
        let sem = probes["fixture:ints"].1[0];
        assert_eq!(sem % 4096, 0, "{what}: the first semaphore of a provider starts a page");

        let records: Vec<_> = elf.metadata_records().collect::<Result<_, _>>().unwrap();
        let rec = records.iter().find(|r| r.provider == "fixture" && r.name == "ints").expect("ints record");
        assert_eq!(rec.line, line_of(&src, "fn ints("), "{what}");
        assert!(rec.file.ends_with("rust-fixture/src/lib.rs"), "{what}: {}", rec.file);
        assert_eq!(rec.doc, "Integers of every width; the test knows the values of round `r`.");
        let args: Vec<_> = rec.args().map(|a| a.unwrap()).collect();
        assert_eq!(args[1].name, "b");
        assert_eq!(args[1].kind, ArgKind::Int { size: 1, signed: true });
        let text = records.iter().find(|r| r.name == "text").unwrap();
        let kinds: Vec<_> = text.args().map(|a| a.unwrap().kind).collect();
        assert_eq!(kinds, [ArgKind::Str, ArgKind::CStr, ArgKind::Bytes]);
        let hello = records.iter().find(|r| r.provider == "dfix" && r.name == "hello").unwrap();
        assert_eq!((hello.file, hello.line), ("src/fixture.d", 5));
        assert_eq!(hello.doc, "Says hello to `who`, `n` times.");
    }
}

#[test]
fn readelf_shows_the_notes() {
    let Some(readelf) = system_file("/usr/bin/readelf") else { return };
    let out = Command::new(readelf).arg("-n").arg(rust_fixture("fixture-lto", "rust_fixture")).output().unwrap();
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(text.contains("Provider: fixture") && text.contains("Name: twelve"), "{text}");
    assert!(text.contains("Arguments: 8@%"), "{text}");
}

fn run_sdtrace(args: &[&str]) -> std::process::Output {
    let out = Command::new(sdtrace_bin()).args(args).output().expect("run sdtrace");
    eprintln!("sdtrace {args:?}\nstderr: {}", String::from_utf8_lossy(&out.stderr));
    out
}

fn by_probe<'a>(events: &'a [Value], probe: &str) -> Vec<&'a Value> {
    events
        .iter()
        .filter(|e| format!("{}:{}", e["provider"].as_str().unwrap(), e["probe"].as_str().unwrap()) == probe)
        .map(|e| &e["args"])
        .collect()
}

#[test]
fn sdtrace_reads_every_argument_type_in_every_build() {
    if !can_attach() {
        return;
    }
    for profile in PROFILES {
        let exe = rust_fixture(profile, "rust_fixture");
        let out = run_sdtrace(&["trace", "--json", "fixture:*", "dfix:*", "-c", &format!("{} 2", exe.display())]);
        assert!(out.status.success(), "{profile}");
        let stdout = String::from_utf8_lossy(&out.stdout);
        assert!(stdout.contains("round 2 enabled=true"), "{profile}: {stdout}");
        let events = ndjson(&out.stdout);
        let ints = by_probe(&events, "fixture:ints");
        assert_eq!(ints.len(), 2, "{profile}: {events:?}");
        for (i, a) in ints.iter().enumerate() {
            let r = i as i64 + 1;
            assert_eq!(a["a"], r, "{profile}");
            assert_eq!(a["b"], -r);
            assert_eq!(a["c"], 1000 + r);
            assert_eq!(a["d"], -1000 - r);
            assert_eq!(a["e"], 100_000 + r);
            assert_eq!(a["f"], -100_000 - r);
            assert_eq!(a["g"].as_u64(), Some(u64::MAX - r as u64));
            assert_eq!(a["h"].as_i64(), Some(i64::MIN + r));
        }
        let misc = by_probe(&events, "fixture:misc");
        assert_eq!(misc[0]["flag"], true);
        assert_eq!(misc[1]["flag"], false);
        assert_eq!(misc[0]["ch"], "é");
        assert_eq!(misc[0]["x"].as_f64(), Some(1.5));
        assert_eq!(misc[1]["y"].as_f64(), Some(-4.5));
        assert!(misc[0]["p"].as_u64().unwrap() > 0);
        let text = by_probe(&events, "fixture:text");
        assert_eq!(text[1]["s"], "héllo wörld 2", "{profile}: a &str is read with its length");
        assert_eq!(text[0]["c"], "c string");
        assert_eq!(text[0]["b"], "010203ff");
        let twelve = by_probe(&events, "fixture:twelve");
        for k in 0..11 {
            assert_eq!(twelve[0][format!("a{k}")], 1 + k, "{profile}: a{k}");
        }
        assert_eq!(twelve[0]["a11"], -12);
        let json = by_probe(&events, "fixture:json");
        assert_eq!(json[1]["v"], serde_json::json!({"x": 2, "label": "pt"}), "{profile}");
        let generic: Vec<(i64, String)> = by_probe(&events, "fixture:generic")
            .iter()
            .map(|a| (a["which"].as_i64().unwrap(), a["what"].as_str().unwrap().to_string()))
            .collect();
        assert_eq!(generic[..3], [(1, "1".into()), (2, "two".into()), (3, "3.5".into())], "{profile}");
        let hello = by_probe(&events, "dfix:hello");
        assert_eq!((hello[1]["n"].as_i64(), hello[1]["who"].as_str()), (Some(2), Some("wörld")));
        assert_eq!(by_probe(&events, "dfix:tick").len(), 2);
    }
}

#[test]
fn untraced_probes_never_run_their_closures() {
    for profile in PROFILES {
        let out = Command::new(rust_fixture(profile, "rust_fixture")).arg("3").output().unwrap();
        let text = String::from_utf8_lossy(&out.stdout);
        assert!(text.contains("round 3 enabled=false"), "{profile}: {text}");
        assert!(text.contains("closures 0"), "{profile}: {text}");
    }
}

#[test]
fn cdylib_loaded_by_python_ctypes_is_traced_by_path() {
    if !can_attach() {
        return;
    }
    let Some(py) = system_file("/usr/bin/python3.11") else { return };
    let lib = rust_fixture("fixture-lto", "librust_fixture.so");
    let script = "import ctypes, sys\nlib = ctypes.CDLL(sys.argv[1])\nlib.rust_fixture_fire.restype = ctypes.c_uint64\nfor n in (11, 22, 33):\n    print('closures', lib.rust_fixture_fire(n))\n";
    let pattern = format!("{}:fixture:from_c", lib.display());
    let out = run_sdtrace(&[
        "trace",
        "--json",
        &pattern,
        "--",
        &py.display().to_string(),
        "-c",
        script,
        &lib.display().to_string(),
    ]);
    assert!(out.status.success());
    let events = ndjson(&out.stdout);
    let ns: Vec<i64> = by_probe(&events, "fixture:from_c").iter().map(|a| a["n"].as_i64().unwrap()).collect();
    assert_eq!(ns, [11, 22, 33], "the library was opened after tracing began");
    assert!(String::from_utf8_lossy(&out.stdout).contains("closures 3"));
}

fn bpftrace() -> Option<&'static Path> {
    system_file("/usr/bin/bpftrace")
}

#[test]
fn bpftrace_prints_every_argument() {
    if !can_attach() {
        return;
    }
    let Some(bt) = bpftrace() else { return };
    // Debian's bpftrace 0.17 reads arg0…arg5 of a USDT probe only
    // ("x86_64 doesn't support arg6"); sdtrace's test reads all twelve.
    for profile in ["debug", "fixture-lto"] {
        let exe = rust_fixture(profile, "rust_fixture");
        let e = exe.display();
        let prog = format!(
            r#"usdt:{e}:fixture:ints {{ printf("ints %d %d %d %d %d %d\n", arg0, arg1, arg2, arg3, arg4, arg5); }}
usdt:{e}:fixture:text {{ printf("text %s|%s|%d\n", str(arg0, arg1), str(arg2), arg4); }}
usdt:{e}:fixture:twelve {{ printf("twelve %d %d\n", arg0, arg5); }}
usdt:{e}:fixture:json {{ printf("json %s\n", str(arg0, arg1)); }}
usdt:{e}:fixture:generic {{ printf("generic %d %s\n", arg0, str(arg1, arg2)); }}
usdt:{e}:dfix:hello {{ printf("hello %d %s\n", arg0, str(arg1)); }}"#
        );
        let out = Command::new(bt).args(["-e", &prog, "-c", &format!("{e} 2")]).output().unwrap();
        let text = String::from_utf8_lossy(&out.stdout);
        eprintln!("{text}\n{}", String::from_utf8_lossy(&out.stderr));
        assert!(out.status.success(), "{profile}");
        for want in [
            "ints 1 -1 1001 -1001 100001 -100001\n",
            "ints 2 -2 1002 -1002 100002 -100002\n",
            "text héllo wörld 2|c string|4",
            "twelve 1 6\n",
            "json {\"x\":1,\"label\":\"pt\"}",
            "generic 2 two",
            "generic 3 3.5",
            "hello 2 wörld",
        ] {
            assert!(text.contains(want), "{profile}: bpftrace printed no `{want}`:\n{text}");
        }
        assert!(text.contains("round 1 enabled=true"), "bpftrace -c raises the semaphore: {text}");
    }
}

/// The fixture runs long; bpftrace attaches by pid for a while and leaves:
/// the probe must be off before, on during, and off again after.
#[test]
fn probe_is_quiet_before_live_during_and_quiet_after_bpftrace() {
    if !can_attach() {
        return;
    }
    let Some(bt) = bpftrace() else { return };
    let exe = rust_fixture("fixture-lto", "rust_fixture");
    let log = std::env::temp_dir().join(format!("rust-fixture-{}.log", std::process::id()));
    // 1,000 rounds of 10 ms: time enough for bpftrace to attach and detach
    // on a loaded machine (400 ran out in CI while bpftrace detached).
    let mut prog =
        Command::new(&exe).args(["1000", "10"]).stdout(std::fs::File::create(&log).unwrap()).spawn().unwrap();
    let read = || std::fs::read_to_string(&log).unwrap_or_default();
    let wait_for = |what: &dyn Fn(&str) -> bool| {
        let t = Instant::now();
        while !what(&read()) {
            assert!(t.elapsed() < Duration::from_secs(20), "timed out; log:\n{}", read());
            std::thread::sleep(Duration::from_millis(20));
        }
    };
    wait_for(&|l| l.contains("round 5 "));
    let script = format!("usdt:{}:fixture:ints {{ @n = count(); }}", exe.display());
    let mut tracer = Command::new(bt)
        .args(["-p", &prog.id().to_string(), "-e", &script])
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    wait_for(&|l| l.contains("enabled=true"));
    let on = read().lines().count();
    std::thread::sleep(Duration::from_millis(300));
    // SAFETY: kill with a pid we spawned; SIGINT makes bpftrace detach.
    unsafe { libc_kill(tracer.id() as i32, 2) };
    tracer.wait().unwrap();
    let off_from = read().lines().count() + 5;
    prog.wait().unwrap();
    let text = read();
    let _ = std::fs::remove_file(&log);
    let lines: Vec<&str> = text.lines().collect();
    assert!(off_from + 1 < lines.len(), "the fixture ended before bpftrace had detached; log:\n{text}");
    assert!(lines[..5].iter().all(|l| l.ends_with("enabled=false")), "{text}");
    assert!(lines[on - 1].ends_with("enabled=true"));
    assert!(lines[off_from..lines.len() - 1].iter().all(|l| l.ends_with("enabled=false")), "{text}");
    let closures: u64 = lines.last().unwrap().strip_prefix("closures ").unwrap().parse().unwrap();
    assert!(closures > 0);
}

extern "C" {
    #[link_name = "kill"]
    fn libc_kill(pid: i32, sig: i32) -> i32;
}

#[test]
fn perf_records_the_sdt_events() {
    if !can_attach() {
        return;
    }
    let Some(perf) = system_file("/usr/bin/perf") else { return };
    let exe = rust_fixture("fixture-lto", "rust_fixture");
    let run = |args: &[&str]| {
        let out = Command::new(perf).args(args).output().unwrap();
        eprintln!("perf {args:?}: {}{}", String::from_utf8_lossy(&out.stdout), String::from_utf8_lossy(&out.stderr));
        out
    };
    let e = exe.display().to_string();
    assert!(run(&["buildid-cache", "--add", &e]).status.success());
    let _ = run(&["probe", "-d", "sdt_fixture:ints"]);
    assert!(run(&["probe", "-x", &e, "-a", "sdt_fixture:ints"]).status.success());
    let data = std::env::temp_dir().join(format!("perf-{}.data", std::process::id()));
    let d = data.display().to_string();
    let rec = run(&["record", "-q", "-e", "sdt_fixture:ints", "-o", &d, "--", &e, "3"]);
    let script = run(&["script", "-i", &d]);
    let _ = run(&["probe", "-d", "sdt_fixture:ints"]);
    let _ = std::fs::remove_file(&data);
    assert!(rec.status.success());
    assert!(String::from_utf8_lossy(&rec.stdout).contains("round 3 enabled=true"), "perf raised the semaphore");
    let text = String::from_utf8_lossy(&script.stdout);
    let hits: Vec<&str> = text.lines().filter(|l| l.contains("sdt_fixture:ints")).collect();
    assert_eq!(hits.len(), 3, "{text}");
    // perf names the arguments arg1…; 32- and 64-bit values print signed.
    assert!(hits[2].contains("arg1=3 ") && hits[2].contains("arg6=-100003 "), "{text}");
    assert!(hits[2].contains("arg7=18446744073709551612 ") && hits[2].contains("arg8=-9223372036854775805"), "{text}");
}

#[test]
fn gdb_lists_the_probes() {
    let Some(gdb) = system_file("/usr/bin/gdb") else { return };
    let exe = rust_fixture("debug", "rust_fixture");
    let out = Command::new(gdb).args(["-batch", "-ex", "info probes"]).arg(&exe).output().unwrap();
    let text = String::from_utf8_lossy(&out.stdout);
    for (prov, name) in [("fixture", "ints"), ("fixture", "twelve"), ("dfix", "hello")] {
        assert!(
            text.lines().any(|l| l.split_whitespace().take(3).eq(["stap", prov, name])),
            "gdb lists no {prov}:{name}:\n{text}"
        );
    }
}

#[test]
fn aarch64_build_emits_notes_with_x_register_operands_and_records() {
    let objects = tests::cross_fixture_objects("aarch64-unknown-linux-gnu");
    let mut seen = BTreeMap::new();
    let mut records = 0;
    for (name, bytes) in &objects {
        let elf = ElfFile::parse(bytes).unwrap_or_else(|e| panic!("{name}: {e}"));
        assert_eq!(elf.arch(), Some(stap_notes::Arch::AArch64), "{name}");
        for n in elf.stapsdt_notes() {
            let n = n.unwrap();
            for spec in n.arg_specs(stap_notes::Arch::AArch64) {
                spec.unwrap_or_else(|e| panic!("{name}: {}:{} `{}`: {e}", n.provider, n.name, n.args));
            }
            seen.insert(format!("{}:{}", n.provider, n.name), n.args.to_string());
        }
        records += elf.metadata_records().count();
    }
    let ints = &seen["fixture:ints"];
    let sizes: Vec<&str> = ints.split(' ').map(|a| a.split('@').next().unwrap()).collect();
    assert_eq!(sizes, ["1", "-1", "2", "-2", "4", "-4", "8", "-8"], "{ints}");
    assert!(ints.split(' ').all(|a| a.split('@').nth(1).unwrap().starts_with('x')), "{ints}");
    assert_eq!(seen["fixture:twelve"].split(' ').count(), 12);
    assert!(records >= 9, "one metadata record per probe: {records}");
}

#[test]
fn other_targets_build_with_probes_compiled_out() {
    let objects = tests::cross_fixture_objects("x86_64-unknown-freebsd");
    assert!(!objects.is_empty());
    for (name, bytes) in &objects {
        let elf = ElfFile::parse(bytes).unwrap_or_else(|e| panic!("{name}: {e}"));
        assert_eq!(elf.stapsdt_notes().count(), 0, "{name} carries probes on FreeBSD");
        assert_eq!(elf.metadata_records().count(), 0, "{name}");
    }
}
