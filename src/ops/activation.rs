//! Element-wise activations. Most are a kernel activation ([`Act`]: its formula, its reference
//! and its vectorized form live in `kernels::act`), which the optimizer can fuse into the
//! convolution or dense layer before it; `tanh` and `gelu` have their formula here. NaN
//! propagates, as in PyTorch.

use super::onnx::{Attr, OnnxCx, OnnxForm, kernel_activation};
use super::sig::{Default, Ty, param};
use super::torch::{TorchArgs, TorchForm, torch_module};
use super::{Args, Builtin, Eval, Layer, ShapeCx, Signature};
use crate::diag::{Code, Diagnostic};
use crate::kernels::Act;
use serde::Serialize;
use std::borrow::Cow;

/// An element-wise function of one value.
pub trait Activation {
    /// The function, computed in f64 and rounded once.
    fn apply(&self, x: f32) -> f32;
}

impl OnnxForm for Tanh {
    fn onnx(&self, cx: &mut OnnxCx) {
        cx.unary("Tanh", cx.x());
    }
}

impl OnnxForm for Gelu {
    /// ONNX's `Gelu` from opset 20; before, its formula in nodes.
    fn onnx(&self, cx: &mut OnnxCx) {
        let x = cx.x();
        if cx.opset >= 20 {
            let approximate = if self.approximate { "tanh" } else { "none" };
            cx.node("Gelu", vec![x], vec![("approximate", Attr::Str(approximate))]);
            return;
        }
        // 0.5 x (1 + f(x)), f = erf(x / sqrt 2) or tanh(sqrt(2 / pi) (x + 0.044715 x^3)).
        let f = if self.approximate {
            let (c, k) = (cx.scalar(0.044715), cx.scalar((2.0 / std::f64::consts::PI).sqrt() as f32));
            let x2 = cx.node("Mul", vec![x.clone(), x.clone()], vec![]);
            let x3 = cx.node("Mul", vec![x2, x.clone()], vec![]);
            let cx3 = cx.node("Mul", vec![x3, c], vec![]);
            let inner = cx.node("Add", vec![x.clone(), cx3], vec![]);
            let scaled = cx.node("Mul", vec![inner, k], vec![]);
            cx.unary("Tanh", scaled)
        } else {
            let r = cx.scalar(std::f64::consts::FRAC_1_SQRT_2 as f32);
            let scaled = cx.node("Mul", vec![x.clone(), r], vec![]);
            cx.unary("Erf", scaled)
        };
        let (one, half) = (cx.scalar(1.0), cx.scalar(0.5));
        let f1 = cx.node("Add", vec![f, one], vec![]);
        let xf = cx.node("Mul", vec![x, f1], vec![]);
        cx.node("Mul", vec![xf, half], vec![]);
    }
}

/// The activations that are a kernel activation: ONNX's form of that.
macro_rules! kernel_onnx {
    ($($ty:ident),*) => {
        $(impl OnnxForm for $ty {
            fn onnx(&self, cx: &mut OnnxCx) {
                kernel_activation(self.act(), cx)
            }
        })*
    };
}

kernel_onnx!(Relu, Relu6, LeakyRelu, Sigmoid, Silu, HardSwish, HardSigmoid, Clip);

torch_module!(
    Relu => "nn.ReLU()",
    Relu6 => "nn.ReLU6()",
    Sigmoid => "nn.Sigmoid()",
    Tanh => "nn.Tanh()",
    Silu => "nn.SiLU()",
    HardSwish => "nn.Hardswish()",
    HardSigmoid => "nn.Hardsigmoid()",
);

impl TorchForm for LeakyRelu {
    fn module(args: &TorchArgs) -> Option<String> {
        Some(args.call("nn.LeakyReLU", &[("slope", "negative_slope")]))
    }
}

impl TorchForm for Gelu {
    /// PyTorch names the approximation: `approximate="tanh"`.
    fn module(args: &TorchArgs) -> Option<String> {
        Some(match args.given("approximate") {
            None | Some("False") => "nn.GELU()".into(),
            Some("True") => "nn.GELU(approximate=\"tanh\")".into(),
            Some(flag) => format!("nn.GELU(approximate=\"tanh\" if {flag} else \"none\")"),
        })
    }
}

impl TorchForm for Clip {
    fn module(args: &TorchArgs) -> Option<String> {
        Some(args.call("nn.Hardtanh", &[("min", ""), ("max", "")]))
    }
}

/// Declares an activation: its struct, signature, construction and formula (`act`: a kernel
/// activation, or `apply`: a formula in f64).
macro_rules! activation {
    (
        $(#[$doc:meta])*
        $ty:ident { $($field:ident: $fty:ty),* } = $name:literal, $summary:literal,
        aliases: [$($alias:literal),*],
        params: [$($param:expr),*],
        build: |$a:ident| $build:expr,
        $(act: |$s:ident| $act:expr,)?
        $(apply: |$s2:ident, $x:ident| $apply:expr,)?
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
            #[allow(unreachable_code)]
            fn apply(&self, x: f32) -> f32 {
                $(let $s2 = self; let $x = x as f64; return $apply as f32;)?
                self.act().map_or(x, |a| a.apply(x))
            }
        }

        impl Layer for $ty {
            fn label(&self) -> Cow<'static, str> {
                $name.into()
            }

            #[allow(unreachable_code)]
            fn act(&self) -> Option<Act> {
                $(let $s = self; return Some($act);)?
                None
            }

            fn infer(&self, cx: &mut ShapeCx) -> Option<Vec<usize>> {
                Some(cx.inputs[0].clone())
            }

            fn eval(&self, e: Eval) {
                for (o, &x) in e.out.iter_mut().zip(e.inputs[0]) {
                    *o = self.apply(x);
                }
            }
        }
    };
}

activation! {
    /// `max(x, 0)`.
    Relu {} = "relu", "max(x, 0)",
    aliases: ["rectifier"],
    params: [],
    build: |_a| Ok(Relu {}),
    act: |_s| Act::Relu,
}

activation! {
    /// `min(max(x, 0), 6)` (MobileNet).
    Relu6 {} = "relu6", "min(max(x, 0), 6)",
    aliases: ["relu_6"],
    params: [],
    build: |_a| Ok(Relu6 {}),
    act: |_s| Act::Clip(0.0, 6.0),
}

activation! {
    /// `x` for `x >= 0`, else `slope * x`.
    LeakyRelu { slope: f32 } = "leaky_relu", "x if x >= 0, else slope * x",
    aliases: ["leakyrelu", "lrelu"],
    params: [param("slope", Ty::Float, Default::Float(0.01))],
    build: |a| Ok(LeakyRelu { slope: a.float("slope") as f32 }),
    act: |s| Act::LeakyRelu(s.slope),
}

activation! {
    /// `1 / (1 + exp(-x))`.
    Sigmoid {} = "sigmoid", "1 / (1 + exp(-x))",
    aliases: ["logistic"],
    params: [],
    build: |_a| Ok(Sigmoid {}),
    act: |_s| Act::Sigmoid,
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
    act: |_s| Act::Silu,
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
    act: |_s| Act::HardSwish,
}

activation! {
    /// `relu6(x + 3) / 6` (MobileNetV3's gates).
    HardSigmoid {} = "hardsigmoid", "relu6(x + 3) / 6",
    aliases: ["hard_sigmoid", "h_sigmoid", "hsigmoid"],
    params: [],
    build: |_a| Ok(HardSigmoid {}),
    act: |_s| Act::HardSigmoid,
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
    act: |s| Act::Clip(s.min, s.max),
}
