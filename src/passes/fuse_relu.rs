//! ReLU fusion: `conv -> relu`, `add -> relu` and `dense -> relu` become one node that
//! applies the ReLU as it stores its result (conv+bias+relu, add+relu, dense+relu).

use super::{bypass, sole_user};
use crate::ir::{Graph, Op};
use crate::ops::{Add, Conv, Dense};
use crate::weights::Weights;

/// Fuses every ReLU into the conv, add or dense that feeds only it.
pub fn fuse_relu(graph: &mut Graph, _weights: &mut Weights) -> bool {
    let mut changed = false;
    for r in graph.topo_order() {
        if !graph.g.node_weight(r).is_some_and(|n| matches!(n.op, Op::Relu(_))) {
            continue;
        }
        let p = graph.inputs_of(r)[0];
        if sole_user(graph, p) != Some(r) {
            continue;
        }
        let fused = match &mut graph.g[p].op {
            Op::Conv(Conv { relu, .. }) | Op::Add(Add { relu }) | Op::Dense(Dense { relu, .. }) => relu,
            // Every other op applies no epilogue.
            _ => continue,
        };
        if *fused {
            continue;
        }
        *fused = true;
        bypass(graph, r);
        changed = true;
    }
    changed
}

#[cfg(test)]
mod tests {
    use crate::passes::test_util::{assert_close, compile, run_both};

    #[test]
    fn fuses_conv_add_dense_relu() {
        let src = "input x: 4x8x8\nblock r(c: int) { residual { conv(c, 3) -> relu -> conv(c, 3) } -> relu }\n\
                   output x -> conv(4, 3) -> relu -> r(4) -> flatten -> dense(6) -> relu -> dense(3)";
        let (g, w) = compile(src);
        let (before, after, g2) = run_both(&g, &w, super::fuse_relu);
        let ops: Vec<String> = g2.topo_order().iter().map(|&n| g2.g[n].op.name()).collect();
        assert_eq!(ops, ["input", "conv+relu", "conv+relu", "conv", "add+relu", "flatten", "dense+relu", "dense"]);
        assert_close(&before, &after, 0.0);
    }

    #[test]
    fn keeps_relu_whose_input_is_read_elsewhere() {
        let src = "input x: 4x8x8\nlet a = x -> conv(4, 3)\nlet b = a -> relu\noutput add(a, b)";
        let (g, w) = compile(src);
        let (_, _, g2) = run_both(&g, &w, super::fuse_relu);
        assert!(g2.g.node_weights().any(|n| matches!(n.op, crate::ir::Op::Relu(_))));
    }
}
