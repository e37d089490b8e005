//! Discovery: every SDT probe in an ELF file, grouped by (provider, name),
//! with corrected addresses, file offsets, parsed arguments and metadata.
//!
//! This is the catalog `sdtrace list` prints and the tracer attaches from.
//! It owns its strings, so it outlives the [`ElfImage`] it was read from
//! (the headers and notes of the file, copied: a file truncated meanwhile
//! cannot fault). A malformed note or metadata record is left out with a
//! warning in [`ObjectProbes::warnings`]; the rest of the file is read.

use std::collections::HashMap;
use std::path::{Path, PathBuf};

use stap_notes::meta::ArgKind;
use stap_notes::{Arch, ElfFile, ElfImage, ElfKind};

/// A problem discovering the probes of one file.
#[derive(Debug, thiserror::Error)]
pub enum DiscoveryError {
    /// The file could not be opened or read.
    #[error(transparent)]
    Open(#[from] stap_notes::OpenError),
    /// The file is not an ELF file, or its notes are malformed.
    #[error("{}", path.display())]
    Elf {
        /// The file.
        path: PathBuf,
        /// What went wrong.
        #[source]
        source: stap_notes::Error,
    },
}

/// One call site of a probe.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Site {
    /// Address of the probe instruction (after `.stapsdt.base` correction).
    pub address: u64,
    /// File offset of the probe instruction, for the kernel's uprobe interfaces.
    pub file_offset: Option<u64>,
    /// The argument string as recorded in the note.
    pub raw_args: String,
    /// Each argument parsed: its canonical form, or why it cannot be read.
    pub args: Vec<Result<SiteArg, String>>,
    /// The function whose code holds the site (symbol table, demangled);
    /// filled by [`annotate_sites`].
    pub function: Option<String>,
    /// Source file and line of the site (DWARF); filled by [`annotate_sites`].
    pub source: Option<(String, u32)>,
}

/// A parsed argument of one site.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SiteArg {
    /// Value type from the note (`u64`, `i32`, `f64`).
    pub ty: String,
    /// Location in canonical form (`reg rdi`, `mem [rbp - 8]`, `imm 5`).
    pub location: String,
}

/// An argument described by an sdtrace metadata record.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NamedArg {
    /// The argument's name.
    pub name: String,
    /// Its type in sdtrace's vocabulary.
    pub kind: ArgKind,
}

/// What a metadata record says of a probe.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Description {
    /// Named, typed arguments.
    pub args: Vec<NamedArg>,
    /// The doc comment.
    pub doc: String,
    /// Source file and line where the probe is declared.
    pub source: Option<(String, u32)>,
}

/// A probe: every site that shares a provider and name.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Probe {
    /// Provider name.
    pub provider: String,
    /// Probe name as in the note (`function__entry`).
    pub name: String,
    /// Semaphore address and file offset, when the probe has one.
    pub semaphore: Option<(u64, Option<u64>)>,
    /// Call sites in file order.
    pub sites: Vec<Site>,
    /// The metadata record, when the file has one for this probe.
    pub description: Option<Description>,
}

impl Probe {
    /// The sites to probe, each address once: identical notes for one
    /// site (a toolchain that concatenated objects can leave several) are
    /// one site, probed once, each hit one event. `sites` keeps every note,
    /// as `readelf -n` lists them.
    pub fn traced_sites(&self) -> impl Iterator<Item = &Site> {
        let mut seen = std::collections::HashSet::new();
        self.sites.iter().filter(move |s| seen.insert(s.address))
    }

    /// Argument types as the first site's note gives them (`u64`, `i32`, …).
    pub fn note_arg_types(&self) -> Vec<String> {
        self.sites
            .first()
            .map(|s| s.args.iter().map(|a| a.as_ref().map_or_else(|_| "?".into(), |a| a.ty.clone())).collect())
            .unwrap_or_default()
    }
}

/// The probes of one ELF file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ObjectProbes {
    /// The file as named by the user.
    pub path: PathBuf,
    /// Its architecture, when stap-notes has a grammar for it.
    pub arch: Option<Arch>,
    /// Executable, PIE or shared object.
    pub kind: ElfKind,
    /// GNU build-id in hex.
    pub build_id: Option<String>,
    /// Probes in the order of their first note.
    pub probes: Vec<Probe>,
    /// Metadata records that name no probe in the file (a provider bug worth showing).
    pub orphan_records: usize,
    /// Notes whose site lies in no executable segment: the linker discarded
    /// the code that held them (`--gc-sections` keeps non-allocated notes of
    /// dropped functions). They are ignored.
    pub discarded_sites: usize,
    /// What was wrong in the file and left out (malformed notes and
    /// records), one line each: which note, its file offset, and why.
    pub warnings: Vec<String>,
    /// The writable `PT_LOAD` segments: file offset and size of each (for
    /// [`crate::site::semaphore_page_is_shared`]).
    pub writable_segments: Vec<(u64, u64)>,
    /// The file offset of the entry point, when it has one in a segment.
    pub entry_offset: Option<u64>,
}

/// Read every probe of the ELF file at `path`.
///
/// A malformed note is left out and named in [`ObjectProbes::warnings`]
/// (a broken note frame leaves out the rest of its section); so is a
/// malformed metadata record, whose probe is then listed without it.
pub fn discover_file(path: &Path) -> Result<ObjectProbes, DiscoveryError> {
    let image = ElfImage::read(path)?;
    let elf_err = |source| DiscoveryError::Elf { path: path.to_path_buf(), source };
    let elf = ElfFile::parse_image(&image).map_err(elf_err)?;
    let arch = elf.arch();
    let mut probes: Vec<Probe> = Vec::new();
    // (provider, name) → index in `probes`, which keeps first-note order.
    let mut index: HashMap<(&str, &str), usize> = HashMap::new();
    let mut warnings = Vec::new();
    let loads = elf.segments();
    let in_code = |a: u64| loads.iter().any(|s| s.flags & 1 != 0 && a >= s.vaddr && a - s.vaddr < s.filesz);
    let mut discarded_sites = 0;
    for (i, note) in elf.stapsdt_notes().keep_going().enumerate() {
        let note = match note {
            Ok(note) => note,
            Err(stap_notes::Error::MalformedNote { offset, reason }) => {
                warnings.push(format!("stapsdt note {i} at file offset {offset:#x}: {reason}; the note is ignored"));
                continue;
            }
            Err(e) => {
                warnings.push(format!("{e}: stapsdt notes from there to the end of that section are ignored"));
                continue;
            }
        };
        let site = elf.probe_site(&note);
        if !loads.is_empty() && !in_code(site.address) {
            discarded_sites += 1;
            continue;
        }
        let args = match arch {
            Some(arch) => note
                .arg_specs(arch)
                .map(|a| {
                    a.map(|a| SiteArg { ty: a.ty.to_string(), location: a.location.to_string() })
                        .map_err(|e| e.to_string())
                })
                .collect(),
            None => vec![Err(format!("no argument grammar for machine {}", elf.machine()))],
        };
        let s = Site {
            address: site.address,
            file_offset: site.file_offset,
            raw_args: note.args.to_string(),
            args,
            function: None,
            source: None,
        };
        let sem = site.semaphore.map(|s| (s.address, s.file_offset));
        match index.get(&(note.provider, note.name)) {
            Some(&at) => {
                let p = &mut probes[at];
                p.sites.push(s);
                if p.semaphore.is_none() {
                    p.semaphore = sem;
                }
            }
            None => {
                index.insert((note.provider, note.name), probes.len());
                probes.push(Probe {
                    provider: note.provider.to_string(),
                    name: note.name.to_string(),
                    semaphore: sem,
                    sites: vec![s],
                    description: None,
                });
            }
        }
    }
    let mut orphan_records = 0;
    for record in elf.metadata_records().keep_going() {
        let record = match record {
            Ok(record) => record,
            Err(
                e
                @ (stap_notes::Error::MalformedMetadata { .. } | stap_notes::Error::UnsupportedMetadataVersion { .. }),
            ) => {
                warnings.push(format!("{e}; the record is ignored"));
                continue;
            }
            Err(e) => {
                warnings
                    .push(format!("{e}: sdtrace metadata records from there to the end of that section are ignored"));
                continue;
            }
        };
        let Some(&at) = index.get(&(record.provider, record.name)) else {
            orphan_records += 1;
            continue;
        };
        let args = match record.args().map(|a| a.map(|a| NamedArg { name: a.name.to_string(), kind: a.kind })).collect()
        {
            Ok(args) => args,
            Err(e) => {
                warnings.push(format!("{e}; the record is ignored"));
                continue;
            }
        };
        let source = (!record.file.is_empty()).then(|| (record.file.to_string(), record.line));
        probes[at].description = Some(Description { args, doc: record.doc.to_string(), source });
    }
    // Runtimes that ship no metadata records: the built-in catalog describes
    // their documented probes, when the argument count agrees with the note.
    for p in probes.iter_mut().filter(|p| p.description.is_none()) {
        let Some(args) = crate::catalog::lookup(&p.provider, &p.name) else { continue };
        let note_args = p.sites.first().map_or(0, |s| s.args.len());
        if args.len() == note_args {
            let args = args.into_iter().map(|(name, kind)| NamedArg { name, kind }).collect();
            p.description = Some(Description { args, doc: String::new(), source: None });
        }
    }
    let build_id = elf.build_id().map(|id| id.iter().map(|b| format!("{b:02x}")).collect());
    Ok(ObjectProbes {
        path: path.to_path_buf(),
        arch,
        kind: elf.kind(),
        build_id,
        probes,
        orphan_records,
        discarded_sites,
        warnings,
        writable_segments: loads.iter().filter(|s| s.flags & 2 != 0).map(|s| (s.offset, s.filesz)).collect(),
        entry_offset: Some(elf.entry()).filter(|&e| e != 0).and_then(|e| elf.vaddr_to_offset(e)),
    })
}

/// Fill in each site's enclosing function (from the symbol tables) and its
/// source file and line (from DWARF, when the file has debug info). Costly
/// for large files, so listings do it only when asked (`-v`).
///
/// addr2line maps the file it reads; it reads a sealed copy of the
/// symbols and debug info ([`stap_notes::image::symbols_copy`]), so a file
/// truncated meanwhile cannot fault. When those are more than
/// [`stap_notes::image::MAX_SYMBOLS_COPY`] bytes the sites stay without,
/// with a warning.
pub fn annotate_sites(obj: &mut ObjectProbes) {
    use std::os::fd::AsRawFd;
    let limit = stap_notes::image::MAX_SYMBOLS_COPY;
    let copy = match stap_notes::image::symbols_copy(&obj.path, limit) {
        Ok(Some(copy)) => copy,
        Ok(None) => {
            obj.warnings.push(format!(
                "its symbols and debug info are more than {} MiB: sites are shown without function and line",
                limit >> 20
            ));
            return;
        }
        Err(_) => return,
    };
    let Ok(loader) = addr2line::Loader::new(format!("/proc/self/fd/{}", copy.as_raw_fd())) else { return };
    for site in obj.probes.iter_mut().flat_map(|p| p.sites.iter_mut()) {
        site.function = loader
            .find_symbol(site.address)
            .map(|name| addr2line::demangle_auto(std::borrow::Cow::Borrowed(name), None).into_owned());
        if let Ok(Some(loc)) = loader.find_location(site.address) {
            if let (Some(file), Some(line)) = (loc.file, loc.line) {
                site.source = Some((file.to_string(), line));
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use stap_notes::elf::Class;
    use stap_notes::write::{ProbeDef, SdtElfBuilder};
    use stap_notes::{Endian, ProbeMetadataBuf};

    fn probe(name: &str, args: &str, semaphore: bool) -> ProbeDef {
        ProbeDef { provider: "t".into(), name: name.into(), sites: vec![args.into()], semaphore, metadata: None }
    }

    /// Write `bytes` to a file of this test's own and discover it.
    fn discover_bytes(test: &str, bytes: &[u8]) -> ObjectProbes {
        let path = std::env::temp_dir().join(format!("sdtrace-discovery-{}-{test}", std::process::id()));
        std::fs::write(&path, bytes).unwrap();
        let found = discover_file(&path);
        std::fs::remove_file(&path).unwrap();
        found.unwrap()
    }

    fn build(probes: Vec<ProbeDef>) -> Vec<u8> {
        let mut b = SdtElfBuilder::new(Class::Elf64, Endian::Little, 62);
        b.probes = probes;
        b.build().unwrap().0
    }

    #[test]
    fn many_notes_group_into_probes_in_the_order_of_their_first_note() {
        // 30,000 probes of 3 sites each, notes interleaved: before, each note
        // was compared with every probe so far (quadratic).
        let order: Vec<usize> = (0..30_000).map(|i| (i * 7919) % 30_000).collect();
        let mut defs = Vec::new();
        for round in 0..3 {
            for &i in &order {
                // Probe i's semaphore is on its second site's note only.
                defs.push(probe(&format!("p{i}"), &format!("{}@%rdi", [1, 2, 4][round]), round == 1 && i % 2 == 0));
            }
        }
        let found = discover_bytes("many", &build(defs));
        assert!(found.warnings.is_empty(), "{:?}", found.warnings);
        assert_eq!(found.probes.len(), 30_000);
        for (p, &i) in found.probes.iter().zip(&order) {
            assert_eq!(p.name, format!("p{i}"));
            let args: Vec<&str> = p.sites.iter().map(|s| s.raw_args.as_str()).collect();
            assert_eq!(args, ["1@%rdi", "2@%rdi", "4@%rdi"], "{}", p.name);
            assert!(p.sites.windows(2).all(|w| w[0].address < w[1].address), "sites in file order");
            assert_eq!(p.semaphore.is_some(), i % 2 == 0, "{}", p.name);
        }
    }

    #[test]
    fn a_malformed_note_is_left_out_with_a_warning_naming_it() {
        let mut bytes = build(vec![probe("a", "", false), probe("bad", "", false), probe("c", "", false)]);
        let at = bytes.windows(4).position(|w| w == b"bad\0").unwrap();
        bytes[at] = 0xc0; // not UTF-8
        let found = discover_bytes("malformed", &bytes);
        let names: Vec<&str> = found.probes.iter().map(|p| p.name.as_str()).collect();
        assert_eq!(names, ["a", "c"]);
        assert_eq!(found.warnings.len(), 1);
        let w = &found.warnings[0];
        assert!(
            w.starts_with("stapsdt note 1 at file offset 0x")
                && w.ends_with(": string is not UTF-8; the note is ignored"),
            "{w}"
        );
    }

    #[test]
    fn a_bad_metadata_record_leaves_its_probe_undescribed_with_a_warning() {
        let md = |name: &str| ProbeMetadataBuf {
            provider: "t".into(),
            name: name.into(),
            file: String::new(),
            line: 0,
            doc: format!("{name} doc"),
            args: Vec::new(),
        };
        let mut defs = vec![probe("a", "", false), probe("b", "", false)];
        defs[0].metadata = Some(md("a"));
        defs[1].metadata = Some(md("b"));
        let mut bytes = build(defs);
        let section = ElfFile::parse(&bytes).unwrap().section(stap_notes::meta::METADATA_SECTION).unwrap().offset;
        // The first record's version (after the note header and "sdtrace\0").
        let version = section as usize + 12 + 8;
        bytes[version..version + 2].copy_from_slice(&99u16.to_le_bytes());
        let found = discover_bytes("record", &bytes);
        assert_eq!(found.probes.len(), 2);
        assert_eq!(found.probes[0].description, None);
        assert_eq!(found.probes[1].description.as_ref().map(|d| d.doc.as_str()), Some("b doc"));
        assert_eq!(found.warnings.len(), 1, "{:?}", found.warnings);
        assert!(found.warnings[0].contains("version 99") && found.warnings[0].ends_with("; the record is ignored"));
    }
}
