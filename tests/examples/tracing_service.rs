//! A service instrumented with `tracing` only, whose spans and events
//! become USDT probes through `usdt_runtime::tracing::layer("svc")`: the
//! fixture of `tests/tests/tracing_layer.rs` (and, with `SVC_PROVIDER=myservice`,
//! the `-p PID` of the docs' examples).
//!
//! It serves one warm-up request per route (so every callsite has its
//! probes), prints `ready PID`, waits for a line on stdin, then serves the
//! requests it is given as arguments (`/users=7 /orders=3`), each taking
//! about a millisecond, and prints `sent ROUTE N` for each route.

use std::io::BufRead;

use tracing_subscriber::layer::SubscriberExt;

#[tracing::instrument(fields(bytes))]
fn handle_request(route: &str, req: u64) -> usize {
    let body = format!("{route}:{req}");
    std::thread::sleep(std::time::Duration::from_millis(1));
    tracing::Span::current().record("bytes", body.len() as u64);
    tracing::info!(status = 200u64, "served {route}");
    body.len()
}

fn main() {
    let provider = std::env::var("SVC_PROVIDER").unwrap_or_else(|_| "svc".into());
    let subscriber = tracing_subscriber::registry().with(usdt_runtime::tracing::layer(&provider));
    tracing::subscriber::set_global_default(subscriber).expect("one subscriber");
    let plan: Vec<(String, u64)> = std::env::args()
        .skip(1)
        .filter_map(|a| {
            let (route, n) = a.split_once('=')?;
            Some((route.to_string(), n.parse().ok()?))
        })
        .collect();
    for (route, _) in &plan {
        handle_request(route, 0);
    }
    println!("ready {}", std::process::id());
    let mut line = String::new();
    std::io::stdin().lock().read_line(&mut line).expect("stdin");
    let mut req = 1;
    for (route, n) in &plan {
        for _ in 0..*n {
            handle_request(route, req);
            req += 1;
        }
    }
    for (route, n) in &plan {
        println!("sent {route} {n}");
    }
}
