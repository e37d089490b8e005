//! Expressions: C's precedence and associativity by precedence climbing,
//! from assignment (loosest, right-associative) through `?:`, the binary
//! operators of [`BinOp::precedence`], prefix operators and casts, to
//! postfix operators and primaries.

use super::{PResult, Parser};
use crate::ast::{BinOp, Expr, ExprKind, PostfixOp, UnaryOp};
use crate::diag::{Diagnostic, Span};
use crate::lexer::{Keyword, Punct, TokenKind};

/// The binary operator a token stands for.
fn binary_op(p: Punct) -> Option<BinOp> {
    Some(match p {
        Punct::OrOr => BinOp::LogOr,
        Punct::XorXor => BinOp::LogXor,
        Punct::AndAnd => BinOp::LogAnd,
        Punct::Pipe => BinOp::BitOr,
        Punct::Caret => BinOp::BitXor,
        Punct::Amp => BinOp::BitAnd,
        Punct::EqEq => BinOp::Eq,
        Punct::NotEq => BinOp::Ne,
        Punct::Lt => BinOp::Lt,
        Punct::Le => BinOp::Le,
        Punct::Gt => BinOp::Gt,
        Punct::Ge => BinOp::Ge,
        Punct::Shl => BinOp::Shl,
        Punct::Shr => BinOp::Shr,
        Punct::Plus => BinOp::Add,
        Punct::Minus => BinOp::Sub,
        Punct::Star => BinOp::Mul,
        Punct::Slash => BinOp::Div,
        Punct::Percent => BinOp::Mod,
        _ => return None,
    })
}

/// For an assignment token, `Some(None)` for `=` and `Some(Some(op))` for
/// `op=`.
fn assign_op(p: Punct) -> Option<Option<BinOp>> {
    Some(Some(match p {
        Punct::Assign => return Some(None),
        Punct::PlusEq => BinOp::Add,
        Punct::MinusEq => BinOp::Sub,
        Punct::StarEq => BinOp::Mul,
        Punct::SlashEq => BinOp::Div,
        Punct::PercentEq => BinOp::Mod,
        Punct::AmpEq => BinOp::BitAnd,
        Punct::PipeEq => BinOp::BitOr,
        Punct::CaretEq => BinOp::BitXor,
        Punct::ShlEq => BinOp::Shl,
        Punct::ShrEq => BinOp::Shr,
        _ => return None,
    }))
}

fn prefix_op(p: Punct) -> Option<UnaryOp> {
    Some(match p {
        Punct::Minus => UnaryOp::Neg,
        Punct::Plus => UnaryOp::Plus,
        Punct::Bang => UnaryOp::Not,
        Punct::Tilde => UnaryOp::BitNot,
        Punct::Star => UnaryOp::Deref,
        Punct::Amp => UnaryOp::AddrOf,
        Punct::PlusPlus => UnaryOp::PreInc,
        Punct::MinusMinus => UnaryOp::PreDec,
        _ => return None,
    })
}

impl Parser<'_> {
    fn punct(&self) -> Option<Punct> {
        match self.peek() {
            TokenKind::Punct(p) => Some(*p),
            _ => None,
        }
    }

    /// A full expression (assignment level).
    pub(super) fn expr(&mut self) -> PResult<Expr> {
        let lhs = self.ternary()?;
        let Some(op) = self.punct().and_then(assign_op) else { return Ok(lhs) };
        self.bump();
        let rhs = self.nested(Self::expr)?;
        let span = lhs.span.to(rhs.span);
        Ok(Expr { kind: ExprKind::Assign { op, lhs: Box::new(lhs), rhs: Box::new(rhs) }, span })
    }

    fn ternary(&mut self) -> PResult<Expr> {
        let cond = self.binary(1)?;
        if self.eat(Punct::Question).is_none() {
            return Ok(cond);
        }
        let (then, else_) = self.nested(|p| {
            let then = p.expr()?;
            p.expect_closer(Punct::Colon, "expected `:` in conditional expression")?;
            Ok((then, p.ternary()?))
        })?;
        let span = cond.span.to(else_.span);
        Ok(Expr {
            kind: ExprKind::Ternary { cond: Box::new(cond), then: Box::new(then), else_: Box::new(else_) },
            span,
        })
    }

    /// Binary operators binding at least as tightly as `min`, all
    /// left-associative. Each operator applied counts as one nesting level,
    /// so long chains cannot build a tree too deep for later passes.
    fn binary(&mut self, min: u8) -> PResult<Expr> {
        let saved = self.depth;
        let result = self.binary_chain(min);
        self.depth = saved;
        result
    }

    fn binary_chain(&mut self, min: u8) -> PResult<Expr> {
        let mut lhs = self.unary()?;
        while let Some(op) = self.punct().and_then(binary_op) {
            if op.precedence() < min {
                break;
            }
            self.deeper()?;
            self.bump();
            let rhs = self.binary(op.precedence() + 1)?;
            let span = lhs.span.to(rhs.span);
            lhs = Expr { kind: ExprKind::Binary { op, lhs: Box::new(lhs), rhs: Box::new(rhs) }, span };
        }
        Ok(lhs)
    }

    /// One level deeper for the rest of the current chain; the caller
    /// restores `depth`.
    fn deeper(&mut self) -> PResult<()> {
        if self.depth >= super::MAX_DEPTH {
            let span = self.tok().span;
            return Err(self.error(Diagnostic::error(span, "program is nested too deeply")));
        }
        self.depth += 1;
        Ok(())
    }

    fn unary(&mut self) -> PResult<Expr> {
        self.nested(Self::unary_inner)
    }

    fn unary_inner(&mut self) -> PResult<Expr> {
        let start = self.tok().span;
        if let Some(op) = self.punct().and_then(prefix_op) {
            self.bump();
            let operand = self.unary()?;
            let span = start.to(operand.span);
            return Ok(Expr { kind: ExprKind::Unary { op, operand: Box::new(operand) }, span });
        }
        if matches!(self.peek(), TokenKind::Keyword(Keyword::Sizeof)) {
            self.bump();
            if self.at(Punct::LParen) && self.paren_type_follows() {
                self.bump();
                let ty = self.type_name()?;
                let close = self.expect_closer(Punct::RParen, "expected `)` after the type")?;
                return Ok(Expr { kind: ExprKind::SizeofType(ty), span: start.to(close) });
            }
            let operand = self.unary()?;
            let span = start.to(operand.span);
            return Ok(Expr { kind: ExprKind::SizeofExpr(Box::new(operand)), span });
        }
        if self.at(Punct::LParen) && self.paren_type_follows() {
            self.bump();
            let ty = self.type_name()?;
            self.expect_closer(Punct::RParen, "expected `)` after the type in a cast")?;
            let operand = self.unary()?;
            let span = start.to(operand.span);
            return Ok(Expr { kind: ExprKind::Cast { ty, expr: Box::new(operand) }, span });
        }
        self.postfix()
    }

    /// At `(`, whether a type name follows: a type keyword, a name ending
    /// in `_t`, or any name followed by `*`s and `)`.
    pub(super) fn paren_type_follows(&self) -> bool {
        match self.peek_at(1) {
            TokenKind::Keyword(k) => k.starts_type(),
            TokenKind::Ident(name) => {
                let stars = (2..).take_while(|&n| *self.peek_at(n) == TokenKind::Punct(Punct::Star)).count();
                *self.peek_at(2 + stars) == TokenKind::Punct(Punct::RParen) && (stars > 0 || name.ends_with("_t"))
            }
            _ => false,
        }
    }

    fn postfix(&mut self) -> PResult<Expr> {
        let saved = self.depth;
        let result = self.postfix_chain();
        self.depth = saved;
        result
    }

    fn postfix_chain(&mut self) -> PResult<Expr> {
        let mut e = self.primary()?;
        loop {
            let Some(p) = self.punct() else { return Ok(e) };
            let lo = e.span.lo;
            let kind = match p {
                Punct::LBracket => {
                    self.deeper()?;
                    self.bump();
                    let index = self.expr_list(Punct::RBracket, "expected `,` or `]` after the index")?;
                    ExprKind::Index { base: Box::new(e), index }
                }
                Punct::LParen => {
                    let ExprKind::Ident(func) = e.kind else {
                        let span = self.tok().span;
                        return Err(self.error(
                            Diagnostic::error(span, "only a named function can be called")
                                .with_hint("D has no function pointers; call an action or subroutine by name"),
                        ));
                    };
                    self.deeper()?;
                    self.bump();
                    let args = self.expr_list(Punct::RParen, "expected `,` or `)` in the argument list")?;
                    ExprKind::Call { func, func_span: e.span, args }
                }
                Punct::Dot | Punct::Arrow => {
                    self.deeper()?;
                    self.bump();
                    let TokenKind::Ident(field) = self.peek() else {
                        return Err(self.unexpected(&format!("a member name after `{}`", p.as_str())));
                    };
                    let field = field.clone();
                    self.bump();
                    ExprKind::Member { base: Box::new(e), field, arrow: p == Punct::Arrow }
                }
                Punct::PlusPlus | Punct::MinusMinus => {
                    self.deeper()?;
                    self.bump();
                    let op = if p == Punct::PlusPlus { PostfixOp::Inc } else { PostfixOp::Dec };
                    ExprKind::Postfix { op, operand: Box::new(e) }
                }
                _ => return Ok(e),
            };
            e = Expr { kind, span: Span::new(lo, self.prev_end()) };
        }
    }

    /// Comma-separated expressions up to `close` (consumed); `(` or `[`
    /// is already consumed. May be empty.
    fn expr_list(&mut self, close: Punct, message: &str) -> PResult<Vec<Expr>> {
        let mut list = Vec::new();
        if self.eat(close).is_some() {
            return Ok(list);
        }
        loop {
            list.push(self.expr()?);
            if self.eat(Punct::Comma).is_none() {
                self.expect_closer(close, message)?;
                return Ok(list);
            }
        }
    }

    /// `self->name` or `this->name`, at the keyword.
    fn scoped_var(&mut self, keyword: &str) -> PResult<String> {
        self.bump();
        if self.eat(Punct::Arrow).is_none() {
            let found = self.peek().describe();
            let span = self.tok().span;
            return Err(self.error(
                Diagnostic::error(span, format!("expected `->` after `{keyword}`, found {found}"))
                    .with_hint(format!("{keyword}-variables are written `{keyword}->name`")),
            ));
        }
        let TokenKind::Ident(name) = self.peek() else {
            return Err(self.unexpected(&format!("a variable name after `{keyword}->`")));
        };
        let name = name.clone();
        self.bump();
        Ok(name)
    }

    fn primary(&mut self) -> PResult<Expr> {
        let start = self.tok().span;
        let kind = match self.peek() {
            TokenKind::Int(lit) => ExprKind::Int(*lit),
            TokenKind::Char(c) => ExprKind::Char(*c),
            TokenKind::Str(s) => ExprKind::Str(s.clone()),
            TokenKind::Ident(name) => ExprKind::Ident(name.clone()),
            TokenKind::Macro(name) => ExprKind::Macro(name.clone()),
            TokenKind::Agg(name) => {
                let name = name.clone();
                self.bump();
                let keys = if self.eat(Punct::LBracket).is_some() {
                    self.expr_list(Punct::RBracket, "expected `,` or `]` after the aggregation keys")?
                } else {
                    Vec::new()
                };
                return Ok(Expr { kind: ExprKind::Agg { name, keys }, span: Span::new(start.lo, self.prev_end()) });
            }
            TokenKind::Keyword(Keyword::Self_) => {
                let name = self.scoped_var("self")?;
                return Ok(Expr { kind: ExprKind::SelfVar(name), span: Span::new(start.lo, self.prev_end()) });
            }
            TokenKind::Keyword(Keyword::This) => {
                let name = self.scoped_var("this")?;
                return Ok(Expr { kind: ExprKind::ThisVar(name), span: Span::new(start.lo, self.prev_end()) });
            }
            TokenKind::Punct(Punct::LParen) => {
                self.bump();
                let inner = self.expr()?;
                self.expect_closer(Punct::RParen, "expected `)`")?;
                return Ok(inner);
            }
            _ => return Err(self.unexpected("an expression")),
        };
        self.bump();
        Ok(Expr { kind, span: start })
    }
}
