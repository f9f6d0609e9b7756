//! Shape inference and validation of the lowered graph: every tensor gets its per-sample
//! shape (by its op's shape rule, see [`crate::ops`]), every skip connection is checked, and each
//! layer's parameters and FLOPs are counted. A node whose shape cannot be inferred keeps an empty
//! shape; its users are skipped silently.

mod json;
mod table;

pub use json::graph_json;
pub use table::{LayerRow, Table, human_flops, layer_table, thousands};

use crate::diag::{Code, Diagnostic, Label};
use crate::ir::Graph;
use crate::ops::ShapeCx;
use crate::tensor::fmt_shape;

/// Largest number of elements one sample's tensor may have.
pub const MAX_ELEMENTS: u64 = 1 << 31;

/// Infers the shape of every node (stored in `Node::shape`) and returns the diagnostics.
pub fn check(graph: &mut Graph) -> Vec<Diagnostic> {
    let mut diags = Vec::new();
    for n in graph.topo_order() {
        let inputs = graph.input_shapes(n);
        if inputs.iter().any(Vec::is_empty) {
            continue;
        }
        let first = diags.len();
        let node = &graph.g[n];
        let name = node.op.name();
        let mut cx = ShapeCx {
            inputs: &inputs,
            span: node.span,
            op: &name,
            operands: &node.operands,
            skip: node.skip,
            diags: &mut diags,
        };
        let shape = node.op.infer(&mut cx).and_then(|s| within_limit(s, node.span, &mut diags)).unwrap_or_default();
        // An error in a block's body is reported where the block writes it; say which call
        // (innermost first) produced the failing instance.
        for d in &mut diags[first..] {
            for (name, call) in node.calls.iter().rev() {
                d.secondary.push(Label { span: *call, message: format!("in this `{name}`") });
            }
        }
        graph.g[n].shape = shape;
    }
    diags
}

/// `shape`, unless one sample of it has more than [`MAX_ELEMENTS`] elements (E0013).
fn within_limit(shape: Vec<usize>, span: crate::source::Span, diags: &mut Vec<Diagnostic>) -> Option<Vec<usize>> {
    let elements: u64 = shape.iter().map(|&d| d as u64).try_fold(1u64, |a, d| a.checked_mul(d)).unwrap_or(u64::MAX);
    if elements <= MAX_ELEMENTS {
        return Some(shape);
    }
    diags.push(
        Diagnostic::error(
            Code::TooLarge,
            format!("tensor of shape {} has {elements} elements per sample", fmt_shape(&shape)),
            span,
            "too large",
        )
        .with_help(format!("netc accepts at most {MAX_ELEMENTS} elements per tensor; reduce channels or input size")),
    );
    None
}
