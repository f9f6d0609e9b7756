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
    /// The layer's name in its scope (`conv1`, or its label); its path ([`Graph::path`]) is the
    /// scope's followed by this.
    pub name: String,
    /// The scope (a block instance or a shortcut) the layer was made in; `None` at the top level.
    pub scope: Option<ScopeId>,
    /// Where the operation was written.
    pub span: Span,
    /// For multi-input operations, where each operand comes from.
    pub operands: Vec<Operand>,
    pub skip: Option<SkipKind>,
    /// Per-sample output shape (empty when it could not be inferred).
    pub shape: Vec<usize>,
}

impl Node {
    pub fn new(op: Op, name: String, scope: Option<ScopeId>, span: Span) -> Node {
        Node { op, name, scope, span, operands: Vec::new(), skip: None, shape: Vec::new() }
    }
}

/// An index into [`Graph::scopes`].
pub type ScopeId = u32;

/// A scope of layer names: a block instance (`vgg2`) or a residual's shortcut (`shortcut1`),
/// inside its parent. Nodes share them, so a node's memory does not grow with nesting depth.
#[derive(Clone, Debug)]
pub struct Scope {
    /// The scope's name in its parent: `vgg2`, `shortcut1`.
    pub name: String,
    pub parent: Option<ScopeId>,
    /// For a block instance, the block's name and where it was called.
    pub call: Option<(String, Span)>,
}

/// A named network output.
#[derive(Clone, Debug)]
pub struct Output {
    pub node: NodeIndex,
    pub span: Span,
    /// What `netc run --output NAME=...` calls it: the tensor's name for `output out`, else the
    /// path of the chain's last layer (`dense1`, or its label); unique among the outputs.
    pub name: String,
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
    /// Every scope of the expansion; nodes point into it.
    pub scopes: Vec<Scope>,
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
        let path = self.path(n);
        node.op
            .weights(&inputs)
            .into_iter()
            .map(|w| Weight { name: format!("{path}.{}", w.kind), shape: w.shape, init: w.init })
            .collect()
    }

    /// The scopes node `n` is in, innermost first.
    fn scopes_of(&self, n: NodeIndex) -> impl Iterator<Item = &Scope> {
        std::iter::successors(self.g[n].scope.map(|s| &self.scopes[s as usize]), |s| {
            s.parent.map(|p| &self.scopes[p as usize])
        })
    }

    /// The block calls node `n` was expanded from, innermost first: each block's name and where
    /// it was called.
    pub fn calls_of(&self, n: NodeIndex) -> impl Iterator<Item = (&str, Span)> {
        self.scopes_of(n).filter_map(|s| s.call.as_ref().map(|(block, span)| (block.as_str(), *span)))
    }

    /// Node `n`'s stable dotted path, such as `stage2.conv1`: its scopes' names, then its own.
    /// Weights are named `<path>.weight`.
    pub fn path(&self, n: NodeIndex) -> String {
        let mut names: Vec<&str> = self.scopes_of(n).map(|s| s.name.as_str()).collect();
        names.reverse();
        names.push(&self.g[n].name);
        names.join(".")
    }

    /// The scopes that contain scope `s`, and `s` itself, outermost first.
    pub fn scope_chain(&self, s: ScopeId) -> Vec<ScopeId> {
        let mut chain: Vec<ScopeId> = std::iter::successors(Some(s), |&s| self.scopes[s as usize].parent).collect();
        chain.reverse();
        chain
    }

    /// Scope `s`'s dotted path, such as `stage2.shortcut1`.
    pub fn scope_path(&self, s: ScopeId) -> String {
        let names: Vec<&str> = self.scope_chain(s).into_iter().map(|s| self.scopes[s as usize].name.as_str()).collect();
        names.join(".")
    }

    /// The block instance at nesting depth `depth` (1: called at the top level) that node `n`
    /// was expanded from, if `n` lies that deep.
    pub fn instance_at_depth(&self, n: NodeIndex, depth: usize) -> Option<ScopeId> {
        let chain = self.g[n].scope.map(|s| self.scope_chain(s)).unwrap_or_default();
        chain.into_iter().filter(|&s| self.scopes[s as usize].call.is_some()).nth(depth.checked_sub(1)?)
    }

    pub fn is_output(&self, n: NodeIndex) -> bool {
        self.outputs.iter().any(|o| o.node == n)
    }
}
