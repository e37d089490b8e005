//! Reading a file for SDT discovery: only its regular-file contents, and of
//! those only the pieces the note reader looks at, copied into memory.
//!
//! [`ElfImage::read`] checks the path names a regular file before opening it
//! (a FIFO, socket, device or directory is an error that says which), opens
//! it with `O_NONBLOCK` so that a file swapped for a FIFO in between cannot
//! block, then reads with pread(2): the ELF header, the program and section
//! headers, the section-name table, every note section and `PT_NOTE`
//! segment, the dynamic segment and the dynamic string table. Nothing is
//! mapped, so a file truncated while it is read gives an error or the
//! bytes read before, never SIGBUS; and what a file costs does not depend
//! on its size (a 100 GiB sparse file is a few reads), only on its headers
//! and notes, of which at most [`MAX_READ`] bytes are read. A piece over
//! that budget is left out, and reading it is [`Error::TooLarge`].
//!
//! Symbol and line lookup (addr2line) maps the file it reads. For it,
//! [`symbols_copy`] copies the pieces it needs into a memfd sealed against
//! shrinking, so that the mapping is of sdtrace's own copy, which no other
//! process can truncate.

use std::fs::{File, Metadata};
use std::io;
use std::os::unix::fs::{FileExt, FileTypeExt, OpenOptionsExt};
use std::path::{Path, PathBuf};

use goblin::elf::{program_header as ph, section_header as sh, Elf};

use crate::elf::ElfFile;
use crate::error::{Error, Result};
use crate::OpenError;

/// The most bytes [`ElfImage::read`] reads of one file: headers, notes,
/// dynamic segment and dynamic string table together. Real files need far
/// less: OpenJDK's `libjvm.so` (24 MB, 531 notes) 65 KB, `node` (99 MB)
/// 5.3 MB, most of it the dynamic string table; a file of 200,000 probes
/// 15 MB. Listing holds about 12 bytes per note byte, so this also bounds
/// what a hostile file can make `sdtrace list` allocate (under 1 GB).
pub const MAX_READ: u64 = 64 << 20;

/// The pieces of an ELF file that SDT discovery reads, at their file
/// offsets. Parse it with [`ElfFile::parse_image`]; bytes outside the
/// pieces are not in memory, and reading them is an error.
#[derive(Debug)]
pub struct ElfImage {
    path: PathBuf,
    len: u64,
    /// Disjoint, sorted by offset.
    parts: Vec<Part>,
    /// Bytes requested so far, against [`MAX_READ`].
    requested: u64,
}

#[derive(Debug)]
struct Part {
    offset: u64,
    bytes: Vec<u8>,
}

impl Part {
    fn end(&self) -> u64 {
        self.offset + self.bytes.len() as u64
    }
}

/// Where an [`ElfImage`] reads from: a file, or a fake in tests.
pub(crate) trait ReadAt {
    /// Fill `buf` from `offset`, or fail with `UnexpectedEof` when the
    /// source ends first.
    fn read_exact_at(&self, buf: &mut [u8], offset: u64) -> io::Result<()>;
}

impl ReadAt for File {
    fn read_exact_at(&self, buf: &mut [u8], offset: u64) -> io::Result<()> {
        FileExt::read_exact_at(self, buf, offset)
    }
}

impl ReadAt for &[u8] {
    fn read_exact_at(&self, buf: &mut [u8], offset: u64) -> io::Result<()> {
        let src = usize::try_from(offset).ok().and_then(|o| self.get(o..)).unwrap_or(&[]);
        buf.copy_from_slice(src.get(..buf.len()).ok_or(io::ErrorKind::UnexpectedEof)?);
        Ok(())
    }
}

/// Why `meta` is not a file to read, in the words of an error message.
fn not_a_file(meta: &Metadata) -> Option<&'static str> {
    let t = meta.file_type();
    if t.is_file() {
        None
    } else if t.is_dir() {
        Some("is a directory")
    } else if t.is_fifo() {
        Some("is a FIFO, not a file")
    } else if t.is_socket() {
        Some("is a socket, not a file")
    } else if t.is_char_device() {
        Some("is a character device, not a file")
    } else if t.is_block_device() {
        Some("is a block device, not a file")
    } else {
        Some("is not a regular file")
    }
}

/// Open `path` for reading if it is a regular file, without blocking: its
/// type is checked before the open (opening a device can have effects)
/// and again on the open descriptor (the path may have changed between).
pub(crate) fn open_regular(path: &Path) -> std::result::Result<(File, u64), OpenError> {
    let err = |source| OpenError { path: path.to_path_buf(), source };
    let kind = |what: &str| err(io::Error::new(io::ErrorKind::InvalidInput, what));
    if let Some(what) = not_a_file(&std::fs::metadata(path).map_err(err)?) {
        return Err(kind(what));
    }
    let file = std::fs::OpenOptions::new()
        .read(true)
        .custom_flags(libc::O_NONBLOCK | libc::O_NOCTTY)
        .open(path)
        .map_err(err)?;
    let meta = file.metadata().map_err(err)?;
    if let Some(what) = not_a_file(&meta) {
        return Err(kind(what));
    }
    Ok((file, meta.len()))
}

impl ElfImage {
    /// Read the pieces of the ELF file at `path` that SDT discovery needs.
    ///
    /// Errors are about the file itself: it is missing, unreadable, not a
    /// regular file, or it shrank while it was read. A file that is not
    /// ELF reads as its first bytes, and [`ElfFile::parse_image`] says so.
    pub fn read(path: impl AsRef<Path>) -> std::result::Result<Self, OpenError> {
        let path = path.as_ref();
        let (file, len) = open_regular(path)?;
        Self::read_from(&file, len, path).map_err(|source| OpenError { path: path.to_path_buf(), source })
    }

    /// The pieces of a file held in `data` that [`ElfImage::read`] would
    /// read of it, for tests and fuzzing.
    pub fn from_bytes(data: &[u8]) -> Self {
        Self::read_from(&data, data.len() as u64, Path::new("<bytes>")).expect("reading memory cannot fail")
    }

    pub(crate) fn read_from(src: &dyn ReadAt, len: u64, path: &Path) -> io::Result<Self> {
        let mut image = ElfImage { path: path.to_path_buf(), len, parts: Vec::new(), requested: 0 };
        image.load(src, &[(0, 64)])?;
        let Ok(hdr) = Elf::parse_header(image.from(0)) else { return Ok(image) };
        let Ok(container) = hdr.container() else { return Ok(image) };
        let Ok(le) = hdr.endianness() else { return Ok(image) };
        let ctx = goblin::container::Ctx::new(container, le);
        let (phsize, shsize) = (ph::ProgramHeader::size(ctx) as u64, sh::SectionHeader::size(ctx) as u64);

        // The header tables. With more than 0xff00 sections, e_shnum is 0
        // and the count is the first section header's sh_size.
        let mut shnum = u64::from(hdr.e_shnum);
        if hdr.e_shoff != 0 && shnum == 0 {
            image.load(src, &[(hdr.e_shoff, shsize)])?;
            shnum = sh::SectionHeader::parse_from(image.from(hdr.e_shoff), 0, 1, ctx)
                .ok()
                .and_then(|s| s.first().map(|s| s.sh_size))
                .unwrap_or(0);
        }
        let shtable = if hdr.e_shoff == 0 { 0 } else { shnum.saturating_mul(shsize) };
        image.load(src, &[(hdr.e_phoff, u64::from(hdr.e_phnum) * phsize), (hdr.e_shoff, shtable)])?;

        // What the headers point at: the section-name table and the notes
        // first (stapsdt notes, then records, then the rest), then the
        // dynamic segment.
        let mut wanted = Vec::new();
        let phdrs = ph::ProgramHeader::parse(image.from(hdr.e_phoff), 0, hdr.e_phnum.into(), ctx).unwrap_or_default();
        let count = usize::try_from(shnum).unwrap_or(0).min(image.from(hdr.e_shoff).len() / shsize as usize);
        let shdrs = if hdr.e_shoff == 0 || count == 0 {
            Vec::new()
        } else {
            sh::SectionHeader::parse_from(image.from(hdr.e_shoff), 0, count, ctx).unwrap_or_default()
        };
        let mut shstrndx = usize::from(hdr.e_shstrndx);
        if shstrndx == sh::SHN_XINDEX as usize {
            shstrndx = shdrs.first().map_or(0, |s| s.sh_link as usize);
        }
        if let Some(s) = shdrs.get(shstrndx).filter(|s| s.sh_type == sh::SHT_STRTAB) {
            wanted.push((s.sh_offset, s.sh_size));
        }
        image.load(src, &wanted)?;
        wanted.clear();
        let notes = shdrs.iter().filter(|s| s.sh_type == sh::SHT_NOTE);
        let names: Vec<&str> = {
            let strtab = shdrs.get(shstrndx).and_then(|s| image.get(s.sh_offset, s.sh_size, "").ok()).unwrap_or(&[]);
            notes.clone().map(|s| c_str(strtab, s.sh_name)).collect()
        };
        let by_priority = |name: &str| match name {
            ".note.stapsdt" => 0,
            crate::meta::METADATA_SECTION => 1,
            _ => 2,
        };
        let mut sections: Vec<(usize, u64, u64)> =
            notes.zip(&names).map(|(s, n)| (by_priority(n), s.sh_offset, s.sh_size)).collect();
        sections.sort_by_key(|s| s.0);
        wanted.extend(sections.iter().map(|s| (s.1, s.2)));
        wanted.extend(phdrs.iter().filter(|p| p.p_type == ph::PT_NOTE).map(|p| (p.p_offset, p.p_filesz)));
        wanted.extend(phdrs.iter().filter(|p| p.p_type == ph::PT_DYNAMIC).map(|p| (p.p_offset, p.p_filesz)));
        image.load(src, &wanted)?;

        // The dynamic string table, found through the dynamic segment.
        let strtab = ElfFile::parse_image(&image).ok().and_then(|elf| elf.dynamic_string_table());
        if let Some(range) = strtab {
            image.load(src, &[range])?;
        }
        Ok(image)
    }

    /// Read the ranges `(offset, size)` not yet in memory, each clipped to
    /// the file and in order until [`MAX_READ`] is spent; a range that does
    /// not fit is left out.
    fn load(&mut self, src: &dyn ReadAt, ranges: &[(u64, u64)]) -> io::Result<()> {
        let mut new: Vec<(u64, u64)> = Vec::new();
        for &(offset, size) in ranges {
            if offset >= self.len {
                continue;
            }
            let end = offset.saturating_add(size).min(self.len);
            if end == offset || self.covers(offset, end) || new.contains(&(offset, end)) {
                continue;
            }
            if self.requested + (end - offset) > MAX_READ {
                continue;
            }
            self.requested += end - offset;
            new.push((offset, end));
        }
        if new.is_empty() {
            return Ok(());
        }
        // Merge the new ranges with the parts already read into disjoint
        // runs; copy what is in memory and read the gaps.
        let mut runs: Vec<(u64, u64)> = new;
        runs.extend(self.parts.iter().map(|p| (p.offset, p.end())));
        runs.sort_unstable();
        let mut merged: Vec<(u64, u64)> = Vec::new();
        for (s, e) in runs {
            match merged.last_mut() {
                Some(last) if s <= last.1 => last.1 = last.1.max(e),
                _ => merged.push((s, e)),
            }
        }
        let old = std::mem::take(&mut self.parts);
        let mut old = old.into_iter().peekable();
        for (start, end) in merged {
            let mut bytes = vec![0u8; (end - start) as usize];
            let mut at = start;
            while let Some(p) = old.next_if(|p| p.offset < end) {
                if p.offset > at {
                    read(src, &mut bytes[(at - start) as usize..(p.offset - start) as usize], at, self.len)?;
                }
                bytes[(p.offset - start) as usize..(p.end() - start) as usize].copy_from_slice(&p.bytes);
                at = p.end();
            }
            if at < end {
                read(src, &mut bytes[(at - start) as usize..], at, self.len)?;
            }
            self.parts.push(Part { offset: start, bytes });
        }
        Ok(())
    }

    /// The part holding `offset`, if one does.
    fn part(&self, offset: u64) -> Option<&Part> {
        let i = self.parts.partition_point(|p| p.offset <= offset);
        self.parts[..i].last().filter(|p| offset < p.end())
    }

    fn covers(&self, start: u64, end: u64) -> bool {
        self.part(start).is_some_and(|p| end <= p.end())
    }

    /// The bytes from `offset` to the end of the part holding them (empty
    /// when none does), for goblin's table parsers.
    pub(crate) fn from(&self, offset: u64) -> &[u8] {
        self.part(offset).map_or(&[], |p| &p.bytes[(offset - p.offset) as usize..])
    }

    /// `size` bytes at `offset`: [`Error::Truncated`] past the end of the
    /// file, [`Error::TooLarge`] when the range was left out of the budget.
    pub(crate) fn get(&self, offset: u64, size: u64, what: &'static str) -> Result<&[u8]> {
        let end = offset.checked_add(size).filter(|&e| e <= self.len).ok_or(Error::Truncated { what, offset })?;
        if size == 0 {
            return Ok(&[]);
        }
        match self.part(offset) {
            Some(p) if end <= p.end() => Ok(&p.bytes[(offset - p.offset) as usize..(end - p.offset) as usize]),
            _ => Err(Error::TooLarge { what, offset, size, limit: MAX_READ }),
        }
    }

    /// The file's size when it was read.
    pub fn file_len(&self) -> u64 {
        self.len
    }

    /// How many bytes of the file are in memory.
    pub fn bytes_read(&self) -> u64 {
        self.parts.iter().map(|p| p.bytes.len() as u64).sum()
    }

    /// The path that was read.
    pub fn path(&self) -> &Path {
        &self.path
    }
}

/// The most bytes [`symbols_copy`] copies of one file by default: symbol
/// tables and debug info.
pub const MAX_SYMBOLS_COPY: u64 = 1 << 30;

/// A private copy of what symbol and line lookup reads of the ELF file at
/// `path`: its headers and notes, its symbol tables with their string
/// tables, and every section not loaded at run time (DWARF, `.symtab`),
/// each at its file offset; the rest is a hole that reads as zeros. The
/// copy is a memfd sealed against shrinking, growing and writing, so a
/// mapping of it cannot fault the way a mapping of the file does when
/// another process truncates it.
///
/// `Ok(None)` when those pieces are more than `limit` bytes; an error when
/// the file cannot be read, is no ELF file, or shrinks while it is copied.
pub fn symbols_copy(path: &Path, limit: u64) -> std::result::Result<Option<File>, OpenError> {
    let err = |source| OpenError { path: path.to_path_buf(), source };
    let (file, len) = open_regular(path)?;
    let image = ElfImage::read_from(&file, len, path).map_err(err)?;
    let elf = ElfFile::parse_image(&image).map_err(|e| err(io::Error::new(io::ErrorKind::InvalidData, e)))?;
    let sections = elf.sections();
    let mut wanted: Vec<(u64, u64)> = Vec::new();
    for s in sections.iter().filter(|s| s.kind != sh::SHT_NOBITS) {
        let symbols = s.kind == sh::SHT_SYMTAB || s.kind == sh::SHT_DYNSYM;
        if s.flags & u64::from(sh::SHF_ALLOC) == 0 || symbols {
            wanted.push((s.offset, s.size));
        }
        if let Some(strings) = sections.get(s.link as usize).filter(|_| symbols) {
            wanted.push((strings.offset, strings.size));
        }
    }
    let wanted: Vec<(u64, u64)> = wanted
        .into_iter()
        .filter(|&(offset, _)| offset < len)
        .map(|(offset, size)| (offset, offset.saturating_add(size).min(len)))
        .filter(|&(start, end)| !image.covers(start, end))
        .collect();
    if wanted.iter().map(|(s, e)| e - s).sum::<u64>() > limit {
        return Ok(None);
    }
    // SAFETY: the name is a NUL-terminated string; the flags are valid.
    let fd = unsafe { libc::memfd_create(c"sdtrace-symbols".as_ptr(), libc::MFD_CLOEXEC | libc::MFD_ALLOW_SEALING) };
    if fd < 0 {
        return Err(err(io::Error::last_os_error()));
    }
    // SAFETY: `fd` is a new descriptor that nothing else owns.
    let copy = unsafe { <File as std::os::fd::FromRawFd>::from_raw_fd(fd) };
    copy.set_len(len).map_err(err)?;
    for p in &image.parts {
        copy.write_all_at(&p.bytes, p.offset).map_err(err)?;
    }
    drop(image);
    let mut buf = vec![0u8; 1 << 20];
    for (start, end) in wanted {
        let mut at = start;
        while at < end {
            let n = (end - at).min(buf.len() as u64) as usize;
            read(&file, &mut buf[..n], at, len).map_err(err)?;
            copy.write_all_at(&buf[..n], at).map_err(err)?;
            at += n as u64;
        }
    }
    let seals = libc::F_SEAL_SHRINK | libc::F_SEAL_GROW | libc::F_SEAL_WRITE | libc::F_SEAL_SEAL;
    // SAFETY: fcntl on a descriptor this function owns; the copy has no mapping yet.
    if unsafe { libc::fcntl(fd, libc::F_ADD_SEALS, seals) } < 0 {
        return Err(err(io::Error::last_os_error()));
    }
    Ok(Some(copy))
}

fn read(src: &dyn ReadAt, buf: &mut [u8], offset: u64, len: u64) -> io::Result<()> {
    src.read_exact_at(buf, offset).map_err(|e| match e.kind() {
        io::ErrorKind::UnexpectedEof => io::Error::new(
            io::ErrorKind::UnexpectedEof,
            format!(
                "the file shrank while it was read ({len} bytes before, ending before file offset {:#x} now)",
                offset + buf.len() as u64
            ),
        ),
        _ => e,
    })
}

fn c_str(table: &[u8], offset: usize) -> &str {
    let rest = table.get(offset..).unwrap_or(&[]);
    std::str::from_utf8(&rest[..rest.iter().position(|&b| b == 0).unwrap_or(rest.len())]).unwrap_or("")
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::elf::Class;
    use crate::write::{ProbeDef, SdtElfBuilder};
    use crate::Endian;
    use std::cell::Cell;

    fn built(probes: usize) -> Vec<u8> {
        let mut b = SdtElfBuilder::new(Class::Elf64, Endian::Little, 62);
        b.probes = (0..probes)
            .map(|i| ProbeDef {
                provider: "t".into(),
                name: format!("p{i}"),
                sites: vec!["8@%rdi".into()],
                semaphore: i % 2 == 0,
                metadata: None,
            })
            .collect();
        b.build().unwrap().0
    }

    /// A file that shrinks to `shrink_to` bytes after `after` reads.
    struct Shrinking {
        bytes: Vec<u8>,
        reads: Cell<usize>,
        after: usize,
        shrink_to: usize,
    }

    impl ReadAt for Shrinking {
        fn read_exact_at(&self, buf: &mut [u8], offset: u64) -> io::Result<()> {
            self.reads.set(self.reads.get() + 1);
            let len = if self.reads.get() > self.after { self.shrink_to } else { self.bytes.len() };
            let src = self.bytes[..len].get(offset as usize..).unwrap_or(&[]);
            if src.len() < buf.len() {
                return Err(io::ErrorKind::UnexpectedEof.into());
            }
            buf.copy_from_slice(&src[..buf.len()]);
            Ok(())
        }
    }

    fn image_of(bytes: &[u8]) -> ElfImage {
        let src = Shrinking { bytes: bytes.to_vec(), reads: Cell::new(0), after: usize::MAX, shrink_to: 0 };
        ElfImage::read_from(&src, bytes.len() as u64, Path::new("t")).unwrap()
    }

    #[test]
    fn an_image_reads_the_same_notes_as_the_whole_file() {
        let bytes = built(50);
        let image = image_of(&bytes);
        let (whole, part) = (ElfFile::parse(&bytes).unwrap(), ElfFile::parse_image(&image).unwrap());
        let notes = |e: &ElfFile<'_>| e.stapsdt_notes().map(|n| n.unwrap().note_offset).collect::<Vec<_>>();
        assert_eq!(notes(&whole).len(), 50);
        assert_eq!(notes(&whole), notes(&part));
        assert_eq!(whole.kind(), part.kind());
        assert_eq!(whole.sections(), part.sections());
        assert!(image.bytes_read() < bytes.len() as u64, "the site bytes are not read");
    }

    #[test]
    fn a_real_file_reads_as_the_whole_file_does() {
        // This test's own binary (symbols, DWARF) and ls are always there;
        // Debian's files with probes are installed by scripts/test.
        let me = std::env::current_exe().unwrap();
        let debian = ["/usr/bin/python3.11", "/usr/lib/x86_64-linux-gnu/libruby-3.1.so.3.1"];
        for path in [me.to_str().unwrap(), "/bin/ls"].into_iter().chain(debian) {
            if !Path::new(path).exists() {
                assert!(std::env::var("CI").is_err(), "{path} is missing; scripts/test installs it");
                eprintln!("NOT RUN: {path} is missing; run scripts/test to install it");
                continue;
            }
            let bytes = std::fs::read(path).unwrap();
            let image = ElfImage::read(path).unwrap();
            let (whole, part) = (ElfFile::parse(&bytes).unwrap(), ElfFile::parse_image(&image).unwrap());
            let notes = |e: &ElfFile<'_>| {
                e.stapsdt_notes().map(|n| n.map(|n| format!("{n:?}"))).collect::<Result<Vec<_>>>().unwrap()
            };
            assert_eq!(notes(&whole), notes(&part), "{path}");
            assert_eq!(whole.build_id(), part.build_id(), "{path}");
            assert_eq!(
                (whole.kind(), whole.needed(), whole.run_paths()),
                (part.kind(), part.needed(), part.run_paths())
            );
            assert!(image.bytes_read() * 10 < bytes.len() as u64, "{path}: {} bytes read", image.bytes_read());
        }
    }

    #[test]
    fn a_file_that_shrinks_while_it_is_read_is_an_error() {
        // The file is truncated after its headers were read: the notes'
        // read finds the end early. Before, the mapping raised SIGBUS.
        let bytes = built(20);
        let shrink_to = bytes.len() / 2;
        let mut errors = 0;
        for after in 0..8 {
            let src = Shrinking { bytes: bytes.clone(), reads: Cell::new(0), after, shrink_to };
            match ElfImage::read_from(&src, bytes.len() as u64, Path::new("t")) {
                Err(e) => {
                    assert!(e.to_string().starts_with("the file shrank while it was read"), "{e}");
                    errors += 1;
                }
                // Every read was done before the file shrank.
                Ok(image) => assert_eq!(ElfFile::parse_image(&image).unwrap().stapsdt_notes().count(), 20),
            }
        }
        assert!(errors > 0);
    }

    #[test]
    fn a_file_truncated_after_it_was_read_still_parses() {
        let dir = std::env::temp_dir().join(format!("stap-notes-image-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let path = dir.join("truncated");
        std::fs::write(&path, built(10)).unwrap();
        let image = ElfImage::read(&path).unwrap();
        std::fs::File::options().write(true).open(&path).unwrap().set_len(0).unwrap();
        let elf = ElfFile::parse_image(&image).unwrap();
        assert_eq!(elf.stapsdt_notes().count(), 10);
        std::fs::remove_dir_all(&dir).unwrap();
    }

    #[test]
    fn the_symbols_copy_holds_the_symbols_and_cannot_shrink() {
        let me = std::env::current_exe().unwrap();
        let copy = symbols_copy(&me, MAX_SYMBOLS_COPY).unwrap().expect("under the limit");
        let bytes = std::fs::read(&me).unwrap();
        let elf = ElfFile::parse(&bytes).unwrap();
        let symtab = elf.section(".symtab").expect("a test binary has symbols");
        let mut copied = vec![0; symtab.size as usize];
        FileExt::read_exact_at(&copy, &mut copied, symtab.offset).unwrap();
        assert_eq!(copied, symtab.data(&bytes).unwrap());
        assert_eq!(copy.metadata().unwrap().len(), bytes.len() as u64);
        assert!(copy.set_len(0).is_err(), "sealed against shrinking");
        assert_eq!(symbols_copy(&me, 1).unwrap().map(|_| ()), None, "over the limit");
    }

    #[test]
    fn what_is_not_a_regular_file_is_named() {
        let err = |p: &str| ElfImage::read(p).unwrap_err().source.to_string();
        assert_eq!(err("/"), "is a directory");
        assert_eq!(err("/dev/null"), "is a character device, not a file");
        assert!(err("/nonexistent").contains("No such file"));
    }

    #[test]
    fn a_piece_over_the_budget_is_left_out_and_named() {
        let image = ElfImage { path: "t".into(), len: 1 << 40, parts: Vec::new(), requested: 0 };
        let e = image.get(4096, 1 << 39, "note section").unwrap_err();
        assert!(matches!(e, Error::TooLarge { offset: 4096, .. }), "{e}");
        assert!(e.to_string().contains("more than the 64 MiB"), "{e}");
        assert!(matches!(image.get(1 << 40, 1, "x"), Err(Error::Truncated { .. })));
    }

    #[test]
    fn overlapping_pieces_merge_into_disjoint_parts() {
        let bytes: Vec<u8> = (0..=255u8).cycle().take(10_000).collect();
        let src = Shrinking { bytes: bytes.clone(), reads: Cell::new(0), after: usize::MAX, shrink_to: 0 };
        let mut image = ElfImage { path: "t".into(), len: 10_000, parts: Vec::new(), requested: 0 };
        image.load(&src, &[(100, 50), (1000, 10)]).unwrap();
        image.load(&src, &[(120, 900), (5000, 1 << 40), (20_000, 5)]).unwrap();
        let spans: Vec<(u64, u64)> = image.parts.iter().map(|p| (p.offset, p.end())).collect();
        assert_eq!(spans, [(100, 1020), (5000, 10_000)]);
        assert_eq!(image.get(100, 920, "x").unwrap(), &bytes[100..1020]);
        assert_eq!(image.get(5000, 5000, "x").unwrap(), &bytes[5000..]);
    }
}
