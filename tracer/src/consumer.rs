//! The consumer: decodes ring-buffer events by their site cookie and prints
//! them as text lines or NDJSON (schema in `docs/trace-json.md`).
//!
//! Decoding borrows the event; the only allocation per event is the output
//! line's buffer, which is reused.

use std::io::{self, Write};

use stap_notes::meta::ArgKind;

use crate::bpf::usdt::ARGS_OFFSET;

/// How one displayed argument is decoded.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DisplayArg {
    /// Name from metadata or the catalog, else `argN`.
    pub name: String,
    /// Type in sdtrace's vocabulary.
    pub kind: ArgKind,
    /// Index of its (first) stapsdt argument slot.
    pub slot: usize,
    /// Index in the event's string area, for string kinds.
    pub string: Option<usize>,
}

/// What the consumer knows of a site, indexed by cookie.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SiteFormat {
    /// Provider.
    pub provider: String,
    /// Probe name.
    pub probe: String,
    /// Arguments to show.
    pub args: Vec<DisplayArg>,
    /// Number of stapsdt argument slots the event carries.
    pub slots: usize,
}

/// Output style.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Style {
    /// One aligned text line per event.
    Text,
    /// One JSON object per line.
    Json,
}

/// Decodes and prints events.
pub struct Consumer<W: Write> {
    out: W,
    sites: Vec<SiteFormat>,
    /// `provider:probe` per site, built once so text lines need no allocation.
    labels: Vec<String>,
    strsize: usize,
    style: Style,
    start_ns: Option<u64>,
    line: String,
    /// Events printed.
    pub events: u64,
    /// Events that could not be decoded (a bug if ever non-zero).
    pub malformed: u64,
}

fn u64_at(b: &[u8], off: usize) -> u64 {
    u64::from_ne_bytes(b[off..off + 8].try_into().expect("8 bytes"))
}

fn push_quoted(line: &mut String, s: &str, json: bool) {
    line.push('"');
    for c in s.chars() {
        match c {
            '"' => line.push_str("\\\""),
            '\\' => line.push_str("\\\\"),
            '\n' => line.push_str("\\n"),
            '\t' => line.push_str("\\t"),
            c if (c as u32) < 0x20 => {
                use std::fmt::Write as _;
                let _ = if json { write!(line, "\\u{:04x}", c as u32) } else { write!(line, "\\x{:02x}", c as u32) };
            }
            c => line.push(c),
        }
    }
    line.push('"');
}

impl<W: Write> Consumer<W> {
    /// A consumer printing to `out`.
    pub fn new(out: W, sites: Vec<SiteFormat>, strsize: usize, style: Style) -> Self {
        let labels = sites.iter().map(|s| format!("{}:{}", s.provider, s.probe)).collect();
        Consumer { out, sites, labels, strsize, style, start_ns: None, line: String::new(), events: 0, malformed: 0 }
    }

    /// Describe sites attached after the start (a library the process
    /// mapped later); their cookies continue from [`Consumer::site_count`].
    pub fn add_sites(&mut self, sites: Vec<SiteFormat>) {
        self.labels.extend(sites.iter().map(|s| format!("{}:{}", s.provider, s.probe)));
        self.sites.extend(sites);
    }

    /// How many sites are described: the cookie the next one gets.
    pub fn site_count(&self) -> usize {
        self.sites.len()
    }

    /// Print the column header (text style only).
    pub fn header(&mut self) -> io::Result<()> {
        if self.style == Style::Text {
            writeln!(self.out, "{:>14} {:>7} {:>7} {:<16} {:<28} ARGS", "TIME(s)", "PID", "TID", "COMM", "PROBE")?;
        }
        Ok(())
    }

    /// Decode and print one event.
    pub fn event(&mut self, ev: &[u8]) -> io::Result<()> {
        use std::fmt::Write as _;
        if ev.len() < ARGS_OFFSET {
            self.malformed += 1;
            return Ok(());
        }
        let ts = u64_at(ev, 0);
        let pid_tgid = u64_at(ev, 8);
        let cookie = u64_at(ev, 16) as usize;
        let Some(site) = self.sites.get(cookie) else {
            self.malformed += 1;
            return Ok(());
        };
        if ev.len() < ARGS_OFFSET + 8 * site.slots {
            self.malformed += 1;
            return Ok(());
        }
        let start = *self.start_ns.get_or_insert(ts);
        let rel = ts.saturating_sub(start);
        let comm = &ev[24..40];
        let comm = String::from_utf8_lossy(&comm[..comm.iter().position(|&b| b == 0).unwrap_or(16)]);
        let (pid, tid) = ((pid_tgid >> 32) as u32, pid_tgid as u32);
        let json = self.style == Style::Json;
        let line = &mut self.line;
        line.clear();
        if json {
            let _ = write!(line, "{{\"time_ns\":{rel},\"pid\":{pid},\"tid\":{tid},\"comm\":");
            push_quoted(line, &comm, true);
            let _ = write!(line, ",\"provider\":\"{}\",\"probe\":\"{}\",\"args\":{{", site.provider, site.probe);
        } else {
            let probe = &self.labels[cookie];
            let _ = write!(line, "{:>14.9} {pid:>7} {tid:>7} {comm:<16} {probe:<28}", rel as f64 / 1e9);
        }
        let strings_at = ARGS_OFFSET + 8 * site.slots;
        for (i, a) in site.args.iter().enumerate() {
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
                let from = strings_at + idx * self.strsize;
                let area = ev.get(from..from + self.strsize).unwrap_or(&[]);
                let end = match len {
                    Some(l) => l.min(area.len()),
                    None => area.iter().position(|&b| b == 0).unwrap_or(area.len()),
                };
                &area[..end]
            };
            let len_of = || Some(u64_at(ev, ARGS_OFFSET + 8 * (a.slot + 1)) as usize);
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
        self.out.write_all(line.as_bytes())
    }

    /// Flush the output.
    pub fn flush(&mut self) -> io::Result<()> {
        self.out.flush()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn event(cookie: u64, args: &[u64], strings: &[&[u8]], strsize: usize) -> Vec<u8> {
        let mut e = Vec::new();
        e.extend(1_000u64.to_ne_bytes());
        e.extend(((42u64 << 32) | 43).to_ne_bytes());
        e.extend(cookie.to_ne_bytes());
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

    fn site() -> SiteFormat {
        SiteFormat {
            provider: "python".into(),
            probe: "function__entry".into(),
            slots: 3,
            args: vec![
                DisplayArg { name: "filename".into(), kind: ArgKind::CStr, slot: 0, string: Some(0) },
                DisplayArg { name: "funcname".into(), kind: ArgKind::CStr, slot: 1, string: Some(1) },
                DisplayArg {
                    name: "lineno".into(),
                    kind: ArgKind::Int { size: 4, signed: true },
                    slot: 2,
                    string: None,
                },
            ],
        }
    }

    #[test]
    fn json_events_decode_strings_and_signed_values() {
        let mut out = Vec::new();
        let mut c = Consumer::new(&mut out, vec![site()], 16, Style::Json);
        c.event(&event(0, &[0x1000, 0x2000, (-3i64) as u64], &[b"/t/a \"b\".py", b"main"], 16)).unwrap();
        let v: serde_json::Value = serde_json::from_slice(&out).unwrap();
        assert_eq!(v["pid"], 42);
        assert_eq!(v["tid"], 43);
        assert_eq!(v["comm"], "python");
        assert_eq!(v["args"]["filename"], "/t/a \"b\".py");
        assert_eq!(v["args"]["funcname"], "main");
        assert_eq!(v["args"]["lineno"], -3);
    }

    #[test]
    fn unknown_cookie_and_short_events_are_counted_not_printed() {
        let mut out = Vec::new();
        let mut c = Consumer::new(&mut out, vec![site()], 16, Style::Text);
        c.event(&event(9, &[0, 0, 0], &[b"", b""], 16)).unwrap();
        c.event(&[0u8; 12]).unwrap();
        assert_eq!((c.events, c.malformed), (0, 2));
        assert!(out.is_empty());
    }
}
