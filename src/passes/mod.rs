//! Optimization passes over the checked IR: small rewrites, each in its own module, run to a
//! fixed point. They change the graph and, where a layer's maths changes (batchnorm folding),
//! its weights, and never the network's outputs (beyond float rounding).

mod dce;
mod fold_batchnorm;
mod fuse_act;
mod fuse_add;

pub use dce::eliminate_dead_nodes;
pub use fold_batchnorm::fold_batchnorm;
pub use fuse_act::fuse_activations;
pub use fuse_add::fuse_add;

use crate::ir::Graph;
use crate::weights::Weights;
use petgraph::stable_graph::NodeIndex;

/// A pass: rewrites the graph (and weights), returning whether it changed anything.
pub type Pass = fn(&mut Graph, &mut Weights) -> bool;

/// Every pass, in the order they run.
pub const PASSES: &[(&str, Pass)] = &[
    ("dead-node elimination", eliminate_dead_nodes),
    ("batchnorm folding", fold_batchnorm),
    ("activation fusion", fuse_activations),
    ("residual fusion", fuse_add),
];

/// Runs all passes until none changes anything. In debug builds and tests (the `verify`
/// feature), the graph and its weights are verified after every pass that changed them.
pub fn optimize(graph: &mut Graph, weights: &mut Weights) {
    let mut changed = true;
    while changed {
        changed = false;
        for (name, pass) in PASSES {
            if pass(graph, weights) {
                changed = true;
                verify(name, graph, weights);
            }
        }
    }
}

/// Panics if `pass` left the graph or its weights inconsistent: a bug in that pass.
fn verify(pass: &str, graph: &Graph, weights: &Weights) {
    if !cfg!(any(debug_assertions, feature = "verify")) {
        return;
    }
    if let Err(e) = graph.verify() {
        panic!("{pass} broke the IR: {e}");
    }
    if let Err(d) = weights.validate(graph, "the optimizer's weights") {
        panic!("{pass} broke the weights: {} {:?}", d.message, d.notes);
    }
}

/// Removes `n`, which has exactly one operand, sending its users to that operand instead.
pub(crate) fn bypass(graph: &mut Graph, n: NodeIndex) {
    let src = graph.inputs_of(n)[0];
    replace(graph, n, src);
}

/// Removes `old`, giving its users (and its place among the network outputs) to `new`.
pub(crate) fn replace(graph: &mut Graph, old: NodeIndex, new: NodeIndex) {
    let out_edges: Vec<(NodeIndex, usize)> = graph
        .g
        .edges_directed(old, petgraph::Direction::Outgoing)
        .map(|e| (petgraph::visit::EdgeRef::target(&e), *e.weight()))
        .collect();
    for (dst, slot) in out_edges {
        graph.g.add_edge(new, dst, slot);
    }
    for o in &mut graph.outputs {
        if o.node == old {
            o.node = new;
        }
    }
    graph.g.remove_node(old);
}

/// The single user of `n`, if it has exactly one and is not a network output.
pub(crate) fn sole_user(graph: &Graph, n: NodeIndex) -> Option<NodeIndex> {
    let users = graph.users_of(n);
    let edges = graph.g.edges_directed(n, petgraph::Direction::Outgoing).count();
    (users.len() == 1 && edges == 1 && !graph.is_output(n)).then(|| users[0])
}

#[cfg(test)]
pub(crate) mod test_util {
    use super::Pass;
    use crate::backend::{Backend, interp::Interpreter};
    use crate::compile::compile_source;
    use crate::ir::{Graph, LowerOptions};
    use crate::plan::Plan;
    use crate::run::relative_error;
    use crate::tensor::Tensor;
    use crate::weights::{Weights, units};

    /// Checks `src` (which must be error-free) and generates weights for it.
    pub fn compile(src: &str) -> (Graph, Weights) {
        let c = compile_source("test.net", src.to_string(), std::path::Path::new("."), &LowerOptions::default());
        assert!(!c.has_errors(), "{:?}", c.diagnostics);
        let w = Weights::generate(&c.graph, 1);
        (c.graph, w)
    }

    fn run(g: &Graph, w: &Weights) -> Vec<Tensor> {
        let inputs: Vec<Tensor> = g
            .inputs
            .iter()
            .map(|&n| {
                let mut shape = vec![2];
                shape.extend(&g.g[n].shape);
                let len = shape.iter().product();
                Tensor::from_vec(&shape, units("input", 3, len).map(|u| u as f32).collect())
            })
            .collect();
        Interpreter::new(Plan::new(g, w), 1).run(&inputs)
    }

    /// Outputs before and after applying `pass` to a fixed point, and the rewritten graph.
    pub fn run_both(g: &Graph, w: &Weights, pass: Pass) -> (Vec<Tensor>, Vec<Tensor>, Graph) {
        let before = run(g, w);
        let (mut g2, mut w2) = (g.clone(), w.clone());
        while pass(&mut g2, &mut w2) {}
        let after = run(&g2, &w2);
        (before, after, g2)
    }

    pub fn assert_close(a: &[Tensor], b: &[Tensor], tol: f64) {
        assert_eq!(a.len(), b.len());
        for (x, y) in a.iter().zip(b) {
            assert_eq!(x.shape, y.shape);
            let e = relative_error(x, y);
            assert!(e <= tol, "relative error {e} > {tol}");
        }
    }
}
