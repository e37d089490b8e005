//! Support code called by the `#[provider]` expansions. Not a stable API:
//! only the macros use it.

use core::ffi::CStr;

/// Address and length of a byte range, as two stapsdt arguments.
#[inline(always)]
pub fn ptr_len(b: &[u8]) -> (u64, u64) {
    (b.as_ptr() as u64, b.len() as u64)
}

/// The text of a `&str`/`String` argument.
#[inline(always)]
pub fn str_arg<S: AsRef<str> + ?Sized>(s: &S) -> &[u8] {
    s.as_ref().as_bytes()
}

/// The bytes of a `&[u8]`/`Vec<u8>` argument.
#[inline(always)]
pub fn bytes_arg<B: AsRef<[u8]> + ?Sized>(b: &B) -> &[u8] {
    b.as_ref()
}

/// The address of a `&CStr`/`CString` argument.
#[inline(always)]
pub fn cstr_arg<S: AsRef<CStr> + ?Sized>(s: &S) -> u64 {
    s.as_ref().as_ptr() as u64
}

/// A raw pointer argument.
pub trait Address {
    /// The address.
    fn address(self) -> u64;
}

impl<T: ?Sized> Address for *const T {
    #[inline(always)]
    fn address(self) -> u64 {
        self.cast::<u8>() as u64
    }
}

impl<T: ?Sized> Address for *mut T {
    #[inline(always)]
    fn address(self) -> u64 {
        self.cast::<u8>() as u64
    }
}

/// The address of a raw pointer argument.
#[inline(always)]
pub fn address<P: Address>(p: P) -> u64 {
    p.address()
}

/// A JSON argument: only [`crate::Json`] values are accepted.
pub trait JsonArg {
    /// The value as a JSON document.
    fn to_json(&self) -> String;
}

/// A `Json<T>` argument rendered as JSON text.
pub fn json_arg<J: JsonArg>(j: &J) -> String {
    j.to_json()
}

#[cfg(feature = "serde")]
impl<T: serde::Serialize> JsonArg for crate::Json<T> {
    fn to_json(&self) -> String {
        serde_json::to_string(&self.0).unwrap_or_else(|e| {
            // A Serialize impl that fails (a map with non-string keys, a
            // custom error) still gives the tracer valid JSON.
            serde_json::json!({ "error": e.to_string() }).to_string()
        })
    }
}
