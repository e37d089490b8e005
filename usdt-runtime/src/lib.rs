//! The runtime a program depends on to carry SDT probes.
//!
//! Not written yet: compile-time providers (re-exporting `provider-macros`)
//! and run-time providers arrive with their issues. The crate exists so the
//! workspace layout in DESIGN.md is complete.
