//! Probes for Rust programs, traceable by sdtrace, bpftrace, perf, gdb and
//! every other tool that reads SystemTap SDT notes.
//!
//! # A provider in five lines
//!
//! ```
//! #[usdt_runtime::provider]
//! mod http {
//!     /// A request was accepted; `path` is the raw request path.
//!     fn request__start(id: u64, path: &str);
//!     /// The response was written.
//!     fn request__done(id: u64, status: u16, nanos: u64);
//! }
//!
//! fn serve(id: u64, path: &str) {
//!     // The closure runs only while a tracer has enabled the probe.
//!     http::request__start!(|| (id, path));
//!     let started = std::time::Instant::now();
//!     // … handle the request …
//!     http::request__done!(|| (id, 200, started.elapsed().as_nanos() as u64));
//! }
//!
//! fn main() {
//!     // Preparing arguments is expensive? Ask first.
//!     if http::request__start_enabled() {
//!         println!("someone is tracing");
//!     }
//!     serve(1, "/index.html");
//! }
//! ```
//!
//! Trace it (as root) with any of:
//!
//! ```text
//! sdtrace trace -c ./server 'http:request__start'          # names and types from the metadata record
//! sdtrace -n 'http$target:::request-start { printf("%d %s\n", arg0, copyinstr(arg1, arg2)); }' -c ./server
//! bpftrace -e 'usdt:./server:http:request__start { printf("%d %s\n", arg0, str(arg1, arg2)); }' -c ./server
//! ```
//!
//! Depend on `usdt-runtime` under that name: the expansion refers to
//! `::usdt_runtime`.
//!
//! # What a probe costs and emits
//!
//! - While no tracer is attached, a call site costs one load of the probe's
//!   semaphore and a branch; the closure is not called, so the arguments
//!   cost nothing. `NAME_enabled()` is that same load.
//! - Each call site is a standard stapsdt note plus, on x86-64, the
//!   `nop; nop10` site (tracers that know the kernel optimises 10-byte nops
//!   probe one byte in; the others probe the 1-byte nop). On aarch64 it is a
//!   `nop`. On other targets the macros compile to nothing and
//!   `NAME_enabled()` is `false`.
//! - Every call site of a probe, including copies made by inlining and
//!   generics, shares one semaphore: a weak, hidden `u16` named
//!   `__sdtrace_sema_<len><provider>_<probe>` in the `.probes` section,
//!   which is aligned to a page so that programs started under a tracer
//!   (`-c`) see their semaphores raised (lld may otherwise put the first
//!   semaphores on a file page shared with RELRO).
//! - Each probe has one sdtrace metadata record (argument names, types, the
//!   doc comment, source file and line) in the non-allocated
//!   `.note.sdtrace` section; it is not loaded at run time.
//!
//! # Argument types
//!
//! A probe has at most 12 stapsdt arguments; strings, byte slices and JSON
//! take two each (pointer and length), so the compiler rejects, for
//! example, seven `&str` arguments.
//!
//! | declared type | the closure returns | stapsdt arguments | bpftrace sees | sdtrace shows |
//! |---|---|---|---|---|
//! | `u8`…`u64`, `i8`…`i64`, `usize`, `isize` | that integer | `N@reg`, `-N@reg` for signed | the integer | the integer |
//! | `bool` | `bool` | `1@reg` | 0 or 1 | `true`/`false` |
//! | `char` | `char` | `4@reg` | the code point | the character |
//! | `f32`, `f64` | that float | `4@reg`/`8@reg`, the IEEE bits | the bits as an integer | the number |
//! | `&str`, `String` | anything `AsRef<str>` | `8@ptr 8@len` | `str(argN, argN+1)` | the text, exactly `len` bytes |
//! | `&CStr`, `CString` | anything `AsRef<CStr>` | `8@ptr` | `str(argN)` | the text |
//! | `&[u8]`, `Vec<u8>` | anything `AsRef<[u8]>` | `8@ptr 8@len` | `buf(argN, argN+1)` | the bytes |
//! | `*const T`, `*mut T` | a raw pointer | `8@reg` | the address | the address |
//! | `Json<T>` (feature `serde`) | [`Json`]`(value)` of any `Serialize` | `8@ptr 8@len` | `str(argN, argN+1)` | the JSON text |
//!
//! Strings and bytes are passed **zero-copy**: the tracer reads them from
//! the program's memory while the probe fires. A `Json` value is
//! serialised only while the probe is enabled.
//!
//! With one argument the closure returns the value itself; with several, a
//! tuple; a probe without arguments fires with `NAME!()`.
//!
//! # Providers from a D file
//!
//! [`dtrace_provider!`] reads the DTrace `provider` syntax that C programs
//! feed to `dtrace -h`, so one file declares the probes for every language:
//!
//! ```text
//! provider http {
//!     /* A request was accepted. */
//!     probe request__start(uint64_t id, char *path);
//! };
//! ```
//!
//! `char *` arguments take anything `AsRef<CStr>`, other pointers raw
//! pointers, and C integer types their Rust equivalents.

pub mod dynamic;
mod private;
#[cfg(feature = "tracing")]
pub mod tracing;

pub use provider_macros::{dtrace_provider, provider};
/// Argument types in sdtrace's vocabulary (run-time providers declare with them).
pub use stap_notes::ArgKind;

/// A probe argument passed as JSON: declare the argument as `Json<T>` and
/// return `Json(value)` (or `Json(&value)`) from the firing closure.
/// The value is serialised only while the probe is enabled.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Json<T>(pub T);

#[doc(hidden)]
pub mod __private {
    pub use crate::private::*;
}
