//! `stap-notes` reads and writes SystemTap SDT probe notes (`.note.stapsdt`),
//! the argument specs inside them, and sdtrace's probe metadata records.
//!
//! It is the one place in sdtrace that understands the SDT format and the
//! address math around it; it touches no kernel interface. The format
//! follows SystemTap's "UserSpaceProbeImplementation" description and
//! `sys/sdt.h`; the metadata record is specified in
//! `docs/metadata-record.md`.
//!
//! ```no_run
//! use stap_notes::{ElfFile, ElfImage};
//! let file = ElfImage::read("/usr/bin/python3.11")?;
//! let elf = ElfFile::parse_image(&file)?;
//! for note in elf.stapsdt_notes() {
//!     let note = note?;
//!     let site = elf.probe_site(&note);
//!     println!("{}:{} at {:#x} (file offset {:?})", note.provider, note.name, site.address, site.file_offset);
//!     for arg in note.arg_specs(elf.arch().unwrap()) {
//!         println!("  {}", arg?);
//!     }
//! }
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```

pub mod args;
pub mod elf;
mod error;
pub mod gas;
pub mod image;
pub mod meta;
pub mod note;
pub mod write;

pub use args::{Arch, ArgSpec, ArgSpecs, ArgType, Location};
pub use elf::{Class, ElfFile, ElfKind, Endian};
pub use error::{ArgError, ArgErrorKind, Error, Result};
pub use image::{ElfImage, MAX_READ};
pub use meta::{ArgKind, ProbeMetadata, ProbeMetadataBuf};
pub use note::{ProbeSite, Semaphore, StapsdtNote};

use std::path::{Path, PathBuf};

/// A whole file mapped read-only into memory, for reading bytes anywhere in
/// it (a probe site's instruction). To find probes, read an [`ElfImage`]
/// instead: it copies only the headers and notes, and a truncated file
/// cannot hurt it.
#[derive(Debug)]
pub struct Mapped {
    map: Option<memmap2::Mmap>,
    path: PathBuf,
}

/// An I/O error naming the file.
#[derive(Debug, thiserror::Error)]
#[error("{}", path.display())]
pub struct OpenError {
    /// The file.
    pub path: PathBuf,
    /// The failure.
    #[source]
    pub source: std::io::Error,
}

impl Mapped {
    /// Map `path` read-only. An empty file maps to an empty slice. A path
    /// that is not a regular file is an error naming what it is (opening a
    /// FIFO does not block).
    pub fn open(path: impl AsRef<Path>) -> std::result::Result<Self, OpenError> {
        let path = path.as_ref().to_path_buf();
        let err = |source| OpenError { path: path.clone(), source };
        let (file, len) = image::open_regular(&path)?;
        let map = if len == 0 {
            None
        } else {
            // SAFETY: the mapping is read-only and private. If another process
            // truncates the file while it is mapped, reads past the new end
            // fault (SIGBUS), and bytes another process writes change under
            // the slice. This is why discovery reads an `ElfImage` instead;
            // what still maps a file reads a few bytes of it right away.
            Some(unsafe { memmap2::Mmap::map(&file) }.map_err(err)?)
        };
        Ok(Mapped { map, path })
    }

    /// The path that was mapped.
    pub fn path(&self) -> &Path {
        &self.path
    }
}

impl std::ops::Deref for Mapped {
    type Target = [u8];
    fn deref(&self) -> &[u8] {
        self.map.as_deref().unwrap_or(&[])
    }
}
