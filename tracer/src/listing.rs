//! `sdtrace list` output: the human table and the stable JSON document
//! (schema `sdtrace.list/1`, specified in `docs/list-json.md`).
//!
//! Names, paths, argument strings and docs come from the files listed, so
//! they can be anything: the table shows control characters as escapes
//! ([`escape`]) and shortens names past [`NAME_SHOWN`] bytes; JSON carries
//! every string whole, escaped as JSON escapes it.

use std::borrow::Cow;
use std::fmt::Write as _;
use std::io::{self, Write};

use serde::Serialize;

use crate::discovery::{ObjectProbes, Probe, Site};

/// The widest `provider:name` the table aligns its columns to; a longer
/// name runs past its column (real files stay under 50).
pub const NAME_COLUMN: usize = 64;
/// The longest `provider:name` the table shows whole, in bytes; a longer
/// one is cut there, with its length (`--json` has it whole).
pub const NAME_SHOWN: usize = 160;

/// `text` with every character that could move the cursor, end a line,
/// erase or recolour the terminal shown as an escape: `\n`, `\r`, `\t`,
/// `\xHH` for other C0 controls and DEL, `\u{HHHH}` for C1 controls,
/// bidirectional overrides and line separators; a backslash is `\\`, so
/// that an escape in the output always stands for one character.
pub fn escape(text: &str) -> Cow<'_, str> {
    let special = |c: char| {
        c.is_control()
            || c == '\\'
            || matches!(c, '\u{2028}' | '\u{2029}' | '\u{200e}' | '\u{200f}' | '\u{202a}'..='\u{202e}' | '\u{2066}'..='\u{2069}')
    };
    if !text.chars().any(special) {
        return Cow::Borrowed(text);
    }
    let mut out = String::with_capacity(text.len() + 8);
    for c in text.chars() {
        match c {
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            '\\' => out.push_str("\\\\"),
            c if (c as u32) < 0x80 && special(c) => {
                let _ = write!(out, "\\x{:02x}", c as u32);
            }
            c if special(c) => {
                let _ = write!(out, "\\u{{{:04x}}}", c as u32);
            }
            c => out.push(c),
        }
    }
    Cow::Owned(out)
}

/// `provider:name` as the table shows it: escaped, and cut after
/// [`NAME_SHOWN`] bytes with the full length in bytes.
fn shown_name(p: &Probe) -> String {
    let full = escape(&format!("{}:{}", p.provider, p.name)).into_owned();
    if full.len() <= NAME_SHOWN {
        return full;
    }
    let mut cut = NAME_SHOWN - 24;
    while !full.is_char_boundary(cut) {
        cut -= 1;
    }
    format!("{}…({} bytes)", &full[..cut], p.provider.len() + 1 + p.name.len())
}

/// `text` padded with spaces to `width` characters (no format width: those
/// stop at 65,535).
fn padded(text: &str, width: usize) -> String {
    let n = text.chars().count();
    let mut out = String::from(text);
    out.extend(std::iter::repeat_n(' ', width.saturating_sub(n)));
    out
}

/// Probe name as a user types it in D (`function__entry` → `function-entry`)
/// is shown beside the note's spelling only in `--help`; listings keep the
/// note's own name so that they match `readelf -n` and bpftrace.
fn arg_summary(p: &Probe) -> String {
    let summary = match &p.description {
        Some(d) => d.args.iter().map(|a| format!("{} {}", a.name, a.kind)).collect::<Vec<_>>().join(", "),
        None => p.note_arg_types().join(", "),
    };
    escape(&summary).into_owned()
}

/// Write one `sdtrace: warning: PATH: …` line to `err` for each thing left
/// out of `objects` (malformed notes and records).
pub fn write_warnings(err: &mut dyn Write, objects: &[crate::discovery::ObjectProbes]) -> io::Result<()> {
    for o in objects {
        let path = o.path.to_string_lossy();
        for w in &o.warnings {
            writeln!(err, "sdtrace: warning: {}: {}", escape(&path), escape(w))?;
        }
    }
    Ok(())
}

/// Write the human listing of `objects`. `verbose` adds every site.
pub fn write_text(out: &mut dyn Write, objects: &[(&ObjectProbes, Vec<&Probe>)], verbose: bool) -> io::Result<()> {
    for (obj, probes) in objects {
        let arch = obj.arch.map_or("unknown-arch".to_string(), |a| a.to_string());
        let id = obj.build_id.as_deref().map(|b| format!(", build-id {b}")).unwrap_or_default();
        let n = probes.len();
        let discarded = match obj.discarded_sites {
            0 => String::new(),
            d => format!(" ({d} note{} for code the linker discarded, ignored)", if d == 1 { "" } else { "s" }),
        };
        writeln!(
            out,
            "{} ({arch} {}{id}): {n} probe{}{discarded}",
            escape(&obj.path.to_string_lossy()),
            obj.kind,
            if n == 1 { "" } else { "s" }
        )?;
        let names: Vec<String> = probes.iter().map(|p| shown_name(p)).collect();
        let width = names.iter().map(|n| n.chars().count()).filter(|&w| w <= NAME_COLUMN).max().unwrap_or(0);
        for (p, full) in probes.iter().zip(&names) {
            let sites = p.sites.len();
            let sites = format!("{sites} site{}", if sites == 1 { "" } else { "s" });
            let sem = if p.semaphore.is_some() { "semaphore" } else { "" };
            writeln!(out, "  {}  {sites:<8} {sem:<9}  ({})", padded(full, width), arg_summary(p))?;
            if let Some(note) = crate::catalog::firing_note(&p.provider, &p.name, &file_name(&obj.path)) {
                writeln!(out, "      note: {note}")?;
            }
            if let Some(d) = &p.description {
                // `lines` ends a line at \n only: escape what remains.
                for line in d.doc.lines().filter(|l| !l.trim().is_empty()) {
                    writeln!(out, "      {}", escape(line.trim()))?;
                }
                if verbose {
                    if let Some((file, line)) = &d.source {
                        writeln!(out, "      declared at {}:{line}", escape(file))?;
                    }
                }
            }
            if verbose {
                if let Some((addr, off)) = p.semaphore {
                    let off = off.map_or("not in file".into(), |o| format!("{o:#x}"));
                    writeln!(out, "      semaphore {addr:#x} (file offset {off})")?;
                }
                for s in &p.sites {
                    let off = s.file_offset.map_or("not in file".into(), |o| format!("{o:#x}"));
                    writeln!(out, "      site {:#x} (file offset {off})  {}", s.address, escape(&s.raw_args))?;
                    let function = s.function.as_deref().map(escape);
                    let source = s.source.as_ref().map(|(file, line)| (escape(file), line));
                    match (function, source) {
                        (Some(f), Some((file, line))) => writeln!(out, "        in {f} at {file}:{line}")?,
                        (Some(f), None) => writeln!(out, "        in {f}")?,
                        (None, Some((file, line))) => writeln!(out, "        at {file}:{line}")?,
                        (None, None) => {}
                    }
                    for (i, a) in s.args.iter().enumerate() {
                        match a {
                            Ok(a) => writeln!(out, "        arg{i}: {} {}", a.ty, escape(&a.location))?,
                            Err(e) => writeln!(out, "        arg{i}: cannot be read: {}", escape(e))?,
                        }
                    }
                }
            }
        }
    }
    Ok(())
}

// The JSON document, as borrowed views serialized as they are reached: no
// tree of values is built (for 200,000 probes one took 2 GB), and the
// fields come out in the order the structs declare them.

/// `{"file", "line"}`.
#[derive(Serialize)]
struct SourceJson<'a> {
    file: &'a str,
    line: u32,
}

/// `{"address", "file_offset"}` of a semaphore.
#[derive(Serialize)]
struct SemaphoreJson {
    address: u64,
    file_offset: Option<u64>,
}

/// One entry of `probes[].args`.
#[derive(Serialize)]
struct ProbeArgJson<'a> {
    index: usize,
    name: Option<&'a str>,
    #[serde(rename = "type")]
    ty: Cow<'a, str>,
}

/// One entry of `sites[].args`: the parsed argument, or why it cannot be read.
#[derive(Serialize)]
#[serde(untagged)]
enum SiteArgJson<'a> {
    Parsed {
        #[serde(rename = "type")]
        ty: &'a str,
        location: &'a str,
    },
    Error {
        error: &'a str,
    },
}

#[derive(Serialize)]
struct SiteJson<'a> {
    address: u64,
    file_offset: Option<u64>,
    args_raw: &'a str,
    args: Vec<SiteArgJson<'a>>,
    function: Option<&'a str>,
    source: Option<SourceJson<'a>>,
}

impl<'a> SiteJson<'a> {
    fn new(s: &'a Site) -> Self {
        let args = s
            .args
            .iter()
            .map(|a| match a {
                Ok(a) => SiteArgJson::Parsed { ty: &a.ty, location: &a.location },
                Err(e) => SiteArgJson::Error { error: e },
            })
            .collect();
        SiteJson {
            address: s.address,
            file_offset: s.file_offset,
            args_raw: &s.raw_args,
            args,
            function: s.function.as_deref(),
            source: s.source.as_ref().map(|(file, line)| SourceJson { file, line: *line }),
        }
    }
}

/// A probe's sites, serialized one by one.
struct SitesJson<'a>(&'a [Site]);

impl Serialize for SitesJson<'_> {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.collect_seq(self.0.iter().map(SiteJson::new))
    }
}

/// The file name of `path`, which runtime notes are keyed by.
fn file_name(path: &std::path::Path) -> String {
    path.file_name().map(|f| f.to_string_lossy().into_owned()).unwrap_or_default()
}

#[derive(Serialize)]
struct ProbeJson<'a> {
    provider: &'a str,
    name: &'a str,
    semaphore: Option<SemaphoreJson>,
    /// What it takes for the probe to fire, when the runtime needs more
    /// than the probe itself (`catalog::firing_note`).
    #[serde(skip_serializing_if = "Option::is_none")]
    note: Option<String>,
    args: Vec<ProbeArgJson<'a>>,
    doc: Option<&'a str>,
    source: Option<SourceJson<'a>>,
    sites: SitesJson<'a>,
}

impl<'a> ProbeJson<'a> {
    fn new(p: &'a Probe, object: &str) -> Self {
        let args = match &p.description {
            Some(d) => d
                .args
                .iter()
                .enumerate()
                .map(|(index, a)| ProbeArgJson { index, name: Some(&a.name), ty: Cow::Owned(a.kind.name()) })
                .collect(),
            None => p
                .note_arg_types()
                .into_iter()
                .enumerate()
                .map(|(index, t)| ProbeArgJson { index, name: None, ty: Cow::Owned(t) })
                .collect(),
        };
        let d = p.description.as_ref();
        ProbeJson {
            provider: &p.provider,
            name: &p.name,
            semaphore: p.semaphore.map(|(address, file_offset)| SemaphoreJson { address, file_offset }),
            note: crate::catalog::firing_note(&p.provider, &p.name, object),
            args,
            doc: d.map(|d| d.doc.as_str()),
            source: d.and_then(|d| d.source.as_ref()).map(|(file, line)| SourceJson { file, line: *line }),
            sites: SitesJson(&p.sites),
        }
    }
}

/// The probes of one object (and its file name), serialized one by one.
struct ProbesJson<'a>(&'a [&'a Probe], String);

impl Serialize for ProbesJson<'_> {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.collect_seq(self.0.iter().map(|p| ProbeJson::new(p, &self.1)))
    }
}

#[derive(Serialize)]
struct ObjectJson<'a> {
    path: Cow<'a, str>,
    arch: Option<&'static str>,
    kind: String,
    build_id: Option<&'a str>,
    probes: ProbesJson<'a>,
}

/// The objects, serialized one by one.
struct ObjectsJson<'a>(&'a [(&'a ObjectProbes, Vec<&'a Probe>)]);

impl Serialize for ObjectsJson<'_> {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.collect_seq(self.0.iter().map(|(o, probes)| ObjectJson {
            // A path need not be UTF-8; serde refuses one that is not.
            path: o.path.to_string_lossy(),
            arch: o.arch.map(|a| a.name()),
            kind: o.kind.to_string(),
            build_id: o.build_id.as_deref(),
            probes: ProbesJson(probes, file_name(&o.path)),
        }))
    }
}

#[derive(Serialize)]
struct ListJson<'a> {
    schema: &'static str,
    objects: ObjectsJson<'a>,
}

/// Write the JSON document for `objects`.
pub fn write_json(out: &mut dyn Write, objects: &[(&ObjectProbes, Vec<&Probe>)]) -> io::Result<()> {
    serde_json::to_writer_pretty(&mut *out, &ListJson { schema: "sdtrace.list/1", objects: ObjectsJson(objects) })?;
    writeln!(out)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::discovery::ObjectProbes;
    use stap_notes::ElfKind;

    #[test]
    fn control_characters_are_escaped_and_plain_text_is_borrowed() {
        assert!(matches!(escape("python:function__entry"), Cow::Borrowed(_)));
        assert_eq!(escape("a\nb\r\tc\\d"), r"a\nb\r\tc\\d");
        assert_eq!(escape("\x1b[2J\x07\x7f\0"), r"\x1b[2J\x07\x7f\x00");
        assert_eq!(escape("\u{9b}x\u{202e}gnp.exe\u{2028}"), r"\u{009b}x\u{202e}gnp.exe\u{2028}");
        assert_eq!(escape("héllo ✓"), "héllo ✓");
    }

    fn object(names: &[String]) -> ObjectProbes {
        let probes = names
            .iter()
            .map(|n| Probe {
                provider: "p".into(),
                name: n.clone(),
                semaphore: None,
                sites: Vec::new(),
                description: None,
            })
            .collect();
        ObjectProbes {
            path: "/f".into(),
            arch: None,
            kind: ElfKind::Executable,
            build_id: None,
            probes,
            orphan_records: 0,
            discarded_sites: 0,
            warnings: Vec::new(),
            writable_segments: Vec::new(),
            entry_offset: None,
        }
    }

    fn text(names: &[String]) -> String {
        let obj = object(names);
        let probes = obj.probes.iter().collect();
        let mut out = Vec::new();
        write_text(&mut out, &[(&obj, probes)], false).unwrap();
        String::from_utf8(out).unwrap()
    }

    #[test]
    fn a_long_name_is_cut_and_does_not_widen_the_column() {
        let names = ["short".to_string(), "x".repeat(100_000), "é".repeat(NAME_SHOWN)];
        let out = text(&names);
        let lines: Vec<&str> = out.lines().collect();
        assert_eq!(lines[1], "  p:short  0 sites             ()");
        assert!(lines[2].starts_with("  p:xxx") && lines[2].contains("…(100002 bytes)  0 sites"), "{}", lines[2]);
        assert!(lines[2].len() < NAME_SHOWN + 40);
        // Cut on a character boundary.
        assert!(lines[3].contains("é…(322 bytes)"), "{}", lines[3]);
    }

    #[test]
    fn names_up_to_the_column_width_align() {
        let names = ["a".to_string(), "b".repeat(NAME_COLUMN - 2)];
        let out = text(&names);
        let lines: Vec<&str> = out.lines().collect();
        assert_eq!(lines[1].find("0 sites"), lines[2].find("0 sites"), "{out}");
    }
}
