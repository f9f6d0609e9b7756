//! Pooling: windowed `maxpool` and `avgpool` (PyTorch's floor mode), and the global pools.

use super::sig::{Default, ParamSig, Range, Ty, param};
use super::{Args, Builtin, Eval, Layer, ShapeCx, Signature};
use crate::diag::{Code, Diagnostic};
use crate::kernels::{Pool2d, reference, window_out};
use crate::tensor::fmt_shape;
use serde::Serialize;
use std::borrow::Cow;

/// A pooling window: `kernel` x `kernel`, moved by `stride`, over a map padded by `pad`.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct Window {
    pub kernel: usize,
    pub stride: usize,
    pub pad: usize,
}

const WINDOW: &[ParamSig] = &[
    param("kernel", Ty::Int, Default::Int(2)),
    param("stride", Ty::Int, Default::SameAs("kernel")),
    param("pad", Ty::Int, Default::Int(0)).range(Range::Int { min: 0 }),
];

impl Window {
    fn from_args(a: &Args) -> Window {
        Window { kernel: a.int("kernel"), stride: a.int("stride"), pad: a.int("pad") }
    }

    /// The window's geometry on a `[C, H, W]` input.
    pub fn geometry(&self, input: &[usize]) -> Pool2d {
        let [c, h, w] = input[..] else { panic!("a checked pool input is CxHxW, not {input:?}") };
        let (k, s, p) = (self.kernel, self.stride, self.pad);
        Pool2d { c, in_h: h, in_w: w, kh: k, kw: k, stride_h: s, stride_w: s, pad_h: p, pad_w: p }
    }

    fn infer(&self, cx: &mut ShapeCx) -> Option<Vec<usize>> {
        let [c, h, w] = cx.map(0)?;
        let (kernel, stride, pad) = (self.kernel, self.stride, self.pad);
        if 2 * pad > kernel {
            cx.diags.push(
                Diagnostic::error(
                    Code::BadValue,
                    format!("pooling padding {pad} is more than half the window {kernel}"),
                    cx.span,
                    "padding too large",
                )
                .with_help(format!("use `pad = {}` or less", kernel / 2)),
            );
            return None;
        }
        let (Some(oh), Some(ow)) = (window_out(h, kernel, stride, pad), window_out(w, kernel, stride, pad)) else {
            cx.too_small(kernel, pad);
            return None;
        };
        // Floor mode drops the last `(size + 2 pad - kernel) % stride` padded positions; warn only
        // when some of them are real pixels rather than padding.
        let dropped = |s: usize| ((s + 2 * pad - kernel) % stride).saturating_sub(pad);
        if dropped(h) != 0 || dropped(w) != 0 {
            cx.diags.push(
                Diagnostic::warning(
                    Code::PoolDropsPixels,
                    format!(
                        "pooling {} drops the last {} row(s)/column(s)",
                        fmt_shape(&cx.inputs[0]),
                        dropped(h).max(dropped(w))
                    ),
                    cx.span,
                    format!("input is {h}x{w}, output {oh}x{ow}"),
                )
                .with_note(format!(
                    "{h}x{w} with window {kernel} and stride {stride} does not divide evenly; the remainder is ignored (floor mode, as in PyTorch)"
                ))
                .with_help("if this is intended, ignore it; otherwise adjust the input size or pad the previous layer"),
            );
        }
        Some(vec![c, oh, ow])
    }
}

/// Max pooling; padding is `-inf`.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct MaxPool(pub Window);

/// Average pooling; padded positions count as zeros in the divisor (`count_include_pad`).
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct AvgPool(pub Window);

impl Builtin for MaxPool {
    const SIGNATURE: Signature = Signature {
        name: "maxpool",
        params: WINDOW,
        variadic_tensors: false,
        summary: "max pooling (floor mode)",
        shapes: "`CxHxW` → `C x H' x W'`",
        weights: "-",
    };

    fn from_args(a: &Args) -> Result<MaxPool, Box<Diagnostic>> {
        Ok(MaxPool(Window::from_args(a)))
    }
}

impl Layer for MaxPool {
    fn label(&self) -> Cow<'static, str> {
        "maxpool".into()
    }

    fn infer(&self, cx: &mut ShapeCx) -> Option<Vec<usize>> {
        self.0.infer(cx)
    }

    fn eval(&self, e: Eval) {
        reference::maxpool2d(&self.0.geometry(&e.in_shapes[0]), e.batch, e.inputs[0], e.out);
    }
}

impl Builtin for AvgPool {
    const SIGNATURE: Signature = Signature {
        name: "avgpool",
        params: WINDOW,
        variadic_tensors: false,
        summary: "average pooling, padding counted (floor mode)",
        shapes: "`CxHxW` → `C x H' x W'`",
        weights: "-",
    };

    fn from_args(a: &Args) -> Result<AvgPool, Box<Diagnostic>> {
        Ok(AvgPool(Window::from_args(a)))
    }
}

impl Layer for AvgPool {
    fn label(&self) -> Cow<'static, str> {
        "avgpool".into()
    }

    fn infer(&self, cx: &mut ShapeCx) -> Option<Vec<usize>> {
        self.0.infer(cx)
    }

    fn eval(&self, e: Eval) {
        reference::avgpool2d(&self.0.geometry(&e.in_shapes[0]), e.batch, e.inputs[0], e.out);
    }
}

/// Mean over each channel's map.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct GlobalAvgPool {}

/// Maximum over each channel's map.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct GlobalMaxPool {}

/// `[C, H, W]` to `[C, 1, 1]`.
fn global_infer(cx: &mut ShapeCx) -> Option<Vec<usize>> {
    let [c, _, _] = cx.map(0)?;
    Some(vec![c, 1, 1])
}

impl Builtin for GlobalAvgPool {
    const SIGNATURE: Signature = Signature {
        name: "global_avgpool",
        params: &[],
        variadic_tensors: false,
        summary: "mean over each channel's map, giving Cx1x1",
        shapes: "`CxHxW` → `Cx1x1`",
        weights: "-",
    };

    fn from_args(_: &Args) -> Result<GlobalAvgPool, Box<Diagnostic>> {
        Ok(GlobalAvgPool {})
    }
}

impl Layer for GlobalAvgPool {
    fn label(&self) -> Cow<'static, str> {
        "global_avgpool".into()
    }

    fn infer(&self, cx: &mut ShapeCx) -> Option<Vec<usize>> {
        global_infer(cx)
    }

    fn eval(&self, e: Eval) {
        let s = &e.in_shapes[0];
        reference::global_avgpool(s[0], s[1] * s[2], e.batch, e.inputs[0], e.out);
    }
}

impl Builtin for GlobalMaxPool {
    const SIGNATURE: Signature = Signature {
        name: "global_maxpool",
        params: &[],
        variadic_tensors: false,
        summary: "max over each channel's map, giving Cx1x1",
        shapes: "`CxHxW` → `Cx1x1`",
        weights: "-",
    };

    fn from_args(_: &Args) -> Result<GlobalMaxPool, Box<Diagnostic>> {
        Ok(GlobalMaxPool {})
    }
}

impl Layer for GlobalMaxPool {
    fn label(&self) -> Cow<'static, str> {
        "global_maxpool".into()
    }

    fn infer(&self, cx: &mut ShapeCx) -> Option<Vec<usize>> {
        global_infer(cx)
    }

    fn eval(&self, e: Eval) {
        let s = &e.in_shapes[0];
        reference::global_maxpool(s[0], s[1] * s[2], e.batch, e.inputs[0], e.out);
    }
}
