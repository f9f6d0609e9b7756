//! `conv`: 2-D convolution with symmetric zero padding.

use super::sig::{Default, Range, Ty, Value, param};
use super::{Args, Builtin, Cost, Eval, Init, Layer, ShapeCx, Signature, WeightSpec};
use crate::diag::{Code, Diagnostic};
use crate::kernels::{Conv2d, Epilogue, reference, window_out};
use serde::Serialize;
use std::borrow::Cow;
use std::ops::RangeInclusive;

/// Set by fusion: `residual` adds the node's second operand (a tensor of the output's shape) to
/// the sum, and `relu` applies last: `relu(conv(x) + bias + residual)`.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct Conv {
    pub out: usize,
    pub kernel: usize,
    pub stride: usize,
    pub pad: usize,
    pub bias: bool,
    pub residual: bool,
    pub relu: bool,
}

impl Conv {
    /// The convolution's geometry on a `[C, H, W]` input.
    pub fn geometry(&self, input: &[usize]) -> Conv2d {
        let [c, h, w] = input[..] else { panic!("a checked conv input is CxHxW, not {input:?}") };
        Conv2d {
            in_c: c,
            in_h: h,
            in_w: w,
            out_c: self.out,
            kh: self.kernel,
            kw: self.kernel,
            stride_h: self.stride,
            stride_w: self.stride,
            pad_h: self.pad,
            pad_w: self.pad,
        }
    }
}

impl Builtin for Conv {
    const SIGNATURE: Signature = Signature {
        name: "conv",
        params: &[
            param("out", Ty::Int, Default::Required),
            param("kernel", Ty::Int, Default::Int(3)),
            param("stride", Ty::Int, Default::Int(1)),
            param("pad", Ty::Pad, Default::Same).range(Range::Int { min: 0 }),
            param("bias", Ty::Bool, Default::Bool(true)),
        ],
        variadic_tensors: false,
        summary: "2-D convolution; `same` padding is kernel/2 on each side",
        shapes: "`CxHxW` → `out x H' x W'`",
        weights: "`out*C*kernel*kernel` (+ `out`)",
    };

    fn from_args(a: &Args) -> Result<Conv, Box<Diagnostic>> {
        let kernel = a.int("kernel");
        let pad = match a.get("pad") {
            Some(Value::Sym("same")) if kernel.is_multiple_of(2) => {
                return Err(Box::new(
                    Diagnostic::error(
                        Code::BadValue,
                        format!("`same` padding needs an odd kernel, found {kernel}"),
                        a.call,
                        "even kernel with `same` padding",
                    )
                    .with_help(format!(
                        "use an odd kernel (`conv({}, {})`) or explicit padding (`pad = {}`)",
                        a.int("out"),
                        kernel + 1,
                        kernel / 2
                    )),
                ));
            }
            Some(Value::Sym("same")) => kernel / 2,
            Some(Value::Sym(_)) => 0,
            _ => a.int("pad"),
        };
        Ok(Conv {
            out: a.int("out"),
            kernel,
            stride: a.int("stride"),
            pad,
            bias: a.flag("bias"),
            residual: false,
            relu: false,
        })
    }
}

impl Layer for Conv {
    fn label(&self) -> Cow<'static, str> {
        match (self.residual, self.relu) {
            (false, false) => "conv".into(),
            (false, true) => "conv+relu".into(),
            (true, false) => "conv+add".into(),
            (true, true) => "conv+add+relu".into(),
        }
    }

    fn operands(&self) -> RangeInclusive<usize> {
        if self.residual { 2..=2 } else { 1..=1 }
    }

    fn infer(&self, cx: &mut ShapeCx) -> Option<Vec<usize>> {
        let [_, h, w] = cx.map(0)?;
        match (window_out(h, self.kernel, self.stride, self.pad), window_out(w, self.kernel, self.stride, self.pad)) {
            // A fused residual (set by the optimizer, never written) has the output's shape.
            (Some(oh), Some(ow)) if self.residual && cx.inputs[1] != [self.out, oh, ow] => None,
            (Some(oh), Some(ow)) => Some(vec![self.out, oh, ow]),
            _ => {
                cx.too_small(self.kernel, self.pad);
                None
            }
        }
    }

    fn cost(&self, inputs: &[Vec<usize>], output: &[usize]) -> Cost {
        let per_out = inputs[0][0] as u64 * (self.kernel as u64).pow(2);
        let out = self.out as u64;
        Cost {
            params: out * per_out + if self.bias { out } else { 0 },
            flops: 2 * per_out * output.iter().map(|&d| d as u64).product::<u64>(),
        }
    }

    fn weights(&self, inputs: &[Vec<usize>]) -> Vec<WeightSpec> {
        let fan_in = inputs[0][0] * self.kernel * self.kernel;
        let mut w = vec![WeightSpec {
            kind: "weight",
            shape: vec![self.out, inputs[0][0], self.kernel, self.kernel],
            init: Init::He { fan_in },
        }];
        if self.bias {
            w.push(WeightSpec { kind: "bias", shape: vec![self.out], init: Init::Bias { fan_in } });
        }
        w
    }

    fn eval(&self, e: Eval) {
        let residual = self.residual.then(|| e.inputs[1]);
        let ep = Epilogue { bias: self.bias.then(|| e.params[1].data.as_slice()), residual, relu: self.relu };
        let g = self.geometry(&e.in_shapes[0]);
        reference::conv2d(&g, e.batch, e.inputs[0], &e.params[0].data, &ep, e.out, e.threads);
    }
}
