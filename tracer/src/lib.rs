//! The `sdtrace` tracer: discovery of SDT probes in files and processes,
//! eBPF code generation, the kernel layer, and the event consumer.
//!
//! The binary in `main.rs` is a thin command line over this library.

pub mod bpf;
pub mod catalog;
pub mod consumer;
pub mod d;
pub mod discovery;
pub mod kernel;
pub mod listing;
pub mod pattern;
pub mod process;
pub mod site;
pub mod stop;
pub mod target;
pub mod trace;
pub mod trace_script;
