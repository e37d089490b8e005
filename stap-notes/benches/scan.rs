//! Scanning a large library for every stapsdt note: stap-notes against
//! binutils' `readelf -n`, in one run, on the same file.
//!
//! The file's bytes reach the parser three ways: mapped (`Mapped`), the
//! headers and notes copied (`ElfImage`, what `sdtrace list` uses since a
//! truncated mapping killed it with SIGBUS), or the whole file read.
//!
//! `cargo bench -p stap-notes --bench scan` (the file defaults to OpenJDK 17's
//! `libjvm.so`, 531 notes; set `SCAN_FILE` to use another). The figures in
//! docs/performance.md come from this bench.

use std::hint::black_box;
use std::process::{Command, Stdio};

use criterion::{criterion_group, criterion_main, Criterion};
use stap_notes::{ElfFile, ElfImage, Mapped};

const DEFAULT_FILE: &str = "/usr/lib/jvm/java-17-openjdk-amd64/lib/server/libjvm.so";

/// How the file's bytes reach the parser.
#[derive(Clone, Copy)]
enum Read {
    /// `Mapped`: the whole file mapped (faults with SIGBUS if truncated).
    Map,
    /// `ElfImage`: headers and notes copied with pread (what sdtrace list does).
    Image,
    /// The whole file read into memory.
    Whole,
}

fn scan(path: &str, read: Read, parse_args: bool) -> usize {
    match read {
        Read::Map => notes(&ElfFile::parse(&Mapped::open(path).expect("open")).expect("ELF"), parse_args),
        Read::Image => notes(&ElfFile::parse_image(&ElfImage::read(path).expect("read")).expect("ELF"), parse_args),
        Read::Whole => notes(&ElfFile::parse(&std::fs::read(path).expect("read")).expect("ELF"), parse_args),
    }
}

fn notes(elf: &ElfFile<'_>, parse_args: bool) -> usize {
    let arch = elf.arch().expect("arch");
    let mut n = 0;
    for note in elf.stapsdt_notes() {
        let note = note.expect("note");
        black_box(elf.probe_site(&note));
        if parse_args {
            for a in note.arg_specs(arch) {
                black_box(a.expect("arg"));
            }
        }
        n += 1;
    }
    n
}

fn bench(c: &mut Criterion) {
    let path = std::env::var("SCAN_FILE").unwrap_or_else(|_| DEFAULT_FILE.to_string());
    if !std::path::Path::new(&path).exists() {
        eprintln!("scan bench: {path} is missing (install openjdk-17-jre-headless or set SCAN_FILE)");
        return;
    }
    let notes = scan(&path, Read::Map, true);
    let mut g = c.benchmark_group(format!("scan {notes} notes"));
    g.bench_function("stap-notes: map, notes, sites", |b| b.iter(|| scan(&path, Read::Map, false)));
    g.bench_function("stap-notes: map, notes, sites, args", |b| b.iter(|| scan(&path, Read::Map, true)));
    g.bench_function("stap-notes: ElfImage, notes, sites", |b| b.iter(|| scan(&path, Read::Image, false)));
    g.bench_function("stap-notes: ElfImage, notes, sites, args", |b| b.iter(|| scan(&path, Read::Image, true)));
    g.bench_function("stap-notes: read whole file, notes, sites", |b| b.iter(|| scan(&path, Read::Whole, false)));
    g.bench_function("readelf -n", |b| {
        b.iter(|| {
            let st = Command::new("readelf").arg("-n").arg(&path).stdout(Stdio::null()).status().expect("readelf");
            assert!(st.success());
        })
    });
    g.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
