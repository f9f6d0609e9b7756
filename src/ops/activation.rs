//! Element-wise activations. Each is a formula on one value, evaluated in f64 and rounded once;
//! NaN propagates as in PyTorch.

use super::sig::{Default, Ty, param};
use super::{Args, Builtin, Eval, Layer, ShapeCx, Signature};
use crate::diag::{Code, Diagnostic};
use serde::Serialize;
use std::borrow::Cow;

/// An element-wise function of one value.
pub trait Activation {
    /// The function, in f64.
    fn apply(&self, x: f64) -> f64;
}

/// Declares an activation: its struct, signature, construction and formula.
macro_rules! activation {
    (
        $(#[$doc:meta])*
        $ty:ident { $($field:ident: $fty:ty),* } = $name:literal, $summary:literal,
        aliases: [$($alias:literal),*],
        params: [$($param:expr),*],
        build: |$a:ident| $build:expr,
        apply: |$s:ident, $x:ident| $apply:expr $(,)?
    ) => {
        $(#[$doc])*
        #[derive(Clone, Debug, PartialEq, Serialize)]
        pub struct $ty {
            $(pub $field: $fty),*
        }

        impl Builtin for $ty {
            const SIGNATURE: Signature = Signature {
                name: $name,
                aliases: &[$($alias),*],
                params: &[$($param),*],
                variadic_tensors: false,
                summary: $summary,
                shapes: "same shape",
                weights: "-",
            };

            fn from_args($a: &Args) -> Result<$ty, Box<Diagnostic>> {
                $build
            }
        }

        impl Activation for $ty {
            fn apply(&self, $x: f64) -> f64 {
                let $s = self;
                $apply
            }
        }

        impl Layer for $ty {
            fn label(&self) -> Cow<'static, str> {
                $name.into()
            }

            fn infer(&self, cx: &mut ShapeCx) -> Option<Vec<usize>> {
                Some(cx.inputs[0].clone())
            }

            fn eval(&self, e: Eval) {
                for (o, &x) in e.out.iter_mut().zip(e.inputs[0]) {
                    *o = self.apply(x as f64) as f32;
                }
            }
        }
    };
}

/// `min(max(x, 0), 6)`, NaN-propagating.
fn relu6(x: f64) -> f64 {
    x.clamp(0.0, 6.0)
}

fn sigmoid(x: f64) -> f64 {
    1.0 / (1.0 + (-x).exp())
}

activation! {
    /// `max(x, 0)`.
    Relu {} = "relu", "max(x, 0)",
    aliases: ["rectifier"],
    params: [],
    build: |_a| Ok(Relu {}),
    apply: |_s, x| if x < 0.0 { 0.0 } else { x },
}

activation! {
    /// `min(max(x, 0), 6)` (MobileNet).
    Relu6 {} = "relu6", "min(max(x, 0), 6)",
    aliases: ["relu_6"],
    params: [],
    build: |_a| Ok(Relu6 {}),
    apply: |_s, x| relu6(x),
}

activation! {
    /// `x` for `x >= 0`, else `slope * x`.
    LeakyRelu { slope: f32 } = "leaky_relu", "x if x >= 0, else slope * x",
    aliases: ["leakyrelu", "lrelu"],
    params: [param("slope", Ty::Float, Default::Float(0.01))],
    build: |a| Ok(LeakyRelu { slope: a.float("slope") as f32 }),
    apply: |s, x| if x < 0.0 { s.slope as f64 * x } else { x },
}

activation! {
    /// `1 / (1 + exp(-x))`.
    Sigmoid {} = "sigmoid", "1 / (1 + exp(-x))",
    aliases: ["logistic"],
    params: [],
    build: |_a| Ok(Sigmoid {}),
    apply: |_s, x| sigmoid(x),
}

activation! {
    /// The hyperbolic tangent.
    Tanh {} = "tanh", "tanh(x)",
    aliases: [],
    params: [],
    build: |_a| Ok(Tanh {}),
    apply: |_s, x| x.tanh(),
}

activation! {
    /// `x * sigmoid(x)` (also called swish).
    Silu {} = "silu", "x * sigmoid(x), also called swish",
    aliases: ["swish"],
    params: [],
    build: |_a| Ok(Silu {}),
    apply: |_s, x| x * sigmoid(x),
}

activation! {
    /// `x * Φ(x)`, with the normal distribution's Φ exactly (`0.5 (1 + erf(x / √2))`), or, with
    /// `approximate`, its tanh approximation `0.5 (1 + tanh(√(2/π) (x + 0.044715 x³)))`.
    Gelu { approximate: bool } = "gelu", "x * Φ(x); the tanh approximation with `approximate = true`",
    aliases: [],
    params: [param("approximate", Ty::Bool, Default::Bool(false))],
    build: |a| Ok(Gelu { approximate: a.flag("approximate") }),
    apply: |s, x| if s.approximate {
        let k = (2.0 / std::f64::consts::PI).sqrt();
        0.5 * x * (1.0 + (k * (x + 0.044715 * x * x * x)).tanh())
    } else {
        0.5 * x * (1.0 + libm::erf(x / std::f64::consts::SQRT_2))
    },
}

activation! {
    /// `x * relu6(x + 3) / 6` (MobileNetV3).
    HardSwish {} = "hardswish", "x * relu6(x + 3) / 6",
    aliases: ["hard_swish", "h_swish", "hswish"],
    params: [],
    build: |_a| Ok(HardSwish {}),
    apply: |_s, x| x * relu6(x + 3.0) / 6.0,
}

activation! {
    /// `relu6(x + 3) / 6` (MobileNetV3's gates).
    HardSigmoid {} = "hardsigmoid", "relu6(x + 3) / 6",
    aliases: ["hard_sigmoid", "h_sigmoid", "hsigmoid"],
    params: [],
    build: |_a| Ok(HardSigmoid {}),
    apply: |_s, x| relu6(x + 3.0) / 6.0,
}

activation! {
    /// `min(max(x, min), max)`.
    Clip { min: f32, max: f32 } = "clip", "min(max(x, min), max)",
    aliases: ["clamp", "hardtanh"],
    params: [param("min", Ty::Float, Default::Required), param("max", Ty::Float, Default::Required)],
    build: |a| {
        let (min, max) = (a.float("min"), a.float("max"));
        if min > max {
            return Err(Box::new(
                Diagnostic::error(Code::BadValue, format!("`clip` with min {min} above max {max}"), a.call, "empty range")
                    .with_help(format!("swap them: `clip({max}, {min})`")),
            ));
        }
        Ok(Clip { min: min as f32, max: max as f32 })
    },
    apply: |s, x| x.clamp(s.min as f64, s.max as f64),
}
