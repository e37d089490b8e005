//! Aggregation printing against in-memory maps: merging over CPUs and
//! kernel keys, ordering, the value of each function, `trunc`,
//! `clear` and `normalize` records.

use super::*;
use crate::d::diag::Source;
use crate::d::sema::Macros;
use crate::kernel::entries::FakeMap;

fn ir(program: &str) -> Ir {
    let source = Source::new("t.d", program);
    let ast = crate::d::parse(&source).expect("parses");
    let macros =
        Macros { target: None, args: vec![], quiet: true, flowindent: false, defaultargs: false, destructive: false };
    sema::check(&ast, &macros).unwrap_or_else(|d| panic!("{}", crate::d::diag::render_all(&d, &source)))
}

/// A string key of `strsize` bytes, zero-filled.
fn str_key(s: &str, strsize: usize) -> Vec<u8> {
    let mut k = vec![0u8; strsize];
    k[..s.len()].copy_from_slice(s.as_bytes());
    k
}

/// One CPU's value slots.
fn slots(v: [i64; 4]) -> Vec<u8> {
    v.iter().flat_map(|x| x.to_ne_bytes()).collect()
}

/// A record: tag, id, then one i64 word.
fn record(tag: u32, id: u32, word: i64) -> Vec<u8> {
    let mut r = tag.to_ne_bytes().to_vec();
    r.extend(id.to_ne_bytes());
    r.extend(word.to_ne_bytes());
    r
}

/// The (key, value) rows of a one-key aggregation's default output.
fn rows(text: &str) -> Vec<(String, i64)> {
    text.lines()
        .filter(|l| !l.trim().is_empty())
        .map(|l| {
            let mut w = l.split_whitespace();
            let (k, v) = (w.next().unwrap(), w.next().unwrap());
            (k.to_string(), v.parse().unwrap())
        })
        .collect()
}

fn print_all(printer: &mut Printer<'_>) -> String {
    let mut out = Vec::new();
    printer.print_remaining(&mut out).unwrap();
    String::from_utf8(out).unwrap()
}

#[test]
fn in_json_each_aggregation_is_one_object_with_its_entries_in_text_order() {
    let ir = ir("syscall::read:entry { @calls[execname] = count(); @q = quantize(arg0); }");
    let layout = Layout::new(&ir, 16);
    let calls = FakeMap::new();
    calls.insert(str_key("ls", 16), vec![slots([3, 0, 0, 0]), slots([2, 0, 0, 0])]);
    calls.insert(str_key("sh", 16), vec![slots([1, 0, 0, 0]), slots([0, 0, 0, 0])]);
    let q = FakeMap::new();
    // quantize's kernel key is the bucket: 1 holds the value 1, 2 holds 2 and 3.
    q.insert(1i64.to_ne_bytes().to_vec(), vec![slots([2, 0, 0, 0])]);
    q.insert(2i64.to_ne_bytes().to_vec(), vec![slots([1, 0, 0, 0]), slots([2, 0, 0, 0])]);
    let mut p =
        Printer::new(&ir, &layout, ProbeTable::default(), vec![&calls, &q], None, 1 << 20).with_style(Style::Json);
    let text = print_all(&mut p);
    let objs: Vec<serde_json::Value> = text.lines().map(|l| serde_json::from_str(l).unwrap()).collect();
    assert_eq!(objs.len(), 2, "{text}");
    assert_eq!(objs[0]["aggregation"], "@calls");
    assert_eq!(objs[0]["function"], "count");
    assert_eq!(objs[0]["entries"], serde_json::json!([{"keys": ["sh"], "value": 1}, {"keys": ["ls"], "value": 5}]));
    assert_eq!(objs[1]["function"], "quantize");
    assert_eq!(
        objs[1]["entries"][0]["buckets"],
        serde_json::json!([
            {"value": 0, "count": 0}, {"value": 1, "count": 2}, {"value": 2, "count": 3}, {"value": 4, "count": 0}
        ])
    );
}

#[test]
fn in_json_printf_is_an_output_object_and_events_are_trace_objects() {
    let ir = ir("BEGIN { printf(\"a \\\"%d\\\"\\n\", 7); }");
    let layout = Layout::new(&ir, 16);
    let table = ProbeTable(vec![ProbeInfo { provider: "dtrace".into(), name: "BEGIN".into(), ..Default::default() }]);
    let mut p = Printer::new(&ir, &layout, table, vec![], None, 1 << 20).with_style(Style::Json);
    let mut out = Vec::new();
    p.record(&record(tag::PRINTF, 0, 7), &mut out).unwrap();
    // An event of probe 0 (no arguments): time, pid/tid, id, comm.
    let mut ev = tag::EVENT.to_ne_bytes().to_vec();
    ev.extend(0u32.to_ne_bytes());
    ev.extend(5u64.to_ne_bytes());
    ev.extend(((9u64 << 32) | 10).to_ne_bytes());
    ev.extend(0u64.to_ne_bytes());
    ev.extend(*b"sh\0\0\0\0\0\0\0\0\0\0\0\0\0\0");
    p.record(&ev, &mut out).unwrap();
    let text = String::from_utf8(out).unwrap();
    let lines: Vec<serde_json::Value> = text.lines().map(|l| serde_json::from_str(l).unwrap()).collect();
    assert_eq!(lines[0], serde_json::json!({"output": "a \"7\"\n"}), "{text}");
    assert_eq!(lines[1]["pid"], 9);
    assert_eq!(lines[1]["tid"], 10);
    assert_eq!(lines[1]["comm"], "sh");
    assert_eq!(lines[1]["probe"], "BEGIN");
    assert_eq!(lines[1]["args"], serde_json::json!({}));
}

#[test]
fn counts_are_summed_over_cpus_and_printed_smallest_first() {
    let ir = ir("syscall::read:entry { @[execname] = count(); }");
    let layout = Layout::new(&ir, 16);
    let map = FakeMap::new();
    map.insert(str_key("ls", 16), vec![slots([3, 0, 0, 0]), slots([2, 0, 0, 0])]);
    map.insert(str_key("sh", 16), vec![slots([1, 0, 0, 0]), slots([0, 0, 0, 0])]);
    map.insert(str_key("cc", 16), vec![slots([0, 0, 0, 0]), slots([4, 0, 0, 0])]);
    let mut p = Printer::new(&ir, &layout, ProbeTable::default(), vec![&map], None, 1 << 20);
    assert_eq!(rows(&print_all(&mut p)), [("sh".into(), 1), ("cc".into(), 4), ("ls".into(), 5)]);
}

#[test]
fn kernel_keys_that_print_alike_are_one_row() {
    // Two sites of one probe are two probe ids, one `probename`.
    let ir = ir("syscall::read:entry { @[probename] = count(); }");
    let layout = Layout::new(&ir, 16);
    let table = ProbeTable(
        ["a", "a"]
            .iter()
            .map(|n| crate::d::probes::ProbeInfo {
                provider: "p".into(),
                module: "m".into(),
                function: "f".into(),
                name: n.to_string(),
                ..Default::default()
            })
            .collect(),
    );
    let map = FakeMap::new();
    for (id, n) in [(0u64, 2), (1, 5)] {
        let mut key = id.to_ne_bytes().to_vec();
        key.resize(layout.agg_keys[0].1, 0);
        map.insert(key, vec![slots([n, 0, 0, 0])]);
    }
    let mut p = Printer::new(&ir, &layout, table, vec![&map], None, 1 << 20);
    assert_eq!(rows(&print_all(&mut p)), [("a".into(), 7)]);
}

#[test]
fn min_and_max_skip_cpus_without_a_value_and_avg_divides_the_total() {
    let ir = ir("syscall::read:entry { @mn = min(arg0); @mx = max(arg0); @av = avg(arg0); }");
    let layout = Layout::new(&ir, 16);
    let key = vec![0u8; 8];
    // A CPU with no value holds 0 in both slots: it must not be the minimum.
    let (mn, mx, av) = (FakeMap::new(), FakeMap::new(), FakeMap::new());
    mn.insert(key.clone(), vec![slots([0, 0, 0, 0]), slots([7, 1, 0, 0]), slots([9, 1, 0, 0])]);
    mx.insert(key.clone(), vec![slots([-3, 1, 0, 0]), slots([0, 0, 0, 0]), slots([-5, 1, 0, 0])]);
    // Values 1, 2 on one CPU, 6 on another: (1 + 2 + 6) / 3.
    av.insert(key, vec![slots([3, 2, 0, 0]), slots([6, 1, 0, 0])]);
    let mut p = Printer::new(&ir, &layout, ProbeTable::default(), vec![&mn, &mx, &av], None, 1 << 20);
    let text = print_all(&mut p);
    let values: Vec<i64> = text.split_whitespace().map(|w| w.parse().unwrap()).collect();
    assert_eq!(values, [7, -3, 3], "{text}");
}

#[test]
fn stddev_is_the_population_standard_deviation() {
    // 2, 4, 4, 4, 5, 5, 7, 9: mean 5, population standard deviation 2.
    let ir = ir("syscall::read:entry { @sd = stddev(arg0); }");
    let layout = Layout::new(&ir, 16);
    let map = FakeMap::new();
    let values = [2i64, 4, 4, 4, 5, 5, 7, 9];
    let squares: i64 = values.iter().map(|v| v * v).sum();
    map.insert(vec![0u8; 8], vec![slots([values.iter().sum(), values.len() as i64, squares, 0])]);
    let mut p = Printer::new(&ir, &layout, ProbeTable::default(), vec![&map], None, 1 << 20);
    assert_eq!(print_all(&mut p).trim(), "2");
}

#[test]
fn an_aggregation_with_no_entries_prints_nothing() {
    let ir = ir("syscall::read:entry { @a = avg(arg0); }");
    let layout = Layout::new(&ir, 16);
    let map = FakeMap::new();
    map.insert(vec![0u8; 8], vec![slots([0, 0, 0, 0])]);
    let mut p = Printer::new(&ir, &layout, ProbeTable::default(), vec![&map], None, 1 << 20);
    assert_eq!(print_all(&mut p).trim(), "");
}

#[test]
fn trunc_keeps_the_largest_entries_and_deletes_the_rest_from_the_map() {
    let ir = ir("syscall::read:entry { @[execname] = count(); } END { trunc(@, 2); }");
    let layout = Layout::new(&ir, 16);
    let map = FakeMap::new();
    for (name, n) in [("a", 1), ("b", 9), ("c", 5), ("d", 3)] {
        map.insert(str_key(name, 16), vec![slots([n, 0, 0, 0])]);
    }
    let mut p = Printer::new(&ir, &layout, ProbeTable::default(), vec![&map], None, 1 << 20);
    let mut sink = Vec::new();
    p.record(&record(tag::AGGOP, 0, 2), &mut sink).unwrap();
    assert_eq!(map.keys(16), [str_key("b", 16), str_key("c", 16)]);
    assert_eq!(rows(&print_all(&mut p)), [("c".into(), 5), ("b".into(), 9)]);
}

#[test]
fn clear_empties_the_map() {
    let ir = ir("syscall::read:entry { @[execname] = count(); } END { clear(@); }");
    let layout = Layout::new(&ir, 16);
    let map = FakeMap::new();
    map.insert(str_key("a", 16), vec![slots([4, 0, 0, 0])]);
    let mut p = Printer::new(&ir, &layout, ProbeTable::default(), vec![&map], None, 1 << 20);
    map.insert(str_key("b", 16), vec![slots([2, 0, 0, 0])]);
    p.record(&record(tag::AGGOP, 0, -1), &mut Vec::new()).unwrap();
    assert!(map.keys(16).is_empty());
    assert_eq!(print_all(&mut p).trim(), "");
}

#[test]
fn normalize_divides_printed_values_and_a_zero_divisor_is_ignored() {
    let ir = ir("syscall::read:entry { @[execname] = sum(arg0); } END { normalize(@, 10); }");
    let layout = Layout::new(&ir, 16);
    let map = FakeMap::new();
    map.insert(str_key("a", 16), vec![slots([250, 0, 0, 0])]);
    let mut p = Printer::new(&ir, &layout, ProbeTable::default(), vec![&map], None, 1 << 20);
    p.record(&record(tag::NORMALIZE, 0, 0), &mut Vec::new()).unwrap();
    let mut first = Vec::new();
    p.print_aggs(&[0], None, &mut first).unwrap();
    assert_eq!(rows(&String::from_utf8(first).unwrap()), [("a".into(), 250)]);
    p.record(&record(tag::NORMALIZE, 0, 10), &mut Vec::new()).unwrap();
    let mut second = Vec::new();
    p.print_aggs(&[0], None, &mut second).unwrap();
    assert_eq!(rows(&String::from_utf8(second).unwrap()), [("a".into(), 25)]);
}

#[inline(never)]
fn a_function_to_name() -> u32 {
    std::hint::black_box(7)
}

#[test]
fn a_user_address_prints_as_its_symbol_in_the_process_that_fired() {
    // The checker passes the firing process's id after a %A argument.
    let ir = ir("BEGIN { printf(\"%A|%x\\n\", arg0, arg1); }");
    let IStmt::Printf { args, .. } = &ir.clauses[0].body[0] else { panic!("{:?}", ir.clauses[0].body) };
    assert_eq!(args.len(), 3);
    let layout = Layout::new(&ir, 16);
    let mut p = Printer::new(&ir, &layout, ProbeTable::default(), vec![], None, 1 << 20);
    let addr = a_function_to_name as fn() -> u32 as usize as i64;
    assert_eq!(a_function_to_name(), 7);
    let mut rec = tag::PRINTF.to_ne_bytes().to_vec();
    rec.extend(0u32.to_ne_bytes());
    for word in [addr, i64::from(std::process::id()), 255] {
        rec.extend(word.to_ne_bytes());
    }
    let mut out = Vec::new();
    p.record(&rec, &mut out).unwrap();
    let text = String::from_utf8(out).unwrap();
    // This test binary's name, then the function's (demangled) name at offset 0.
    let exe = std::env::current_exe().unwrap();
    let module = exe.file_name().unwrap().to_string_lossy().into_owned();
    assert!(text.starts_with(&format!("{module}`")), "{text}");
    assert!(text.contains("a_function_to_name|ff\n") || text.contains("a_function_to_name+0x0|ff\n"), "{text}");
}

#[test]
fn aggsortkey_and_aggsortrev_change_the_order_aggregations_print_in() {
    let ir = ir("syscall::read:entry { @c[execname] = sum(arg0); }");
    let layout = Layout::new(&ir, 16);
    let calls = FakeMap::new();
    for (k, v) in [("b", 1), ("a", 3), ("c", 2)] {
        calls.insert(str_key(k, 16), vec![slots([v, 0, 0, 0])]);
    }
    let order = |sort: (bool, bool)| -> Vec<String> {
        let mut p = Printer::new(&ir, &layout, ProbeTable::default(), vec![&calls], None, 1 << 20).with_sort(sort);
        rows(&print_all(&mut p)).into_iter().map(|(k, _)| k).collect()
    };
    // dtrace(1)'s default: by value; aggsortkey: by key; aggsortrev: reversed.
    assert_eq!(order((false, false)), ["b", "c", "a"]);
    assert_eq!(order((true, false)), ["a", "b", "c"]);
    assert_eq!(order((false, true)), ["a", "c", "b"]);
    assert_eq!(order((true, true)), ["c", "b", "a"]);
}
