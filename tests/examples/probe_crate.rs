//! Probes emitted with the `probe` crate's `probe!` and `probe_lazy!`
//! (sys/sdt.h's assembly in Rust). Usage: `probe_crate N`.

fn main() {
    let n: i64 = std::env::args().nth(1).and_then(|a| a.parse().ok()).unwrap_or(1);
    for i in 0..n {
        probe::probe!(probecrate, eager, i, -i);
        probe::probe_lazy!(probecrate, lazy, i * 2, i as u8);
        std::thread::sleep(std::time::Duration::from_millis(1));
    }
}
