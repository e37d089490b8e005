//! Loops whose body is one disabled probe (ours, the `usdt` crate's,
//! `probe_lazy!`, a C `sys/sdt.h` probe gated by its semaphore) or nothing,
//! and functions holding one site each. `examples/probe_cost.rs` runs them
//! under callgrind (`scripts/bench-probes`); `benches/disabled_probe.rs`
//! times them.

use std::hint::black_box;

#[usdt_runtime::provider]
mod sdbench {
    /// The hot-loop probe.
    fn hot(i: u64);
}

#[usdt::provider]
mod usdtbench {
    fn hot(i: u64) {}
}

extern "C" {
    /// The C loop (fixtures/bench_sdt.c).
    pub fn c_sdt_loop(n: u64);
    /// The C loop without the probe, the C baseline.
    pub fn c_empty_loop(n: u64);
    /// The C site (fixtures/bench_sdt.c).
    pub fn c_sdt_site(i: u64);
}

/// An empty loop: the baseline.
#[no_mangle]
#[inline(never)]
pub extern "C" fn loop_empty(n: u64) {
    for i in 0..n {
        black_box(i);
    }
}

/// One disabled `#[provider]` probe per iteration.
#[no_mangle]
#[inline(never)]
pub extern "C" fn loop_sdtrace(n: u64) {
    for i in 0..n {
        black_box(i);
        sdbench::hot!(|| i);
    }
}

/// One disabled `usdt` crate probe per iteration.
#[no_mangle]
#[inline(never)]
pub extern "C" fn loop_usdt(n: u64) {
    for i in 0..n {
        black_box(i);
        usdtbench::hot!(|| i);
    }
}

/// One disabled `probe_lazy!` per iteration.
#[no_mangle]
#[inline(never)]
pub extern "C" fn loop_probe_lazy(n: u64) {
    for i in 0..n {
        black_box(i);
        probe::probe_lazy!(probebench, hot, i);
    }
}

/// A C `sys/sdt.h` probe gated by its semaphore, looped in C.
#[no_mangle]
#[inline(never)]
pub extern "C" fn loop_c_sdt(n: u64) {
    // SAFETY: a plain C loop over integers.
    unsafe { c_sdt_loop(n) }
}

/// The C loop without its probe.
#[no_mangle]
#[inline(never)]
pub extern "C" fn loop_c_empty(n: u64) {
    // SAFETY: a plain C loop over integers.
    unsafe { c_empty_loop(n) }
}

/// Functions with one site each, for the size comparison (`nm -S`).
#[no_mangle]
#[inline(never)]
pub extern "C" fn site_none(i: u64) {
    black_box(i);
}

/// One `#[provider]` site.
#[no_mangle]
#[inline(never)]
pub extern "C" fn site_sdtrace(i: u64) {
    black_box(i);
    sdbench::hot!(|| i);
}

/// One `usdt` crate site.
#[no_mangle]
#[inline(never)]
pub extern "C" fn site_usdt(i: u64) {
    black_box(i);
    usdtbench::hot!(|| i);
}

/// One `probe_lazy!` site.
#[no_mangle]
#[inline(never)]
pub extern "C" fn site_probe_lazy(i: u64) {
    black_box(i);
    probe::probe_lazy!(probebench, hot, i);
}
