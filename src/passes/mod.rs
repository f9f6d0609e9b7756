//! Optimization passes over the checked IR: small rewrites, each in its own module, run to a
//! fixed point. They change the graph and, where a layer's maths changes (batchnorm folding),
//! its weights, and never the network's outputs (beyond float rounding).

mod dce;
mod fold_batchnorm;
mod fuse_relu;

pub use dce::eliminate_dead_nodes;
pub use fold_batchnorm::fold_batchnorm;
pub use fuse_relu::fuse_relu;

use crate::ir::Graph;
use crate::weights::Weights;
use petgraph::stable_graph::NodeIndex;

/// A pass: rewrites the graph (and weights), returning whether it changed anything.
pub type Pass = fn(&mut Graph, &mut Weights) -> bool;

/// Every pass, in the order they run.
pub const PASSES: &[(&str, Pass)] = &[
    ("dead-node elimination", eliminate_dead_nodes),
    ("batchnorm folding", fold_batchnorm),
    ("relu fusion", fuse_relu),
];

/// Runs all passes until none changes anything.
pub fn optimize(graph: &mut Graph, weights: &mut Weights) {
    while PASSES.iter().fold(false, |changed, (_, pass)| pass(graph, weights) | changed) {}
}

/// Removes `n`, which has exactly one operand, sending its users to that operand instead.
pub(crate) fn bypass(graph: &mut Graph, n: NodeIndex) {
    let src = graph.inputs_of(n)[0];
    let out_edges: Vec<(NodeIndex, usize)> = graph
        .g
        .edges_directed(n, petgraph::Direction::Outgoing)
        .map(|e| (petgraph::visit::EdgeRef::target(&e), *e.weight()))
        .collect();
    for (dst, slot) in out_edges {
        graph.g.add_edge(src, dst, slot);
    }
    for o in &mut graph.outputs {
        if o.node == n {
            o.node = src;
        }
    }
    graph.g.remove_node(n);
}

/// The single user of `n`, if it has exactly one and is not a network output.
pub(crate) fn sole_user(graph: &Graph, n: NodeIndex) -> Option<NodeIndex> {
    let users = graph.users_of(n);
    let edges = graph.g.edges_directed(n, petgraph::Direction::Outgoing).count();
    (users.len() == 1 && edges == 1 && !graph.is_output(n)).then(|| users[0])
}
