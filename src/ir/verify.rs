//! The IR's consistency check, run after lowering's checker and after every optimization pass in
//! debug builds and tests: operands numbered 0..k, as many as the op takes, every shape what the
//! op's shape rule gives, the interface (inputs, outputs) pointing at live nodes, no cycle.

use super::Graph;
use crate::ops::{Op, ShapeCx};
use petgraph::Direction;

impl Graph {
    /// Checks a checked (or optimized) graph; the error says what is inconsistent where.
    pub fn verify(&self) -> Result<(), String> {
        // `toposort` is iterative (`is_cyclic_directed` recurses as deep as the network is long).
        if petgraph::algo::toposort(&self.g, None).is_err() {
            return Err("the graph has a cycle".into());
        }
        for &n in &self.inputs {
            match self.g.node_weight(n) {
                Some(node) if matches!(node.op, Op::Input(_)) => {}
                _ => return Err(format!("network input {n:?} is not an input node")),
            }
        }
        for o in &self.outputs {
            if !self.g.contains_node(o.node) {
                return Err(format!("network output {:?} is not in the graph", o.node));
            }
        }
        for n in self.g.node_indices() {
            let node = &self.g[n];
            let mut slots: Vec<usize> = self.g.edges_directed(n, Direction::Incoming).map(|e| *e.weight()).collect();
            slots.sort_unstable();
            if slots.iter().enumerate().any(|(i, &s)| i != s) {
                return Err(format!("`{}`: operand positions {slots:?} are not 0..{}", self.path(n), slots.len()));
            }
            let arity = node.op.operands();
            if !arity.contains(&slots.len()) {
                return Err(format!(
                    "`{}` ({}) has {} operands, expected {arity:?}",
                    self.path(n),
                    node.op.name(),
                    slots.len()
                ));
            }
            let inputs = self.input_shapes(n);
            if node.shape.is_empty() || inputs.iter().any(Vec::is_empty) {
                return Err(format!("`{}` has no checked shape", self.path(n)));
            }
            let mut diags = Vec::new();
            let name = node.op.name();
            let mut cx = ShapeCx {
                inputs: &inputs,
                span: node.span,
                op: &name,
                operands: &node.operands,
                skip: node.skip,
                diags: &mut diags,
            };
            match node.op.infer(&mut cx) {
                Some(shape) if shape == node.shape => {}
                other => {
                    return Err(format!(
                        "`{}` ({}): shape {:?} but the shape rule gives {other:?} from {inputs:?}",
                        self.path(n),
                        name,
                        node.shape
                    ));
                }
            }
        }
        Ok(())
    }
}
