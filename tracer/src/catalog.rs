//! Built-in descriptions of the probes that runtimes ship without sdtrace
//! metadata records: argument names and which pointers are strings.
//!
//! The names and meanings follow each runtime's own documentation of its
//! probes (CPython's "Instrumenting CPython with DTrace and SystemTap",
//! Ruby's `probes.d`). A probe found here is described as if it carried a
//! metadata record; sdtrace metadata in the file always wins.

use stap_notes::meta::ArgKind;

const CSTR: ArgKind = ArgKind::CStr;
const I32: ArgKind = ArgKind::Int { size: 4, signed: true };
const I64: ArgKind = ArgKind::Int { size: 8, signed: true };
const PTR: ArgKind = ArgKind::Pointer;

type Entry = (&'static str, &'static str, &'static [(&'static str, ArgKind)]);

const ENTRIES: &[Entry] = &[
    ("python", "function__entry", &[("filename", CSTR), ("funcname", CSTR), ("lineno", I32)]),
    ("python", "function__return", &[("filename", CSTR), ("funcname", CSTR), ("lineno", I32)]),
    ("python", "line", &[("filename", CSTR), ("funcname", CSTR), ("lineno", I32)]),
    ("python", "gc__start", &[("generation", I32)]),
    ("python", "gc__done", &[("collected", I64)]),
    ("python", "import__find__load__start", &[("modulename", CSTR)]),
    ("python", "import__find__load__done", &[("modulename", CSTR), ("found", I32)]),
    ("python", "audit", &[("event", CSTR), ("args", PTR)]),
    ("ruby", "method__entry", &[("classname", CSTR), ("methodname", CSTR), ("filename", CSTR), ("lineno", I32)]),
    ("ruby", "method__return", &[("classname", CSTR), ("methodname", CSTR), ("filename", CSTR), ("lineno", I32)]),
    ("ruby", "cmethod__entry", &[("classname", CSTR), ("methodname", CSTR), ("filename", CSTR), ("lineno", I32)]),
    ("ruby", "cmethod__return", &[("classname", CSTR), ("methodname", CSTR), ("filename", CSTR), ("lineno", I32)]),
    ("ruby", "require__entry", &[("requiredfile", CSTR), ("filename", CSTR), ("lineno", I32)]),
    ("ruby", "require__return", &[("requiredfile", CSTR), ("filename", CSTR), ("lineno", I32)]),
    ("ruby", "load__entry", &[("loadedfile", CSTR), ("filename", CSTR), ("lineno", I32)]),
    ("ruby", "load__return", &[("loadedfile", CSTR), ("filename", CSTR), ("lineno", I32)]),
    ("ruby", "raise", &[("classname", CSTR), ("filename", CSTR), ("lineno", I32)]),
    ("ruby", "object__create", &[("classname", CSTR), ("filename", CSTR), ("lineno", I32)]),
    ("ruby", "array__create", &[("length", I64), ("filename", CSTR), ("lineno", I32)]),
    ("ruby", "hash__create", &[("length", I64), ("filename", CSTR), ("lineno", I32)]),
    ("ruby", "string__create", &[("length", I64), ("filename", CSTR), ("lineno", I32)]),
    ("ruby", "symbol__create", &[("str", CSTR), ("filename", CSTR), ("lineno", I32)]),
    ("ruby", "parse__begin", &[("sourcefile", CSTR), ("lineno", I32)]),
    ("ruby", "parse__end", &[("sourcefile", CSTR), ("lineno", I32)]),
    ("ruby", "find__require__entry", &[("requiredfile", CSTR), ("filename", CSTR), ("lineno", I32)]),
    ("ruby", "find__require__return", &[("requiredfile", CSTR), ("filename", CSTR), ("lineno", I32)]),
    ("ruby", "method__cache__clear", &[("classname", CSTR), ("filename", CSTR), ("lineno", I32)]),
    ("libstdcxx", "throw", &[("object", PTR), ("typeinfo", PTR)]),
    ("libstdcxx", "rethrow", &[("object", PTR), ("typeinfo", PTR)]),
    ("libstdcxx", "catch", &[("object", PTR), ("typeinfo", PTR)]),
];

/// The built-in description of `provider:name`, when there is one.
pub fn lookup(provider: &str, name: &str) -> Option<Vec<(String, ArgKind)>> {
    ENTRIES
        .iter()
        .find(|(p, n, _)| *p == provider && *n == name)
        .map(|(_, _, args)| args.iter().map(|(n, k)| (n.to_string(), *k)).collect())
}

/// Probes a runtime fires only while another of its probes is enabled,
/// in the versions named: `(provider, probes, object name has, needed
/// probe, why)`. CPython 3.11 reaches `function__entry` and
/// `function__return` for calls made from Python code only on its tracing
/// path, which its `line` probe's semaphore turns on (cpython#98894).
const NEEDS: &[(&str, &[&str], &str, &str, &str)] = &[(
    "python",
    &["function__entry", "function__return"],
    "python3.11",
    "line",
    "CPython 3.11 fires its function-entry and function-return probes for calls made from Python only while \
     its line probe is enabled (cpython#98894)",
)];

/// Probes a runtime fires only when the program itself asks for them,
/// which nothing outside the process can do: `(provider, probes, object
/// name has, what to do)`.
const IN_PROCESS: &[(&str, &[&str], &str, &str)] = &[(
    "ruby",
    &["method__entry", "method__return", "cmethod__entry", "cmethod__return"],
    "ruby",
    "Ruby fires it only while a TracePoint for :call and :return (:c_call and :c_return for cmethod) is \
     enabled in the process: load tracer/d/rb_tracepoint.rb into it (ruby -r./tracer/d/rb_tracepoint.rb, or \
     RUBYOPT=-r/path/to/rb_tracepoint.rb)",
)];

/// What a user should know about `provider:name` in the object called
/// `object` (its file name) for it to fire: that sdtrace enables another
/// probe for it, or what the program must do itself.
pub fn firing_note(provider: &str, name: &str, object: &str) -> Option<String> {
    if let Some((needed, why)) = needs_enabled(provider, name, object) {
        return Some(format!("{why}; sdtrace enables `{needed}` when it traces this probe"));
    }
    IN_PROCESS
        .iter()
        .find(|(p, probes, has, _)| *p == provider && probes.contains(&name) && object.contains(has))
        .map(|&(_, _, _, what)| what.to_string())
}

/// The probe that `provider:name` needs enabled in the object called
/// `object` (its file name) to fire, and why.
pub fn needs_enabled(provider: &str, name: &str, object: &str) -> Option<(&'static str, &'static str)> {
    NEEDS
        .iter()
        .find(|(p, probes, version, _, _)| *p == provider && probes.contains(&name) && object.contains(version))
        .map(|&(_, _, _, needed, why)| (needed, why))
}

#[cfg(test)]
mod tests {
    /// Runtime probes pass plain pointers: each described argument must
    /// occupy exactly one stapsdt argument, or names would shift.
    #[test]
    fn entries_use_single_slot_kinds() {
        for (p, n, args) in super::ENTRIES {
            assert!(args.iter().all(|(_, k)| k.note_args() == 1), "{p}:{n}");
        }
    }
}
