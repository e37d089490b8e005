//! Every stapsdt note in real files installed from Debian, compared field by
//! field with what binutils' `readelf -n` prints, and every argument parsed.
//!
//! The files are installed by `scripts/test`. Under `CI=true` a missing file
//! or a missing `readelf` fails the test.

use std::path::Path;
use std::process::Command;

use stap_notes::{Arch, ElfFile, ElfKind, Mapped};

#[derive(Debug, PartialEq)]
struct ReadelfNote {
    provider: String,
    name: String,
    pc: u64,
    base: u64,
    semaphore: u64,
    args: String,
}

fn readelf_notes(path: &Path) -> Vec<ReadelfNote> {
    let out = Command::new("readelf").args(["-n", "--wide"]).arg(path).output().expect("run readelf (binutils)");
    assert!(out.status.success(), "readelf failed on {}", path.display());
    let text = String::from_utf8_lossy(&out.stdout);
    let mut notes = Vec::new();
    let mut lines = text.lines().peekable();
    while let Some(line) = lines.next() {
        if !line.contains("NT_STAPSDT") {
            continue;
        }
        let mut field = |key: &str| -> String {
            let l = lines.peek().copied().unwrap_or("");
            match l.trim_start().strip_prefix(key) {
                Some(v) => {
                    lines.next();
                    v.trim().to_string()
                }
                None => String::new(),
            }
        };
        // With --wide, readelf prints the provider on the note's own line.
        let provider = match line.split_once("Provider:") {
            Some((_, p)) => p.trim().to_string(),
            None => field("Provider:"),
        };
        let name = field("Name:");
        let loc = field("Location:");
        let args = field("Arguments:");
        let hex = |s: &str| u64::from_str_radix(s.trim().trim_start_matches("0x"), 16).expect("hex");
        let parts: Vec<&str> = loc.split(',').map(|p| p.split(':').nth(1).unwrap_or(p)).collect();
        notes.push(ReadelfNote {
            provider,
            name,
            pc: hex(parts[0]),
            base: hex(parts[1]),
            semaphore: hex(parts[2]),
            args,
        });
    }
    notes
}

fn require(path: &str) -> Option<&Path> {
    let p = Path::new(path);
    if p.exists() {
        return Some(p);
    }
    let ci = std::env::var("CI").is_ok_and(|v| v == "true" || v == "1");
    assert!(!ci, "{path} is missing; scripts/test installs it");
    eprintln!("NOT RUN: {path} is missing; scripts/test installs it");
    None
}

/// Compare our notes with readelf's and parse every argument; returns the note count.
fn check_file(path: &str, expected_kind: ElfKind) -> usize {
    let Some(p) = require(path) else { return 0 };
    let map = Mapped::open(p).unwrap();
    let elf = ElfFile::parse(&map).unwrap();
    assert_eq!(elf.kind(), expected_kind, "{path}");
    assert_eq!(elf.arch(), Some(Arch::X86_64));
    assert!(elf.build_id().is_some_and(|id| id.len() == 20), "{path}: build-id");
    let dynamic = Command::new("readelf").args(["-d", "--wide"]).arg(p).output().expect("readelf -d");
    let needed: Vec<String> = String::from_utf8_lossy(&dynamic.stdout)
        .lines()
        .filter(|l| l.contains("(NEEDED)"))
        .filter_map(|l| Some(l.split_once('[')?.1.trim_end_matches(']').to_string()))
        .collect();
    assert!(!needed.is_empty(), "{path}: readelf found no NEEDED entries");
    assert_eq!(elf.needed(), needed, "{path}: DT_NEEDED");
    let ours: Vec<_> = elf.stapsdt_notes().collect::<Result<_, _>>().unwrap();
    let theirs = readelf_notes(p);
    assert!(!theirs.is_empty(), "{path}: readelf found no stapsdt notes");
    assert_eq!(ours.len(), theirs.len(), "{path}: note count");
    for (o, t) in ours.iter().zip(&theirs) {
        let o2 = ReadelfNote {
            provider: o.provider.into(),
            name: o.name.into(),
            pc: o.pc,
            base: o.base,
            semaphore: o.semaphore,
            args: o.args.into(),
        };
        assert_eq!(&o2, t, "{path}");
        let site = elf.probe_site(o);
        let off =
            site.file_offset.unwrap_or_else(|| panic!("{path}: {}:{} site has no file offset", o.provider, o.name));
        // Debian's files are not prelinked: the site is where the note says,
        // and it is a nop (the bytes `sys/sdt.h` emits).
        assert_eq!(site.address, o.pc);
        assert_eq!(
            map[off as usize], 0x90,
            "{path}: {}:{} site at file offset {off:#x} is not a nop",
            o.provider, o.name
        );
        if let Some(sem) = site.semaphore {
            let seg = elf.segment_of(sem.address).expect("semaphore segment");
            assert!(seg.is_writable(), "{path}: semaphore not in a writable segment");
            let sem_off = sem.file_offset.expect("semaphore file offset");
            assert_eq!(sem_off - seg.offset, sem.address - seg.vaddr);
        }
        for arg in o.arg_specs(Arch::X86_64) {
            arg.unwrap_or_else(|e| panic!("{path}: {}:{}: {e}", o.provider, o.name));
        }
    }
    ours.len()
}

#[test]
fn python311_notes_match_readelf() {
    check_file("/usr/bin/python3.11", ElfKind::Executable);
}

#[test]
fn libruby_notes_match_readelf() {
    check_file("/usr/lib/x86_64-linux-gnu/libruby-3.1.so.3.1", ElfKind::SharedObject);
}

#[test]
fn libjvm_has_531_notes_matching_readelf() {
    let n = check_file("/usr/lib/jvm/java-17-openjdk-amd64/lib/server/libjvm.so", ElfKind::SharedObject);
    if n != 0 {
        assert_eq!(n, 531);
    }
}

#[test]
fn postgres_notes_match_readelf() {
    check_file("/usr/lib/postgresql/15/bin/postgres", ElfKind::Pie);
}

#[test]
fn libstdcxx_notes_match_readelf() {
    check_file("/usr/lib/x86_64-linux-gnu/libstdc++.so.6", ElfKind::SharedObject);
}
