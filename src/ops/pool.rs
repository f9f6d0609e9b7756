//! Pooling: windowed `maxpool` and `avgpool` (floor or ceil mode), adaptive pools with PyTorch's
//! bins, and the global pools.

use super::conv::fmt_pair;
use super::onnx::{Attr, OnnxCx, OnnxForm, Value};
use super::sig::{Default, ParamSig, Range, Ty, param};
use super::torch::{TorchArgs, TorchForm, torch_module};
use super::{Args, Builtin, Eval, Layer, Reach, ShapeCx, Signature};
use crate::diag::{Code, Diagnostic};
use crate::kernels::{Pool2d, pool_out, reference};
use crate::tensor::fmt_shape;
use serde::Serialize;
use std::borrow::Cow;

/// A pooling window: `kernel` (`[h, w]`) moved by `stride` over a map padded by `pad` on both
/// sides of each axis; in ceil mode the output sizes round up.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct Window {
    pub kernel: [usize; 2],
    pub stride: [usize; 2],
    pub pad: [usize; 2],
    pub ceil_mode: bool,
}

const WINDOW: [ParamSig; 4] = [
    param("kernel", Ty::Pair, Default::Int(2)),
    param("stride", Ty::Pair, Default::SameAs("kernel")),
    param("pad", Ty::Pair, Default::Int(0)).range(Range::Int { min: 0 }),
    param("ceil_mode", Ty::Bool, Default::Bool(false)),
];

impl Window {
    fn from_args(a: &Args) -> Window {
        Window {
            kernel: a.pair("kernel"),
            stride: a.pair("stride"),
            pad: a.pair("pad"),
            ceil_mode: a.flag("ceil_mode"),
        }
    }

    /// The window's geometry on a `[C, H, W]` input, averaging with `count_pad`.
    pub fn geometry(&self, input: &[usize], count_pad: bool) -> Pool2d {
        let [c, h, w] = input[..] else { panic!("a checked pool input is CxHxW, not {input:?}") };
        let ([kh, kw], [sh, sw], [ph, pw]) = (self.kernel, self.stride, self.pad);
        Pool2d {
            c,
            in_h: h,
            in_w: w,
            kh,
            kw,
            stride_h: sh,
            stride_w: sw,
            pad_h: ph,
            pad_w: pw,
            ceil: self.ceil_mode,
            count_pad,
        }
    }

    /// The ONNX pooling attributes of the window.
    fn onnx_attrs(&self) -> Vec<(&'static str, Attr)> {
        let [ph, pw] = self.pad;
        vec![
            ("kernel_shape", Attr::ints(self.kernel)),
            ("strides", Attr::ints(self.stride)),
            ("pads", Attr::ints([ph, pw, ph, pw])),
            ("ceil_mode", Attr::Int(self.ceil_mode as i64)),
        ]
    }

    fn infer(&self, cx: &mut ShapeCx) -> Option<Vec<usize>> {
        let [c, h, w] = cx.map(0)?;
        let (kernel, stride, pad) = (self.kernel, self.stride, self.pad);
        if (0..2).any(|i| 2 * pad[i] > kernel[i]) {
            let half = kernel.map(|k| k / 2);
            cx.diags.push(
                Diagnostic::error(
                    Code::BadValue,
                    format!("pooling padding {} is more than half the window {}", fmt_pair(pad), fmt_pair(kernel)),
                    cx.span,
                    "padding too large",
                )
                .with_help(if half[0] == half[1] {
                    format!("use `pad = {}` or less", half[0])
                } else {
                    format!("use `pad = [{}, {}]` or less", half[0], half[1])
                }),
            );
            return None;
        }
        let out = |i: usize, size: usize| pool_out(size, kernel[i], stride[i], pad[i], self.ceil_mode);
        let (Some(oh), Some(ow)) = (out(0, h), out(1, w)) else {
            cx.too_small(kernel, pad.map(|p| 2 * p));
            return None;
        };
        // Floor mode drops the last `(size + 2 pad - kernel) % stride` padded positions; warn only
        // when some of them are real pixels rather than padding.
        let dropped = |i: usize, s: usize| ((s + 2 * pad[i] - kernel[i]) % stride[i]).saturating_sub(pad[i]);
        if !self.ceil_mode && (dropped(0, h) != 0 || dropped(1, w) != 0) {
            cx.diags.push(
                Diagnostic::warning(
                    Code::PoolDropsPixels,
                    format!(
                        "pooling {} drops the last {} row(s)/column(s)",
                        fmt_shape(&cx.inputs[0]),
                        dropped(0, h).max(dropped(1, w))
                    ),
                    cx.span,
                    format!("input is {h}x{w}, output {oh}x{ow}"),
                )
                .with_note(format!(
                    "{h}x{w} with window {} and stride {} does not divide evenly; the remainder is ignored (floor mode, as in PyTorch)",
                    fmt_pair(kernel),
                    fmt_pair(stride)
                ))
                .with_help("if this is intended, ignore it; `ceil_mode = true` keeps the remainder; otherwise adjust the input size or pad the previous layer"),
            );
        }
        Some(vec![c, oh, ow])
    }
}

/// Max pooling; padding is `-inf`.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct MaxPool(pub Window);

/// Average pooling; with `count_include_pad`, padded positions count as zeros in the divisor.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct AvgPool {
    #[serde(flatten)]
    pub window: Window,
    pub count_include_pad: bool,
}

impl Builtin for MaxPool {
    const SIGNATURE: Signature = Signature {
        name: "maxpool",
        aliases: &["max_pool", "max_pool2d", "maxpool2d", "maxpooling2d", "pool"],
        params: &WINDOW,
        variadic_tensors: false,
        summary: "max pooling",
        shapes: "`CxHxW` → `C x H' x W'`",
        weights: "-",
    };

    fn from_args(a: &Args) -> Result<MaxPool, Box<Diagnostic>> {
        Ok(MaxPool(Window::from_args(a)))
    }
}

impl OnnxForm for MaxPool {
    fn onnx(&self, cx: &mut OnnxCx) {
        cx.node("MaxPool", vec![cx.x()], self.0.onnx_attrs());
    }
}

impl TorchForm for MaxPool {
    fn module(args: &TorchArgs) -> Option<String> {
        Some(args.call(
            "nn.MaxPool2d",
            &[("kernel", ""), ("stride", "stride"), ("pad", "padding"), ("ceil_mode", "ceil_mode")],
        ))
    }
}

impl Layer for MaxPool {
    fn reach(&self, _: &[Vec<usize>]) -> Reach {
        Reach::window(self.0.kernel, [1, 1], self.0.stride)
    }

    fn label(&self) -> Cow<'static, str> {
        "maxpool".into()
    }

    fn infer(&self, cx: &mut ShapeCx) -> Option<Vec<usize>> {
        self.0.infer(cx)
    }

    fn eval(&self, e: Eval) {
        reference::maxpool2d(&self.0.geometry(&e.in_shapes[0], true), e.batch, e.inputs[0], e.out);
    }
}

impl Builtin for AvgPool {
    const SIGNATURE: Signature = Signature {
        name: "avgpool",
        aliases: &["avg_pool", "avg_pool2d", "avgpool2d", "averagepooling2d", "average_pool"],
        params: &[
            WINDOW[0],
            WINDOW[1],
            WINDOW[2],
            WINDOW[3],
            param("count_include_pad", Ty::Bool, Default::Bool(true)),
        ],
        variadic_tensors: false,
        summary: "average pooling",
        shapes: "`CxHxW` → `C x H' x W'`",
        weights: "-",
    };

    fn from_args(a: &Args) -> Result<AvgPool, Box<Diagnostic>> {
        Ok(AvgPool { window: Window::from_args(a), count_include_pad: a.flag("count_include_pad") })
    }
}

impl AvgPool {
    /// The window's geometry on a `[C, H, W]` input.
    pub fn geometry(&self, input: &[usize]) -> Pool2d {
        self.window.geometry(input, self.count_include_pad)
    }
}

impl OnnxForm for AvgPool {
    fn onnx(&self, cx: &mut OnnxCx) {
        let mut attrs = self.window.onnx_attrs();
        attrs.push(("count_include_pad", Attr::Int(self.count_include_pad as i64)));
        cx.node("AveragePool", vec![cx.x()], attrs);
    }
}

impl TorchForm for AvgPool {
    fn module(args: &TorchArgs) -> Option<String> {
        Some(args.call(
            "nn.AvgPool2d",
            &[
                ("kernel", ""),
                ("stride", "stride"),
                ("pad", "padding"),
                ("ceil_mode", "ceil_mode"),
                ("count_include_pad", "count_include_pad"),
            ],
        ))
    }
}

impl Layer for AvgPool {
    fn reach(&self, _: &[Vec<usize>]) -> Reach {
        Reach::window(self.window.kernel, [1, 1], self.window.stride)
    }

    fn label(&self) -> Cow<'static, str> {
        "avgpool".into()
    }

    fn infer(&self, cx: &mut ShapeCx) -> Option<Vec<usize>> {
        self.window.infer(cx)
    }

    fn eval(&self, e: Eval) {
        reference::avgpool2d(&self.geometry(&e.in_shapes[0]), e.batch, e.inputs[0], e.out);
    }
}

/// Adaptive pooling to an `[h, w]` map: output `(i, j)` pools the bin of rows
/// `floor(i H / h) .. ceil((i + 1) H / h)` and the like columns.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct AdaptivePool {
    pub size: [usize; 2],
}

/// Adaptive average pooling.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct AdaptiveAvgPool(pub AdaptivePool);

/// Adaptive max pooling.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct AdaptiveMaxPool(pub AdaptivePool);

const ADAPTIVE: [ParamSig; 2] = [param("h", Ty::Int, Default::Required), param("w", Ty::Int, Default::SameAs("h"))];

impl AdaptivePool {
    /// PyTorch's bins: output `i` pools input rows `floor(i H / h) .. ceil((i + 1) H / h)`, so the
    /// widest bin is the window and `H / h` the stride.
    fn reach(&self, input: &[usize]) -> Reach {
        let [_, h, w] = input[..] else { return Reach::Global };
        let widest =
            |n: usize, out: usize| (0..out).map(|i| ((i + 1) * n).div_ceil(out) - i * n / out).max().unwrap_or(1);
        let [oh, ow] = self.size;
        Reach::Window {
            extent: [((widest(h, oh) - 1) as u64, 1), ((widest(w, ow) - 1) as u64, 1)],
            stride: [(h as u64, oh as u64), (w as u64, ow as u64)],
        }
    }

    fn from_args(a: &Args) -> AdaptivePool {
        AdaptivePool { size: [a.int("h"), a.int("w")] }
    }

    fn infer(&self, cx: &mut ShapeCx) -> Option<Vec<usize>> {
        let [c, _, _] = cx.map(0)?;
        Some(vec![c, self.size[0], self.size[1]])
    }

    /// The ONNX form with pooling operator `pool` (`AveragePool` or `MaxPool`), one axis at a
    /// time (a bin is a rectangle, so pooling rows then columns pools the bin): an axis whose
    /// size the output's divides is one pool with window and stride `in / out`; otherwise each
    /// output position's bin is sliced, pooled whole and concatenated.
    fn onnx(&self, pool: &'static str, cx: &mut OnnxCx) {
        let mut x = cx.x();
        for (axis, (&n, &m)) in cx.in_shapes[0][1..].to_vec().iter().zip(&self.size).enumerate() {
            let window = |k: usize| if axis == 0 { [k, 1] } else { [1, k] };
            let pooled = |cx: &mut OnnxCx, x: String, k: usize| {
                cx.node(
                    pool,
                    vec![x],
                    vec![("kernel_shape", Attr::ints(window(k))), ("strides", Attr::ints(window(k)))],
                )
            };
            if n.is_multiple_of(m) {
                x = pooled(cx, x, n / m);
                continue;
            }
            let bins: Vec<String> = (0..m)
                .map(|i| {
                    let (start, end) = (i * n / m, ((i + 1) * n).div_ceil(m));
                    let starts = cx.constant(Value::Ints(vec![start as i64]));
                    let ends = cx.constant(Value::Ints(vec![end as i64]));
                    let axes = cx.constant(Value::Ints(vec![axis as i64 + 2]));
                    let bin = cx.node("Slice", vec![x.clone(), starts, ends, axes], vec![]);
                    pooled(cx, bin, end - start)
                })
                .collect();
            x = cx.node("Concat", bins, vec![("axis", Attr::Int(axis as i64 + 2))]);
        }
    }

    fn eval(&self, max: bool, e: Eval) {
        let s = &e.in_shapes[0];
        reference::adaptive_pool2d(max, (s[0], s[1], s[2]), (self.size[0], self.size[1]), e.batch, e.inputs[0], e.out);
    }
}

impl Builtin for AdaptiveAvgPool {
    const SIGNATURE: Signature = Signature {
        name: "adaptive_avgpool",
        aliases: &["adaptive_avg_pool2d", "adaptiveavgpool2d"],
        params: &ADAPTIVE,
        variadic_tensors: false,
        summary: "average pooling to an h x w map",
        shapes: "`CxHxW` → `C x h x w`",
        weights: "-",
    };

    fn from_args(a: &Args) -> Result<AdaptiveAvgPool, Box<Diagnostic>> {
        Ok(AdaptiveAvgPool(AdaptivePool::from_args(a)))
    }
}

impl OnnxForm for AdaptiveAvgPool {
    fn onnx(&self, cx: &mut OnnxCx) {
        self.0.onnx("AveragePool", cx)
    }
}

/// An adaptive pool's output size in PyTorch: `h`, or `(h, w)`.
fn adaptive_size(args: &TorchArgs) -> String {
    let h = args.value("h").unwrap_or_default();
    match args.given("w") {
        Some(w) => format!("({h}, {w})"),
        None => h,
    }
}

impl TorchForm for AdaptiveAvgPool {
    fn module(args: &TorchArgs) -> Option<String> {
        Some(format!("nn.AdaptiveAvgPool2d({})", adaptive_size(args)))
    }
}

impl Layer for AdaptiveAvgPool {
    fn reach(&self, inputs: &[Vec<usize>]) -> Reach {
        self.0.reach(&inputs[0])
    }

    fn label(&self) -> Cow<'static, str> {
        "adaptive_avgpool".into()
    }

    fn infer(&self, cx: &mut ShapeCx) -> Option<Vec<usize>> {
        self.0.infer(cx)
    }

    fn eval(&self, e: Eval) {
        self.0.eval(false, e)
    }
}

impl Builtin for AdaptiveMaxPool {
    const SIGNATURE: Signature = Signature {
        name: "adaptive_maxpool",
        aliases: &["adaptive_max_pool2d", "adaptivemaxpool2d"],
        params: &ADAPTIVE,
        variadic_tensors: false,
        summary: "max pooling to an h x w map",
        shapes: "`CxHxW` → `C x h x w`",
        weights: "-",
    };

    fn from_args(a: &Args) -> Result<AdaptiveMaxPool, Box<Diagnostic>> {
        Ok(AdaptiveMaxPool(AdaptivePool::from_args(a)))
    }
}

impl OnnxForm for AdaptiveMaxPool {
    fn onnx(&self, cx: &mut OnnxCx) {
        self.0.onnx("MaxPool", cx)
    }
}

impl TorchForm for AdaptiveMaxPool {
    fn module(args: &TorchArgs) -> Option<String> {
        Some(format!("nn.AdaptiveMaxPool2d({})", adaptive_size(args)))
    }
}

impl Layer for AdaptiveMaxPool {
    fn reach(&self, inputs: &[Vec<usize>]) -> Reach {
        self.0.reach(&inputs[0])
    }

    fn label(&self) -> Cow<'static, str> {
        "adaptive_maxpool".into()
    }

    fn infer(&self, cx: &mut ShapeCx) -> Option<Vec<usize>> {
        self.0.infer(cx)
    }

    fn eval(&self, e: Eval) {
        self.0.eval(true, e)
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
        aliases: &["gap", "global_average_pooling", "globalaveragepooling2d", "global_avg_pool"],
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

impl OnnxForm for GlobalAvgPool {
    fn onnx(&self, cx: &mut OnnxCx) {
        cx.unary("GlobalAveragePool", cx.x());
    }
}

torch_module!(GlobalAvgPool => "nn.AdaptiveAvgPool2d(1)", GlobalMaxPool => "nn.AdaptiveMaxPool2d(1)");

impl Layer for GlobalAvgPool {
    fn reach(&self, _: &[Vec<usize>]) -> Reach {
        Reach::Global
    }

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
        aliases: &["global_max_pooling", "globalmaxpooling2d", "global_max_pool"],
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

impl OnnxForm for GlobalMaxPool {
    fn onnx(&self, cx: &mut OnnxCx) {
        cx.unary("GlobalMaxPool", cx.x());
    }
}

impl Layer for GlobalMaxPool {
    fn reach(&self, _: &[Vec<usize>]) -> Reach {
        Reach::Global
    }

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
