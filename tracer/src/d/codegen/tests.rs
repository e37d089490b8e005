use super::*;
use crate::d::diag::Source;
use crate::d::probes::{plan, ProbeTable};
use crate::d::sema::{check, Macros};

/// The program of every spec for `src`, with placeholder maps.
fn programs(src: &str) -> Vec<Vec<Insn>> {
    let source = Source::new("t.d", src);
    let ast = crate::d::parse(&source).expect("parses");
    let ir = check(&ast, &Macros::default()).expect("checks");
    let p = plan(&ir, crate::d::probes::ArgCatalog::default(), None, false).expect("plans");
    let layout = Layout::new(&ir, 64);
    let maps = MapFds {
        ringbuf: 1,
        counters: 2,
        scratch: 3,
        globals: Some(4),
        thread: Some(5),
        arrays: vec![6; ir.arrays.len()],
        aggs: vec![7; ir.aggs.len()],
        stacks: Some(8),
        speculations: Some(9),
        active_speculations: Some(11),
        vtime: Some(10),
    };
    let table: &ProbeTable = &p.table;
    p.specs().iter().map(|s| generate(&ir, &layout, &maps, s, table).expect("generates").0).collect()
}

/// The first program for `src`, generated against map references as the
/// runner does.
fn first_program(src: &str) -> Result<Vec<Insn>, CodegenError> {
    let source = Source::new("t.d", src);
    let ast = crate::d::parse(&source).expect("parses");
    let ir = check(&ast, &Macros::default()).expect("checks");
    let p = plan(&ir, crate::d::probes::ArgCatalog::default(), None, false).expect("plans");
    let layout = Layout::new(&ir, 64);
    generate(&ir, &layout, &MapFds::numbered(&ir), p.specs()[0], &p.table).map(|(insns, _)| insns)
}

/// A BEGIN clause of `n` statements made by `stmt` from their index.
fn many(n: usize, stmt: impl Fn(usize) -> String) -> String {
    format!("BEGIN {{ {} }}", (0..n).map(stmt).collect::<String>())
}

#[test]
fn globals_past_what_an_offset_addresses_are_refused_not_aliased() {
    // Regression: with 4,097 8-byte globals, v4096 sat at offset 32,768,
    // which wrapped; at 8,193, v8192 shared offset 0 with v0.
    let globals = |n| many(n, |i| format!("v{i} = {i}; "));
    let e = first_program(&globals(4097)).unwrap_err();
    assert!(e.0.contains("global variables take 32776 bytes, more than the 32768"), "{}", e.0);
    assert!(first_program(&globals(4096)).is_ok());
}

#[test]
fn a_program_over_the_kernels_64_maps_is_refused_before_the_kernel_sees_it() {
    // Regression: the verifier's refusal was reported as a compiler bug.
    let aggs = |n| many(n, |i| format!("@a{i} = count(); "));
    let e = first_program(&aggs(70)).unwrap_err();
    // 70 aggregations, the ring buffer, the counters, the scratch area.
    assert!(e.0.contains("one program would use 72 maps") && e.0.contains("more than the 64"), "{}", e.0);
    assert!(first_program(&aggs(60)).is_ok());
}

/// Instructions no path from the first one (or from a subprogram
/// whose address is taken) reaches; the verifier rejects a program
/// with any.
fn unreachable(insns: &[Insn]) -> Vec<usize> {
    let mut seen = vec![false; insns.len()];
    let mut todo = vec![0usize];
    while let Some(i) = todo.pop() {
        if i >= insns.len() || seen[i] {
            continue;
        }
        seen[i] = true;
        let code = insns[i].code;
        let next = if code == 0x18 { i + 2 } else { i + 1 };
        if code & 0x07 == 0x05 {
            match code & 0xf0 {
                0x90 => continue,
                0x80 => todo.push(next),
                op => {
                    todo.push((i as i64 + 1 + i64::from(insns[i].off)) as usize);
                    if op != 0x00 {
                        todo.push(next);
                    }
                }
            }
        } else {
            if code == 0x18 {
                seen[i + 1] = true;
                if insns[i].regs >> 4 == 4 {
                    // A subprogram's address: it runs from there.
                    todo.push((i as i64 + 1 + i64::from(insns[i].imm)) as usize);
                }
            }
            todo.push(next);
        }
    }
    (0..insns.len()).filter(|i| !seen[*i]).collect()
}

#[test]
fn an_error_block_is_emitted_only_for_clauses_that_can_fault() {
    // Regression: the second BEGIN clause cannot fault, and its ERROR
    // block was dead code, which the verifier refuses.
    for insns in programs("BEGIN { s = copyinstr(16); } BEGIN { x = 1; } ERROR { y = arg5; }") {
        assert_eq!(unreachable(&insns), Vec::<usize>::new());
    }
}

#[test]
fn search_and_path_callbacks_follow_the_main_program() {
    let progs = programs("BEGIN { x = index(\"abc\", \"c\"); s = basename(\"/a/b\"); t = strstr(\"ab\", \"b\"); }");
    let p = &progs[0];
    let starts = crate::kernel::sys::subprogram_starts(p);
    assert_eq!(starts.len(), 3, "one callback per search or scan");
    let main_exit = p.iter().position(|i| *i == Insn::exit()).unwrap();
    // The main program's last exit comes before the first callback, and
    // no jump of the main program reaches into a callback.
    let first = starts[0] as usize;
    assert!(p[first - 1] == Insn::exit() && main_exit < first);
    for (at, insn) in p[..first].iter().enumerate() {
        if insn.code & 0x07 == 0x05 && insn.code & 0xf0 != 0x80 && insn.code & 0xf0 != 0x90 {
            let target = at as i64 + 1 + i64::from(insn.off);
            assert!((target as usize) < first, "jump at {at} leaves the main program");
        }
    }
    assert!(unreachable(p).is_empty(), "{:?}", unreachable(p));
}

#[test]
fn a_fault_jumps_to_the_error_clauses() {
    let with = programs("BEGIN { s = copyinstr(16); } ERROR { y = arg5; }");
    let without = programs("BEGIN { s = copyinstr(16); }");
    // The ERROR probe's id is loaded into r9 only when there are ERROR clauses.
    let loads_r9 = |p: &[Insn]| p.iter().filter(|i| i.code == 0x18 && i.regs & 0x0f == 9).count();
    assert_eq!(loads_r9(&with[0]), 2, "the BEGIN id, then the ERROR id");
    assert_eq!(loads_r9(&without[0]), 1);
}

#[test]
fn a_probe_name_in_a_string_slot_is_told_from_every_string() {
    let mut slot = vec![0u8; 16];
    slot[1] = PROBE_IN_STRING;
    slot[2] = probe_field_code(ProbeField::Function);
    slot[4..8].copy_from_slice(&7u32.to_ne_bytes());
    assert_eq!(probe_in_string(&slot), Some((ProbeField::Function, 7)));
    // Strings are zero after their end, so no string reads as a probe.
    assert_eq!(probe_in_string(&[0u8; 16]), None);
    assert_eq!(probe_in_string(b"\xff\xff\x02\0\x07\0\0\0"), None);
}
