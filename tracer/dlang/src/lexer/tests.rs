use super::*;

/// The tokens of `text` without the final `Eof`, and the error messages.
fn lex(text: &str) -> (Vec<TokenKind>, Vec<String>) {
    let lexed = tokenize(text);
    assert_eq!(lexed.tokens.last().map(|t| &t.kind), Some(&TokenKind::Eof));
    let mut kinds: Vec<TokenKind> = lexed.tokens.into_iter().map(|t| t.kind).collect();
    kinds.pop();
    (kinds, lexed.diagnostics.into_iter().map(|d| d.message).collect())
}

/// The tokens of `text`, which must lex without errors.
fn ok(text: &str) -> Vec<TokenKind> {
    let (kinds, errors) = lex(text);
    assert!(errors.is_empty(), "{text:?}: {errors:?}");
    kinds
}

/// The tokens inside a body: `text` is wrapped in `BEGIN { ... }`.
fn body(text: &str) -> Vec<TokenKind> {
    let mut kinds = ok(&format!("BEGIN {{ {text} }}"));
    assert_eq!(kinds.remove(0), desc("BEGIN"));
    assert_eq!(kinds.remove(0), p(Punct::LBrace));
    assert_eq!(kinds.pop(), Some(p(Punct::RBrace)));
    kinds
}

fn errors(text: &str) -> Vec<String> {
    lex(text).1
}

fn desc(text: &str) -> TokenKind {
    TokenKind::ProbeDesc(text.into())
}

fn p(punct: Punct) -> TokenKind {
    TokenKind::Punct(punct)
}

fn id(name: &str) -> TokenKind {
    TokenKind::Ident(name.into())
}

fn kw(k: Keyword) -> TokenKind {
    TokenKind::Keyword(k)
}

fn int(value: u64) -> TokenKind {
    TokenKind::Int(IntLit { value, unsigned: false, length: IntLength::Default, radix: Radix::Decimal })
}

#[test]
fn probe_descriptions_are_single_tokens_at_top_level() {
    for text in [
        "syscall::read:entry",
        "python$target:::function-entry",
        "tick-1s",
        "profile-997hz",
        "BEGIN",
        "pid123:libc.so.6:malloc:entry",
        "*:::*",
        "foo[0-9]*:::bar",
        "python*:::function-return",
        "a+b~c!d?e",
    ] {
        assert_eq!(ok(text), [desc(text)], "{text}");
    }
    assert_eq!(ok("tick-1s, END"), [desc("tick-1s"), p(Punct::Comma), desc("END")]);
    assert_eq!(ok("BEGIN{}"), [desc("BEGIN"), p(Punct::LBrace), p(Punct::RBrace)]);
}

#[test]
fn predicates_switch_modes_and_close_on_slash() {
    assert_eq!(
        ok("syscall::read:entry/pid == $target/{x}"),
        [
            desc("syscall::read:entry"),
            TokenKind::PredicateOpen,
            id("pid"),
            p(Punct::EqEq),
            TokenKind::Macro("$target".into()),
            TokenKind::PredicateClose,
            p(Punct::LBrace),
            id("x"),
            p(Punct::RBrace),
        ]
    );
    // Inside parentheses a `/` divides.
    assert_eq!(
        ok("BEGIN /(a / 2) > 1/"),
        [
            desc("BEGIN"),
            TokenKind::PredicateOpen,
            p(Punct::LParen),
            id("a"),
            p(Punct::Slash),
            int(2),
            p(Punct::RParen),
            p(Punct::Gt),
            int(1),
            TokenKind::PredicateClose,
        ]
    );
    // A `{` ends a predicate that was never closed.
    let kinds = ok("BEGIN /x { y }");
    assert_eq!(kinds[3], p(Punct::LBrace));
    assert_eq!(kinds[4], id("y"));
}

#[test]
fn after_a_body_the_next_clause_is_a_probe_description_again() {
    let kinds = ok("a:b { x[1] = c:d; } e:f { }");
    assert_eq!(kinds[0], desc("a:b"));
    assert!(kinds.contains(&p(Punct::Colon)), "inside a body `:` is an operator");
    assert!(kinds.contains(&desc("e:f")));
    assert_eq!(
        ok("BEGIN { { } } END"),
        [desc("BEGIN"), p(Punct::LBrace), p(Punct::LBrace), p(Punct::RBrace), p(Punct::RBrace), desc("END")]
    );
}

#[test]
fn declarations_at_top_level_lex_as_ordinary_tokens() {
    assert_eq!(
        ok("self int depth; BEGIN"),
        [kw(Keyword::Self_), kw(Keyword::Int), id("depth"), p(Punct::Semi), desc("BEGIN")]
    );
    assert_eq!(ok("uint64_t x;"), [id("uint64_t"), id("x"), p(Punct::Semi)]);
    assert_eq!(ok("foo_t *p;"), [id("foo_t"), p(Punct::Star), id("p"), p(Punct::Semi)]);
    assert_eq!(ok("foo_t* p;"), [id("foo_t"), p(Punct::Star), id("p"), p(Punct::Semi)]);
    assert_eq!(
        ok("int a[string];"),
        [kw(Keyword::Int), id("a"), p(Punct::LBracket), kw(Keyword::String), p(Punct::RBracket), p(Punct::Semi)]
    );
    // A name followed by a name on the next line is two clauses.
    assert_eq!(ok("BEGIN\nEND"), [desc("BEGIN"), desc("END")]);
    // `provider` blocks stay in declaration mode through their braces.
    let kinds = ok("provider p { probe x(int); }; BEGIN");
    assert_eq!(kinds.last(), Some(&desc("BEGIN")));
    assert!(kinds.contains(&id("x")));
}

#[test]
fn integers_in_every_radix_with_suffixes() {
    let lit = |text: &str| match ok(&format!("BEGIN {{ {text} }}"))[2] {
        TokenKind::Int(lit) => lit,
        ref other => panic!("{text}: {other:?}"),
    };
    assert_eq!(lit("42"), IntLit { value: 42, unsigned: false, length: IntLength::Default, radix: Radix::Decimal });
    assert_eq!(lit("0x2A"), IntLit { value: 42, unsigned: false, length: IntLength::Default, radix: Radix::Hex });
    assert_eq!(lit("052"), IntLit { value: 42, unsigned: false, length: IntLength::Default, radix: Radix::Octal });
    assert_eq!(lit("0"), IntLit { value: 0, unsigned: false, length: IntLength::Default, radix: Radix::Decimal });
    assert!(lit("7u").unsigned);
    assert_eq!(lit("7L").length, IntLength::Long);
    assert_eq!(lit("7Ul").length, IntLength::Long);
    assert!(lit("7lu").unsigned);
    assert_eq!(lit("7ll").length, IntLength::LongLong);
    let ull = lit("0xffffffffffffffffULL");
    assert_eq!((ull.value, ull.unsigned, ull.length), (u64::MAX, true, IntLength::LongLong));
}

#[test]
fn bad_numbers_are_one_error_each_and_still_a_token() {
    for (text, message) in [
        ("0x", "invalid number `0x`: no digits after `0x`"),
        ("08", "invalid digit `8` in octal number `08`"),
        ("12abc", "invalid suffix `abc` on integer `12abc`"),
        ("7lul", "invalid suffix `lul` on integer `7lul`"),
        ("1.5", "floating-point number `1.5` is not supported"),
        ("18446744073709551616", "integer `18446744073709551616` does not fit in 64 bits"),
    ] {
        let (kinds, errors) = lex(&format!("BEGIN {{ {text}; }}"));
        assert_eq!(errors, [message], "{text}");
        assert_eq!(kinds[2], int(0), "{text}");
        assert_eq!(kinds[3], p(Punct::Semi), "{text}");
    }
}

#[test]
fn characters_and_strings_decode_c_escapes() {
    let chars: Vec<TokenKind> = body(r"'a' '\n' '\0' '\x41' '\101' '\'' '\\'");
    let expected: Vec<TokenKind> = b"a\n\0AA'\\".iter().map(|&b| TokenKind::Char(b)).collect();
    assert_eq!(chars, expected);
    assert_eq!(body(r#""a\tb\\c\"d\x41\101\0e\?""#), [TokenKind::Str("a\tb\\c\"dAA\0e?".into())]);
    assert_eq!(body("\"h\u{e9}llo\""), [TokenKind::Str("h\u{e9}llo".into())]);
}

#[test]
fn bad_escapes_and_literals_are_reported() {
    assert_eq!(errors(r#"BEGIN { "a\qb" }"#), ["unknown escape sequence `\\q`"]);
    assert_eq!(errors(r#"BEGIN { "\x" }"#), ["`\\x` escape needs one or two hex digits"]);
    assert_eq!(errors(r#"BEGIN { "\777" }"#), ["octal escape `\\777` is above `\\377`"]);
    assert_eq!(errors(r#"BEGIN { "\xff" }"#), ["string literal contains an escape that is not valid UTF-8"]);
    assert_eq!(errors("BEGIN { '' }"), ["empty character literal"]);
    assert_eq!(errors("BEGIN { 'ab' }"), ["character literal holds more than one byte"]);
    assert_eq!(errors("BEGIN { 'a }"), ["unterminated character literal"]);
    // The bad escape is dropped; the rest of the string is kept.
    assert_eq!(lex(r#"BEGIN { "a\qb" }"#).0[2], TokenKind::Str("ab".into()));
}

#[test]
fn unterminated_strings_stop_at_the_end_of_the_line() {
    let lexed = tokenize("BEGIN { x = \"abc;\n y = 1; }");
    assert_eq!(lexed.diagnostics.len(), 1);
    assert_eq!(lexed.diagnostics[0].message, "unterminated string literal");
    assert_eq!(lexed.diagnostics[0].span, Span::new(12, 17));
    let kinds: Vec<_> = lexed.tokens.iter().map(|t| t.kind.clone()).collect();
    assert!(kinds.contains(&TokenKind::Str("abc;".into())));
    assert!(kinds.contains(&id("y")), "lexing goes on on the next line");
}

#[test]
fn comments_and_unterminated_comments() {
    assert_eq!(ok("/* a */ BEGIN // b\n{ /* { */ }"), [desc("BEGIN"), p(Punct::LBrace), p(Punct::RBrace)]);
    let lexed = tokenize("BEGIN { /* never\n closed");
    assert_eq!(lexed.diagnostics.len(), 1);
    assert_eq!(lexed.diagnostics[0].message, "unterminated comment");
    assert_eq!(lexed.diagnostics[0].span, Span::new(8, 10));
}

#[test]
fn every_operator_lexes_by_longest_match() {
    let text = "-> ^^ ++ -- += -= *= /= %= &= |= ^= <<= >>= == != <= >= && || << >> ? : . , ; ( ) [ ] + - * / % & | ^ ! ~ < > =";
    let kinds = body(text);
    let spelled: Vec<&str> = kinds
        .iter()
        .map(|k| match k {
            TokenKind::Punct(p) => p.as_str(),
            other => panic!("{other:?}"),
        })
        .collect();
    assert_eq!(spelled.join(" "), text);
    assert_eq!(body("a+++b"), [id("a"), p(Punct::PlusPlus), p(Punct::Plus), id("b")]);
    assert_eq!(body("x<<=1"), [id("x"), p(Punct::ShlEq), int(1)]);
}

#[test]
fn macros_aggregations_and_keywords() {
    assert_eq!(
        body("$1 $target $pid $$1 @ @calls self this sizeof"),
        [
            TokenKind::Macro("$1".into()),
            TokenKind::Macro("$target".into()),
            TokenKind::Macro("$pid".into()),
            TokenKind::Macro("$$1".into()),
            TokenKind::Agg(String::new()),
            TokenKind::Agg("calls".into()),
            kw(Keyword::Self_),
            kw(Keyword::This),
            kw(Keyword::Sizeof),
        ]
    );
    assert_eq!(errors("BEGIN { $ }"), ["stray `$`"]);
}

#[test]
fn pragmas_and_other_directives() {
    assert_eq!(
        ok("#pragma D option quiet\n  #pragma D option bufsize=16m\nBEGIN"),
        [
            TokenKind::Pragma { name: "quiet".into(), value: None },
            TokenKind::Pragma { name: "bufsize".into(), value: Some("16m".into()) },
            desc("BEGIN"),
        ]
    );
    assert_eq!(errors("#include <stdio.h>\n"), ["unsupported preprocessor directive `#include`"]);
    assert_eq!(errors("#pragma D depends_on library x.d\n"), ["unsupported pragma `#pragma D depends_on`"]);
    assert_eq!(errors("#pragma D option\n"), ["`#pragma D option` needs an option: `name` or `name=value`"]);
    assert_eq!(errors("#pragma D option a = b\n"), ["`#pragma D option` takes one option: `name` or `name=value`"]);
    assert_eq!(errors("BEGIN { x # y }"), ["stray character `#`"]);
}

#[test]
fn a_shebang_first_line_is_skipped() {
    assert_eq!(ok("#!/usr/sbin/dtrace -s\nBEGIN"), [desc("BEGIN")]);
    assert_eq!(ok("\u{feff}#!/usr/sbin/dtrace -s\nBEGIN"), [desc("BEGIN")]);
    assert_eq!(errors("BEGIN\n#!/usr/sbin/dtrace -s\n"), ["unsupported preprocessor directive `#`"]);
}

#[test]
fn stray_characters_are_reported_and_skipped() {
    let (kinds, errors) = lex("BEGIN { a ` b \u{e9} c \\ }");
    assert_eq!(errors, ["stray character '`'", "stray character `\u{e9}`", "stray character `\\`"]);
    assert_eq!(kinds, [desc("BEGIN"), p(Punct::LBrace), id("a"), id("b"), id("c"), p(Punct::RBrace)]);
    assert_eq!(lex("BEGIN { \u{1} }").1, ["stray character U+0001"]);
}

#[test]
fn spans_are_byte_ranges() {
    let lexed = tokenize("tick-1s /x/ { @c = 0x1f; }");
    let spans: Vec<(u32, u32)> = lexed.tokens.iter().map(|t| (t.span.lo, t.span.hi)).collect();
    assert_eq!(
        spans,
        [(0, 7), (8, 9), (9, 10), (10, 11), (12, 13), (14, 16), (17, 18), (19, 23), (23, 24), (25, 26), (26, 26)]
    );
}

#[test]
fn eof_points_at_the_end_of_the_last_line() {
    let lexed = tokenize("BEGIN {\n\n\n");
    assert_eq!(lexed.tokens.last().map(|t| t.span), Some(Span::point(7)));
}

#[test]
fn clause_start_heuristic() {
    let text = "syscall::read:entry\nEND {\nEND, BEGIN\nx = a ? b : c;\nint x;\nEND\n";
    let line = |n: usize| text.split_inclusive('\n').take(n).map(str::len).sum::<usize>();
    assert!(looks_like_clause_start(text, line(0)));
    assert!(looks_like_clause_start(text, line(1)));
    assert!(looks_like_clause_start(text, line(2)));
    assert!(!looks_like_clause_start(text, line(3)));
    assert!(!looks_like_clause_start(text, line(4)));
    assert!(!looks_like_clause_start(text, line(5)));
    assert!(!looks_like_clause_start(text, 999));
}

#[test]
fn relexing_from_an_offset_starts_at_top_level() {
    let text = "BEGIN { x = 1;\nsyscall::read:entry { }";
    let lexed = tokenize_from(text, 15);
    assert_eq!(lexed.tokens[0].kind, desc("syscall::read:entry"));
    assert_eq!(lexed.tokens[0].span, Span::new(15, 34));
}
