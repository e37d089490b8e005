//! Proc macros that declare SDT probes in Rust code.
//!
//! Not written yet: `#[provider]` arrives with the Rust-providers issue.
//! The crate exists so the workspace layout in DESIGN.md is complete.
