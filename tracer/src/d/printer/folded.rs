//! Aggregations as folded stacks (`--folded`, `--flamegraph`): one
//! `frame;frame;… value` line per key tuple, root first, the format
//! flame graph tools read (Brendan Gregg's `flamegraph.pl`, inferno,
//! speedscope). A stack key gives its frames, outermost first and without
//! their `+0x…` offsets (so the samples of one function merge); any other
//! key is one frame of its own, in the order the keys are written, so
//! `@[execname, ustack()]` folds to `bash;main;…;read 12`.

use super::*;

/// Folded lines gathered over a run, for `--flamegraph`.
#[derive(Debug, Default)]
pub(in crate::d) struct Folded {
    /// Print the folded lines where the program's output goes.
    pub(in crate::d) print: bool,
    /// Every line folded, for the flame graph drawn at exit.
    pub(in crate::d) lines: Vec<String>,
    /// Aggregations already warned about (histograms and values ≤ 0 are
    /// not counts by stack).
    pub(in crate::d) warned: Vec<usize>,
}

/// A frame as folded output shows it: without its offset from the
/// symbol (`libc.so.6`read+0x12` → `libc.so.6`read`; hex addresses with no
/// symbol stay), and with no `;`, which separates frames.
fn frame_name(frame: &str) -> String {
    let frame = frame.trim();
    let name = match frame.rfind("+0x") {
        Some(at) if at > 0 && frame[at + 3..].bytes().all(|b| b.is_ascii_hexdigit()) => &frame[..at],
        _ => frame,
    };
    name.replace(';', ":")
}

/// The frames of one key tuple, root first.
fn frames(keys: &[Value], tys: &[Ty]) -> Vec<String> {
    let mut out = Vec::new();
    for (k, t) in keys.iter().zip(tys) {
        match (k, t) {
            (Value::Str(s), Ty::Stack { .. }) => {
                let mut stack: Vec<String> = s.lines().filter(|l| !l.trim().is_empty()).map(frame_name).collect();
                stack.reverse();
                out.extend(stack);
            }
            (Value::Str(s), _) => out.push(frame_name(s)),
            (Value::Int(i), _) => out.push(i.to_string()),
            (Value::Float(f), _) => out.push(f.to_string()),
        }
    }
    out
}

/// The folded lines of rows of one aggregation: rows whose frames fold
/// alike (two offsets in one function) are added up, and the lines keep
/// the order of their first row.
pub(super) fn fold_rows(rows: &[(Vec<Value>, i64)], tys: &[Ty]) -> (Vec<String>, usize) {
    let mut order: Vec<(String, i64)> = Vec::new();
    let mut at: HashMap<String, usize> = HashMap::new();
    let mut skipped = 0;
    for (keys, value) in rows {
        if *value <= 0 {
            skipped += 1;
            continue;
        }
        let mut stack = frames(keys, tys).join(";");
        if stack.is_empty() {
            // An aggregation without keys (`@ = count()`) is one frame.
            stack = "all".into();
        }
        match at.get(&stack) {
            Some(&i) => order[i].1 += value,
            None => {
                at.insert(stack.clone(), order.len());
                order.push((stack, *value));
            }
        }
    }
    (order.into_iter().map(|(s, v)| format!("{s} {v}")).collect(), skipped)
}

impl Printer<'_> {
    /// Fold `aggs` (a `printa`, or what is left at exit): print their
    /// lines and keep them for the flame graph. Histograms are not counts
    /// by stack: each is said once on stderr and left out.
    pub(super) fn print_folded(&mut self, aggs: &[usize], out: &mut dyn Write) -> Result<(), DError> {
        for &agg in aggs {
            self.printed[agg] = true;
            let a = &self.ir.aggs[agg];
            if a.func.is_histogram() {
                self.warn_folded(agg, &format!("@{} is a {}, not a count by stack: left out", a.name, a.func.name()));
                continue;
            }
            let rows: Vec<(Vec<Value>, i64)> = self
                .data(agg)
                .into_iter()
                .map(|(keys, _, d)| match d {
                    Datum::Int(v) => (keys, v),
                    Datum::Histogram(_) => (keys, 0),
                })
                .collect();
            let (lines, skipped) = fold_rows(&rows, &a.keys);
            if skipped > 0 {
                let what = format!("@{}: {skipped} entries whose value is not above 0 left out", a.name);
                self.warn_folded(agg, &what);
            }
            let Some(fold) = self.folded.as_mut() else { return Ok(()) };
            for l in &lines {
                if fold.print {
                    writeln!(out, "{l}")?;
                }
            }
            fold.lines.extend(lines);
        }
        Ok(())
    }

    fn warn_folded(&mut self, agg: usize, what: &str) {
        let Some(fold) = self.folded.as_mut() else { return };
        if !fold.warned.contains(&agg) {
            fold.warned.push(agg);
            eprintln!("sdtrace: warning: folded output: {what}");
        }
    }

    /// The folded lines gathered, once the run is over.
    pub(in crate::d) fn take_folded(&mut self) -> Vec<String> {
        self.folded.as_mut().map(|f| std::mem::take(&mut f.lines)).unwrap_or_default()
    }
}

/// Draw `lines` (folded stacks) as an SVG flame graph with inferno,
/// titled `title`, its values named `count_name` ("samples", "ns").
pub fn flamegraph(lines: &[String], title: &str, count_name: &str, out: impl Write) -> Result<(), String> {
    if lines.is_empty() {
        return Err("no stacks were counted, so there is no flame graph to draw".into());
    }
    let mut opts = inferno::flamegraph::Options::default();
    opts.title = title.to_string();
    opts.count_name = count_name.into();
    inferno::flamegraph::from_lines(&mut opts, lines.iter().map(String::as_str), out).map_err(|e| e.to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn frames_fold_root_first_without_offsets_and_merge() {
        let stack = Ty::Stack { user: true, frames: 20 };
        let text = |fs: &[&str]| Value::Str(fs.iter().map(|f| format!("{:14}{f}\n", "")).collect());
        let rows = vec![
            (vec![Value::Str("app".into()), text(&["prog`c+0x10", "prog`b+0x4", "prog`main+0x1f"])], 5),
            (vec![Value::Str("app".into()), text(&["prog`c+0x2a", "prog`b+0x4", "prog`main+0x1f"])], 3),
            (vec![Value::Str("app".into()), text(&["prog`b+0x9", "prog`main+0x1f"])], 2),
            (vec![Value::Str("app".into()), text(&["0x7f001234"])], 0),
        ];
        let (lines, skipped) = fold_rows(&rows, &[Ty::Str, stack]);
        assert_eq!(lines, ["app;prog`main;prog`b;prog`c 8", "app;prog`main;prog`b 2"]);
        assert_eq!(skipped, 1);
    }

    #[test]
    fn separators_in_names_and_keyless_aggregations_fold() {
        let rows = vec![(vec![Value::Str("a;b".into()), Value::Int(3)], 7)];
        let (lines, _) = fold_rows(&rows, &[Ty::Str, Ty::I64]);
        assert_eq!(lines, ["a:b;3 7"]);
        let (lines, _) = fold_rows(&[(vec![], 4)], &[]);
        assert_eq!(lines, ["all 4"]);
        assert_eq!(frame_name("  0x7f00+0xzz"), "0x7f00+0xzz");
    }
}
