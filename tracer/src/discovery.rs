//! Discovery: every SDT probe in an ELF file, grouped by (provider, name),
//! with corrected addresses, file offsets, parsed arguments and metadata.
//!
//! This is the catalog `sdtrace list` prints and the tracer attaches from.
//! It owns its strings, so it outlives the mapping it was read from.

use std::path::{Path, PathBuf};

use stap_notes::meta::ArgKind;
use stap_notes::{Arch, ElfFile, ElfKind, Mapped};

/// A problem discovering the probes of one file.
#[derive(Debug, thiserror::Error)]
pub enum DiscoveryError {
    /// The file could not be opened or mapped.
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
}

/// Read every probe of the ELF file at `path`.
pub fn discover_file(path: &Path) -> Result<ObjectProbes, DiscoveryError> {
    let map = Mapped::open(path)?;
    let elf_err = |source| DiscoveryError::Elf { path: path.to_path_buf(), source };
    let elf = ElfFile::parse(&map).map_err(elf_err)?;
    let arch = elf.arch();
    let mut probes: Vec<Probe> = Vec::new();
    let loads = elf.segments();
    let in_code = |a: u64| loads.iter().any(|s| s.flags & 1 != 0 && a >= s.vaddr && a - s.vaddr < s.filesz);
    let mut discarded_sites = 0;
    for note in elf.stapsdt_notes() {
        let note = note.map_err(elf_err)?;
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
        match probes.iter_mut().find(|p| p.provider == note.provider && p.name == note.name) {
            Some(p) => {
                p.sites.push(s);
                if p.semaphore.is_none() {
                    p.semaphore = sem;
                }
            }
            None => probes.push(Probe {
                provider: note.provider.to_string(),
                name: note.name.to_string(),
                semaphore: sem,
                sites: vec![s],
                description: None,
            }),
        }
    }
    let mut orphan_records = 0;
    for record in elf.metadata_records() {
        let record = record.map_err(elf_err)?;
        let Some(p) = probes.iter_mut().find(|p| p.provider == record.provider && p.name == record.name) else {
            orphan_records += 1;
            continue;
        };
        let args = record
            .args()
            .map(|a| a.map(|a| NamedArg { name: a.name.to_string(), kind: a.kind }))
            .collect::<Result<_, _>>()
            .map_err(elf_err)?;
        let source = (!record.file.is_empty()).then(|| (record.file.to_string(), record.line));
        p.description = Some(Description { args, doc: record.doc.to_string(), source });
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
    })
}

/// Fill in each site's enclosing function (from the symbol tables) and its
/// source file and line (from DWARF, when the file has debug info). Costly
/// for large files, so listings do it only when asked (`-v`).
pub fn annotate_sites(obj: &mut ObjectProbes) {
    let Ok(loader) = addr2line::Loader::new(&obj.path) else { return };
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
