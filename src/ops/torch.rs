//! The PyTorch form of an operation: the module a call of it makes in the source `netc emit
//! pytorch` writes, and how `forward` applies it. Each built-in layer implements [`TorchForm`]
//! in its own file, next to its `OnnxForm`; the list of ops in `ops/mod.rs` requires it, so a
//! new op cannot be added without its PyTorch form. The `pytorch` module assembles these pieces
//! into classes; this module knows PyTorch's layers, not how a block becomes a class.
//!
//! Forms work on the call as written, not on evaluated values: inside a block class, arguments
//! are Python expressions over the block's parameters (`c`, `channels(in) // 2`).

use super::sig::{Default, Signature};

/// A call's arguments as Python source, matched to its built-in's signature.
pub struct TorchArgs {
    pub sig: &'static Signature,
    /// Per parameter of the signature, in order: the Python expression of the argument given
    /// in the call, if one was.
    pub given: Vec<Option<String>>,
    /// How many arguments the call gives by position (the first parameters').
    pub positional: usize,
}

impl TorchArgs {
    fn index(&self, name: &str) -> usize {
        self.sig.params.iter().position(|p| p.name == name).unwrap_or_else(|| {
            panic!("`{}` has no parameter `{name}`: its PyTorch form and its signature disagree", self.sig.name)
        })
    }

    /// The argument given for `name`, as written.
    pub fn given(&self, name: &str) -> Option<&str> {
        self.given[self.index(name)].as_deref()
    }

    /// The value of `name`: the argument given, or the default (`None` for an optional
    /// parameter without one).
    pub fn value(&self, name: &str) -> Option<String> {
        if let Some(g) = self.given(name) {
            return Some(g.to_string());
        }
        match self.sig.params[self.index(name)].default {
            Default::Int(i) => Some(i.to_string()),
            Default::Float(f) => Some(python_float(f)),
            Default::Bool(b) => Some(python_bool(b).into()),
            Default::Sym(w) => Some(format!("\"{w}\"")),
            Default::SameAs(other) => self.value(other),
            Default::Required | Default::Absent => None,
        }
    }

    /// `callee(...)` with netc's parameters renamed to PyTorch's: each `(netc, torch)` pair is
    /// passed positionally (with its value, given or default) when `torch` is empty, else as
    /// `torch = value` when the call gives it (PyTorch's default is netc's).
    pub fn call(&self, callee: &str, params: &[(&str, &str)]) -> String {
        let args: Vec<String> = params
            .iter()
            .filter_map(|(netc, torch)| match *torch {
                "" => self.value(netc),
                _ => self.given(netc).map(|v| format!("{torch}={v}")),
            })
            .collect();
        format!("{callee}({})", args.join(", "))
    }

    /// `class(...)` with the arguments given, as the call gives them (by position or by netc's
    /// names): for a Python class that mirrors the built-in's signature.
    pub fn mirror(&self, class: &str) -> String {
        let args: Vec<String> = self
            .sig
            .params
            .iter()
            .zip(&self.given)
            .enumerate()
            .filter_map(|(i, (p, g))| {
                let g = g.as_ref()?;
                Some(if i < self.positional { g.clone() } else { format!("{}={g}", p.name) })
            })
            .collect();
        format!("{class}({})", args.join(", "))
    }
}

/// A float as Python source (`1e-05`, `0.5`, `2.0`).
pub fn python_float(f: f64) -> String {
    let s = format!("{f:?}");
    if s.contains(['.', 'e', 'i', 'N']) { s } else { format!("{s}.0") }
}

pub fn python_bool(b: bool) -> &'static str {
    if b { "True" } else { "False" }
}

/// How an op is written in PyTorch. `module` is the layer a call makes in the constructor
/// (`nn.LazyConv2d(64, 3)`), or `None` for an op that is a tensor expression in `forward`
/// (`a + b`); `forward` applies it to its operands' expressions, `layer` being the module's
/// attribute (unused without a module).
pub trait TorchForm {
    /// Python definitions (classes, functions) the form's module uses, each written once at the
    /// top of the emitted file.
    const HELPERS: &'static [&'static str] = &[];
    fn module(args: &TorchArgs) -> Option<String>;
    fn forward(_args: &TorchArgs, layer: &str, inputs: &[String]) -> String {
        format!("{layer}({})", inputs[0])
    }
}

/// A built-in's PyTorch form, as the op registry holds it.
pub struct TorchEntry {
    pub helpers: &'static [&'static str],
    pub module: fn(&TorchArgs) -> Option<String>,
    pub forward: fn(&TorchArgs, &str, &[String]) -> String,
}

impl TorchEntry {
    pub const fn of<T: TorchForm>() -> TorchEntry {
        TorchEntry { helpers: T::HELPERS, module: T::module, forward: T::forward }
    }
}

/// The PyTorch form of ops whose call takes no arguments: their module, applied to the operand:
/// `torch_module!(Relu => "nn.ReLU()")`.
macro_rules! torch_module {
    ($($ty:ty => $module:literal),* $(,)?) => {
        $(impl $crate::ops::torch::TorchForm for $ty {
            fn module(_: &$crate::ops::torch::TorchArgs) -> Option<String> {
                Some($module.to_string())
            }
        })*
    };
}
pub(crate) use torch_module;
