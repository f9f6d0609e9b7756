//! The ONNX form of an operation: which ONNX nodes compute it. Each op implements
//! [`OnnxForm`] in its own file (just before its `impl Layer`); the top-level `onnx` module turns the nodes
//! into protobuf. This module knows ONNX's operators and attributes, not its file format.

use crate::kernels::Act;

/// An attribute value of an ONNX node.
#[derive(Clone, Debug, PartialEq)]
pub enum Attr {
    Int(i64),
    Ints(Vec<i64>),
    Float(f32),
    Str(&'static str),
}

/// A constant a node reads (an ONNX `Constant` node).
#[derive(Clone, Debug, PartialEq)]
pub enum Value {
    Ints(Vec<i64>),
    Floats { dims: Vec<usize>, data: Vec<f32> },
}

/// One ONNX node: its operator, the tensors it reads, the one it writes, its attributes.
/// `value` is set on `Constant` nodes.
#[derive(Clone, Debug, PartialEq)]
pub struct OnnxNode {
    pub op_type: &'static str,
    pub inputs: Vec<String>,
    pub output: String,
    pub attrs: Vec<(&'static str, Attr)>,
    pub value: Option<Value>,
}

/// What an op's ONNX form sees of its layer, and where its nodes go. Tensors are named by
/// strings: the operands', the weights' (initializers named `<path>.<kind>`) and those of the
/// nodes added before. Tensors carry the batch as their first axis.
pub struct OnnxCx<'a> {
    /// The layer's path; its nodes and their outputs are named after it.
    pub path: &'a str,
    /// The operands' tensor names.
    pub inputs: &'a [String],
    /// The operands' per-sample shapes.
    pub in_shapes: &'a [Vec<usize>],
    /// The layer's per-sample output shape.
    pub shape: &'a [usize],
    /// The layer's weights, in the order of `Layer::weights`.
    pub weights: &'a [String],
    /// The target opset version.
    pub opset: i64,
    /// The nodes added so far; the last one's output is the layer's value.
    pub nodes: Vec<OnnxNode>,
}

impl OnnxCx<'_> {
    /// Adds an `op_type` node reading `inputs`; returns the name of the tensor it writes.
    pub fn node(&mut self, op_type: &'static str, inputs: Vec<String>, attrs: Vec<(&'static str, Attr)>) -> String {
        let output = format!("{}/{}", self.path, self.nodes.len());
        self.nodes.push(OnnxNode { op_type, inputs, output: output.clone(), attrs, value: None });
        output
    }

    /// A constant tensor; returns its name.
    pub fn constant(&mut self, value: Value) -> String {
        let output = format!("{}/{}", self.path, self.nodes.len());
        self.nodes.push(OnnxNode {
            op_type: "Constant",
            inputs: vec![],
            output: output.clone(),
            attrs: vec![],
            value: Some(value),
        });
        output
    }

    /// A scalar float constant.
    pub fn scalar(&mut self, v: f32) -> String {
        self.constant(Value::Floats { dims: vec![], data: vec![v] })
    }

    /// A one-input node without attributes on `x`.
    pub fn unary(&mut self, op_type: &'static str, x: String) -> String {
        self.node(op_type, vec![x], vec![])
    }

    /// Operand 0.
    pub fn x(&self) -> String {
        self.inputs[0].clone()
    }

    /// Weight `i`'s initializer.
    pub fn weight(&self, i: usize) -> String {
        self.weights[i].clone()
    }

    /// A `[C]` weight as `[C, 1, 1]` (as many ones as the output has axes after the channels),
    /// to broadcast over the maps of a `[N, C, H, W]` tensor.
    pub fn per_channel(&mut self, w: String) -> String {
        let r = self.shape.len();
        if r == 1 {
            return w;
        }
        let axes = self.constant(Value::Ints((1..r as i64).collect()));
        self.node("Unsqueeze", vec![w, axes], vec![])
    }

    /// Operand `x` as `[N, features]` when a sample is not already a vector.
    pub fn flat(&mut self, x: String, shape: &[usize]) -> String {
        if shape.len() == 1 { x } else { self.node("Flatten", vec![x], vec![("axis", Attr::Int(1))]) }
    }

    /// `act(x)`, a kernel activation.
    pub fn act(&mut self, x: String, act: Act) -> String {
        match act {
            Act::Relu => self.unary("Relu", x),
            Act::Clip(lo, hi) => {
                let (lo, hi) = (self.scalar(lo), self.scalar(hi));
                self.node("Clip", vec![x, lo, hi], vec![])
            }
            Act::LeakyRelu(slope) => self.node("LeakyRelu", vec![x], vec![("alpha", Attr::Float(slope))]),
            Act::Sigmoid => self.unary("Sigmoid", x),
            Act::Silu => {
                let s = self.unary("Sigmoid", x.clone());
                self.node("Mul", vec![x, s], vec![])
            }
            Act::HardSigmoid => {
                self.node("HardSigmoid", vec![x], vec![("alpha", Attr::Float(1.0 / 6.0)), ("beta", Attr::Float(0.5))])
            }
            Act::HardSwish => self.unary("HardSwish", x),
        }
    }

    /// `act(x)` when there is one.
    pub fn maybe_act(&mut self, x: String, act: Option<Act>) -> String {
        match act {
            Some(a) => self.act(x, a),
            None => x,
        }
    }
}

/// How an op is computed in ONNX: the nodes it adds to `cx`, the last of which writes the
/// layer's value. A pass-through op adds an `Identity`, so every layer has a node of its name.
pub trait OnnxForm {
    fn onnx(&self, cx: &mut OnnxCx);
}

impl Attr {
    /// A list of sizes.
    pub fn ints(v: impl IntoIterator<Item = usize>) -> Attr {
        Attr::Ints(v.into_iter().map(|x| x as i64).collect())
    }
}

/// A [`crate::ops::Layer`] that is a kernel activation: its ONNX form.
pub fn kernel_activation(act: Option<Act>, cx: &mut OnnxCx) {
    let x = cx.x();
    match act {
        Some(a) => cx.act(x, a),
        None => cx.unary("Identity", x),
    };
}
