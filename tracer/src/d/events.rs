//! `printevent()`: one probe firing as `sdtrace trace` prints it, as an
//! aligned text line (`TIME(s) PID TID COMM PROBE ARGS`) or an NDJSON
//! object (schema in `docs/trace-json.md`).
//!
//! A USDT probe's event carries every argument its description names,
//! read as the kind says (a C string up to its NUL, a pointer and length
//! as exactly that many bytes, floats by their bits). The description is
//! the probe's metadata record or sdtrace's catalog, else the note's
//! sizes (`arg0`, `arg1`, …). Its shape is decided per site when the site
//! is matched ([`plan`]), so the program of each site reads just its
//! arguments, and a probe found later (`-Z`, a library opened later)
//! prints as well as one found at the start.
//!
//! Record layout after the 8-byte record header (host byte order):
//!
//! ```text
//! 0   u64 timestamp (bpf_ktime_get_ns)
//! 8   u64 tgid << 32 | tid
//! 16  u64 probe id
//! 24  u8  comm[16]
//! 40  u64 args[N]        integers sign- or zero-extended to 64 bits
//! ..  u8  strings[S][strsize]   in argument order
//! ```

use std::fmt::Write as _;

use stap_notes::meta::ArgKind;
use stap_notes::{Arch, ArgSpec};

use crate::bpf::usdt::{self, ArgPlan, StringRead};
use crate::discovery::Probe;

/// Byte offset of `args[0]` in an event (after the record header).
pub const ARGS_OFFSET: usize = 40;

/// How one argument of an event is decoded.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EventArg {
    /// Name from metadata or the catalog, else `argN`.
    pub name: String,
    /// Type in sdtrace's vocabulary.
    pub kind: ArgKind,
    /// Index of its (first) stapsdt argument slot.
    pub slot: usize,
    /// Index in the event's string area, for string kinds.
    pub string: Option<usize>,
}

/// What an event of one probe holds.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct EventFormat {
    /// Provider, as in the note (`python`).
    pub provider: String,
    /// Probe name, as in the note (`function__entry`).
    pub probe: String,
    /// Arguments to show.
    pub args: Vec<EventArg>,
    /// Number of stapsdt argument slots the event carries.
    pub slots: usize,
}

/// The arguments of `probe` by name and kind: its description (metadata
/// record or built-in catalog), or the note's sizes.
pub fn describe(probe: &Probe, notes: &[ArgSpec<'_>]) -> Vec<(String, ArgKind)> {
    if let Some(d) = &probe.description {
        return d.args.iter().map(|a| (a.name.clone(), a.kind)).collect();
    }
    notes
        .iter()
        .enumerate()
        .map(|(i, a)| {
            let kind = if a.ty.float {
                ArgKind::Float { size: a.ty.size }
            } else {
                ArgKind::Int { size: a.ty.size, signed: a.ty.signed }
            };
            (format!("arg{i}"), kind)
        })
        .collect()
}

/// How a site of `probe` with note arguments `raw_args` is read for
/// `printevent()`: the argument plans (strings marked) and the event's
/// format, or why it cannot be.
pub fn plan(probe: &Probe, raw_args: &str, arch: Arch) -> Result<(Vec<ArgPlan>, EventFormat), String> {
    let specs: Vec<ArgSpec<'_>> = stap_notes::args::parse_args(raw_args, arch).map_err(|e| e.to_string())?;
    let described = describe(probe, &specs);
    let needed: usize = described.iter().map(|(_, k)| k.note_args()).sum();
    if needed != specs.len() {
        return Err(format!("its description needs {needed} arguments but the note has {}", specs.len()));
    }
    let mut strings = vec![StringRead::No; specs.len()];
    let mut args = Vec::new();
    let (mut slot, mut string_index) = (0usize, 0usize);
    for (name, kind) in described {
        let string = match kind {
            ArgKind::CStr => Some(StringRead::NulTerminated),
            ArgKind::Str | ArgKind::Bytes | ArgKind::Json => Some(StringRead::WithLength { len_arg: slot + 1 }),
            _ => None,
        };
        let idx = string.map(|s| {
            strings[slot] = s;
            string_index += 1;
            string_index - 1
        });
        args.push(EventArg { name, kind, slot, string: idx });
        slot += kind.note_args();
    }
    let plans = specs.iter().zip(strings).map(|(s, st)| usdt::plan_arg(s, arch, st)).collect::<Result<Vec<_>, _>>()?;
    let format = EventFormat { provider: probe.provider.clone(), probe: probe.name.clone(), slots: plans.len(), args };
    Ok((plans, format))
}

/// Size in bytes of an event (without the record header) read with `plans`.
pub fn event_size(plans: &[ArgPlan], strsize: usize) -> usize {
    ARGS_OFFSET + 8 * plans.len() + strsize * plans.iter().filter(|a| a.string != StringRead::No).count()
}

/// Text lines or NDJSON objects.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Style {
    /// One aligned line per event, after a header.
    #[default]
    Text,
    /// One JSON object per line.
    Json,
}

/// Renders events; keeps the time of the first one (times count from it)
/// and a line buffer reused from event to event.
#[derive(Debug, Default)]
pub struct EventPrinter {
    style: Style,
    strsize: usize,
    start_ns: Option<u64>,
    line: String,
    /// Events printed.
    pub events: u64,
    /// Events too short for their probe's format (a bug if ever non-zero).
    pub malformed: u64,
}

fn u64_at(b: &[u8], off: usize) -> u64 {
    u64::from_ne_bytes(b[off..off + 8].try_into().expect("8 bytes"))
}

/// `s` in double quotes, with quotes, backslashes and control characters
/// escaped (JSON's `\u00XX`, or `\xXX` in text).
pub fn push_quoted(line: &mut String, s: &str, json: bool) {
    line.push('"');
    // Most text needs no escape: copy it whole.
    if !s.bytes().any(|b| b == b'"' || b == b'\\' || b < 0x20) {
        line.push_str(s);
        line.push('"');
        return;
    }
    for c in s.chars() {
        match c {
            '"' => line.push_str("\\\""),
            '\\' => line.push_str("\\\\"),
            '\n' => line.push_str("\\n"),
            '\t' => line.push_str("\\t"),
            c if (c as u32) < 0x20 => {
                let _ = if json { write!(line, "\\u{:04x}", c as u32) } else { write!(line, "\\x{:02x}", c as u32) };
            }
            c => line.push(c),
        }
    }
    line.push('"');
}

impl EventPrinter {
    /// A printer of `style` for strings of `strsize` bytes.
    pub fn new(style: Style, strsize: usize) -> Self {
        EventPrinter { style, strsize, ..EventPrinter::default() }
    }

    /// The column header of text events; nothing for NDJSON.
    pub fn header(&self) -> Option<String> {
        (self.style == Style::Text)
            .then(|| format!("{:>14} {:>7} {:>7} {:<16} {:<28} ARGS\n", "TIME(s)", "PID", "TID", "COMM", "PROBE"))
    }

    /// The line for event `ev` of a probe with `format`; `None` when the
    /// event is shorter than the format says (counted in `malformed`).
    pub fn render(&mut self, ev: &[u8], format: &EventFormat) -> Option<&str> {
        if ev.len() < ARGS_OFFSET + 8 * format.slots {
            self.malformed += 1;
            return None;
        }
        let ts = u64_at(ev, 0);
        let pid_tgid = u64_at(ev, 8);
        let start = *self.start_ns.get_or_insert(ts);
        let rel = ts.saturating_sub(start);
        let comm = &ev[24..40];
        let comm = String::from_utf8_lossy(&comm[..comm.iter().position(|&b| b == 0).unwrap_or(16)]);
        let (pid, tid) = ((pid_tgid >> 32) as u32, pid_tgid as u32);
        let json = self.style == Style::Json;
        let strsize = self.strsize;
        let line = &mut self.line;
        line.clear();
        if json {
            let _ = write!(line, "{{\"time_ns\":{rel},\"pid\":{pid},\"tid\":{tid},\"comm\":");
            push_quoted(line, &comm, true);
            line.push_str(",\"provider\":");
            push_quoted(line, &format.provider, true);
            line.push_str(",\"probe\":");
            push_quoted(line, &format.probe, true);
            line.push_str(",\"args\":{");
        } else {
            let _ = write!(line, "{:>4}.{:09} {pid:>7} {tid:>7} {comm:<16} ", rel / 1_000_000_000, rel % 1_000_000_000);
            // `provider:probe` left-aligned in 28 columns, without a
            // string made for it.
            let from = line.len();
            let _ = write!(line, "{}:{}", format.provider, format.probe);
            let width = line[from..].chars().count();
            line.extend(std::iter::repeat_n(' ', 28usize.saturating_sub(width)));
        }
        let strings_at = ARGS_OFFSET + 8 * format.slots;
        for (i, a) in format.args.iter().enumerate() {
            if json {
                if i > 0 {
                    line.push(',');
                }
                push_quoted(line, &a.name, true);
                line.push(':');
            } else {
                let _ = write!(line, " {}=", a.name);
            }
            let raw = u64_at(ev, ARGS_OFFSET + 8 * a.slot);
            let text = |idx: usize, len: Option<usize>| -> &[u8] {
                let from = strings_at + idx * strsize;
                let area = ev.get(from..from + strsize).unwrap_or(&[]);
                let end = match len {
                    Some(l) => l.min(area.len()),
                    None => area.iter().position(|&b| b == 0).unwrap_or(area.len()),
                };
                &area[..end]
            };
            let len_of = || {
                let at = ARGS_OFFSET + 8 * (a.slot + 1);
                ev.get(at..at + 8).map(|_| u64_at(ev, at) as usize)
            };
            match (a.kind, a.string) {
                (ArgKind::CStr, Some(s)) => push_quoted(line, &String::from_utf8_lossy(text(s, None)), json),
                (ArgKind::Str, Some(s)) => push_quoted(line, &String::from_utf8_lossy(text(s, len_of())), json),
                (ArgKind::Json, Some(s)) => {
                    let t = String::from_utf8_lossy(text(s, len_of()));
                    if json && serde_json::from_str::<serde_json::Value>(&t).is_ok() {
                        line.push_str(&t);
                    } else {
                        push_quoted(line, &t, json);
                    }
                }
                (ArgKind::Bytes, Some(s)) => {
                    line.push('"');
                    for b in text(s, len_of()) {
                        let _ = write!(line, "{b:02x}");
                    }
                    line.push('"');
                }
                (ArgKind::Int { signed: true, .. }, _) => {
                    let _ = write!(line, "{}", raw as i64);
                }
                (ArgKind::Bool, _) => line.push_str(if raw & 0xff != 0 { "true" } else { "false" }),
                (ArgKind::Char, _) => match char::from_u32(raw as u32) {
                    Some(c) => push_quoted(line, &c.to_string(), json),
                    None => {
                        let _ = write!(line, "{}", raw as u32);
                    }
                },
                (ArgKind::Float { size: 4 }, _) => {
                    let _ = write!(line, "{}", f32::from_bits(raw as u32));
                }
                (ArgKind::Float { .. }, _) => {
                    let _ = write!(line, "{}", f64::from_bits(raw));
                }
                (ArgKind::Pointer | ArgKind::CStr | ArgKind::Str | ArgKind::Bytes | ArgKind::Json, _) => {
                    if json {
                        let _ = write!(line, "{raw}");
                    } else {
                        let _ = write!(line, "{raw:#x}");
                    }
                }
                _ => {
                    let _ = write!(line, "{raw}");
                }
            }
        }
        if json {
            line.push_str("}}");
        }
        line.push('\n');
        self.events += 1;
        Some(&self.line)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn event(id: u64, args: &[u64], strings: &[&[u8]], strsize: usize) -> Vec<u8> {
        let mut e = Vec::new();
        e.extend(1_000u64.to_ne_bytes());
        e.extend(((42u64 << 32) | 43).to_ne_bytes());
        e.extend(id.to_ne_bytes());
        let mut comm = [0u8; 16];
        comm[..6].copy_from_slice(b"python");
        e.extend(comm);
        for a in args {
            e.extend(a.to_ne_bytes());
        }
        for s in strings {
            let mut area = vec![0u8; strsize];
            area[..s.len()].copy_from_slice(s);
            e.extend(area);
        }
        e
    }

    fn python_entry() -> EventFormat {
        EventFormat {
            provider: "python".into(),
            probe: "function__entry".into(),
            slots: 3,
            args: vec![
                EventArg { name: "filename".into(), kind: ArgKind::CStr, slot: 0, string: Some(0) },
                EventArg { name: "funcname".into(), kind: ArgKind::CStr, slot: 1, string: Some(1) },
                EventArg { name: "lineno".into(), kind: ArgKind::Int { size: 4, signed: true }, slot: 2, string: None },
            ],
        }
    }

    #[test]
    fn json_events_decode_strings_and_signed_values() {
        let mut p = EventPrinter::new(Style::Json, 16);
        let line =
            p.render(&event(0, &[0x1000, 0x2000, (-3i64) as u64], &[b"/t/a \"b\".py", b"main"], 16), &python_entry());
        let v: serde_json::Value = serde_json::from_str(line.unwrap()).unwrap();
        assert_eq!(v["pid"], 42);
        assert_eq!(v["tid"], 43);
        assert_eq!(v["comm"], "python");
        assert_eq!(v["provider"], "python");
        assert_eq!(v["probe"], "function__entry");
        assert_eq!(v["args"]["filename"], "/t/a \"b\".py");
        assert_eq!(v["args"]["funcname"], "main");
        assert_eq!(v["args"]["lineno"], -3);
        assert_eq!(v["time_ns"], 0);
    }

    #[test]
    fn text_events_name_the_probe_and_count_time_from_the_first() {
        let mut p = EventPrinter::new(Style::Text, 16);
        assert!(p.header().unwrap().contains("TIME(s)"));
        let mut first = event(0, &[1, 2, 7], &[b"a.py", b"f"], 16);
        p.render(&first, &python_entry()).unwrap();
        first[..8].copy_from_slice(&1_500_001_000u64.to_ne_bytes());
        let line = p.render(&first, &python_entry()).unwrap().to_string();
        assert!(line.starts_with("   1.500000000      42      43 python"), "{line}");
        assert!(line.contains("python:function__entry"), "{line}");
        assert!(line.ends_with(" filename=\"a.py\" funcname=\"f\" lineno=7\n"), "{line}");
    }

    #[test]
    fn bytes_print_as_hex_with_their_length_and_floats_exactly() {
        let format = EventFormat {
            provider: "p".into(),
            probe: "n".into(),
            slots: 3,
            args: vec![
                EventArg { name: "data".into(), kind: ArgKind::Bytes, slot: 0, string: Some(0) },
                EventArg { name: "x".into(), kind: ArgKind::Float { size: 8 }, slot: 2, string: None },
            ],
        };
        let mut p = EventPrinter::new(Style::Json, 8);
        let ev = event(0, &[0x1000, 3, 0.1f64.to_bits()], &[&[0, 0xff, 7, 9]], 8);
        let v: serde_json::Value = serde_json::from_str(p.render(&ev, &format).unwrap()).unwrap();
        assert_eq!(v["args"]["data"], "00ff07");
        assert_eq!(v["args"]["x"].as_f64(), Some(0.1));
    }

    #[test]
    fn short_events_are_counted_not_printed() {
        let mut p = EventPrinter::new(Style::Text, 16);
        assert!(p.render(&[0u8; 48], &python_entry()).is_none());
        assert_eq!((p.events, p.malformed), (0, 1));
    }
}
