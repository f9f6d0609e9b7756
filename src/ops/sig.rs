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
    /// `same`, `valid`, or an int.
    Pad,
    /// `[0.5, 0.5, 0.5]`
    FloatList,
}

impl Ty {
    pub fn name(self) -> &'static str {
        match self {
            Ty::Int => "int",
            Ty::Float => "float",
            Ty::Bool => "bool",
            Ty::Pad => "pad",
            Ty::FloatList => "list",
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
    /// The `same` padding mode.
    Same,
    /// The value of another parameter (e.g. a pool's stride defaults to its kernel).
    SameAs(&'static str),
    /// Optional with no value.
    Absent,
}

/// The values a parameter accepts beyond its type.
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum Range {
    /// An int from `min` to [`MAX_DIM`].
    Int { min: i64 },
    /// A float above zero.
    Positive,
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
        Ty::Int | Ty::Pad => Range::Int { min: 1 },
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
            _ => Ok(()),
        }
    }
}

/// A built-in layer's signature and its one-line documentation (the book's table of built-in
/// layers is made from these).
#[derive(Clone, Copy, Debug)]
pub struct Signature {
    pub name: &'static str,
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
                Default::Float(f) => format!("{} = {f:e}", p.name),
                Default::Bool(v) => format!("{} = {v}", p.name),
                Default::Same => format!("{} = same", p.name),
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
            Value::Sym(_) => "padding mode",
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
            (Ty::Pad, v @ (Value::Int(_) | Value::Sym(_))) => Ok(v),
            (Ty::FloatList, v @ Value::List(_)) => Ok(v),
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
