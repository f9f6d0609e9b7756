//! The operations of the IR, each in one place.
//!
//! An op is a type in one of this module's files carrying everything netc knows about it: its
//! signature as a built-in layer ([`Builtin`]), how it is built from a call's arguments, its
//! shape rule, its parameters and FLOPs, its weights (names, shapes, how they are generated), the
//! attributes it exports and its reference kernel ([`Layer`]). The [`Op`] enum and its dispatch
//! are generated from the list at the bottom of this file, so adding an op is one new type, one
//! line in that list, and the holes the compiler then points at (exhaustive matches in the
//! passes and back ends, the ONNX and PyTorch forms the list requires).

mod activation;
mod add;
mod batchnorm;
mod channels;
mod concat;
mod conv;
mod conv_transpose;
mod dense;
mod dropout;
mod input;
mod mul;
mod norm;
pub mod onnx;
mod pool;
mod reshape;
pub mod sig;
mod softmax;
pub mod torch;
mod upsample;

pub use activation::{Activation, Clip, Gelu, HardSigmoid, HardSwish, LeakyRelu, Relu, Relu6, Sigmoid, Silu, Tanh};
pub use add::Add;
pub use batchnorm::BatchNorm;
pub use channels::{ChannelShuffle, Slice};
pub use concat::Concat;
pub use conv::Conv;
pub use conv_transpose::ConvTranspose;
pub use dense::Dense;
pub use dropout::{Dropout, StochasticDepth};
pub use input::{Input, Normalize};
pub use mul::Mul;
pub use norm::{LayerNorm, Scale};
pub use pool::{AdaptiveAvgPool, AdaptiveMaxPool, AvgPool, GlobalAvgPool, GlobalMaxPool, MaxPool, Window};
pub use reshape::{Flatten, Identity};
pub use sig::{Args, Signature};
pub use softmax::Softmax;
pub use upsample::Upsample;

use crate::diag::{Code, Diagnostic};
use crate::source::Span;
use crate::tensor::{Tensor, fmt_shape};
use serde::Serialize;
use std::borrow::Cow;
use std::ops::RangeInclusive;

/// Where an operand of a multi-input operation comes from, for diagnostics.
#[derive(Clone, Debug, PartialEq)]
pub struct Operand {
    /// Where the operand's value was defined (a `let`, or the stage that produced it).
    pub span: Span,
    /// The tensor's name when the operand was written as one.
    pub name: Option<String>,
    /// Where the operand is written in the op's own syntax, for fixes that rewrite it: the name
    /// in `add(a, b)`; for a residual, its shortcut's chain, or the whole `residual { ... }`
    /// stage when it has none; the previous stage for a chain's implicit operand.
    pub written: Span,
}

/// How an add came to be written: the residual form or an explicit `add(a, b)`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum SkipKind {
    /// `residual { body }` (operand 0 is the shortcut, operand 1 the body).
    Residual { has_shortcut: bool },
    /// `add(a, b)` or `a -> add(b)`.
    Explicit,
}

/// How a weight's values are generated when no trained weights are given (`netc run --seed`);
/// see `weights::init` for the formulas.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum Init {
    /// A conv or dense weight: He uniform.
    He { fan_in: usize },
    /// A conv or dense bias: PyTorch's default scale.
    Bias { fan_in: usize },
    /// A normalization's scale: near 1.
    NormScale,
    /// A normalization's shift or running mean: near 0.
    NormShift,
    /// A running variance: between 1 and 1.5.
    NormVar,
}

/// One weight tensor of a layer: `<path>.<kind>`, in PyTorch's layout.
#[derive(Clone, Debug, PartialEq)]
pub struct WeightSpec {
    pub kind: &'static str,
    pub shape: Vec<usize>,
    pub init: Init,
}

/// How far one position of a layer's output reaches into its first operand, along rows and
/// columns: what receptive fields are made of (`check::receptive`). Fractions are
/// `(numerator, denominator)`: upsampling moves less than one input step per output step.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Reach {
    /// The same position: elementwise layers, normalizations, channel operations.
    Pointwise,
    /// A window spanning `extent` input steps (a 3-tap window spans 2), whose outputs are
    /// `stride` input steps apart.
    Window { extent: [(u64, u64); 2], stride: [(u64, u64); 2] },
    /// Every position: global pools, `flatten`, `dense`.
    Global,
}

impl Reach {
    /// A window of `kernel` taps `dilation` apart, moved by `stride`.
    pub fn window(kernel: [usize; 2], dilation: [usize; 2], stride: [usize; 2]) -> Reach {
        Reach::Window {
            extent: [0, 1].map(|i| ((dilation[i] * (kernel[i] - 1)) as u64, 1)),
            stride: stride.map(|s| (s as u64, 1)),
        }
    }
}

/// A layer's trainable parameters and FLOPs (2 per multiply-add) per sample.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Cost {
    pub params: u64,
    pub flops: u64,
}

/// What a shape rule sees of its node: the operands' per-sample shapes (all known), where the
/// node was written, and where its operands come from; and where its diagnostics go.
pub struct ShapeCx<'a> {
    pub inputs: &'a [Vec<usize>],
    pub span: Span,
    /// The op as shown to the user (`conv`, `maxpool`, ...).
    pub op: &'a str,
    pub operands: &'a [Operand],
    pub skip: Option<SkipKind>,
    pub diags: &'a mut Vec<Diagnostic>,
}

impl ShapeCx<'_> {
    /// Operand `i` as a `[C, H, W]` map, or an E0016 diagnostic.
    pub fn map(&mut self, i: usize) -> Option<[usize; 3]> {
        match self.inputs[i][..] {
            [c, h, w] => Some([c, h, w]),
            _ => {
                let d = Diagnostic::error(
                    Code::RankMismatch,
                    format!(
                        "`{}` needs a CxHxW feature map, but its input is a vector of {}",
                        self.op,
                        fmt_shape(&self.inputs[i])
                    ),
                    self.span,
                    "input is not a feature map",
                )
                .with_help(
                    "spatial layers must come before `flatten` or `dense`; move this layer earlier in the chain",
                );
                self.diags.push(d);
                None
            }
        }
    }

    /// E0009: a window spanning `span` (`[h, w]`, dilation included) does not fit operand 0's
    /// map padded by `pad` (`[h, w]`, both sides summed).
    pub fn too_small(&mut self, span: [usize; 2], pad: [usize; 2]) {
        let input = &self.inputs[0];
        let (h, w) = (input[1], input[2]);
        let d = Diagnostic::error(
            Code::MapTooSmall,
            format!("`{}` with a {}x{} window does not fit the {h}x{w} map", self.op, span[0], span[1]),
            self.span,
            format!("input is {}, padded to {}x{}", fmt_shape(input), h + pad[0], w + pad[1]),
        )
        .with_note("earlier strides and pools have shrunk the map below the window")
        .with_help(
            "remove a downsampling layer before this one, use a larger input (`--input-shape`), or a smaller window",
        );
        self.diags.push(d);
    }
}

/// One execution of a layer's reference kernel on a batch: operand `i` holds `batch` samples of
/// `in_shapes[i]`, `out` receives `batch` samples of `shape`.
pub struct Eval<'a> {
    pub batch: usize,
    pub threads: usize,
    pub inputs: &'a [&'a [f32]],
    pub in_shapes: &'a [Vec<usize>],
    pub shape: &'a [usize],
    /// The layer's weights, in the order of [`Layer::weights`].
    pub params: &'a [Tensor],
    pub out: &'a mut [f32],
}

/// What every operation knows about itself.
pub trait Layer {
    /// The op as shown in the layer table and JSON: its name, with `+relu` etc. when fused.
    fn label(&self) -> Cow<'static, str>;
    /// How many operands it takes.
    fn operands(&self) -> RangeInclusive<usize> {
        1..=1
    }
    /// The output's per-sample shape from the operands', or `None` after reporting why not.
    fn infer(&self, cx: &mut ShapeCx) -> Option<Vec<usize>>;
    /// Parameters and FLOPs per sample, given the operand and output shapes. FLOPs count the
    /// multiply-adds of conv and dense layers (twice), as PyTorch's flop counter does; the
    /// default is a layer without either.
    fn cost(&self, _inputs: &[Vec<usize>], _output: &[usize]) -> Cost {
        Cost::default()
    }
    /// The weights the layer reads, given its operand shapes; by default none.
    fn weights(&self, _inputs: &[Vec<usize>]) -> Vec<WeightSpec> {
        Vec::new()
    }
    /// What PyTorch keeps beside the layer's weights for training only (`num_batches_tracked`):
    /// weight files may hold `<path>.<kind>` of these, and inference ignores them.
    fn training_state(&self) -> &'static [&'static str] {
        &[]
    }
    /// The kernel activation this layer is, if it is one: the optimizer fuses it into the
    /// convolution or dense layer before it.
    fn act(&self) -> Option<crate::kernels::Act> {
        None
    }
    /// How far an output position reaches into operand 0 (given the operands' shapes); by
    /// default, the same position.
    fn reach(&self, _inputs: &[Vec<usize>]) -> Reach {
        Reach::Pointwise
    }
    /// True for layers that pass their input through at inference (`identity`, `dropout`):
    /// the optimizer removes them.
    fn passes_through(&self) -> bool {
        false
    }
    /// Computes the layer: the readable reference kernel, netc's ground truth.
    fn eval(&self, e: Eval);
}

/// A layer that source code calls by name.
pub trait Builtin: Layer + Sized {
    const SIGNATURE: Signature;
    /// Builds the op from a call's arguments, which match [`Builtin::SIGNATURE`].
    fn from_args(args: &Args) -> Result<Self, Box<Diagnostic>>;
}

/// A built-in layer in the registry: its signature, how a call builds it and how PyTorch
/// writes it.
pub struct Entry {
    pub sig: &'static Signature,
    pub build: fn(&Args) -> Result<Op, Box<Diagnostic>>,
    /// Its PyTorch form (`netc emit pytorch`).
    pub torch: torch::TorchEntry,
}

/// Generates [`Op`] with its dispatch and the registry [`BUILTINS`] from the list of ops:
/// `declared` ones are not called by name (inputs), `builtins` are.
macro_rules! ops {
    (declared: $($dv:ident($dt:ty)),* ; builtins: $($v:ident($t:ty)),* $(,)?) => {
        /// One operation of the IR. Shapes are per sample (the batch is implicit).
        #[derive(Clone, Debug, PartialEq, Serialize)]
        #[serde(untagged)]
        pub enum Op {
            $($dv($dt),)*
            $($v($t),)*
        }

        impl Op {
            fn layer(&self) -> &dyn Layer {
                match self {
                    $(Op::$dv(o) => o,)*
                    $(Op::$v(o) => o,)*
                }
            }
        }

        impl Op {
            /// The op's ONNX form.
            pub fn onnx_form(&self) -> &dyn onnx::OnnxForm {
                match self {
                    $(Op::$dv(o) => o,)*
                    $(Op::$v(o) => o,)*
                }
            }
        }

        /// Every built-in layer, in the order the book lists them.
        pub static BUILTINS: &[Entry] = &[
            $(Entry {
                sig: &<$t as Builtin>::SIGNATURE,
                build: |a| <$t as Builtin>::from_args(a).map(Op::$v),
                torch: torch::TorchEntry::of::<$t>(),
            },)*
        ];
    };
}

ops! {
    declared: Input(Input);
    builtins:
        Conv(Conv),
        ConvTranspose(ConvTranspose),
        Relu(Relu),
        Relu6(Relu6),
        LeakyRelu(LeakyRelu),
        Sigmoid(Sigmoid),
        Tanh(Tanh),
        Silu(Silu),
        Gelu(Gelu),
        HardSwish(HardSwish),
        HardSigmoid(HardSigmoid),
        Clip(Clip),
        MaxPool(MaxPool),
        AvgPool(AvgPool),
        AdaptiveAvgPool(AdaptiveAvgPool),
        AdaptiveMaxPool(AdaptiveMaxPool),
        GlobalAvgPool(GlobalAvgPool),
        GlobalMaxPool(GlobalMaxPool),
        Upsample(Upsample),
        BatchNorm(BatchNorm),
        LayerNorm(LayerNorm),
        Scale(Scale),
        Add(Add),
        Mul(Mul),
        Concat(Concat),
        Slice(Slice),
        ChannelShuffle(ChannelShuffle),
        Flatten(Flatten),
        Dense(Dense),
        Softmax(Softmax),
        Dropout(Dropout),
        StochasticDepth(StochasticDepth),
        Identity(Identity),
}

impl Op {
    /// The op as shown in the layer table (with `+relu` when fused).
    pub fn name(&self) -> String {
        self.layer().label().into_owned()
    }

    pub fn operands(&self) -> RangeInclusive<usize> {
        self.layer().operands()
    }

    pub fn infer(&self, cx: &mut ShapeCx) -> Option<Vec<usize>> {
        self.layer().infer(cx)
    }

    pub fn cost(&self, inputs: &[Vec<usize>], output: &[usize]) -> Cost {
        self.layer().cost(inputs, output)
    }

    pub fn weights(&self, inputs: &[Vec<usize>]) -> Vec<WeightSpec> {
        self.layer().weights(inputs)
    }

    pub fn eval(&self, e: Eval) {
        self.layer().eval(e)
    }

    pub fn passes_through(&self) -> bool {
        self.layer().passes_through()
    }

    pub fn training_state(&self) -> &'static [&'static str] {
        self.layer().training_state()
    }

    pub fn act(&self) -> Option<crate::kernels::Act> {
        self.layer().act()
    }

    pub fn reach(&self, inputs: &[Vec<usize>]) -> Reach {
        self.layer().reach(inputs)
    }

    /// The op's attributes as JSON (`netc check --format json`).
    pub fn attrs(&self) -> serde_json::Value {
        serde_json::to_value(self).unwrap_or_default()
    }
}

/// The built-in named `name`.
pub fn builtin(name: &str) -> Option<&'static Entry> {
    BUILTINS.iter().find(|b| b.sig.name == name)
}
