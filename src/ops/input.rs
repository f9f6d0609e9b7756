//! `input`: a network input, declared rather than called, with its preprocessing.

use super::onnx::{OnnxCx, OnnxForm, Value};
use super::{Eval, Layer, ShapeCx};
use serde::Serialize;
use std::borrow::Cow;
use std::ops::RangeInclusive;

/// Input preprocessing declared in the `.net` file: `x' = (x * scale - mean[c]) / std[c]`.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct Normalize {
    pub scale: f32,
    pub mean: Vec<f32>,
    pub std: Vec<f32>,
}

/// A network input of per-sample shape `dims`. Evaluating it loads raw values (its one operand)
/// into the network, normalized as declared.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct Input {
    pub name: String,
    pub dims: Vec<usize>,
    pub normalize: Option<Normalize>,
}

impl OnnxForm for Input {
    /// The normalization, `(x * scale - mean[c]) / std[c]`, as nodes; without one, no node (the
    /// layer's value is the graph input).
    fn onnx(&self, cx: &mut OnnxCx) {
        let Some(nm) = &self.normalize else { return };
        let dims: Vec<usize> = [self.dims[0]].into_iter().chain(self.dims[1..].iter().map(|_| 1)).collect();
        let scale = cx.scalar(nm.scale);
        let x = cx.node("Mul", vec![cx.x(), scale], vec![]);
        let mean = cx.constant(Value::Floats { dims: dims.clone(), data: nm.mean.clone() });
        let x = cx.node("Sub", vec![x, mean], vec![]);
        let std = cx.constant(Value::Floats { dims, data: nm.std.clone() });
        cx.node("Div", vec![x, std], vec![]);
    }
}

impl Layer for Input {
    fn label(&self) -> Cow<'static, str> {
        "input".into()
    }

    fn operands(&self) -> RangeInclusive<usize> {
        0..=0
    }

    fn infer(&self, _: &mut ShapeCx) -> Option<Vec<usize>> {
        Some(self.dims.clone())
    }

    fn eval(&self, e: Eval) {
        let raw = e.inputs[0];
        let Some(nm) = &self.normalize else { return e.out.copy_from_slice(raw) };
        let c = self.dims[0];
        let hw: usize = self.dims.iter().skip(1).product();
        for (i, (d, s)) in e.out.chunks_mut(hw.max(1)).zip(raw.chunks(hw.max(1))).enumerate() {
            let ch = i % c;
            let (scale, mean, std) = (nm.scale, nm.mean[ch], nm.std[ch]);
            for (d, &s) in d.iter_mut().zip(s) {
                *d = (s * scale - mean) / std;
            }
        }
    }
}
