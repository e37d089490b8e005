//! The `sdtrace` tracer: discovery of SDT probes in files and processes,
//! the D engine (compiler, eBPF code generation, output), and the kernel layer.
//!
//! The binary in `main.rs` is a thin command line over this library.

pub mod bpf;
pub mod catalog;
pub mod d;
pub mod discovery;
pub mod kernel;
pub mod listing;
pub mod pattern;
pub mod process;
pub mod site;
pub mod stop;
pub mod target;
pub mod tools;
pub mod trace;
