//! Moving channels: `slice` (ShuffleNet's split) and `channel_shuffle`.

use super::conv::{groups_mismatch, largest_divisor};
use super::onnx::{Attr, OnnxCx, OnnxForm, Value};
use super::sig::{Default, Range, Ty, param};
use super::torch::{TorchArgs, TorchForm};
use super::{Args, Builtin, Eval, Layer, ShapeCx, Signature};
use crate::diag::{Code, Diagnostic};
use crate::tensor::fmt_shape;
use serde::Serialize;
use std::borrow::Cow;

/// Channels `start..end` of a `[C, ...]` tensor (`end` defaults to C).
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct Slice {
    pub start: usize,
    pub end: Option<usize>,
}

impl Builtin for Slice {
    const SIGNATURE: Signature = Signature {
        name: "slice",
        aliases: &["split", "chunk", "narrow"],
        params: &[
            param("start", Ty::Int, Default::Required).range(Range::Int { min: 0 }),
            param("end", Ty::Int, Default::Absent).range(Range::Int { min: 0 }),
        ],
        variadic_tensors: false,
        summary: "channels start..end (end: all remaining)",
        shapes: "`CxHxW` → `(end-start) x H x W`",
        weights: "-",
    };

    fn from_args(a: &Args) -> Result<Slice, Box<Diagnostic>> {
        Ok(Slice { start: a.int("start"), end: a.opt_int("end") })
    }
}

impl OnnxForm for Slice {
    fn onnx(&self, cx: &mut OnnxCx) {
        let end = self.end.unwrap_or(cx.in_shapes[0][0]);
        let starts = cx.constant(Value::Ints(vec![self.start as i64]));
        let ends = cx.constant(Value::Ints(vec![end as i64]));
        let axes = cx.constant(Value::Ints(vec![1]));
        cx.node("Slice", vec![cx.x(), starts, ends, axes], vec![]);
    }
}

impl TorchForm for Slice {
    fn module(_: &TorchArgs) -> Option<String> {
        None
    }

    fn forward(args: &TorchArgs, _: &str, inputs: &[String]) -> String {
        let (start, end) = (args.value("start").unwrap_or_default(), args.value("end").unwrap_or_default());
        format!("{}[:, {start}:{end}]", inputs[0])
    }
}

impl Layer for Slice {
    fn label(&self) -> Cow<'static, str> {
        "slice".into()
    }

    fn infer(&self, cx: &mut ShapeCx) -> Option<Vec<usize>> {
        let c = cx.inputs[0][0];
        let end = self.end.unwrap_or(c);
        if self.start < end && end <= c {
            let mut out = cx.inputs[0].clone();
            out[0] = end - self.start;
            return Some(out);
        }
        let written = match self.end {
            Some(e) => format!("slice({}, {e})", self.start),
            None => format!("slice({})", self.start),
        };
        let d = Diagnostic::error(
            Code::ChannelRange,
            format!("`{written}` takes channels {}..{end} of a {}-channel input", self.start, c),
            cx.span,
            format!("the input is {}", fmt_shape(&cx.inputs[0])),
        )
        .with_help(if end > c {
            format!("channels are numbered 0..{c}: end at most `{c}` (or leave `end` out for all the rest)")
        } else {
            format!("`start` must be below `end`: e.g. `slice({}, {end})`", end.saturating_sub(1).min(self.start))
        });
        cx.diags.push(d);
        None
    }

    fn eval(&self, e: Eval) {
        let per_in: usize = e.in_shapes[0].iter().product();
        let per_out: usize = e.shape.iter().product();
        let hw = per_in / e.in_shapes[0][0];
        for (o, x) in e.out.chunks_mut(per_out).zip(e.inputs[0].chunks(per_in)) {
            o.copy_from_slice(&x[self.start * hw..][..per_out]);
        }
    }
}

/// ShuffleNet's channel shuffle: the channels, seen as `groups` rows of `C / groups`, transposed.
/// Output channel `i * groups + g` is input channel `g * C / groups + i`.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct ChannelShuffle {
    pub groups: usize,
}

impl Builtin for ChannelShuffle {
    const SIGNATURE: Signature = Signature {
        name: "channel_shuffle",
        aliases: &["shuffle", "channelshuffle"],
        params: &[param("groups", Ty::Int, Default::Required)],
        variadic_tensors: false,
        summary: "interleaves the channels of `groups` groups",
        shapes: "same shape",
        weights: "-",
    };

    fn from_args(a: &Args) -> Result<ChannelShuffle, Box<Diagnostic>> {
        Ok(ChannelShuffle { groups: a.int("groups") })
    }
}

impl OnnxForm for ChannelShuffle {
    fn onnx(&self, cx: &mut OnnxCx) {
        // [N, C, rest] -> [N, g, C/g, rest] -> swap the group axes -> [N, C, rest]; 0 keeps N.
        let (c, rest) = (cx.shape[0] as i64, cx.shape[1..].iter().map(|&d| d as i64));
        let g = self.groups as i64;
        let split = cx.constant(Value::Ints([0, g, c / g].into_iter().chain(rest.clone()).collect()));
        let x = cx.node("Reshape", vec![cx.x(), split], vec![]);
        let perm = [0, 2, 1].into_iter().chain(3..3 + cx.shape.len() - 1);
        let x = cx.node("Transpose", vec![x], vec![("perm", Attr::ints(perm))]);
        let merged = cx.constant(Value::Ints([0, c].into_iter().chain(rest).collect()));
        cx.node("Reshape", vec![x, merged], vec![]);
    }
}

impl TorchForm for ChannelShuffle {
    fn module(args: &TorchArgs) -> Option<String> {
        Some(args.call("nn.ChannelShuffle", &[("groups", "")]))
    }
}

impl Layer for ChannelShuffle {
    fn label(&self) -> Cow<'static, str> {
        "channel_shuffle".into()
    }

    fn infer(&self, cx: &mut ShapeCx) -> Option<Vec<usize>> {
        let c = cx.inputs[0][0];
        if !c.is_multiple_of(self.groups) {
            let fix = format!(
                "use a number of groups that divides {c}, e.g. `channel_shuffle({})`",
                largest_divisor(c, self.groups)
            );
            groups_mismatch(cx, "the input's", c, self.groups, fix);
            return None;
        }
        Some(cx.inputs[0].clone())
    }

    fn eval(&self, e: Eval) {
        let per: usize = e.shape.iter().product();
        let c = e.shape[0];
        let (hw, rows) = (per / c, c / self.groups);
        for (o, x) in e.out.chunks_mut(per).zip(e.inputs[0].chunks(per)) {
            for g in 0..self.groups {
                for i in 0..rows {
                    o[(i * self.groups + g) * hw..][..hw].copy_from_slice(&x[(g * rows + i) * hw..][..hw]);
                }
            }
        }
    }
}
