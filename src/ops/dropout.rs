//! Training-time regularizers that are identities at inference: `dropout` and
//! `stochastic_depth`. They are kept in the IR (and the layer table, and exported models) so the
//! network reads as written and trains as written; the optimizer removes them.

use super::onnx::{OnnxCx, OnnxForm};
use super::sig::{Default, Range, Ty, param};
use super::torch::{TorchArgs, TorchForm};
use super::{Args, Builtin, Eval, Layer, ShapeCx, Signature};
use crate::diag::Diagnostic;
use serde::Serialize;
use std::borrow::Cow;

/// Zeroes each element with probability `p` in training (scaling the rest by `1 / (1 - p)`);
/// passes its input through at inference.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct Dropout {
    pub p: f32,
}

/// Drops a whole residual branch of a sample with probability `p` in training (torchvision's
/// `StochasticDepth`, mode `row`); passes its input through at inference.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct StochasticDepth {
    pub p: f32,
}

impl Builtin for Dropout {
    const SIGNATURE: Signature = Signature {
        name: "dropout",
        aliases: &["dropout2d", "spatial_dropout"],
        params: &[param("p", Ty::Float, Default::Float(0.5)).range(Range::Probability)],
        variadic_tensors: false,
        summary: "identity at inference (dropout with rate p in training)",
        shapes: "same shape",
        weights: "-",
    };

    fn from_args(a: &Args) -> Result<Dropout, Box<Diagnostic>> {
        Ok(Dropout { p: a.float("p") as f32 })
    }
}

impl OnnxForm for Dropout {
    fn onnx(&self, cx: &mut OnnxCx) {
        cx.unary("Identity", cx.x());
    }
}

impl TorchForm for Dropout {
    fn module(args: &TorchArgs) -> Option<String> {
        Some(args.call("nn.Dropout", &[("p", "")]))
    }
}

impl Layer for Dropout {
    fn label(&self) -> Cow<'static, str> {
        "dropout".into()
    }

    fn infer(&self, cx: &mut ShapeCx) -> Option<Vec<usize>> {
        Some(cx.inputs[0].clone())
    }

    fn passes_through(&self) -> bool {
        true
    }

    fn eval(&self, e: Eval) {
        e.out.copy_from_slice(e.inputs[0]);
    }
}

impl Builtin for StochasticDepth {
    const SIGNATURE: Signature = Signature {
        name: "stochastic_depth",
        aliases: &["drop_path", "droppath", "stochasticdepth"],
        params: &[param("p", Ty::Float, Default::Required).range(Range::Probability)],
        variadic_tensors: false,
        summary: "identity at inference (drops a residual branch with rate p in training)",
        shapes: "same shape",
        weights: "-",
    };

    fn from_args(a: &Args) -> Result<StochasticDepth, Box<Diagnostic>> {
        Ok(StochasticDepth { p: a.float("p") as f32 })
    }
}

impl OnnxForm for StochasticDepth {
    fn onnx(&self, cx: &mut OnnxCx) {
        cx.unary("Identity", cx.x());
    }
}

impl TorchForm for StochasticDepth {
    const HELPERS: &'static [&'static str] = &[r#"
class StochasticDepth(nn.Module):
    """netc's `stochastic_depth(p)`, torchvision's "row" mode: in training, each sample's branch is
    dropped with probability p and the kept ones scaled by 1 / (1 - p); the identity in eval mode."""

    def __init__(self, p):
        super().__init__()
        self.p = p

    def forward(self, x):
        if not self.training or self.p == 0:
            return x
        keep = x.new_empty([x.shape[0]] + [1] * (x.dim() - 1)).bernoulli_(1 - self.p)
        return x * keep / (1 - self.p)
"#];

    fn module(args: &TorchArgs) -> Option<String> {
        Some(args.mirror("StochasticDepth"))
    }
}

impl Layer for StochasticDepth {
    fn label(&self) -> Cow<'static, str> {
        "stochastic_depth".into()
    }

    fn infer(&self, cx: &mut ShapeCx) -> Option<Vec<usize>> {
        Some(cx.inputs[0].clone())
    }

    fn passes_through(&self) -> bool {
        true
    }

    fn eval(&self, e: Eval) {
        e.out.copy_from_slice(e.inputs[0]);
    }
}
