//! Writes an x86-64 ELF file with many probes, to measure how listing
//! scales with the number of notes (docs/performance.md).
//!
//! `cargo run --release -p stap-notes --example many_probes -- FILE PROBES [SITES]`
//!
//! The file holds PROBES probes (`many:p0` …) of SITES sites each (default
//! 1); the notes of one probe are spread over the file, as the notes of an
//! inlined probe are, so grouping them cannot rely on neighbours.

use stap_notes::elf::Class;
use stap_notes::write::{ProbeDef, SdtElfBuilder};
use stap_notes::Endian;

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let mut args = std::env::args().skip(1);
    let usage = "usage: many_probes FILE PROBES [SITES]";
    let file = args.next().ok_or(usage)?;
    let probes: usize = args.next().ok_or(usage)?.parse()?;
    let sites: usize = args.next().map_or(Ok(1), |s| s.parse())?;
    let mut b = SdtElfBuilder::new(Class::Elf64, Endian::Little, 62);
    // One probe definition per site: the builder writes the notes in the
    // order of its definitions, so round r holds site r of every probe.
    for round in 0..sites {
        for i in 0..probes {
            b.probes.push(ProbeDef {
                provider: "many".into(),
                name: format!("p{i}"),
                sites: vec![format!("8@%rdi -4@{}(%rsp)", 8 * round)],
                semaphore: false,
                metadata: None,
            });
        }
    }
    let (bytes, _) = b.build()?;
    std::fs::write(&file, &bytes)?;
    println!("{file}: {probes} probes, {} notes, {} bytes", probes * sites, bytes.len());
    Ok(())
}
