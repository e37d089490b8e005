//! The D lexer: program text to tokens with spans.
//!
//! It follows the lexical rules of C as DTrace extends them: `/* */` and
//! `//` comments, decimal, hex and octal integers with `u`/`l`/`ul`/`ll`/
//! `ull` suffixes, character and string literals with C escapes, macro
//! variables (`$1`, `$target`, `$$1`), aggregations (`@`, `@name`), the C
//! operators plus `^^`, a `#!` first line (skipped) and `#pragma D option`
//! lines (one [`TokenKind::Pragma`] each).
//!
//! # Probe descriptions
//!
//! As in DTrace, probe descriptions are lexed in a mode of their own, and
//! the lexer tracks that mode itself from the braces and slashes it sees,
//! so the parser works on a plain token list:
//!
//! * **Top level** (outside braces and predicates): a run of the characters
//!   `[A-Za-z0-9_.$*?!-[]:+~]` is one [`TokenKind::ProbeDesc`], so
//!   `syscall::read:entry`, `python$target:::function-entry`, `tick-1s` and
//!   `foo[0-9]*:::bar` are single tokens. A `/` there opens a predicate,
//!   `{` a body. A run that is a keyword (`self`, `this`, `int`, `string`,
//!   `struct`, `inline`, `provider`, ...), a name followed on the same line
//!   by `*` (`foo *p;`), or a name ending in `_t` followed on the same line
//!   by a name (`uint64_t x;`) starts a declaration instead. So `BEGIN x`
//!   is two probe descriptions, and typedef names other than `*_t` can be
//!   declared only as pointers.
//! * **Declaration**: ordinary tokens up to the `;` that ends it (outside
//!   any braces, for `provider p { ... };`), then top level again.
//! * **Predicate**: ordinary tokens; a `/` outside parentheses and brackets
//!   closes it ([`TokenKind::PredicateClose`]), so division inside a
//!   predicate must be parenthesised: `/(a / b) > 1/`. A `{` outside
//!   parentheses also ends it (the parser then reports the missing `/`).
//! * **Body**: ordinary tokens until the matching `}`.
//!
//! Errors (unterminated string, character literal or comment, bad escape,
//! bad number, stray character, unsupported `#` line) become diagnostics
//! and lexing goes on: a bad number still yields an integer token (0), an
//! unterminated string yields its text up to the end of the line.

use super::ast::{IntLength, IntLit, Radix};
use super::diag::{Diagnostic, Span};

/// A token and the text it came from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Token {
    /// What was lexed.
    pub kind: TokenKind,
    /// Where.
    pub span: Span,
}

/// The kinds of token.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum TokenKind {
    /// A probe description at the start of a clause, e.g. `syscall::read:entry`.
    ProbeDesc(String),
    /// The `/` opening a predicate.
    PredicateOpen,
    /// The `/` closing a predicate.
    PredicateClose,
    /// A `#pragma D option name[=value]` line.
    Pragma {
        /// The option name.
        name: String,
        /// The text after `=`, if any.
        value: Option<String>,
    },
    /// An integer literal.
    Int(IntLit),
    /// A character literal's byte.
    Char(u8),
    /// A string literal, escapes decoded.
    Str(String),
    /// An identifier that is not a keyword.
    Ident(String),
    /// A reserved word.
    Keyword(Keyword),
    /// A macro variable with its `$`s: `$1`, `$target`, `$$1`.
    Macro(String),
    /// An aggregation: `@name` (the name without `@`), or `@` alone (empty).
    Agg(String),
    /// An operator or punctuation.
    Punct(Punct),
    /// The end of the text; always the last token.
    Eof,
}

impl TokenKind {
    /// How a message names the token: "`;`", "identifier `x`", "end of file".
    pub fn describe(&self) -> String {
        match self {
            TokenKind::ProbeDesc(t) => format!("probe description `{t}`"),
            TokenKind::PredicateOpen => "`/` (start of predicate)".to_string(),
            TokenKind::PredicateClose => "`/` (end of predicate)".to_string(),
            TokenKind::Pragma { .. } => "`#pragma` line".to_string(),
            TokenKind::Int(_) => "integer literal".to_string(),
            TokenKind::Char(_) => "character literal".to_string(),
            TokenKind::Str(_) => "string literal".to_string(),
            TokenKind::Ident(name) => format!("identifier `{name}`"),
            TokenKind::Keyword(k) => format!("keyword `{}`", k.as_str()),
            TokenKind::Macro(m) => format!("macro variable `{m}`"),
            TokenKind::Agg(name) => format!("aggregation `@{name}`"),
            TokenKind::Punct(p) => format!("`{}`", p.as_str()),
            TokenKind::Eof => "end of file".to_string(),
        }
    }
}

macro_rules! keywords {
    ($($variant:ident => $text:literal,)*) => {
        /// The reserved words of D that the grammar uses or reserves.
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
        pub enum Keyword {
            $(
                #[doc = concat!("`", $text, "`")]
                $variant,
            )*
        }

        impl Keyword {
            /// The keyword spelled `text`, if it is one.
            pub fn from_word(text: &str) -> Option<Keyword> {
                match text {
                    $($text => Some(Keyword::$variant),)*
                    _ => None,
                }
            }

            /// The keyword as written.
            pub fn as_str(self) -> &'static str {
                match self {
                    $(Keyword::$variant => $text,)*
                }
            }
        }
    };
}

keywords! {
    Char => "char",
    Short => "short",
    Int => "int",
    Long => "long",
    Signed => "signed",
    Unsigned => "unsigned",
    Void => "void",
    String => "string",
    Struct => "struct",
    Union => "union",
    Enum => "enum",
    Const => "const",
    Volatile => "volatile",
    Self_ => "self",
    This => "this",
    If => "if",
    Else => "else",
    Sizeof => "sizeof",
    Inline => "inline",
    Provider => "provider",
    Typedef => "typedef",
    Translator => "translator",
    Extern => "extern",
    Static => "static",
}

impl Keyword {
    /// Whether the keyword can begin a type name.
    pub fn starts_type(self) -> bool {
        use Keyword::*;
        matches!(
            self,
            Char | Short | Int | Long | Signed | Unsigned | Void | String | Struct | Union | Enum | Const | Volatile
        )
    }
}

macro_rules! puncts {
    ($($variant:ident => $text:literal,)*) => {
        /// Operators and punctuation.
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
        pub enum Punct {
            $(
                #[doc = concat!("`", $text, "`")]
                $variant,
            )*
        }

        impl Punct {
            /// The operator as written.
            pub fn as_str(self) -> &'static str {
                match self {
                    $(Punct::$variant => $text,)*
                }
            }

            /// Every operator, for longest-match lexing.
            const ALL: &'static [Punct] = &[$(Punct::$variant,)*];
        }
    };
}

puncts! {
    ShlEq => "<<=",
    ShrEq => ">>=",
    Arrow => "->",
    PlusPlus => "++",
    MinusMinus => "--",
    PlusEq => "+=",
    MinusEq => "-=",
    StarEq => "*=",
    SlashEq => "/=",
    PercentEq => "%=",
    AmpEq => "&=",
    PipeEq => "|=",
    CaretEq => "^=",
    EqEq => "==",
    NotEq => "!=",
    Le => "<=",
    Ge => ">=",
    AndAnd => "&&",
    OrOr => "||",
    XorXor => "^^",
    Shl => "<<",
    Shr => ">>",
    LParen => "(",
    RParen => ")",
    LBracket => "[",
    RBracket => "]",
    LBrace => "{",
    RBrace => "}",
    Semi => ";",
    Comma => ",",
    Dot => ".",
    Question => "?",
    Colon => ":",
    Plus => "+",
    Minus => "-",
    Star => "*",
    Slash => "/",
    Percent => "%",
    Amp => "&",
    Pipe => "|",
    Caret => "^",
    Bang => "!",
    Tilde => "~",
    Lt => "<",
    Gt => ">",
    Assign => "=",
}

/// The tokens of a text and the errors found on the way.
#[derive(Debug, Clone, Default)]
pub struct Lexed {
    /// The tokens, ending with [`TokenKind::Eof`].
    pub tokens: Vec<Token>,
    /// Lexical errors, in text order.
    pub diagnostics: Vec<Diagnostic>,
}

/// Lex a whole program.
pub fn tokenize(text: &str) -> Lexed {
    tokenize_from(text, 0)
}

/// Lex `text` from byte offset `start` (a token boundary) in top-level
/// mode. The parser uses this to resynchronise after an unclosed `{`.
pub fn tokenize_from(text: &str, start: u32) -> Lexed {
    if u32::try_from(text.len()).is_err() {
        let eof = Token { kind: TokenKind::Eof, span: Span::point(0) };
        let too_big = Diagnostic::error(Span::point(0), "program text is larger than 4 GiB");
        return Lexed { tokens: vec![eof], diagnostics: vec![too_big] };
    }
    let mut lexer = Lexer { text, bytes: text.as_bytes(), pos: 0, mode: Mode::Top, out: Lexed::default() };
    lexer.pos = (start as usize).min(text.len());
    while !text.is_char_boundary(lexer.pos) {
        lexer.pos -= 1;
    }
    lexer.run();
    lexer.out
}

/// Whether a probe-description character.
pub fn is_desc_char(b: u8) -> bool {
    b.is_ascii_alphanumeric() || b"_.$*?!-[]:+~".contains(&b)
}

fn is_ident_start(b: u8) -> bool {
    b.is_ascii_alphabetic() || b == b'_'
}

fn is_ident_char(b: u8) -> bool {
    b.is_ascii_alphanumeric() || b == b'_'
}

fn is_ident(s: &str) -> bool {
    s.bytes().next().is_some_and(is_ident_start) && s.bytes().all(is_ident_char)
}

/// Whether the raw text at `at` (the first token of a line inside a body)
/// looks like the start of a new clause rather than a statement: a probe
/// description that contains `:` or is followed by `{` or `,`. The parser
/// asks this to spot a body whose `}` is missing.
pub fn looks_like_clause_start(text: &str, at: usize) -> bool {
    let bytes = text.as_bytes();
    if at >= bytes.len() || !text.is_char_boundary(at) {
        return false;
    }
    let end = (at..bytes.len()).find(|&i| !is_desc_char(bytes[i])).unwrap_or(bytes.len());
    if end == at {
        return false;
    }
    let run = &text[at..end];
    if Keyword::from_word(run).is_some() {
        return false;
    }
    let next = bytes[end..].iter().copied().find(|&b| b != b' ' && b != b'\t');
    run.contains(':') || matches!(next, Some(b'{' | b','))
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Mode {
    /// Outside clauses: probe descriptions, declarations, pragmas.
    Top,
    /// Inside `/.../`, at this depth of parentheses and brackets.
    Predicate(u32),
    /// Inside a clause body, at this depth of braces (at least 1).
    Body(u32),
    /// Inside a top-level declaration, at this depth of braces.
    Decl(u32),
}

struct Lexer<'a> {
    text: &'a str,
    bytes: &'a [u8],
    pos: usize,
    mode: Mode,
    out: Lexed,
}

/// Span of `lo..hi`; texts above 4 GiB are refused in [`tokenize_from`].
fn span(lo: usize, hi: usize) -> Span {
    Span::new(lo as u32, hi as u32)
}

impl Lexer<'_> {
    fn peek(&self, ahead: usize) -> u8 {
        self.bytes.get(self.pos + ahead).copied().unwrap_or(0)
    }

    fn push(&mut self, kind: TokenKind, lo: usize) {
        self.out.tokens.push(Token { kind, span: span(lo, self.pos) });
    }

    fn error(&mut self, lo: usize, hi: usize, message: impl Into<String>) -> &mut Diagnostic {
        self.out.diagnostics.push(Diagnostic::error(span(lo, hi), message));
        self.out.diagnostics.last_mut().expect("just pushed")
    }

    /// The offset where the line holding `at` ends (its `\n`, or the end).
    fn line_end(&self, at: usize) -> usize {
        self.bytes[at..].iter().position(|&b| b == b'\n').map_or(self.bytes.len(), |i| at + i)
    }

    fn run(&mut self) {
        const BOM: char = '\u{feff}';
        if self.pos == 0 && self.text.starts_with(BOM) {
            self.pos = BOM.len_utf8();
        }
        let at_start = self.pos == 0 || (self.pos == BOM.len_utf8() && self.text.starts_with(BOM));
        if at_start && self.text[self.pos..].starts_with("#!") {
            self.pos = self.line_end(self.pos);
        }
        loop {
            self.skip_trivia();
            let Some(&c) = self.bytes.get(self.pos) else { break };
            if c == b'#' && self.at_line_start() {
                self.directive();
                continue;
            }
            match (self.mode, c) {
                (Mode::Top, b'/') | (Mode::Predicate(0), b'/') => {
                    let lo = self.pos;
                    self.pos += 1;
                    if self.mode == Mode::Top {
                        self.mode = Mode::Predicate(0);
                        self.push(TokenKind::PredicateOpen, lo);
                    } else {
                        self.mode = Mode::Top;
                        self.push(TokenKind::PredicateClose, lo);
                    }
                }
                (Mode::Top, b'{') | (Mode::Predicate(0), b'{') => {
                    let lo = self.pos;
                    self.pos += 1;
                    self.mode = Mode::Body(1);
                    self.push(TokenKind::Punct(Punct::LBrace), lo);
                }
                (Mode::Top, c) if is_desc_char(c) => {
                    if self.top_level_decl() {
                        self.mode = Mode::Decl(0);
                        self.token();
                    } else {
                        self.probe_desc();
                    }
                }
                _ => self.token(),
            }
        }
        let end = self.text.trim_end().len().max(self.out.tokens.last().map_or(0, |t| t.span.hi as usize));
        self.out.tokens.push(Token { kind: TokenKind::Eof, span: span(end, end) });
    }

    /// Whether `pos` is preceded on its line only by blanks.
    fn at_line_start(&self) -> bool {
        self.bytes[..self.pos].iter().rev().take_while(|&&b| b != b'\n').all(|&b| b == b' ' || b == b'\t')
    }

    /// Skip whitespace and comments.
    fn skip_trivia(&mut self) {
        loop {
            match (self.peek(0), self.peek(1)) {
                (b' ' | b'\t' | b'\r' | b'\n' | 0x0b | 0x0c, _) => self.pos += 1,
                (b'/', b'/') => self.pos = self.line_end(self.pos),
                (b'/', b'*') => {
                    let lo = self.pos;
                    match self.text[lo + 2..].find("*/") {
                        Some(i) => self.pos = lo + 2 + i + 2,
                        None => {
                            self.pos = self.bytes.len();
                            self.error(lo, lo + 2, "unterminated comment").hint =
                                Some("a `/*` comment must end with `*/`".into());
                        }
                    }
                }
                _ => return,
            }
        }
    }

    /// At top level, whether the word at `pos` starts a declaration rather
    /// than a probe description.
    fn top_level_decl(&self) -> bool {
        let end = (self.pos..self.bytes.len()).find(|&i| !is_desc_char(self.bytes[i])).unwrap_or(self.bytes.len());
        let run = &self.text[self.pos..end];
        if Keyword::from_word(run).is_some() {
            return true;
        }
        let name = run.trim_end_matches('*');
        if !is_ident(name) {
            return false;
        }
        let next = self.bytes[end..].iter().copied().find(|&b| b != b' ' && b != b'\t');
        match next {
            Some(b) if is_ident_start(b) => name.len() < run.len() || name.ends_with("_t"),
            Some(b'*') => name.len() == run.len(),
            _ => false,
        }
    }

    fn probe_desc(&mut self) {
        let lo = self.pos;
        // A field that starts with `/` right after a `:` is a path (the
        // module `provider:/usr/bin/python3.11::name`): `/` is part of it
        // up to the next `:`. A predicate's `/` follows a whole description.
        let mut in_path = false;
        while self.pos < self.bytes.len() {
            let b = self.bytes[self.pos];
            if b == b'/' && (in_path || (self.pos > lo && self.bytes[self.pos - 1] == b':')) {
                in_path = true;
            } else if !is_desc_char(b) {
                break;
            } else if b == b':' {
                in_path = false;
            }
            self.pos += 1;
        }
        self.push(TokenKind::ProbeDesc(self.text[lo..self.pos].to_string()), lo);
    }

    /// A `#` line: `#pragma D option ...` or an error naming the directive.
    fn directive(&mut self) {
        let lo = self.pos;
        let end = self.line_end(lo);
        self.pos = end;
        let hi = self.text[lo..end].trim_end().len() + lo;
        let words: Vec<&str> = self.text[lo + 1..end].split_whitespace().collect();
        match words.as_slice() {
            ["pragma", "D", "option", option] => {
                let (name, value) = match option.split_once('=') {
                    Some((name, value)) => (name, Some(value.to_string())),
                    None => (*option, None),
                };
                if name.is_empty() {
                    self.error(lo, hi, "`#pragma D option` needs an option name before `=`");
                } else {
                    let kind = TokenKind::Pragma { name: name.to_string(), value };
                    self.out.tokens.push(Token { kind, span: span(lo, hi) });
                }
            }
            ["pragma", "D", "option"] => {
                self.error(lo, hi, "`#pragma D option` needs an option: `name` or `name=value`");
            }
            ["pragma", "D", "option", ..] => {
                self.error(lo, hi, "`#pragma D option` takes one option: `name` or `name=value`").hint =
                    Some("write one `#pragma D option` line per option, without spaces around `=`".into());
            }
            ["pragma", rest @ ..] => {
                let named: Vec<&str> = rest.iter().take(2).copied().collect();
                let directive = format!("#pragma {}", named.join(" "));
                self.error(lo, hi, format!("unsupported pragma `{}`", directive.trim_end())).hint =
                    Some("only `#pragma D option name[=value]` is supported".into());
            }
            _ => {
                let word = self.text[lo + 1..end].trim_start();
                let word = &word[..word.find(|c: char| !c.is_ascii_alphanumeric() && c != '_').unwrap_or(word.len())];
                self.error(lo, hi, format!("unsupported preprocessor directive `#{word}`")).hint =
                    Some("run the program through the C preprocessor with -C, as dtrace -C does".into());
            }
        }
    }

    /// One ordinary token at `pos` (not whitespace), updating the mode.
    fn token(&mut self) {
        let lo = self.pos;
        let c = self.bytes[lo];
        match c {
            c if is_ident_start(c) => {
                while is_ident_char(self.peek(0)) {
                    self.pos += 1;
                }
                let word = &self.text[lo..self.pos];
                let kind = match Keyword::from_word(word) {
                    Some(k) => TokenKind::Keyword(k),
                    None => TokenKind::Ident(word.to_string()),
                };
                self.push(kind, lo);
            }
            b'0'..=b'9' => self.number(),
            b'\'' => self.char_literal(),
            b'"' => self.string_literal(),
            b'$' => self.macro_var(),
            b'@' => {
                self.pos += 1;
                if is_ident_start(self.peek(0)) {
                    while is_ident_char(self.peek(0)) {
                        self.pos += 1;
                    }
                }
                self.push(TokenKind::Agg(self.text[lo + 1..self.pos].to_string()), lo);
            }
            _ => match Punct::ALL.iter().find(|p| self.text[lo..].starts_with(p.as_str())) {
                Some(&p) => {
                    self.pos += p.as_str().len();
                    self.push(TokenKind::Punct(p), lo);
                    self.update_mode(p);
                }
                None => self.stray(),
            },
        }
    }

    fn update_mode(&mut self, p: Punct) {
        self.mode = match (self.mode, p) {
            (Mode::Predicate(n), Punct::LParen | Punct::LBracket) => Mode::Predicate(n + 1),
            (Mode::Predicate(n), Punct::RParen | Punct::RBracket) => Mode::Predicate(n.saturating_sub(1)),
            (Mode::Body(n), Punct::LBrace) => Mode::Body(n + 1),
            (Mode::Body(1), Punct::RBrace) => Mode::Top,
            (Mode::Body(n), Punct::RBrace) => Mode::Body(n - 1),
            (Mode::Decl(n), Punct::LBrace) => Mode::Decl(n + 1),
            (Mode::Decl(n), Punct::RBrace) => Mode::Decl(n.saturating_sub(1)),
            (Mode::Decl(0), Punct::Semi) => Mode::Top,
            (mode, _) => mode,
        };
    }

    fn stray(&mut self) {
        let lo = self.pos;
        let c = self.text[lo..].chars().next().unwrap_or('\0');
        self.pos += c.len_utf8();
        let shown = match c {
            '`' => "'`'".to_string(),
            c if c.is_control() => format!("U+{:04X}", u32::from(c)),
            c => format!("`{c}`"),
        };
        let kernel_variable =
            c == '`' && self.text[self.pos..].starts_with(|n: char| n.is_ascii_alphabetic() || n == '_');
        let d = self.error(lo, self.pos, format!("stray character {shown}"));
        if c == '#' {
            d.hint = Some("`#` lines (such as `#pragma`) must start their line".into());
        }
        if kernel_variable {
            d.hint = Some(
                "`` `name`` reads a Solaris kernel variable; Linux kernel variables cannot be read by name".into(),
            );
        }
    }

    /// An integer literal; the maximal run of `[0-9A-Za-z_.]` is checked
    /// as a whole so `0x`, `08`, `1.5` and `12abc` are one error each.
    fn number(&mut self) {
        let lo = self.pos;
        while is_ident_char(self.peek(0)) || self.peek(0) == b'.' {
            self.pos += 1;
        }
        let text = &self.text[lo..self.pos];
        let lit = match parse_int(text) {
            Ok(lit) => lit,
            Err((message, hint)) => {
                let d = self.error(lo, self.pos, message);
                d.hint = hint;
                IntLit { value: 0, unsigned: false, length: IntLength::Default, radix: Radix::Decimal }
            }
        };
        self.push(TokenKind::Int(lit), lo);
    }

    fn macro_var(&mut self) {
        let lo = self.pos;
        self.pos += 1;
        if self.peek(0) == b'$' && (self.peek(1).is_ascii_digit() || is_ident_start(self.peek(1))) {
            self.pos += 1;
        }
        if self.peek(0).is_ascii_digit() {
            while self.peek(0).is_ascii_digit() {
                self.pos += 1;
            }
        } else if is_ident_start(self.peek(0)) {
            while is_ident_char(self.peek(0)) {
                self.pos += 1;
            }
        } else {
            self.error(lo, lo + 1, "stray `$`").hint =
                Some("macro variables are `$1`..`$9`, `$target`, `$pid`, `$$1` and the like".into());
            return;
        }
        self.push(TokenKind::Macro(self.text[lo..self.pos].to_string()), lo);
    }
}

mod literals;
use self::literals::parse_int;

#[cfg(test)]
mod tests;
