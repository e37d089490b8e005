//! What usdt-runtime's `tracing` layer costs a service while no tracer is
//! attached, beside a plain registry (no layer) and a `fmt` layer writing
//! to a sink, in one run: each iteration makes, enters and exits a span
//! with two fields and emits one event inside it. Prints the median
//! nanoseconds per iteration of 5 interleaved rounds for N, 10×N and 100×N
//! iterations, and the ratios. Usage: `tracing_cost [N]` (default 10,000).

use std::time::Instant;

use tracing_subscriber::layer::SubscriberExt;

fn work(n: u64) {
    for i in 0..n {
        let span = tracing::info_span!("handle_request", route = "/users", req = i);
        let _entered = span.enter();
        tracing::info!(status = 200u64, "served");
    }
}

fn per_iteration(dispatch: &tracing::Dispatch, n: u64) -> f64 {
    tracing::dispatcher::with_default(dispatch, || {
        let t = Instant::now();
        work(n);
        t.elapsed().as_nanos() as f64 / n as f64
    })
}

fn main() {
    let n: u64 = std::env::args().nth(1).and_then(|a| a.parse().ok()).unwrap_or(10_000);
    let none = tracing::Dispatch::new(tracing_subscriber::registry());
    let usdt = tracing::Dispatch::new(tracing_subscriber::registry().with(usdt_runtime::tracing::layer("cost")));
    let fmt = tracing::Dispatch::new(
        tracing_subscriber::registry().with(tracing_subscriber::fmt::layer().with_writer(std::io::sink)),
    );
    // The first span and event of each callsite declare their probes.
    for d in [&none, &usdt, &fmt] {
        per_iteration(d, 1);
    }
    println!("{:>10} {:>12} {:>12} {:>12} {:>10} {:>10}", "N", "none ns", "usdt ns", "fmt ns", "usdt/none", "fmt/none");
    for scale in [1, 10, 100] {
        let n = n * scale;
        let mut rounds: [Vec<f64>; 3] = Default::default();
        for _ in 0..5 {
            for (i, d) in [&none, &usdt, &fmt].into_iter().enumerate() {
                rounds[i].push(per_iteration(d, n));
            }
        }
        let m: Vec<f64> = rounds
            .iter_mut()
            .map(|r| {
                r.sort_by(|a, b| a.total_cmp(b));
                r[2]
            })
            .collect();
        println!("{n:>10} {:>12.1} {:>12.1} {:>12.1} {:>10.2} {:>10.2}", m[0], m[1], m[2], m[1] / m[0], m[2] / m[0]);
    }
}
