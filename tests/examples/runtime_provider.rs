//! A provider declared at run time with `usdt_runtime::dynamic`. Usage:
//! `runtime_provider path` prints the shared object's path and exits;
//! `runtime_provider N [MS]` fires every probe N times, MS ms apart
//! (default 10), printing per round whether `rtprov:ints` is enabled.
//! With `RTPROV_DELAY_MS` set it waits that long before loading the provider.

use std::ffi::CStr;
use usdt_runtime::dynamic::{Arg, ProviderBuilder};
use usdt_runtime::ArgKind;

fn int(size: u8, signed: bool) -> ArgKind {
    ArgKind::Int { size, signed }
}

fn main() {
    let twelve: Vec<(String, ArgKind)> = (0..12).map(|i| (format!("a{i}"), int(8, true))).collect();
    let twelve: Vec<(&str, ArgKind)> = twelve.iter().map(|(n, k)| (n.as_str(), *k)).collect();
    // RTPROV_DELAY_MS: load the provider only after this long (tests of
    // tracers that must pick up a provider loaded after they started).
    if let Some(ms) = std::env::var("RTPROV_DELAY_MS").ok().and_then(|v| v.parse().ok()) {
        println!("loading in {ms} ms");
        std::thread::sleep(std::time::Duration::from_millis(ms));
    }
    let provider = ProviderBuilder::new("rtprov")
        .probe(
            "ints",
            &[
                ("a", int(1, true)),
                ("b", int(2, false)),
                ("c", int(4, true)),
                ("d", int(8, false)),
                ("e", int(8, true)),
            ],
        )
        .doc("Integers of several widths.")
        .probe("text", &[("s", ArgKind::Str), ("c", ArgKind::CStr), ("b", ArgKind::Bytes)])
        .doc("Text, a C string and bytes.")
        .probe(
            "floats",
            &[("x", ArgKind::Float { size: 8 }), ("y", ArgKind::Float { size: 4 }), ("flag", ArgKind::Bool)],
        )
        .probe("twelve", &twelve)
        .load()
        .unwrap_or_else(|e| {
            eprintln!("runtime_provider: {e}");
            std::process::exit(1)
        });
    let mut args = std::env::args().skip(1);
    let first = args.next().unwrap_or_else(|| "1".into());
    if first == "path" {
        println!("{}", provider.path().display());
        return;
    }
    let n: i64 = first.parse().unwrap_or(1);
    let ms: u64 = args.next().and_then(|a| a.parse().ok()).unwrap_or(10);
    let p = |name| provider.probe(name).expect("declared");
    let c: &CStr = c"c string";
    for r in 1..=n {
        p("ints")
            .fire(&[
                Arg::I64(-r),
                Arg::U64(60000 + r as u64),
                Arg::I64(-100_000 * r),
                Arg::U64(u64::MAX - r as u64),
                Arg::I64(i64::MIN + r),
            ])
            .unwrap();
        let s = format!("héllo wörld {r}");
        p("text").fire(&[Arg::Str(&s), Arg::CStr(c), Arg::Bytes(&[1, 2, 3, 0xff])]).unwrap();
        p("floats").fire(&[Arg::F64(-1.25 * r as f64), Arg::F64(0.5), Arg::Bool(r % 2 == 1)]).unwrap();
        let vals: Vec<Arg> = (0..12).map(|k| Arg::I64(if k == 11 { -r } else { r * 100 + k })).collect();
        p("twelve").fire(&vals).unwrap();
        println!("round {r} enabled={}", p("ints").enabled());
        std::thread::sleep(std::time::Duration::from_millis(ms));
    }
}
