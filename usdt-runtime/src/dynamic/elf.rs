//! The shared object behind a run-time provider, laid out with `object`'s
//! ELF writer.
//!
//! One function per probe, exported under `<provider>__<probe>`: on x86-64
//! `nop; nop10; ret` (the site form of the `#[provider]` macros), on
//! aarch64 `nop; ret`. A probe function takes one argument, a pointer to a
//! block of 8-byte slots, and its stapsdt note describes each argument as a
//! memory operand in that block (`-4@8(%rdi)`, `-4@[x0, 8]`), so a probe
//! can carry 12 arguments whatever the calling convention. Each probe's
//! semaphore is a `u16` in `.probes`, on a page of its own segment. Notes,
//! `.stapsdt.base` (in the text segment, as the macros place it) and the
//! metadata records are where tracers look for them. Every segment's
//! address equals its file offset, and nothing needs relocating.

use object::elf;
use object::write::elf::{FileHeader, ProgramHeader, SectionHeader, Sym, Writer};
use object::write::StringId;
use stap_notes::write::{encode_stapsdt_note, StapsdtNoteFields};
use stap_notes::{Class, Endian, ProbeMetadataBuf};

/// The machines a run-time provider can be built for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Machine {
    /// x86-64.
    X86_64,
    /// AArch64.
    AArch64,
}

impl Machine {
    /// The machine this program runs on, when providers support it.
    pub fn host() -> Option<Machine> {
        if cfg!(target_arch = "x86_64") {
            Some(Machine::X86_64)
        } else if cfg!(target_arch = "aarch64") {
            Some(Machine::AArch64)
        } else {
            None
        }
    }

    fn code(self) -> &'static [u8] {
        match self {
            Machine::X86_64 => &[0x90, 0x66, 0x2e, 0x0f, 0x1f, 0x84, 0, 0, 0, 0, 0, 0xc3],
            Machine::AArch64 => &[0x1f, 0x20, 0x03, 0xd5, 0xc0, 0x03, 0x5f, 0xd6],
        }
    }

    fn e_machine(self) -> u16 {
        match self {
            Machine::X86_64 => elf::EM_X86_64,
            Machine::AArch64 => elf::EM_AARCH64,
        }
    }

    /// The stapsdt operand for `size` bytes (negative: signed) at `offset`
    /// in the argument block.
    fn operand(self, size: i8, offset: usize) -> String {
        match self {
            Machine::X86_64 => format!("{size}@{offset}(%rdi)"),
            Machine::AArch64 => format!("{size}@[x0, {offset}]"),
        }
    }
}

/// One probe of the object.
#[derive(Debug, Clone)]
pub struct ProbeLayout {
    /// Its metadata (provider, name, doc, arguments).
    pub meta: ProbeMetadataBuf,
}

/// Where the built object put a probe.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct BuiltProbe {
    /// Address (= file offset) of the probe function.
    pub function: u64,
    /// Address (= file offset) of its semaphore.
    pub semaphore: u64,
}

/// The exported symbol of a probe's function.
pub fn symbol_name(provider: &str, probe: &str) -> String {
    format!("{provider}__{probe}")
}

const PAGE: usize = 0x1000;

/// Build the shared object. `soname` names it (`DT_SONAME`).
pub fn build(machine: Machine, soname: &str, probes: &[ProbeLayout]) -> Result<(Vec<u8>, Vec<BuiltProbe>), String> {
    let mut buf = Vec::new();
    let mut w = Writer::new(object::Endianness::Little, true, &mut buf);
    let code = machine.code();
    let stride = code.len().next_multiple_of(16);
    let names: Vec<Vec<u8>> = probes.iter().map(|p| symbol_name(&p.meta.provider, &p.meta.name).into_bytes()).collect();

    // Read-only segment: headers, .hash, .dynsym, .dynstr.
    w.reserve_file_header();
    w.reserve_program_headers(5);
    let soname_id = w.add_dynamic_string(soname.as_bytes());
    let name_ids: Vec<StringId> = names.iter().map(|n| w.add_dynamic_string(n)).collect();
    w.reserve_null_dynamic_symbol_index();
    for _ in probes {
        w.reserve_dynamic_symbol_index();
    }
    let chain_count = probes.len() as u32 + 1;
    let bucket_count = chain_count.max(1);
    let hash_off = w.reserve_hash(bucket_count, chain_count);
    let dynsym_off = w.reserve_dynsym();
    let dynstr_off = w.reserve_dynstr();
    let ro_end = w.reserved_len();

    // Text segment: the probe functions, then .stapsdt.base.
    w.reserve_until(ro_end.next_multiple_of(PAGE));
    let text_off = w.reserve(stride * probes.len().max(1), PAGE);
    let base_off = w.reserve(1, 1);
    let text_end = w.reserved_len();

    // Read-write segment: the semaphores on their own page, then .dynamic.
    w.reserve_until(text_end.next_multiple_of(PAGE));
    let probes_off = w.reserve(2 * probes.len().max(1), PAGE);
    let dynamic_count = 6;
    let dynamic_off = w.reserve_dynamic(dynamic_count);
    let rw_end = w.reserved_len();

    // Non-allocated: notes and records.
    let mut notes = Vec::new();
    let mut records = Vec::new();
    let mut built = Vec::new();
    for (i, p) in probes.iter().enumerate() {
        let function = (text_off + i * stride) as u64;
        let semaphore = (probes_off + 2 * i) as u64;
        let mut args = Vec::new();
        let mut slot = 0;
        for (_, kind) in &p.meta.args {
            for (size, signed) in kind.note_slots(8) {
                let size = size as i8;
                args.push(machine.operand(if signed { -size } else { size }, 8 * slot));
                slot += 1;
            }
        }
        if slot > stap_notes::meta::MAX_NOTE_ARGS {
            return Err(format!(
                "probe {}:{} needs {slot} stapsdt arguments; the limit is 12",
                p.meta.provider, p.meta.name
            ));
        }
        let fields = StapsdtNoteFields {
            provider: &p.meta.provider,
            name: &p.meta.name,
            args: &args.join(" "),
            pc: function,
            base: base_off as u64,
            semaphore,
        };
        encode_stapsdt_note(&mut notes, Class::Elf64, Endian::Little, &fields).map_err(|e| e.to_string())?;
        records.extend(p.meta.encode_note(Endian::Little, 8).map_err(|e| e.to_string())?);
        built.push(BuiltProbe { function, semaphore });
    }
    let notes_off = w.reserve(notes.len(), 4);
    let records_off = w.reserve(records.len(), 4);

    // Section headers, so that tools that read notes by section find them.
    w.reserve_null_section_index();
    let hash_idx = w.reserve_hash_section_index();
    let dynsym_idx = w.reserve_dynsym_section_index();
    let dynstr_idx = w.reserve_dynstr_section_index();
    let mut extra = Vec::new();
    for name in [&b".text"[..], b".stapsdt.base", b".probes", b".note.stapsdt", b".note.sdtrace"] {
        let id = w.add_section_name(name);
        extra.push((id, w.reserve_section_index()));
    }
    let dynamic_idx = w.reserve_dynamic_section_index();
    w.reserve_shstrtab_section_index();
    w.reserve_shstrtab();
    w.reserve_section_headers();
    let text_idx = extra[0].1;

    w.write_file_header(&FileHeader {
        os_abi: elf::ELFOSABI_NONE,
        abi_version: 0,
        e_type: elf::ET_DYN,
        e_machine: machine.e_machine(),
        e_entry: 0,
        e_flags: 0,
    })
    .map_err(|e| e.to_string())?;
    w.write_align_program_headers();
    let load = |w: &mut Writer, flags, off: usize, end: usize| {
        w.write_program_header(&ProgramHeader {
            p_type: elf::PT_LOAD,
            p_flags: flags,
            p_offset: off as u64,
            p_vaddr: off as u64,
            p_paddr: off as u64,
            p_filesz: (end - off) as u64,
            p_memsz: (end - off) as u64,
            p_align: PAGE as u64,
        })
    };
    load(&mut w, elf::PF_R, 0, ro_end);
    load(&mut w, elf::PF_R | elf::PF_X, text_off, text_end);
    load(&mut w, elf::PF_R | elf::PF_W, probes_off, rw_end);
    let dyn_size = (rw_end - dynamic_off) as u64;
    w.write_program_header(&ProgramHeader {
        p_type: elf::PT_DYNAMIC,
        p_flags: elf::PF_R | elf::PF_W,
        p_offset: dynamic_off as u64,
        p_vaddr: dynamic_off as u64,
        p_paddr: dynamic_off as u64,
        p_filesz: dyn_size,
        p_memsz: dyn_size,
        p_align: 8,
    });
    w.write_program_header(&ProgramHeader {
        p_type: elf::PT_GNU_STACK,
        p_flags: elf::PF_R | elf::PF_W,
        p_offset: 0,
        p_vaddr: 0,
        p_paddr: 0,
        p_filesz: 0,
        p_memsz: 0,
        p_align: 16,
    });

    w.write_hash(bucket_count, chain_count, |i| (i >= 1).then(|| object::elf::hash(&names[i as usize - 1])));
    w.write_null_dynamic_symbol();
    for (i, id) in name_ids.iter().enumerate() {
        w.write_dynamic_symbol(&Sym {
            name: Some(*id),
            section: Some(text_idx),
            st_info: (elf::STB_GLOBAL << 4) | elf::STT_FUNC,
            st_other: elf::STV_DEFAULT,
            st_shndx: 0,
            st_value: built[i].function,
            st_size: code.len() as u64,
        });
    }
    w.write_dynstr();

    w.pad_until(text_off);
    for _ in probes {
        let mut f = code.to_vec();
        f.resize(stride, 0xcc);
        w.write(&f);
    }
    if probes.is_empty() {
        w.write(&vec![0xcc; stride]);
    }
    w.write(&[0]);

    w.pad_until(probes_off);
    w.write(&vec![0; 2 * probes.len().max(1)]);
    w.write_align_dynamic();
    w.write_dynamic(elf::DT_HASH, hash_off as u64);
    w.write_dynamic(elf::DT_STRTAB, dynstr_off as u64);
    w.write_dynamic(elf::DT_SYMTAB, dynsym_off as u64);
    let strsz = w.dynstr_len() as u64;
    w.write_dynamic(elf::DT_STRSZ, strsz);
    w.write_dynamic_string(elf::DT_SONAME, soname_id);
    w.write_dynamic(elf::DT_NULL, 0);
    w.write_align(4);
    w.write(&notes);
    w.write_align(4);
    w.write(&records);

    w.write_shstrtab();
    w.write_null_section_header();
    w.write_hash_section_header(hash_off as u64);
    w.write_dynsym_section_header(dynsym_off as u64, 1);
    w.write_dynstr_section_header(dynstr_off as u64);
    let sections = [
        (elf::SHT_PROGBITS, elf::SHF_ALLOC | elf::SHF_EXECINSTR, text_off, stride * probes.len().max(1), 16),
        (elf::SHT_PROGBITS, elf::SHF_ALLOC | elf::SHF_EXECINSTR, base_off, 1, 1),
        (elf::SHT_PROGBITS, elf::SHF_ALLOC | elf::SHF_WRITE, probes_off, 2 * probes.len().max(1), 2),
        (elf::SHT_NOTE, 0, notes_off, notes.len(), 4),
        (elf::SHT_NOTE, 0, records_off, records.len(), 4),
    ];
    for ((name, _), (kind, flags, off, size, align)) in extra.iter().zip(sections) {
        let alloc = flags & elf::SHF_ALLOC != 0;
        w.write_section_header(&SectionHeader {
            name: Some(*name),
            sh_type: kind,
            sh_flags: u64::from(flags),
            sh_addr: if alloc { off as u64 } else { 0 },
            sh_offset: off as u64,
            sh_size: size as u64,
            sh_link: 0,
            sh_info: 0,
            sh_addralign: align,
            sh_entsize: 0,
        });
    }
    w.write_dynamic_section_header(dynamic_off as u64);
    w.write_shstrtab_section_header();
    let _ = (dynamic_idx, hash_idx, dynsym_idx, dynstr_idx);
    Ok((buf, built))
}
