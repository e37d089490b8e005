//! Notes as GNU assembler source, for code that emits probes at compile
//! time (the `#[provider]` macros put this text into `asm!` and
//! `global_asm!`).
//!
//! The byte layouts are the same as [`crate::write`] and
//! [`crate::meta::ProbeMetadataBuf::encode_note`] produce; here the assembler
//! lays them out, so that addresses (probe site, `.stapsdt.base`, semaphore)
//! become relocations and the source file and line can come from the
//! compiler (`file!()`, `line!()`) after this text is generated. Multi-byte
//! fields use `.2byte`/`.4byte`/`.8byte`, which the assembler writes in the
//! target's byte order. Only numeric local labels are used, so the text can
//! be repeated in one assembly unit.

use crate::error::{Error, Result};
use crate::meta::{ProbeMetadataBuf, METADATA_SECTION, METADATA_VERSION, NT_SDTRACE_PROBE};

/// A metadata record note as assembler text with two holes: assembling
/// `head`, the source line as a decimal integer, `mid`, the source file
/// path, then `tail` emits the record (see `docs/metadata-record.md`).
///
/// The file path goes inside a `.asciz "…"` string, so it must not contain
/// `"`, `\`, a newline, or (inside Rust's `asm!` templates) `{` or `}`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct GasMetadataNote {
    /// Text up to the line number.
    pub head: String,
    /// Text between the line number and the file path.
    pub mid: String,
    /// Text after the file path.
    pub tail: String,
}

fn bytes_directive(out: &mut String, bytes: &[u8]) {
    for chunk in bytes.chunks(16) {
        out.push_str("  .byte ");
        let list: Vec<String> = chunk.iter().map(|b| b.to_string()).collect();
        out.push_str(&list.join(","));
        out.push('\n');
    }
}

fn cstring_directive(out: &mut String, s: &str) {
    let mut bytes = s.as_bytes().to_vec();
    bytes.push(0);
    bytes_directive(out, &bytes);
}

impl ProbeMetadataBuf {
    /// The record as assembler text, for a target whose address size is
    /// `word` bytes (4 or 8); `self.file` and `self.line` are ignored (they
    /// fill the holes of [`GasMetadataNote`]). The text switches to the
    /// non-allocated note section [`METADATA_SECTION`] and back.
    pub fn encode_gas(&self, word: u8) -> Result<GasMetadataNote> {
        // encode_desc validates names, NULs and the argument budget; its
        // argument table is reused byte for byte.
        let mut probe = self.clone();
        probe.file.clear();
        probe.line = 0;
        let desc = probe.encode_desc(crate::Endian::Little, word)?;
        let table = &desc[8..8 + 4 * self.args.len()];
        let head = format!(
            "  .pushsection {METADATA_SECTION},\"\",\"note\"\n  .balign 4\n  .4byte 2f-1f, 4f-3f, {NT_SDTRACE_PROBE}\n1:\n  .asciz \"sdtrace\"\n2:\n  .balign 4\n3:\n  .2byte {METADATA_VERSION}\n  .byte {}, 0\n  .4byte ",
            self.args.len()
        );
        let mut mid = String::from("\n");
        bytes_directive(&mut mid, table);
        cstring_directive(&mut mid, &self.provider);
        cstring_directive(&mut mid, &self.name);
        mid.push_str("  .asciz \"");
        let mut tail = String::from("\"\n");
        cstring_directive(&mut tail, &self.doc);
        for (name, _) in &self.args {
            cstring_directive(&mut tail, name);
        }
        tail.push_str("4:\n  .balign 4\n  .popsection\n");
        Ok(GasMetadataNote { head, mid, tail })
    }
}

/// Assembler text for one stapsdt note whose probe site is the local label
/// `990:` just before it, with `.stapsdt.base` defined once per assembly
/// unit (weak, hidden, in a COMDAT group, as `sys/sdt.h` does).
///
/// `semaphore` is the symbol of the probe's semaphore (or `0`), `args` the
/// argument string (`8@%rdi -4@%esi`), copied verbatim so that it may hold
/// `asm!` operand placeholders. `word` is the address size, 4 or 8.
pub fn stapsdt_note_gas(provider: &str, name: &str, args: &str, semaphore: &str, word: u8) -> Result<String> {
    for s in [provider, name, args, semaphore] {
        if s.contains(['"', '\\', '\n', '\0']) {
            return Err(Error::Write(format!("stapsdt note {provider}:{name}: `{s}` cannot go into assembler text")));
        }
    }
    if provider.is_empty() || name.is_empty() {
        return Err(Error::Write("stapsdt note: provider and probe names must not be empty".into()));
    }
    let w = if word == 4 { ".4byte" } else { ".8byte" };
    Ok(format!(
        "  .pushsection .note.stapsdt,\"?\",\"note\"\n  .balign 4\n  .4byte 992f-991f, 994f-993f, 3\n991:\n  .asciz \"stapsdt\"\n992:\n  .balign 4\n993:\n  {w} 990b\n  {w} _.stapsdt.base\n  {w} {semaphore}\n  .asciz \"{provider}\"\n  .asciz \"{name}\"\n  .asciz \"{args}\"\n994:\n  .balign 4\n  .popsection\n.ifndef _.stapsdt.base\n  .pushsection .stapsdt.base,\"axGR\",\"progbits\",.stapsdt.base,comdat\n  .weak _.stapsdt.base\n  .hidden _.stapsdt.base\n_.stapsdt.base:\n  .space 1\n  .size _.stapsdt.base, 1\n  .popsection\n.endif\n"
    ))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ArgKind;
    use std::process::Command;

    fn sample() -> ProbeMetadataBuf {
        ProbeMetadataBuf {
            provider: "http".into(),
            name: "request__start".into(),
            file: String::new(),
            line: 0,
            doc: "A request \"arrived\"; {braces} and ünïcode".into(),
            args: vec![("id".into(), ArgKind::Int { size: 8, signed: false }), ("path".into(), ArgKind::Str)],
        }
    }

    #[test]
    fn gas_text_has_no_asm_template_braces() {
        let g = sample().encode_gas(8).unwrap();
        for part in [&g.head, &g.mid, &g.tail] {
            assert!(!part.contains(['{', '}']), "{part}");
        }
    }

    #[test]
    fn too_many_arguments_is_an_error() {
        let mut p = sample();
        p.args = (0..7).map(|i| (format!("s{i}"), ArgKind::Str)).collect();
        assert!(p.encode_gas(8).is_err());
    }

    /// Assembles the text with the system's C compiler and reads the record
    /// back with this crate's reader: a write→read round trip through a
    /// real assembler.
    #[test]
    fn assembled_record_reads_back() {
        let g = sample().encode_gas(8).unwrap();
        let note = stapsdt_note_gas("http", "request__start", "8@%rdi 8@%rsi 8@%rdx", "0", 8).unwrap();
        let src =
            format!("  .text\n  .globl f\nf:\n990:\n  nop\n{note}{}42{}src/server.rs{}  ret\n", g.head, g.mid, g.tail);
        let dir = std::env::temp_dir().join(format!("stap-notes-gas-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let s = dir.join("probe.s");
        let o = dir.join("probe.o");
        std::fs::write(&s, src).unwrap();
        let st = Command::new("cc").arg("-c").arg(&s).arg("-o").arg(&o).status().expect("run cc");
        assert!(st.success(), "the assembler rejected the text");
        let bytes = std::fs::read(&o).unwrap();
        let elf = crate::ElfFile::parse(&bytes).unwrap();
        let records: Vec<_> = elf.metadata_records().collect::<Result<_>>().unwrap();
        assert_eq!(records.len(), 1);
        let r = &records[0];
        assert_eq!((r.provider, r.name, r.file, r.line), ("http", "request__start", "src/server.rs", 42));
        assert_eq!(r.doc, sample().doc);
        let args: Vec<_> = r.args().map(|a| a.unwrap()).collect();
        assert_eq!(args[1].name, "path");
        assert_eq!(args[1].kind, ArgKind::Str);
        assert_eq!(args[1].first_note_arg, 1);
        let notes: Vec<_> = elf.stapsdt_notes().collect::<Result<_>>().unwrap();
        assert_eq!(notes.len(), 1);
        assert_eq!(notes[0].args, "8@%rdi 8@%rsi 8@%rdx");
        std::fs::remove_dir_all(&dir).ok();
    }
}
