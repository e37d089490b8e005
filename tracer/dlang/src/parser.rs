//! The D parser: tokens to a [`Program`], by hand-written recursive
//! descent over the token list the [`lexer`] produces.
//!
//! Grammar (DTrace's, without translators, unions and enums):
//!
//! ```text
//! program   := item*
//! item      := PRAGMA | decl ';' | inline | clause | 'provider' ... ';' (skipped) | ';'
//! clause    := DESC (',' DESC)* ['/' expr '/'] ['{' stmt* '}']
//! decl      := ['self' | 'this'] type NAME ['[' type (',' type)* ']']
//! inline    := 'inline' type NAME '=' expr ';'
//! stmt      := ';' | decl ';' | expr ';' | 'if' '(' expr ')' branch ['else' branch]
//! branch    := '{' stmt* '}' | stmt
//! ```
//!
//! The `;` after the last statement of a block may be left out, as in
//! DTrace. `if` takes either a braced block or a single statement.
//! Expressions follow C's precedence and associativity, with D's `^^`
//! between `||` and `&&`; see [`BinOp::precedence`](super::ast::BinOp::precedence).
//! `(T) x` is a cast when `T` starts with a type keyword, or is a name
//! ending in `_t`, or is a name followed by `*`.
//!
//! # Errors
//!
//! The parser reports as many errors as it can in one run. After an error it
//! skips to the end of the statement (`;` or the block's `}`) inside a body,
//! or to the next clause at top level. A missing `;` before a new line is
//! reported and then treated as present. A `{` left open is detected at the
//! end of the file, or earlier when a line inside the body starts, in column
//! one, with what looks like a new clause (`syscall::read:entry ...`,
//! `END {`); the parser then re-lexes from there at top level. To avoid
//! cascades, a syntax error is dropped when a lexical error already lies
//! within the same statement (or clause, for an unclosed `{`).

mod expr;

use super::ast::{
    BaseType, Clause, Decl, Expr, Inline, Item, ProbeDesc, Program, Scope, Signedness, Stmt, StmtKind, TypeName,
};
use super::diag::{Diagnostic, Diagnostics, Source, Span};
use super::lexer::{self, Keyword, Punct, Token, TokenKind};

/// Parse `source`, reporting every lexical and syntax error into `diags`
/// (in text order). The program is returned even when there are errors,
/// without the parts that did not parse.
pub fn parse_program(source: &Source, diags: &mut Diagnostics) -> Program {
    let lexed = lexer::tokenize(&source.text);
    let mut parser = Parser {
        source,
        tokens: lexed.tokens,
        pos: 0,
        errors: Vec::new(),
        lex_errors: lexed.diagnostics,
        context_start: 0,
        depth: 0,
        more_decls: Vec::new(),
    };
    let program = parser.program();
    let mut all = parser.lex_errors;
    all.append(&mut parser.errors);
    all.sort_by_key(|d| d.span.lo);
    diags.extend(all);
    program
}

/// Marker that an error was recorded; the caller recovers.
struct Reported;

type PResult<T> = Result<T, Reported>;

/// How deeply expressions and statements may nest. Deeper input is an
/// error rather than a stack overflow in the parser or in later passes.
const MAX_DEPTH: u32 = 100;

struct Parser<'s> {
    source: &'s Source,
    /// Never empty; the last token is `Eof`.
    tokens: Vec<Token>,
    /// Index of the current token; never past the `Eof`.
    pos: usize,
    errors: Vec<Diagnostic>,
    lex_errors: Vec<Diagnostic>,
    /// Where the statement or item being parsed starts, for dropping
    /// syntax errors caused by a lexical one.
    context_start: u32,
    /// Current nesting depth, against [`MAX_DEPTH`].
    depth: u32,
    /// Declarations after the first of a list (`self int a, b;`), to
    /// follow the statement that holds the first.
    more_decls: Vec<Stmt>,
}

impl<'s> Parser<'s> {
    fn tok(&self) -> &Token {
        &self.tokens[self.pos]
    }

    fn peek(&self) -> &TokenKind {
        &self.tok().kind
    }

    fn peek_at(&self, ahead: usize) -> &TokenKind {
        let last = self.tokens.len() - 1;
        &self.tokens[(self.pos + ahead).min(last)].kind
    }

    /// Move past the current token (never past `Eof`) and return it.
    fn bump(&mut self) -> Token {
        let token = self.tokens[self.pos].clone();
        if self.pos + 1 < self.tokens.len() {
            self.pos += 1;
        }
        token
    }

    /// Where the previous token ends: the place to report "missing `;`".
    fn prev_end(&self) -> u32 {
        self.pos.checked_sub(1).map_or(0, |i| self.tokens[i].span.hi)
    }

    fn at(&self, p: Punct) -> bool {
        *self.peek() == TokenKind::Punct(p)
    }

    fn eat(&mut self, p: Punct) -> Option<Span> {
        self.at(p).then(|| self.bump().span)
    }

    /// Consume `p`, or report `message` just after the previous token.
    fn expect_closer(&mut self, p: Punct, message: &str) -> PResult<Span> {
        match self.eat(p) {
            Some(span) => Ok(span),
            None => {
                let found = self.peek().describe();
                Err(self.error(
                    Diagnostic::error(Span::point(self.prev_end()), message).with_hint(format!("found {found}")),
                ))
            }
        }
    }

    /// "expected X, found Y" about the current token.
    fn unexpected(&mut self, expected: &str) -> Reported {
        let found = self.peek().describe();
        self.error(Diagnostic::error(self.tok().span, format!("expected {expected}, found {found}")))
    }

    /// Record a syntax error unless a lexical error in the same context (or
    /// the same position as the previous error) already explains it.
    fn error(&mut self, diagnostic: Diagnostic) -> Reported {
        let upto = diagnostic.span.hi.max(self.tok().span.lo);
        let from = self.context_start;
        let explained = self.lex_errors.iter().any(|l| l.span.lo >= from && l.span.lo <= upto);
        let repeated = self.errors.last().is_some_and(|last| last.span.lo == diagnostic.span.lo);
        if !explained && !repeated {
            self.errors.push(diagnostic);
        }
        Reported
    }

    /// Run `f` one nesting level deeper, failing past [`MAX_DEPTH`].
    fn nested<T>(&mut self, f: impl FnOnce(&mut Self) -> PResult<T>) -> PResult<T> {
        if self.depth >= MAX_DEPTH {
            let span = self.tok().span;
            return Err(self.error(Diagnostic::error(span, "program is nested too deeply")));
        }
        self.depth += 1;
        let result = f(self);
        self.depth -= 1;
        result
    }

    /// Whether the current token starts its line.
    fn at_line_start(&self) -> bool {
        let lo = self.tok().span.lo as usize;
        lo == 0 || self.source.text.as_bytes().get(lo - 1) == Some(&b'\n')
    }

    /// Whether a line break lies between `offset` and the current token.
    fn on_later_line(&self, offset: u32) -> bool {
        self.source.slice(Span::new(offset, self.tok().span.lo)).contains('\n')
    }

    /// Re-lex from the current token on, in top-level mode.
    fn relex_here(&mut self) {
        let at = self.tok().span.lo;
        let lexed = lexer::tokenize_from(&self.source.text, at);
        self.tokens.truncate(self.pos);
        self.tokens.extend(lexed.tokens);
        self.lex_errors.retain(|d| d.span.lo < at);
        self.lex_errors.extend(lexed.diagnostics);
    }

    fn program(&mut self) -> Program {
        let mut items = Vec::new();
        loop {
            self.context_start = self.tok().span.lo;
            match self.peek() {
                TokenKind::Eof => break,
                TokenKind::Pragma { name, value } => {
                    let (name, value) = (name.clone(), value.clone());
                    let span = self.bump().span;
                    items.push(Item::Pragma { name, value, span });
                }
                TokenKind::ProbeDesc(_) => {
                    let clause = self.clause();
                    items.push(Item::Clause(clause));
                }
                TokenKind::Keyword(Keyword::Provider) => self.skip_item(),
                TokenKind::Keyword(Keyword::Inline) => match self.inline() {
                    Ok(i) => items.push(Item::Inline(i)),
                    Err(Reported) => self.skip_item(),
                },
                TokenKind::Keyword(k) if *k == Keyword::Self_ || *k == Keyword::This || k.starts_type() => {
                    self.top_level_decl(&mut items);
                }
                TokenKind::Ident(_) => self.top_level_decl(&mut items),
                TokenKind::Keyword(
                    k @ (Keyword::Typedef | Keyword::Translator | Keyword::Extern | Keyword::Static),
                ) => {
                    let message = format!("`{}` is not supported", k.as_str());
                    let span = self.tok().span;
                    self.error(Diagnostic::error(span, message));
                    self.skip_item();
                }
                TokenKind::Punct(Punct::Semi) => {
                    self.bump();
                }
                TokenKind::Punct(Punct::RBrace) => {
                    let span = self.bump().span;
                    self.error(Diagnostic::error(span, "unmatched `}`"));
                }
                _ => {
                    self.unexpected("a probe description");
                    self.skip_item();
                }
            }
        }
        Program { items }
    }

    /// Skip to the next top-level item: past a `;` or a brace group, or up
    /// to a pragma or a probe description that starts a line. Consumes at
    /// least one token unless at the end.
    fn skip_item(&mut self) {
        let mut first = true;
        loop {
            match self.peek() {
                TokenKind::Eof => return,
                TokenKind::Pragma { .. } if !first => return,
                TokenKind::ProbeDesc(_) if !first && self.at_line_start() => return,
                TokenKind::Punct(Punct::LBrace) => {
                    self.skip_braces();
                    return;
                }
                TokenKind::Punct(Punct::RBrace | Punct::Semi) => {
                    self.bump();
                    return;
                }
                _ => {}
            }
            self.bump();
            first = false;
        }
    }

    /// Skip a balanced `{ ... }` group, at its `{`.
    fn skip_braces(&mut self) {
        let mut depth = 0u32;
        loop {
            match self.peek() {
                TokenKind::Eof => return,
                TokenKind::Punct(Punct::LBrace) => depth += 1,
                TokenKind::Punct(Punct::RBrace) => {
                    depth = depth.saturating_sub(1);
                    if depth == 0 {
                        self.bump();
                        return;
                    }
                }
                _ => {}
            }
            self.bump();
        }
    }

    /// Skip the rest of a broken statement: past its `;`, or up to the `}`
    /// that closes the block, keeping nested braces balanced.
    fn skip_stmt(&mut self) {
        let mut depth = 0u32;
        loop {
            match self.peek() {
                TokenKind::Eof => return,
                TokenKind::Punct(Punct::RBrace) if depth == 0 => return,
                TokenKind::Punct(Punct::RBrace) => depth -= 1,
                TokenKind::Punct(Punct::LBrace) => depth += 1,
                TokenKind::Punct(Punct::Semi) if depth == 0 => {
                    self.bump();
                    return;
                }
                _ => {}
            }
            self.bump();
        }
    }

    /// `inline TYPE NAME = EXPR;`, at `inline`.
    fn inline(&mut self) -> PResult<Inline> {
        let start = self.bump().span.lo;
        let ty = self.type_name()?;
        let TokenKind::Ident(name) = self.peek() else {
            return Err(self.unexpected("the name of the inline"));
        };
        let name = name.clone();
        self.bump();
        if self.eat(Punct::Assign).is_none() {
            let span = self.tok().span;
            return Err(self.error(
                Diagnostic::error(span, format!("expected `=` after `inline … {name}`"))
                    .with_hint("an inline names a value: `inline int MAX = 1024;`"),
            ));
        }
        let value = self.expr()?;
        let span = Span::new(start, self.prev_end());
        if self.eat(Punct::Semi).is_none() {
            self.error(Diagnostic::error(Span::point(self.prev_end()), "expected `;` after the inline's value"));
        }
        Ok(Inline { ty, name, value, span })
    }

    fn top_level_decl(&mut self, items: &mut Vec<Item>) {
        match self.decls() {
            Ok(decls) => {
                let end = decls.last().map_or(0, |d| d.span.hi);
                if self.eat(Punct::Semi).is_none() {
                    self.error(Diagnostic::error(Span::point(self.prev_end()), "expected `;` after declaration"));
                    if self.on_later_line(end) {
                        self.relex_here();
                    } else {
                        self.skip_item();
                    }
                }
                items.extend(decls.into_iter().map(Item::Decl));
            }
            Err(Reported) => self.skip_item(),
        }
    }

    fn clause(&mut self) -> Clause {
        let start = self.tok().span;
        let mut descs = vec![self.probe_desc()];
        while self.eat(Punct::Comma).is_some() {
            if !matches!(self.peek(), TokenKind::ProbeDesc(_)) {
                self.unexpected("a probe description after `,`");
                break;
            }
            descs.push(self.probe_desc());
        }
        let had_predicate = matches!(self.peek(), TokenKind::PredicateOpen);
        let predicate = if had_predicate { self.predicate() } else { None };
        let body = self.at(Punct::LBrace).then(|| self.block());
        let span = Span::new(start.lo, self.prev_end());
        if body.is_none() {
            self.check_clause_end(had_predicate);
        }
        Clause { descs, predicate, body, span }
    }

    /// The current token, a probe description, split into its fields.
    fn probe_desc(&mut self) -> ProbeDesc {
        let token = self.bump();
        let TokenKind::ProbeDesc(text) = token.kind else { unreachable!("probe_desc is called at a ProbeDesc token") };
        let mut fields: Vec<&str> = text.split(':').collect();
        if fields.len() > 4 {
            self.error(
                Diagnostic::error(token.span, format!("probe description `{text}` has {} fields", fields.len()))
                    .with_hint("a probe description has at most four: provider:module:function:name"),
            );
            fields.drain(..fields.len() - 4);
        }
        let mut four = ["", "", "", ""];
        four[4 - fields.len()..].copy_from_slice(&fields);
        let [provider, module, function, name] = four.map(str::to_string);
        ProbeDesc { text, provider, module, function, name, span: token.span }
    }

    fn predicate(&mut self) -> Option<Expr> {
        let open = self.bump().span;
        if matches!(self.peek(), TokenKind::PredicateClose) {
            let close = self.bump().span;
            self.error(
                Diagnostic::error(open.to(close), "empty predicate")
                    .with_hint("put a condition between the slashes, or remove them"),
            );
            return None;
        }
        let expr = self.expr();
        if let Ok(expr) = expr {
            if matches!(self.peek(), TokenKind::PredicateClose) {
                self.bump();
                return Some(expr);
            }
            let at = self.source.line_col(open.lo);
            let found = self.peek().describe();
            self.error(
                Diagnostic::error(Span::point(self.prev_end()), "unterminated predicate: expected `/`").with_hint(
                    format!(
                        "the predicate opened at line {}, column {} must end with `/`; found {found}",
                        at.line, at.col
                    ),
                ),
            );
        }
        loop {
            match self.peek() {
                TokenKind::PredicateClose => {
                    self.bump();
                    return None;
                }
                TokenKind::Eof | TokenKind::Punct(Punct::LBrace) => return None,
                _ => {
                    self.bump();
                }
            }
        }
    }

    /// After a clause without a body: the next token must start another
    /// item. Reports e.g. `BEGIN x = 1;` (missing braces) and `/a / b/`
    /// (unparenthesised division in a predicate).
    fn check_clause_end(&mut self, after_predicate: bool) {
        let starts_item = |kind: &TokenKind| {
            matches!(
                kind,
                TokenKind::Eof
                    | TokenKind::Pragma { .. }
                    | TokenKind::Keyword(_)
                    | TokenKind::Ident(_)
                    | TokenKind::Punct(Punct::Semi)
            )
        };
        let follows_desc = |kind: &TokenKind| {
            starts_item(kind)
                || matches!(
                    kind,
                    TokenKind::ProbeDesc(_) | TokenKind::PredicateOpen | TokenKind::Punct(Punct::Comma | Punct::LBrace)
                )
        };
        let fine = match self.peek() {
            TokenKind::ProbeDesc(_) => follows_desc(self.peek_at(1)),
            kind => starts_item(kind),
        };
        if fine {
            return;
        }
        let found = match self.peek() {
            TokenKind::ProbeDesc(text) => format!("`{text}`"),
            kind => kind.describe(),
        };
        let (message, hint) = if after_predicate {
            (
                format!("expected `{{` after the predicate, found {found}"),
                "`/` ends a predicate; write division inside parentheses, e.g. `/(a / b) > 1/`",
            )
        } else {
            (
                format!("expected `{{`, `/` or `,` after the probe description, found {found}"),
                "a clause's statements go in braces, e.g. `BEGIN { x = 1; }`",
            )
        };
        let span = self.tok().span;
        self.error(Diagnostic::error(span, message).with_hint(hint));
        self.skip_item();
    }

    /// `{ stmt* }`, at the `{`. Reports a `{` that is never closed.
    fn block(&mut self) -> Vec<Stmt> {
        let open = self.bump().span;
        let outer_context = self.context_start;
        let mut stmts = Vec::new();
        loop {
            self.context_start = self.tok().span.lo;
            match self.peek() {
                TokenKind::Punct(Punct::RBrace) => {
                    self.bump();
                    break;
                }
                TokenKind::Eof => {
                    self.context_start = outer_context;
                    self.error(
                        Diagnostic::error(open, "`{` opened here is never closed")
                            .with_hint("add a `}` at the end of the block"),
                    );
                    break;
                }
                // Only after an inner block re-lexed at a new clause.
                TokenKind::ProbeDesc(_) => break,
                _ if self.at_line_start()
                    && lexer::looks_like_clause_start(&self.source.text, self.tok().span.lo as usize) =>
                {
                    self.context_start = outer_context;
                    let line = self.source.line_col(self.tok().span.lo).line;
                    self.error(
                        Diagnostic::error(open, "`{` opened here is never closed")
                            .with_hint(format!("add a `}}` before the clause at line {line}")),
                    );
                    self.relex_here();
                    break;
                }
                _ => match self.stmt() {
                    Ok(stmt) => {
                        stmts.push(stmt);
                        stmts.append(&mut self.more_decls);
                    }
                    Err(Reported) => self.skip_stmt(),
                },
            }
        }
        self.context_start = outer_context;
        stmts
    }

    fn stmt(&mut self) -> PResult<Stmt> {
        self.nested(Self::stmt_inner)
    }

    fn stmt_inner(&mut self) -> PResult<Stmt> {
        let start = self.tok().span;
        match self.peek() {
            TokenKind::Punct(Punct::Semi) => {
                self.bump();
                Ok(Stmt { kind: StmtKind::Empty, span: start })
            }
            TokenKind::Keyword(Keyword::If) => self.if_stmt(),
            TokenKind::Keyword(Keyword::Self_ | Keyword::This)
                if matches!(self.peek_at(1), TokenKind::Ident(_))
                    || matches!(self.peek_at(1), TokenKind::Keyword(k) if k.starts_type()) =>
            {
                self.decl_stmt()
            }
            TokenKind::Keyword(k) if k.starts_type() => self.decl_stmt(),
            TokenKind::Keyword(Keyword::Else) => {
                Err(self.error(Diagnostic::error(start, "`else` without a matching `if`")))
            }
            TokenKind::Punct(Punct::LBrace) => Err(self.error(
                Diagnostic::error(start, "unexpected `{`")
                    .with_hint("a braced block can only follow `if (...)` or `else`"),
            )),
            TokenKind::Pragma { .. } => {
                Err(self.error(Diagnostic::error(start, "`#pragma` lines must be outside clauses")))
            }
            _ => {
                let expr = self.expr()?;
                let end = self.terminator(expr.span.hi, "expected `;` after statement")?;
                Ok(Stmt { span: start.to(end), kind: StmtKind::Expr(expr) })
            }
        }
    }

    /// The `;` ending a statement, which may be left out before `}`. A
    /// missing `;` before a new line is reported and then assumed.
    fn terminator(&mut self, end: u32, message: &str) -> PResult<Span> {
        if let Some(semi) = self.eat(Punct::Semi) {
            return Ok(semi);
        }
        if self.at(Punct::RBrace) {
            return Ok(Span::point(end));
        }
        let found = self.peek().describe();
        let reported = self.error(Diagnostic::error(Span::point(end), message).with_hint(format!("found {found}")));
        if self.on_later_line(end) && !matches!(self.peek(), TokenKind::Eof) {
            Ok(Span::point(end))
        } else {
            Err(reported)
        }
    }

    fn decl_stmt(&mut self) -> PResult<Stmt> {
        let mut decls = self.decls()?.into_iter();
        let first = decls.next().expect("a declaration list is never empty");
        let hi = self.prev_end();
        let end = self.terminator(hi, "expected `;` after declaration")?;
        self.more_decls.extend(decls.map(|d| Stmt { span: d.span, kind: StmtKind::Decl(d) }));
        Ok(Stmt { span: first.span.to(end), kind: StmtKind::Decl(first) })
    }

    fn if_stmt(&mut self) -> PResult<Stmt> {
        let start = self.bump().span;
        if self.eat(Punct::LParen).is_none() {
            return Err(self.unexpected("`(` after `if`"));
        }
        let cond = self.expr()?;
        self.expect_closer(Punct::RParen, "expected `)` after the `if` condition")?;
        let then = self.branch("`if (...)`")?;
        let else_ = match self.peek() {
            TokenKind::Keyword(Keyword::Else) => {
                self.bump();
                Some(self.branch("`else`")?)
            }
            _ => None,
        };
        Ok(Stmt { kind: StmtKind::If { cond, then, else_ }, span: Span::new(start.lo, self.prev_end()) })
    }

    /// The statements after `if (...)` or `else`: a block or one statement.
    fn branch(&mut self, after: &str) -> PResult<Vec<Stmt>> {
        match self.peek() {
            TokenKind::Punct(Punct::LBrace) => Ok(self.block()),
            TokenKind::Punct(Punct::RBrace) | TokenKind::Eof => {
                Err(self.unexpected(&format!("a statement or `{{` after {after}")))
            }
            _ => {
                let mut stmts = vec![self.stmt()?];
                stmts.append(&mut self.more_decls);
                Ok(stmts)
            }
        }
    }

    /// `[self|this] type name ['[' type, ... ']'], name ...`, without the `;`.
    fn decls(&mut self) -> PResult<Vec<Decl>> {
        let start = self.tok().span.lo;
        let scope = match self.peek() {
            TokenKind::Keyword(Keyword::Self_) => Scope::ThreadLocal,
            TokenKind::Keyword(Keyword::This) => Scope::ClauseLocal,
            _ => Scope::Global,
        };
        if scope != Scope::Global {
            self.bump();
        }
        let ty = self.type_name()?;
        let mut decls = vec![self.declarator(scope, ty.clone(), start)?];
        while self.eat(Punct::Comma).is_some() {
            let start = self.tok().span.lo;
            decls.push(self.declarator(scope, ty.clone(), start)?);
        }
        Ok(decls)
    }

    /// One name of a declaration, with its key types if it is an array.
    fn declarator(&mut self, scope: Scope, ty: TypeName, start: u32) -> PResult<Decl> {
        let TokenKind::Ident(name) = self.peek() else {
            return Err(self.unexpected("a variable name"));
        };
        let name = name.clone();
        self.bump();
        let array_index = if self.eat(Punct::LBracket).is_some() {
            let mut keys = Vec::new();
            loop {
                if !self.at_type_start() {
                    let found = self.peek().describe();
                    let span = self.tok().span;
                    return Err(self.error(
                        Diagnostic::error(span, format!("expected a key type, found {found}"))
                            .with_hint("associative arrays are declared with key types, e.g. `int a[string, int];`"),
                    ));
                }
                keys.push(self.type_name()?);
                if self.eat(Punct::Comma).is_none() {
                    break;
                }
            }
            self.expect_closer(Punct::RBracket, "expected `]` after the key types")?;
            Some(keys)
        } else {
            None
        };
        if self.at(Punct::Assign) {
            let span = self.tok().span;
            return Err(self.error(
                Diagnostic::error(span, "a declaration cannot have an initializer")
                    .with_hint("declare the variable, then assign it in a clause such as `BEGIN`"),
            ));
        }
        Ok(Decl { scope, ty, name, array_index, span: Span::new(start, self.prev_end()) })
    }

    fn at_type_start(&self) -> bool {
        match self.peek() {
            TokenKind::Keyword(k) => k.starts_type(),
            TokenKind::Ident(_) => true,
            _ => false,
        }
    }

    fn skip_qualifiers(&mut self) {
        while matches!(self.peek(), TokenKind::Keyword(Keyword::Const | Keyword::Volatile)) {
            self.bump();
        }
    }

    /// A type: specifiers or a name, then `*`s.
    fn type_name(&mut self) -> PResult<TypeName> {
        let start = self.tok().span.lo;
        self.skip_qualifiers();
        let base = match self.peek() {
            TokenKind::Keyword(Keyword::Struct) => {
                self.bump();
                let TokenKind::Ident(name) = self.peek() else {
                    return Err(self.unexpected("a struct name after `struct`"));
                };
                let name = name.clone();
                self.bump();
                BaseType::Struct(name)
            }
            TokenKind::Keyword(k @ (Keyword::Union | Keyword::Enum)) => {
                let message = format!("`{}` types are not supported", k.as_str());
                let span = self.tok().span;
                return Err(self.error(Diagnostic::error(span, message)));
            }
            TokenKind::Keyword(Keyword::Void) => {
                self.bump();
                BaseType::Void
            }
            TokenKind::Keyword(Keyword::String) => {
                self.bump();
                BaseType::String
            }
            TokenKind::Keyword(
                Keyword::Char | Keyword::Short | Keyword::Int | Keyword::Long | Keyword::Signed | Keyword::Unsigned,
            ) => self.int_type()?,
            TokenKind::Ident(name) => {
                let base = BaseType::from_name(name);
                self.bump();
                base
            }
            _ => return Err(self.unexpected("a type")),
        };
        self.skip_qualifiers();
        let mut pointer_depth = 0u8;
        while let Some(star) = self.eat(Punct::Star) {
            pointer_depth = match pointer_depth.checked_add(1) {
                Some(depth) => depth,
                None => return Err(self.error(Diagnostic::error(star, "too many `*` in a type"))),
            };
            self.skip_qualifiers();
        }
        Ok(TypeName { base, pointer_depth, span: Span::new(start, self.prev_end()) })
    }

    /// C integer type specifiers in any order: `unsigned long long int`.
    fn int_type(&mut self) -> PResult<BaseType> {
        let start = self.tok().span.lo;
        let [mut signed, mut unsigned, mut char, mut short, mut int, mut long] = [0u32; 6];
        loop {
            match self.peek() {
                TokenKind::Keyword(Keyword::Signed) => signed += 1,
                TokenKind::Keyword(Keyword::Unsigned) => unsigned += 1,
                TokenKind::Keyword(Keyword::Char) => char += 1,
                TokenKind::Keyword(Keyword::Short) => short += 1,
                TokenKind::Keyword(Keyword::Int) => int += 1,
                TokenKind::Keyword(Keyword::Long) => long += 1,
                TokenKind::Keyword(Keyword::Const | Keyword::Volatile) => {}
                _ => break,
            }
            self.bump();
        }
        let sign = if unsigned > 0 { Signedness::Unsigned } else { Signedness::Signed };
        let base = match (signed + unsigned, char, short, int, long) {
            (0 | 1, 1, 0, 0, 0) => Some(BaseType::Char(sign)),
            (0 | 1, 0, 1, 0 | 1, 0) => Some(BaseType::Short(sign)),
            (0 | 1, 0, 0, 0 | 1, 0) => Some(BaseType::Int(sign)),
            (0 | 1, 0, 0, 0 | 1, 1) => Some(BaseType::Long(sign)),
            (0 | 1, 0, 0, 0 | 1, 2) => Some(BaseType::LongLong(sign)),
            _ => None,
        };
        match base {
            Some(base) => Ok(base),
            None => {
                let span = Span::new(start, self.prev_end());
                let text = self.source.slice(span).split_whitespace().collect::<Vec<_>>().join(" ");
                Err(self.error(Diagnostic::error(span, format!("`{text}` is not a valid type"))))
            }
        }
    }
}

#[cfg(test)]
mod tests;
