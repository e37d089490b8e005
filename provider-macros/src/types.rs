//! Argument types: Rust types in a `#[provider]` module and C types in a D
//! `provider` file, mapped to [`ArgType`].
//!
//! Rust types are recognised by their spelling, since a proc macro sees no
//! type information: the primitive names, `&str`, `String`, `&CStr`,
//! `CString`, `&[u8]`, `Vec<u8>`, raw pointers, and `Json<T>` (any
//! `serde::Serialize` value). Anything else is an error that lists what is
//! accepted.

use crate::model::ArgType;
use syn::{Type, TypePath};

fn last_ident(p: &TypePath) -> Option<String> {
    if p.qself.is_some() {
        return None;
    }
    p.path.segments.last().map(|s| s.ident.to_string())
}

fn int(name: &str) -> Option<ArgType> {
    let (size, signed, rust) = match name {
        "u8" => (1, false, "u8"),
        "u16" => (2, false, "u16"),
        "u32" => (4, false, "u32"),
        "u64" => (8, false, "u64"),
        "usize" => (8, false, "usize"),
        "i8" => (1, true, "i8"),
        "i16" => (2, true, "i16"),
        "i32" => (4, true, "i32"),
        "i64" => (8, true, "i64"),
        "isize" => (8, true, "isize"),
        _ => return None,
    };
    Some(ArgType::Int { size, signed, rust })
}

const ACCEPTED: &str = "integers (u8…u64, i8…i64, usize, isize), bool, char, f32, f64, raw pointers, \
     &str, String, &CStr, CString, &[u8], Vec<u8>, or Json<T> for any serde::Serialize T";

/// Map a Rust type from a probe declaration.
pub fn rust_type(ty: &Type) -> syn::Result<ArgType> {
    let unsupported = || syn::Error::new_spanned(ty, format!("unsupported probe argument type; use {ACCEPTED}"));
    match ty {
        Type::Paren(p) => rust_type(&p.elem),
        Type::Group(g) => rust_type(&g.elem),
        Type::Ptr(_) => Ok(ArgType::Pointer),
        Type::Reference(r) => match &*r.elem {
            Type::Path(p) => match last_ident(p).as_deref() {
                Some("str") | Some("String") => Ok(ArgType::Str),
                Some("CStr") | Some("CString") => Ok(ArgType::CStr),
                _ => Err(unsupported()),
            },
            Type::Slice(s) if matches!(&*s.elem, Type::Path(p) if last_ident(p).as_deref() == Some("u8")) => {
                Ok(ArgType::Bytes)
            }
            _ => Err(unsupported()),
        },
        Type::Path(p) => {
            let Some(name) = last_ident(p) else { return Err(unsupported()) };
            if let Some(t) = int(&name) {
                return Ok(t);
            }
            match name.as_str() {
                "bool" => Ok(ArgType::Bool),
                "char" => Ok(ArgType::Char),
                "f32" => Ok(ArgType::Float { size: 4 }),
                "f64" => Ok(ArgType::Float { size: 8 }),
                "String" => Ok(ArgType::Str),
                "CString" => Ok(ArgType::CStr),
                "Vec" if generic_is_u8(p) => Ok(ArgType::Bytes),
                "Json" => Ok(ArgType::Json),
                _ => Err(unsupported()),
            }
        }
        _ => Err(unsupported()),
    }
}

fn generic_is_u8(p: &TypePath) -> bool {
    let Some(seg) = p.path.segments.last() else { return false };
    let syn::PathArguments::AngleBracketed(a) = &seg.arguments else { return false };
    matches!(a.args.first(), Some(syn::GenericArgument::Type(Type::Path(t))) if last_ident(t).as_deref() == Some("u8"))
}

/// Map a C type from a D `provider` file, given as its words with `*`
/// as separate words (`const char *` → `["const", "char", "*"]`).
pub fn c_type(words: &[String]) -> Result<ArgType, String> {
    let words: Vec<&str> = words.iter().map(String::as_str).filter(|w| !matches!(*w, "const" | "volatile")).collect();
    let stars = words.iter().filter(|w| **w == "*").count();
    let base: Vec<&str> = words.iter().copied().filter(|w| *w != "*").collect();
    let base = base.join(" ");
    if stars > 0 && words.last() != Some(&"*") {
        return Err(format!("`{}` is not a type", words.join(" ")));
    }
    if stars > 0 {
        return Ok(if stars == 1 && base == "char" { ArgType::CStr } else { ArgType::Pointer });
    }
    let t = match base.as_str() {
        "string" => ArgType::CStr,
        "bool" | "_Bool" => ArgType::Bool,
        "float" => ArgType::Float { size: 4 },
        "double" => ArgType::Float { size: 8 },
        "char" | "signed char" | "int8_t" => ArgType::Int { size: 1, signed: true, rust: "i8" },
        "unsigned char" | "uint8_t" | "uchar_t" => ArgType::Int { size: 1, signed: false, rust: "u8" },
        "short" | "short int" | "signed short" | "int16_t" => ArgType::Int { size: 2, signed: true, rust: "i16" },
        "unsigned short" | "unsigned short int" | "uint16_t" | "ushort_t" => {
            ArgType::Int { size: 2, signed: false, rust: "u16" }
        }
        "int" | "signed" | "signed int" | "int32_t" => ArgType::Int { size: 4, signed: true, rust: "i32" },
        "unsigned" | "unsigned int" | "uint32_t" | "uint_t" => ArgType::Int { size: 4, signed: false, rust: "u32" },
        "long" | "long int" | "long long" | "long long int" | "int64_t" | "ssize_t" | "intptr_t" | "off_t"
        | "pid_t_64" => ArgType::Int { size: 8, signed: true, rust: "i64" },
        "unsigned long"
        | "unsigned long int"
        | "unsigned long long"
        | "unsigned long long int"
        | "uint64_t"
        | "size_t"
        | "uintptr_t"
        | "ulong_t" => ArgType::Int { size: 8, signed: false, rust: "u64" },
        "pid_t" | "uid_t" | "gid_t" => ArgType::Int { size: 4, signed: true, rust: "i32" },
        other => {
            return Err(format!(
            "unsupported argument type `{other}` (use a fixed-width integer, float, double, bool, char * or a pointer)"
        ))
        }
    };
    Ok(t)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn t(s: &str) -> syn::Result<ArgType> {
        rust_type(&syn::parse_str(s).unwrap())
    }

    #[test]
    fn rust_types() {
        assert_eq!(t("u16").unwrap(), ArgType::Int { size: 2, signed: false, rust: "u16" });
        assert_eq!(t("&'a str").unwrap(), ArgType::Str);
        assert_eq!(t("&std::ffi::CStr").unwrap(), ArgType::CStr);
        assert_eq!(t("&[u8]").unwrap(), ArgType::Bytes);
        assert_eq!(t("Vec<u8>").unwrap(), ArgType::Bytes);
        assert_eq!(t("*const Foo").unwrap(), ArgType::Pointer);
        assert_eq!(t("Json<Request>").unwrap(), ArgType::Json);
        assert!(t("Vec<u16>").is_err());
        assert!(t("HashMap<u8, u8>").unwrap_err().to_string().contains("unsupported probe argument type"));
    }

    #[test]
    fn c_types() {
        let w = |s: &str| s.replace('*', " * ").split_whitespace().map(String::from).collect::<Vec<_>>();
        assert_eq!(c_type(&w("const char *")).unwrap(), ArgType::CStr);
        assert_eq!(c_type(&w("char **")).unwrap(), ArgType::Pointer);
        assert_eq!(c_type(&w("uint64_t")).unwrap(), ArgType::Int { size: 8, signed: false, rust: "u64" });
        assert_eq!(c_type(&w("unsigned long long")).unwrap(), ArgType::Int { size: 8, signed: false, rust: "u64" });
        assert!(c_type(&w("struct foo")).is_err());
    }
}
