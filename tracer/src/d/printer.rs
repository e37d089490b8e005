//! The output of a D program: turns the records its programs write to the
//! ring buffer (see the layout in [`super::codegen`]) into text — printf,
//! dtrace(1)'s probe lines and flow indentation, speculations held until
//! `commit` — and prints aggregations (`printa`, and every aggregation not
//! yet printed at exit) from their maps, merged over CPUs and over kernel
//! keys that print the same. Maps are read through
//! [`MapEntries`], so everything here is
//! unit-tested without a kernel.

use std::cell::RefCell;
use std::collections::HashMap;
use std::io::Write;

use super::codegen::{probe_in_string, slot_size, tag, Layout};
use super::events::{push_quoted, EventFormat, EventPrinter, Style};
use super::histogram;
use super::printf::{Conv, Format, Value};
use super::probes::{ProbeInfo, ProbeTable};
use super::run::DError;
use super::sema::{self, AggFunc, IStmt, Ir, Ty};
use super::stacks::{self, Symbolizer};
use crate::kernel::entries::MapEntries;

/// An aggregation's value slots (see [`super::codegen::AGG_VALUE`]).
type Slots = [i64; 4];

/// An aggregation entry as printed: keys, the value slots, and the kernel
/// keys that print as these keys.
type Merged = (Vec<Value>, Slots, Vec<Vec<u8>>);

/// Two values of one aggregation merged (over CPUs, or over kernel keys
/// that print the same).
fn combine(func: AggFunc, a: Slots, b: Slots) -> Slots {
    match func {
        AggFunc::Min | AggFunc::Max => match (a[1] != 0, b[1] != 0) {
            (true, true) => [if func == AggFunc::Min { a[0].min(b[0]) } else { a[0].max(b[0]) }, 1, 0, 0],
            (true, false) => a,
            _ => b,
        },
        _ => {
            let (lo, carry) = (a[2] as u64).overflowing_add(b[2] as u64);
            let hi = (a[3] as u64).wrapping_add(b[3] as u64).wrapping_add(u64::from(carry));
            [a[0].wrapping_add(b[0]), a[1] + b[1], lo as i64, hi as i64]
        }
    }
}

/// The integer standard deviation of `count` values of this sum and sum
/// of squares, as DTrace computes it: sqrt(E[x²] − E[x]²).
fn stddev(sum: i64, count: i64, squares: u128) -> i64 {
    let n = i128::from(count);
    let mean = i128::from(sum) / n;
    let var = (squares / count as u128) as i128 - mean * mean;
    if var <= 0 {
        return 0;
    }
    let var = var as u128;
    // Integer square root by Newton's method.
    let mut x = (var as f64).sqrt() as u128;
    while x * x > var {
        x -= 1;
    }
    while (x + 1) * (x + 1) <= var {
        x += 1;
    }
    x as i64
}

/// What the ring buffer's callback writes to.
pub(super) struct Sink<'a, 'o> {
    pub(super) printer: Printer<'a>,
    pub(super) out: &'o mut dyn Write,
    pub(super) status: Option<i32>,
    pub(super) error: Option<DError>,
    pub(super) in_end: bool,
}

/// Turns records into text and prints aggregations.
pub(super) struct Printer<'a> {
    /// dtrace(1)'s heading of probe lines is printed.
    heading_printed: bool,
    /// `-F`: the flow indentation, two columns a call level.
    indent: usize,
    ir: &'a Ir,
    layout: &'a Layout,
    pub(super) table: ProbeTable,
    aggs: Vec<&'a dyn MapEntries>,
    /// Argument types per format, from the printf statements.
    format_args: HashMap<usize, Vec<Ty>>,
    printed: Vec<bool>,
    /// The divisor of each aggregation's printed values (`normalize`).
    normal: Vec<i64>,
    /// The stack-trace map, when the program takes stacks.
    stacks: Option<&'a dyn MapEntries>,
    /// Names for stack addresses.
    symbols: RefCell<Symbolizer>,
    /// Whether some aggregation is keyed by a user stack.
    ustack_keys: bool,
    /// `aggsortkey` and `aggsortrev`: the order aggregations print in.
    pub(super) sort: (bool, bool),
    /// Processes that exec'd since the run loop last looked
    /// ([`tag::EXECED`]).
    pub(super) execs: Vec<u32>,
    /// Records of each active speculation, waiting for `commit` or
    /// `discard`, and their total size.
    speculations: HashMap<u64, (usize, Vec<Vec<u8>>)>,
    /// Most bytes one speculation buffers (`specsize`).
    specsize: usize,
    /// Speculative records dropped (buffer full, or speculation 0).
    pub(super) spec_drops: u64,
    /// `printevent()` records, and the output style.
    pub(super) events: EventPrinter,
    style: Style,
    /// `--folded`/`--flamegraph`: aggregations print as folded stacks.
    folded: Option<Folded>,
}

/// The argument types of each printf format.
fn collect_formats(stmts: &[IStmt], out: &mut HashMap<usize, Vec<Ty>>) {
    for s in stmts {
        match s {
            IStmt::Printf { format, args } => {
                out.insert(*format, args.iter().map(|a| a.ty).collect());
            }
            IStmt::If(_, a, b) => {
                collect_formats(a, out);
                collect_formats(b, out);
            }
            _ => {}
        }
    }
}

impl<'a> Printer<'a> {
    pub(super) fn new(
        ir: &'a Ir,
        layout: &'a Layout,
        table: ProbeTable,
        aggs: Vec<&'a dyn MapEntries>,
        stacks: Option<&'a dyn MapEntries>,
        specsize: usize,
    ) -> Self {
        let mut format_args = HashMap::new();
        for c in &ir.clauses {
            collect_formats(&c.body, &mut format_args);
        }
        Printer {
            ir,
            layout,
            table,
            aggs,
            format_args,
            printed: vec![false; ir.aggs.len()],
            normal: vec![1; ir.aggs.len()],
            stacks,
            symbols: RefCell::new(Symbolizer::default()),
            speculations: HashMap::new(),
            specsize,
            spec_drops: 0,
            heading_printed: false,
            events: EventPrinter::new(Style::Text, layout.strsize),
            style: Style::Text,
            indent: 0,
            ustack_keys: ir
                .aggs
                .iter()
                .any(|a| a.keys.iter().any(|k| matches!(k, Ty::Stack { user: true, .. } | Ty::Sym { user: true, .. }))),
            execs: Vec::new(),
            sort: (false, false),
            folded: None,
        }
    }

    /// Print aggregations as folded stacks (`print`), or only gather
    /// them for a flame graph ([`Printer::take_folded`]).
    pub(super) fn with_folded(mut self, fold: Option<bool>) -> Self {
        self.folded = fold.map(|print| Folded { print, ..Default::default() });
        self
    }

    /// Print aggregations by key (`.0`, `aggsortkey`) and reversed (`.1`,
    /// `aggsortrev`).
    pub(super) fn with_sort(mut self, sort: (bool, bool)) -> Self {
        self.sort = sort;
        self
    }

    /// Print in `style`: text, or one JSON object a record.
    pub(super) fn with_style(mut self, style: Style) -> Self {
        self.style = style;
        self.events = EventPrinter::new(style, self.layout.strsize);
        self
    }

    /// What is printed before any record: the column header of
    /// `printevent()` lines, when the program prints events as text.
    pub(super) fn start(&mut self, out: &mut dyn Write) -> Result<(), DError> {
        if self.ir.uses_events {
            if let Some(h) = self.events.header() {
                out.write_all(h.as_bytes())?;
            }
        }
        Ok(())
    }

    /// Snapshot the mappings of `pids` (the `-c` and `-p` processes) and,
    /// when `scan` is set, of new processes in user-stack aggregation keys,
    /// so their stacks resolve after they exit.
    pub(super) fn snapshot_processes(&mut self, pids: &[u32], scan: bool) {
        let user = |t: &Ty| matches!(t, Ty::Stack { user: true, .. } | Ty::Sym { user: true, .. });
        if !self.ustack_keys && !self.format_args.values().flatten().any(user) {
            return;
        }
        let mut symbols = self.symbols.borrow_mut();
        for &p in pids {
            symbols.snapshot(p);
        }
        if !(scan && self.ustack_keys) {
            return;
        }
        for (i, a) in self.ir.aggs.iter().enumerate() {
            let (offs, key_size) = &self.layout.agg_keys[i];
            for key in self.aggs[i].keys(*key_size) {
                for (t, off) in a.keys.iter().zip(offs) {
                    let pid_at = match t {
                        Ty::Stack { user: true, .. } => Some(off + 4),
                        Ty::Sym { user: true, .. } => Some(off + 8),
                        _ => None,
                    };
                    if let Some(at) = pid_at {
                        let pid = u32::from_ne_bytes(key[at..at + 4].try_into().expect("4 bytes"));
                        if !symbols.has(pid) {
                            symbols.snapshot(pid);
                        }
                    }
                }
            }
        }
    }

    /// The frames of a stack value, one indented line each.
    fn stack_text(&self, user: bool, frames: u16, raw: u64) -> String {
        let id = raw as u32 as i32;
        let pid = (raw >> 32) as u32;
        let Some(map) = self.stacks else { return String::new() };
        if id < 0 {
            return format!("{:INDENT$}<no stack: error {}>\n", "", -id, INDENT = stacks::INDENT);
        }
        let Some(value) = map.lookup(&(id as u32).to_ne_bytes()) else { return String::new() };
        let mut symbols = self.symbols.borrow_mut();
        let mut out = String::new();
        let all = stacks::frames(&value, usize::from(sema::MAX_FRAMES));
        let names: Vec<String> = if user {
            all.iter().map(|&a| symbols.user_frame(pid, a)).collect()
        } else {
            // The program and the tracing plumbing that called it are not
            // the probe's stack.
            all.iter().map(|&a| symbols.kernel_frame(a)).skip_while(|f| stacks::is_tracing_frame(f)).collect()
        };
        for f in names.iter().take(usize::from(frames)) {
            out.push_str(&format!("{:INDENT$}{f}\n", "", INDENT = stacks::INDENT));
        }
        out
    }

    fn value(&self, ty: Ty, bytes: &[u8]) -> Value {
        match ty {
            Ty::Str => {
                if let Some((field, id)) = probe_in_string(bytes) {
                    return Value::Str(
                        self.table.0.get(id as usize).map(|p| p.get(field).to_string()).unwrap_or_default(),
                    );
                }
                let end = bytes.iter().position(|&b| b == 0).unwrap_or(bytes.len());
                Value::Str(String::from_utf8_lossy(&bytes[..end]).into_owned())
            }
            Ty::Probe(f) => {
                let id = u64::from_ne_bytes(bytes[..8].try_into().expect("8 bytes"));
                Value::Str(self.table.0.get(id as usize).map(|p| p.get(f).to_string()).unwrap_or_default())
            }
            Ty::Int { .. } => Value::Int(i64::from_ne_bytes(bytes[..8].try_into().expect("8 bytes"))),
            Ty::Sym { user, form } => {
                let addr = u64::from_ne_bytes(bytes[..8].try_into().expect("8 bytes"));
                let mut symbols = self.symbols.borrow_mut();
                let text = if user {
                    let pid = bytes.get(8..12).map_or(0, |b| u32::from_ne_bytes(b.try_into().expect("4 bytes")));
                    symbols.user_frame(pid, addr)
                } else {
                    symbols.kernel_frame(addr)
                };
                Value::Str(symbol_form(&text, form))
            }
            Ty::Float { size: 4 } => {
                Value::Float(f64::from(f32::from_bits(u32::from_ne_bytes(bytes[..4].try_into().expect("4 bytes")))))
            }
            Ty::Float { .. } => {
                Value::Float(f64::from_bits(u64::from_ne_bytes(bytes[..8].try_into().expect("8 bytes"))))
            }
            Ty::Stack { user, frames } => {
                Value::Str(self.stack_text(user, frames, u64::from_ne_bytes(bytes[..8].try_into().expect("8 bytes"))))
            }
        }
    }

    fn values(&self, tys: &[Ty], mut bytes: &[u8]) -> Vec<Value> {
        let mut out = Vec::new();
        for t in tys {
            let n = slot_size(*t, self.layout.strsize);
            if bytes.len() < n {
                break;
            }
            out.push(self.value(*t, &bytes[..n]));
            bytes = &bytes[n..];
        }
        out
    }

    /// dtrace(1)'s `-F` column for probe `id`: ` -> function` for an entry
    /// probe (`entry`, `*-entry`; ` => ` for a syscall), ` <- function` for
    /// a return, `| function:name` otherwise, after two spaces a level of
    /// calls entered and not yet returned from (one count for the run).
    fn flow_name(&mut self, id: u64) -> String {
        let Some(p) = self.table.0.get(id as usize) else { return String::new() };
        let is = |what: &str| p.name == what || p.name.ends_with(&format!("-{what}"));
        let syscall = p.provider == "syscall";
        if is("entry") {
            let s = format!("{:w$}{}{}", "", if syscall { " => " } else { " -> " }, p.function, w = self.indent);
            self.indent += 2;
            s
        } else if is("return") {
            self.indent = self.indent.saturating_sub(2);
            format!("{:w$}{}{}", "", if syscall { " <= " } else { " <- " }, p.function, w = self.indent)
        } else {
            format!("{:w$}| {}:{}", "", p.function, p.name, w = self.indent)
        }
    }

    /// Handle one record; returns the status of an `exit` record.
    pub(super) fn record(&mut self, rec: &[u8], out: &mut dyn Write) -> Result<Option<i32>, DError> {
        if rec.len() < 8 {
            return Ok(None);
        }
        let t = u32::from_ne_bytes(rec[0..4].try_into().expect("4 bytes"));
        let id = u32::from_ne_bytes(rec[4..8].try_into().expect("4 bytes"));
        let word = || rec.get(8..16).map(|b| i64::from_ne_bytes(b.try_into().expect("8 bytes"))).unwrap_or(0);
        match t {
            tag::PRINTF => {
                let id = id as usize;
                let (Some(f), Some(tys)) = (self.ir.formats.get(id), self.format_args.get(&id)) else {
                    return Ok(None);
                };
                let mut vals = self.values(tys, &rec[8..]);
                if f.heading && !self.heading_printed && self.style == Style::Text {
                    self.heading_printed = true;
                    if f.flow {
                        writeln!(out, "{:>3} {:<41}", "CPU", "FUNCTION")?;
                    } else {
                        writeln!(out, "{:>3} {:>6} {:>32}", "CPU", "ID", "FUNCTION:NAME")?;
                    }
                }
                // A -F probe line's second value is the probe id.
                if let (true, Some(&Value::Int(id))) = (f.flow, vals.get(1)) {
                    vals[1] = Value::Str(self.flow_name(id as u64));
                }
                self.symbolize(f, &mut vals);
                let text = f.render(&vals, None);
                let ran;
                let text = if f.system {
                    ran = run_system(&text);
                    &ran
                } else {
                    &text
                };
                if self.style == Style::Json {
                    let mut line = String::from("{\"output\":");
                    push_quoted(&mut line, text, true);
                    line.push_str("}\n");
                    out.write_all(line.as_bytes())?;
                } else {
                    out.write_all(text.as_bytes())?;
                }
            }
            tag::EVENT => {
                let ev = rec.get(8..).unwrap_or_default();
                let Some(id) = ev.get(16..24).map(|b| u64::from_ne_bytes(b.try_into().expect("8 bytes"))) else {
                    self.events.malformed += 1;
                    return Ok(None);
                };
                let fallback;
                let format = match self.table.0.get(id as usize) {
                    Some(ProbeInfo { event: Some(f), .. }) => f.as_ref(),
                    Some(p) => {
                        fallback =
                            EventFormat { provider: p.provider.clone(), probe: p.name.clone(), ..Default::default() };
                        &fallback
                    }
                    None => {
                        self.events.malformed += 1;
                        return Ok(None);
                    }
                };
                if let Some(line) = self.events.render(ev, format) {
                    out.write_all(line.as_bytes())?;
                }
            }
            tag::EXIT => return Ok(Some(word() as i32)),
            // A bound on what one drain may queue: a flood of execs is
            // sampled, never unbounded memory.
            tag::EXECED if self.execs.len() < 4096 => self.execs.push(word() as u32),
            tag::PRINTA => {
                let ir = self.ir;
                if let Some(p) = ir.printas.get(id as usize) {
                    self.print_aggs(&p.aggs, p.format, out)?;
                }
            }
            tag::AGGOP => {
                let agg = id as usize;
                let keep = word();
                self.agg_op(agg, keep);
            }
            tag::SPECULATIVE => {
                let spec = word() as u64;
                let inner = rec.get(16..).unwrap_or_default();
                if spec == 0 {
                    self.spec_drops += 1;
                    return Ok(None);
                }
                let (size, recs) = self.speculations.entry(spec).or_default();
                if *size + inner.len() > self.specsize {
                    self.spec_drops += 1;
                } else {
                    *size += inner.len();
                    recs.push(inner.to_vec());
                }
            }
            tag::COMMIT => {
                if let Some((_, recs)) = self.speculations.remove(&(word() as u64)) {
                    for r in recs {
                        self.record(&r, out)?;
                    }
                }
            }
            tag::DISCARD => {
                self.speculations.remove(&(word() as u64));
            }
            tag::NORMALIZE => {
                if let Some(n) = self.normal.get_mut(id as usize) {
                    // DTrace refuses a divisor of 0; the value then stays.
                    *n = word().max(1);
                }
            }
            _ => {}
        }
        Ok(None)
    }

    /// Entries of an aggregation, merged over CPUs and over kernel keys
    /// that print the same (two sites of one probe are two probe ids but
    /// one `probename`), sorted by value then key. Each entry keeps its
    /// kernel keys for `clear` and `trunc`.
    fn entries(&self, agg: usize) -> Vec<(Vec<Value>, i64, Vec<Vec<u8>>)> {
        let (_, key_size) = self.layout.agg_keys[agg];
        let func = self.ir.aggs[agg].func;
        let tys = &self.ir.aggs[agg].keys;
        let map = &self.aggs[agg];
        // Rendered key → (value slots, kernel keys), found by the key's
        // text (a linear search made 65,536 keys take half a minute).
        let mut merged: Vec<Merged> = Vec::new();
        let mut index: HashMap<String, usize> = HashMap::new();
        for key in map.keys(key_size) {
            let Some(per_cpu) = map.lookup_percpu(&key) else { continue };
            let slots = |v: &Vec<u8>| -> Slots {
                std::array::from_fn(|i| i64::from_ne_bytes(v[i * 8..i * 8 + 8].try_into().expect("8 bytes")))
            };
            let v = per_cpu.iter().map(slots).fold([0; 4], |a, b| combine(func, a, b));
            let shown = self.values(tys, &key);
            match index.entry(format!("{shown:?}")) {
                std::collections::hash_map::Entry::Occupied(at) => {
                    let m = &mut merged[*at.get()];
                    m.1 = combine(func, m.1, v);
                    m.2.push(key);
                }
                std::collections::hash_map::Entry::Vacant(slot) => {
                    slot.insert(merged.len());
                    merged.push((shown, v, vec![key]));
                }
            }
        }
        let mut out: Vec<(Vec<Value>, i64, Vec<Vec<u8>>)> = merged
            .into_iter()
            .filter_map(|(k, [a, b, lo, hi], raw)| {
                let value = match func {
                    AggFunc::Count
                    | AggFunc::Sum
                    | AggFunc::Quantize
                    | AggFunc::Lquantize { .. }
                    | AggFunc::Llquantize { .. } => a,
                    AggFunc::Avg | AggFunc::Stddev | AggFunc::Min | AggFunc::Max if b == 0 => return None,
                    AggFunc::Avg => a / b,
                    AggFunc::Stddev => stddev(a, b, (u128::from(hi as u64) << 64) | u128::from(lo as u64)),
                    AggFunc::Min | AggFunc::Max => a,
                };
                Some((k, value, raw))
            })
            .collect();
        out.sort_by(|a, b| a.1.cmp(&b.1).then_with(|| key_order(&a.0, &b.0)));
        out
    }

    /// What `printa` shows of an aggregation: its key tuples in the order
    /// it prints them, each with the value that order is by and the datum,
    /// divided as `normalize` says. Scalars go by their value before the
    /// division; histograms (one per key tuple, the bucket left off) by
    /// the total of their divided counts. Ties go by key.
    fn data(&self, agg: usize) -> Vec<(Vec<Value>, i64, Datum)> {
        let normal = self.normal[agg];
        let entries = self.entries(agg);
        if !self.ir.aggs[agg].func.is_histogram() {
            let mut out: Vec<(Vec<Value>, i64, Datum)> =
                entries.into_iter().map(|(keys, v, _)| (keys, v, Datum::Int(v / normal))).collect();
            self.print_order(&mut out);
            return out;
        }
        let mut groups: Vec<Histogram> = Vec::new();
        let mut index: HashMap<String, usize> = HashMap::new();
        for (mut keys, count, _) in entries {
            let Some(Value::Int(bucket)) = keys.pop() else { continue };
            match index.entry(format!("{keys:?}")) {
                std::collections::hash_map::Entry::Occupied(at) => groups[*at.get()].1.push((bucket, count / normal)),
                std::collections::hash_map::Entry::Vacant(slot) => {
                    slot.insert(groups.len());
                    groups.push((keys, vec![(bucket, count / normal)]));
                }
            }
        }
        let mut out: Vec<(Vec<Value>, i64, Datum)> = groups
            .into_iter()
            .map(|(keys, buckets)| (keys, buckets.iter().map(|(_, c)| *c).sum(), Datum::Histogram(buckets)))
            .collect();
        self.print_order(&mut out);
        out
    }

    /// The order aggregations print in: by value, then key, as dtrace(1)
    /// does; by key, then value, with `aggsortkey`; reversed with
    /// `aggsortrev`.
    fn print_order(&self, rows: &mut [(Vec<Value>, i64, Datum)]) {
        let sort = self.sort;
        rows.sort_by(|a, b| row_order(sort, (&a.0, a.1), (&b.0, b.1)));
    }

    /// `printa([fmt,] @a, @b, ...)`: one row per key tuple of any of the
    /// aggregations (whose keys print alike), in the order of the first
    /// one's data ([`Printer::data`]; a tuple it lacks counts as 0), then
    /// of the keys. An aggregation that lacks a tuple shows 0 or an empty
    /// histogram. With a format, the k-th `%@` conversion shows the k-th
    /// aggregation (with one aggregation, every `%@` shows it); without,
    /// the keys are followed by the values in columns, and histograms
    /// follow on lines of their own.
    fn print_aggs(&mut self, aggs: &[usize], fmt: Option<usize>, out: &mut dyn Write) -> Result<(), DError> {
        let ir = self.ir;
        if self.folded.is_some() {
            return self.print_folded(aggs, out);
        }
        if self.style == Style::Json {
            for &agg in aggs {
                self.printed[agg] = true;
                let line = self.agg_json(agg);
                out.write_all(line.as_bytes())?;
            }
            return Ok(());
        }
        // Key tuple → (order, one datum per aggregation).
        let mut rows: Vec<(Vec<Value>, i64, Vec<Option<Datum>>)> = Vec::new();
        let mut row_of: HashMap<String, usize> = HashMap::new();
        for (k, &agg) in aggs.iter().enumerate() {
            self.printed[agg] = true;
            for (keys, order, datum) in self.data(agg) {
                let i = *row_of.entry(format!("{keys:?}")).or_insert_with(|| {
                    rows.push((keys, 0, vec![None; aggs.len()]));
                    rows.len() - 1
                });
                if k == 0 {
                    rows[i].1 = order;
                }
                rows[i].2[k] = Some(datum);
            }
        }
        // Stable: one aggregation's rows stay in the order of its data.
        let sort = self.sort;
        rows.sort_by(|a, b| row_order(sort, (&a.0, a.1), (&b.0, b.1)));
        let funcs: Vec<AggFunc> = aggs.iter().map(|&a| ir.aggs[a].func).collect();
        let any_histogram = funcs.iter().any(|f| f.is_histogram());
        let stack_keys = ir.aggs[aggs[0]].keys.iter().any(|k| matches!(k, Ty::Stack { .. }));
        let format = fmt.and_then(|f| ir.formats.get(f));
        if format.is_none() && !any_histogram {
            writeln!(out)?;
        }
        for (keys, _, data) in rows {
            let data: Vec<Datum> = data
                .into_iter()
                .zip(&funcs)
                .map(|(d, f)| d.unwrap_or(if f.is_histogram() { Datum::Histogram(Vec::new()) } else { Datum::Int(0) }))
                .collect();
            if let Some(f) = format {
                // printa's format: the keys, and each whole histogram
                // where its `%@` stands.
                let values: Vec<Value> = data
                    .iter()
                    .zip(&funcs)
                    .map(|(d, &func)| match d {
                        Datum::Int(v) => Value::Int(*v),
                        Datum::Histogram(b) => Value::Str(histogram::render(func, b)),
                    })
                    .collect();
                out.write_all(f.render_aggs(&keys, &values).as_bytes())?;
                continue;
            }
            let ints: Vec<i64> = data
                .iter()
                .filter_map(|d| match d {
                    Datum::Int(v) => Some(*v),
                    Datum::Histogram(_) => None,
                })
                .collect();
            if any_histogram {
                // The keys and any scalars on a line (none when there are
                // neither), then the histograms.
                writeln!(out)?;
                let mut line = String::new();
                for k in &keys {
                    match k {
                        Value::Str(s) => line.push_str(&format!("  {s:<50}")),
                        Value::Int(i) => line.push_str(&format!("  {i:>16}")),
                        Value::Float(f) => line.push_str(&format!("  {f:>16}")),
                    }
                }
                for v in &ints {
                    line.push_str(&format!(" {v:>16}"));
                }
                if !line.is_empty() {
                    writeln!(out, "{}", line.trim_end())?;
                }
                for (d, &func) in data.iter().zip(&funcs) {
                    if let Datum::Histogram(b) = d {
                        out.write_all(histogram::render(func, b).as_bytes())?;
                    }
                }
                continue;
            }
            let values = ints.iter().map(|v| v.to_string()).collect::<Vec<_>>();
            let line = if stack_keys {
                // Stacks take lines of their own; the values follow.
                let mut line = String::new();
                for (k, t) in keys.iter().zip(&ir.aggs[aggs[0]].keys) {
                    match (k, t) {
                        (Value::Str(s), Ty::Stack { .. }) => line.push_str(s),
                        (Value::Str(s), _) => line.push_str(&format!("{:w$}{s}\n", "", w = stacks::INDENT)),
                        (Value::Int(i), _) => line.push_str(&format!("{:w$}{i}\n", "", w = stacks::INDENT)),
                        (Value::Float(f), _) => line.push_str(&format!("{:w$}{f}\n", "", w = stacks::INDENT)),
                    }
                }
                line.push_str(&format!("{:w$}{}\n\n", "", values.join(" "), w = stacks::INDENT + 1));
                line
            } else {
                let mut line = String::from(" ");
                for k in &keys {
                    match k {
                        Value::Str(s) => line.push_str(&format!(" {s:<50}")),
                        Value::Int(i) => line.push_str(&format!(" {i:>16}")),
                        Value::Float(f) => line.push_str(&format!(" {f:>16}")),
                    }
                }
                for v in &values {
                    line.push_str(&format!(" {v:>16}"));
                }
                line.push('\n');
                line
            };
            out.write_all(line.as_bytes())?;
        }
        Ok(())
    }

    /// One aggregation as an NDJSON line: `{"aggregation":"@name",
    /// "function":"count","entries":[{"keys":[…],"value":N}]}`, entries
    /// in the order text prints them; a histogram's entry has `buckets`
    /// (`{"value":LABEL,"count":N}` per row of the text) instead of
    /// `value`. Keys and labels that are integers are numbers.
    fn agg_json(&self, agg: usize) -> String {
        use serde_json::{json, Value as J};
        let a = &self.ir.aggs[agg];
        let key = |v: &Value| match v {
            Value::Int(i) => J::from(*i),
            Value::Float(f) => J::from(*f),
            Value::Str(s) => J::from(s.as_str()),
        };
        let mut data = self.data(agg);
        data.sort_by(|x, y| x.1.cmp(&y.1).then_with(|| key_order(&x.0, &y.0)));
        let entries: Vec<J> = data
            .into_iter()
            .map(|(keys, _, datum)| {
                let keys: Vec<J> = keys.iter().map(key).collect();
                match datum {
                    Datum::Int(v) => json!({ "keys": keys, "value": v }),
                    Datum::Histogram(b) => {
                        let rows: Vec<J> = histogram::rows(a.func, &b)
                            .into_iter()
                            .map(|(label, count)| {
                                let value = label.parse::<i64>().map_or(J::from(label), J::from);
                                json!({ "value": value, "count": count })
                            })
                            .collect();
                        json!({ "keys": keys, "buckets": rows })
                    }
                }
            })
            .collect();
        let obj = json!({ "aggregation": format!("@{}", a.name), "function": a.func.name(), "entries": entries });
        format!("{obj}\n")
    }

    fn agg_op(&mut self, agg: usize, keep: i64) {
        let entries = self.entries(agg);
        let map = &self.aggs[agg];
        // clear() empties the aggregation; trunc(@a, n) keeps the n largest.
        let n = if keep < 0 { entries.len() } else { entries.len().saturating_sub(keep as usize) };
        for (_, _, raw) in entries.iter().take(n) {
            for k in raw {
                map.delete(k);
            }
        }
    }

    pub(super) fn print_remaining(&mut self, out: &mut dyn Write) -> Result<(), DError> {
        for agg in 0..self.ir.aggs.len() {
            if !self.printed[agg] {
                self.print_aggs(&[agg], None, out)?;
            }
        }
        Ok(())
    }
}

/// A histogram's keys and its (bucket, count) pairs.
type Histogram = (Vec<Value>, Vec<(i64, i64)>);

/// What an aggregation holds at one key tuple, as `printa` shows it.
#[derive(Debug, Clone)]
enum Datum {
    /// A count, sum, average, minimum, maximum or standard deviation.
    Int(i64),
    /// A histogram's (bucket, count) pairs.
    Histogram(Vec<(i64, i64)>),
}

/// Two printed rows (keys, value) in the order `sort` asks (see
/// `Printer::print_order`).
fn row_order(sort: (bool, bool), a: (&[Value], i64), b: (&[Value], i64)) -> std::cmp::Ordering {
    let (by_key, reverse) = sort;
    let o = if by_key {
        key_order(a.0, b.0).then_with(|| a.1.cmp(&b.1))
    } else {
        a.1.cmp(&b.1).then_with(|| key_order(a.0, b.0))
    };
    if reverse {
        o.reverse()
    } else {
        o
    }
}

fn key_order(va: &[Value], vb: &[Value]) -> std::cmp::Ordering {
    for (x, y) in va.iter().zip(vb) {
        let o = match (x, y) {
            (Value::Int(p), Value::Int(q)) => p.cmp(q),
            (Value::Str(p), Value::Str(q)) => p.cmp(q),
            _ => std::cmp::Ordering::Equal,
        };
        if o.is_ne() {
            return o;
        }
    }
    std::cmp::Ordering::Equal
}

mod conversions;
mod folded;
use self::conversions::{run_system, symbol_form};
pub use self::folded::flamegraph;
pub(super) use self::folded::Folded;

#[cfg(test)]
mod tests;
