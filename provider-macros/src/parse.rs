//! Parsing a `#[provider]` module:
//!
//! ```text
//! #[provider]            or  #[provider(name = "http")]
//! mod http {
//!     /// Doc comment: the probe's documentation.
//!     fn request__start(id: u64, path: &str);
//! }
//! ```
//!
//! Only probe declarations (with `;` or an empty `{}` body) may appear in
//! the module. Every mistake is a `syn::Error` on the offending token.

use crate::model::{valid_name, Arg, Probe, Provider};
use crate::types::rust_type;
use proc_macro2::{Span, TokenStream};
use syn::parse::{Parse, ParseStream};
use syn::punctuated::Punctuated;
use syn::spanned::Spanned;
use syn::{braced, parenthesized, Attribute, Ident, LitStr, Token, Visibility};

/// The parsed module: what to expand, plus the pieces of Rust syntax the
/// expansion keeps (attributes, visibility, the module's name).
pub struct ProviderModule {
    pub attrs: Vec<Attribute>,
    pub vis: Visibility,
    pub ident: Ident,
    pub provider: Provider,
}

/// `#[provider(name = "…")]` arguments.
#[derive(Default)]
pub struct ProviderArgs {
    pub name: Option<(String, Span)>,
}

impl Parse for ProviderArgs {
    fn parse(input: ParseStream) -> syn::Result<Self> {
        let mut args = ProviderArgs::default();
        while !input.is_empty() {
            let key: Ident = input.parse()?;
            if key != "name" {
                return Err(syn::Error::new(key.span(), "unknown provider option; the only one is `name = \"…\"`"));
            }
            input.parse::<Token![=]>()?;
            let v: LitStr = input.parse()?;
            args.name = Some((v.value(), v.span()));
            if !input.is_empty() {
                input.parse::<Token![,]>()?;
            }
        }
        Ok(args)
    }
}

fn doc_of(attrs: &[Attribute]) -> String {
    let mut lines = Vec::new();
    for a in attrs {
        if !a.path().is_ident("doc") {
            continue;
        }
        if let syn::Meta::NameValue(nv) = &a.meta {
            if let syn::Expr::Lit(syn::ExprLit { lit: syn::Lit::Str(s), .. }) = &nv.value {
                let v = s.value();
                lines.push(v.strip_prefix(' ').map(str::to_string).unwrap_or(v));
            }
        }
    }
    lines.join("\n").trim().to_string()
}

struct ArgDecl {
    name: Ident,
    ty: syn::Type,
}

impl Parse for ArgDecl {
    fn parse(input: ParseStream) -> syn::Result<Self> {
        let name = if input.peek(Token![_]) {
            let u: Token![_] = input.parse()?;
            Ident::new("_", u.span)
        } else {
            input.parse::<Ident>().map_err(|e| {
                syn::Error::new(e.span(), "expected an argument name: probe arguments are written `name: Type`")
            })?
        };
        input.parse::<Token![:]>()?;
        let ty = input.parse()?;
        Ok(ArgDecl { name, ty })
    }
}

fn parse_probe(input: ParseStream, seen: &mut Vec<String>) -> syn::Result<Probe> {
    let attrs = input.call(Attribute::parse_outer)?;
    for a in &attrs {
        if !a.path().is_ident("doc") {
            return Err(syn::Error::new(a.span(), "only doc comments may be attached to a probe declaration"));
        }
    }
    let _: Visibility = input.parse()?;
    if !input.peek(Token![fn]) {
        return Err(input.error("a provider module holds only probe declarations: `fn name(arg: Type, …);`"));
    }
    input.parse::<Token![fn]>()?;
    let name: Ident = input.parse()?;
    let sname = name.to_string();
    let sname = sname.strip_prefix("r#").unwrap_or(&sname).to_string();
    if !valid_name(&sname) {
        return Err(syn::Error::new(name.span(), "a probe name must be ASCII letters, digits and `_`"));
    }
    if seen.contains(&sname) {
        return Err(syn::Error::new(name.span(), format!("probe `{sname}` is declared twice")));
    }
    seen.push(sname.clone());
    if input.peek(Token![<]) {
        return Err(syn::Error::new(input.span(), "probe declarations cannot be generic"));
    }
    let content;
    parenthesized!(content in input);
    let decls: Punctuated<ArgDecl, Token![,]> = content.parse_terminated(ArgDecl::parse, Token![,])?;
    if input.peek(Token![->]) {
        return Err(syn::Error::new(input.span(), "a probe returns nothing; remove the return type"));
    }
    if input.peek(Token![;]) {
        input.parse::<Token![;]>()?;
    } else if input.peek(syn::token::Brace) {
        let body;
        braced!(body in input);
        if !body.is_empty() {
            return Err(syn::Error::new(body.span(), "a probe declaration has no body: end it with `;`"));
        }
    } else {
        return Err(input.error("expected `;` after the probe declaration"));
    }
    let mut args = Vec::new();
    for d in decls {
        let ty = rust_type(&d.ty)?;
        let n = d.name.to_string();
        let n = if n == "_" { format!("arg{}", args.len()) } else { n };
        args.push(Arg { name: n, ty, span: d.ty.span() });
    }
    let probe = Probe { name: sname, doc: doc_of(&attrs), args, span: name.span(), line: None };
    probe.check_budget()?;
    Ok(probe)
}

impl ProviderModule {
    /// Parse the module the attribute is on.
    pub fn parse(args: ProviderArgs, item: TokenStream) -> syn::Result<Self> {
        syn::parse::Parser::parse2(|input: ParseStream| Self::parse_with(input, &args), item)
    }

    fn parse_with(input: ParseStream, args: &ProviderArgs) -> syn::Result<Self> {
        let attrs = input.call(Attribute::parse_outer)?;
        let vis: Visibility = input.parse()?;
        if !input.peek(Token![mod]) {
            return Err(input.error("#[provider] goes on a module: `#[provider] mod http { fn probe(x: u64); }`"));
        }
        input.parse::<Token![mod]>()?;
        let ident: Ident = input.parse()?;
        let content;
        braced!(content in input);
        let mut probes = Vec::new();
        let mut seen = Vec::new();
        while !content.is_empty() {
            probes.push(parse_probe(&content, &mut seen)?);
        }
        let name = match &args.name {
            Some((n, span)) => {
                if !valid_name(n) {
                    return Err(syn::Error::new(*span, "a provider name must be ASCII letters, digits and `_`"));
                }
                n.clone()
            }
            None => {
                let n = ident.to_string();
                n.strip_prefix("r#").unwrap_or(&n).to_string()
            }
        };
        Ok(ProviderModule { attrs, vis, ident, provider: Provider { name, probes, file: None } })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use quote::quote;

    fn parse(ts: TokenStream) -> syn::Result<ProviderModule> {
        ProviderModule::parse(ProviderArgs::default(), ts)
    }

    #[test]
    fn parses_docs_names_and_types() {
        let m = parse(quote! {
            pub mod http {
                /// A request.
                ///  Second line.
                fn request__start(id: u64, path: &str);
                fn done(_: i32) {}
            }
        })
        .unwrap();
        assert_eq!(m.provider.name, "http");
        let p = &m.provider.probes;
        assert_eq!(p[0].doc, "A request.\n Second line.");
        assert_eq!(p[0].note_arg_count(), 3);
        assert_eq!(p[1].args[0].name, "arg0");
    }

    #[test]
    fn rejects_non_probe_items() {
        let e = parse(quote! { mod m { struct S; } }).err().unwrap();
        assert!(e.to_string().contains("only probe declarations"), "{e}");
    }

    #[test]
    fn rejects_bodies_returns_and_duplicates() {
        assert!(parse(quote! { mod m { fn a() { 1 } } }).is_err());
        assert!(parse(quote! { mod m { fn a() -> u8; } }).is_err());
        let e = parse(quote! { mod m { fn a(); fn a(); } }).err().unwrap();
        assert!(e.to_string().contains("declared twice"));
    }

    #[test]
    fn thirteen_arguments_are_refused() {
        let e = parse(quote! { mod m { fn a(a: u8, b: u8, c: u8, d: u8, e: u8, f: u8, g: u8, h: u8, i: u8, j: u8, k: u8, l: u8, m: u8); } })
            .err()
            .unwrap();
        assert!(e.to_string().contains("at most 12"), "{e}");
    }
}
