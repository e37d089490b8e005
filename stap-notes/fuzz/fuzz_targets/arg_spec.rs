//! Any text as an argument string, in every architecture's grammar; what
//! parses must print and, for x86-64 and aarch64, write back to the same value.
#![no_main]
use libfuzzer_sys::fuzz_target;
use stap_notes::args::{format_arg, parse_arg, ArgSpecs};
use stap_notes::Arch;

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else { return };
    for arch in [Arch::X86_64, Arch::I386, Arch::AArch64, Arch::Arm, Arch::RiscV64, Arch::S390x, Arch::PowerPc64] {
        for spec in ArgSpecs::new(text, arch).flatten() {
            let _ = spec.to_string();
            if matches!(arch, Arch::X86_64 | Arch::AArch64) {
                if let Ok(written) = format_arg(spec.ty, &spec.location, arch) {
                    let again = parse_arg(&written, arch).expect("written argument parses");
                    assert_eq!(again.ty, spec.ty, "{written}");
                    assert_eq!(again.location, spec.location, "{written}");
                }
            }
        }
    }
});
