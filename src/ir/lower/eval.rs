//! The evaluator of constant expressions: arguments, defaults and repeat counts.

use super::scope::{Frame, Tensor};
use super::{Lowerer, a_or_an};
use crate::diag::{Code, Diagnostic};
use crate::ops::sig::Value as Const;
use crate::syntax::ast::{self, BinOp, Expr, ExprKind};

/// A value during lowering: a constant (a parameter, an argument), or a tensor reference.
#[derive(Clone, Debug, PartialEq)]
pub(super) enum Value {
    Const(Const),
    Tensor(Tensor),
}

impl Value {
    /// The value's kind in words: "int", "tensor", ...
    pub fn kind(&self) -> &'static str {
        match self {
            Value::Const(c) => c.kind(),
            Value::Tensor(_) => "tensor",
        }
    }
}

impl<'p> Lowerer<'p> {
    /// Evaluates a compile-time expression. Errors are reported and give `None`.
    pub(super) fn eval(&mut self, e: &Expr, frame: &Frame) -> Option<Value> {
        match &e.kind {
            ExprKind::Int(i) => Some(Value::Const(Const::Int(*i))),
            ExprKind::Float(f) if f.is_finite() => Some(Value::Const(Const::Float(*f))),
            ExprKind::Float(_) => {
                self.diags.push(Diagnostic::error(Code::BadValue, "number is too large", e.span, "out of range"));
                None
            }
            ExprKind::Bool(b) => Some(Value::Const(Const::Bool(*b))),
            ExprKind::List(items) => {
                let mut values = Vec::with_capacity(items.len());
                for item in items {
                    match self.eval(item, frame)? {
                        Value::Const(c) => values.push(c),
                        Value::Tensor(_) => {
                            self.diags.push(Diagnostic::error(
                                Code::BadValue,
                                "a list holds numbers, not tensors",
                                item.span,
                                "a tensor",
                            ));
                            return None;
                        }
                    }
                }
                Some(Value::Const(Const::List(values)))
            }
            ExprKind::Name(n) => self.name(n, e, frame),
            ExprKind::Neg(inner) => match self.eval(inner, frame)? {
                Value::Const(Const::Int(i)) => Some(Value::Const(Const::Int(i.checked_neg().unwrap_or(i64::MAX)))),
                Value::Const(Const::Float(f)) => Some(Value::Const(Const::Float(-f))),
                v => {
                    self.diags.push(Diagnostic::error(
                        Code::BadValue,
                        format!("cannot negate {}", a_or_an(v.kind())),
                        e.span,
                        "not a number",
                    ));
                    None
                }
            },
            ExprKind::Binary(op, a, b) => {
                let (x, y) = (self.eval(a, frame)?, self.eval(b, frame)?);
                self.binary(*op, x, y, e)
            }
            ExprKind::Call(name, args) => self.function(name, args, e, frame),
        }
    }

    /// `channels(t)`, `height(t)`, `width(t)`: a dimension of tensor `t`'s shape.
    fn function(&mut self, name: &ast::Ident, args: &[Expr], e: &Expr, frame: &Frame) -> Option<Value> {
        const FUNCTIONS: [&str; 3] = ["channels", "height", "width"];
        let Some(axis) = FUNCTIONS.iter().position(|f| *f == name.name) else {
            self.diags.push(
                Diagnostic::error(
                    Code::UnknownCallee,
                    format!("unknown function `{}`", name.name),
                    name.span,
                    "not a function",
                )
                .with_help("the functions of expressions are `channels(t)`, `height(t)` and `width(t)`, for a tensor `t` such as `in`"),
            );
            return None;
        };
        let [arg] = args else {
            self.diags.push(
                Diagnostic::error(
                    Code::BadArguments,
                    format!("`{}` takes one tensor, found {} arguments", name.name, args.len()),
                    e.span,
                    "one tensor expected",
                )
                .with_help(format!("`{}(in)`", name.name)),
            );
            return None;
        };
        let t = match self.eval(arg, frame)? {
            Value::Tensor(t) => t,
            v => {
                self.diags.push(Diagnostic::error(
                    Code::BadValue,
                    format!("`{}` takes a tensor, found {}", name.name, a_or_an(v.kind())),
                    arg.span,
                    "not a tensor",
                ));
                return None;
            }
        };
        // A tensor whose shape failed has been reported already.
        let shape = &self.graph.g[t.node].shape;
        if shape.is_empty() {
            return None;
        }
        match shape.get(axis) {
            Some(&d) => Some(Value::Const(Const::Int(d as i64))),
            None => {
                self.diags.push(
                    Diagnostic::error(
                        Code::RankMismatch,
                        format!("`{}` of a vector of {}", name.name, crate::tensor::fmt_shape(shape)),
                        e.span,
                        "the tensor has no spatial dimensions",
                    )
                    .with_help("a vector has only `channels` (its length)"),
                );
                None
            }
        }
    }

    /// A name in an expression: a parameter, a padding mode, `in`, or a tensor.
    fn name(&mut self, n: &str, e: &Expr, frame: &Frame) -> Option<Value> {
        if let Some(v) = frame.params.get(n) {
            return Some(v.clone());
        }
        if let Some(word) = crate::ops::sig::symbol(n) {
            return Some(Value::Const(Const::Sym(word)));
        }
        if n == "in" {
            return match frame.input {
                Some(t) => Some(Value::Tensor(Tensor { node: t.node, span: e.span })),
                None => {
                    self.diags.push(Diagnostic::error(
                        Code::Undefined,
                        "`in` is only defined inside a block",
                        e.span,
                        "no block input here",
                    ));
                    None
                }
            };
        }
        if let Some(v) = frame.tensors.get(n) {
            v.used.set(true);
            return v.tensor.map(|t| Value::Tensor(Tensor { node: t.node, span: v.def_span }));
        }
        self.undefined(&ast::Ident { name: n.to_string(), span: e.span }, frame, false);
        None
    }

    fn binary(&mut self, op: BinOp, x: Value, y: Value, e: &Expr) -> Option<Value> {
        let r = match (x, y) {
            (Value::Const(Const::Int(x)), Value::Const(Const::Int(y))) => match op {
                BinOp::Add => x.checked_add(y).map(Const::Int),
                BinOp::Sub => x.checked_sub(y).map(Const::Int),
                BinOp::Mul => x.checked_mul(y).map(Const::Int),
                BinOp::Div if y == 0 => {
                    self.diags.push(Diagnostic::error(Code::BadValue, "division by zero", e.span, "divides by zero"));
                    return None;
                }
                // Integer division: `1/255` would be 0, so an inexact quotient becomes a float.
                BinOp::Div if x % y != 0 => Some(Const::Float(x as f64 / y as f64)),
                BinOp::Div => Some(Const::Int(x / y)),
            },
            (Value::Const(x), Value::Const(y)) if x.as_f64().is_some() && y.as_f64().is_some() => {
                let (x, y) = (x.as_f64().unwrap_or_default(), y.as_f64().unwrap_or_default());
                let r = match op {
                    BinOp::Add => x + y,
                    BinOp::Sub => x - y,
                    BinOp::Mul => x * y,
                    BinOp::Div => x / y,
                };
                r.is_finite().then_some(Const::Float(r))
            }
            (x, y) => {
                self.diags.push(Diagnostic::error(
                    Code::BadValue,
                    format!("cannot apply `{}` to {} and {}", op.symbol(), a_or_an(x.kind()), a_or_an(y.kind())),
                    e.span,
                    "arithmetic needs numbers",
                ));
                return None;
            }
        };
        if r.is_none() {
            self.diags.push(Diagnostic::error(Code::BadValue, "arithmetic overflow", e.span, "result out of range"));
        }
        r.map(Value::Const)
    }
}
