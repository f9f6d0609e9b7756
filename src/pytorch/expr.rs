//! `.net` expressions as Python: arguments, defaults and repeat counts over a block's
//! parameters and its tensors' shapes.

use super::class::Class;
use super::names::Place;
use crate::ops::torch::{python_bool, python_float};
use crate::syntax::ast::{BinOp, Expr, ExprKind};

/// What a value must be where it is used: a `/` of two ints is an int in an int context (netc
/// requires it to divide evenly there) and a float elsewhere.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Want {
    Int,
    Float,
    Any,
}

/// The type of a Python expression, as far as it is known.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Ty {
    Int,
    Float,
    Unknown,
}

/// Binding strength: atoms and calls, unary minus, `*` and `/`, `+` and `-`.
const ATOM: u8 = 3;
const UNARY: u8 = 2;
const MUL: u8 = 1;
const ADD: u8 = 0;

impl Class<'_> {
    /// `e` as a Python expression in `place`.
    pub fn expr(&mut self, e: &Expr, place: Place, want: Want) -> String {
        self.typed(e, place, want).0
    }

    fn typed(&mut self, e: &Expr, place: Place, want: Want) -> (String, Ty, u8) {
        match &e.kind {
            ExprKind::Int(i) => (i.to_string(), Ty::Int, if *i < 0 { UNARY } else { ATOM }),
            ExprKind::Float(f) => (python_float(*f), Ty::Float, ATOM),
            ExprKind::Bool(b) => (python_bool(*b).into(), Ty::Unknown, ATOM),
            ExprKind::List(items) => {
                let items: Vec<String> = items.iter().map(|i| self.expr(i, place, want)).collect();
                (format!("[{}]", items.join(", ")), Ty::Unknown, ATOM)
            }
            ExprKind::Name(n) => self.name(n, place),
            ExprKind::Neg(inner) => {
                let (s, ty, prec) = self.typed(inner, place, want);
                (format!("-{}", paren(s, prec, UNARY)), ty, UNARY)
            }
            ExprKind::Binary(op, a, b) => {
                let (sa, ta, pa) = self.typed(a, place, want);
                let (sb, tb, pb) = self.typed(b, place, want);
                let ints = ta == Ty::Int && tb == Ty::Int;
                let (symbol, prec, ty) = match op {
                    BinOp::Add | BinOp::Sub => (op.symbol(), ADD, if ints { Ty::Int } else { join(ta, tb) }),
                    BinOp::Mul => ("*", MUL, if ints { Ty::Int } else { join(ta, tb) }),
                    BinOp::Div if ints && want == Want::Int => ("//", MUL, Ty::Int),
                    BinOp::Div => ("/", MUL, Ty::Float),
                };
                // Left-associative: the right operand of `-`, `/` needs parentheses at equal strength.
                let right_min = if matches!(op, BinOp::Add | BinOp::Mul) { prec } else { prec + 1 };
                (format!("{} {symbol} {}", paren(sa, pa, prec), paren(sb, pb, right_min)), ty, prec)
            }
            ExprKind::Call(f, args) => {
                let axis = match f.name.as_str() {
                    "channels" => 1,
                    "height" => 2,
                    _ => 3,
                };
                let tensor = match args.first().map(|a| &a.kind) {
                    Some(ExprKind::Name(t)) => self.shape_of(t, place),
                    _ => self.unsupported(e.span, "a shape function of something other than a tensor's name"),
                };
                (format!("{tensor}.shape[{axis}]"), Ty::Int, ATOM)
            }
        }
    }

    /// A name: a parameter, a mode (`same`), `in` or a tensor.
    fn name(&mut self, n: &str, place: Place) -> (String, Ty, u8) {
        if let Some(p) = self.params.iter().find(|p| p.name == n && !p.tensor) {
            let ty = match p.ty.as_deref() {
                Some("int") => Ty::Int,
                Some("float") => Ty::Float,
                _ => Ty::Unknown,
            };
            let s = match place {
                Place::Init => {
                    self.init_params.insert(p.py.clone());
                    p.py.clone()
                }
                Place::Forward => {
                    self.forward_params.insert(p.py.clone());
                    format!("self.{}", p.py)
                }
            };
            return (s, ty, ATOM);
        }
        if let Some(word) = crate::ops::sig::symbol(n) {
            return (format!("\"{word}\""), Ty::Unknown, ATOM);
        }
        (self.tensor(n), Ty::Unknown, ATOM)
    }
}

fn join(a: Ty, b: Ty) -> Ty {
    if a == Ty::Float || b == Ty::Float { Ty::Float } else { Ty::Unknown }
}

fn paren(s: String, prec: u8, min: u8) -> String {
    if prec < min { format!("({s})") } else { s }
}
