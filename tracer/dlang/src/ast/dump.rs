//! A compact s-expression printer for the syntax tree, for `--dump=ast`
//! and golden tests. Spans are not printed.
//!
//! Each item starts a line; clauses, bodies and `if`s spread over indented
//! lines (two spaces a level), everything else stays on one line, and
//! closing parentheses gather at the end of the last line:
//!
//! ```text
//! (pragma quiet)                      (pragma bufsize "16m")
//! (decl self <int> depth)             (decl global <int> a (keys <string>))
//! (clause
//!   (desc "syscall" "" "read" "entry")   provider, module, function, name
//!   (pred (== execname "ls"))
//!   (body                                `(body)` for `{}`, absent without braces
//!     (= (agg @bytes execname) (call sum arg0))
//!     (if (> x 1)
//!       (then
//!         (empty))
//!       (else
//!         (decl this <char *> p)))))
//! ```
//!
//! Expressions:
//!
//! | form | printed as |
//! |---|---|
//! | integer | decimal value and suffix: `42`, `255u`, `1ul`, `7ll` |
//! | character, string | `'a'`, `'\n'`, `"text"` (`\\ \" \n \t \r \0 \xNN` escaped) |
//! | name, macro, `self->x`, `this->x` | `pid`, `$target`, `self->x`, `this->x` |
//! | aggregation | `(agg @name KEY...)`, `(agg @)` for the anonymous one |
//! | index, call | `(index BASE KEY...)`, `(call NAME ARG...)` |
//! | prefix | `(- X)` `(+ X)` `(! X)` `(~ X)` `(* X)` `(& X)` `(pre++ X)` `(pre-- X)` |
//! | postfix | `(post++ X)` `(post-- X)` |
//! | binary | `(OP L R)` with OP as written, e.g. `(^^ a b)` |
//! | conditional | `(? COND THEN ELSE)` |
//! | assignment | `(= L R)`, `(+= L R)`, ... |
//! | cast, sizeof | `(cast <TYPE> X)`, `(sizeof <TYPE>)`, `(sizeof X)` |
//! | member | `(. X field)`, `(-> X field)` |
//!
//! Types print in angle brackets in their C spelling: `<unsigned long>`,
//! `<char *>`, `<struct task **>`.

use super::{Clause, Decl, Expr, ExprKind, IntLength, Item, Program, Scope, Stmt, StmtKind};

/// Print `program` as s-expressions, one item per line group, ending in a
/// newline (empty for an empty program).
pub fn dump(program: &Program) -> String {
    let mut out = String::new();
    for item in &program.items {
        match item {
            Item::Pragma { name, value: None, .. } => out.push_str(&format!("(pragma {name})")),
            Item::Pragma { name, value: Some(value), .. } => {
                out.push_str(&format!("(pragma {name} {})", quote(value)));
            }
            Item::Decl(decl) => out.push_str(&self::decl(decl)),
            Item::Inline(i) => out.push_str(&format!("(inline <{}> {} {})", i.ty, i.name, expr(&i.value))),
            Item::Clause(clause) => self::clause(&mut out, clause),
        }
        out.push('\n');
    }
    out
}

fn line(out: &mut String, indent: usize, text: &str) {
    out.push('\n');
    out.push_str(&" ".repeat(indent));
    out.push_str(text);
}

fn clause(out: &mut String, clause: &Clause) {
    out.push_str("(clause");
    for d in &clause.descs {
        let fields = [&d.provider, &d.module, &d.function, &d.name].map(|f| quote(f)).join(" ");
        line(out, 2, &format!("(desc {fields})"));
    }
    if let Some(pred) = &clause.predicate {
        line(out, 2, &format!("(pred {})", expr(pred)));
    }
    if let Some(body) = &clause.body {
        block(out, 2, "body", body);
    }
    out.push(')');
}

fn block(out: &mut String, indent: usize, head: &str, stmts: &[Stmt]) {
    line(out, indent, &format!("({head}"));
    for s in stmts {
        stmt(out, indent + 2, s);
    }
    out.push(')');
}

fn stmt(out: &mut String, indent: usize, stmt: &Stmt) {
    match &stmt.kind {
        StmtKind::Expr(e) => line(out, indent, &expr(e)),
        StmtKind::Decl(d) => line(out, indent, &decl(d)),
        StmtKind::Empty => line(out, indent, "(empty)"),
        StmtKind::If { cond, then, else_ } => {
            line(out, indent, &format!("(if {}", expr(cond)));
            block(out, indent + 2, "then", then);
            if let Some(else_) = else_ {
                block(out, indent + 2, "else", else_);
            }
            out.push(')');
        }
    }
}

fn decl(decl: &Decl) -> String {
    let scope = match decl.scope {
        Scope::Global => "global",
        Scope::ThreadLocal => "self",
        Scope::ClauseLocal => "this",
    };
    let mut s = format!("(decl {scope} <{}> {}", decl.ty, decl.name);
    if let Some(keys) = &decl.array_index {
        let keys: Vec<String> = keys.iter().map(|k| format!("<{k}>")).collect();
        s.push_str(&format!(" (keys {})", keys.join(" ")));
    }
    s.push(')');
    s
}

/// `(head a b c)`, or `(head)` without operands.
fn list<'a>(head: &str, items: impl IntoIterator<Item = &'a Expr>) -> String {
    let mut s = format!("({head}");
    for item in items {
        s.push(' ');
        s.push_str(&expr(item));
    }
    s.push(')');
    s
}

fn expr(e: &Expr) -> String {
    match &e.kind {
        ExprKind::Int(lit) => {
            let length = match lit.length {
                IntLength::Default => "",
                IntLength::Long => "l",
                IntLength::LongLong => "ll",
            };
            format!("{}{}{length}", lit.value, if lit.unsigned { "u" } else { "" })
        }
        ExprKind::Char(b'\'') => "'\\''".to_string(),
        ExprKind::Char(c) => format!("'{}'", escape_byte(*c)),
        ExprKind::Str(s) => quote(s),
        ExprKind::Ident(name) | ExprKind::Macro(name) => name.clone(),
        ExprKind::SelfVar(name) => format!("self->{name}"),
        ExprKind::ThisVar(name) => format!("this->{name}"),
        ExprKind::Agg { name, keys } => list(&format!("agg @{name}"), keys),
        ExprKind::Index { base, index } => list("index", std::iter::once(&**base).chain(index)),
        ExprKind::Call { func, args, .. } => list(&format!("call {func}"), args),
        ExprKind::Unary { op, operand } => list(op.as_str(), [&**operand]),
        ExprKind::Postfix { op, operand } => list(op.as_str(), [&**operand]),
        ExprKind::Binary { op, lhs, rhs } => list(op.as_str(), [&**lhs, &**rhs]),
        ExprKind::Ternary { cond, then, else_ } => list("?", [&**cond, &**then, &**else_]),
        ExprKind::Assign { op, lhs, rhs } => {
            let op = op.map_or("=".to_string(), |op| format!("{}=", op.as_str()));
            list(&op, [&**lhs, &**rhs])
        }
        ExprKind::Cast { ty, expr } => list(&format!("cast <{ty}>"), [&**expr]),
        ExprKind::Member { base, field, arrow } => {
            format!("({} {} {field})", if *arrow { "->" } else { "." }, self::expr(base))
        }
        ExprKind::SizeofType(ty) => format!("(sizeof <{ty}>)"),
        ExprKind::SizeofExpr(e) => list("sizeof", [&**e]),
    }
}

/// A byte as it appears inside a quoted literal, without the quotes.
fn escape_byte(b: u8) -> String {
    match b {
        b'\\' => "\\\\".to_string(),
        b'\n' => "\\n".to_string(),
        b'\t' => "\\t".to_string(),
        b'\r' => "\\r".to_string(),
        0 => "\\0".to_string(),
        0x20..=0x7e => char::from(b).to_string(),
        _ => format!("\\x{b:02x}"),
    }
}

fn quote(s: &str) -> String {
    let mut out = String::from('"');
    for c in s.chars() {
        match c {
            '"' => out.push_str("\\\""),
            c if c.is_ascii() => out.push_str(&escape_byte(c as u8)),
            c => out.push(c),
        }
    }
    out.push('"');
    out
}
