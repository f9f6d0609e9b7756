//! Shape inference and validation of the lowered graph: every tensor gets its per-sample
//! shape, every skip connection is checked, and each layer's parameters and FLOPs are counted.
//! A node whose shape cannot be inferred keeps an empty shape; its users are skipped silently.

mod rules;
mod table;

pub use rules::window_out;
pub use table::{LayerRow, Table, flops, human_flops, layer_table, thousands};

use crate::diag::{Diagnostic, Label};
use crate::ir::Graph;

/// Largest number of elements one sample's tensor may have.
pub const MAX_ELEMENTS: u64 = 1 << 31;

/// Infers the shape of every node (stored in `Node::shape`) and returns the diagnostics.
pub fn check(graph: &mut Graph) -> Vec<Diagnostic> {
    let mut diags = Vec::new();
    for n in graph.topo_order() {
        let inputs: Vec<Vec<usize>> = graph.inputs_of(n).iter().map(|&i| graph.g[i].shape.clone()).collect();
        if inputs.iter().any(Vec::is_empty) {
            continue;
        }
        let first = diags.len();
        let shape = rules::infer(&graph.g[n], &inputs, &mut diags);
        // An error in a block's body is reported where the block writes it; say which call
        // (innermost first) produced the failing instance.
        for d in &mut diags[first..] {
            for (name, call) in graph.g[n].calls.iter().rev() {
                d.secondary.push(Label { span: *call, message: format!("in this `{name}`") });
            }
        }
        graph.g[n].shape = shape;
    }
    diags
}

/// Formats a shape the way the language writes it: `128x56x56`.
pub fn fmt_shape(shape: &[usize]) -> String {
    shape.iter().map(usize::to_string).collect::<Vec<_>>().join("x")
}
