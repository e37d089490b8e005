//! Any bytes as a metadata record descriptor, in both byte orders.
#![no_main]
use libfuzzer_sys::fuzz_target;
use stap_notes::{Endian, ProbeMetadata};

fuzz_target!(|data: &[u8]| {
    for endian in [Endian::Little, Endian::Big] {
        if let Ok(md) = ProbeMetadata::parse(data, endian, 0) {
            let _ = md.note_arg_count();
            for arg in md.args() {
                let _ = arg.map(|a| a.kind.name());
            }
        }
    }
});
