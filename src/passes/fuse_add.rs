//! Residual fusion: `add(conv(x), y)` becomes one convolution that adds `y` as it stores its
//! result (`conv+add`, and `conv+add+relu` with a fused ReLU after the sum), so the sum costs no
//! pass over memory of its own. This is the ResNet block's `conv -> add(shortcut) -> relu`.
//! A convolution whose ReLU comes before the add (`conv -> relu -> add`) is left as it is: the
//! epilogue adds before the ReLU.

use super::{replace, sole_user};
use crate::ir::{Graph, Op};
use crate::kernels::Act;
use crate::ops::{Add, Conv};
use crate::weights::Weights;

/// Fuses every two-operand add into an operand that is a convolution read only by it.
pub fn fuse_add(graph: &mut Graph, _weights: &mut Weights) -> bool {
    let mut changed = false;
    for a in graph.topo_order() {
        let Some(&Op::Add(Add { relu })) = graph.g.node_weight(a).map(|n| &n.op) else { continue };
        let operands = graph.inputs_of(a);
        if operands.len() != 2 || operands[0] == operands[1] {
            continue;
        }
        let fusable = |c| {
            sole_user(graph, c) == Some(a) && matches!(graph.g[c].op, Op::Conv(Conv { act: None, residual: false, .. }))
        };
        let Some(k) = (0..2).find(|&k| fusable(operands[k])) else { continue };
        let (conv, other) = (operands[k], operands[1 - k]);
        if let Op::Conv(c) = &mut graph.g[conv].op {
            (c.residual, c.act) = (true, relu.then_some(Act::Relu));
        }
        // The convolution takes the add's place; the other operand becomes its residual.
        graph.g.add_edge(other, conv, 1);
        replace(graph, a, conv);
        changed = true;
    }
    changed
}

#[cfg(test)]
mod tests {
    use crate::ir::Op;
    use crate::passes::test_util::{assert_close, compile, run_both};

    fn ops(g: &crate::ir::Graph) -> Vec<String> {
        g.topo_order().iter().map(|&n| g.g[n].op.name()).collect()
    }

    #[test]
    fn fuses_the_resnet_add_into_the_second_conv() {
        let src = "input x: 4x8x8\noutput x -> conv(4, 3) -> relu -> res(4) -> res(4)";
        let (g, w) = compile(src);
        let (before, after, g2) = run_both(&g, &w, super::fuse_add);
        assert_eq!(
            ops(&g2),
            ["input", "conv", "relu", "conv", "relu", "conv+add", "relu", "conv", "relu", "conv+add", "relu"]
        );
        assert_close(&before, &after, 1e-6);
        let (_, after_all, g3) = run_both(&g, &w, |g, w| super::fuse_add(g, w) | crate::passes::fuse_activations(g, w));
        assert_eq!(ops(&g3), ["input", "conv+relu", "conv+relu", "conv+add+relu", "conv+relu", "conv+add+relu"]);
        assert_close(&before, &after_all, 1e-6);
    }

    #[test]
    fn fuses_into_either_operand_and_keeps_outputs() {
        // The convolution is the add's second operand, and the sum is a network output.
        let src = "input x: 4x8x8\nlet a = x -> conv(4, 3) -> relu\nlet b = a -> conv(4, 1)\noutput add(a, b)";
        let (g, w) = compile(src);
        let (before, after, g2) = run_both(&g, &w, super::fuse_add);
        assert_eq!(ops(&g2), ["input", "conv", "relu", "conv+add"]);
        assert_close(&before, &after, 1e-6);
    }

    #[test]
    fn leaves_adds_it_cannot_fuse() {
        // A conv read twice, a conv with its ReLU before the add, and a three-operand add.
        for src in [
            "input x: 4x8x8\nlet a = x -> conv(4, 3)\noutput add(a, x) -> add(a)",
            "input x: 4x8x8\noutput x -> residual { conv(4, 3) -> relu }",
            "input x: 4x8x8\nlet a = x -> conv(4, 3)\noutput add(a, x, x)",
        ] {
            let (g, w) = compile(src);
            let (_, _, g2) = run_both(&g, &w, super::fuse_add);
            assert!(g2.g.node_weights().any(|n| matches!(n.op, Op::Add(_))), "{src}");
        }
    }
}
