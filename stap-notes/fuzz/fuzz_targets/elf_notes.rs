//! Any bytes as an ELF file: headers, stapsdt notes, sites, arguments and
//! metadata records must be read or rejected without a panic, and the
//! pieces `ElfImage` reads must give exactly what the whole bytes give.
#![no_main]
use libfuzzer_sys::fuzz_target;
use stap_notes::{ElfFile, ElfImage};

fn reading(elf: &ElfFile<'_>) -> String {
    let notes: Vec<_> = elf.stapsdt_notes().keep_going().map(|n| n.map(|n| (elf.probe_site(&n), n))).collect();
    let records: Vec<_> = elf.metadata_records().keep_going().collect();
    format!("{notes:?} {records:?} {:?} {:?} {:?}", elf.build_id(), elf.kind(), elf.needed())
}

fuzz_target!(|data: &[u8]| {
    let image = ElfImage::from_bytes(data);
    match (ElfFile::parse(data), ElfFile::parse_image(&image)) {
        (Ok(whole), Ok(part)) => assert_eq!(reading(&whole), reading(&part)),
        (whole, part) => assert_eq!(format!("{:?}", whole.err()), format!("{:?}", part.err())),
    }
    let Ok(elf) = ElfFile::parse(data) else { return };
    let _ = elf.kind();
    let _ = elf.build_id();
    for note in elf.stapsdt_notes().flatten() {
        let _ = elf.probe_site(&note);
        if let Some(arch) = elf.arch() {
            for arg in note.arg_specs(arch) {
                let _ = arg.map(|a| a.to_string());
            }
        }
    }
    for record in elf.metadata_records().flatten() {
        for arg in record.args() {
            let _ = arg;
        }
    }
});
