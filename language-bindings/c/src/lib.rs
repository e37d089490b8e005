//! The C ABI of sdtrace's run-time providers ([`rt::dynamic`]): C, and
//! languages that call C (the Ruby gem in `language-bindings/ruby`), declare
//! a provider while they run, load it, and fire its probes.
//!
//! The header `include/usdt_runtime.h` is generated from this file by
//! cbindgen (`tests/header.rs` fails when it is out of date). Conventions:
//!
//! - Fallible functions return an `int`: `USDT_OK` (0) or a negative
//!   [`usdt_status`]; the thread's [`usdt_last_error`] then says what went
//!   wrong in words. Results come back through out-pointers.
//! - Null pointers and strings that are not UTF-8 are errors
//!   (`USDT_ERR_NULL`, `USDT_ERR_UTF8`), not undefined behaviour; kinds and
//!   tags are plain integers, checked on entry.
//! - No Rust panic crosses the boundary: one becomes `USDT_ERR_PANIC`.
//! - A loaded provider's shared object is never closed (a probe may be
//!   firing on another thread): [`usdt_provider_free`] frees the handle only.

#![allow(non_camel_case_types)]

use std::cell::RefCell;
use std::ffi::{c_char, c_int, CStr, CString};
use std::panic::{catch_unwind, AssertUnwindSafe};

use rt::dynamic::{Arg, Error, Probe, Provider, ProviderBuilder};
use rt::ArgKind;

/// Status codes: what every fallible function returns.
#[repr(C)]
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum usdt_status {
    /// Success.
    USDT_OK = 0,
    /// A pointer argument that must not be null was null.
    USDT_ERR_NULL = -1,
    /// A string argument was not UTF-8.
    USDT_ERR_UTF8 = -2,
    /// A provider or probe name that tracers cannot use.
    USDT_ERR_INVALID_NAME = -3,
    /// A probe declared twice or with more than 12 stapsdt arguments.
    USDT_ERR_BAD_PROBE = -4,
    /// Run-time providers do not work on this architecture.
    USDT_ERR_UNSUPPORTED = -5,
    /// The provider's shared object could not be written or opened.
    USDT_ERR_LOAD = -6,
    /// Fire arguments that do not match the probe's declaration.
    USDT_ERR_BAD_ARGUMENTS = -7,
    /// No probe of that name.
    USDT_ERR_NOT_FOUND = -8,
    /// An argument kind or value tag that is not one of the enums' values.
    USDT_ERR_BAD_KIND = -9,
    /// A builder used after `usdt_builder_load` consumed it.
    USDT_ERR_CONSUMED = -10,
    /// An internal error (a Rust panic, caught at the boundary).
    USDT_ERR_PANIC = -11,
}

/// The type of a probe argument, as declared ([`usdt_arg_decl::kind`]).
#[repr(C)]
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum usdt_kind {
    /// `int8_t`.
    USDT_KIND_I8 = 1,
    /// `int16_t`.
    USDT_KIND_I16 = 2,
    /// `int32_t`.
    USDT_KIND_I32 = 3,
    /// `int64_t`.
    USDT_KIND_I64 = 4,
    /// `uint8_t`.
    USDT_KIND_U8 = 5,
    /// `uint16_t`.
    USDT_KIND_U16 = 6,
    /// `uint32_t`.
    USDT_KIND_U32 = 7,
    /// `uint64_t`.
    USDT_KIND_U64 = 8,
    /// `float` (fired with a `USDT_TAG_F64` value, narrowed).
    USDT_KIND_F32 = 9,
    /// `double`.
    USDT_KIND_F64 = 10,
    /// `bool`.
    USDT_KIND_BOOL = 11,
    /// A Unicode code point (fired with `USDT_TAG_U64`).
    USDT_KIND_CHAR = 12,
    /// An address to print, not follow (fired with `USDT_TAG_U64`).
    USDT_KIND_POINTER = 13,
    /// UTF-8 text, pointer and length (fired with `USDT_TAG_STR`).
    USDT_KIND_STR = 14,
    /// NUL-terminated text (fired with `USDT_TAG_CSTR`).
    USDT_KIND_CSTR = 15,
    /// Bytes, pointer and length (fired with `USDT_TAG_BYTES`).
    USDT_KIND_BYTES = 16,
    /// A JSON document, pointer and length (fired with `USDT_TAG_STR`).
    USDT_KIND_JSON = 17,
}

impl usdt_kind {
    const ALL: [usdt_kind; 17] = [
        usdt_kind::USDT_KIND_I8,
        usdt_kind::USDT_KIND_I16,
        usdt_kind::USDT_KIND_I32,
        usdt_kind::USDT_KIND_I64,
        usdt_kind::USDT_KIND_U8,
        usdt_kind::USDT_KIND_U16,
        usdt_kind::USDT_KIND_U32,
        usdt_kind::USDT_KIND_U64,
        usdt_kind::USDT_KIND_F32,
        usdt_kind::USDT_KIND_F64,
        usdt_kind::USDT_KIND_BOOL,
        usdt_kind::USDT_KIND_CHAR,
        usdt_kind::USDT_KIND_POINTER,
        usdt_kind::USDT_KIND_STR,
        usdt_kind::USDT_KIND_CSTR,
        usdt_kind::USDT_KIND_BYTES,
        usdt_kind::USDT_KIND_JSON,
    ];

    fn from_code(code: i32) -> Option<ArgKind> {
        let k = Self::ALL.into_iter().find(|k| *k as i32 == code)?;
        let int = |size, signed| ArgKind::Int { size, signed };
        Some(match k {
            usdt_kind::USDT_KIND_I8 => int(1, true),
            usdt_kind::USDT_KIND_I16 => int(2, true),
            usdt_kind::USDT_KIND_I32 => int(4, true),
            usdt_kind::USDT_KIND_I64 => int(8, true),
            usdt_kind::USDT_KIND_U8 => int(1, false),
            usdt_kind::USDT_KIND_U16 => int(2, false),
            usdt_kind::USDT_KIND_U32 => int(4, false),
            usdt_kind::USDT_KIND_U64 => int(8, false),
            usdt_kind::USDT_KIND_F32 => ArgKind::Float { size: 4 },
            usdt_kind::USDT_KIND_F64 => ArgKind::Float { size: 8 },
            usdt_kind::USDT_KIND_BOOL => ArgKind::Bool,
            usdt_kind::USDT_KIND_CHAR => ArgKind::Char,
            usdt_kind::USDT_KIND_POINTER => ArgKind::Pointer,
            usdt_kind::USDT_KIND_STR => ArgKind::Str,
            usdt_kind::USDT_KIND_CSTR => ArgKind::CStr,
            usdt_kind::USDT_KIND_BYTES => ArgKind::Bytes,
            usdt_kind::USDT_KIND_JSON => ArgKind::Json,
        })
    }
}

/// Which field of a [`usdt_value`] holds the value.
#[repr(C)]
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum usdt_tag {
    /// `i`: for signed integer arguments.
    USDT_TAG_I64 = 1,
    /// `u`: for unsigned integer, char and pointer arguments.
    USDT_TAG_U64 = 2,
    /// `f`: for float arguments.
    USDT_TAG_F64 = 3,
    /// `u`, 0 or not: for bool arguments.
    USDT_TAG_BOOL = 4,
    /// `ptr` and `len`, UTF-8: for str and json arguments.
    USDT_TAG_STR = 5,
    /// `ptr`, NUL-terminated: for cstr arguments.
    USDT_TAG_CSTR = 6,
    /// `ptr` and `len`: for bytes arguments.
    USDT_TAG_BYTES = 7,
}

/// One declared argument: its name and a [`usdt_kind`] value.
#[repr(C)]
#[derive(Debug, Clone, Copy)]
pub struct usdt_arg_decl {
    /// The argument's name (NUL-terminated UTF-8).
    pub name: *const c_char,
    /// A `usdt_kind` value.
    pub kind: i32,
}

/// One argument value for [`usdt_probe_fire`]: `tag` (a [`usdt_tag`]) says
/// which fields are read; the others are ignored.
#[repr(C)]
#[derive(Debug, Clone, Copy)]
pub struct usdt_value {
    /// A `usdt_tag` value.
    pub tag: i32,
    /// The value of a `USDT_TAG_I64`.
    pub i: i64,
    /// The value of a `USDT_TAG_U64` or `USDT_TAG_BOOL`.
    pub u: u64,
    /// The value of a `USDT_TAG_F64`.
    pub f: f64,
    /// The text or bytes of a `USDT_TAG_STR`, `USDT_TAG_CSTR` or `USDT_TAG_BYTES`.
    pub ptr: *const c_char,
    /// The length in bytes of a `USDT_TAG_STR` or `USDT_TAG_BYTES`.
    pub len: usize,
}

/// A provider being declared (opaque). Made by [`usdt_builder_new`];
/// consumed by [`usdt_builder_load`] or freed by [`usdt_builder_free`].
pub struct usdt_builder {
    inner: Option<ProviderBuilder>,
}

/// A loaded provider (opaque). Made by [`usdt_builder_load`]; freed by
/// [`usdt_provider_free`].
pub struct usdt_provider {
    provider: Provider,
    path: CString,
}

/// One probe of a loaded provider (opaque); valid while its provider handle is.
pub struct usdt_probe {
    _opaque: [u8; 0],
}

thread_local! {
    static LAST_ERROR: RefCell<CString> = RefCell::new(CString::default());
}

/// A failure: the status and the message [`usdt_last_error`] returns.
struct Failure(usdt_status, String);

impl From<Error> for Failure {
    fn from(e: Error) -> Self {
        let status = match &e {
            Error::InvalidName { .. } => usdt_status::USDT_ERR_INVALID_NAME,
            Error::BadProbe { .. } => usdt_status::USDT_ERR_BAD_PROBE,
            Error::Unsupported => usdt_status::USDT_ERR_UNSUPPORTED,
            Error::Load { .. } => usdt_status::USDT_ERR_LOAD,
            Error::BadArguments { .. } => usdt_status::USDT_ERR_BAD_ARGUMENTS,
            _ => usdt_status::USDT_ERR_PANIC,
        };
        Failure(status, e.to_string())
    }
}

fn set_error(message: &str) {
    // Messages never hold NUL in practice; replace any to keep the rest.
    let c = CString::new(message.replace('\0', "\\0")).unwrap_or_default();
    LAST_ERROR.with(|e| *e.borrow_mut() = c);
}

/// Run `f`, catching panics, and turn its outcome into a status code.
fn guard(f: impl FnOnce() -> Result<(), Failure>) -> c_int {
    match catch_unwind(AssertUnwindSafe(f)) {
        Ok(Ok(())) => usdt_status::USDT_OK as c_int,
        Ok(Err(Failure(status, message))) => {
            set_error(&message);
            status as c_int
        }
        Err(_) => {
            set_error("internal error: a Rust panic was caught at the C boundary");
            usdt_status::USDT_ERR_PANIC as c_int
        }
    }
}

fn null(what: &str) -> Failure {
    Failure(usdt_status::USDT_ERR_NULL, format!("{what} is a null pointer"))
}

/// # Safety
/// `p` is null or a NUL-terminated string that lives for `'a`.
unsafe fn text<'a>(p: *const c_char, what: &str) -> Result<&'a str, Failure> {
    if p.is_null() {
        return Err(null(what));
    }
    // SAFETY: non-null and NUL-terminated by the caller's contract.
    let c = unsafe { CStr::from_ptr(p) };
    c.to_str().map_err(|e| Failure(usdt_status::USDT_ERR_UTF8, format!("{what} is not UTF-8: {e}")))
}

/// The message of the last error on the calling thread, or `""` if there
/// was none. The string stays valid until the thread's next failing call.
#[no_mangle]
pub extern "C" fn usdt_last_error() -> *const c_char {
    LAST_ERROR.with(|e| e.borrow().as_ptr())
}

/// Start declaring a provider named `name` (ASCII letters, digits and `_`;
/// checked by [`usdt_builder_load`]). On success `*out` is a new builder.
///
/// # Safety
/// `name` is null or a NUL-terminated string; `out` is null or writable.
#[no_mangle]
pub unsafe extern "C" fn usdt_builder_new(name: *const c_char, out: *mut *mut usdt_builder) -> c_int {
    guard(|| {
        if out.is_null() {
            return Err(null("out"));
        }
        // SAFETY: per this function's contract.
        let name = unsafe { text(name, "provider name") }?;
        let b = Box::new(usdt_builder { inner: Some(ProviderBuilder::new(name)) });
        // SAFETY: `out` is non-null and writable per the contract.
        unsafe { out.write(Box::into_raw(b)) };
        Ok(())
    })
}

/// Add a probe named `name` with `nargs` arguments described by `args`
/// (which may be null when `nargs` is 0) and documentation `doc` (may be
/// null). Names are checked by [`usdt_builder_load`]; kinds here.
///
/// # Safety
/// `builder` is null or from [`usdt_builder_new`] and not freed; `name`,
/// `doc` and every `args[i].name` are null or NUL-terminated strings;
/// `args` is null or points to `nargs` readable declarations.
#[no_mangle]
pub unsafe extern "C" fn usdt_builder_probe(
    builder: *mut usdt_builder,
    name: *const c_char,
    args: *const usdt_arg_decl,
    nargs: usize,
    doc: *const c_char,
) -> c_int {
    guard(|| {
        // SAFETY: null or a live builder per the contract.
        let b = unsafe { builder.as_mut() }.ok_or_else(|| null("builder"))?;
        // SAFETY: per the contract.
        let name = unsafe { text(name, "probe name") }?;
        let decls: &[usdt_arg_decl] = if nargs == 0 {
            &[]
        } else if args.is_null() {
            return Err(null("args"));
        } else {
            // SAFETY: `args` points to `nargs` declarations per the contract.
            unsafe { std::slice::from_raw_parts(args, nargs) }
        };
        let mut list = Vec::with_capacity(nargs);
        for (i, d) in decls.iter().enumerate() {
            // SAFETY: per the contract.
            let arg = unsafe { text(d.name, &format!("name of argument {i} of probe `{name}`")) }?;
            let kind = usdt_kind::from_code(d.kind).ok_or_else(|| {
                Failure(
                    usdt_status::USDT_ERR_BAD_KIND,
                    format!("argument `{arg}` of probe `{name}` has kind {}, which is not a usdt_kind", d.kind),
                )
            })?;
            list.push((arg, kind));
        }
        let doc = if doc.is_null() {
            None
        } else {
            // SAFETY: per the contract.
            Some(unsafe { text(doc, "doc") }?)
        };
        let inner = b
            .inner
            .take()
            .ok_or_else(|| Failure(usdt_status::USDT_ERR_CONSUMED, "the builder was already loaded".to_string()))?;
        let mut inner = inner.probe(name, &list);
        if let Some(doc) = doc {
            inner = inner.doc(doc);
        }
        b.inner = Some(inner);
        Ok(())
    })
}

/// Build the provider's shared object, load it, and set `*out` to the
/// provider. The builder is freed whether or not loading succeeds.
///
/// Where the file goes: `$SDTRACE_PROVIDER_DIR`, then
/// `$XDG_RUNTIME_DIR/sdtrace`, `/run/user/UID/sdtrace`, `/tmp/sdtrace-UID`,
/// then an anonymous memfd. [`usdt_provider_path`] says which.
///
/// # Safety
/// `builder` is null or from [`usdt_builder_new`] and not freed; `out` is
/// null or writable.
#[no_mangle]
pub unsafe extern "C" fn usdt_builder_load(builder: *mut usdt_builder, out: *mut *mut usdt_provider) -> c_int {
    guard(|| {
        if builder.is_null() {
            return Err(null("builder"));
        }
        // SAFETY: a live builder from usdt_builder_new; taken back here once.
        let b = unsafe { Box::from_raw(builder) };
        if out.is_null() {
            return Err(null("out"));
        }
        let inner = b
            .inner
            .ok_or_else(|| Failure(usdt_status::USDT_ERR_CONSUMED, "the builder was already loaded".to_string()))?;
        let provider = inner.load()?;
        let path = CString::new(provider.path().as_os_str().as_encoded_bytes())
            .map_err(|e| Failure(usdt_status::USDT_ERR_LOAD, format!("provider path: {e}")))?;
        // SAFETY: `out` is non-null and writable per the contract.
        unsafe { out.write(Box::into_raw(Box::new(usdt_provider { provider, path }))) };
        Ok(())
    })
}

/// Free a builder that will not be loaded. Null is ignored.
///
/// # Safety
/// `builder` is null or from [`usdt_builder_new`], not loaded nor freed.
#[no_mangle]
pub unsafe extern "C" fn usdt_builder_free(builder: *mut usdt_builder) {
    if !builder.is_null() {
        // SAFETY: per the contract, the pointer came from Box::into_raw.
        let b = unsafe { Box::from_raw(builder) };
        let _ = catch_unwind(AssertUnwindSafe(move || drop(b)));
    }
}

/// The file the provider was loaded from (a tracer attaches to it by path),
/// valid while the provider handle is; null if `provider` is null.
///
/// # Safety
/// `provider` is null or a live handle from [`usdt_builder_load`].
#[no_mangle]
pub unsafe extern "C" fn usdt_provider_path(provider: *const usdt_provider) -> *const c_char {
    // SAFETY: null or a live handle per the contract.
    match unsafe { provider.as_ref() } {
        Some(p) => p.path.as_ptr(),
        None => std::ptr::null(),
    }
}

/// Set `*out` to the probe named `name` of `provider`; `USDT_ERR_NOT_FOUND`
/// if it has none. The probe is valid while the provider handle is.
///
/// # Safety
/// `provider` is null or a live handle; `name` null or NUL-terminated;
/// `out` null or writable.
#[no_mangle]
pub unsafe extern "C" fn usdt_provider_probe(
    provider: *const usdt_provider,
    name: *const c_char,
    out: *mut *const usdt_probe,
) -> c_int {
    guard(|| {
        // SAFETY: null or a live handle per the contract.
        let p = unsafe { provider.as_ref() }.ok_or_else(|| null("provider"))?;
        // SAFETY: per the contract.
        let name = unsafe { text(name, "probe name") }?;
        if out.is_null() {
            return Err(null("out"));
        }
        let probe = p.provider.probe(name).ok_or_else(|| {
            Failure(usdt_status::USDT_ERR_NOT_FOUND, format!("provider `{}` has no probe `{name}`", p.provider.name()))
        })?;
        // SAFETY: `out` is non-null and writable per the contract.
        unsafe { out.write((probe as *const Probe).cast::<usdt_probe>()) };
        Ok(())
    })
}

/// Free a provider handle (and every probe pointer taken from it). The
/// shared object stays loaded, so a probe firing on another thread is safe.
/// Null is ignored.
///
/// # Safety
/// `provider` is null or a live handle from [`usdt_builder_load`], not freed.
#[no_mangle]
pub unsafe extern "C" fn usdt_provider_free(provider: *mut usdt_provider) {
    if !provider.is_null() {
        // SAFETY: per the contract, the pointer came from Box::into_raw.
        let p = unsafe { Box::from_raw(provider) };
        let _ = catch_unwind(AssertUnwindSafe(move || drop(p)));
    }
}

/// # Safety
/// `probe` is null or from [`usdt_provider_probe`] of a live provider.
unsafe fn probe_ref<'a>(probe: *const usdt_probe) -> Option<&'a Probe> {
    // SAFETY: a usdt_probe pointer is a `&Probe` cast by usdt_provider_probe.
    unsafe { probe.cast::<Probe>().as_ref() }
}

/// Whether a tracer has enabled `probe`: one read of its semaphore. False
/// for null.
///
/// # Safety
/// `probe` is null or from [`usdt_provider_probe`] of a live provider.
#[no_mangle]
pub unsafe extern "C" fn usdt_probe_enabled(probe: *const usdt_probe) -> bool {
    // SAFETY: per the contract.
    unsafe { probe_ref(probe) }.is_some_and(Probe::enabled)
}

/// The address of `probe`'s semaphore, so that a caller can test it inline:
/// the probe is enabled while `*(volatile const uint16_t *)addr != 0`. The
/// address stays valid for the life of the process (the object is never
/// unloaded). Null for a null probe.
///
/// # Safety
/// `probe` is null or from [`usdt_provider_probe`] of a live provider.
#[no_mangle]
pub unsafe extern "C" fn usdt_probe_semaphore(probe: *const usdt_probe) -> *const u16 {
    // SAFETY: per the contract.
    unsafe { probe_ref(probe) }.map_or(std::ptr::null(), Probe::semaphore_address)
}

/// # Safety
/// `v.ptr` is valid for what `v.tag` says (see [`usdt_probe_fire`]).
unsafe fn to_arg<'a>(i: usize, v: &usdt_value) -> Result<Arg<'a>, Failure> {
    let bytes = |what: &str| -> Result<&'a [u8], Failure> {
        if v.len == 0 {
            return Ok(&[]);
        }
        if v.ptr.is_null() {
            return Err(null(&format!("{what} pointer of argument {i}")));
        }
        // SAFETY: `ptr` points to `len` readable bytes per the contract.
        Ok(unsafe { std::slice::from_raw_parts(v.ptr.cast::<u8>(), v.len) })
    };
    Ok(match v.tag {
        t if t == usdt_tag::USDT_TAG_I64 as i32 => Arg::I64(v.i),
        t if t == usdt_tag::USDT_TAG_U64 as i32 => Arg::U64(v.u),
        t if t == usdt_tag::USDT_TAG_F64 as i32 => Arg::F64(v.f),
        t if t == usdt_tag::USDT_TAG_BOOL as i32 => Arg::Bool(v.u != 0),
        t if t == usdt_tag::USDT_TAG_STR as i32 => Arg::Str(
            std::str::from_utf8(bytes("string")?)
                .map_err(|e| Failure(usdt_status::USDT_ERR_UTF8, format!("string argument {i} is not UTF-8: {e}")))?,
        ),
        t if t == usdt_tag::USDT_TAG_BYTES as i32 => Arg::Bytes(bytes("bytes")?),
        t if t == usdt_tag::USDT_TAG_CSTR as i32 => {
            if v.ptr.is_null() {
                return Err(null(&format!("C string pointer of argument {i}")));
            }
            // SAFETY: non-null and NUL-terminated per the contract.
            Arg::CStr(unsafe { CStr::from_ptr(v.ptr) })
        }
        t => {
            return Err(Failure(
                usdt_status::USDT_ERR_BAD_KIND,
                format!("argument {i} has tag {t}, which is not a usdt_tag"),
            ))
        }
    })
}

/// # Safety
/// As for [`usdt_probe_fire`].
unsafe fn fire(probe: *const usdt_probe, args: *const usdt_value, nargs: usize, always: bool) -> c_int {
    guard(|| {
        // SAFETY: per the callers' contracts.
        let p = unsafe { probe_ref(probe) }.ok_or_else(|| null("probe"))?;
        if !always && !p.enabled() {
            return Ok(());
        }
        let values: &[usdt_value] = if nargs == 0 {
            &[]
        } else if args.is_null() {
            return Err(null("args"));
        } else {
            // SAFETY: `args` points to `nargs` values per the callers' contracts.
            unsafe { std::slice::from_raw_parts(args, nargs) }
        };
        let mut list = [Arg::U64(0); 12];
        if values.len() > list.len() {
            return Err(Failure(
                usdt_status::USDT_ERR_BAD_ARGUMENTS,
                format!("probe `{}` fired with {} arguments; no probe takes more than 12", p.name(), values.len()),
            ));
        }
        for (i, v) in values.iter().enumerate() {
            // SAFETY: per the callers' contracts.
            list[i] = unsafe { to_arg(i, v) }?;
        }
        p.fire_always(&list[..values.len()])?;
        Ok(())
    })
}

/// Fire `probe` with `nargs` values, which must match its declaration in
/// number and kind (see [`usdt_tag`]). While the probe is disabled this is
/// one semaphore read and returns `USDT_OK` without looking at the values.
///
/// # Safety
/// `probe` is null or from [`usdt_provider_probe`] of a live provider;
/// `args` is null or points to `nargs` values, each of whose `ptr` is null
/// or valid for `len` bytes (`USDT_TAG_STR`, `USDT_TAG_BYTES`) or
/// NUL-terminated (`USDT_TAG_CSTR`).
#[no_mangle]
pub unsafe extern "C" fn usdt_probe_fire(probe: *const usdt_probe, args: *const usdt_value, nargs: usize) -> c_int {
    // SAFETY: the caller's contract is fire's.
    unsafe { fire(probe, args, nargs, false) }
}

/// Like [`usdt_probe_fire`], but checks the values and calls the probe
/// function even while the probe is disabled (for tests and tools).
///
/// # Safety
/// As for [`usdt_probe_fire`].
#[no_mangle]
pub unsafe extern "C" fn usdt_probe_fire_always(
    probe: *const usdt_probe,
    args: *const usdt_value,
    nargs: usize,
) -> c_int {
    // SAFETY: the caller's contract is fire's.
    unsafe { fire(probe, args, nargs, true) }
}
