//! `-x NAME[=VALUE]` options and `#pragma D option` lines: read and
//! checked in one place, after the program's pragmas are known and before
//! anything is started or loaded (a bad value names the option).

use std::time::Duration;

use super::run::{DConfig, DError};
use super::sema::Ir;

pub(super) struct Options {
    pub(super) quiet: bool,
    pub(super) strsize: usize,
    pub(super) bufsize: u32,
    pub(super) switchrate: Duration,
    /// Speculations active at once.
    pub(super) nspec: u32,
    /// Bytes one speculation may buffer.
    pub(super) specsize: usize,
    /// `oformat=json` (or `json`): NDJSON output.
    pub(super) style: super::events::Style,
    /// `aggsortkey`, `aggsortrev`: aggregations print by key, reversed.
    pub(super) aggsort: (bool, bool),
}

fn size_value(v: &str) -> Option<u64> {
    let v = v.trim();
    let (num, mul) = match v.char_indices().last() {
        Some((i, 'k' | 'K')) => (&v[..i], 1 << 10),
        Some((i, 'm' | 'M')) => (&v[..i], 1 << 20),
        Some((i, 'g' | 'G')) => (&v[..i], 1 << 30),
        _ => (v, 1),
    };
    num.parse::<u64>().ok().and_then(|n| n.checked_mul(mul))
}

fn time_value(v: &str) -> Option<Duration> {
    let v = v.trim();
    let split = v.find(|c: char| !c.is_ascii_digit()).unwrap_or(v.len());
    let n: u64 = v[..split].parse().ok()?;
    Some(match &v[split..] {
        "" | "hz" => Duration::from_nanos(1_000_000_000 / n.max(1)),
        "ns" => Duration::from_nanos(n),
        "us" => Duration::from_micros(n),
        "ms" => Duration::from_millis(n),
        "s" | "sec" => Duration::from_secs(n),
        _ => return None,
    })
}

pub(super) fn options(ir: &Ir, cfg: &DConfig) -> Result<Options, DError> {
    let mut o = Options {
        quiet: cfg.quiet,
        strsize: 256,
        bufsize: 4 << 20,
        switchrate: Duration::from_millis(10),
        nspec: 1,
        specsize: 1 << 20,
        style: super::events::Style::Text,
        aggsort: (false, false),
    };
    let from_program = ir.options.iter().map(|(n, v, _)| (n.clone(), v.clone()));
    for (name, value) in from_program.chain(cfg.options.iter().cloned()) {
        let bad = || match &value {
            None => DError::Usage(format!("option `{name}` needs a value such as {name}=…")),
            Some(v) => DError::Usage(format!("`{v}` is not a value option `{name}` takes (see docs/d-language.md)")),
        };
        match name.as_str() {
            "quiet" => o.quiet = true,
            "json" if value.is_none() => o.style = super::events::Style::Json,
            "oformat" => {
                o.style = match value.as_deref() {
                    Some("json") => super::events::Style::Json,
                    Some("text") => super::events::Style::Text,
                    _ => return Err(DError::Usage("oformat is `text` or `json`".into())),
                }
            }
            "nspec" => {
                let v = value.as_deref().and_then(|v| v.parse::<u32>().ok()).filter(|n| (1..=1 << 20).contains(n));
                o.nspec = v.ok_or_else(|| DError::Usage("nspec must be a number of speculations from 1".into()))?;
            }
            "specsize" => {
                o.specsize = value.as_deref().and_then(size_value).ok_or_else(bad)? as usize;
            }
            "strsize" => {
                let v = size_value(value.as_deref().ok_or_else(bad)?).ok_or_else(bad)?;
                if !(8..=4096).contains(&v) {
                    return Err(DError::Usage(format!("strsize must be between 8 and 4096 bytes, not {v}")));
                }
                o.strsize = v as usize;
            }
            "bufsize" => {
                let v = size_value(value.as_deref().ok_or_else(bad)?).ok_or_else(bad)?;
                if v > 1 << 30 {
                    return Err(DError::Usage(format!("bufsize is at most 1g (1073741824 bytes), not {v}")));
                }
                // The ring buffer's size is a power of two of at least a page.
                o.bufsize = v.next_power_of_two().max(4096) as u32;
            }
            "switchrate" => o.switchrate = time_value(value.as_deref().ok_or_else(bad)?).ok_or_else(bad)?,
            // Applied by the type checker (probe lines).
            "flowindent" | "defaultargs" | "destructive" => {}
            "aggsortkey" => o.aggsort.0 = true,
            "aggsortrev" => o.aggsort.1 = true,
            "aggrate" | "dynvarsize" | "zdefs" | "cleanrate" | "jstackstrsize" | "jstackframes" | "ustackframes"
            | "stackframes" | "statusrate" | "bufpolicy" | "bufresize" | "aggsize" | "aggsortpos" | "aggsortkeypos" => {
                eprintln!("sdtrace: option `{name}` has no effect in sdtrace yet; ignored");
            }
            _ => return Err(DError::Usage(format!("unknown option `{name}`"))),
        }
    }
    Ok(o)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sizes_take_k_m_g_and_refuse_overflow() {
        assert_eq!(size_value("4096"), Some(4096));
        assert_eq!(size_value("16k"), Some(16 << 10));
        assert_eq!(size_value("4m"), Some(4 << 20));
        assert_eq!(size_value("1G"), Some(1 << 30));
        assert_eq!(size_value("99999999999999999g"), None);
        assert_eq!(size_value("-1"), None);
        assert_eq!(size_value("m"), None);
    }

    #[test]
    fn times_take_units_and_hz() {
        assert_eq!(time_value("10ms"), Some(Duration::from_millis(10)));
        assert_eq!(time_value("2s"), Some(Duration::from_secs(2)));
        assert_eq!(time_value("100hz"), Some(Duration::from_millis(10)));
        assert_eq!(time_value("5"), Some(Duration::from_millis(200)));
        assert_eq!(time_value("3 fortnights"), None);
    }
}
