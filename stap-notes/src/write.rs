//! Writing stapsdt notes, `.stapsdt.base`, semaphores and metadata records.
//!
//! [`encode_stapsdt_note`] and [`crate::meta::ProbeMetadataBuf::encode_note`]
//! produce note bytes for any class and byte order; usdt-runtime places them
//! into the shared objects it builds. [`SdtElfBuilder`] lays out a small,
//! complete ELF file (not loadable by `ld.so`: no dynamic section) with
//! probes, semaphores and records, for tests, fuzz seeds and tools. Like
//! object's writer it lays everything out first and writes second.

use object::elf;
use object::write::elf::{FileHeader, ProgramHeader, SectionHeader, Writer};

use crate::elf::{Class, Endian};
use crate::error::{Error, Result};
use crate::meta::{ProbeMetadataBuf, METADATA_SECTION};
use crate::note::{NT_STAPSDT, STAPSDT_NOTE_NAME};

/// Append one ELF note to `out`, padding name and descriptor to `align` (4 or 8).
pub fn encode_note(out: &mut Vec<u8>, endian: Endian, align: usize, name: &[u8], n_type: u32, desc: &[u8]) {
    let start = out.len();
    let pad = |out: &mut Vec<u8>| out.resize(start + (out.len() - start).next_multiple_of(align), 0);
    out.extend_from_slice(&endian.put_u32(name.len() as u32 + 1));
    out.extend_from_slice(&endian.put_u32(desc.len() as u32));
    out.extend_from_slice(&endian.put_u32(n_type));
    out.extend_from_slice(name);
    out.push(0);
    pad(out);
    out.extend_from_slice(desc);
    pad(out);
}

/// The fields of one stapsdt note.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StapsdtNoteFields<'a> {
    /// Provider name.
    pub provider: &'a str,
    /// Probe name.
    pub name: &'a str,
    /// Argument string (`8@%rdi -4@%esi`).
    pub args: &'a str,
    /// Probe site address.
    pub pc: u64,
    /// Link-time address of `.stapsdt.base`.
    pub base: u64,
    /// Semaphore address, 0 for none.
    pub semaphore: u64,
}

/// Append a stapsdt note (4-byte aligned, as `sys/sdt.h` writes it).
pub fn encode_stapsdt_note(out: &mut Vec<u8>, class: Class, endian: Endian, n: &StapsdtNoteFields<'_>) -> Result<()> {
    for s in [n.provider, n.name, n.args] {
        if s.contains('\0') {
            return Err(Error::Write(format!("stapsdt note {}:{}: string contains NUL", n.provider, n.name)));
        }
    }
    if n.provider.is_empty() || n.name.is_empty() {
        return Err(Error::Write("stapsdt note: provider and probe names must not be empty".into()));
    }
    let mut desc = Vec::with_capacity(3 * 8 + n.provider.len() + n.name.len() + n.args.len() + 3);
    for v in [n.pc, n.base, n.semaphore] {
        match class {
            Class::Elf64 => desc.extend_from_slice(&endian.put_u64(v)),
            Class::Elf32 => {
                let v =
                    u32::try_from(v).map_err(|_| Error::Write(format!("address {v:#x} does not fit a 32-bit file")))?;
                desc.extend_from_slice(&endian.put_u32(v));
            }
        }
    }
    for s in [n.provider, n.name, n.args] {
        desc.extend_from_slice(s.as_bytes());
        desc.push(0);
    }
    encode_note(out, endian, 4, STAPSDT_NOTE_NAME, NT_STAPSDT, &desc);
    Ok(())
}

/// A probe to place in an [`SdtElfBuilder`] file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ProbeDef {
    /// Provider name.
    pub provider: String,
    /// Probe name.
    pub name: String,
    /// One argument string per call site; each site gets a 1-byte `nop`.
    pub sites: Vec<String>,
    /// Whether the probe has a semaphore.
    pub semaphore: bool,
    /// A metadata record to write beside the notes.
    pub metadata: Option<ProbeMetadataBuf>,
}

/// Lays out a small ELF file holding probes.
///
/// The file has a read-execute `PT_LOAD` (headers, `.text` of `nop`s,
/// `.stapsdt.base`) at `text_vaddr` and a read-write `PT_LOAD` (`.probes`,
/// the semaphores) whose address differs from its file offset by a page,
/// as in real binaries. Notes go in a non-allocated `.note.stapsdt` and
/// records in `.note.sdtrace`.
#[derive(Debug, Clone)]
pub struct SdtElfBuilder {
    /// 32 or 64 bit.
    pub class: Class,
    /// Byte order.
    pub endian: Endian,
    /// `e_machine`.
    pub machine: u16,
    /// `e_type` (`ET_EXEC` or `ET_DYN`).
    pub e_type: u16,
    /// Address of the text segment (0 for a shared object).
    pub text_vaddr: u64,
    /// Whether to emit `.stapsdt.base`.
    pub with_base: bool,
    /// Added to the base address recorded in notes, to imitate prelink.
    pub prelink_shift: u64,
    /// Whether to emit section headers (without them, notes are found through a `PT_NOTE`).
    pub with_sections: bool,
    /// The probes.
    pub probes: Vec<ProbeDef>,
}

/// Where the builder put a probe's pieces (what a reader should find).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BuiltProbe {
    /// Site addresses in file order.
    pub sites: Vec<u64>,
    /// Semaphore address.
    pub semaphore: Option<u64>,
}

impl SdtElfBuilder {
    /// A builder for an x86-64 little-endian executable at 0x400000.
    pub fn new(class: Class, endian: Endian, machine: u16) -> Self {
        SdtElfBuilder {
            class,
            endian,
            machine,
            e_type: elf::ET_EXEC,
            text_vaddr: 0x40_0000,
            with_base: true,
            prelink_shift: 0,
            with_sections: true,
            probes: Vec::new(),
        }
    }

    /// Lay out and write the file; returns its bytes and where each probe went.
    pub fn build(&self) -> Result<(Vec<u8>, Vec<BuiltProbe>)> {
        let is_64 = self.class == Class::Elf64;
        let word = self.class.address_size() as u8;
        let oe = match self.endian {
            Endian::Little => object::Endianness::Little,
            Endian::Big => object::Endianness::Big,
        };
        let mut buf = Vec::new();
        let mut w = Writer::new(oe, is_64, &mut buf);

        // Layout: header, phdrs, .text, .stapsdt.base | page | .probes, notes, shstrtab, shdrs.
        let site_count: usize = self.probes.iter().map(|p| p.sites.len()).sum();
        let sem_count = self.probes.iter().filter(|p| p.semaphore).count();
        let with_notes_segment = !self.with_sections;
        w.reserve_file_header();
        w.reserve_program_headers(2 + u32::from(with_notes_segment));
        let text_off = w.reserve(site_count.max(1), 16);
        let base_off = w.reserve(1, 1);
        let probes_off = w.reserve(sem_count * 2, 2);
        let text_vaddr = self.text_vaddr;
        let addr_of_text = |off: usize| text_vaddr + off as u64;
        let probes_vaddr = addr_of_text(probes_off) + 0x1000;
        let base_addr = addr_of_text(base_off);

        let mut built = Vec::new();
        let mut notes = Vec::new();
        let mut records = Vec::new();
        let (mut site, mut sem) = (0usize, 0usize);
        for p in &self.probes {
            let semaphore = p.semaphore.then(|| {
                sem += 1;
                probes_vaddr + 2 * (sem as u64 - 1)
            });
            let mut sites = Vec::new();
            for args in &p.sites {
                let pc = addr_of_text(text_off + site);
                site += 1;
                sites.push(pc);
                let fields = StapsdtNoteFields {
                    provider: &p.provider,
                    name: &p.name,
                    args,
                    pc: pc.wrapping_add(self.prelink_shift),
                    base: if self.with_base { base_addr.wrapping_add(self.prelink_shift) } else { 0 },
                    semaphore: semaphore.map_or(0, |s| s.wrapping_add(self.prelink_shift)),
                };
                encode_stapsdt_note(&mut notes, self.class, self.endian, &fields)?;
            }
            if let Some(md) = &p.metadata {
                records.extend(md.encode_note(self.endian, word)?);
            }
            built.push(BuiltProbe { sites, semaphore });
        }
        let notes_off = w.reserve(notes.len(), 4);
        let records_off = w.reserve(records.len(), 4);

        let mut idx = Vec::new();
        if self.with_sections {
            w.reserve_null_section_index();
            for name in [&b".text"[..], b".stapsdt.base", b".probes", b".note.stapsdt", METADATA_SECTION.as_bytes()] {
                let id = w.add_section_name(name);
                idx.push((id, w.reserve_section_index()));
            }
            w.reserve_shstrtab_section_index();
            w.reserve_shstrtab();
            w.reserve_section_headers();
        }

        w.write_file_header(&FileHeader {
            os_abi: 0,
            abi_version: 0,
            e_type: self.e_type,
            e_machine: self.machine,
            e_entry: addr_of_text(text_off),
            e_flags: 0,
        })
        .map_err(|e| Error::Write(e.to_string()))?;
        w.write_align_program_headers();
        w.write_program_header(&ProgramHeader {
            p_type: elf::PT_LOAD,
            p_flags: elf::PF_R | elf::PF_X,
            p_offset: 0,
            p_vaddr: text_vaddr,
            p_paddr: text_vaddr,
            p_filesz: (base_off + 1) as u64,
            p_memsz: (base_off + 1) as u64,
            p_align: 0x1000,
        });
        w.write_program_header(&ProgramHeader {
            p_type: elf::PT_LOAD,
            p_flags: elf::PF_R | elf::PF_W,
            p_offset: probes_off as u64,
            p_vaddr: probes_vaddr,
            p_paddr: probes_vaddr,
            p_filesz: (sem_count * 2) as u64,
            p_memsz: (sem_count * 2) as u64,
            p_align: 0x1000,
        });
        if with_notes_segment {
            w.write_program_header(&ProgramHeader {
                p_type: elf::PT_NOTE,
                p_flags: elf::PF_R,
                p_offset: notes_off as u64,
                p_vaddr: 0,
                p_paddr: 0,
                p_filesz: notes.len() as u64,
                p_memsz: 0,
                p_align: 4,
            });
        }
        w.write_align(16);
        w.write(&vec![0x90; site_count.max(1)]);
        w.write(&[0]);
        w.write_align(2);
        w.write(&vec![0; sem_count * 2]);
        w.write_align(4);
        w.write(&notes);
        w.write_align(4);
        w.write(&records);

        if self.with_sections {
            w.write_shstrtab();
            w.write_null_section_header();
            let sections = [
                (
                    elf::SHT_PROGBITS,
                    elf::SHF_ALLOC | elf::SHF_EXECINSTR,
                    addr_of_text(text_off),
                    text_off,
                    site_count.max(1),
                    16,
                ),
                (elf::SHT_PROGBITS, elf::SHF_ALLOC, base_addr, base_off, if self.with_base { 1 } else { 0 }, 1),
                (elf::SHT_PROGBITS, elf::SHF_ALLOC | elf::SHF_WRITE, probes_vaddr, probes_off, sem_count * 2, 2),
                (elf::SHT_NOTE, 0, 0, notes_off, notes.len(), 4),
                (elf::SHT_NOTE, 0, 0, records_off, records.len(), 4),
            ];
            for (i, ((name, _), (kind, flags, addr, off, size, align))) in idx.iter().zip(sections).enumerate() {
                // Without `.stapsdt.base`, write the slot as an unnamed, unrelated section.
                let name = if i == 1 && !self.with_base { None } else { Some(*name) };
                w.write_section_header(&SectionHeader {
                    name,
                    sh_type: kind,
                    sh_flags: u64::from(flags),
                    sh_addr: addr,
                    sh_offset: off as u64,
                    sh_size: size as u64,
                    sh_link: 0,
                    sh_info: 0,
                    sh_addralign: align,
                    sh_entsize: 0,
                });
            }
            w.write_shstrtab_section_header();
        }
        Ok((buf, built))
    }
}
