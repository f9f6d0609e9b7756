//! The network IR: a petgraph of layers, each with its source span, stable path and shape.
//! Lowering from the AST ([`lower`]) expands every block call, so the graph is flat, and infers
//! each node's shape as it adds it ([`Graph::infer_shape`]); the operations themselves are
//! defined in [`crate::ops`].

mod infer;
mod lower;
mod verify;

pub use crate::ops::{Normalize, Op, Operand, SkipKind};
pub use infer::MAX_ELEMENTS;
pub use lower::{LowerOptions, MAX_CALL_DEPTH, MAX_NODES, MAX_REPEAT, lower};

use crate::ops::Init;
use crate::source::Span;
use petgraph::Direction;
use petgraph::stable_graph::{NodeIndex, StableDiGraph};
use petgraph::visit::EdgeRef;

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
    /// Per-sample output shape (empty when it could not be inferred).
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

/// A weight tensor a layer needs: its full name, shape and how it is generated.
#[derive(Clone, Debug, PartialEq)]
pub struct Weight {
    /// `<layer path>.<kind>`.
    pub name: String,
    pub shape: Vec<usize>,
    pub init: Init,
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

    /// The per-sample shapes of the operands of `n`, in order.
    pub fn input_shapes(&self, n: NodeIndex) -> Vec<Vec<usize>> {
        self.inputs_of(n).into_iter().map(|i| self.g[i].shape.clone()).collect()
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

    /// The weights node `n` needs, in the op's order, named `<path>.<kind>` in PyTorch's layout
    /// (see each op's [`crate::ops::Layer::weights`]). Needs checked shapes.
    pub fn weight_specs(&self, n: NodeIndex) -> Vec<Weight> {
        let node = &self.g[n];
        let inputs = self.input_shapes(n);
        if inputs.is_empty() || inputs.iter().any(Vec::is_empty) || node.shape.is_empty() {
            return Vec::new();
        }
        node.op
            .weights(&inputs)
            .into_iter()
            .map(|w| Weight { name: format!("{}.{}", node.path, w.kind), shape: w.shape, init: w.init })
            .collect()
    }

    pub fn is_output(&self, n: NodeIndex) -> bool {
        self.outputs.iter().any(|o| o.node == n)
    }
}
