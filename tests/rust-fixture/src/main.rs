//! `rust_fixture N [MS]`: fires every probe of the fixture N times, MS
//! milliseconds apart (default 10), printing per round whether
//! `fixture:ints` was enabled, then how many firing closures ran.

use std::sync::atomic::Ordering;

fn main() {
    let mut args = std::env::args().skip(1);
    let n: u64 = args.next().and_then(|a| a.parse().ok()).unwrap_or(1);
    let ms: u64 = args.next().and_then(|a| a.parse().ok()).unwrap_or(10);
    for r in 1..=n {
        rust_fixture::fire_round(r);
        println!("round {r} enabled={}", rust_fixture::ints_enabled());
        std::thread::sleep(std::time::Duration::from_millis(ms));
    }
    println!("closures {}", rust_fixture::CLOSURE_CALLS.load(Ordering::Relaxed));
}
