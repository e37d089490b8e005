//! `dtrace_provider!("file.d")`: providers from a DTrace `provider` file.
//!
//! The grammar is the part of D that declares USDT providers:
//!
//! ```text
//! provider NAME {
//!     /* doc comment */
//!     probe NAME(TYPE [ARGNAME], …);
//! };
//! ```
//!
//! `/* … */` and `// …` comments are allowed anywhere; the comment right
//! before a `probe` is its documentation; lines starting with `#`
//! (`#pragma D attributes …`) are ignored. Errors name `file:line:col`.

use crate::expand::provider_items;
use crate::model::{valid_name, Arg, Probe, Provider};
use crate::types::c_type;
use proc_macro2::{Span, TokenStream};
use quote::{format_ident, quote};
use syn::LitStr;

#[derive(Debug, Clone, PartialEq)]
enum Tok {
    Word(String),
    Punct(char),
}

#[derive(Debug, Clone)]
struct Token {
    tok: Tok,
    line: u32,
    col: u32,
    /// The comment that ended just before this token, if any.
    doc: Option<String>,
}

fn comment_text(raw: &str) -> String {
    raw.lines()
        .map(|l| l.trim().trim_start_matches('*').trim())
        .filter(|l| !l.is_empty())
        .collect::<Vec<_>>()
        .join("\n")
}

fn lex(src: &str) -> Result<Vec<Token>, (u32, u32, String)> {
    let chars: Vec<char> = src.chars().collect();
    let (mut i, mut line, mut col) = (0usize, 1u32, 1u32);
    let mut out = Vec::new();
    let mut doc: Option<String> = None;
    let mut at_line_start = true;
    while i < chars.len() {
        let c = chars[i];
        let (l0, c0) = (line, col);
        let advance = |i: &mut usize, line: &mut u32, col: &mut u32| {
            if chars[*i] == '\n' {
                *line += 1;
                *col = 1;
            } else {
                *col += 1;
            }
            *i += 1;
        };
        if c == '\n' {
            at_line_start = true;
            advance(&mut i, &mut line, &mut col);
            continue;
        }
        if c.is_whitespace() {
            advance(&mut i, &mut line, &mut col);
            continue;
        }
        if c == '#' && at_line_start {
            while i < chars.len() && chars[i] != '\n' {
                advance(&mut i, &mut line, &mut col);
            }
            continue;
        }
        at_line_start = false;
        if c == '/' && chars.get(i + 1) == Some(&'*') {
            let start = i + 2;
            advance(&mut i, &mut line, &mut col);
            advance(&mut i, &mut line, &mut col);
            loop {
                if i + 1 >= chars.len() {
                    return Err((l0, c0, "unterminated comment".into()));
                }
                if chars[i] == '*' && chars[i + 1] == '/' {
                    break;
                }
                advance(&mut i, &mut line, &mut col);
            }
            doc = Some(comment_text(&chars[start..i].iter().collect::<String>()));
            advance(&mut i, &mut line, &mut col);
            advance(&mut i, &mut line, &mut col);
            continue;
        }
        if c == '/' && chars.get(i + 1) == Some(&'/') {
            let start = i + 2;
            while i < chars.len() && chars[i] != '\n' {
                advance(&mut i, &mut line, &mut col);
            }
            let text = comment_text(&chars[start..i].iter().collect::<String>());
            doc = Some(match doc.take() {
                Some(d) if !d.is_empty() => format!("{d}\n{text}"),
                _ => text,
            });
            continue;
        }
        let tok = if c.is_ascii_alphanumeric() || c == '_' {
            let start = i;
            while i < chars.len() && (chars[i].is_ascii_alphanumeric() || chars[i] == '_') {
                advance(&mut i, &mut line, &mut col);
            }
            Tok::Word(chars[start..i].iter().collect())
        } else if "{}();,*".contains(c) {
            advance(&mut i, &mut line, &mut col);
            Tok::Punct(c)
        } else {
            return Err((l0, c0, format!("unexpected character `{c}`")));
        };
        out.push(Token { tok, line: l0, col: c0, doc: doc.take() });
    }
    Ok(out)
}

struct Parser {
    toks: Vec<Token>,
    pos: usize,
    /// Position of the end of the file, for errors there.
    end: (u32, u32),
}

type PResult<T> = Result<T, (u32, u32, String)>;

impl Parser {
    fn peek(&self) -> Option<&Token> {
        self.toks.get(self.pos)
    }
    fn err<T>(&self, what: &str) -> PResult<T> {
        let (l, c) = self.peek().map(|t| (t.line, t.col)).unwrap_or(self.end);
        let found = match self.peek().map(|t| &t.tok) {
            Some(Tok::Word(w)) => format!("`{w}`"),
            Some(Tok::Punct(p)) => format!("`{p}`"),
            None => "the end of the file".into(),
        };
        Err((l, c, format!("expected {what}, found {found}")))
    }
    fn punct(&mut self, p: char) -> PResult<()> {
        if self.peek().map(|t| &t.tok) == Some(&Tok::Punct(p)) {
            self.pos += 1;
            Ok(())
        } else {
            self.err(&format!("`{p}`"))
        }
    }
    fn word(&mut self, what: &str) -> PResult<Token> {
        match self.peek() {
            Some(t @ Token { tok: Tok::Word(_), .. }) => {
                let t = t.clone();
                self.pos += 1;
                Ok(t)
            }
            _ => self.err(what),
        }
    }
    fn is_punct(&self, p: char) -> bool {
        self.peek().map(|t| &t.tok) == Some(&Tok::Punct(p))
    }
}

fn word_of(t: &Token) -> String {
    match &t.tok {
        Tok::Word(w) => w.clone(),
        Tok::Punct(p) => p.to_string(),
    }
}

fn parse_arg(words: &[Token], index: usize, span: Span) -> PResult<Arg> {
    let (l, c) = (words[0].line, words[0].col);
    let all: Vec<String> = words.iter().map(word_of).collect();
    let as_type = c_type(&all);
    let (ty, name) = match as_type {
        Ok(t) => (t, format!("arg{index}")),
        Err(e) => {
            let last = all.last().cloned().unwrap_or_default();
            if all.len() >= 2 && valid_name(&last) {
                match c_type(&all[..all.len() - 1]) {
                    Ok(t) => (t, last),
                    Err(_) => return Err((l, c, e)),
                }
            } else {
                return Err((l, c, e));
            }
        }
    };
    Ok(Arg { name, ty, span })
}

fn parse_file(src: &str, file: &str, span: Span) -> PResult<Vec<Provider>> {
    let toks = lex(src)?;
    let lines = src.lines().count() as u32;
    let mut p = Parser { toks, pos: 0, end: (lines.max(1), 1) };
    let mut providers = Vec::new();
    while p.peek().is_some() {
        let kw = p.word("`provider`")?;
        if word_of(&kw) != "provider" {
            p.pos -= 1;
            return p.err("`provider`");
        }
        let name = p.word("a provider name")?;
        let pname = word_of(&name);
        if !valid_name(&pname) {
            return Err((name.line, name.col, format!("`{pname}` is not a valid provider name")));
        }
        p.punct('{')?;
        let mut probes: Vec<Probe> = Vec::new();
        while !p.is_punct('}') {
            let kw = p.word("`probe` or `}`")?;
            if word_of(&kw) != "probe" {
                p.pos -= 1;
                return p.err("`probe` or `}`");
            }
            let name = p.word("a probe name")?;
            let n = word_of(&name);
            if !valid_name(&n) {
                return Err((name.line, name.col, format!("`{n}` is not a valid probe name")));
            }
            if probes.iter().any(|q| q.name == n) {
                return Err((name.line, name.col, format!("probe `{n}` is declared twice")));
            }
            p.punct('(')?;
            let mut args = Vec::new();
            let mut words = Vec::new();
            loop {
                match p.peek().map(|t| t.tok.clone()) {
                    Some(Tok::Punct(',')) | Some(Tok::Punct(')')) => {
                        let close = p.is_punct(')');
                        let t = p.peek().cloned().expect("peeked");
                        p.pos += 1;
                        if words.is_empty() {
                            // `()` or `(void)` has no arguments; `a, , b` is an error.
                            if !(close && args.is_empty()) {
                                return Err((t.line, t.col, "expected an argument type".into()));
                            }
                        } else if !(close && args.is_empty() && words.len() == 1 && word_of(&words[0]) == "void") {
                            args.push(parse_arg(&words, args.len(), span)?);
                        }
                        words.clear();
                        if close {
                            break;
                        }
                    }
                    Some(Tok::Word(_)) | Some(Tok::Punct('*')) => {
                        words.push(p.peek().cloned().expect("peeked"));
                        p.pos += 1;
                    }
                    _ => return p.err("an argument type, `,` or `)`"),
                }
            }
            p.punct(';')?;
            let probe = Probe { name: n, doc: kw.doc.clone().unwrap_or_default(), args, span, line: Some(name.line) };
            probe.check_budget().map_err(|e| (name.line, name.col, e.to_string()))?;
            probes.push(probe);
        }
        p.punct('}')?;
        p.punct(';')?;
        providers.push(Provider { name: pname, probes, file: Some(file.to_string()) });
    }
    Ok(providers)
}

/// Expand `dtrace_provider!("path")`.
pub fn expand(input: TokenStream) -> syn::Result<TokenStream> {
    let path: LitStr = syn::parse2(input)?;
    let dir = std::env::var("CARGO_MANIFEST_DIR").unwrap_or_else(|_| ".".into());
    let full = std::path::Path::new(&dir).join(path.value());
    let src = std::fs::read_to_string(&full)
        .map_err(|e| syn::Error::new(path.span(), format!("cannot read provider file {}: {e}", full.display())))?;
    let shown = path.value();
    let providers = parse_file(&src, &shown, path.span())
        .map_err(|(l, c, m)| syn::Error::new(path.span(), format!("{shown}:{l}:{c}: {m}")))?;
    let full_str = full.to_string_lossy().into_owned();
    let mut out = vec![quote! {
        // Rebuild when the provider file changes.
        const _: &[u8] = include_bytes!(#full_str);
    }];
    for prov in &providers {
        let items = provider_items(prov, &quote!(pub(crate)))?;
        let ident = format_ident!("{}", prov.name);
        out.push(quote! {
            #[allow(non_snake_case, dead_code)]
            pub(crate) mod #ident {
                #items
            }
        });
    }
    Ok(quote!(#(#out)*))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::ArgType;

    fn parse(src: &str) -> PResult<Vec<Provider>> {
        parse_file(src, "p.d", Span::call_site())
    }

    #[test]
    fn parses_providers_docs_and_names() {
        let src = "#pragma D attributes Evolving/Evolving/ISA provider http\n\
                   provider http {\n  /* A request\n   * was accepted. */\n  probe request__start(uint64_t id, const char *path);\n\
                   // Done.\n  probe done(int, unsigned long long);\n  probe tick(void);\n};\n";
        let p = parse(src).unwrap();
        assert_eq!(p.len(), 1);
        let probes = &p[0].probes;
        assert_eq!(probes[0].doc, "A request\nwas accepted.");
        assert_eq!(probes[0].line, Some(5));
        assert_eq!(probes[0].args[1].name, "path");
        assert_eq!(probes[0].args[1].ty, ArgType::CStr);
        assert_eq!(probes[1].doc, "Done.");
        assert_eq!(probes[1].args[0].name, "arg0");
        assert_eq!(probes[1].args[1].ty, ArgType::Int { size: 8, signed: false, rust: "u64" });
        assert!(probes[2].args.is_empty());
    }

    #[test]
    fn errors_carry_line_and_column() {
        let e = parse("provider x {\n  probe a(struct foo);\n};").unwrap_err();
        assert_eq!((e.0, e.1), (2, 11));
        assert!(e.2.contains("struct foo"), "{}", e.2);
        let e = parse("provider x {\n  probe a(int)\n};").unwrap_err();
        assert_eq!((e.0, e.1), (3, 1));
        assert!(e.2.contains("expected `;`"));
        assert!(parse("provider x { probe a(int); }").unwrap_err().2.contains("the end of the file"));
        assert!(parse("/* open").is_err());
        assert!(parse("provider x { probe a(int,,int); };").is_err());
    }
}
