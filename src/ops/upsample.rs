//! `upsample`: enlarging maps by an integer factor, nearest or bilinear (PyTorch's
//! `align_corners = False`).

use super::onnx::{Attr, OnnxCx, OnnxForm, Value};
use super::sig::{Default, Ty, param};
use super::torch::{TorchArgs, TorchForm};
use super::{Args, Builtin, Eval, Layer, Reach, ShapeCx, Signature};
use crate::diag::Diagnostic;
use serde::Serialize;
use std::borrow::Cow;

/// Each map enlarged `scale` (`[h, w]`) times: `nearest` repeats pixels; `bilinear`
/// interpolates, output pixel `o` sampling input coordinate `(o + 0.5) / scale - 0.5` (clamped
/// at 0), as PyTorch does with `align_corners = False`.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct Upsample {
    pub scale: [usize; 2],
    pub mode: &'static str,
}

impl Builtin for Upsample {
    const SIGNATURE: Signature = Signature {
        name: "upsample",
        aliases: &["interpolate", "upsampling", "upsampling2d", "resize"],
        params: &[
            param("scale", Ty::Pair, Default::Int(2)),
            param("mode", Ty::Mode(&["nearest", "bilinear"]), Default::Sym("nearest")),
        ],
        variadic_tensors: false,
        summary: "enlarges maps `scale` times, `nearest` or `bilinear`",
        shapes: "`CxHxW` → `C x H*scale x W*scale`",
        weights: "-",
    };

    fn from_args(a: &Args) -> Result<Upsample, Box<Diagnostic>> {
        Ok(Upsample { scale: a.pair("scale"), mode: a.mode("mode") })
    }
}

/// Along one axis of `len` inputs scaled `scale` times: for each output, the two inputs it
/// interpolates and the second one's weight.
fn taps(len: usize, scale: usize) -> Vec<(usize, usize, f64)> {
    (0..len * scale)
        .map(|o| {
            let src = ((o as f64 + 0.5) / scale as f64 - 0.5).max(0.0);
            let i0 = (src.floor() as usize).min(len - 1);
            let i1 = (i0 + 1).min(len - 1);
            (i0, i1, src - i0 as f64)
        })
        .collect()
}

impl OnnxForm for Upsample {
    fn onnx(&self, cx: &mut OnnxCx) {
        let [sh, sw] = self.scale.map(|s| s as f32);
        let scales = cx.constant(Value::Floats { dims: vec![4], data: vec![1.0, 1.0, sh, sw] });
        // Nearest: input pixel floor(o / scale); bilinear: PyTorch's half-pixel centres.
        let attrs = if self.mode == "nearest" {
            vec![
                ("mode", Attr::Str("nearest")),
                ("coordinate_transformation_mode", Attr::Str("asymmetric")),
                ("nearest_mode", Attr::Str("floor")),
            ]
        } else {
            vec![("mode", Attr::Str("linear")), ("coordinate_transformation_mode", Attr::Str("pytorch_half_pixel"))]
        };
        cx.node("Resize", vec![cx.x(), String::new(), scales], attrs);
    }
}

impl TorchForm for Upsample {
    /// PyTorch's `nearest` and `bilinear` (with `align_corners = False`) are netc's; its
    /// `scale_factor` takes `[h, w]` as a tuple.
    fn module(args: &TorchArgs) -> Option<String> {
        let scale = args.value("scale").unwrap_or_default();
        let scale = match scale.strip_prefix('[').and_then(|s| s.strip_suffix(']')) {
            Some(pair) => format!("({pair})"),
            None => scale,
        };
        let mode = args.given("mode").map(|m| format!(", mode={m}")).unwrap_or_default();
        Some(format!("nn.Upsample(scale_factor={scale}{mode})"))
    }
}

impl Layer for Upsample {
    /// Nearest neighbour reads one input pixel, bilinear two neighbours along each axis.
    fn reach(&self, _: &[Vec<usize>]) -> Reach {
        let extent = if self.mode == "nearest" { 0 } else { 1 };
        Reach::Window { extent: [(extent, 1); 2], stride: self.scale.map(|s| (1, s as u64)) }
    }

    fn label(&self) -> Cow<'static, str> {
        "upsample".into()
    }

    fn infer(&self, cx: &mut ShapeCx) -> Option<Vec<usize>> {
        let [c, h, w] = cx.map(0)?;
        Some(vec![c, h * self.scale[0], w * self.scale[1]])
    }

    fn eval(&self, e: Eval) {
        let (h, w) = (e.in_shapes[0][1], e.in_shapes[0][2]);
        let [sh, sw] = self.scale;
        let (oh, ow) = (h * sh, w * sw);
        let planes = e.out.chunks_mut(oh * ow).zip(e.inputs[0].chunks(h * w));
        if self.mode == "nearest" {
            for (o, x) in planes {
                for oy in 0..oh {
                    for ox in 0..ow {
                        o[oy * ow + ox] = x[(oy / sh) * w + ox / sw];
                    }
                }
            }
            return;
        }
        let (ys, xs) = (taps(h, sh), taps(w, sw));
        for (o, x) in planes {
            for (oy, &(y0, y1, fy)) in ys.iter().enumerate() {
                for (ox, &(x0, x1, fx)) in xs.iter().enumerate() {
                    let at = |y: usize, xx: usize| x[y * w + xx] as f64;
                    let top = at(y0, x0) * (1.0 - fx) + at(y0, x1) * fx;
                    let bottom = at(y1, x0) * (1.0 - fx) + at(y1, x1) * fx;
                    o[oy * ow + ox] = (top * (1.0 - fy) + bottom * fy) as f32;
                }
            }
        }
    }
}
