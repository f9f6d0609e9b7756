//! `conv`: 2-D convolution with zero padding, strides, dilation and channel groups.

use super::onnx::{Attr, OnnxCx, OnnxForm};
use super::sig::{Default, Padding, Range, Ty, param};
use super::torch::{TorchArgs, TorchForm};
use super::{Args, Builtin, Cost, Eval, Init, Layer, Reach, ShapeCx, Signature, WeightSpec};
use crate::diag::{Code, Diagnostic};
use crate::kernels::{Act, Conv2d, Epilogue, conv_out, reference};
use crate::tensor::fmt_shape;
use serde::Serialize;
use std::borrow::Cow;
use std::ops::RangeInclusive;

/// A convolution. Sizes are `[height, width]`; `pad` is `[top, left, bottom, right]`. Set by
/// fusion: `residual` adds the node's second operand (a tensor of the output's shape) to the sum,
/// and `act` applies last: `act(conv(x) + bias + residual)`.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct Conv {
    pub out: usize,
    pub kernel: [usize; 2],
    pub stride: [usize; 2],
    pub pad: [usize; 4],
    pub dilation: [usize; 2],
    pub groups: usize,
    pub bias: bool,
    pub residual: bool,
    pub act: Option<Act>,
}

/// `3` for a square size, `1x7` otherwise.
pub(super) fn fmt_pair([h, w]: [usize; 2]) -> String {
    if h == w { h.to_string() } else { format!("{h}x{w}") }
}

/// The padding that keeps the size at stride 1 (`same`) for a kernel of `kernel` taps
/// `dilation` apart along one axis, or `None` when the dilated kernel is even.
fn same_pad(kernel: usize, dilation: usize) -> Option<usize> {
    let span = dilation * (kernel - 1) + 1;
    (span % 2 == 1).then_some(span / 2)
}

/// E0020: `channels` input (or output) channels that `groups` does not divide.
pub(super) fn groups_mismatch(cx: &mut ShapeCx, what: &str, channels: usize, groups: usize, fix: String) {
    let d = Diagnostic::error(
        Code::Groups,
        format!("{what} {channels} channels cannot be split into {groups} groups"),
        cx.span,
        format!("{channels} is not a multiple of {groups}"),
    )
    .with_note(format!("the input is {}", fmt_shape(&cx.inputs[0])))
    .with_help(fix);
    cx.diags.push(d);
}

impl Conv {
    /// The convolution's geometry on a `[C, H, W]` input.
    pub fn geometry(&self, input: &[usize]) -> Conv2d {
        let [c, h, w] = input[..] else { panic!("a checked conv input is CxHxW, not {input:?}") };
        let [t, l, b, r] = self.pad;
        Conv2d {
            in_c: c,
            in_h: h,
            in_w: w,
            out_c: self.out,
            kh: self.kernel[0],
            kw: self.kernel[1],
            stride_h: self.stride[0],
            stride_w: self.stride[1],
            pad_h: t,
            pad_w: l,
            pad_h_end: b,
            pad_w_end: r,
            dil_h: self.dilation[0],
            dil_w: self.dilation[1],
            groups: self.groups,
        }
    }

    /// Input channels per group of a `c`-channel input.
    fn group_in(&self, c: usize) -> usize {
        c / self.groups
    }
}

impl Builtin for Conv {
    const SIGNATURE: Signature = Signature {
        name: "conv",
        aliases: &["conv2d", "convolution", "convolution2d"],
        params: &[
            param("out", Ty::Int, Default::Required),
            param("kernel", Ty::Pair, Default::Int(3)),
            param("stride", Ty::Pair, Default::Int(1)),
            param("pad", Ty::Pad, Default::Sym("same")).range(Range::Int { min: 0 }),
            param("bias", Ty::Bool, Default::Bool(true)),
            param("groups", Ty::Int, Default::Int(1)),
            param("dilation", Ty::Pair, Default::Int(1)),
        ],
        variadic_tensors: false,
        summary: "2-D convolution; `same` padding keeps the size at stride 1",
        shapes: "`CxHxW` → `out x H' x W'`",
        weights: "`out*C/groups*kh*kw` (+ `out`)",
    };

    fn from_args(a: &Args) -> Result<Conv, Box<Diagnostic>> {
        let (kernel, dilation) = (a.pair("kernel"), a.pair("dilation"));
        let pad = match a.padding("pad") {
            Padding::Explicit(p) => p,
            Padding::Same => match (same_pad(kernel[0], dilation[0]), same_pad(kernel[1], dilation[1])) {
                (Some(ph), Some(pw)) => [ph, pw, ph, pw],
                _ => {
                    let even = kernel.map(|k| if k % 2 == 0 { k + 1 } else { k });
                    let pads = kernel.map(|k| k / 2);
                    return Err(Box::new(
                        Diagnostic::error(
                            Code::BadValue,
                            format!("`same` padding needs an odd kernel, found {}", fmt_pair(kernel)),
                            a.call,
                            "even kernel with `same` padding",
                        )
                        .with_help(if kernel[0] == kernel[1] && kernel[0] >= 16 {
                            // `conv(3, 64)`: PyTorch's `Conv2d(in, out)` habit, not a 64x64 kernel.
                            format!(
                                "`conv` takes the output channels, then the kernel size; the input channels are \
                                 inferred. For {k} output channels and a 3x3 kernel write `conv({k}, 3)`",
                                k = kernel[0]
                            )
                        } else if kernel[0] == kernel[1] {
                            format!(
                                "use an odd kernel (`conv({}, {})`) or explicit padding (`pad = {}`)",
                                a.int("out"),
                                even[0],
                                pads[0]
                            )
                        } else {
                            format!(
                                "use an odd kernel (`kernel = [{}, {}]`) or explicit padding (`pad = [{}, {}]`)",
                                even[0], even[1], pads[0], pads[1]
                            )
                        }),
                    ));
                }
            },
        };
        Ok(Conv {
            out: a.int("out"),
            kernel,
            stride: a.pair("stride"),
            pad,
            dilation,
            groups: a.int("groups"),
            bias: a.flag("bias"),
            residual: false,
            act: None,
        })
    }
}

impl OnnxForm for Conv {
    fn onnx(&self, cx: &mut OnnxCx) {
        let mut inputs = vec![cx.x(), cx.weight(0)];
        if self.bias {
            inputs.push(cx.weight(1));
        }
        let attrs = vec![
            ("kernel_shape", Attr::ints(self.kernel)),
            ("strides", Attr::ints(self.stride)),
            ("pads", Attr::ints(self.pad)),
            ("dilations", Attr::ints(self.dilation)),
            ("group", Attr::Int(self.groups as i64)),
        ];
        let mut y = cx.node("Conv", inputs, attrs);
        if self.residual {
            y = cx.node("Add", vec![y, cx.inputs[1].clone()], vec![]);
        }
        cx.maybe_act(y, self.act);
    }
}

impl TorchForm for Conv {
    const HELPERS: &'static [&'static str] = &[r#"
class Conv(nn.LazyConv2d):
    """netc's `conv(out, kernel = 3, stride = 1, pad = same, bias = true, groups = 1, dilation = 1)`:
    a lazy Conv2d (its input channels come from its first input) with netc's `pad`: "same" (half
    the dilated kernel on each side), "valid" (none), an int, [h, w] or [top, left, bottom, right]."""

    cls_to_become = None  # stays a Conv, for its padding, once its weight has a shape

    def __init__(self, out, kernel=3, stride=1, pad="same", bias=True, groups=1, dilation=1):
        kernel = [kernel] * 2 if isinstance(kernel, int) else kernel
        dilation = [dilation] * 2 if isinstance(dilation, int) else dilation
        if pad == "same":
            pad = [d * (k - 1) // 2 for k, d in zip(kernel, dilation)]
        elif pad == "valid":
            pad = 0
        if isinstance(pad, int):
            pad = [pad, pad]
        top, left, bottom, right = pad * 2 if len(pad) == 2 else pad
        symmetric = (top, left) == (bottom, right)
        super().__init__(out, kernel, stride, (top, left) if symmetric else 0, dilation, groups, bias)
        self.pad_first = None if symmetric else (left, right, top, bottom)

    def forward(self, x):
        if self.pad_first is not None:
            x = F.pad(x, self.pad_first)
        return super().forward(x)
"#];

    fn module(args: &TorchArgs) -> Option<String> {
        Some(args.mirror("Conv"))
    }
}

impl Layer for Conv {
    fn reach(&self, _: &[Vec<usize>]) -> Reach {
        Reach::window(self.kernel, self.dilation, self.stride)
    }

    fn label(&self) -> Cow<'static, str> {
        let add = if self.residual { "+add" } else { "" };
        match self.act {
            None if !self.residual => "conv".into(),
            None => format!("conv{add}").into(),
            Some(a) => format!("conv{add}+{}", a.name()).into(),
        }
    }

    fn operands(&self) -> RangeInclusive<usize> {
        if self.residual { 2..=2 } else { 1..=1 }
    }

    fn infer(&self, cx: &mut ShapeCx) -> Option<Vec<usize>> {
        let [c, h, w] = cx.map(0)?;
        let g = self.groups;
        if !c.is_multiple_of(g) {
            let fix = format!("use a number of groups that divides {c}, e.g. `groups = {}`", largest_divisor(c, g));
            groups_mismatch(cx, "the input's", c, g, fix);
            return None;
        }
        if !self.out.is_multiple_of(g) {
            let fix = format!("make `out` a multiple of {g}, e.g. `conv({}, ...)`", self.out.div_ceil(g) * g);
            groups_mismatch(cx, "the output's", self.out, g, fix);
            return None;
        }
        let [t, l, b, r] = self.pad;
        let oh = conv_out(h, self.kernel[0], self.stride[0], (t, b), self.dilation[0]);
        let ow = conv_out(w, self.kernel[1], self.stride[1], (l, r), self.dilation[1]);
        let (Some(oh), Some(ow)) = (oh, ow) else {
            let span = [0, 1].map(|i| self.dilation[i] * (self.kernel[i] - 1) + 1);
            cx.too_small(span, [t + b, l + r]);
            return None;
        };
        // A fused residual (set by the optimizer, never written) has the output's shape.
        if self.residual && cx.inputs[1] != [self.out, oh, ow] {
            return None;
        }
        Some(vec![self.out, oh, ow])
    }

    fn cost(&self, inputs: &[Vec<usize>], output: &[usize]) -> Cost {
        let per_out = (self.group_in(inputs[0][0]) * self.kernel[0] * self.kernel[1]) as u64;
        let out = self.out as u64;
        Cost {
            params: out * per_out + if self.bias { out } else { 0 },
            flops: 2 * per_out * output.iter().map(|&d| d as u64).product::<u64>(),
        }
    }

    fn weights(&self, inputs: &[Vec<usize>]) -> Vec<WeightSpec> {
        let [kh, kw] = self.kernel;
        let cg = self.group_in(inputs[0][0]);
        let fan_in = cg * kh * kw;
        let mut w = vec![WeightSpec { kind: "weight", shape: vec![self.out, cg, kh, kw], init: Init::He { fan_in } }];
        if self.bias {
            w.push(WeightSpec { kind: "bias", shape: vec![self.out], init: Init::Bias { fan_in } });
        }
        w
    }

    fn eval(&self, e: Eval) {
        let residual = self.residual.then(|| e.inputs[1]);
        let ep = Epilogue { bias: self.bias.then(|| e.params[1].data.as_slice()), residual, act: self.act };
        let g = self.geometry(&e.in_shapes[0]);
        reference::conv2d(&g, e.batch, e.inputs[0], &e.params[0].data, &ep, e.out, e.threads);
    }
}

/// The largest divisor of `c` not above `g` (1 at worst).
pub(super) fn largest_divisor(c: usize, g: usize) -> usize {
    (1..=g.min(c)).rev().find(|d| c.is_multiple_of(*d)).unwrap_or(1)
}
