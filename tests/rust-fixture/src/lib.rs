//! Probes of every argument type, fired with values the end-to-end tests
//! know. The library is also built as a cdylib whose `rust_fixture_fire`
//! a C program or Python's ctypes can call.

use std::fmt::Display;
use std::sync::atomic::{AtomicU64, Ordering};

use usdt_runtime::Json;

/// How many times a firing closure ran: 0 unless a tracer enabled a probe.
pub static CLOSURE_CALLS: AtomicU64 = AtomicU64::new(0);

fn called() {
    CLOSURE_CALLS.fetch_add(1, Ordering::Relaxed);
}

/// The fixture's probes.
#[usdt_runtime::provider]
pub mod fixture {
    /// Integers of every width; the test knows the values of round `r`.
    fn ints(a: u8, b: i8, c: u16, d: i16, e: u32, f: i32, g: u64, h: i64);
    /// A bool, a char, two floats and a pointer.
    fn misc(flag: bool, ch: char, x: f32, y: f64, p: *const u8);
    /// Text three ways: UTF-8 with its length, a C string, and bytes.
    fn text(s: &str, c: &CStr, b: &[u8]);
    /// Twelve arguments, the most a probe can carry.
    fn twelve(
        a0: u64,
        a1: u64,
        a2: u64,
        a3: u64,
        a4: u64,
        a5: u64,
        a6: u64,
        a7: u64,
        a8: u64,
        a9: u64,
        a10: u64,
        a11: i64,
    );
    /// A serde value as JSON.
    fn json(v: Json<Point>);
    /// Fired from a generic, inlined function: one probe, many sites.
    fn generic(which: u64, what: &str);
    /// Fired by `rust_fixture_fire` (the cdylib's entry point).
    fn from_c(n: u64);
}

usdt_runtime::dtrace_provider!("src/fixture.d");

/// A serde value for the `json` probe.
#[derive(serde::Serialize)]
pub struct Point {
    /// X.
    pub x: i32,
    /// Label.
    pub label: &'static str,
}

#[inline]
fn generic_site<T: Display>(which: u64, t: T) {
    let s = t.to_string();
    fixture::generic!(|| {
        called();
        (which, s.as_str())
    });
}

/// Fire every probe once with the values of round `r`.
pub fn fire_round(r: u64) {
    let ri = r as i64;
    fixture::ints!(|| {
        called();
        (
            r as u8,
            -(r as i8),
            1000 + r as u16,
            -1000 - r as i16,
            100_000 + r as u32,
            -100_000 - r as i32,
            u64::MAX - r,
            i64::MIN + ri,
        )
    });
    let data = [1u8, 2, 3, 0xff];
    fixture::misc!(|| {
        called();
        (r % 2 == 1, 'é', 1.5f32, -2.25f64 * r as f64, data.as_ptr())
    });
    let s = format!("héllo wörld {r}");
    let c = c"c string";
    fixture::text!(|| {
        called();
        (s.as_str(), c, &data[..])
    });
    fixture::twelve!(|| {
        called();
        (r, r + 1, r + 2, r + 3, r + 4, r + 5, r + 6, r + 7, r + 8, r + 9, r + 10, -ri - 11)
    });
    fixture::json!(|| {
        called();
        Json(Point { x: ri as i32, label: "pt" })
    });
    generic_site(1, r);
    generic_site(2, "two");
    generic_site(3, 3.5f64);
    let who = c"wörld";
    dfix::hello!(|| {
        called();
        (r as i32, who)
    });
    dfix::tick!();
}

/// Whether a tracer enabled `fixture:ints` (a test reads it on stdout).
pub fn ints_enabled() -> bool {
    fixture::ints_enabled()
}

/// The cdylib's entry point: fires `fixture:from_c` with `n`.
#[no_mangle]
pub extern "C" fn rust_fixture_fire(n: u64) -> u64 {
    fixture::from_c!(|| {
        called();
        n
    });
    CLOSURE_CALLS.load(Ordering::Relaxed)
}
