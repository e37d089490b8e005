use super::*;
use crate::ast::{dump, ExprKind, IntLength, Radix};

fn source(text: &str) -> Source {
    Source::new("t.d", text)
}

/// Parse `text`, which must be free of errors.
fn parse_ok(text: &str) -> Program {
    let mut diags = Diagnostics::new();
    let program = parse_program(&source(text), &mut diags);
    assert!(diags.is_empty(), "{text:?}:\n{}", crate::diag::render_all(diags.as_slice(), &source(text)));
    program
}

fn tree(text: &str) -> String {
    dump(&parse_ok(text))
}

/// The dump of one expression statement.
fn expr(text: &str) -> String {
    let program = parse_ok(&format!("BEGIN {{ {text}; }}"));
    let dumped = dump(&program);
    let line = dumped.lines().nth(3).unwrap_or_else(|| panic!("{dumped}"));
    line.trim().strip_suffix("))").unwrap_or_else(|| panic!("{dumped}")).to_string()
}

/// The error messages for `text`, in order.
fn errors(text: &str) -> Vec<String> {
    let mut diags = Diagnostics::new();
    parse_program(&source(text), &mut diags);
    diags.into_vec().into_iter().map(|d| d.message).collect()
}

/// The rendered diagnostics for `text`.
fn rendered(text: &str) -> String {
    let mut diags = Diagnostics::new();
    parse_program(&source(text), &mut diags);
    crate::diag::render_all(diags.as_slice(), &source(text))
}

#[test]
fn binary_precedence_follows_c() {
    assert_eq!(expr("a || b ^^ c && d"), "(|| a (^^ b (&& c d)))");
    assert_eq!(expr("a && b ^^ c || d"), "(|| (^^ (&& a b) c) d)");
    assert_eq!(expr("a | b ^ c & d"), "(| a (^ b (& c d)))");
    assert_eq!(expr("a & b == c"), "(& a (== b c))");
    assert_eq!(expr("a == b < c"), "(== a (< b c))");
    assert_eq!(expr("a < b << c"), "(< a (<< b c))");
    assert_eq!(expr("a << b + c"), "(<< a (+ b c))");
    assert_eq!(expr("a + b * c"), "(+ a (* b c))");
    assert_eq!(expr("a * b % c / d"), "(/ (% (* a b) c) d)");
    assert_eq!(expr("a - b - c"), "(- (- a b) c)");
    assert_eq!(expr("a != b >= c"), "(!= a (>= b c))");
    assert_eq!(expr("(a + b) * c"), "(* (+ a b) c)");
}

#[test]
fn assignment_and_conditional_are_right_associative_and_loosest() {
    assert_eq!(expr("a = b = c"), "(= a (= b c))");
    assert_eq!(expr("a += b ? c : d"), "(+= a (? b c d))");
    assert_eq!(expr("a ? b : c ? d : e"), "(? a b (? c d e))");
    assert_eq!(expr("a ? b = c : d"), "(? a (= b c) d)");
    assert_eq!(expr("a || b ? c : d"), "(? (|| a b) c d)");
    assert_eq!(expr("x <<= y >>= 2"), "(<<= x (>>= y 2))");
    assert_eq!(expr("x ^= y >= 2 ^^ !z"), "(^= x (^^ (>= y 2) (! z)))");
    for op in ["+", "-", "*", "/", "%", "&", "|", "^", "<<", ">>"] {
        assert_eq!(expr(&format!("a {op}= b")), format!("({op}= a b)"));
    }
}

#[test]
fn prefix_postfix_and_casts_bind_tightest() {
    assert_eq!(expr("-a * b"), "(* (- a) b)");
    assert_eq!(expr("!a++"), "(! (post++ a))");
    assert_eq!(expr("++a--"), "(pre++ (post-- a))");
    assert_eq!(expr("*p->x"), "(* (-> p x))");
    assert_eq!(expr("&a.b"), "(& (. a b))");
    assert_eq!(expr("- + ~ !x"), "(- (+ (~ (! x))))");
    assert_eq!(expr("--x"), "(pre-- x)");
    assert_eq!(expr("(int)x + 1"), "(+ (cast <int> x) 1)");
    assert_eq!(expr("(x) + 1"), "(+ x 1)");
    assert_eq!(expr("(uint64_t)arg0"), "(cast <uint64_t> arg0)");
    assert_eq!(expr("(char *)arg1"), "(cast <char *> arg1)");
    assert_eq!(expr("(const char *)arg1"), "(cast <char *> arg1)");
    assert_eq!(expr("(struct task **)p"), "(cast <struct task **> p)");
    assert_eq!(expr("(foo *)p"), "(cast <foo *> p)");
    assert_eq!(expr("(uid_t)uid != 0"), "(!= (cast <uid_t> uid) 0)");
    assert_eq!(expr("(unsigned long long)-x"), "(cast <unsigned long long> (- x))");
    assert_eq!(expr("(int)(char)x"), "(cast <int> (cast <char> x))");
    assert_eq!(expr("sizeof(int) + sizeof x"), "(+ (sizeof <int>) (sizeof x))");
    assert_eq!(expr("sizeof (x) * 2"), "(* (sizeof x) 2)");
}

#[test]
fn variables_aggregations_calls_and_indexing() {
    assert_eq!(expr("self->ts[copyinstr(arg1)]"), "(index self->ts (call copyinstr arg1))");
    assert_eq!(expr("this->p"), "this->p");
    assert_eq!(expr("@a[k1, k2] = count()"), "(= (agg @a k1 k2) (call count))");
    assert_eq!(expr("@ = quantize(x)"), "(= (agg @) (call quantize x))");
    assert_eq!(expr("@[execname]"), "(agg @ execname)");
    assert_eq!(expr("args[0]->name"), "(-> (index args 0) name)");
    assert_eq!(expr("a[1, 2][3]"), "(index (index a 1 2) 3)");
    assert_eq!(expr("printf(\"%d\\n\", $1, $$2, 'x')"), "(call printf \"%d\\n\" $1 $$2 'x')");
    assert_eq!(expr("x = 0x10ul + 010 + 'a'"), "(= x (+ (+ 16ul 8) 'a'))");
}

#[test]
fn literal_details_survive_in_the_tree() {
    let program = parse_ok("BEGIN { 0x10ULL; }");
    let Item::Clause(clause) = &program.items[0] else { panic!() };
    let StmtKind::Expr(e) = &clause.body.as_ref().unwrap()[0].kind else { panic!() };
    let ExprKind::Int(lit) = e.kind else { panic!() };
    assert_eq!((lit.value, lit.unsigned, lit.length, lit.radix), (16, true, IntLength::LongLong, Radix::Hex));
    assert_eq!(e.span, Span::new(8, 15));
}

#[test]
fn spans_cover_each_node() {
    let text = "BEGIN /a + b/ { x = y * 2; }";
    let program = parse_ok(text);
    let Item::Clause(clause) = &program.items[0] else { panic!() };
    let s = source(text);
    assert_eq!(s.slice(clause.span), text);
    assert_eq!(s.slice(clause.descs[0].span), "BEGIN");
    assert_eq!(s.slice(clause.predicate.as_ref().unwrap().span), "a + b");
    let stmt = &clause.body.as_ref().unwrap()[0];
    assert_eq!(s.slice(stmt.span), "x = y * 2;");
    let StmtKind::Expr(e) = &stmt.kind else { panic!() };
    assert_eq!(s.slice(e.span), "x = y * 2");
    let ExprKind::Assign { rhs, .. } = &e.kind else { panic!() };
    assert_eq!(s.slice(rhs.span), "y * 2");
}

#[test]
fn probe_descriptions_fill_from_the_right() {
    let descs = |text: &str| {
        let program = parse_ok(&format!("{text} {{}}"));
        let Item::Clause(clause) = &program.items[0] else { panic!() };
        let d = &clause.descs[0];
        [d.provider.clone(), d.module.clone(), d.function.clone(), d.name.clone()]
    };
    assert_eq!(descs("BEGIN"), ["", "", "", "BEGIN"]);
    assert_eq!(descs("read:entry"), ["", "", "read", "entry"]);
    assert_eq!(descs("libc.so.6:malloc:entry"), ["", "libc.so.6", "malloc", "entry"]);
    assert_eq!(descs("syscall::read:entry"), ["syscall", "", "read", "entry"]);
    assert_eq!(descs("python$target:::function-entry"), ["python$target", "", "", "function-entry"]);
    assert_eq!(descs("*:::*"), ["*", "", "", "*"]);
    assert_eq!(
        descs("python:/usr/bin/python3.11::function-return"),
        ["python", "/usr/bin/python3.11", "", "function-return"]
    );
    assert_eq!(descs("p:/opt/a-1/lib*.so:f:n"), ["p", "/opt/a-1/lib*.so", "f", "n"]);
    assert_eq!(errors("a:b:c:d:e { }"), ["probe description `a:b:c:d:e` has 5 fields"]);
}

#[test]
fn clauses_with_and_without_bodies() {
    assert_eq!(tree("BEGIN"), "(clause\n  (desc \"\" \"\" \"\" \"BEGIN\"))\n");
    assert_eq!(tree("BEGIN {}"), "(clause\n  (desc \"\" \"\" \"\" \"BEGIN\")\n  (body))\n");
    assert_eq!(
        tree("a:b:c:d, e /x/\nBEGIN { ; }"),
        "(clause\n  (desc \"a\" \"b\" \"c\" \"d\")\n  (desc \"\" \"\" \"\" \"e\")\n  (pred x))\n\
         (clause\n  (desc \"\" \"\" \"\" \"BEGIN\")\n  (body\n    (empty)))\n"
    );
    assert_eq!(
        tree("BEGIN { trace(1) }"),
        "(clause\n  (desc \"\" \"\" \"\" \"BEGIN\")\n  (body\n    (call trace 1)))\n"
    );
}

#[test]
fn declarations_at_top_level_and_in_bodies() {
    assert_eq!(tree("self int depth;"), "(decl self <int> depth)\n");
    assert_eq!(tree("int a[string, int];"), "(decl global <int> a (keys <string> <int>))\n");
    assert_eq!(tree("unsigned long long int x;"), "(decl global <unsigned long long> x)\n");
    assert_eq!(tree("signed char c;"), "(decl global <char> c)\n");
    assert_eq!(tree("unsigned u;"), "(decl global <unsigned int> u)\n");
    assert_eq!(tree("short int s;"), "(decl global <short> s)\n");
    assert_eq!(tree("struct foo *p;"), "(decl global <struct foo *> p)\n");
    assert_eq!(tree("uint64_t x; string s;"), "(decl global <uint64_t> x)\n(decl global <string> s)\n");
    assert_eq!(tree("foo_t *p;"), "(decl global <foo_t *> p)\n");
    assert_eq!(tree("this char *p;"), "(decl this <char *> p)\n");
    assert_eq!(
        tree("BEGIN { this int x; self->y = 1; }"),
        "(clause\n  (desc \"\" \"\" \"\" \"BEGIN\")\n  (body\n    (decl this <int> x)\n    (= self->y 1)))\n"
    );
    let program = parse_ok("self int depth;");
    let Item::Decl(decl) = &program.items[0] else { panic!() };
    assert_eq!(
        (decl.scope, &decl.ty.base, decl.ty.pointer_depth),
        (Scope::ThreadLocal, &BaseType::Int(Signedness::Signed), 0)
    );
    assert_eq!(decl.span, Span::new(0, 14));
}

#[test]
fn declaration_lists_declare_each_name() {
    assert_eq!(tree("self uint64_t t, v;"), "(decl self <uint64_t> t)\n(decl self <uint64_t> v)\n");
    assert_eq!(tree("int a[string], b;"), "(decl global <int> a (keys <string>))\n(decl global <int> b)\n");
    assert_eq!(
        tree("BEGIN { this int x, y; if (1) this int z, w; }"),
        "(clause\n  (desc \"\" \"\" \"\" \"BEGIN\")\n  (body\n    (decl this <int> x)\n    (decl this <int> y)\n    \
         (if 1\n      (then\n        (decl this <int> z)\n        (decl this <int> w)))))\n"
    );
    let program = parse_ok("self int a, bb;");
    let Item::Decl(second) = &program.items[1] else { panic!() };
    assert_eq!(second.span, Span::new(12, 14));
    assert_eq!(errors("self int t, ;"), ["expected a variable name, found `;`"]);
}

#[test]
fn bad_declarations() {
    assert_eq!(errors("int x = 5;"), ["a declaration cannot have an initializer"]);
    assert_eq!(errors("int a[5];"), ["expected a key type, found integer literal"]);
    assert_eq!(errors("signed unsigned x;"), ["`signed unsigned` is not a valid type"]);
    assert_eq!(errors("long long long x;"), ["`long long long` is not a valid type"]);
    assert_eq!(errors("union u x;"), ["`union` types are not supported"]);
    assert_eq!(errors("self int;"), ["expected a variable name, found `;`"]);
    assert_eq!(errors("inline int N 5;\nBEGIN {}"), ["expected `=` after `inline … N`"]);
    assert_eq!(errors("typedef int foo_t;\nBEGIN {}"), ["`typedef` is not supported"]);
    // A declaration missing its `;` before a new line does not swallow the clause.
    assert_eq!(errors("self int depth\nBEGIN { x = 1; }"), ["expected `;` after declaration"]);
}

#[test]
fn provider_blocks_are_skipped() {
    assert_eq!(tree("provider p { probe a(int); };\nBEGIN"), "(clause\n  (desc \"\" \"\" \"\" \"BEGIN\"))\n");
}

#[test]
fn pragmas_and_shebang() {
    assert_eq!(
        tree("#!/usr/sbin/dtrace -s\n#pragma D option quiet\n#pragma D option bufsize=16m\n"),
        "(pragma quiet)\n(pragma bufsize \"16m\")\n"
    );
    assert_eq!(errors("BEGIN {\n#pragma D option quiet\n}"), ["`#pragma` lines must be outside clauses"]);
}

#[test]
fn if_else_takes_blocks_or_single_statements() {
    assert_eq!(
        tree("BEGIN { if (x > 1) { a = 1; b = 2 } else c = 3; }"),
        "(clause\n  (desc \"\" \"\" \"\" \"BEGIN\")\n  (body\n    (if (> x 1)\n      (then\n        (= a 1)\n        (= b 2))\n      (else\n        (= c 3)))))\n"
    );
    // `else` binds to the nearest `if`.
    assert_eq!(
        tree("BEGIN { if (a) if (b) x; else y; }"),
        "(clause\n  (desc \"\" \"\" \"\" \"BEGIN\")\n  (body\n    (if a\n      (then\n        (if b\n          (then\n            x)\n          (else\n            y))))))\n"
    );
    assert_eq!(
        tree("BEGIN { if (a) {} else if (b) {} }"),
        "(clause\n  (desc \"\" \"\" \"\" \"BEGIN\")\n  (body\n    (if a\n      (then)\n      (else\n        (if b\n          (then))))))\n"
    );
    assert_eq!(errors("BEGIN { if x { } }"), ["expected `(` after `if`, found identifier `x`"]);
    assert_eq!(errors("BEGIN { if (x) }"), ["expected a statement or `{` after `if (...)`, found `}`"]);
    assert_eq!(errors("BEGIN { else x; }"), ["`else` without a matching `if`"]);
}

#[test]
fn predicate_errors() {
    assert_eq!(errors("BEGIN // comment, not a predicate\n{}"), Vec::<String>::new());
    assert_eq!(errors("BEGIN / / {}"), ["empty predicate"]);
    assert_eq!(errors("BEGIN /x == 1 { y = 1; }"), ["unterminated predicate: expected `/`"]);
    assert_eq!(errors("BEGIN /x / 2 > 1/ { }"), ["expected `{` after the predicate, found `2`"]);
    assert_eq!(errors("BEGIN /x ==/ { }"), ["expected an expression, found `/` (end of predicate)"]);
    assert_eq!(
        rendered("BEGIN /x == 1 { y = 1; }"),
        "t.d:1:14: error: unterminated predicate: expected `/`\n   1 | BEGIN /x == 1 { y = 1; }\n     |              ^\n  = hint: the predicate opened at line 1, column 7 must end with `/`; found `{`\n"
    );
}

#[test]
fn top_level_errors() {
    assert_eq!(errors("BEGIN x = 1;"), ["expected `{`, `/` or `,` after the probe description, found `x`"]);
    assert_eq!(errors("BEGIN, { }"), ["expected a probe description after `,`, found `{`"]);
    assert_eq!(errors("} BEGIN { }"), ["unmatched `}`"]);
    assert_eq!(errors("/x/ { }"), ["expected a probe description, found `/` (start of predicate)"]);
    assert_eq!(errors("BEGIN { } = 3;"), ["expected a probe description, found `=`"]);
}

#[test]
fn statement_errors() {
    assert_eq!(errors("BEGIN { x = ; }"), ["expected an expression, found `;`"]);
    assert_eq!(errors("BEGIN { x = (1 + 2; }"), ["expected `)`"]);
    assert_eq!(errors("BEGIN { f(1, 2; }"), ["expected `,` or `)` in the argument list"]);
    assert_eq!(errors("BEGIN { a ? b; }"), ["expected `:` in conditional expression"]);
    assert_eq!(errors("BEGIN { self = 1; }"), ["expected `->` after `self`, found `=`"]);
    assert_eq!(errors("BEGIN { this->; }"), ["expected a variable name after `this->`, found `;`"]);
    assert_eq!(errors("BEGIN { a[0](1); }"), ["only a named function can be called"]);
    assert_eq!(errors("BEGIN { a.1; }"), ["expected a member name after `.`, found integer literal"]);
    assert_eq!(errors("BEGIN { { x; } }"), ["unexpected `{`"]);
    assert_eq!(errors("BEGIN { x y; }"), ["expected `;` after statement"]);
}

#[test]
fn several_errors_are_reported_in_one_run() {
    let text = "BEGIN { x = ; y = 1; z = (2; }\nsyscall::read:entry / / { a b; }\ntick-1s { ok(); }\nEND { q = ; }";
    assert_eq!(
        errors(text),
        [
            "expected an expression, found `;`",
            "expected `)`",
            "empty predicate",
            "expected `;` after statement",
            "expected an expression, found `;`",
        ]
    );
}

#[test]
fn a_missing_semicolon_before_a_new_line_is_assumed() {
    let text = "BEGIN {\n\tx = 1\n\ty = 2;\n\tz = ;\n}";
    assert_eq!(errors(text), ["expected `;` after statement", "expected an expression, found `;`"]);
    assert_eq!(
        rendered("BEGIN {\n\tx = 1\n\ty = 2;\n}"),
        "t.d:2:7: error: expected `;` after statement\n   2 | \tx = 1\n     | \t     ^\n  = hint: found identifier `y`\n"
    );
}

#[test]
fn unclosed_braces() {
    assert_eq!(errors("BEGIN { x = 1;"), ["`{` opened here is never closed"]);
    // A new clause in column one ends the unclosed body; the next clause parses.
    let text = "BEGIN {\n  x = 1;\n\nsyscall::read:entry { y = ; }\nEND {\n";
    assert_eq!(
        errors(text),
        ["`{` opened here is never closed", "expected an expression, found `;`", "`{` opened here is never closed"]
    );
    assert_eq!(
        rendered("BEGIN {\n  x = 1;\nEND { }\n"),
        "t.d:1:7: error: `{` opened here is never closed\n   1 | BEGIN {\n     |       ^\n  = hint: add a `}` before the clause at line 3\n"
    );
    // An unclosed `if` block inside a closed body.
    assert_eq!(errors("BEGIN { if (x) { y; }\nEND { }"), ["`{` opened here is never closed"]);
}

#[test]
fn lexical_errors_suppress_the_syntax_errors_they_cause() {
    assert_eq!(errors("BEGIN {\n\tprintf(\"hello);\n\texit(0);\n}\n"), ["unterminated string literal"]);
    assert_eq!(errors("BEGIN {\n\tx = 1; /* never closed\n}\n"), ["unterminated comment"]);
    assert_eq!(
        errors("BEGIN { x = 0x; y = ; }"),
        ["invalid number `0x`: no digits after `0x`", "expected an expression, found `;`"]
    );
    assert_eq!(errors("BEGIN { x = 1 ` 2; }"), ["stray character '`'"]);
}

#[test]
fn deep_nesting_is_an_error_not_a_crash() {
    let deep = format!("BEGIN {{ x = {}1{}; }}", "(".repeat(10_000), ")".repeat(10_000));
    assert_eq!(errors(&deep), ["program is nested too deeply"]);
    let chain = format!("BEGIN {{ x = 1{}; }}", " + 1".repeat(100_000));
    assert_eq!(errors(&chain), ["program is nested too deeply"]);
    let postfix = format!("BEGIN {{ x{}; }}", "[0]".repeat(100_000));
    assert_eq!(errors(&postfix), ["program is nested too deeply"]);
    let unary = format!("BEGIN {{ x = {}1; }}", "-".repeat(100_000));
    assert_eq!(errors(&unary), ["program is nested too deeply"]);
    let ifs = format!("BEGIN {{ {} x; }}", "if (1) ".repeat(100_000));
    assert_eq!(errors(&ifs), ["program is nested too deeply"]);
    let blocks = format!("BEGIN {{ {} }}", "if (1) {".repeat(10_000) + &"}".repeat(10_000));
    assert!(!errors(&blocks).is_empty());
    // Nesting below the limit is fine.
    let ok = format!("BEGIN {{ x = {}1{}; }}", "(".repeat(20), ")".repeat(20));
    parse_ok(&ok);
}

/// A tiny deterministic generator (xorshift), so the test needs no crate.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0
    }

    fn below(&mut self, n: usize) -> usize {
        (self.next() % n as u64) as usize
    }
}

/// Parse and render; the point is that neither panics.
fn survive(text: &str) {
    let s = source(text);
    let mut diags = Diagnostics::new();
    let program = parse_program(&s, &mut diags);
    let _ = dump(&program);
    let _ = crate::diag::render_all(diags.as_slice(), &s);
}

fn corpus() -> Vec<String> {
    let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/d-syntax");
    let mut texts: Vec<String> = std::fs::read_dir(&dir)
        .map(|entries| {
            entries
                .filter_map(|e| e.ok())
                .filter(|e| e.path().extension().is_some_and(|x| x == "d"))
                .filter_map(|e| std::fs::read_to_string(e.path()).ok())
                .collect()
        })
        .unwrap_or_default();
    assert!(texts.len() >= 12, "golden programs in {} should be found", dir.display());
    texts.push("#!/usr/sbin/dtrace -s\n#pragma D option quiet\nself int a[string];\nBEGIN /(x/2)/ { if (a) { b = 'c'; } else d = \"e\\x41\"; }".into());
    texts
}

#[test]
fn no_input_makes_the_parser_panic() {
    let corpus = corpus();
    // Every prefix (at every char boundary) of every program.
    for text in &corpus {
        for (i, _) in text.char_indices().chain([(text.len(), ' ')]) {
            survive(&text[..i]);
        }
    }
    let mut rng = Rng(0x9e37_79b9_7f4a_7c15);
    // Random bytes, made into text lossily.
    for _ in 0..2_000 {
        let len = rng.below(64);
        let bytes: Vec<u8> = (0..len).map(|_| rng.next() as u8).collect();
        survive(&String::from_utf8_lossy(&bytes));
    }
    // Random soup of D fragments, which reaches deeper into the grammar.
    let pieces = [
        "BEGIN",
        "syscall::read:entry",
        " ",
        "\n",
        "/",
        "{",
        "}",
        "(",
        ")",
        "[",
        "]",
        ";",
        ",",
        "x",
        "self",
        "->",
        "this",
        "int",
        "char",
        "*",
        "@",
        "@a",
        "=",
        "+=",
        "?",
        ":",
        "if",
        "else",
        "\"s\"",
        "\"",
        "'",
        "'c'",
        "0x",
        "1",
        "$1",
        "#pragma D option q\n",
        "#",
        "/*",
        "*/",
        "//",
        "++",
        "sizeof",
        "struct",
        "uint64_t",
        "-",
        "^^",
        "&&",
        "!",
        ".",
        "\\",
        "\u{e9}",
        "provider",
        "inline",
        "\t",
    ];
    for _ in 0..20_000 {
        let n = rng.below(24);
        let text: String = (0..n).map(|_| pieces[rng.below(pieces.len())]).collect();
        survive(&text);
    }
    // Mutations of the real programs.
    for text in &corpus {
        for _ in 0..200 {
            let mut bytes = text.clone().into_bytes();
            for _ in 0..1 + rng.below(4) {
                if bytes.is_empty() {
                    break;
                }
                let at = rng.below(bytes.len());
                match rng.below(3) {
                    0 => {
                        bytes.remove(at);
                    }
                    1 => bytes.insert(at, b"{}()/;:\"'*@$#\n"[rng.below(14)]),
                    _ => bytes[at] = rng.next() as u8,
                }
            }
            survive(&String::from_utf8_lossy(&bytes));
        }
    }
}

#[test]
fn inline_declarations_name_an_expression() {
    let t = tree("inline int MAXCPUID = 1024;\ninline string ME = \"x\" ;\nBEGIN { trace(MAXCPUID * 2); }");
    let lines: Vec<&str> = t.lines().collect();
    assert_eq!(lines[0], "(inline <int> MAXCPUID 1024)");
    assert_eq!(lines[1], "(inline <string> ME \"x\")");
    assert!(lines[2].starts_with("(clause"), "{t}");
    assert_eq!(tree("inline uint64_t N = 1 << 3;"), "(inline <uint64_t> N (<< 1 3))\n");
}
