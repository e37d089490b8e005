//! Misuse of the provider macros is a compile error on the offending
//! token, never a macro panic: each `tests/ui/*.rs` must fail to compile
//! with the diagnostics in its `.stderr` file.

#[test]
fn misuse_is_a_compile_error_with_a_span() {
    trybuild::TestCases::new().compile_fail("tests/ui/*.rs");
}
