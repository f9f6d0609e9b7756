//! `softmax` over each sample's features.

use super::onnx::{Attr, OnnxCx, OnnxForm, Value};
use super::torch::{TorchArgs, TorchForm};
use super::{Args, Builtin, Eval, Layer, Reach, ShapeCx, Signature};
use crate::diag::Diagnostic;
use serde::Serialize;
use std::borrow::Cow;

/// `exp(x - max) / sum`, the sum in f64.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct Softmax {}

impl Builtin for Softmax {
    const SIGNATURE: Signature = Signature {
        name: "softmax",
        aliases: &[],
        params: &[],
        variadic_tensors: false,
        summary: "softmax over the features",
        shapes: "same shape",
        weights: "-",
    };

    fn from_args(_: &Args) -> Result<Softmax, Box<Diagnostic>> {
        Ok(Softmax {})
    }
}

impl OnnxForm for Softmax {
    fn onnx(&self, cx: &mut OnnxCx) {
        // Over all of a sample's features: flattened, and back to the sample's shape.
        let shape = cx.shape.to_vec();
        let x = cx.flat(cx.x(), &shape);
        let y = cx.node("Softmax", vec![x], vec![("axis", Attr::Int(1))]);
        if shape.len() > 1 {
            let dims = cx.constant(Value::Ints(std::iter::once(0).chain(shape.iter().map(|&d| d as i64)).collect()));
            cx.node("Reshape", vec![y, dims], vec![]);
        }
    }
}

impl TorchForm for Softmax {
    fn module(_: &TorchArgs) -> Option<String> {
        None
    }

    /// Over all of a sample's features, whatever its shape.
    fn forward(_: &TorchArgs, _: &str, inputs: &[String]) -> String {
        format!("{0}.flatten(1).softmax(1).view_as({0})", inputs[0])
    }
}

impl Layer for Softmax {
    fn reach(&self, _: &[Vec<usize>]) -> Reach {
        Reach::Global
    }

    fn label(&self) -> Cow<'static, str> {
        "softmax".into()
    }

    fn infer(&self, cx: &mut ShapeCx) -> Option<Vec<usize>> {
        Some(cx.inputs[0].clone())
    }

    fn eval(&self, e: Eval) {
        let per: usize = e.shape.iter().product();
        for (o, x) in e.out.chunks_mut(per.max(1)).zip(e.inputs[0].chunks(per.max(1))) {
            let max = x.iter().copied().fold(f32::NEG_INFINITY, f32::max);
            let mut sum = 0.0f64;
            for (o, &v) in o.iter_mut().zip(x) {
                *o = (v - max).exp();
                sum += *o as f64;
            }
            for o in o.iter_mut() {
                *o = (*o as f64 / sum) as f32;
            }
        }
    }
}
