//! The ELF side of SDT discovery: headers, segments, sections, build-id and
//! the address math that turns a probe's virtual address into the file
//! offset the kernel's uprobe interfaces take.
//!
//! goblin parses the file, program and section headers; nothing else of the
//! file is parsed or copied, so opening a large library such as `libjvm.so`
//! costs a few header reads. The notes themselves are walked by
//! [`crate::note`]. An [`ElfFile`] reads a whole file held in memory
//! ([`ElfFile::parse`]) or the pieces of one that [`ElfImage`] read
//! ([`ElfFile::parse_image`]); both see the same notes.

use goblin::elf::{header, program_header as ph, section_header as sh, Elf};

use crate::args::Arch;
use crate::error::{Error, Result};
use crate::image::ElfImage;
use crate::note::{RawNotes, StapsdtNotes};

/// Byte order of an ELF file.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Endian {
    /// Least significant byte first.
    Little,
    /// Most significant byte first.
    Big,
}

impl Endian {
    /// The host's byte order.
    pub const NATIVE: Endian = if cfg!(target_endian = "big") { Endian::Big } else { Endian::Little };

    pub(crate) fn u16(self, b: [u8; 2]) -> u16 {
        match self {
            Endian::Little => u16::from_le_bytes(b),
            Endian::Big => u16::from_be_bytes(b),
        }
    }
    pub(crate) fn u32(self, b: [u8; 4]) -> u32 {
        match self {
            Endian::Little => u32::from_le_bytes(b),
            Endian::Big => u32::from_be_bytes(b),
        }
    }
    pub(crate) fn u64(self, b: [u8; 8]) -> u64 {
        match self {
            Endian::Little => u64::from_le_bytes(b),
            Endian::Big => u64::from_be_bytes(b),
        }
    }
    pub(crate) fn put_u16(self, v: u16) -> [u8; 2] {
        match self {
            Endian::Little => v.to_le_bytes(),
            Endian::Big => v.to_be_bytes(),
        }
    }
    pub(crate) fn put_u32(self, v: u32) -> [u8; 4] {
        match self {
            Endian::Little => v.to_le_bytes(),
            Endian::Big => v.to_be_bytes(),
        }
    }
    pub(crate) fn put_u64(self, v: u64) -> [u8; 8] {
        match self {
            Endian::Little => v.to_le_bytes(),
            Endian::Big => v.to_be_bytes(),
        }
    }
}

/// Width of addresses in an ELF file.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Class {
    /// ELFCLASS32: 4-byte addresses.
    Elf32,
    /// ELFCLASS64: 8-byte addresses.
    Elf64,
}

impl Class {
    /// Size in bytes of an address.
    pub fn address_size(self) -> usize {
        match self {
            Class::Elf32 => 4,
            Class::Elf64 => 8,
        }
    }
}

/// What kind of object an ELF file is, as far as probing is concerned.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum ElfKind {
    /// `ET_EXEC`: a position-dependent executable; addresses are absolute.
    Executable,
    /// `ET_DYN` that is a position-independent executable.
    Pie,
    /// `ET_DYN` that is a shared library.
    SharedObject,
    /// `ET_REL`: an object file, not yet linked.
    Relocatable,
    /// Anything else (`ET_CORE`, processor-specific types).
    Other(u16),
}

impl ElfKind {
    /// Whether the object is loaded at an address chosen at run time.
    pub fn is_position_independent(self) -> bool {
        matches!(self, ElfKind::Pie | ElfKind::SharedObject)
    }
}

impl std::fmt::Display for ElfKind {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            ElfKind::Executable => f.write_str("executable"),
            ElfKind::Pie => f.write_str("pie"),
            ElfKind::SharedObject => f.write_str("shared-object"),
            ElfKind::Relocatable => f.write_str("relocatable"),
            ElfKind::Other(t) => write!(f, "type-{t}"),
        }
    }
}

/// A loadable segment (`PT_LOAD`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Segment {
    /// Virtual address of the segment's first byte.
    pub vaddr: u64,
    /// Size in memory.
    pub memsz: u64,
    /// File offset of the segment's first byte.
    pub offset: u64,
    /// Size in the file (the rest of `memsz` is zero-filled `.bss`).
    pub filesz: u64,
    /// `PF_*` flags.
    pub flags: u32,
}

impl Segment {
    /// Whether the segment is mapped executable.
    pub fn is_executable(&self) -> bool {
        self.flags & ph::PF_X != 0
    }
    /// Whether the segment is mapped writable.
    pub fn is_writable(&self) -> bool {
        self.flags & ph::PF_W != 0
    }
    /// File offset of `vaddr` if the segment holds it in its file-backed part.
    pub fn file_offset_of(&self, vaddr: u64) -> Option<u64> {
        let delta = vaddr.checked_sub(self.vaddr)?;
        if delta < self.filesz {
            self.offset.checked_add(delta)
        } else {
            None
        }
    }
}

/// A section header, reduced to what SDT discovery needs.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Section<'a> {
    /// Name from the section-header string table (empty when it has none).
    pub name: &'a str,
    /// `SHT_*` type.
    pub kind: u32,
    /// Address when loaded (0 for non-allocated sections).
    pub addr: u64,
    /// File offset.
    pub offset: u64,
    /// Size in bytes.
    pub size: u64,
    /// Required alignment.
    pub align: u64,
    /// `SHF_*` flags.
    pub flags: u64,
    /// `sh_link`: for a symbol table, the index of its string table.
    pub link: u32,
}

impl<'a> Section<'a> {
    /// The section's bytes, or an error when they lie outside the file.
    /// `SHT_NOBITS` sections have no bytes and yield an empty slice.
    pub fn data(&self, file: &'a [u8]) -> Result<&'a [u8]> {
        if self.kind == sh::SHT_NOBITS {
            return Ok(&[]);
        }
        slice(file, self.offset, self.size, "section")
    }
}

pub(crate) fn slice<'a>(data: &'a [u8], offset: u64, size: u64, what: &'static str) -> Result<&'a [u8]> {
    let start = usize::try_from(offset).ok();
    let end = offset.checked_add(size).and_then(|e| usize::try_from(e).ok());
    match (start, end) {
        (Some(s), Some(e)) if e <= data.len() => Ok(&data[s..e]),
        _ => Err(Error::Truncated { what, offset }),
    }
}

/// The bytes an [`ElfFile`] reads, at their file offsets.
#[derive(Debug, Clone, Copy)]
enum FileBytes<'a> {
    /// The whole file.
    Whole(&'a [u8]),
    /// The pieces an [`ElfImage`] read.
    Image(&'a ElfImage),
}

impl<'a> FileBytes<'a> {
    fn get(self, offset: u64, size: u64, what: &'static str) -> Result<&'a [u8]> {
        match self {
            FileBytes::Whole(data) => slice(data, offset, size, what),
            FileBytes::Image(image) => image.get(offset, size, what),
        }
    }

    /// From `offset` to the end of what is in memory there.
    fn from(self, offset: u64) -> &'a [u8] {
        match self {
            FileBytes::Whole(data) => usize::try_from(offset).ok().and_then(|o| data.get(o..)).unwrap_or(&[]),
            FileBytes::Image(image) => image.from(offset),
        }
    }
}

/// An ELF file opened for SDT discovery. Borrows the file's bytes.
#[derive(Debug, Clone)]
pub struct ElfFile<'a> {
    data: FileBytes<'a>,
    class: Class,
    endian: Endian,
    e_type: u16,
    machine: u16,
    segments: Vec<Segment>,
    notes_segments: Vec<(u64, u64, u64)>,
    sections: Vec<Section<'a>>,
    has_interp: bool,
    dynamic: Option<(u64, u64)>,
    entry: u64,
}

impl<'a> ElfFile<'a> {
    /// Parse the headers of an ELF file held in `data`.
    pub fn parse(data: &'a [u8]) -> Result<Self> {
        Self::parse_bytes(FileBytes::Whole(data))
    }

    /// Parse the headers of the ELF file whose pieces `image` read.
    pub fn parse_image(image: &'a ElfImage) -> Result<Self> {
        Self::parse_bytes(FileBytes::Image(image))
    }

    fn parse_bytes(bytes: FileBytes<'a>) -> Result<Self> {
        let data = bytes.from(0);
        if data.len() < 4 || &data[..4] != b"\x7fELF" {
            return Err(Error::NotElf);
        }
        let hdr = Elf::parse_header(data).map_err(|e| Error::BadElf(e.to_string()))?;
        let container = hdr.container().map_err(|e| Error::BadElf(e.to_string()))?;
        let le = hdr.endianness().map_err(|e| Error::BadElf(e.to_string()))?;
        let ctx = goblin::container::Ctx::new(container, le);
        let class = if container.is_big() { Class::Elf64 } else { Class::Elf32 };
        let endian = if le.is_little() { Endian::Little } else { Endian::Big };

        // Tables cut off by the end of the file (a truncated file) are said
        // to be so; goblin's own message names only a type size.
        let (phsize, shsize) = (goblin::elf::ProgramHeader::size(ctx), goblin::elf::SectionHeader::size(ctx));
        if bytes.from(hdr.e_phoff).len() < usize::from(hdr.e_phnum) * phsize {
            return Err(Error::Truncated { what: "program headers", offset: hdr.e_phoff });
        }
        if hdr.e_shoff != 0 && bytes.from(hdr.e_shoff).len() < usize::from(hdr.e_shnum.max(1)) * shsize {
            return Err(Error::Truncated { what: "section headers", offset: hdr.e_shoff });
        }
        let phdrs = goblin::elf::ProgramHeader::parse(bytes.from(hdr.e_phoff), 0, hdr.e_phnum as usize, ctx)
            .map_err(|e| Error::BadElf(format!("program headers: {e}")))?;
        let mut segments = Vec::new();
        let mut notes_segments = Vec::new();
        let mut has_interp = false;
        let mut dynamic = None;
        for p in &phdrs {
            match p.p_type {
                ph::PT_LOAD => segments.push(Segment {
                    vaddr: p.p_vaddr,
                    memsz: p.p_memsz,
                    offset: p.p_offset,
                    filesz: p.p_filesz,
                    flags: p.p_flags,
                }),
                ph::PT_NOTE => notes_segments.push((p.p_offset, p.p_filesz, p.p_align)),
                ph::PT_INTERP => has_interp = true,
                ph::PT_DYNAMIC => dynamic = Some((p.p_offset, p.p_filesz)),
                _ => {}
            }
        }

        let shdrs = if hdr.e_shoff == 0 {
            Vec::new()
        } else {
            goblin::elf::SectionHeader::parse_from(bytes.from(hdr.e_shoff), 0, hdr.e_shnum as usize, ctx)
                .map_err(|e| Error::BadElf(format!("section headers: {e}")))?
        };
        let mut shstrndx = hdr.e_shstrndx as usize;
        if shstrndx == sh::SHN_XINDEX as usize {
            shstrndx = shdrs.first().map_or(0, |s| s.sh_link as usize);
        }
        let strtab = shdrs
            .get(shstrndx)
            .filter(|s| s.sh_type == sh::SHT_STRTAB)
            .and_then(|s| bytes.get(s.sh_offset, s.sh_size, "section-name table").ok())
            .unwrap_or(&[]);
        let sections = shdrs
            .iter()
            .map(|s| Section {
                name: c_str_at(strtab, s.sh_name),
                kind: s.sh_type,
                addr: s.sh_addr,
                offset: s.sh_offset,
                size: s.sh_size,
                align: s.sh_addralign,
                flags: s.sh_flags,
                link: s.sh_link,
            })
            .collect();

        Ok(ElfFile {
            data: bytes,
            class,
            endian,
            e_type: hdr.e_type,
            machine: hdr.e_machine,
            segments,
            notes_segments,
            sections,
            has_interp,
            dynamic,
            entry: hdr.e_entry,
        })
    }

    /// The entry point (`e_entry`), a virtual address; 0 when there is none.
    pub fn entry(&self) -> u64 {
        self.entry
    }

    /// `size` bytes of the file at `offset`: [`Error::Truncated`] when they
    /// lie past its end, [`Error::TooLarge`] when an [`ElfImage`] did not
    /// read them (it reads headers, notes and the dynamic segment only).
    pub fn file_bytes(&self, offset: u64, size: u64, what: &'static str) -> Result<&'a [u8]> {
        self.data.get(offset, size, what)
    }

    /// A section's bytes (empty for `SHT_NOBITS`), as [`Section::data`] gives them.
    pub fn section_data(&self, section: &Section<'a>) -> Result<&'a [u8]> {
        if section.kind == sh::SHT_NOBITS {
            return Ok(&[]);
        }
        self.file_bytes(section.offset, section.size, "section")
    }
    /// 32- or 64-bit.
    pub fn class(&self) -> Class {
        self.class
    }
    /// Byte order.
    pub fn endian(&self) -> Endian {
        self.endian
    }
    /// The raw `e_machine` value (`EM_X86_64` is 62, `EM_AARCH64` 183).
    pub fn machine(&self) -> u16 {
        self.machine
    }
    /// The architecture whose argument grammar applies, when this crate knows it.
    pub fn arch(&self) -> Option<Arch> {
        Arch::from_elf(self.machine, self.class)
    }
    /// Loadable segments in file order.
    pub fn segments(&self) -> &[Segment] {
        &self.segments
    }
    /// All section headers (empty when the file has none).
    pub fn sections(&self) -> &[Section<'a>] {
        &self.sections
    }
    /// The first section called `name`.
    pub fn section(&self, name: &str) -> Option<&Section<'a>> {
        self.sections.iter().find(|s| s.name == name)
    }

    /// Executable, PIE, shared object or relocatable.
    ///
    /// `ET_DYN` files are told apart by `DF_1_PIE` in `DT_FLAGS_1` when the
    /// linker set it, otherwise by the presence of `PT_INTERP` together with
    /// the absence of `DT_SONAME` (a program asks for an interpreter, a
    /// library has a soname).
    pub fn kind(&self) -> ElfKind {
        match self.e_type {
            header::ET_EXEC => ElfKind::Executable,
            header::ET_REL => ElfKind::Relocatable,
            header::ET_DYN => {
                let (flags_1, has_soname) = self.dynamic_facts();
                const DF_1_PIE: u64 = 0x0800_0000;
                if flags_1 & DF_1_PIE != 0 || (self.has_interp && !has_soname) {
                    ElfKind::Pie
                } else {
                    ElfKind::SharedObject
                }
            }
            t => ElfKind::Other(t),
        }
    }

    /// `(DT_FLAGS_1, has DT_SONAME)` from the dynamic segment.
    fn dynamic_facts(&self) -> (u64, bool) {
        const DT_NULL: u64 = 0;
        const DT_SONAME: u64 = 14;
        const DT_FLAGS_1: u64 = 0x6fff_fffb;
        let Some((off, size)) = self.dynamic else { return (0, false) };
        let Ok(dynamic) = self.data.get(off, size, "dynamic segment") else { return (0, false) };
        let word = self.class.address_size();
        let (mut flags_1, mut soname) = (0, false);
        for entry in dynamic.chunks_exact(2 * word) {
            let tag = self.read_word(&entry[..word]);
            let val = self.read_word(&entry[word..]);
            match tag {
                DT_NULL => break,
                DT_SONAME => soname = true,
                DT_FLAGS_1 => flags_1 = val,
                _ => {}
            }
        }
        (flags_1, soname)
    }

    /// Entries of the dynamic segment as `(tag, value)`, up to `DT_NULL`.
    fn dynamic_entries(&self) -> impl Iterator<Item = (u64, u64)> + '_ {
        let word = self.class.address_size();
        let dynamic =
            self.dynamic.and_then(|(off, size)| self.data.get(off, size, "dynamic segment").ok()).unwrap_or(&[]);
        dynamic
            .chunks_exact(2 * word)
            .map(move |e| (self.read_word(&e[..word]), self.read_word(&e[word..])))
            .take_while(|&(tag, _)| tag != 0)
    }

    /// File offset and size of the dynamic string table (`DT_STRTAB`, `DT_STRSZ`).
    pub(crate) fn dynamic_string_table(&self) -> Option<(u64, u64)> {
        const DT_STRTAB: u64 = 5;
        const DT_STRSZ: u64 = 10;
        let addr = self.dynamic_entries().find(|e| e.0 == DT_STRTAB)?.1;
        let size = self.dynamic_entries().find(|e| e.0 == DT_STRSZ)?.1;
        Some((self.vaddr_to_offset(addr)?, size))
    }

    /// The string at `offset` in the dynamic string table.
    fn dynamic_string(&self, offset: u64) -> Option<&'a str> {
        let (at, size) = self.dynamic_string_table()?;
        let table = self.data.get(at, size, "dynamic string table").ok()?;
        Some(c_str_at(table, usize::try_from(offset).ok()?))
    }

    /// The shared libraries the object asks for (`DT_NEEDED`), in order.
    pub fn needed(&self) -> Vec<&'a str> {
        const DT_NEEDED: u64 = 1;
        self.dynamic_entries().filter(|e| e.0 == DT_NEEDED).filter_map(|e| self.dynamic_string(e.1)).collect()
    }

    /// Library search directories from `DT_RUNPATH`, else `DT_RPATH`, unexpanded (`$ORIGIN` stays).
    pub fn run_paths(&self) -> Vec<&'a str> {
        const DT_RPATH: u64 = 15;
        const DT_RUNPATH: u64 = 29;
        let find = |tag| self.dynamic_entries().find(|e| e.0 == tag).and_then(|e| self.dynamic_string(e.1));
        find(DT_RUNPATH)
            .or_else(|| find(DT_RPATH))
            .map(|s| s.split(':').filter(|p| !p.is_empty()).collect())
            .unwrap_or_default()
    }

    pub(crate) fn read_word(&self, b: &[u8]) -> u64 {
        read_word(self.class, self.endian, b)
    }

    /// The GNU build-id (`NT_GNU_BUILD_ID`), from `.note.gnu.build-id` or any
    /// `PT_NOTE` segment.
    pub fn build_id(&self) -> Option<&'a [u8]> {
        const NT_GNU_BUILD_ID: u32 = 3;
        let from = |notes: RawNotes<'a>| {
            notes.filter_map(|n| n.ok()).find(|n| n.name == b"GNU" && n.n_type == NT_GNU_BUILD_ID).map(|n| n.desc)
        };
        for s in self.sections.iter().filter(|s| s.kind == sh::SHT_NOTE) {
            if let Ok(bytes) = self.section_data(s) {
                if let Some(id) = from(RawNotes::new(bytes, s.offset, s.align, self.endian)) {
                    return Some(id);
                }
            }
        }
        for &(off, size, align) in &self.notes_segments {
            if let Ok(bytes) = self.data.get(off, size, "note segment") {
                if let Some(id) = from(RawNotes::new(bytes, off, align, self.endian)) {
                    return Some(id);
                }
            }
        }
        None
    }

    /// Link-time address of `.stapsdt.base`, the anchor that corrects note
    /// addresses after prelinking. `None` when the section is absent.
    pub fn stapsdt_base(&self) -> Option<u64> {
        self.section(".stapsdt.base").map(|s| s.addr)
    }

    /// Every stapsdt note in the file, in file order.
    ///
    /// Notes come from every `SHT_NOTE` section named `.note.stapsdt`; a
    /// file without section headers is searched through its `PT_NOTE`
    /// segments instead. The iterator stops at the first malformed note;
    /// [`StapsdtNotes::keep_going`] makes it go on past bad ones.
    pub fn stapsdt_notes(&self) -> StapsdtNotes<'a, '_> {
        StapsdtNotes::new(self)
    }

    pub(crate) fn note_regions(&self) -> Vec<(u64, u64, u64)> {
        if self.sections.is_empty() {
            return self.notes_segments.clone();
        }
        self.sections
            .iter()
            .filter(|s| s.kind == sh::SHT_NOTE && s.name == ".note.stapsdt")
            .map(|s| (s.offset, s.size, s.align))
            .collect()
    }

    /// The file offset of a virtual address that lies in the file-backed
    /// part of a loadable segment. For a relocatable object (no segments),
    /// the address is taken as an offset into `.text`-like sections.
    pub fn vaddr_to_offset(&self, vaddr: u64) -> Option<u64> {
        self.segments.iter().find_map(|s| s.file_offset_of(vaddr))
    }

    /// The loadable segment holding `vaddr` in memory.
    pub fn segment_of(&self, vaddr: u64) -> Option<&Segment> {
        self.segments.iter().find(|s| vaddr >= s.vaddr && vaddr - s.vaddr < s.memsz)
    }
}

pub(crate) fn read_word(class: Class, endian: Endian, b: &[u8]) -> u64 {
    match class {
        Class::Elf32 => endian.u32(b[..4].try_into().expect("4 bytes")) as u64,
        Class::Elf64 => endian.u64(b[..8].try_into().expect("8 bytes")),
    }
}

fn c_str_at(table: &[u8], offset: usize) -> &str {
    let Some(rest) = table.get(offset..) else { return "" };
    let end = rest.iter().position(|&b| b == 0).unwrap_or(rest.len());
    std::str::from_utf8(&rest[..end]).unwrap_or("")
}
