//! Any bytes as an ELF file: headers, stapsdt notes, sites, arguments and
//! metadata records must be read or rejected without a panic.
#![no_main]
use libfuzzer_sys::fuzz_target;
use stap_notes::ElfFile;

fuzz_target!(|data: &[u8]| {
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
