//! `mul`: the element-wise product, broadcasting `Cx1x1` gates over `CxHxW` maps
//! (squeeze-and-excitation).

use super::onnx::{OnnxCx, OnnxForm};
use super::torch::{TorchArgs, TorchForm};
use super::{Args, Builtin, Eval, Layer, ShapeCx, Signature};
use crate::diag::{Code, Diagnostic};
use crate::tensor::fmt_shape;
use serde::Serialize;
use std::borrow::Cow;
use std::ops::RangeInclusive;

/// The product of all operands; a `[C, 1, 1]` operand scales each channel of the others.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct Mul {}

/// Whether `s` (an operand's shape) broadcasts to `to`: equal, or `[C, 1, 1]` against `[C, H, W]`.
fn broadcasts(s: &[usize], to: &[usize]) -> bool {
    s == to || (s.len() == 3 && to.len() == 3 && s[0] == to[0] && s[1] == 1 && s[2] == 1)
}

impl Builtin for Mul {
    const SIGNATURE: Signature = Signature {
        name: "mul",
        aliases: &["multiply", "product", "prod"],
        params: &[],
        variadic_tensors: true,
        summary: "element-wise product; a Cx1x1 operand scales each channel",
        shapes: "`CxHxW` and `CxHxW` or `Cx1x1` → `CxHxW`",
        weights: "-",
    };

    fn from_args(_: &Args) -> Result<Mul, Box<Diagnostic>> {
        Ok(Mul {})
    }
}

impl OnnxForm for Mul {
    fn onnx(&self, cx: &mut OnnxCx) {
        let mut y = cx.x();
        for x in cx.inputs[1..].iter().cloned() {
            y = cx.node("Mul", vec![y, x], vec![]);
        }
        if cx.inputs.len() == 1 {
            cx.unary("Identity", y);
        }
    }
}

impl TorchForm for Mul {
    fn module(_: &TorchArgs) -> Option<String> {
        None
    }

    /// A `Cx1x1` gate broadcasts over the map, as in netc.
    fn forward(_: &TorchArgs, _: &str, inputs: &[String]) -> String {
        inputs.join(" * ")
    }
}

impl Layer for Mul {
    fn label(&self) -> Cow<'static, str> {
        "mul".into()
    }

    fn operands(&self) -> RangeInclusive<usize> {
        2..=usize::MAX
    }

    fn infer(&self, cx: &mut ShapeCx) -> Option<Vec<usize>> {
        let inputs = cx.inputs;
        let full = inputs.iter().max_by_key(|s| s.iter().product::<usize>()).expect("two operands or more");
        if inputs.iter().all(|s| broadcasts(s, full)) {
            return Some(full.clone());
        }
        let shapes: Vec<String> = inputs.iter().map(|s| fmt_shape(s)).collect();
        let mut d = Diagnostic::error(
            Code::Broadcast,
            format!("`mul` of tensors of shapes {} that do not match", shapes.join(" and ")),
            cx.span,
            format!("cannot multiply {}", shapes.join(" and ")),
        );
        for (s, operand) in inputs.iter().zip(cx.operands) {
            let what = operand.name.as_ref().map_or("this operand".to_string(), |n| format!("`{n}`"));
            d = d.with_label(operand.span, format!("{what} is {}", fmt_shape(s)));
        }
        let gate = format!("{}x1x1", full.first().copied().unwrap_or(1));
        cx.diags.push(d.with_help(format!(
            "`mul` takes tensors of one shape, or a {gate} gate (e.g. `global_avgpool -> ... -> sigmoid`) and a {} map",
            fmt_shape(full)
        )));
        None
    }

    fn eval(&self, e: Eval) {
        let per: usize = e.shape.iter().product();
        let hw: usize = e.shape.iter().skip(1).product();
        e.out.fill(1.0);
        for (x, s) in e.inputs.iter().zip(e.in_shapes) {
            let step = if s[..] == e.shape[..] { 1 } else { hw };
            for (o, xs) in e.out.chunks_mut(per.max(1)).zip(x.chunks(per.max(1) / step)) {
                for (i, o) in o.iter_mut().enumerate() {
                    *o *= xs[i / step];
                }
            }
        }
    }
}
