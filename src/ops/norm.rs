//! Normalization over channels: `layernorm` (ConvNeXt's LayerNorm2d) and the learned
//! per-channel `scale` (ConvNeXt's layer scale).

use super::onnx::{Attr, OnnxCx, OnnxForm};
use super::sig::{Default, Range, Ty, param};
use super::torch::{TorchArgs, TorchForm};
use super::{Args, Builtin, Cost, Eval, Init, Layer, ShapeCx, Signature, WeightSpec};
use crate::diag::Diagnostic;
use serde::Serialize;
use std::borrow::Cow;

/// At every position of a `[C, ...]` tensor, the C channels normalized to zero mean and unit
/// (biased) variance, then scaled and shifted per channel: `(x - mean) / sqrt(var + eps) *
/// weight[c] + bias[c]`.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct LayerNorm {
    pub eps: f32,
}

impl Builtin for LayerNorm {
    const SIGNATURE: Signature = Signature {
        name: "layernorm",
        aliases: &["layer_norm", "layernorm2d", "layernormalization", "ln"],
        params: &[param("eps", Ty::Float, Default::Float(1e-5)).range(Range::Positive)],
        variadic_tensors: false,
        summary: "layer normalization over the channels at each position",
        shapes: "same shape",
        weights: "`2*C`",
    };

    fn from_args(a: &Args) -> Result<LayerNorm, Box<Diagnostic>> {
        Ok(LayerNorm { eps: a.float("eps") as f32 })
    }
}

impl OnnxForm for LayerNorm {
    fn onnx(&self, cx: &mut OnnxCx) {
        // ONNX normalizes over the last axes: move the channels last and back.
        let r = cx.shape.len();
        let to_last = [0].into_iter().chain(2..=r).chain([1]);
        let back = [0, r].into_iter().chain(1..r);
        let x = cx.node("Transpose", vec![cx.x()], vec![("perm", Attr::ints(to_last))]);
        let attrs = vec![("axis", Attr::Int(-1)), ("epsilon", Attr::Float(self.eps))];
        let y = cx.node("LayerNormalization", vec![x, cx.weight(0), cx.weight(1)], attrs);
        cx.node("Transpose", vec![y], vec![("perm", Attr::ints(back))]);
    }
}

impl TorchForm for LayerNorm {
    const HELPERS: &'static [&'static str] = &[r#"
class LayerNorm(nn.modules.lazy.LazyModuleMixin, nn.Module):
    """netc's `layernorm(eps = 1e-5)`: at every position the channels normalized, then scaled and
    shifted per channel (ConvNeXt's LayerNorm2d; on a vector, its features). Its weight and bias
    take their size from its first input, as PyTorch's lazy modules do."""

    def __init__(self, eps=1e-5):
        super().__init__()
        self.eps = eps
        self.weight = nn.UninitializedParameter()
        self.bias = nn.UninitializedParameter()

    def initialize_parameters(self, x):
        if self.has_uninitialized_params():
            with torch.no_grad():
                self.weight.materialize(x.shape[1:2])
                self.bias.materialize(x.shape[1:2])
                nn.init.ones_(self.weight)
                nn.init.zeros_(self.bias)

    def forward(self, x):
        x = x.movedim(1, -1)
        return F.layer_norm(x, x.shape[-1:], self.weight, self.bias, self.eps).movedim(-1, 1)
"#];

    fn module(args: &TorchArgs) -> Option<String> {
        Some(args.mirror("LayerNorm"))
    }
}

impl Layer for LayerNorm {
    fn label(&self) -> Cow<'static, str> {
        "layernorm".into()
    }

    fn infer(&self, cx: &mut ShapeCx) -> Option<Vec<usize>> {
        Some(cx.inputs[0].clone())
    }

    fn cost(&self, inputs: &[Vec<usize>], _: &[usize]) -> Cost {
        Cost { params: 2 * inputs[0][0] as u64, flops: 0 }
    }

    fn weights(&self, inputs: &[Vec<usize>]) -> Vec<WeightSpec> {
        let c = vec![inputs[0][0]];
        vec![
            WeightSpec { kind: "weight", shape: c.clone(), init: Init::NormScale },
            WeightSpec { kind: "bias", shape: c, init: Init::NormShift },
        ]
    }

    fn eval(&self, e: Eval) {
        let s = &e.in_shapes[0];
        let (c, hw) = (s[0], s.iter().skip(1).product::<usize>());
        let (weight, bias) = (&e.params[0].data, &e.params[1].data);
        for (o, x) in e.out.chunks_mut(c * hw).zip(e.inputs[0].chunks(c * hw)) {
            for p in 0..hw {
                let at = |ch: usize| x[ch * hw + p] as f64;
                let mean = (0..c).map(at).sum::<f64>() / c as f64;
                let var = (0..c).map(|ch| (at(ch) - mean).powi(2)).sum::<f64>() / c as f64;
                let inv = 1.0 / (var + self.eps as f64).sqrt();
                for ch in 0..c {
                    o[ch * hw + p] = ((at(ch) - mean) * inv * weight[ch] as f64 + bias[ch] as f64) as f32;
                }
            }
        }
    }
}

/// Each channel multiplied by a learned factor: `x * weight[c]`.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct Scale {}

impl Builtin for Scale {
    const SIGNATURE: Signature = Signature {
        name: "scale",
        aliases: &["layer_scale", "layerscale"],
        params: &[],
        variadic_tensors: false,
        summary: "a learned factor per channel",
        shapes: "same shape",
        weights: "`C`",
    };

    fn from_args(_: &Args) -> Result<Scale, Box<Diagnostic>> {
        Ok(Scale {})
    }
}

impl OnnxForm for Scale {
    fn onnx(&self, cx: &mut OnnxCx) {
        let w = cx.weight(0);
        let w = cx.per_channel(w);
        cx.node("Mul", vec![cx.x(), w], vec![]);
    }
}

impl TorchForm for Scale {
    const HELPERS: &'static [&'static str] = &[r#"
class Scale(nn.modules.lazy.LazyModuleMixin, nn.Module):
    """netc's `scale`: each channel multiplied by a learned factor (ConvNeXt's layer scale), its
    size taken from its first input."""

    def __init__(self):
        super().__init__()
        self.weight = nn.UninitializedParameter()

    def initialize_parameters(self, x):
        if self.has_uninitialized_params():
            with torch.no_grad():
                self.weight.materialize(x.shape[1:2])
                nn.init.ones_(self.weight)

    def forward(self, x):
        return x * self.weight.view([-1] + [1] * (x.dim() - 2))
"#];

    fn module(args: &TorchArgs) -> Option<String> {
        Some(args.mirror("Scale"))
    }
}

impl Layer for Scale {
    fn label(&self) -> Cow<'static, str> {
        "scale".into()
    }

    fn infer(&self, cx: &mut ShapeCx) -> Option<Vec<usize>> {
        Some(cx.inputs[0].clone())
    }

    fn cost(&self, inputs: &[Vec<usize>], _: &[usize]) -> Cost {
        Cost { params: inputs[0][0] as u64, flops: 0 }
    }

    fn weights(&self, inputs: &[Vec<usize>]) -> Vec<WeightSpec> {
        vec![WeightSpec { kind: "weight", shape: vec![inputs[0][0]], init: Init::NormScale }]
    }

    fn eval(&self, e: Eval) {
        let s = &e.in_shapes[0];
        let (c, hw) = (s[0], s.iter().skip(1).product::<usize>());
        let w = &e.params[0].data;
        for (i, (o, x)) in e.out.chunks_mut(hw).zip(e.inputs[0].chunks(hw)).enumerate() {
            for (o, x) in o.iter_mut().zip(x) {
                *o = x * w[i % c];
            }
        }
    }
}
