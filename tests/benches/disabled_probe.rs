//! A disabled probe in a hot loop: `#[provider]` beside an empty loop, the
//! `usdt` crate, `probe_lazy!` and a C `sys/sdt.h` probe gated by its
//! semaphore, in one run. Each iteration of a measured routine runs 1000
//! loop iterations. Instruction counts come from `scripts/bench-probes`.

use criterion::{criterion_group, criterion_main, Criterion};
use std::hint::black_box;
use tests::probe_cost::*;

const N: u64 = 1000;

fn disabled(c: &mut Criterion) {
    let mut g = c.benchmark_group("disabled probe x1000");
    g.bench_function("empty loop", |b| b.iter(|| loop_empty(black_box(N))));
    g.bench_function("sdtrace #[provider]", |b| b.iter(|| loop_sdtrace(black_box(N))));
    g.bench_function("usdt crate", |b| b.iter(|| loop_usdt(black_box(N))));
    g.bench_function("probe_lazy!", |b| b.iter(|| loop_probe_lazy(black_box(N))));
    g.bench_function("C empty loop", |b| b.iter(|| loop_c_empty(black_box(N))));
    g.bench_function("C sys/sdt.h + semaphore", |b| b.iter(|| loop_c_sdt(black_box(N))));
    g.finish();
}

criterion_group!(benches, disabled);
criterion_main!(benches);
