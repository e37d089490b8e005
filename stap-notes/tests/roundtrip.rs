//! Write → read round trips: whatever the writer produces, the reader gives
//! back exactly, for every class, byte order and layout the writer covers;
//! and no corruption of a written file makes the reader panic.

use proptest::prelude::*;
use stap_notes::args::{self, format_arg, parse_arg, MemOperand, Reloc, SymbolRef};
use stap_notes::elf::Class;
use stap_notes::meta::ArgKind;
use stap_notes::note::RawNotes;
use stap_notes::write::{encode_note, ProbeDef, SdtElfBuilder};
use stap_notes::{Arch, ArgType, ElfFile, ElfImage, Endian, Location, ProbeMetadataBuf};

/// What a reader makes of a file: every note and record (errors in their
/// place), build-id, kind and needed libraries.
fn reading(elf: &ElfFile<'_>) -> String {
    let notes: Vec<_> = elf.stapsdt_notes().keep_going().map(|n| n.map(|n| (elf.probe_site(&n), n))).collect();
    let records: Vec<_> = elf.metadata_records().keep_going().collect();
    format!("{notes:?} {records:?} {:?} {:?} {:?} {:?}", elf.build_id(), elf.kind(), elf.needed(), elf.sections())
}

fn ident() -> impl Strategy<Value = String> {
    "[a-z_][a-z0-9_]{0,12}"
}

fn arg_kind() -> impl Strategy<Value = ArgKind> {
    prop_oneof![
        (prop::sample::select(vec![1u8, 2, 4, 8]), any::<bool>())
            .prop_map(|(size, signed)| ArgKind::Int { size, signed }),
        Just(ArgKind::Bool),
        Just(ArgKind::Char),
        prop::sample::select(vec![4u8, 8]).prop_map(|size| ArgKind::Float { size }),
        Just(ArgKind::Str),
        Just(ArgKind::CStr),
        Just(ArgKind::Bytes),
        Just(ArgKind::Json),
        Just(ArgKind::Pointer),
    ]
}

fn metadata(provider: String, name: String) -> impl Strategy<Value = ProbeMetadataBuf> {
    ("[ -~]{0,20}", any::<u32>(), "[^\0]{0,40}", prop::collection::vec((ident(), arg_kind()), 0..6)).prop_map(
        move |(file, line, doc, args)| ProbeMetadataBuf {
            provider: provider.clone(),
            name: name.clone(),
            file,
            line,
            doc,
            args,
        },
    )
}

fn probe() -> impl Strategy<Value = ProbeDef> {
    (ident(), ident(), prop::collection::vec("[ -~]{0,30}", 1..4), any::<bool>(), any::<bool>()).prop_flat_map(
        |(provider, name, sites, semaphore, with_md)| {
            let md = if with_md {
                metadata(provider.clone(), name.clone()).prop_map(Some).boxed()
            } else {
                Just(None).boxed()
            };
            md.prop_map(move |metadata| ProbeDef {
                provider: provider.clone(),
                name: name.clone(),
                sites: sites.clone(),
                semaphore,
                metadata,
            })
        },
    )
}

fn builder() -> impl Strategy<Value = SdtElfBuilder> {
    (
        prop::sample::select(vec![Class::Elf32, Class::Elf64]),
        prop::sample::select(vec![Endian::Little, Endian::Big]),
        prop::sample::select(vec![62u16, 183, 3, 40, 22, 243]),
        any::<bool>(),
        0u64..0x0100_0000,
        any::<bool>(),
        prop::collection::vec(probe(), 0..6),
    )
        .prop_map(|(class, endian, machine, with_base, shift, with_sections, probes)| {
            let mut b = SdtElfBuilder::new(class, endian, machine);
            b.with_base = with_base;
            b.with_sections = with_sections;
            // Prelink correction needs the base section to find the delta.
            b.prelink_shift = if with_base && with_sections { shift } else { 0 };
            b.probes = probes;
            b
        })
}

proptest! {
    #[test]
    fn written_files_read_back_exactly(b in builder()) {
        let (bytes, built) = b.build().unwrap();
        let elf = ElfFile::parse(&bytes).unwrap();
        prop_assert_eq!(elf.class(), b.class);
        prop_assert_eq!(elf.endian(), b.endian);
        prop_assert_eq!(elf.machine(), b.machine);
        let notes: Vec<_> = elf.stapsdt_notes().collect::<Result<_, _>>().unwrap();
        let expected: Vec<_> = b.probes.iter().zip(&built).flat_map(|(p, bp)| p.sites.iter().zip(&bp.sites).map(move |(a, s)| (p, bp, a, *s))).collect();
        prop_assert_eq!(notes.len(), expected.len());
        for (n, (p, bp, args, pc)) in notes.iter().zip(expected) {
            prop_assert_eq!(n.provider, p.provider.as_str());
            prop_assert_eq!(n.name, p.name.as_str());
            prop_assert_eq!(n.args, args.as_str());
            let site = elf.probe_site(n);
            prop_assert_eq!(site.address, pc);
            let off = site.file_offset.expect("site offset") as usize;
            prop_assert_eq!(bytes[off], 0x90);
            prop_assert_eq!(site.semaphore.map(|s| s.address), bp.semaphore);
            if let (Some(sem), true) = (site.semaphore, b.with_sections) {
                let probes = elf.section(".probes").unwrap();
                prop_assert_eq!(sem.file_offset.unwrap() - probes.offset, sem.address - probes.addr);
                prop_assert_ne!(sem.file_offset.unwrap(), sem.address);
            }
        }
        if b.with_sections {
            let records: Vec<_> = elf.metadata_records().collect::<Result<_, _>>().unwrap();
            let written: Vec<_> = b.probes.iter().filter_map(|p| p.metadata.as_ref()).collect();
            prop_assert_eq!(records.len(), written.len());
            for (r, w) in records.iter().zip(written) {
                prop_assert_eq!((r.provider, r.name, r.file, r.line, r.doc), (w.provider.as_str(), w.name.as_str(), w.file.as_str(), w.line, w.doc.as_str()));
                let args: Vec<_> = r.args().map(|a| a.map(|a| (a.name.to_string(), a.kind))).collect::<Result<_, _>>().unwrap();
                prop_assert_eq!(&args, &w.args);
            }
        }
    }

    #[test]
    fn an_image_reads_what_the_whole_file_gives(b in builder()) {
        let (bytes, _) = b.build().unwrap();
        let image = ElfImage::from_bytes(&bytes);
        prop_assert_eq!(reading(&ElfFile::parse(&bytes).unwrap()), reading(&ElfFile::parse_image(&image).unwrap()));
    }

    #[test]
    fn corrupted_files_never_panic(b in builder(), flips in prop::collection::vec((any::<prop::sample::Index>(), any::<u8>()), 1..8), cut in any::<prop::sample::Index>()) {
        let (mut bytes, _) = b.build().unwrap();
        for (i, v) in flips {
            let i = i.index(bytes.len());
            bytes[i] = v;
        }
        let len = cut.index(bytes.len() + 1);
        // The image of a corrupted file reads exactly what the whole file gives.
        let image = ElfImage::from_bytes(&bytes[..len]);
        match (ElfFile::parse(&bytes[..len]), ElfFile::parse_image(&image)) {
            (Ok(whole), Ok(part)) => prop_assert_eq!(reading(&whole), reading(&part)),
            (whole, part) => prop_assert_eq!(format!("{:?}", whole.err()), format!("{:?}", part.err())),
        }
        if let Ok(elf) = ElfFile::parse(&bytes[..len]) {
            let _ = elf.kind();
            let _ = elf.build_id();
            for n in elf.stapsdt_notes().flatten() {
                let _ = elf.probe_site(&n);
                if let Some(arch) = elf.arch() {
                    let _ = n.arg_specs(arch).count();
                }
            }
            for r in elf.metadata_records().flatten() {
                let _ = r.args().count();
            }
        }
    }

    #[test]
    fn x86_args_round_trip(loc in x86_location(), ty in arg_type()) {
        let text = format_arg(ty, &loc, Arch::X86_64).unwrap();
        let parsed = parse_arg(&text, Arch::X86_64).unwrap();
        prop_assert_eq!(parsed.ty, ty);
        prop_assert_eq!(parsed.location, loc);
    }

    #[test]
    fn aarch64_args_round_trip(loc in a64_location(), ty in arg_type()) {
        let text = format_arg(ty, &loc, Arch::AArch64).unwrap();
        let parsed = parse_arg(&text, Arch::AArch64).unwrap();
        prop_assert_eq!(parsed.ty, ty);
        prop_assert_eq!(parsed.location, loc);
    }

    #[test]
    fn arbitrary_arg_strings_never_panic(s in "\\PC{0,40}") {
        for arch in [Arch::X86_64, Arch::AArch64, Arch::Arm, Arch::RiscV64, Arch::S390x, Arch::PowerPc64, Arch::I386] {
            let _ = args::ArgSpecs::new(&s, arch).count();
        }
    }
}

fn arg_type() -> impl Strategy<Value = ArgType> {
    prop_oneof![
        (prop::sample::select(vec![1u8, 2, 4, 8]), any::<bool>()).prop_map(|(s, signed)| ArgType {
            size: s,
            signed,
            float: false
        }),
        prop::sample::select(vec![4u8, 8]).prop_map(ArgType::float),
    ]
}

fn reg_of(names: Vec<String>, lookup: fn(&str) -> Option<args::RegOperand>) -> impl Strategy<Value = args::RegOperand> {
    prop::sample::select(names).prop_map(move |n| lookup(&n).unwrap())
}

fn x86_location() -> impl Strategy<Value = Location<'static>> {
    let reg = || reg_of(args::x86::register_names(), args::x86::register);
    let gpr = || reg().prop_filter("64-bit gpr", |r| r.width == 8).prop_map(|r| r.reg);
    prop_oneof![
        reg().prop_map(Location::Register),
        any::<i64>().prop_map(Location::Constant),
        (prop::option::of(gpr()), prop::option::of((gpr(), prop::sample::select(vec![1u8, 2, 4, 8]))), any::<i32>())
            .prop_filter("no empty memory", |(b, i, _)| b.is_some() || i.is_some())
            .prop_map(|(base, idx, off)| Location::Memory(MemOperand {
                base,
                index: idx.map(|i| i.0),
                scale: idx.map_or(1, |i| i.1),
                offset: off.into(),
                symbol: None
            })),
        (prop::sample::select(vec!["counter", "_ZN4core3fmt5write17h2f0c", "var.1234", "_state"]), -4096i64..4096)
            .prop_map(|(name, addend)| Location::Memory(MemOperand {
                base: Some(args::Register::X86(args::x86::Reg::Rip)),
                index: None,
                scale: 1,
                offset: 0,
                symbol: Some(SymbolRef { name, addend, reloc: Reloc::Absolute })
            })),
    ]
}

fn a64_location() -> impl Strategy<Value = Location<'static>> {
    let reg = || reg_of(args::aarch64::register_names(), args::aarch64::register);
    let base = || {
        reg()
            .prop_filter("core register", |r| !matches!(r.reg, args::Register::AArch64(args::aarch64::Reg::V(_))))
            .prop_map(|r| r.reg)
    };
    prop_oneof![
        reg().prop_map(Location::Register),
        any::<i64>().prop_map(Location::Constant),
        (base(), any::<i32>()).prop_map(|(b, off)| Location::Memory(MemOperand::based(b, off.into()))),
        (base(), prop::sample::select(vec!["counter", "_state"]), -64i64..64).prop_map(|(b, name, addend)| {
            let mut m = MemOperand::based(b, 0);
            m.symbol = Some(SymbolRef { name, addend, reloc: Reloc::Lo12 });
            Location::Memory(m)
        }),
    ]
}

#[test]
fn notes_aligned_to_8_are_walked_with_8_byte_padding() {
    let mut data = Vec::new();
    encode_note(&mut data, Endian::Big, 8, b"GNU", 5, &[1, 2, 3]);
    encode_note(&mut data, Endian::Big, 8, b"stapsdt", 3, &[9; 13]);
    let notes: Vec<_> = RawNotes::new(&data, 0x100, 8, Endian::Big).collect::<Result<_, _>>().unwrap();
    assert_eq!(notes.len(), 2);
    assert_eq!((notes[0].name, notes[0].n_type, notes[0].desc), (&b"GNU"[..], 5, &[1u8, 2, 3][..]));
    assert_eq!((notes[1].name, notes[1].desc.len(), notes[1].offset), (&b"stapsdt"[..], 13, 0x100 + 24));
}

#[test]
fn missing_stapsdt_base_uses_recorded_addresses() {
    let mut b = SdtElfBuilder::new(Class::Elf64, Endian::Little, 62);
    b.with_base = false;
    b.probes.push(ProbeDef {
        provider: "p".into(),
        name: "n".into(),
        sites: vec!["8@%rdi".into()],
        semaphore: true,
        metadata: None,
    });
    let (bytes, built) = b.build().unwrap();
    let elf = ElfFile::parse(&bytes).unwrap();
    assert_eq!(elf.stapsdt_base(), None);
    let n = elf.stapsdt_notes().next().unwrap().unwrap();
    assert_eq!(n.base, 0);
    assert_eq!(elf.probe_site(&n).address, built[0].sites[0]);
}

#[test]
fn prelinked_notes_are_corrected_by_the_base_section() {
    let mut b = SdtElfBuilder::new(Class::Elf64, Endian::Little, 62);
    b.prelink_shift = 0x20_0000;
    b.probes.push(ProbeDef {
        provider: "p".into(),
        name: "n".into(),
        sites: vec![String::new()],
        semaphore: true,
        metadata: None,
    });
    let (bytes, built) = b.build().unwrap();
    let elf = ElfFile::parse(&bytes).unwrap();
    let n = elf.stapsdt_notes().next().unwrap().unwrap();
    assert_eq!(n.pc, built[0].sites[0] + 0x20_0000, "note records the prelinked address");
    let site = elf.probe_site(&n);
    assert_eq!(site.address, built[0].sites[0]);
    assert_eq!(site.semaphore.unwrap().address, built[0].semaphore.unwrap());
}

#[test]
fn stripped_section_headers_fall_back_to_pt_note() {
    let mut b = SdtElfBuilder::new(Class::Elf32, Endian::Big, 20);
    b.with_sections = false;
    b.probes.push(ProbeDef {
        provider: "prov".into(),
        name: "probe".into(),
        sites: vec!["4@%r3".into(), String::new()],
        semaphore: false,
        metadata: None,
    });
    let (bytes, _) = b.build().unwrap();
    let elf = ElfFile::parse(&bytes).unwrap();
    assert!(elf.sections().is_empty());
    let names: Vec<_> = elf.stapsdt_notes().map(|n| n.unwrap().args).collect();
    assert_eq!(names, ["4@%r3", ""]);
}

#[test]
fn truncated_note_is_an_error_naming_the_offset() {
    let mut data = Vec::new();
    encode_note(&mut data, Endian::Little, 4, b"stapsdt", 3, &[0; 30]);
    let err = RawNotes::new(&data[..data.len() - 4], 0x40, 4, Endian::Little).next().unwrap().unwrap_err();
    assert_eq!(err.to_string(), "truncated note descriptor at file offset 0x40");
}

/// Found by the `elf_notes` fuzz target: a segment whose file offset plus
/// the site's distance into it overflows u64 panicked in `vaddr_to_offset`.
#[test]
fn segment_offset_overflow_is_no_file_offset() {
    let seg = stap_notes::elf::Segment { vaddr: 0x1000, memsz: 0x100, offset: u64::MAX - 4, filesz: 0x100, flags: 5 };
    assert_eq!(seg.file_offset_of(0x1010), None);
    assert_eq!(seg.file_offset_of(0x1002), Some(u64::MAX - 2));
}
