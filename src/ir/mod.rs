//! The network IR: a petgraph of layers, each with its source span and stable path.
//! Lowering from the AST ([`lower`]) expands every block call, so the graph is flat.

mod builtins;
mod export;
mod lower;

pub use builtins::{BUILTINS, Builtin};
pub use export::graph_json;
pub use lower::{LowerOptions, lower};

use crate::source::Span;
use petgraph::Direction;
use petgraph::stable_graph::{NodeIndex, StableDiGraph};
use petgraph::visit::EdgeRef;

/// Input preprocessing declared in the `.net` file: `x' = (x * scale - mean[c]) / std[c]`.
#[derive(Clone, Debug, PartialEq)]
pub struct Normalize {
    pub scale: f32,
    pub mean: Vec<f32>,
    pub std: Vec<f32>,
}

/// One operation. Shapes are per sample (batch is implicit): `[C, H, W]` maps or `[N]` vectors.
#[derive(Clone, Debug, PartialEq)]
pub enum Op {
    Input {
        name: String,
        dims: Vec<usize>,
        normalize: Option<Normalize>,
    },
    /// 2-D convolution with symmetric zero padding. Set by fusion: `residual` adds the node's
    /// second operand (a tensor of the output's shape) to the sum, and `relu` applies last:
    /// `relu(conv(x) + bias + residual)`.
    Conv {
        out_c: usize,
        kernel: usize,
        stride: usize,
        pad: usize,
        bias: bool,
        residual: bool,
        relu: bool,
    },
    Relu,
    MaxPool {
        kernel: usize,
        stride: usize,
        pad: usize,
    },
    AvgPool {
        kernel: usize,
        stride: usize,
        pad: usize,
    },
    GlobalAvgPool,
    GlobalMaxPool,
    BatchNorm {
        eps: f32,
    },
    /// Element-wise sum of all inputs; `relu` is set by fusion.
    Add {
        relu: bool,
    },
    /// Concatenation along channels.
    Concat,
    Flatten,
    /// Fully connected layer; flattens its input. `in_features` is the size the author declared, if any.
    Dense {
        out: usize,
        bias: bool,
        relu: bool,
        in_features: Option<usize>,
    },
    Softmax,
    Identity,
}

impl Op {
    /// The operation's name as written in `.net` source (with `+relu` when fused).
    pub fn name(&self) -> String {
        let base = match self {
            Op::Input { .. } => "input",
            Op::Conv { .. } => "conv",
            Op::Relu => "relu",
            Op::MaxPool { .. } => "maxpool",
            Op::AvgPool { .. } => "avgpool",
            Op::GlobalAvgPool => "global_avgpool",
            Op::GlobalMaxPool => "global_maxpool",
            Op::BatchNorm { .. } => "batchnorm",
            Op::Add { .. } => "add",
            Op::Concat => "concat",
            Op::Flatten => "flatten",
            Op::Dense { .. } => "dense",
            Op::Softmax => "softmax",
            Op::Identity => "identity",
        };
        let residual = if matches!(self, Op::Conv { residual: true, .. }) { "+add" } else { "" };
        match self {
            Op::Conv { relu: true, .. } | Op::Add { relu: true } | Op::Dense { relu: true, .. } => {
                format!("{base}{residual}+relu")
            }
            _ => format!("{base}{residual}"),
        }
    }
}

/// Where an operand of a multi-input operation comes from, for diagnostics.
#[derive(Clone, Debug, PartialEq)]
pub struct Operand {
    /// Where the operand's value was defined (a `let`, or the stage that produced it).
    pub span: Span,
    /// The tensor's name when the operand was written as one.
    pub name: Option<String>,
}

/// How an add came to be written: the residual form or an explicit `add(a, b)`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum SkipKind {
    /// `residual { body }` (operand 0 is the shortcut, operand 1 the body).
    Residual { has_shortcut: bool },
    /// `add(a, b)` or `a -> add(b)`.
    Explicit,
}

#[derive(Clone, Debug)]
pub struct Node {
    pub op: Op,
    /// Stable dotted path such as `stage2.conv1`; weights are named `<path>.weight`.
    pub path: String,
    /// Where the operation was written.
    pub span: Span,
    /// For multi-input operations, where each operand comes from.
    pub operands: Vec<Operand>,
    pub skip: Option<SkipKind>,
    /// Per-sample output shape, filled in by the checker.
    pub shape: Vec<usize>,
    /// The block calls this node was expanded from, outermost first (empty outside blocks):
    /// the block's name and where it was called.
    pub calls: Vec<(String, Span)>,
}

impl Node {
    pub fn new(op: Op, path: String, span: Span) -> Node {
        Node { op, path, span, operands: Vec::new(), skip: None, shape: Vec::new(), calls: Vec::new() }
    }
}

/// A named network output.
#[derive(Clone, Debug)]
pub struct Output {
    pub node: NodeIndex,
    pub span: Span,
}

/// The whole network. Edge weights are operand positions.
#[derive(Clone, Debug, Default)]
pub struct Graph {
    pub g: StableDiGraph<Node, usize>,
    pub inputs: Vec<NodeIndex>,
    pub outputs: Vec<Output>,
}

impl Graph {
    /// Adds a node fed by `inputs` in operand order.
    pub fn add(&mut self, node: Node, inputs: &[NodeIndex]) -> NodeIndex {
        let n = self.g.add_node(node);
        for (i, &src) in inputs.iter().enumerate() {
            self.g.add_edge(src, n, i);
        }
        n
    }

    /// The operands of `n`, in order.
    pub fn inputs_of(&self, n: NodeIndex) -> Vec<NodeIndex> {
        let mut edges: Vec<(usize, NodeIndex)> =
            self.g.edges_directed(n, Direction::Incoming).map(|e| (*e.weight(), e.source())).collect();
        edges.sort();
        edges.into_iter().map(|(_, s)| s).collect()
    }

    /// The nodes that read `n`.
    pub fn users_of(&self, n: NodeIndex) -> Vec<NodeIndex> {
        let mut users: Vec<NodeIndex> = self.g.neighbors_directed(n, Direction::Outgoing).collect();
        users.sort();
        users.dedup();
        users
    }

    /// Nodes in a deterministic topological order (creation order breaks ties).
    pub fn topo_order(&self) -> Vec<NodeIndex> {
        // Lowering creates operands before their users and passes only remove or merge nodes,
        // so index order is topological; verify cheaply and fall back to a real sort.
        let order: Vec<NodeIndex> = self.g.node_indices().collect();
        let ok = order.iter().all(|&n| self.g.neighbors_directed(n, Direction::Incoming).all(|s| s < n));
        if ok { order } else { petgraph::algo::toposort(&self.g, None).unwrap_or(order) }
    }

    /// The weights node `n` needs, by name and PyTorch layout: conv `weight` [out, in, k, k]
    /// and `bias` [out]; dense `weight` [out, in] and `bias`; batchnorm `weight`, `bias`,
    /// `running_mean`, `running_var` [C]. Names are `<path>.<kind>`. Needs checked shapes.
    pub fn weight_specs(&self, n: NodeIndex) -> Vec<(String, Vec<usize>)> {
        let node = &self.g[n];
        let input = self.inputs_of(n).first().map(|&i| self.g[i].shape.clone()).unwrap_or_default();
        if input.is_empty() || node.shape.is_empty() {
            return Vec::new();
        }
        let name = |kind: &str| format!("{}.{kind}", node.path);
        match &node.op {
            Op::Conv { out_c, kernel, bias, .. } => {
                let mut w = vec![(name("weight"), vec![*out_c, input[0], *kernel, *kernel])];
                if *bias {
                    w.push((name("bias"), vec![*out_c]));
                }
                w
            }
            Op::Dense { out, bias, .. } => {
                let mut w = vec![(name("weight"), vec![*out, input.iter().product()])];
                if *bias {
                    w.push((name("bias"), vec![*out]));
                }
                w
            }
            Op::BatchNorm { .. } => {
                ["weight", "bias", "running_mean", "running_var"].iter().map(|k| (name(k), vec![input[0]])).collect()
            }
            _ => Vec::new(),
        }
    }

    pub fn is_output(&self, n: NodeIndex) -> bool {
        self.outputs.iter().any(|o| o.node == n)
    }
}
