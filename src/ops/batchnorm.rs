//! `batchnorm`: batch normalization in its inference form.

use super::onnx::{Attr, OnnxCx, OnnxForm};
use super::sig::{Default, Range, Ty, param};
use super::torch::{TorchArgs, TorchForm};
use super::{Args, Builtin, Cost, Eval, Init, Layer, ShapeCx, Signature, WeightSpec};
use crate::diag::Diagnostic;
use serde::Serialize;
use std::borrow::Cow;

/// Per channel `c`: `(x - running_mean[c]) * weight[c] / sqrt(running_var[c] + eps) + bias[c]`.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct BatchNorm {
    pub eps: f32,
}

impl BatchNorm {
    /// Per channel, the scale `weight / sqrt(var + eps)` of the weights `[weight, bias, mean, var]`.
    pub fn scale(&self, weight: &[f32], var: &[f32]) -> Vec<f32> {
        weight.iter().zip(var).map(|(g, v)| g / (v + self.eps).sqrt()).collect()
    }
}

impl Builtin for BatchNorm {
    const SIGNATURE: Signature = Signature {
        name: "batchnorm",
        aliases: &["batch_norm", "batchnorm2d", "batchnormalization", "bn"],
        params: &[param("eps", Ty::Float, Default::Float(1e-5)).range(Range::Positive)],
        variadic_tensors: false,
        summary: "batch normalization, inference form",
        shapes: "same shape",
        weights: "`2*C`",
    };

    fn from_args(a: &Args) -> Result<BatchNorm, Box<Diagnostic>> {
        Ok(BatchNorm { eps: a.float("eps") as f32 })
    }
}

impl OnnxForm for BatchNorm {
    fn onnx(&self, cx: &mut OnnxCx) {
        let inputs = vec![cx.x(), cx.weight(0), cx.weight(1), cx.weight(2), cx.weight(3)];
        cx.node("BatchNormalization", inputs, vec![("epsilon", Attr::Float(self.eps))]);
    }
}

impl TorchForm for BatchNorm {
    fn module(args: &TorchArgs) -> Option<String> {
        Some(args.call("nn.LazyBatchNorm2d", &[("eps", "eps")]))
    }
}

impl Layer for BatchNorm {
    fn label(&self) -> Cow<'static, str> {
        "batchnorm".into()
    }

    fn infer(&self, cx: &mut ShapeCx) -> Option<Vec<usize>> {
        Some(cx.inputs[0].clone())
    }

    fn cost(&self, inputs: &[Vec<usize>], _: &[usize]) -> Cost {
        Cost { params: 2 * inputs[0][0] as u64, flops: 0 }
    }

    fn weights(&self, inputs: &[Vec<usize>]) -> Vec<WeightSpec> {
        let c = vec![inputs[0][0]];
        [
            ("weight", Init::NormScale),
            ("bias", Init::NormShift),
            ("running_mean", Init::NormShift),
            ("running_var", Init::NormVar),
        ]
        .into_iter()
        .map(|(kind, init)| WeightSpec { kind, shape: c.clone(), init })
        .collect()
    }

    /// PyTorch's count of training batches (its momentum's schedule).
    fn training_state(&self) -> &'static [&'static str] {
        &["num_batches_tracked"]
    }

    fn eval(&self, e: Eval) {
        let s = &e.in_shapes[0];
        let (c, hw) = (s[0], s.iter().skip(1).product::<usize>());
        let [g, b, m, v] = [0, 1, 2, 3].map(|i| &e.params[i].data);
        let scale = self.scale(g, v);
        for (i, (o, x)) in e.out.chunks_mut(hw).zip(e.inputs[0].chunks(hw)).enumerate() {
            let ch = i % c;
            for (o, x) in o.iter_mut().zip(x) {
                *o = (x - m[ch]) * scale[ch] + b[ch];
            }
        }
    }
}
