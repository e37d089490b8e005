//! What a disabled probe costs, ours beside the alternatives. Usage:
//! `probe_cost VARIANT N` runs a loop of N iterations whose body is one
//! disabled probe (VARIANT `sdtrace`, `usdt`, `probe_lazy`, `c_sdt`) or
//! nothing (`empty`, and `c_empty` for the C loop); `sites` calls each one-site function once.
//! `scripts/bench-probes` counts its instructions with callgrind.

use tests::probe_cost::*;

fn main() {
    let mut args = std::env::args().skip(1);
    let variant = args.next().unwrap_or_else(|| "empty".into());
    let n: u64 = args.next().and_then(|a| a.parse().ok()).unwrap_or(1_000_000);
    match variant.as_str() {
        "empty" => loop_empty(n),
        "sdtrace" => loop_sdtrace(n),
        "usdt" => loop_usdt(n),
        "probe_lazy" => loop_probe_lazy(n),
        "c_sdt" => loop_c_sdt(n),
        "c_empty" => loop_c_empty(n),
        "sites" => {
            site_none(n);
            site_sdtrace(n);
            site_usdt(n);
            site_probe_lazy(n);
            // SAFETY: a plain C function over an integer.
            unsafe { c_sdt_site(n) };
        }
        other => {
            eprintln!(
                "probe_cost: unknown variant `{other}` (empty, sdtrace, usdt, probe_lazy, c_empty, c_sdt, sites)"
            );
            std::process::exit(2);
        }
    }
}
