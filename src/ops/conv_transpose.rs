//! `conv_transpose`: the transposed convolution (U-Net's learned upsampling).

use super::conv::{fmt_pair, groups_mismatch, largest_divisor};
use super::onnx::{Attr, OnnxCx, OnnxForm};
use super::sig::{Default, Range, Ty, param};
use super::torch::{TorchArgs, TorchForm};
use super::{Args, Builtin, Cost, Eval, Init, Layer, Reach, ShapeCx, Signature, WeightSpec};
use crate::diag::{Code, Diagnostic};
use crate::tensor::fmt_shape;
use serde::Serialize;
use std::borrow::Cow;

/// The gradient of a convolution with these parameters, as PyTorch's `ConvTranspose2d`: each
/// input pixel adds its kernel-sized, weighted footprint to the output, `stride` pixels apart.
/// Sizes are `[height, width]`.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct ConvTranspose {
    pub out: usize,
    pub kernel: [usize; 2],
    pub stride: [usize; 2],
    pub pad: [usize; 2],
    pub output_pad: [usize; 2],
    pub dilation: [usize; 2],
    pub groups: usize,
    pub bias: bool,
}

impl Builtin for ConvTranspose {
    const SIGNATURE: Signature = Signature {
        name: "conv_transpose",
        aliases: &[
            "conv_transpose2d",
            "convtranspose2d",
            "deconv",
            "deconvolution",
            "transposed_conv",
            "conv2d_transpose",
        ],
        params: &[
            param("out", Ty::Int, Default::Required),
            param("kernel", Ty::Pair, Default::Required),
            param("stride", Ty::Pair, Default::Int(1)),
            param("pad", Ty::Pair, Default::Int(0)).range(Range::Int { min: 0 }),
            param("output_pad", Ty::Pair, Default::Int(0)).range(Range::Int { min: 0 }),
            param("groups", Ty::Int, Default::Int(1)),
            param("dilation", Ty::Pair, Default::Int(1)),
            param("bias", Ty::Bool, Default::Bool(true)),
        ],
        variadic_tensors: false,
        summary: "transposed convolution",
        shapes: "`CxHxW` → `out x H' x W'`, `H' = (H-1)*stride - 2*pad + dilation*(kernel-1) + output_pad + 1`",
        weights: "`C*out/groups*kh*kw` (+ `out`)",
    };

    fn from_args(a: &Args) -> Result<ConvTranspose, Box<Diagnostic>> {
        let (stride, dilation, output_pad) = (a.pair("stride"), a.pair("dilation"), a.pair("output_pad"));
        if (0..2).any(|i| output_pad[i] >= stride[i].max(dilation[i])) {
            let limit = [0, 1].map(|i| stride[i].max(dilation[i]) - 1);
            return Err(Box::new(
                Diagnostic::error(
                    Code::BadValue,
                    format!("`output_pad` {} is not below the stride or dilation", fmt_pair(output_pad)),
                    a.call,
                    "output padding too large",
                )
                .with_note("output padding picks one of the output sizes a strided convolution maps to the same input size; it must be smaller than the stride or the dilation")
                .with_help(format!("use `output_pad = {}` or less", fmt_pair(limit))),
            ));
        }
        Ok(ConvTranspose {
            out: a.int("out"),
            kernel: a.pair("kernel"),
            stride,
            pad: a.pair("pad"),
            output_pad,
            dilation,
            groups: a.int("groups"),
            bias: a.flag("bias"),
        })
    }
}

impl ConvTranspose {
    /// The output size along axis `i` of an input of `len`, if positive.
    fn out_len(&self, i: usize, len: usize) -> Option<usize> {
        let grown = (len - 1) * self.stride[i] + self.dilation[i] * (self.kernel[i] - 1) + self.output_pad[i] + 1;
        grown.checked_sub(2 * self.pad[i]).filter(|&n| n > 0)
    }
}

impl OnnxForm for ConvTranspose {
    fn onnx(&self, cx: &mut OnnxCx) {
        let mut inputs = vec![cx.x(), cx.weight(0)];
        if self.bias {
            inputs.push(cx.weight(1));
        }
        let [ph, pw] = self.pad;
        let attrs = vec![
            ("kernel_shape", Attr::ints(self.kernel)),
            ("strides", Attr::ints(self.stride)),
            ("pads", Attr::ints([ph, pw, ph, pw])),
            ("output_padding", Attr::ints(self.output_pad)),
            ("dilations", Attr::ints(self.dilation)),
            ("group", Attr::Int(self.groups as i64)),
        ];
        cx.node("ConvTranspose", inputs, attrs);
    }
}

impl TorchForm for ConvTranspose {
    fn module(args: &TorchArgs) -> Option<String> {
        Some(args.call(
            "nn.LazyConvTranspose2d",
            &[
                ("out", ""),
                ("kernel", ""),
                ("stride", "stride"),
                ("pad", "padding"),
                ("output_pad", "output_padding"),
                ("groups", "groups"),
                ("bias", "bias"),
                ("dilation", "dilation"),
            ],
        ))
    }
}

impl Layer for ConvTranspose {
    /// An output position reads the input positions whose taps land on it: at most
    /// `floor(d (k - 1) / s) + 1` of them, `1 / s` output steps apart.
    fn reach(&self, _: &[Vec<usize>]) -> Reach {
        let extent = [0, 1].map(|i| (self.dilation[i] * (self.kernel[i] - 1) / self.stride[i]) as u64);
        Reach::Window { extent: extent.map(|e| (e, 1)), stride: self.stride.map(|s| (1, s as u64)) }
    }

    fn label(&self) -> Cow<'static, str> {
        "conv_transpose".into()
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
            let fix = format!("make `out` a multiple of {g}, e.g. `conv_transpose({}, ...)`", self.out.div_ceil(g) * g);
            groups_mismatch(cx, "the output's", self.out, g, fix);
            return None;
        }
        let (Some(oh), Some(ow)) = (self.out_len(0, h), self.out_len(1, w)) else {
            cx.diags.push(
                Diagnostic::error(
                    Code::MapTooSmall,
                    format!("`conv_transpose` with padding {} leaves nothing of the {h}x{w} map", fmt_pair(self.pad)),
                    cx.span,
                    format!("the input is {}", fmt_shape(&cx.inputs[0])),
                )
                .with_help("lower `pad`, or use a larger kernel or stride"),
            );
            return None;
        };
        Some(vec![self.out, oh, ow])
    }

    fn cost(&self, inputs: &[Vec<usize>], _: &[usize]) -> Cost {
        let per_in = (self.out / self.groups * self.kernel[0] * self.kernel[1]) as u64;
        let c = inputs[0][0] as u64;
        let pixels = inputs[0][1..].iter().map(|&d| d as u64).product::<u64>();
        Cost { params: c * per_in + if self.bias { self.out as u64 } else { 0 }, flops: 2 * c * per_in * pixels }
    }

    fn weights(&self, inputs: &[Vec<usize>]) -> Vec<WeightSpec> {
        let [kh, kw] = self.kernel;
        let c = inputs[0][0];
        // PyTorch's fan-in of a transposed convolution's weight `[in, out / groups, kh, kw]`.
        let fan_in = self.out / self.groups * kh * kw;
        let mut w = vec![WeightSpec {
            kind: "weight",
            shape: vec![c, self.out / self.groups, kh, kw],
            init: Init::He { fan_in },
        }];
        if self.bias {
            w.push(WeightSpec { kind: "bias", shape: vec![self.out], init: Init::Bias { fan_in } });
        }
        w
    }

    fn eval(&self, e: Eval) {
        let [c, h, w] = e.in_shapes[0][..] else { panic!("a checked conv_transpose input is CxHxW") };
        let [oh, ow] = [e.shape[1], e.shape[2]];
        let (cg, og) = (c / self.groups, self.out / self.groups);
        let [kh, kw] = self.kernel;
        let weight = &e.params[0].data;
        let mut plane = vec![0.0f64; oh * ow];
        for (o, x) in e.out.chunks_mut(self.out * oh * ow).zip(e.inputs[0].chunks(c * h * w)) {
            for (oc, out_plane) in o.chunks_mut(oh * ow).enumerate() {
                let group = oc / og;
                plane.fill(if self.bias { e.params[1].data[oc] as f64 } else { 0.0 });
                for ic in group * cg..(group + 1) * cg {
                    let xc = &x[ic * h * w..][..h * w];
                    for ky in 0..kh {
                        for kx in 0..kw {
                            let wv = weight[((ic * og + oc % og) * kh + ky) * kw + kx] as f64;
                            for iy in 0..h {
                                let Some(oy) = (iy * self.stride[0] + ky * self.dilation[0]).checked_sub(self.pad[0])
                                else {
                                    continue;
                                };
                                if oy >= oh {
                                    continue;
                                }
                                for ix in 0..w {
                                    let Some(ox) =
                                        (ix * self.stride[1] + kx * self.dilation[1]).checked_sub(self.pad[1])
                                    else {
                                        continue;
                                    };
                                    if ox < ow {
                                        plane[oy * ow + ox] += wv * xc[iy * w + ix] as f64;
                                    }
                                }
                            }
                        }
                    }
                }
                for (d, &s) in out_plane.iter_mut().zip(&plane) {
                    *d = s as f32;
                }
            }
        }
    }
}
