//! ELF notes in general and stapsdt notes in particular.
//!
//! An ELF note is `namesz, descsz, type` (three 4-byte words in the file's
//! byte order), then the name padded to the note alignment, then the
//! descriptor padded likewise (both counted from the note's start). Most
//! notes use 4-byte alignment; notes in a section or segment aligned to 8 pad
//! to 8 (as `.note.gnu.property` does).
//!
//! A stapsdt note (name `stapsdt`, type 3, as written by `sys/sdt.h`) has a
//! descriptor of three address-sized words — probe site, link-time address
//! of `.stapsdt.base`, semaphore (0 for none) — followed by three
//! NUL-terminated strings: provider, probe name and argument string.
//!
//! goblin has a note iterator, but it is tied to its full `Elf::parse`
//! (which also parses symbol and relocation tables, far more work than a
//! note scan needs); the framing is a few lines, so it lives here.

use crate::args::{Arch, ArgSpecs};
use crate::elf::{read_word, ElfFile, Endian};
use crate::error::{Error, Result};

/// Note type of a stapsdt note.
pub const NT_STAPSDT: u32 = 3;
/// Note name of a stapsdt note.
pub const STAPSDT_NOTE_NAME: &[u8] = b"stapsdt";

/// One ELF note, borrowed from the file.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RawNote<'a> {
    /// The note's name without the terminating NUL.
    pub name: &'a [u8],
    /// The note's type.
    pub n_type: u32,
    /// The descriptor.
    pub desc: &'a [u8],
    /// File offset of the note header.
    pub offset: u64,
}

/// Iterator over the notes of one note section or segment.
#[derive(Debug, Clone)]
pub struct RawNotes<'a> {
    data: &'a [u8],
    pos: usize,
    base_offset: u64,
    align: usize,
    endian: Endian,
    failed: bool,
}

impl<'a> RawNotes<'a> {
    /// Notes in `data`, which starts at file offset `base_offset` and is
    /// aligned to `align` (8 means 8-byte padding; anything else means 4).
    pub fn new(data: &'a [u8], base_offset: u64, align: u64, endian: Endian) -> Self {
        RawNotes { data, pos: 0, base_offset, align: if align == 8 { 8 } else { 4 }, endian, failed: false }
    }

    fn word(&self, at: usize) -> u32 {
        self.endian.u32(self.data[at..at + 4].try_into().expect("4 bytes"))
    }
}

fn pad(n: usize, align: usize) -> Option<usize> {
    n.checked_add(align - 1).map(|v| v & !(align - 1))
}

impl<'a> Iterator for RawNotes<'a> {
    type Item = Result<RawNote<'a>>;

    fn next(&mut self) -> Option<Self::Item> {
        if self.failed || self.pos >= self.data.len() {
            return None;
        }
        let start = self.pos;
        let offset = self.base_offset + start as u64;
        let bad = |what| Some(Err(Error::Truncated { what, offset }));
        if self.data.len() - start < 12 {
            self.failed = true;
            return bad("note header");
        }
        let namesz = self.word(start) as usize;
        let descsz = self.word(start + 4) as usize;
        let n_type = self.word(start + 8);
        let name_at = start + 12;
        // The descriptor starts at the next multiple of the alignment after the
        // name, counted from the note's start (which is itself aligned).
        let Some(desc_at) = namesz.checked_add(12).and_then(|n| pad(n, self.align)).and_then(|n| start.checked_add(n))
        else {
            self.failed = true;
            return bad("note name");
        };
        let Some(end) = desc_at.checked_add(descsz) else {
            self.failed = true;
            return bad("note descriptor");
        };
        if desc_at > self.data.len() || end > self.data.len() {
            self.failed = true;
            return bad("note descriptor");
        }
        let mut name = &self.data[name_at..name_at + namesz];
        if let [rest @ .., 0] = name {
            name = rest;
        }
        let desc = &self.data[desc_at..end];
        self.pos = pad(end - start, self.align).map_or(self.data.len(), |n| start + n).min(self.data.len());
        Some(Ok(RawNote { name, n_type, desc, offset }))
    }
}

/// A stapsdt note as recorded in the file: the raw fields, borrowed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct StapsdtNote<'a> {
    /// Provider name.
    pub provider: &'a str,
    /// Probe name (`__` as written by the provider, e.g. `function__entry`).
    pub name: &'a str,
    /// The raw argument string, e.g. `8@%rbx -4@112(%rsp)`. May be empty.
    pub args: &'a str,
    /// The probe site's address as recorded (before `.stapsdt.base` correction).
    pub pc: u64,
    /// The link-time address of `.stapsdt.base` as recorded in the note.
    pub base: u64,
    /// The semaphore's address as recorded, 0 when the probe has none.
    pub semaphore: u64,
    /// File offset of the note header.
    pub note_offset: u64,
}

impl<'a> StapsdtNote<'a> {
    /// Parse the descriptor of a stapsdt note.
    pub fn parse(note: &RawNote<'a>, class: crate::elf::Class, endian: Endian) -> Result<Self> {
        let malformed = |reason| Error::MalformedNote { offset: note.offset, reason };
        let w = class.address_size();
        if note.desc.len() < 3 * w {
            return Err(malformed("descriptor shorter than three addresses"));
        }
        let pc = read_word(class, endian, &note.desc[..w]);
        let base = read_word(class, endian, &note.desc[w..2 * w]);
        let semaphore = read_word(class, endian, &note.desc[2 * w..3 * w]);
        let mut strings = &note.desc[3 * w..];
        let mut next = |what: &'static str| -> Result<&'a str> {
            let end = strings.iter().position(|&b| b == 0).ok_or(malformed(what))?;
            let s = std::str::from_utf8(&strings[..end]).map_err(|_| malformed("string is not UTF-8"))?;
            strings = &strings[end + 1..];
            Ok(s)
        };
        let provider = next("provider name is not NUL-terminated")?;
        let name = next("probe name is not NUL-terminated")?;
        let args = next("argument string is not NUL-terminated")?;
        if provider.is_empty() || name.is_empty() {
            return Err(malformed("empty provider or probe name"));
        }
        Ok(StapsdtNote { provider, name, args, pc, base, semaphore, note_offset: note.offset })
    }

    /// The arguments, parsed with the grammar of `arch`.
    pub fn arg_specs(&self, arch: Arch) -> ArgSpecs<'a> {
        ArgSpecs::new(self.args, arch)
    }
}

/// A probe site resolved against its file: corrected addresses and the file
/// offsets the kernel wants.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ProbeSite {
    /// Address of the probe instruction after `.stapsdt.base` correction.
    pub address: u64,
    /// File offset of the probe instruction; `None` when no loadable
    /// segment holds it (a broken or relocatable file).
    pub file_offset: Option<u64>,
    /// The semaphore, when the probe has one.
    pub semaphore: Option<Semaphore>,
}

/// A probe's is-enabled counter (a 2-byte word the tracer's kernel raises).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Semaphore {
    /// Address after `.stapsdt.base` correction.
    pub address: u64,
    /// File offset, as `ref_ctr_offset` in the uprobe interfaces wants it.
    /// `None` when no loadable segment holds it in its file-backed part.
    pub file_offset: Option<u64>,
}

impl ElfFile<'_> {
    /// Correct a note's addresses for prelinking and map them to file offsets.
    ///
    /// When the file has a `.stapsdt.base` section and the note records a
    /// base, every address moves by `section address - recorded base`
    /// (prelink moves the section but not the note). Without the section
    /// the recorded addresses are used as they are.
    pub fn probe_site(&self, note: &StapsdtNote<'_>) -> ProbeSite {
        let delta = match self.stapsdt_base() {
            Some(actual) if note.base != 0 => actual.wrapping_sub(note.base),
            _ => 0,
        };
        let address = note.pc.wrapping_add(delta);
        let semaphore = (note.semaphore != 0).then(|| {
            let address = note.semaphore.wrapping_add(delta);
            Semaphore { address, file_offset: self.vaddr_to_offset(address) }
        });
        ProbeSite { address, file_offset: self.vaddr_to_offset(address), semaphore }
    }
}

/// Iterator over every stapsdt note of an [`ElfFile`]; stops after the
/// first error unless told to [`keep_going`](StapsdtNotes::keep_going).
#[derive(Debug, Clone)]
pub struct StapsdtNotes<'a, 'f> {
    file: &'f ElfFile<'a>,
    regions: Vec<(u64, u64, u64)>,
    region: usize,
    current: Option<RawNotes<'a>>,
    failed: bool,
    keep_going: bool,
}

impl<'a, 'f> StapsdtNotes<'a, 'f> {
    pub(crate) fn new(file: &'f ElfFile<'a>) -> Self {
        StapsdtNotes { file, regions: file.note_regions(), region: 0, current: None, failed: false, keep_going: false }
    }

    /// Go on after an error, yielding each in its place: a malformed note
    /// ([`Error::MalformedNote`]) is one note skipped; a broken note frame
    /// ends its section, and a section that cannot be read is skipped,
    /// the next section going on.
    pub fn keep_going(mut self) -> Self {
        self.keep_going = true;
        self
    }
}

impl<'a> Iterator for StapsdtNotes<'a, '_> {
    type Item = Result<StapsdtNote<'a>>;

    fn next(&mut self) -> Option<Self::Item> {
        if self.failed {
            return None;
        }
        loop {
            if let Some(notes) = &mut self.current {
                match notes.next() {
                    Some(Ok(raw)) if raw.name == STAPSDT_NOTE_NAME && raw.n_type == NT_STAPSDT => {
                        let r = StapsdtNote::parse(&raw, self.file.class(), self.file.endian());
                        self.failed = r.is_err() && !self.keep_going;
                        return Some(r);
                    }
                    Some(Ok(_)) => continue,
                    Some(Err(e)) => {
                        self.failed = !self.keep_going;
                        self.current = None;
                        return Some(Err(e));
                    }
                    None => self.current = None,
                }
            }
            let &(offset, size, align) = self.regions.get(self.region)?;
            self.region += 1;
            match self.file.file_bytes(offset, size, "note section") {
                Ok(bytes) => self.current = Some(RawNotes::new(bytes, offset, align, self.file.endian())),
                Err(e) => {
                    self.failed = !self.keep_going;
                    return Some(Err(e));
                }
            }
        }
    }
}
