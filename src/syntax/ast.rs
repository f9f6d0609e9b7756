//! The typed syntax tree of a `.net` file. Every node keeps its [`Span`].

use crate::source::Span;
pub use crate::syntax::trivia::Comment;

/// An identifier with where it was written.
#[derive(Clone, Debug, PartialEq)]
pub struct Ident {
    pub name: String,
    pub span: Span,
}

#[derive(Clone, Debug, Default)]
pub struct File {
    pub items: Vec<Item>,
    /// Every comment of the file, in source order (the grammar skips them; see [`super::trivia`]).
    pub comments: Vec<Comment>,
}

#[derive(Clone, Debug)]
pub enum Item {
    Import { path: String, span: Span },
    Input(InputDecl),
    Block(BlockDef),
    Let(Let),
    Output { chains: Vec<Chain>, span: Span },
}

/// `input x: 3x224x224 normalize(mean = [...], std = [...])`
#[derive(Clone, Debug)]
pub struct InputDecl {
    pub name: Ident,
    pub dims: Vec<(u64, Span)>,
    pub shape_span: Span,
    pub normalize: Option<(Vec<Arg>, Span)>,
    pub span: Span,
}

/// `block name(params) { let ...; chain }`
#[derive(Clone, Debug)]
pub struct BlockDef {
    pub name: Ident,
    pub params: Vec<Param>,
    pub lets: Vec<Let>,
    pub body: Chain,
    pub span: Span,
}

/// `name: type = default`
#[derive(Clone, Debug)]
pub struct Param {
    pub name: Ident,
    pub ty: Option<Ident>,
    pub default: Option<Expr>,
    pub span: Span,
}

/// `let name = chain`
#[derive(Clone, Debug)]
pub struct Let {
    pub name: Ident,
    pub chain: Chain,
    pub span: Span,
}

/// `stage -> stage -> ...`
#[derive(Clone, Debug)]
pub struct Chain {
    pub stages: Vec<Stage>,
    pub span: Span,
}

#[derive(Clone, Debug)]
pub enum Stage {
    /// A layer, a block, or (at the head of a chain) a tensor name.
    Call(Call),
    /// `repeat n { chain }`
    Repeat { count: Expr, body: Chain, span: Span },
    /// `residual { body } shortcut { projection }`: x + body(x).
    Residual { body: Chain, shortcut: Option<Chain>, span: Span, keyword: Span },
}

impl Stage {
    pub fn span(&self) -> Span {
        match self {
            Stage::Call(c) => c.span,
            Stage::Repeat { span, .. } | Stage::Residual { span, .. } => *span,
        }
    }
}

/// `name(args) as label`; `args` is `None` when written without parentheses.
#[derive(Clone, Debug)]
pub struct Call {
    pub name: Ident,
    pub args: Option<Vec<Arg>>,
    pub label: Option<Ident>,
    pub span: Span,
}

#[derive(Clone, Debug)]
pub struct Arg {
    pub name: Option<Ident>,
    pub value: Expr,
    pub span: Span,
}

#[derive(Clone, Debug)]
pub struct Expr {
    pub kind: ExprKind,
    pub span: Span,
}

#[derive(Clone, Debug)]
pub enum ExprKind {
    Int(i64),
    Float(f64),
    Bool(bool),
    Name(String),
    List(Vec<Expr>),
    Neg(Box<Expr>),
    Binary(BinOp, Box<Expr>, Box<Expr>),
    /// A function of tensors or values: `channels(in)`.
    Call(Ident, Vec<Expr>),
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum BinOp {
    Add,
    Sub,
    Mul,
    Div,
}

impl BinOp {
    pub fn symbol(self) -> &'static str {
        match self {
            BinOp::Add => "+",
            BinOp::Sub => "-",
            BinOp::Mul => "*",
            BinOp::Div => "/",
        }
    }
}
