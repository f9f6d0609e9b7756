//! `add`: the element-wise sum of tensors of one shape, written explicitly or as `residual`.

use super::onnx::{OnnxCx, OnnxForm};
use super::torch::{TorchArgs, TorchForm};
use super::{Args, Builtin, Eval, Layer, ShapeCx, Signature, SkipKind};
use crate::diag::{Applicability, Code, Diagnostic, Edit, Suggestion};
use crate::source::Span;
use crate::tensor::fmt_shape;
use serde::Serialize;
use std::borrow::Cow;
use std::ops::RangeInclusive;

/// The sum of all operands; `relu` is set by fusion.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct Add {
    pub relu: bool,
}

impl Builtin for Add {
    const SIGNATURE: Signature = Signature {
        name: "add",
        aliases: &["sum", "plus", "residual_add"],
        params: &[],
        variadic_tensors: true,
        summary: "element-wise sum of tensors of one shape",
        shapes: "all operands one shape → that shape",
        weights: "-",
    };

    fn from_args(_: &Args) -> Result<Add, Box<Diagnostic>> {
        Ok(Add { relu: false })
    }
}

impl OnnxForm for Add {
    fn onnx(&self, cx: &mut OnnxCx) {
        let op = if cx.inputs.len() == 2 { "Add" } else { "Sum" };
        let y = cx.node(op, cx.inputs.to_vec(), vec![]);
        if self.relu {
            cx.unary("Relu", y);
        }
    }
}

impl TorchForm for Add {
    fn module(_: &TorchArgs) -> Option<String> {
        None
    }

    fn forward(_: &TorchArgs, _: &str, inputs: &[String]) -> String {
        inputs.join(" + ")
    }
}

impl Layer for Add {
    fn label(&self) -> Cow<'static, str> {
        if self.relu { "add+relu".into() } else { "add".into() }
    }

    fn operands(&self) -> RangeInclusive<usize> {
        2..=usize::MAX
    }

    fn infer(&self, cx: &mut ShapeCx) -> Option<Vec<usize>> {
        let inputs = cx.inputs;
        if inputs.iter().all(|s| s == &inputs[0]) {
            return Some(inputs[0].clone());
        }
        let d = mismatch(cx);
        cx.diags.push(d);
        // Recover with the main path so later layers are still checked: the body of a residual
        // (operand 1; operand 0 is its shortcut), else the first operand.
        match cx.skip {
            Some(SkipKind::Residual { .. }) => Some(inputs[1].clone()),
            _ => Some(inputs[0].clone()),
        }
    }

    fn eval(&self, e: Eval) {
        e.out.copy_from_slice(e.inputs[0]);
        for y in &e.inputs[1..] {
            for (o, y) in e.out.iter_mut().zip(*y) {
                *o += y;
            }
        }
        if self.relu {
            for o in e.out.iter_mut() {
                *o = o.max(0.0);
            }
        }
    }
}

/// The stride `s` for which a 1x1 conv with stride `s` maps `from` (HxW) to `to` (HxW).
fn projection_stride(from: &[usize], to: &[usize]) -> Option<usize> {
    if from.len() != 3 || to.len() != 3 {
        return None;
    }
    (1..=from[1].max(1)).find(|&s| from[1].div_ceil(s) == to[1] && from[2].div_ceil(s) == to[2])
}

fn projection(c: usize, stride: usize) -> String {
    if stride == 1 { format!("conv({c}, 1)") } else { format!("conv({c}, 1, stride = {stride})") }
}

/// E0007: the operands' shapes, each labelled, and the projection that would make them agree.
fn mismatch(cx: &ShapeCx) -> Diagnostic {
    let inputs = cx.inputs;
    let shapes: Vec<String> = inputs.iter().map(|s| fmt_shape(s)).collect();
    let mut d = Diagnostic::error(
        Code::AddMismatch,
        format!("skip connection adds tensors of different shapes: {}", shapes.join(" vs ")),
        cx.span,
        format!("cannot add {}", shapes.join(" and ")),
    );
    let residual = matches!(cx.skip, Some(SkipKind::Residual { .. }));
    for (i, (shape, operand)) in inputs.iter().zip(cx.operands).enumerate() {
        let what = match (residual, i, &operand.name) {
            (true, 0, _) => "the shortcut".to_string(),
            (true, _, _) => "the residual body".to_string(),
            (false, _, Some(name)) => format!("`{name}`"),
            (false, _, None) => "this branch".to_string(),
        };
        d = d.with_label(operand.span, format!("{what} is {}", fmt_shape(shape)));
    }
    // A projection adds a layer (with weights): it changes what the network computes, so
    // every fix here is only offered.
    let maybe = Applicability::MaybeIncorrect;
    match cx.skip {
        Some(SkipKind::Residual { has_shortcut }) => {
            let (x, body) = (&inputs[0], &inputs[1]);
            let shortcut = cx.operands[0].written;
            match projection_stride(x, body) {
                Some(s) if has_shortcut => d.with_fix(
                    format!(
                        "make the shortcut produce {}: `shortcut {{ {} }}`",
                        fmt_shape(body),
                        projection(body[0], s)
                    ),
                    Suggestion::replace(shortcut, projection(body[0], s), maybe),
                ),
                Some(s) => d.with_fix(
                    format!(
                        "project the shortcut to {}: `residual {{ ... }} shortcut {{ {} }}`",
                        fmt_shape(body),
                        projection(body[0], s)
                    ),
                    Suggestion::replace(
                        Span { start: shortcut.end, ..shortcut },
                        format!(" shortcut {{ {} }}", projection(body[0], s)),
                        maybe,
                    ),
                ),
                None => d.with_help(format!(
                    "the body must keep or shrink the {} input; check its strides and channels",
                    fmt_shape(x)
                )),
            }
        }
        _ => {
            // Project every operand onto the one with the smallest map (ties: the first, the main path).
            let target =
                (0..inputs.len()).min_by_key(|&i| (inputs[i].iter().skip(1).product::<usize>(), i)).unwrap_or(0);
            let t = &inputs[target];
            let mut edits = Vec::new();
            let fixes: Vec<String> = inputs
                .iter()
                .zip(cx.operands)
                .filter(|(s, _)| *s != t)
                .filter_map(|(s, operand)| {
                    let conv = projection(t[0], projection_stride(s, t)?);
                    Some(match &operand.name {
                        Some(n) => {
                            edits.push(Edit::LineBefore {
                                span: cx.span,
                                text: format!("let {n}_proj = {n} -> {conv}"),
                            });
                            edits.push(Edit::Replace { span: operand.written, text: format!("{n}_proj") });
                            format!("`let {n}_proj = {n} -> {conv}` and add `{n}_proj`")
                        }
                        None => {
                            edits.push(Edit::Replace {
                                span: Span { end: cx.span.start, ..cx.span },
                                text: format!("{conv} -> "),
                            });
                            format!("end the chain with `-> {conv}` before the add")
                        }
                    })
                })
                .collect();
            if fixes.is_empty() {
                d.with_help(format!("every operand of `add` must have the same shape; make them all {}", fmt_shape(t)))
            } else {
                d.with_fix(
                    format!("project to {} with a 1x1 convolution: {}", fmt_shape(t), fixes.join("; ")),
                    Suggestion { edits, applicability: maybe },
                )
            }
        }
    }
}
