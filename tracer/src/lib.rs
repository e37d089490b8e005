//! The `sdtrace` tracer: discovery of SDT probes in files, and (in later
//! stages) the D compiler, the kernel layer and the event consumer.
//!
//! The binary in `main.rs` is a thin command line over this library.

pub mod discovery;
pub mod listing;
pub mod pattern;
