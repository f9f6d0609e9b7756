//! Signatures of the built-in layers (parameters, types, defaults, ranges) and the arguments a
//! call binds to them. Lowering matches a call's arguments against a [`Signature`] and hands the
//! op an [`Args`] with every parameter present (defaults filled in) and of its declared type.

use crate::source::Span;
use std::collections::HashMap;

/// Largest dimension accepted anywhere (channels, sizes, kernel, stride).
pub const MAX_DIM: i64 = 1 << 24;

/// The type of a layer or block parameter.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Ty {
    Int,
    Float,
    Bool,
    /// `same`, `valid`, an int (every side), `[h, w]` (top and bottom, left and right) or
    /// `[top, left, bottom, right]`.
    Pad,
    /// `[0.5, 0.5, 0.5]`
    FloatList,
    /// An int for both spatial axes, or `[h, w]`.
    Pair,
    /// One of these words.
    Mode(&'static [&'static str]),
}

/// The words that name padding modes; with the words of every [`Ty::Mode`] of a built-in, they
/// are the constant names of expressions.
const PAD_MODES: &[&str] = &["same", "valid"];

/// The word `name` as a constant, if it is a padding mode or one of a built-in's modes.
pub fn symbol(name: &str) -> Option<&'static str> {
    let modes = super::BUILTINS.iter().flat_map(|b| b.sig.params).filter_map(|p| match p.ty {
        Ty::Mode(words) => Some(words),
        _ => None,
    });
    std::iter::once(PAD_MODES).chain(modes).flat_map(|w| w.iter()).find(|w| **w == name).copied()
}

impl Ty {
    pub fn name(self) -> &'static str {
        match self {
            Ty::Int => "int",
            Ty::Float => "float",
            Ty::Bool => "bool",
            Ty::Pad => "pad",
            Ty::FloatList => "list",
            Ty::Pair => "int or [int, int]",
            Ty::Mode(_) => "mode",
        }
    }

    pub fn from_name(s: &str) -> Option<Ty> {
        Some(match s {
            "int" => Ty::Int,
            "float" => Ty::Float,
            "bool" => Ty::Bool,
            "pad" => Ty::Pad,
            "list" => Ty::FloatList,
            _ => return None,
        })
    }
}

/// A parameter's default value.
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum Default {
    Required,
    Int(i64),
    Float(f64),
    Bool(bool),
    /// A word: a padding mode (`same`) or one of a [`Ty::Mode`]'s words.
    Sym(&'static str),
    /// The value of another parameter (e.g. a pool's stride defaults to its kernel).
    SameAs(&'static str),
    /// Optional with no value.
    Absent,
}

/// The values a parameter accepts beyond its type.
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum Range {
    /// Ints (or each int of a list) from `min` to [`MAX_DIM`].
    Int { min: i64 },
    /// A float above zero.
    Positive,
    /// A float from 0 to 1 (a probability): at least 0, below 1.
    Probability,
    /// Anything of the type.
    Any,
}

#[derive(Clone, Copy, Debug)]
pub struct ParamSig {
    pub name: &'static str,
    pub ty: Ty,
    pub default: Default,
    pub range: Range,
}

/// A parameter: an int of at least 1 (a size, a count) unless said otherwise.
pub const fn param(name: &'static str, ty: Ty, default: Default) -> ParamSig {
    let range = match ty {
        Ty::Int | Ty::Pair => Range::Int { min: 1 },
        Ty::Pad => Range::Int { min: 0 },
        _ => Range::Any,
    };
    ParamSig { name, ty, default, range }
}

impl ParamSig {
    pub const fn range(self, range: Range) -> ParamSig {
        ParamSig { range, ..self }
    }

    /// Checks `v` (already of the parameter's type) against its range: (message, label, help)
    /// on failure.
    pub fn check(&self, layer: &str, v: &Value) -> Result<(), (String, String, String)> {
        match (self.range, v) {
            (Range::Int { .. }, Value::List(items)) => items.iter().try_for_each(|i| self.check(layer, i)),
            (Range::Int { min }, Value::Int(i)) if *i < min || *i > MAX_DIM => Err((
                format!("`{}` of `{layer}` is {i}, out of range", self.name),
                format!("must be between {min} and {MAX_DIM}"),
                match self.name {
                    "out" => format!("a layer needs at least one output, e.g. `{layer}(64)`"),
                    "stride" => "stride 1 keeps the size, 2 halves it".into(),
                    _ => format!("use a value between {min} and {MAX_DIM}"),
                },
            )),
            (Range::Positive, Value::Float(f)) if *f <= 0.0 => Err((
                format!("`{layer}` needs a positive `{}`", self.name),
                "must be > 0".into(),
                format!("the usual value is `{} = 1e-5`", self.name),
            )),
            (Range::Probability, Value::Float(f)) if !(0.0..1.0).contains(f) => Err((
                format!("`{}` of `{layer}` is {f}, not a probability", self.name),
                "must be at least 0 and below 1".into(),
                format!("a rate such as `{} = 0.2`", self.name),
            )),
            _ => Ok(()),
        }
    }
}

/// A built-in layer's signature and its one-line documentation (the book's table of built-in
/// layers is made from these).
#[derive(Clone, Copy, Debug)]
pub struct Signature {
    pub name: &'static str,
    /// What other frameworks call it (`linear` for `dense`): an unknown layer of one of these
    /// names gets this one as its fix.
    pub aliases: &'static [&'static str],
    pub params: &'static [ParamSig],
    /// Takes extra tensors as positional arguments (`add`, `concat`).
    pub variadic_tensors: bool,
    /// What it computes, in a few words.
    pub summary: &'static str,
    /// Its input and output shapes, e.g. "`CxHxW` → `Cx1x1`".
    pub shapes: &'static str,
    /// Its trainable parameters, e.g. "`2*C`", or "-".
    pub weights: &'static str,
}

impl Signature {
    /// `conv(out, kernel = 3, stride = 1, pad = same, bias = true)`
    pub fn render(&self) -> String {
        if self.variadic_tensors {
            return format!("{}(a, b, ...)", self.name);
        }
        if self.params.is_empty() {
            return self.name.to_string();
        }
        let ps: Vec<String> = self
            .params
            .iter()
            .map(|p| match p.default {
                Default::Required | Default::Absent => p.name.to_string(),
                Default::Int(i) => format!("{} = {i}", p.name),
                Default::Float(f) if (1e-3..1e6).contains(&f.abs()) => format!("{} = {f}", p.name),
                Default::Float(f) => format!("{} = {f:e}", p.name),
                Default::Bool(v) => format!("{} = {v}", p.name),
                Default::Sym(w) => format!("{} = {w}", p.name),
                Default::SameAs(o) => format!("{} = {o}", p.name),
            })
            .collect();
        format!("{}({})", self.name, ps.join(", "))
    }

    /// The parameter names, in order.
    pub fn param_names(&self) -> Vec<&'static str> {
        self.params.iter().map(|p| p.name).collect()
    }
}

/// A padding argument: `same`, or explicit `[top, left, bottom, right]` (`valid` is zeros).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Padding {
    Same,
    Explicit([usize; 4]),
}

/// A constant argument value, of a parameter's type.
#[derive(Clone, Debug, PartialEq)]
pub enum Value {
    Int(i64),
    Float(f64),
    Bool(bool),
    /// `same` or `valid`.
    Sym(&'static str),
    List(Vec<Value>),
}

impl Value {
    /// The value's kind in words: "int", "padding mode", ...
    pub fn kind(&self) -> &'static str {
        match self {
            Value::Int(_) => "int",
            Value::Float(_) => "float",
            Value::Bool(_) => "bool",
            Value::Sym(_) => "mode",
            Value::List(_) => "list",
        }
    }

    /// An int or float as `f64`.
    pub fn as_f64(&self) -> Option<f64> {
        match self {
            Value::Int(i) => Some(*i as f64),
            Value::Float(f) => Some(*f),
            _ => None,
        }
    }

    /// Converts the value to a parameter type where that is lossless; returns it back if not.
    pub fn coerce(self, ty: Ty) -> Result<Value, Value> {
        match (ty, self) {
            (Ty::Int, v @ Value::Int(_)) => Ok(v),
            (Ty::Float, Value::Int(i)) => Ok(Value::Float(i as f64)),
            (Ty::Float, v @ Value::Float(_)) => Ok(v),
            (Ty::Bool, v @ Value::Bool(_)) => Ok(v),
            (Ty::Pad, v @ (Value::Int(_) | Value::Sym("same" | "valid"))) => Ok(v),
            (Ty::Pad, Value::List(l)) if matches!(l.len(), 2 | 4) && l.iter().all(|v| matches!(v, Value::Int(_))) => {
                Ok(Value::List(l))
            }
            (Ty::FloatList, v @ Value::List(_)) => Ok(v),
            (Ty::Pair, v @ Value::Int(_)) => Ok(v),
            (Ty::Pair, Value::List(l)) if l.len() == 2 && l.iter().all(|v| matches!(v, Value::Int(_))) => {
                Ok(Value::List(l))
            }
            (Ty::Mode(words), Value::Sym(s)) if words.contains(&s) => Ok(Value::Sym(s)),
            (_, v) => Err(v),
        }
    }
}

/// The arguments of one call of a built-in, matched to its signature: every parameter with a
/// value (given or default) is present, of the parameter's type and in its range.
#[derive(Clone, Debug)]
pub struct Args {
    /// The whole call, for diagnostics about the combination of arguments.
    pub call: Span,
    pub values: HashMap<&'static str, Value>,
    /// Where each argument given was written (its value), for fixes that rewrite it.
    pub spans: HashMap<&'static str, Span>,
}

impl Args {
    /// The int parameter `name` (an index or size: ranges keep it non-negative).
    ///
    /// # Panics
    /// If the signature has no such int parameter: the op and its signature disagree.
    pub fn int(&self, name: &str) -> usize {
        match self.values.get(name) {
            Some(Value::Int(i)) => usize::try_from(*i).expect("ranges keep ints non-negative"),
            v => panic!("parameter `{name}` is not an int: {v:?}"),
        }
    }

    /// The optional int parameter `name` (`Default::Absent` when not given).
    pub fn opt_int(&self, name: &str) -> Option<usize> {
        self.values.contains_key(name).then(|| self.int(name))
    }

    /// The float parameter `name`.
    pub fn float(&self, name: &str) -> f64 {
        match self.values.get(name) {
            Some(v) => v.as_f64().unwrap_or_else(|| panic!("parameter `{name}` is not a number: {v:?}")),
            None => panic!("parameter `{name}` has no value"),
        }
    }

    /// The optional float parameter `name`.
    pub fn opt_float(&self, name: &str) -> Option<f64> {
        self.values.contains_key(name).then(|| self.float(name))
    }

    /// The size parameter `name` ([`Ty::Pair`]) for the two spatial axes.
    pub fn pair(&self, name: &str) -> [usize; 2] {
        match self.values.get(name) {
            Some(Value::Int(_)) => [self.int(name); 2],
            Some(Value::List(l)) => match l[..] {
                [Value::Int(h), Value::Int(w)] => {
                    [h, w].map(|v| usize::try_from(v).expect("ranges keep ints non-negative"))
                }
                _ => panic!("parameter `{name}` is not a pair: {l:?}"),
            },
            v => panic!("parameter `{name}` is not a size: {v:?}"),
        }
    }

    /// The padding parameter `name` ([`Ty::Pad`]).
    pub fn padding(&self, name: &str) -> Padding {
        let ints = |l: &[Value]| -> Vec<usize> {
            l.iter()
                .map(|v| match v {
                    Value::Int(i) => usize::try_from(*i).expect("ranges keep ints non-negative"),
                    v => panic!("parameter `{name}` holds {v:?}"),
                })
                .collect()
        };
        match self.values.get(name) {
            Some(Value::Sym("same")) => Padding::Same,
            Some(Value::Sym(_)) => Padding::Explicit([0; 4]),
            Some(Value::Int(_)) => Padding::Explicit([self.int(name); 4]),
            Some(Value::List(l)) => match ints(l)[..] {
                [h, w] => Padding::Explicit([h, w, h, w]),
                [t, l, b, r] => Padding::Explicit([t, l, b, r]),
                _ => panic!("parameter `{name}` has {} values", l.len()),
            },
            v => panic!("parameter `{name}` is not a padding: {v:?}"),
        }
    }

    /// The mode parameter `name` ([`Ty::Mode`]).
    pub fn mode(&self, name: &str) -> &'static str {
        match self.values.get(name) {
            Some(Value::Sym(s)) => s,
            v => panic!("parameter `{name}` is not a mode: {v:?}"),
        }
    }

    /// The bool parameter `name`.
    pub fn flag(&self, name: &str) -> bool {
        match self.values.get(name) {
            Some(Value::Bool(b)) => *b,
            v => panic!("parameter `{name}` is not a bool: {v:?}"),
        }
    }

    /// The value of parameter `name`.
    pub fn get(&self, name: &str) -> Option<&Value> {
        self.values.get(name)
    }
}
