//! Proc macros that declare sdtrace probes in Rust. Use them through
//! `usdt-runtime`, which re-exports them and holds the support code the
//! expansions call; its documentation is the guide.
//!
//! - [`macro@provider`] on a module turns `fn name(arg: Type, …);`
//!   declarations into probes.
//! - [`dtrace_provider!`] reads a DTrace `provider` file instead, so one
//!   definition serves Rust, C and the runtime bindings.
//!
//! The crate only parses and expands; the note layouts come from
//! `stap-notes`. Every mistake is a compile error on the offending token.

mod dfile;
mod expand;
mod model;
mod parse;
mod types;

use proc_macro::TokenStream;
use quote::quote;

/// Declare a provider: a module whose `fn` declarations are probes.
///
/// ```ignore
/// #[usdt_runtime::provider]
/// mod http {
///     /// A request was accepted; `path` is the raw request path.
///     fn request__start(id: u64, path: &str);
/// }
/// http::request__start!(|| (7, "/index.html"));
/// ```
///
/// `#[provider(name = "other")]` sets the provider name (default: the
/// module's name). See `usdt_runtime` for the argument types.
#[proc_macro_attribute]
pub fn provider(args: TokenStream, item: TokenStream) -> TokenStream {
    let args = match syn::parse::<parse::ProviderArgs>(args) {
        Ok(a) => a,
        Err(e) => return e.to_compile_error().into(),
    };
    let module = match parse::ProviderModule::parse(args, item.into()) {
        Ok(m) => m,
        Err(e) => return e.to_compile_error().into(),
    };
    let items = match expand::provider_items(&module.provider, &quote!(pub(crate))) {
        Ok(t) => t,
        Err(e) => return e.to_compile_error().into(),
    };
    let parse::ProviderModule { attrs, vis, ident, .. } = module;
    quote! {
        #(#attrs)*
        #[allow(non_snake_case, dead_code)]
        #vis mod #ident {
            #items
        }
    }
    .into()
}

/// Declare providers from a DTrace `provider` file, path relative to the
/// crate's `Cargo.toml`:
///
/// ```ignore
/// usdt_runtime::dtrace_provider!("probes.d");
/// ```
///
/// with `probes.d` holding
///
/// ```text
/// provider http {
///     /* A request was accepted. */
///     probe request__start(uint64_t id, char *path);
/// };
/// ```
///
/// Each provider becomes a module of the same name, exactly as if it had
/// been declared with `#[provider]`. `char *` arguments take anything
/// `AsRef<CStr>`; other pointers take raw pointers.
#[proc_macro]
pub fn dtrace_provider(input: TokenStream) -> TokenStream {
    match dfile::expand(input.into()) {
        Ok(t) => t.into(),
        Err(e) => e.to_compile_error().into(),
    }
}
