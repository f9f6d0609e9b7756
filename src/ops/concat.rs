//! `concat`: joins maps along the channels.

use super::onnx::{Attr, OnnxCx, OnnxForm};
use super::torch::{TorchArgs, TorchForm};
use super::{Args, Builtin, Eval, Layer, ShapeCx, Signature};
use crate::diag::{Code, Diagnostic};
use crate::tensor::fmt_shape;
use serde::Serialize;
use std::borrow::Cow;
use std::ops::RangeInclusive;

/// Concatenation of all operands along channels.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct Concat {}

impl Builtin for Concat {
    const SIGNATURE: Signature = Signature {
        name: "concat",
        aliases: &["cat", "concatenate"],
        params: &[],
        variadic_tensors: true,
        summary: "channel concatenation of maps of one size",
        shapes: "`C1xHxW`, `C2xHxW`, ... → `(C1+C2+...)xHxW`",
        weights: "-",
    };

    fn from_args(_: &Args) -> Result<Concat, Box<Diagnostic>> {
        Ok(Concat {})
    }
}

impl OnnxForm for Concat {
    fn onnx(&self, cx: &mut OnnxCx) {
        cx.node("Concat", cx.inputs.to_vec(), vec![("axis", Attr::Int(1))]);
    }
}

impl TorchForm for Concat {
    fn module(_: &TorchArgs) -> Option<String> {
        None
    }

    fn forward(_: &TorchArgs, _: &str, inputs: &[String]) -> String {
        format!("torch.cat([{}], 1)", inputs.join(", "))
    }
}

impl Layer for Concat {
    fn label(&self) -> Cow<'static, str> {
        "concat".into()
    }

    fn operands(&self) -> RangeInclusive<usize> {
        2..=usize::MAX
    }

    fn infer(&self, cx: &mut ShapeCx) -> Option<Vec<usize>> {
        let inputs = cx.inputs;
        let first = &inputs[0];
        let same_rest = inputs.iter().all(|s| s.len() == first.len() && s[1..] == first[1..]);
        if !same_rest || first.is_empty() {
            let shapes: Vec<String> = inputs.iter().map(|s| fmt_shape(s)).collect();
            let mut d = Diagnostic::error(
                Code::ConcatMismatch,
                format!("concat needs maps of one size, found {}", shapes.join(" and ")),
                cx.span,
                "sizes differ",
            );
            for (s, operand) in inputs.iter().zip(cx.operands) {
                d = d.with_label(operand.span, format!("this is {}", fmt_shape(s)));
            }
            cx.diags.push(d.with_help("concat joins channels; every other dimension must match. Pool or stride the larger map first, e.g. `-> maxpool(2)`"));
            return None;
        }
        let mut out = first.clone();
        out[0] = inputs.iter().map(|s| s[0]).sum();
        Some(out)
    }

    fn eval(&self, e: Eval) {
        let per_out: usize = e.shape.iter().product();
        let mut offset = 0;
        for (src, shape) in e.inputs.iter().zip(e.in_shapes) {
            let per_in: usize = shape.iter().product();
            for b in 0..e.batch {
                e.out[b * per_out + offset..][..per_in].copy_from_slice(&src[b * per_in..][..per_in]);
            }
            offset += per_in;
        }
    }
}
