//! `ustackdepth` against bpftrace: for the same probe of the same program,
//! as many frames as bpftrace's `ustack` prints (both unwind by frame
//! pointers in the kernel).

use std::process::Command;

use tests::{can_attach, fixture, sdtrace_bin};

#[test]
fn ustackdepth_counts_the_frames_bpftrace_prints() {
    if !can_attach() {
        return;
    }
    let exe = std::fs::canonicalize(fixture("sdt_basic_O0")).unwrap();
    let exe = exe.to_str().unwrap();
    let out = Command::new(sdtrace_bin())
        .args(["-q", "-n", "fixture$target:::repeated { @[ustackdepth] = count(); }", "-c", &format!("{exe} 3")])
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let text = String::from_utf8_lossy(&out.stdout);
    // One depth for both sites (each in a function main calls): 6 firings.
    let rows: Vec<Vec<u64>> = text
        .lines()
        .filter(|l| !l.trim().is_empty() && l.trim() != "0")
        .map(|l| l.split_whitespace().map(|w| w.parse().unwrap()).collect())
        .collect();
    assert_eq!(rows.len(), 1, "{text}");
    let (depth, count) = (rows[0][0], rows[0][1]);
    assert_eq!(count, 6, "{text}");
    let bt = Command::new("bpftrace")
        .args(["-e", &format!("usdt:{exe}:fixture:repeated {{ @[ustack] = count(); }}"), "-c", &format!("{exe} 3")])
        .output()
        .expect("bpftrace runs");
    let bt_text = String::from_utf8_lossy(&bt.stdout);
    // Each `@[` … `]: N` block is one stack, a frame a line.
    let depths: Vec<u64> = bt_text
        .split("@[")
        .skip(1)
        .map(|block| block.split("]:").next().unwrap().lines().filter(|l| !l.trim().is_empty()).count() as u64)
        .collect();
    assert!(!depths.is_empty(), "bpftrace printed no stacks:\n{bt_text}\n{}", String::from_utf8_lossy(&bt.stderr));
    assert!(depths.iter().all(|&d| d == depth), "sdtrace says {depth} frames, bpftrace's stacks have {depths:?}");
}
