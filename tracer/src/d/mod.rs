//! The front end of the D compiler: DTrace's language, from program text
//! to a syntax tree.
//!
//! The compiler is a pipeline, one concept per module:
//! [`lexer`] (text to tokens) → [`parser`] (tokens to the [`ast`]) → type
//! check → lowering → eBPF code generation, with every stage reporting
//! into one [`diag::Diagnostics`] sink. Spans are byte offsets into the
//! [`diag::Source`], so any stage can point at the text it is about.

pub mod ast;
pub mod codegen;
pub mod diag;
pub mod histogram;
pub mod lexer;
pub mod parser;
pub mod printer;
pub mod printf;
pub mod probes;
pub mod run;
pub mod sema;
pub mod stacks;
pub mod syscalls;

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
