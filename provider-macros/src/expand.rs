//! Code generation for a provider.
//!
//! For each provider the expansion is a module holding:
//!
//! - one `global_asm!` block that defines every probe's semaphore (a weak,
//!   hidden `u16` in `.probes`, the section aligned to a page: see
//!   [`SEMAPHORE_SECTION`]) and every probe's sdtrace metadata record;
//! - per probe, `NAME_enabled()` (one load of the semaphore) and the firing
//!   macro `NAME!(|| (args…))`, which reads the semaphore, and only when a
//!   tracer has raised it calls the closure and reaches the probe site: on
//!   x86-64 `nop; nop10` followed by a stapsdt note, on aarch64 a `nop`.
//!
//! The macros refer to the semaphore by symbol name, not by Rust path, so
//! they work wherever they are invoked, and every call site of a probe (and
//! every copy made by inlining or generics) shares the one semaphore. The
//! architecture is chosen in the generated tokens with `#[cfg]`, so the
//! target decides, never the host running the macro.

use crate::model::{semaphore_symbol, ArgType, Probe, Provider};
use proc_macro2::{Span, TokenStream};
use quote::{format_ident, quote, quote_spanned};
use stap_notes::gas::stapsdt_note_gas;
use stap_notes::ProbeMetadataBuf;
use syn::LitStr;

/// The semaphore section. Aligning it to a page keeps semaphores off the
/// file page that lld lets the RELRO segment share with `.data`; there, a
/// program started under a tracer (`-c`) would have its semaphore raised in
/// the wrong mapping (see docs/tracing.md).
pub const SEMAPHORE_SECTION: &str = ".probes";

fn supported() -> TokenStream {
    quote!(all(target_os = "linux", any(target_arch = "x86_64", target_arch = "aarch64")))
}

fn lit(s: &str) -> LitStr {
    LitStr::new(s, Span::call_site())
}

/// The `global_asm!` text: semaphores, then one metadata record per probe.
fn global_asm(provider: &Provider) -> syn::Result<TokenStream> {
    let mut sema = format!("  .pushsection {SEMAPHORE_SECTION},\"aw\",\"progbits\"\n  .balign 4096\n");
    for p in &provider.probes {
        let s = semaphore_symbol(&provider.name, &p.name);
        sema.push_str(&format!("  .balign 2\n  .weak {s}\n  .hidden {s}\n{s}:\n  .zero 2\n  .size {s}, 2\n"));
    }
    sema.push_str("  .popsection\n");
    let mut parts = vec![quote!(#sema)];
    for p in &provider.probes {
        let md = ProbeMetadataBuf {
            provider: provider.name.clone(),
            name: p.name.clone(),
            file: String::new(),
            line: 0,
            doc: p.doc.clone(),
            args: p.args.iter().map(|a| (a.name.clone(), a.ty.kind())).collect(),
        };
        let g = md.encode_gas(8).map_err(|e| syn::Error::new(p.span, e.to_string()))?;
        let (head, mid, tail) = (lit(&g.head), lit(&g.mid), lit(&g.tail));
        let line = match p.line {
            Some(l) => quote!(#l),
            None => quote_spanned!(p.span=> line!()),
        };
        let file = match &provider.file {
            Some(f) if !f.contains(['"', '\\', '\n', '{', '}']) => quote!(#f),
            Some(_) => quote!(""),
            None => quote_spanned!(p.span=> file!()),
        };
        parts.push(quote!(#head, #line, #mid, #file, #tail));
    }
    let cfg = supported();
    Ok(quote! {
        #[cfg(#cfg)]
        ::core::arch::global_asm!(concat!(#(#parts),*));
    })
}

/// `(x86-64 operand, aarch64 operand)` spelling for a stapsdt argument of
/// `size` bytes held in the operand named `op`.
fn arg_operand(op: &str, size: u8, signed: bool) -> (String, String) {
    let sign = if signed { "-" } else { "" };
    let modifier = match size {
        1 => "l",
        2 => "x",
        4 => "e",
        _ => "r",
    };
    (format!("{sign}{size}@{{{op}:{modifier}}}"), format!("{sign}{size}@{{{op}}}"))
}

/// The firing macro and the enabled check of one probe.
fn probe_items(provider: &Provider, p: &Probe, vis_use: &TokenStream) -> syn::Result<TokenStream> {
    let sym = semaphore_symbol(&provider.name, &p.name);
    let cfg = supported();
    let n = p.args.len();
    let vals: Vec<_> = (0..n).map(|i| format_ident!("__sdtrace_a{}", i)).collect();
    // Destructure what the closure returns (one value, or a tuple) with
    // the declared types spelled where Rust has one name for them, so a
    // wrong type or arity is reported at the user's closure.
    let tys: Vec<TokenStream> = p
        .args
        .iter()
        .map(|a| match a.ty {
            ArgType::Int { rust, .. } => {
                let t = syn::Ident::new(rust, a.span);
                quote!(#t)
            }
            ArgType::Bool => quote!(bool),
            ArgType::Char => quote!(char),
            ArgType::Float { size: 4 } => quote!(f32),
            ArgType::Float { .. } => quote!(f64),
            _ => quote!(_),
        })
        .collect();
    let bind = match n {
        0 => quote!(let () = ($args)();),
        1 => {
            let (v, t) = (&vals[0], &tys[0]);
            quote!(let #v: #t = ($args)();)
        }
        _ => quote!(let (#(#vals),*): (#(#tys),*) = ($args)();),
    };
    let mut convert = Vec::new();
    let mut operands = Vec::new();
    let (mut spec_x86, mut spec_arm) = (Vec::new(), Vec::new());
    let mut k = 0usize;
    for (a, v) in p.args.iter().zip(&vals) {
        let mut regs = Vec::new();
        for (size, signed) in a.ty.note_args() {
            let op = format!("n{k}");
            let (x, arm) = arg_operand(&op, size, signed);
            spec_x86.push(x);
            spec_arm.push(arm);
            regs.push(format_ident!("__sdtrace_n{}", k));
            k += 1;
        }
        let span = a.span;
        let r0 = &regs[0];
        convert.push(match a.ty {
            ArgType::Int { .. } | ArgType::Bool | ArgType::Char => quote_spanned!(span=> let #r0 = #v as u64;),
            ArgType::Float { size: 4 } => quote_spanned!(span=> let #r0 = #v.to_bits() as u64;),
            ArgType::Float { .. } => quote_spanned!(span=> let #r0 = #v.to_bits();),
            ArgType::Pointer => quote_spanned!(span=> let #r0 = ::usdt_runtime::__private::address(#v);),
            ArgType::CStr => quote_spanned!(span=> let #r0 = ::usdt_runtime::__private::cstr_arg(&#v);),
            ArgType::Str | ArgType::Bytes | ArgType::Json => {
                let r1 = &regs[1];
                let f = match a.ty {
                    ArgType::Str => quote_spanned!(span=> ::usdt_runtime::__private::str_arg(&#v)),
                    ArgType::Bytes => quote_spanned!(span=> ::usdt_runtime::__private::bytes_arg(&#v)),
                    _ => quote_spanned!(span=> {
                        __sdtrace_json.push(::usdt_runtime::__private::json_arg(&#v));
                        ::usdt_runtime::__private::str_arg(&__sdtrace_json[__sdtrace_json.len() - 1])
                    }),
                };
                quote_spanned!(span=> let (#r0, #r1) = ::usdt_runtime::__private::ptr_len(#f);)
            }
        });
        for r in &regs {
            let name = syn::Ident::new(&r.to_string().replace("__sdtrace_", ""), Span::call_site());
            operands.push(quote!(#name = in(reg) #r));
        }
    }
    let has_json = p.args.iter().any(|a| a.ty == ArgType::Json);
    let json_buf = if has_json {
        quote!(let mut __sdtrace_json: ::std::vec::Vec<::std::string::String> = ::std::vec::Vec::new();)
    } else {
        quote!()
    };
    let note = |args: &[String]| {
        stapsdt_note_gas(&provider.name, &p.name, &args.join(" "), &sym, 8)
            .map_err(|e| syn::Error::new(p.span, e.to_string()))
    };
    let x86 = lit(&format!(
        "990: nop\n  .byte 0x66, 0x2e, 0x0f, 0x1f, 0x84, 0x00, 0x00, 0x00, 0x00, 0x00\n{}",
        note(&spec_x86)?
    ));
    let arm = lit(&format!("990: nop\n{}", note(&spec_arm)?));
    let macro_name = format_ident!("__sdtrace_{}_{}", provider.name, p.name);
    let public = syn::Ident::new(&p.name, p.span);
    let enabled = format_ident!("{}_enabled", p.name, span = p.span);
    let doc = if p.doc.is_empty() { String::new() } else { format!("{}\n\n", p.doc) };
    let sig: Vec<String> = p.args.iter().map(|a| format!("{}: {}", a.name, a.ty.kind())).collect();
    let fire_doc = format!(
        "{doc}Fires probe `{}:{}({})`: `{}!(|| …)` calls the closure for the arguments only while a tracer has \
         enabled the probe.",
        provider.name,
        p.name,
        sig.join(", "),
        p.name
    );
    let enabled_doc =
        format!("Whether a tracer has enabled probe `{}:{}` (one load of its semaphore).", provider.name, p.name);
    let read = quote! {
        {
            unsafe extern "C" {
                #[link_name = #sym]
                static __SDTRACE_SEMAPHORE: u16;
            }
            // SAFETY: the semaphore is a 2-byte static defined by the
            // provider's global_asm! block; tracers change it through the
            // kernel, hence the volatile read.
            unsafe { ::core::ptr::read_volatile(&raw const __SDTRACE_SEMAPHORE) != 0 }
        }
    };
    let make_body = |bind: &TokenStream| {
        quote! {
            #[cfg(#cfg)]
            let __sdtrace_on = #read;
            #[cfg(not(#cfg))]
            let __sdtrace_on = false;
            if __sdtrace_on {
                #bind
                #json_buf
                #(#convert)*
                #[cfg(all(target_os = "linux", target_arch = "x86_64"))]
                // SAFETY: the asm only places a nop sequence and a note; its
                // operands are plain integers. Pointers in them stay valid
                // because their owners live until after the asm.
                unsafe {
                    ::core::arch::asm!(#x86, #(#operands,)* options(readonly, nostack, preserves_flags, att_syntax));
                }
                #[cfg(all(target_os = "linux", target_arch = "aarch64"))]
                // SAFETY: as above.
                unsafe {
                    ::core::arch::asm!(#arm, #(#operands,)* options(readonly, nostack, preserves_flags));
                }
            }
        }
    };
    let body = make_body(&bind);
    let zero_arm = if n == 0 {
        let body_none = make_body(&quote!());
        quote!(() => {{ #body_none }};)
    } else {
        quote!()
    };
    Ok(quote! {
        #[doc = #enabled_doc]
        #[inline(always)]
        #[must_use]
        pub fn #enabled() -> bool {
            #[cfg(#cfg)]
            let __sdtrace_on = #read;
            #[cfg(not(#cfg))]
            let __sdtrace_on = false;
            __sdtrace_on
        }

        #[doc = #fire_doc]
        #[allow(unused_macros, clippy::crate_in_macro_def)]
        macro_rules! #macro_name {
            #zero_arm
            ($args:expr $(,)?) => {{
                #body
            }};
        }
        #[doc(inline)]
        #vis_use use #macro_name as #public;
    })
}

/// Expand a provider into the contents of its module.
pub fn provider_items(provider: &Provider, vis_use: &TokenStream) -> syn::Result<TokenStream> {
    let asm = global_asm(provider)?;
    let mut items = vec![asm];
    for p in &provider.probes {
        items.push(probe_items(provider, p, vis_use)?);
    }
    Ok(quote!(#(#items)*))
}
