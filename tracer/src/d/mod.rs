//! D programs end to end: the language itself (text to the checked
//! program) is the [`dlang`] crate, re-exported here under its module
//! names; this module holds the stages after it — probe matching and
//! planning ([`probes`], over the [`syscalls`] table), eBPF generation
//! ([`codegen`]), the run ([`run`]: maps, programs, attach, the ring
//! buffer) and the output ([`printer`], with [`stacks`] for symbols).
//! `docs/architecture.md` draws the pipeline.

pub use dlang::{ast, diag, histogram, lexer, parse, parser, printf, sema};

pub mod codegen;
pub mod cpp;
pub mod events;
mod options;
pub mod printer;
pub mod probes;
mod reports;
pub mod run;
pub mod stacks;
pub mod syscalls;
