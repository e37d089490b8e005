//! The D language (DTrace's) as sdtrace compiles it, from program text to
//! the checked program that code generation takes: the first stages of the
//! pipeline, with no libc, no kernel and no `unsafe` (`#![forbid]`).
//!
//! One concept per module, in pipeline order: [`diag`] (the source text,
//! spans and the one diagnostics sink every stage reports into),
//! [`lexer`] (text to tokens), [`parser`] (tokens to the [`ast`]),
//! [`sema`] (name resolution, typing, argument typing from probe metadata,
//! aggregations, actions, the default action and record shaping, giving
//! the checked program, [`sema::Ir`]); [`printf`] parses and renders
//! `printf` formats and [`histogram`] holds the bucket math of `quantize`
//! and friends, both shared by the checker and the output. Spans are byte
//! offsets into the [`diag::Source`], so any stage can point at the text
//! it is about.

#![forbid(unsafe_code)]

pub mod ast;
pub mod diag;
pub mod histogram;
pub mod lexer;
pub mod parser;
pub mod printf;
pub mod sema;

/// Parse a D program. On failure, returns every diagnostic found (in text
/// order); render them with [`diag::render_all`]. Warnings alone do not
/// fail the parse.
pub fn parse(source: &diag::Source) -> Result<ast::Program, Vec<diag::Diagnostic>> {
    let mut diags = diag::Diagnostics::new();
    let program = parser::parse_program(source, &mut diags);
    if diags.has_errors() {
        Err(diags.into_vec())
    } else {
        Ok(program)
    }
}
