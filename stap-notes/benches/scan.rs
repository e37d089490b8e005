//! Scanning a large library for every stapsdt note: stap-notes against
//! binutils' `readelf -n`, in one run, on the same file.
//!
//! `cargo bench -p stap-notes --bench scan` (the file defaults to OpenJDK 17's
//! `libjvm.so`, 531 notes; set `SCAN_FILE` to use another). The figures in
//! docs/performance.md come from this bench.

use std::hint::black_box;
use std::process::{Command, Stdio};

use criterion::{criterion_group, criterion_main, Criterion};
use stap_notes::{ElfFile, Mapped};

const DEFAULT_FILE: &str = "/usr/lib/jvm/java-17-openjdk-amd64/lib/server/libjvm.so";

fn scan(path: &str, parse_args: bool) -> usize {
    let map = Mapped::open(path).expect("open");
    let elf = ElfFile::parse(&map).expect("ELF");
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
    let notes = scan(&path, true);
    let mut g = c.benchmark_group(format!("scan {notes} notes"));
    g.bench_function("stap-notes: open, notes, sites", |b| b.iter(|| scan(&path, false)));
    g.bench_function("stap-notes: open, notes, sites, args", |b| b.iter(|| scan(&path, true)));
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
