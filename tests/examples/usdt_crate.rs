//! Probes declared with the `usdt` crate (Oxide's), which emits stapsdt
//! notes on Linux. Usage: `usdt_crate N`: fires each probe N times.

#[usdt::provider]
mod usdtcrate {
    fn job__start(id: u64, name: &str) {}
    fn job__done(id: u64, code: i32) {}
}

fn main() {
    usdt::register_probes().expect("register probes");
    let n: u64 = std::env::args().nth(1).and_then(|a| a.parse().ok()).unwrap_or(1);
    for i in 0..n {
        let name = format!("job-{i}");
        usdtcrate::job__start!(|| (i, name.as_str()));
        usdtcrate::job__done!(|| (i, -(i as i32)));
        std::thread::sleep(std::time::Duration::from_millis(1));
    }
}
