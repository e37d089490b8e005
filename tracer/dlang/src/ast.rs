//! The syntax tree of a D program, as the parser builds it and the later
//! stages (type check, lowering, code generation) consume it.
//!
//! The tree follows the DTrace language: a program is a list of clauses
//! (`probe descriptions /predicate/ { statements }`), declarations and
//! `#pragma D option` lines. Every node carries the [`Span`] of the text it
//! came from. The tree is purely syntactic: names are not resolved, built-in
//! variables such as `pid` or `arg0` are plain [`ExprKind::Ident`]s, macro
//! variables such as `$target` are not expanded, and nothing is type
//! checked. Parentheses leave no node behind; `(a)` is just `a`.
//!
//! [`dump`] prints a tree as compact s-expressions for `--dump=ast` and
//! for tests; its format is documented in the `dump` module.

mod dump;

use std::fmt;

pub use self::dump::dump;
use super::diag::Span;

/// A whole D program.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Program {
    /// The top-level items in source order.
    pub items: Vec<Item>,
}

impl Program {
    /// The probe descriptions of every clause, in source order.
    pub fn descs(&self) -> impl Iterator<Item = &ProbeDesc> {
        self.items
            .iter()
            .filter_map(|i| match i {
                Item::Clause(c) => Some(c),
                _ => None,
            })
            .flat_map(|c| &c.descs)
    }
}

/// One top-level item.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Item {
    /// `descs /predicate/ { body }`.
    Clause(Clause),
    /// `#pragma D option name` or `#pragma D option name=value`.
    Pragma {
        /// The option name, e.g. `quiet` or `bufsize`.
        name: String,
        /// The text after `=`, if any (`16m` in `bufsize=16m`).
        value: Option<String>,
        /// The whole `#pragma` line.
        span: Span,
    },
    /// A variable declaration such as `self int depth;`.
    Decl(Decl),
    /// `inline int MAX = 1024;`: a name for a typed expression, which
    /// every use of the name stands for.
    Inline(Inline),
}

/// An `inline` declaration.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Inline {
    /// The declared type, which the value is converted to.
    pub ty: TypeName,
    /// The name.
    pub name: String,
    /// The expression the name stands for.
    pub value: Expr,
    /// From `inline` to the end of the value (not the `;`).
    pub span: Span,
}

impl Item {
    /// The span of the whole item.
    pub fn span(&self) -> Span {
        match self {
            Item::Clause(c) => c.span,
            Item::Pragma { span, .. } => *span,
            Item::Decl(d) => d.span,
            Item::Inline(i) => i.span,
        }
    }
}

/// A probe clause: what to trace, when, and what to do.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Clause {
    /// The comma-separated probe descriptions; never empty.
    pub descs: Vec<ProbeDesc>,
    /// The `/predicate/`, if any.
    pub predicate: Option<Expr>,
    /// The statements in braces; `None` when the clause has no braces at all,
    /// which in DTrace means the default action (trace the probe). `{}` is
    /// `Some(vec![])`.
    pub body: Option<Vec<Stmt>>,
    /// From the first description to the closing brace (or predicate).
    pub span: Span,
}

/// A probe description `provider:module:function:name`.
///
/// Descriptions with fewer than four fields fill from the right, as in
/// DTrace: `BEGIN` is the name, `read:entry` the function and name,
/// `libc.so.6:malloc:entry` the module, function and name. An empty field
/// matches anything. Fields are kept verbatim: glob characters (`*?[]`)
/// and macro variables (`$target`) are for later stages to interpret.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ProbeDesc {
    /// The description as written.
    pub text: String,
    /// Provider, e.g. `syscall` or `python$target`.
    pub provider: String,
    /// Module (object file), e.g. `libc.so.6`.
    pub module: String,
    /// Function, e.g. `read`.
    pub function: String,
    /// Probe name, e.g. `entry` or `function-entry`.
    pub name: String,
    /// The description's text.
    pub span: Span,
}

/// A variable declaration: `int x;`, `self int depth;`, `this char *p;`,
/// `int a[string, int];`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Decl {
    /// Global, `self` or `this`.
    pub scope: Scope,
    /// The declared type.
    pub ty: TypeName,
    /// The variable name.
    pub name: String,
    /// Key types of an associative array (`int a[string]`), if it is one.
    pub array_index: Option<Vec<TypeName>>,
    /// From the scope keyword or type to the name or `]` (not the `;`).
    pub span: Span,
}

/// Where a variable lives.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Scope {
    /// A global variable.
    Global,
    /// A thread-local variable, `self->name`.
    ThreadLocal,
    /// A clause-local variable, `this->name`.
    ClauseLocal,
}

/// A type as written in a declaration, cast or `sizeof`.
///
/// `const` and `volatile` are accepted and dropped: they do not change how
/// a tracer reads memory.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TypeName {
    /// The type without pointers.
    pub base: BaseType,
    /// How many `*` follow it.
    pub pointer_depth: u8,
    /// The type's text.
    pub span: Span,
}

/// Whether an integer type is signed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Signedness {
    /// `signed` (the default; plain `char` is signed in D).
    Signed,
    /// `unsigned`.
    Unsigned,
}

/// A type without its pointers.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum BaseType {
    /// `char`, `signed char`, `unsigned char`.
    Char(Signedness),
    /// `short`, `unsigned short [int]`.
    Short(Signedness),
    /// `int`, `unsigned`, `signed int`.
    Int(Signedness),
    /// `long`, `unsigned long [int]`.
    Long(Signedness),
    /// `long long`, `unsigned long long [int]`.
    LongLong(Signedness),
    /// `int8_t`.
    Int8,
    /// `int16_t`.
    Int16,
    /// `int32_t`.
    Int32,
    /// `int64_t`.
    Int64,
    /// `uint8_t`.
    Uint8,
    /// `uint16_t`.
    Uint16,
    /// `uint32_t`.
    Uint32,
    /// `uint64_t`.
    Uint64,
    /// `size_t`.
    Size,
    /// `ssize_t`.
    Ssize,
    /// `uintptr_t`.
    Uintptr,
    /// D's `string`.
    String,
    /// `void`.
    Void,
    /// `struct name`.
    Struct(String),
    /// Any other type name, e.g. `uid_t`; resolved by the checker.
    Named(String),
}

impl BaseType {
    /// The base type a type name such as `uint64_t` stands for: one of the
    /// fixed-width names above, else [`BaseType::Named`].
    pub fn from_name(name: &str) -> BaseType {
        match name {
            "int8_t" => BaseType::Int8,
            "int16_t" => BaseType::Int16,
            "int32_t" => BaseType::Int32,
            "int64_t" => BaseType::Int64,
            "uint8_t" => BaseType::Uint8,
            "uint16_t" => BaseType::Uint16,
            "uint32_t" => BaseType::Uint32,
            "uint64_t" => BaseType::Uint64,
            "size_t" => BaseType::Size,
            "ssize_t" => BaseType::Ssize,
            "uintptr_t" => BaseType::Uintptr,
            _ => BaseType::Named(name.to_string()),
        }
    }
}

impl fmt::Display for BaseType {
    /// The C spelling: `unsigned long long`, `struct foo`, `uint64_t`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let int = |f: &mut fmt::Formatter<'_>, sign: &Signedness, name: &str| match sign {
            Signedness::Signed => f.write_str(name),
            Signedness::Unsigned => write!(f, "unsigned {name}"),
        };
        match self {
            BaseType::Char(s) => int(f, s, "char"),
            BaseType::Short(s) => int(f, s, "short"),
            BaseType::Int(s) => int(f, s, "int"),
            BaseType::Long(s) => int(f, s, "long"),
            BaseType::LongLong(s) => int(f, s, "long long"),
            BaseType::Int8 => f.write_str("int8_t"),
            BaseType::Int16 => f.write_str("int16_t"),
            BaseType::Int32 => f.write_str("int32_t"),
            BaseType::Int64 => f.write_str("int64_t"),
            BaseType::Uint8 => f.write_str("uint8_t"),
            BaseType::Uint16 => f.write_str("uint16_t"),
            BaseType::Uint32 => f.write_str("uint32_t"),
            BaseType::Uint64 => f.write_str("uint64_t"),
            BaseType::Size => f.write_str("size_t"),
            BaseType::Ssize => f.write_str("ssize_t"),
            BaseType::Uintptr => f.write_str("uintptr_t"),
            BaseType::String => f.write_str("string"),
            BaseType::Void => f.write_str("void"),
            BaseType::Struct(name) => write!(f, "struct {name}"),
            BaseType::Named(name) => f.write_str(name),
        }
    }
}

impl fmt::Display for TypeName {
    /// The C spelling: `char *`, `uint64_t`, `struct foo **`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.base)?;
        if self.pointer_depth > 0 {
            write!(f, " {}", "*".repeat(self.pointer_depth.into()))?;
        }
        Ok(())
    }
}

/// A statement in a clause body or `if` branch.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Stmt {
    /// What kind of statement.
    pub kind: StmtKind,
    /// The statement's text, including its `;` if it has one.
    pub span: Span,
}

/// The kinds of statement.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum StmtKind {
    /// An expression evaluated for its effect: `x = 1;`, `printf(...);`.
    Expr(Expr),
    /// `if (cond) then [else else_]`. Each branch is either a braced block
    /// or a single statement; both become a list.
    If {
        /// The condition.
        cond: Expr,
        /// Statements run when `cond` is non-zero.
        then: Vec<Stmt>,
        /// Statements run otherwise, if there is an `else`.
        else_: Option<Vec<Stmt>>,
    },
    /// A declaration inside a body, e.g. `this int x;`.
    Decl(Decl),
    /// A lone `;`.
    Empty,
}

/// An expression.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Expr {
    /// What kind of expression.
    pub kind: ExprKind,
    /// The expression's text (without surrounding parentheses).
    pub span: Span,
}

/// An integer literal's value and spelling.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct IntLit {
    /// The value; literals above `u64::MAX` are rejected by the lexer.
    pub value: u64,
    /// A `u`/`U` suffix.
    pub unsigned: bool,
    /// An `l` or `ll` suffix.
    pub length: IntLength,
    /// How it was written; C gives hex and octal literals that do not fit
    /// a signed type an unsigned type.
    pub radix: Radix,
}

/// An integer literal's length suffix.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum IntLength {
    /// No suffix.
    Default,
    /// `l` or `L`.
    Long,
    /// `ll` or `LL`.
    LongLong,
}

/// How an integer literal was written.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Radix {
    /// `42` (and `0`).
    Decimal,
    /// `0x2a`.
    Hex,
    /// `052`.
    Octal,
}

/// The kinds of expression.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ExprKind {
    /// An integer literal.
    Int(IntLit),
    /// A character literal such as `'a'` or `'\n'`: its byte value.
    Char(u8),
    /// A string literal, escapes decoded.
    Str(String),
    /// A name: a variable, or a built-in such as `pid`, `execname`, `arg0`,
    /// `timestamp`, `probefunc`.
    Ident(String),
    /// A macro variable as written, with its `$`s: `$target`, `$pid`, `$1`,
    /// `$$1` (the quoted form).
    Macro(String),
    /// A thread-local variable `self->name`.
    SelfVar(String),
    /// A clause-local variable `this->name`.
    ThisVar(String),
    /// An aggregation `@name[keys]`; `name` is empty for the anonymous `@`
    /// and `keys` empty when there are no brackets.
    Agg {
        /// The name after `@`, without the `@`.
        name: String,
        /// The keys in brackets.
        keys: Vec<Expr>,
    },
    /// An array or associative-array lookup `base[index...]`, e.g. `a[k]`,
    /// `a[k1, k2]`, `args[0]`, `self->ts[x]`.
    Index {
        /// What is indexed.
        base: Box<Expr>,
        /// One or more keys.
        index: Vec<Expr>,
    },
    /// A call of a named function (action or subroutine): `count()`,
    /// `printf("%d", x)`.
    Call {
        /// The function name.
        func: String,
        /// The span of the name.
        func_span: Span,
        /// The arguments.
        args: Vec<Expr>,
    },
    /// A prefix operator.
    Unary {
        /// The operator.
        op: UnaryOp,
        /// Its operand.
        operand: Box<Expr>,
    },
    /// `x++` or `x--`.
    Postfix {
        /// The operator.
        op: PostfixOp,
        /// Its operand.
        operand: Box<Expr>,
    },
    /// A binary operator, including the logical `&&`, `||` and `^^`.
    Binary {
        /// The operator.
        op: BinOp,
        /// Left operand.
        lhs: Box<Expr>,
        /// Right operand.
        rhs: Box<Expr>,
    },
    /// `cond ? then : else_`.
    Ternary {
        /// The condition.
        cond: Box<Expr>,
        /// The value when `cond` is non-zero.
        then: Box<Expr>,
        /// The value otherwise.
        else_: Box<Expr>,
    },
    /// `lhs = rhs` or a compound assignment such as `lhs += rhs`.
    /// Whether `lhs` can be assigned to is for the checker.
    Assign {
        /// `None` for `=`, else the operator of `op=` (arithmetic, bitwise
        /// or shift).
        op: Option<BinOp>,
        /// The target.
        lhs: Box<Expr>,
        /// The value.
        rhs: Box<Expr>,
    },
    /// `(type) expr`.
    Cast {
        /// The target type.
        ty: TypeName,
        /// The operand.
        expr: Box<Expr>,
    },
    /// A member access `base.field` or `base->field` (but `self->x` and
    /// `this->x` are [`ExprKind::SelfVar`] and [`ExprKind::ThisVar`]).
    Member {
        /// The struct or pointer.
        base: Box<Expr>,
        /// The member name.
        field: String,
        /// `->` rather than `.`.
        arrow: bool,
    },
    /// `sizeof (type)`.
    SizeofType(TypeName),
    /// `sizeof expr`.
    SizeofExpr(Box<Expr>),
}

/// Prefix operators.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum UnaryOp {
    /// `-x`.
    Neg,
    /// `+x`.
    Plus,
    /// `!x`.
    Not,
    /// `~x`.
    BitNot,
    /// `*p`.
    Deref,
    /// `&x`.
    AddrOf,
    /// `++x`.
    PreInc,
    /// `--x`.
    PreDec,
}

impl UnaryOp {
    /// The operator as the dump prints it: `-`, `!`, `pre++`, ...
    pub fn as_str(self) -> &'static str {
        match self {
            UnaryOp::Neg => "-",
            UnaryOp::Plus => "+",
            UnaryOp::Not => "!",
            UnaryOp::BitNot => "~",
            UnaryOp::Deref => "*",
            UnaryOp::AddrOf => "&",
            UnaryOp::PreInc => "pre++",
            UnaryOp::PreDec => "pre--",
        }
    }
}

/// Postfix operators.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum PostfixOp {
    /// `x++`.
    Inc,
    /// `x--`.
    Dec,
}

impl PostfixOp {
    /// The operator as the dump prints it: `post++` or `post--`.
    pub fn as_str(self) -> &'static str {
        match self {
            PostfixOp::Inc => "post++",
            PostfixOp::Dec => "post--",
        }
    }
}

/// Binary operators, from loosest to tightest binding group.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum BinOp {
    /// `||`.
    LogOr,
    /// `^^` (D's logical exclusive or).
    LogXor,
    /// `&&`.
    LogAnd,
    /// `|`.
    BitOr,
    /// `^`.
    BitXor,
    /// `&`.
    BitAnd,
    /// `==`.
    Eq,
    /// `!=`.
    Ne,
    /// `<`.
    Lt,
    /// `<=`.
    Le,
    /// `>`.
    Gt,
    /// `>=`.
    Ge,
    /// `<<`.
    Shl,
    /// `>>`.
    Shr,
    /// `+`.
    Add,
    /// `-`.
    Sub,
    /// `*`.
    Mul,
    /// `/`.
    Div,
    /// `%`.
    Mod,
}

impl BinOp {
    /// The operator as written in D.
    pub fn as_str(self) -> &'static str {
        match self {
            BinOp::LogOr => "||",
            BinOp::LogXor => "^^",
            BinOp::LogAnd => "&&",
            BinOp::BitOr => "|",
            BinOp::BitXor => "^",
            BinOp::BitAnd => "&",
            BinOp::Eq => "==",
            BinOp::Ne => "!=",
            BinOp::Lt => "<",
            BinOp::Le => "<=",
            BinOp::Gt => ">",
            BinOp::Ge => ">=",
            BinOp::Shl => "<<",
            BinOp::Shr => ">>",
            BinOp::Add => "+",
            BinOp::Sub => "-",
            BinOp::Mul => "*",
            BinOp::Div => "/",
            BinOp::Mod => "%",
        }
    }

    /// Binding strength as in C, 1 (`||`) to 11 (`*`); higher binds
    /// tighter. All binary operators are left-associative.
    pub fn precedence(self) -> u8 {
        match self {
            BinOp::LogOr => 1,
            BinOp::LogXor => 2,
            BinOp::LogAnd => 3,
            BinOp::BitOr => 4,
            BinOp::BitXor => 5,
            BinOp::BitAnd => 6,
            BinOp::Eq | BinOp::Ne => 7,
            BinOp::Lt | BinOp::Le | BinOp::Gt | BinOp::Ge => 8,
            BinOp::Shl | BinOp::Shr => 9,
            BinOp::Add | BinOp::Sub => 10,
            BinOp::Mul | BinOp::Div | BinOp::Mod => 11,
        }
    }

    /// Whether the operator is `&&`, `||` or `^^`, which yield 0 or 1.
    pub fn is_logical(self) -> bool {
        matches!(self, BinOp::LogOr | BinOp::LogXor | BinOp::LogAnd)
    }
}
