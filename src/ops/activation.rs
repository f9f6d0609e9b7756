//! Element-wise activations.

use super::{Args, Builtin, Eval, Layer, ShapeCx, Signature};
use crate::diag::Diagnostic;
use serde::Serialize;
use std::borrow::Cow;

/// `max(x, 0)`.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct Relu {}

impl Builtin for Relu {
    const SIGNATURE: Signature = Signature {
        name: "relu",
        params: &[],
        variadic_tensors: false,
        summary: "max(x, 0)",
        shapes: "same shape",
        weights: "-",
    };

    fn from_args(_: &Args) -> Result<Relu, Box<Diagnostic>> {
        Ok(Relu {})
    }
}

impl Layer for Relu {
    fn label(&self) -> Cow<'static, str> {
        "relu".into()
    }

    fn infer(&self, cx: &mut ShapeCx) -> Option<Vec<usize>> {
        Some(cx.inputs[0].clone())
    }

    fn eval(&self, e: Eval) {
        for (o, &x) in e.out.iter_mut().zip(e.inputs[0]) {
            *o = x.max(0.0);
        }
    }
}
