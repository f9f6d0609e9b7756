//! Layers that only move data: `flatten` and `identity`.

use super::onnx::{Attr, OnnxCx, OnnxForm};
use super::torch::torch_module;
use super::{Args, Builtin, Eval, Layer, Reach, ShapeCx, Signature};
use crate::diag::Diagnostic;
use serde::Serialize;
use std::borrow::Cow;

/// `CxHxW` to a vector of `C*H*W` (the data is unchanged: tensors are row-major).
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct Flatten {}

/// Passes its input through; removed by the optimizer.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct Identity {}

impl Builtin for Flatten {
    const SIGNATURE: Signature = Signature {
        name: "flatten",
        aliases: &["reshape", "view"],
        params: &[],
        variadic_tensors: false,
        summary: "CxHxW to a vector of C*H*W",
        shapes: "`CxHxW` → `C*H*W`",
        weights: "-",
    };

    fn from_args(_: &Args) -> Result<Flatten, Box<Diagnostic>> {
        Ok(Flatten {})
    }
}

impl OnnxForm for Flatten {
    fn onnx(&self, cx: &mut OnnxCx) {
        cx.node("Flatten", vec![cx.x()], vec![("axis", Attr::Int(1))]);
    }
}

torch_module!(Flatten => "nn.Flatten()", Identity => "nn.Identity()");

impl Layer for Flatten {
    fn reach(&self, _: &[Vec<usize>]) -> Reach {
        Reach::Global
    }

    fn label(&self) -> Cow<'static, str> {
        "flatten".into()
    }

    fn infer(&self, cx: &mut ShapeCx) -> Option<Vec<usize>> {
        Some(vec![cx.inputs[0].iter().product()])
    }

    fn eval(&self, e: Eval) {
        e.out.copy_from_slice(e.inputs[0]);
    }
}

impl Builtin for Identity {
    const SIGNATURE: Signature = Signature {
        name: "identity",
        aliases: &["noop", "nop", "pass"],
        params: &[],
        variadic_tensors: false,
        summary: "passes its input through",
        shapes: "same shape",
        weights: "-",
    };

    fn from_args(_: &Args) -> Result<Identity, Box<Diagnostic>> {
        Ok(Identity {})
    }
}

impl OnnxForm for Identity {
    fn onnx(&self, cx: &mut OnnxCx) {
        cx.unary("Identity", cx.x());
    }
}

impl Layer for Identity {
    fn label(&self) -> Cow<'static, str> {
        "identity".into()
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
