//! `softmax` over each sample's features.

use super::{Args, Builtin, Eval, Layer, ShapeCx, Signature};
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

impl Layer for Softmax {
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
