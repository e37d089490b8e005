//! Errors of the `stap-notes` crate.
//!
//! Every error says where the problem is: a byte offset in the file for ELF
//! and note problems, the argument's position and text for argument specs.

use crate::args::Arch;

/// An error while reading or writing SDT notes, argument specs or metadata.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// The bytes do not start with the ELF magic number.
    #[error("not an ELF file (no \\x7fELF magic at offset 0)")]
    NotElf,
    /// The ELF headers could not be parsed.
    #[error("malformed ELF headers: {0}")]
    BadElf(String),
    /// A structure claims to extend past the end of the data that holds it.
    #[error("truncated {what} at file offset {offset:#x}")]
    Truncated {
        /// What was being read.
        what: &'static str,
        /// File offset of the structure.
        offset: u64,
    },
    /// A structure lies in the file but is more than [`crate::image::MAX_READ`]
    /// bytes along with what was read before it, so it was not read.
    #[error("{what} at file offset {offset:#x} is {size} bytes, more than the {} MiB read of one file", limit >> 20)]
    TooLarge {
        /// What was being read.
        what: &'static str,
        /// File offset of the structure.
        offset: u64,
        /// Its size in bytes.
        size: u64,
        /// The budget, [`crate::image::MAX_READ`].
        limit: u64,
    },
    /// A note is well framed but its contents do not follow the stapsdt layout.
    #[error("malformed stapsdt note at file offset {offset:#x}: {reason}")]
    MalformedNote {
        /// File offset of the note header.
        offset: u64,
        /// What is wrong with it.
        reason: &'static str,
    },
    /// An argument spec could not be parsed.
    #[error(transparent)]
    Arg(#[from] ArgError),
    /// A metadata record could not be parsed.
    #[error("malformed sdtrace metadata record at file offset {offset:#x}: {reason}")]
    MalformedMetadata {
        /// File offset of the note holding the record (0 when parsed from a buffer).
        offset: u64,
        /// What is wrong with it.
        reason: String,
    },
    /// A metadata record has a version this crate does not read.
    #[error("sdtrace metadata record version {version} at file offset {offset:#x} is newer than this reader (knows {known})")]
    UnsupportedMetadataVersion {
        /// File offset of the note.
        offset: u64,
        /// The version found.
        version: u16,
        /// The newest version this crate reads.
        known: u16,
    },
    /// Something cannot be encoded by the writer.
    #[error("cannot write: {0}")]
    Write(String),
}

/// An argument spec that could not be parsed.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("argument {position} `{text}` ({arch}): {kind}")]
pub struct ArgError {
    /// 1-based position of the argument in the note's argument string.
    pub position: usize,
    /// The argument's text as written in the note.
    pub text: String,
    /// The architecture whose grammar was used.
    pub arch: Arch,
    /// What went wrong.
    pub kind: ArgErrorKind,
}

/// Why an argument spec could not be parsed.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum ArgErrorKind {
    /// The `N@` size prefix is not one of 1, 2, 4, 8 (optionally negative, optionally `f`).
    #[error("bad size prefix `{0}` (expected 1, 2, 4 or 8, optionally negative or with an `f` suffix)")]
    BadSize(String),
    /// A register name that this architecture does not have.
    #[error("unknown register `{0}`")]
    UnknownRegister(String),
    /// A number that does not parse or does not fit.
    #[error("bad number `{0}`")]
    BadNumber(String),
    /// The operand's shape is not one this architecture's grammar knows.
    #[error("unrecognised operand syntax")]
    Syntax,
    /// The architecture has no argument grammar in this crate.
    #[error("unsupported architecture")]
    UnsupportedArch,
    /// Brackets or parentheses do not balance in the argument string.
    #[error("unbalanced brackets")]
    Unbalanced,
}

/// Result type of this crate.
pub type Result<T, E = Error> = std::result::Result<T, E>;
