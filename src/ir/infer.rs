//! Shape inference, node by node as lowering builds the graph: every tensor gets its per-sample
//! shape from its op's shape rule ([`crate::ops::Layer::infer`]), which checks every skip
//! connection and window on the way. A node whose shape cannot be inferred keeps an empty
//! shape; its users are skipped silently, so each error is reported once.

use super::Graph;
use crate::diag::{Code, Diagnostic, Label};
use crate::ops::ShapeCx;
use crate::source::Span;
use crate::tensor::fmt_shape;
use petgraph::stable_graph::NodeIndex;

/// Largest number of elements one sample's tensor may have.
pub const MAX_ELEMENTS: u64 = 1 << 31;

impl Graph {
    /// Infers the shape of `n`, whose operands' shapes are known (or failed), into
    /// `Node::shape`, reporting what is wrong in `diags`.
    pub fn infer_shape(&mut self, n: NodeIndex, diags: &mut Vec<Diagnostic>) {
        let inputs = self.input_shapes(n);
        if inputs.iter().any(Vec::is_empty) {
            return;
        }
        let first = diags.len();
        let labels: Vec<Label> =
            self.calls_of(n).map(|(block, span)| Label { span, message: format!("in this `{block}`") }).collect();
        let node = &self.g[n];
        let name = node.op.name();
        let mut cx =
            ShapeCx { inputs: &inputs, span: node.span, op: &name, operands: &node.operands, skip: node.skip, diags };
        let shape = node
            .op
            .infer(&mut cx)
            .and_then(|s| within_limit(s, node.span, diags))
            .filter(|_| weights_within_limit(node, &inputs, diags))
            .unwrap_or_default();
        // An error in a block's body is reported where the block writes it; say which call
        // (innermost first) produced the failing instance.
        for d in &mut diags[first..] {
            d.secondary.extend(labels.iter().cloned());
        }
        self.g[n].shape = shape;
    }
}

/// Whether each weight tensor of `node` has at most [`MAX_ELEMENTS`] elements (E0013 if not).
fn weights_within_limit(node: &super::Node, inputs: &[Vec<usize>], diags: &mut Vec<Diagnostic>) -> bool {
    for w in node.op.weights(inputs) {
        let elements: u64 =
            w.shape.iter().map(|&d| d as u64).try_fold(1u64, |a, d| a.checked_mul(d)).unwrap_or(u64::MAX);
        if elements > MAX_ELEMENTS {
            diags.push(
                Diagnostic::error(
                    Code::TooLarge,
                    format!("`{}` of shape {} has {elements} parameters", w.kind, fmt_shape(&w.shape)),
                    node.span,
                    "too many parameters",
                )
                .with_help(format!(
                    "netc accepts at most {MAX_ELEMENTS} parameters per weight tensor; reduce channels or pool before this layer"
                )),
            );
            return false;
        }
    }
    true
}

/// `shape`, unless one sample of it has more than [`MAX_ELEMENTS`] elements (E0013).
fn within_limit(shape: Vec<usize>, span: Span, diags: &mut Vec<Diagnostic>) -> Option<Vec<usize>> {
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
