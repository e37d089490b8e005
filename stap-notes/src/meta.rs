//! The sdtrace probe metadata record: names, types and docs for the
//! arguments of a stapsdt probe, so that probes describe themselves.
//!
//! The format is specified in `docs/metadata-record.md`. In short: one ELF
//! note per probe, name `sdtrace`, type [`NT_SDTRACE_PROBE`], in a
//! non-allocated `SHT_NOTE` section `.note.sdtrace`. It is linked to the
//! stapsdt notes by provider and probe name. Tools that do not know it see
//! an unknown note in a section they never read.
//!
//! Descriptor (integers in the file's byte order):
//!
//! ```text
//! u16 version        = 1
//! u8  arg_count      (at most 12)
//! u8  flags          (0; readers ignore unknown bits)
//! u32 line           (source line, 0 when unknown)
//! arg_count × { u8 kind, u8 size, u8 first_note_arg, u8 flags }
//! NUL-terminated UTF-8: provider, probe, source file, doc, then one name per argument
//! ```

use crate::elf::{ElfFile, Endian};
use crate::error::{Error, Result};
use crate::note::RawNotes;

/// Note name of a metadata record.
pub const SDTRACE_NOTE_NAME: &[u8] = b"sdtrace";
/// Note type of a probe metadata record.
pub const NT_SDTRACE_PROBE: u32 = 1;
/// Section that holds metadata records.
pub const METADATA_SECTION: &str = ".note.sdtrace";
/// The record version this crate writes and the newest it reads.
pub const METADATA_VERSION: u16 = 1;
/// The most stapsdt arguments a probe may have (libbpf's and bpftrace's limit).
pub const MAX_NOTE_ARGS: usize = 12;

const HEADER_LEN: usize = 8;
const ARG_ENTRY_LEN: usize = 4;

/// The type of a probe argument in sdtrace's vocabulary.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum ArgKind {
    /// An integer of `size` bytes (1, 2, 4, 8).
    Int {
        /// Size in bytes.
        size: u8,
        /// Two's-complement signed.
        signed: bool,
    },
    /// A boolean passed as one byte (0 or 1).
    Bool,
    /// A Unicode scalar value passed as 4 bytes.
    Char,
    /// An IEEE float of 4 or 8 bytes.
    Float {
        /// Size in bytes.
        size: u8,
    },
    /// UTF-8 text passed as pointer and length (two stapsdt arguments).
    Str,
    /// NUL-terminated text passed as a pointer (one stapsdt argument).
    CStr,
    /// Bytes passed as pointer and length (two stapsdt arguments).
    Bytes,
    /// A JSON document passed as pointer and length (two stapsdt arguments).
    Json,
    /// An address the tracer should print, not follow.
    Pointer,
    /// A kind added by a newer writer; read it as an integer of `size` bytes.
    Unknown {
        /// The kind code.
        code: u8,
        /// Size in bytes of its first stapsdt argument.
        size: u8,
    },
}

impl ArgKind {
    /// How many stapsdt arguments the kind occupies.
    pub fn note_args(self) -> usize {
        match self {
            ArgKind::Str | ArgKind::Bytes | ArgKind::Json => 2,
            _ => 1,
        }
    }

    /// `(size, signed)` of each stapsdt argument the kind occupies when a
    /// writer emits it for a target whose addresses are `word` bytes:
    /// what the `±size@operand` spellings of its notes say.
    pub fn note_slots(self, word: u8) -> Vec<(u8, bool)> {
        match self {
            ArgKind::Int { size, signed } => vec![(size, signed)],
            ArgKind::Bool => vec![(1, false)],
            ArgKind::Char => vec![(4, false)],
            ArgKind::Float { size } => vec![(size, false)],
            ArgKind::Unknown { size, .. } => vec![(size, false)],
            ArgKind::CStr | ArgKind::Pointer => vec![(word, false)],
            ArgKind::Str | ArgKind::Bytes | ArgKind::Json => vec![(word, false), (word, false)],
        }
    }

    fn encode(self, word: u8) -> (u8, u8, u8) {
        match self {
            ArgKind::Int { size, signed } => (1, size, u8::from(signed)),
            ArgKind::Bool => (2, 1, 0),
            ArgKind::Char => (3, 4, 0),
            ArgKind::Float { size } => (4, size, 0),
            ArgKind::Str => (5, word, 0),
            ArgKind::CStr => (6, word, 0),
            ArgKind::Bytes => (7, word, 0),
            ArgKind::Json => (8, word, 0),
            ArgKind::Pointer => (9, word, 0),
            ArgKind::Unknown { code, size } => (code, size, 0),
        }
    }

    fn decode(code: u8, size: u8, flags: u8) -> std::result::Result<Self, &'static str> {
        let int_size = |s| if matches!(s, 1 | 2 | 4 | 8) { Ok(s) } else { Err("integer size is not 1, 2, 4 or 8") };
        Ok(match code {
            1 => ArgKind::Int { size: int_size(size)?, signed: flags & 1 != 0 },
            2 => ArgKind::Bool,
            3 => ArgKind::Char,
            4 if matches!(size, 4 | 8) => ArgKind::Float { size },
            4 => return Err("float size is not 4 or 8"),
            5 => ArgKind::Str,
            6 => ArgKind::CStr,
            7 => ArgKind::Bytes,
            8 => ArgKind::Json,
            9 => ArgKind::Pointer,
            0 => return Err("argument kind 0 is reserved"),
            code => ArgKind::Unknown { code, size: int_size(size)? },
        })
    }

    /// The name used in listings and the JSON schema (`i32`, `str`, `json`, …).
    pub fn name(self) -> String {
        match self {
            ArgKind::Int { size, signed } => format!("{}{}", if signed { 'i' } else { 'u' }, u32::from(size) * 8),
            ArgKind::Bool => "bool".into(),
            ArgKind::Char => "char".into(),
            ArgKind::Float { size } => format!("f{}", u32::from(size) * 8),
            ArgKind::Str => "str".into(),
            ArgKind::CStr => "cstr".into(),
            ArgKind::Bytes => "bytes".into(),
            ArgKind::Json => "json".into(),
            ArgKind::Pointer => "ptr".into(),
            ArgKind::Unknown { code, .. } => format!("kind{code}"),
        }
    }
}

impl std::str::FromStr for ArgKind {
    type Err = String;

    /// The inverse of [`ArgKind::name`] for the kinds a writer may declare
    /// (`i8`…`u64`, `f32`, `f64`, `bool`, `char`, `str`, `cstr`, `bytes`,
    /// `json`, `ptr`); bindings use it to read type names from users.
    fn from_str(s: &str) -> std::result::Result<Self, String> {
        let int = |signed: bool, bits: &str| {
            match bits {
                "8" => Some(1),
                "16" => Some(2),
                "32" => Some(4),
                "64" => Some(8),
                _ => None,
            }
            .map(|size| ArgKind::Int { size, signed })
        };
        let kind = match s {
            "bool" => Some(ArgKind::Bool),
            "char" => Some(ArgKind::Char),
            "f32" => Some(ArgKind::Float { size: 4 }),
            "f64" => Some(ArgKind::Float { size: 8 }),
            "str" => Some(ArgKind::Str),
            "cstr" => Some(ArgKind::CStr),
            "bytes" => Some(ArgKind::Bytes),
            "json" => Some(ArgKind::Json),
            "ptr" => Some(ArgKind::Pointer),
            _ => match s.split_at_checked(1) {
                Some(("i", bits)) => int(true, bits),
                Some(("u", bits)) => int(false, bits),
                _ => None,
            },
        };
        kind.ok_or_else(|| {
            format!("unknown argument type `{s}`: use i8, i16, i32, i64, u8, u16, u32, u64, f32, f64, bool, char, str, cstr, bytes, json or ptr")
        })
    }
}

impl std::fmt::Display for ArgKind {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.name())
    }
}

/// One described argument.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct MetaArg<'a> {
    /// The argument's name.
    pub name: &'a str,
    /// Its type.
    pub kind: ArgKind,
    /// Index (0-based) of the first stapsdt argument that carries it.
    pub first_note_arg: u8,
}

/// A parsed metadata record, borrowed from the file.
#[derive(Debug, Clone)]
pub struct ProbeMetadata<'a> {
    /// Provider name, as in the stapsdt note.
    pub provider: &'a str,
    /// Probe name, as in the stapsdt note.
    pub name: &'a str,
    /// Source file where the probe is declared (may be empty).
    pub file: &'a str,
    /// Source line (0 when unknown).
    pub line: u32,
    /// The doc comment (may be empty).
    pub doc: &'a str,
    entries: &'a [u8],
    names: &'a str,
    /// File offset of the note, 0 when parsed from a bare buffer.
    pub offset: u64,
}

impl<'a> ProbeMetadata<'a> {
    /// Parse a record's descriptor.
    pub fn parse(desc: &'a [u8], endian: Endian, offset: u64) -> Result<Self> {
        let bad = |reason: &str| Error::MalformedMetadata { offset, reason: reason.to_string() };
        if desc.len() < HEADER_LEN {
            return Err(bad("shorter than the 8-byte header"));
        }
        let version = endian.u16([desc[0], desc[1]]);
        if version == 0 {
            return Err(bad("version 0 is invalid"));
        }
        if version > METADATA_VERSION {
            return Err(Error::UnsupportedMetadataVersion { offset, version, known: METADATA_VERSION });
        }
        let count = desc[2] as usize;
        if count > MAX_NOTE_ARGS {
            return Err(bad("more than 12 arguments"));
        }
        let line = endian.u32(desc[4..8].try_into().expect("4 bytes"));
        let entries_end = HEADER_LEN + count * ARG_ENTRY_LEN;
        let entries = desc.get(HEADER_LEN..entries_end).ok_or_else(|| bad("argument table is truncated"))?;
        let mut rest = &desc[entries_end..];
        let mut next = |what: &str| -> Result<&'a str> {
            let end = rest.iter().position(|&b| b == 0).ok_or_else(|| bad(&format!("{what} is not NUL-terminated")))?;
            let s = std::str::from_utf8(&rest[..end]).map_err(|_| bad(&format!("{what} is not UTF-8")))?;
            rest = &rest[end + 1..];
            Ok(s)
        };
        let provider = next("provider")?;
        let name = next("probe name")?;
        let file = next("source file")?;
        let doc = next("doc")?;
        let mut names_len = 0;
        for i in 0..count {
            names_len += next(&format!("name of argument {}", i + 1))?.len() + 1;
        }
        let names_start = entries_end + provider.len() + name.len() + file.len() + doc.len() + 4;
        let names = std::str::from_utf8(&desc[names_start..names_start + names_len])
            .map_err(|_| bad("argument names are not UTF-8"))?;
        if provider.is_empty() || name.is_empty() {
            return Err(bad("empty provider or probe name"));
        }
        let md = ProbeMetadata { provider, name, file, line, doc, entries, names, offset };
        let mut used = 0usize;
        for a in md.args() {
            let a = a?;
            if usize::from(a.first_note_arg) != used {
                return Err(bad("arguments do not occupy consecutive stapsdt arguments"));
            }
            used += a.kind.note_args();
        }
        if used > MAX_NOTE_ARGS {
            return Err(bad("arguments need more than 12 stapsdt arguments"));
        }
        Ok(md)
    }

    /// Number of described arguments.
    pub fn arg_count(&self) -> usize {
        self.entries.len() / ARG_ENTRY_LEN
    }

    /// Number of stapsdt arguments the described arguments occupy.
    pub fn note_arg_count(&self) -> usize {
        self.args().filter_map(|a| a.ok()).map(|a| a.kind.note_args()).sum()
    }

    /// The described arguments in order.
    pub fn args(&self) -> impl Iterator<Item = Result<MetaArg<'a>>> + 'a {
        let offset = self.offset;
        self.entries.chunks_exact(ARG_ENTRY_LEN).zip(self.names.split_terminator('\0')).map(move |(e, name)| {
            let kind = ArgKind::decode(e[0], e[1], e[3])
                .map_err(|r| Error::MalformedMetadata { offset, reason: format!("argument `{name}`: {r}") })?;
            Ok(MetaArg { name, kind, first_note_arg: e[2] })
        })
    }
}

/// Whether `s` may be a provider or probe name that every tracer accepts in
/// a probe description: ASCII letters, digits and `_`, not starting with a
/// digit. Writers (the provider macros, run-time providers) check it.
pub fn valid_name(s: &str) -> bool {
    let mut chars = s.chars();
    matches!(chars.next(), Some(c) if c.is_ascii_alphabetic() || c == '_')
        && chars.all(|c| c.is_ascii_alphanumeric() || c == '_')
}

/// An owned metadata record, for writing.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct ProbeMetadataBuf {
    /// Provider name.
    pub provider: String,
    /// Probe name.
    pub name: String,
    /// Source file.
    pub file: String,
    /// Source line.
    pub line: u32,
    /// Doc comment.
    pub doc: String,
    /// Arguments: name and kind, in order.
    pub args: Vec<(String, ArgKind)>,
}

impl ProbeMetadataBuf {
    /// The stapsdt argument count the arguments need.
    pub fn note_arg_count(&self) -> usize {
        self.args.iter().map(|(_, k)| k.note_args()).sum()
    }

    /// Encode the descriptor for a file of word size `word` (4 or 8) and byte order `endian`.
    pub fn encode_desc(&self, endian: Endian, word: u8) -> Result<Vec<u8>> {
        if self.note_arg_count() > MAX_NOTE_ARGS {
            return Err(Error::Write(format!(
                "probe {}:{} needs {} stapsdt arguments; the limit is {MAX_NOTE_ARGS}",
                self.provider,
                self.name,
                self.note_arg_count()
            )));
        }
        let strings = [&self.provider, &self.name, &self.file, &self.doc];
        if self.provider.is_empty() || self.name.is_empty() {
            return Err(Error::Write("provider and probe names must not be empty".into()));
        }
        if strings.into_iter().chain(self.args.iter().map(|(n, _)| n)).any(|s| s.contains('\0')) {
            return Err(Error::Write(format!("probe {}:{}: a string contains NUL", self.provider, self.name)));
        }
        let mut out = Vec::new();
        out.extend_from_slice(&endian.put_u16(METADATA_VERSION));
        out.push(self.args.len() as u8);
        out.push(0);
        out.extend_from_slice(&endian.put_u32(self.line));
        let mut next = 0u8;
        for (_, kind) in &self.args {
            let (code, size, flags) = kind.encode(word);
            out.extend_from_slice(&[code, size, next, flags]);
            next += kind.note_args() as u8;
        }
        for s in strings.into_iter().chain(self.args.iter().map(|(n, _)| n)) {
            out.extend_from_slice(s.as_bytes());
            out.push(0);
        }
        Ok(out)
    }

    /// Encode the whole note (header, name, descriptor, padding to 4).
    pub fn encode_note(&self, endian: Endian, word: u8) -> Result<Vec<u8>> {
        let desc = self.encode_desc(endian, word)?;
        let mut out = Vec::new();
        crate::write::encode_note(&mut out, endian, 4, SDTRACE_NOTE_NAME, NT_SDTRACE_PROBE, &desc);
        Ok(out)
    }
}

/// Iterator over the metadata records of a file; stops after the first
/// error unless told to [`keep_going`](MetadataRecords::keep_going).
#[derive(Debug)]
pub struct MetadataRecords<'a> {
    regions: std::vec::IntoIter<Result<RawNotes<'a>>>,
    current: Option<RawNotes<'a>>,
    endian: Endian,
    failed: bool,
    keep_going: bool,
}

impl MetadataRecords<'_> {
    /// Go on after an error: a malformed record is skipped; a broken note
    /// frame, or a section that cannot be read, ends that section and the
    /// next one goes on. Each error is yielded in its place.
    pub fn keep_going(mut self) -> Self {
        self.keep_going = true;
        self
    }
}

impl<'a> Iterator for MetadataRecords<'a> {
    type Item = Result<ProbeMetadata<'a>>;

    fn next(&mut self) -> Option<Self::Item> {
        while !self.failed {
            if self.current.is_none() {
                match self.regions.next()? {
                    Ok(notes) => self.current = Some(notes),
                    Err(e) => {
                        self.failed = !self.keep_going;
                        return Some(Err(e));
                    }
                }
            }
            match self.current.as_mut().and_then(Iterator::next) {
                Some(Ok(n)) if n.name == SDTRACE_NOTE_NAME && n.n_type == NT_SDTRACE_PROBE => {
                    let r = ProbeMetadata::parse(n.desc, self.endian, n.offset);
                    self.failed = r.is_err() && !self.keep_going;
                    return Some(r);
                }
                Some(Ok(_)) => {}
                Some(Err(e)) => {
                    self.failed = !self.keep_going;
                    self.current = None;
                    return Some(Err(e));
                }
                None => self.current = None,
            }
        }
        None
    }
}

impl<'a> ElfFile<'a> {
    /// Every sdtrace metadata record in `.note.sdtrace` sections.
    pub fn metadata_records(&self) -> MetadataRecords<'a> {
        let regions: Vec<_> = self
            .sections()
            .iter()
            .filter(|s| s.kind == goblin::elf::section_header::SHT_NOTE && s.name == METADATA_SECTION)
            .map(|s| {
                self.file_bytes(s.offset, s.size, "section .note.sdtrace")
                    .map(|d| RawNotes::new(d, s.offset, s.align, self.endian()))
            })
            .collect();
        MetadataRecords {
            regions: regions.into_iter(),
            current: None,
            endian: self.endian(),
            failed: false,
            keep_going: false,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sample() -> ProbeMetadataBuf {
        ProbeMetadataBuf {
            provider: "http".into(),
            name: "request__start".into(),
            file: "src/server.rs".into(),
            line: 42,
            doc: "A request was accepted.".into(),
            args: vec![("id".into(), ArgKind::Int { size: 8, signed: false }), ("path".into(), ArgKind::Str)],
        }
    }

    #[test]
    fn kind_names_parse_back() {
        let mut kinds = vec![
            ArgKind::Bool,
            ArgKind::Char,
            ArgKind::Float { size: 4 },
            ArgKind::Float { size: 8 },
            ArgKind::Str,
            ArgKind::CStr,
            ArgKind::Bytes,
            ArgKind::Json,
            ArgKind::Pointer,
        ];
        for size in [1, 2, 4, 8] {
            kinds.extend([ArgKind::Int { size, signed: true }, ArgKind::Int { size, signed: false }]);
        }
        for k in kinds {
            assert_eq!(k.name().parse::<ArgKind>(), Ok(k));
        }
        for bad in ["", "i", "i12", "u128", "string", "kind9"] {
            assert!(bad.parse::<ArgKind>().unwrap_err().contains(&format!("`{bad}`")), "{bad}");
        }
    }

    #[test]
    fn round_trip_both_byte_orders() {
        for endian in [Endian::Little, Endian::Big] {
            let desc = sample().encode_desc(endian, 8).unwrap();
            let md = ProbeMetadata::parse(&desc, endian, 0).unwrap();
            assert_eq!(
                (md.provider, md.name, md.file, md.line, md.doc),
                ("http", "request__start", "src/server.rs", 42, "A request was accepted.")
            );
            let args: Vec<_> = md.args().map(Result::unwrap).collect();
            assert_eq!(
                args[0],
                MetaArg { name: "id", kind: ArgKind::Int { size: 8, signed: false }, first_note_arg: 0 }
            );
            assert_eq!(args[1], MetaArg { name: "path", kind: ArgKind::Str, first_note_arg: 1 });
            assert_eq!(md.note_arg_count(), 3);
        }
    }

    #[test]
    fn newer_version_is_reported_not_misread() {
        let mut desc = sample().encode_desc(Endian::Little, 8).unwrap();
        desc[0] = 2;
        assert!(matches!(
            ProbeMetadata::parse(&desc, Endian::Little, 7),
            Err(Error::UnsupportedMetadataVersion { version: 2, offset: 7, .. })
        ));
    }

    #[test]
    fn too_many_note_args_is_a_write_error() {
        let mut md = sample();
        md.args = (0..7).map(|i| (format!("s{i}"), ArgKind::Str)).collect();
        assert!(md.encode_desc(Endian::Little, 8).is_err());
    }

    #[test]
    fn truncated_records_are_errors() {
        let desc = sample().encode_desc(Endian::Little, 8).unwrap();
        for len in 0..desc.len() {
            assert!(ProbeMetadata::parse(&desc[..len], Endian::Little, 0).is_err(), "len {len}");
        }
    }

    #[test]
    fn unknown_kind_degrades_to_integer() {
        let mut desc = sample().encode_desc(Endian::Little, 8).unwrap();
        desc[8] = 200;
        let md = ProbeMetadata::parse(&desc, Endian::Little, 0).unwrap();
        assert_eq!(md.args().next().unwrap().unwrap().kind, ArgKind::Unknown { code: 200, size: 8 });
    }
}
