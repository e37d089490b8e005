//! What a provider declaration means, independent of where it came from (a
//! `#[provider]` module or a D `provider` file): the provider's name, its
//! probes, and each argument's type in sdtrace's vocabulary
//! ([`stap_notes::ArgKind`]) with the Rust-side conversion it needs.

use proc_macro2::Span;
use stap_notes::meta::MAX_NOTE_ARGS;
use stap_notes::ArgKind;

/// How a Rust value becomes stapsdt arguments.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ArgType {
    /// An integer of `size` bytes; the value converts with `as`.
    Int { size: u8, signed: bool, rust: &'static str },
    /// `bool`, one byte.
    Bool,
    /// `char`, its scalar value in 4 bytes.
    Char,
    /// `f32` / `f64`, passed as its bits.
    Float { size: u8 },
    /// Anything `AsRef<str>`: pointer and length.
    Str,
    /// Anything `AsRef<CStr>`: a pointer to NUL-terminated text.
    CStr,
    /// Anything `AsRef<[u8]>`: pointer and length.
    Bytes,
    /// A raw pointer (`*const T`, `*mut T`): its address.
    Pointer,
    /// Any `serde::Serialize` value, as a JSON document: pointer and length.
    Json,
}

impl ArgType {
    /// The metadata record's kind.
    pub fn kind(self) -> ArgKind {
        match self {
            ArgType::Int { size, signed, .. } => ArgKind::Int { size, signed },
            ArgType::Bool => ArgKind::Bool,
            ArgType::Char => ArgKind::Char,
            ArgType::Float { size } => ArgKind::Float { size },
            ArgType::Str => ArgKind::Str,
            ArgType::CStr => ArgKind::CStr,
            ArgType::Bytes => ArgKind::Bytes,
            ArgType::Pointer => ArgKind::Pointer,
            ArgType::Json => ArgKind::Json,
        }
    }

    /// `(size, signed)` of each stapsdt argument the type occupies.
    pub fn note_args(self) -> Vec<(u8, bool)> {
        self.kind().note_slots(8)
    }
}

/// One argument of a probe.
#[derive(Debug, Clone)]
pub struct Arg {
    pub name: String,
    pub ty: ArgType,
    pub span: Span,
}

/// One probe of a provider.
#[derive(Debug, Clone)]
pub struct Probe {
    /// The name as written (`request__start`): it is the stapsdt name.
    pub name: String,
    pub doc: String,
    pub args: Vec<Arg>,
    pub span: Span,
    /// Source line for the metadata record when it is known here (D files);
    /// `None` lets the compiler supply it (`line!()`).
    pub line: Option<u32>,
}

impl Probe {
    /// Number of stapsdt arguments the probe needs.
    pub fn note_arg_count(&self) -> usize {
        self.args.iter().map(|a| a.ty.note_args().len()).sum()
    }

    /// Reject probes that need more stapsdt arguments than tracers read.
    pub fn check_budget(&self) -> syn::Result<()> {
        let mut used = 0;
        for a in &self.args {
            used += a.ty.note_args().len();
            if used > MAX_NOTE_ARGS {
                return Err(syn::Error::new(
                    a.span,
                    format!(
                        "probe `{}` needs {} stapsdt arguments; tracers read at most {MAX_NOTE_ARGS} \
                         (strings, byte slices and JSON values take two: pointer and length)",
                        self.name,
                        self.note_arg_count()
                    ),
                ));
            }
        }
        Ok(())
    }
}

/// A provider: a name and its probes.
#[derive(Debug, Clone)]
pub struct Provider {
    pub name: String,
    pub probes: Vec<Probe>,
    /// The source file for records when known here (D files).
    pub file: Option<String>,
}

/// The semaphore symbol of a probe. The provider's length comes first so
/// that `a_b`/`c` and `a`/`b_c` cannot collide.
pub fn semaphore_symbol(provider: &str, probe: &str) -> String {
    format!("__sdtrace_sema_{}{}_{}", provider.len(), provider, probe)
}

/// Whether `s` may be a provider or probe name (stap-notes' rule).
pub use stap_notes::meta::valid_name;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn semaphore_symbols_do_not_collide_across_the_underscore() {
        assert_ne!(semaphore_symbol("a_b", "c"), semaphore_symbol("a", "b_c"));
    }

    #[test]
    fn strings_take_two_note_arguments() {
        assert_eq!(ArgType::Str.note_args().len(), 2);
        assert_eq!(ArgType::Str.kind().note_args(), 2);
        assert_eq!(ArgType::Json.kind().note_args(), ArgType::Json.note_args().len());
    }

    #[test]
    fn budget_error_names_the_probe() {
        let args = (0..7).map(|i| Arg { name: format!("s{i}"), ty: ArgType::Str, span: Span::call_site() }).collect();
        let p = Probe { name: "big".into(), doc: String::new(), args, span: Span::call_site(), line: None };
        let e = p.check_budget().unwrap_err().to_string();
        assert!(e.contains("`big` needs 14"), "{e}");
    }

    #[test]
    fn names() {
        assert!(valid_name("request__start"));
        assert!(!valid_name("9lives"));
        assert!(!valid_name("a-b"));
    }
}
