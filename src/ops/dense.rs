//! `dense`: a fully connected layer.

use super::onnx::{Attr, OnnxCx, OnnxForm};
use super::sig::{Default, Ty, param};
use super::torch::{TorchArgs, TorchForm};
use super::{Args, Builtin, Cost, Eval, Init, Layer, Reach, ShapeCx, Signature, WeightSpec};
use crate::diag::{Applicability, Code, Diagnostic, Suggestion};
use crate::kernels::{Act, reference};
use crate::source::Span;
use crate::tensor::fmt_shape;
use serde::Serialize;
use std::borrow::Cow;

/// `out` outputs from all of its input's features (a map is flattened); `act` is set by
/// fusion. `in_features` is the size the author declared, if any, and where.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct Dense {
    pub out: usize,
    pub bias: bool,
    pub act: Option<Act>,
    #[serde(skip)]
    pub in_features: Option<(usize, Span)>,
}

impl Builtin for Dense {
    const SIGNATURE: Signature = Signature {
        name: "dense",
        aliases: &["linear", "fc", "fully_connected", "fullyconnected", "ffn"],
        params: &[
            param("out", Ty::Int, Default::Required),
            param("bias", Ty::Bool, Default::Bool(true)),
            param("in_features", Ty::Int, Default::Absent),
        ],
        variadic_tensors: false,
        summary: "fully connected layer; flattens its input",
        shapes: "any `N` features → `out`",
        weights: "`out*N` (+ `out`)",
    };

    fn from_args(a: &Args) -> Result<Dense, Box<Diagnostic>> {
        Ok(Dense {
            out: a.int("out"),
            bias: a.flag("bias"),
            act: None,
            in_features: a.opt_int("in_features").zip(a.spans.get("in_features").copied()),
        })
    }
}

impl OnnxForm for Dense {
    fn onnx(&self, cx: &mut OnnxCx) {
        let x = cx.flat(cx.x(), &cx.in_shapes[0].clone());
        let mut inputs = vec![x, cx.weight(0)];
        if self.bias {
            inputs.push(cx.weight(1));
        }
        let y = cx.node("Gemm", inputs, vec![("transB", Attr::Int(1))]);
        cx.maybe_act(y, self.act);
    }
}

impl TorchForm for Dense {
    /// `nn.Linear` when the call declares its input size, else lazy.
    fn module(args: &TorchArgs) -> Option<String> {
        Some(match args.given("in_features") {
            Some(_) => args.call("nn.Linear", &[("in_features", ""), ("out", ""), ("bias", "bias")]),
            None => args.call("nn.LazyLinear", &[("out", ""), ("bias", "bias")]),
        })
    }

    /// A dense layer flattens a map itself.
    fn forward(_: &TorchArgs, layer: &str, inputs: &[String]) -> String {
        format!("{layer}({}.flatten(1))", inputs[0])
    }
}

impl Layer for Dense {
    fn reach(&self, _: &[Vec<usize>]) -> Reach {
        Reach::Global
    }

    fn label(&self) -> Cow<'static, str> {
        match self.act {
            None => "dense".into(),
            Some(a) => format!("dense+{}", a.name()).into(),
        }
    }

    fn infer(&self, cx: &mut ShapeCx) -> Option<Vec<usize>> {
        let input = &cx.inputs[0];
        let n: usize = input.iter().product();
        if let Some((declared, at)) = self.in_features
            && declared != n
        {
            let received = if input.len() > 1 {
                format!("a {} map = {n} features", fmt_shape(input))
            } else {
                format!("{n} features")
            };
            cx.diags.push(
                Diagnostic::error(
                    Code::DenseMismatch,
                    format!("dense layer declared for {declared} inputs receives {n}"),
                    cx.span,
                    format!("receives {received}"),
                )
                .with_fix(
                    format!("write `in_features = {n}`, or drop `in_features` and let netc infer it"),
                    // The declared count is only checked: correcting it computes the same.
                    Suggestion::replace(at, n.to_string(), Applicability::MachineApplicable),
                ),
            );
        }
        Some(vec![self.out])
    }

    fn cost(&self, inputs: &[Vec<usize>], _: &[usize]) -> Cost {
        let n = inputs[0].iter().map(|&d| d as u64).product::<u64>();
        let out = self.out as u64;
        Cost { params: out * n + if self.bias { out } else { 0 }, flops: 2 * n * out }
    }

    fn weights(&self, inputs: &[Vec<usize>]) -> Vec<WeightSpec> {
        let fan_in = inputs[0].iter().product();
        let mut w = vec![WeightSpec { kind: "weight", shape: vec![self.out, fan_in], init: Init::He { fan_in } }];
        if self.bias {
            w.push(WeightSpec { kind: "bias", shape: vec![self.out], init: Init::Bias { fan_in } });
        }
        w
    }

    fn eval(&self, e: Eval) {
        let in_f = e.in_shapes[0].iter().product();
        let bias = self.bias.then(|| e.params[1].data.as_slice());
        reference::dense(in_f, self.out, e.batch, e.inputs[0], &e.params[0].data, bias, self.act, e.out);
    }
}
