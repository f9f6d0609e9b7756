//! Activation fusion: `conv -> act` and `dense -> act` become one node that applies the activation
//! as it stores its result (`conv+relu`, `conv+relu6`, `conv+add+silu`, `dense+relu`), for every
//! activation the kernels compute ([`crate::kernels::Act`]); `add -> relu` becomes `add+relu`.

use super::{bypass, sole_user};
use crate::ir::{Graph, Op};
use crate::kernels::Act;
use crate::ops::{Add, Conv, Dense};
use crate::weights::Weights;

/// Fuses every activation into the conv, dense or (for ReLU) add that feeds only it.
pub fn fuse_activations(graph: &mut Graph, _weights: &mut Weights) -> bool {
    let mut changed = false;
    for r in graph.topo_order() {
        let Some(act) = graph.g.node_weight(r).and_then(|n| n.op.act()) else { continue };
        let p = graph.inputs_of(r)[0];
        if sole_user(graph, p) != Some(r) {
            continue;
        }
        match &mut graph.g[p].op {
            Op::Conv(Conv { act: slot @ None, .. }) | Op::Dense(Dense { act: slot @ None, .. }) => *slot = Some(act),
            Op::Add(Add { relu }) if !*relu && act == Act::Relu => *relu = true,
            // Every other op applies no activation as it stores.
            _ => continue,
        }
        bypass(graph, r);
        changed = true;
    }
    changed
}

#[cfg(test)]
mod tests {
    use crate::passes::test_util::{assert_close, compile, run_both};

    fn ops(g: &crate::ir::Graph) -> Vec<String> {
        g.topo_order().iter().map(|&n| g.g[n].op.name()).collect()
    }

    #[test]
    fn fuses_conv_add_dense_relu() {
        let src = "input x: 4x8x8\nblock r(c: int) { residual { conv(c, 3) -> relu -> conv(c, 3) } -> relu }\n\
                   output x -> conv(4, 3) -> relu -> r(4) -> flatten -> dense(6) -> relu -> dense(3)";
        let (g, w) = compile(src);
        let (before, after, g2) = run_both(&g, &w, super::fuse_activations);
        assert_eq!(ops(&g2), ["input", "conv+relu", "conv+relu", "conv", "add+relu", "flatten", "dense+relu", "dense"]);
        assert_close(&before, &after, 0.0);
    }

    #[test]
    fn fuses_every_kernel_activation_into_conv() {
        let src = "input x: 4x8x8\noutput x -> conv(4, 3) -> relu6 -> conv(4, 3) -> hardswish -> conv(4, 1) -> silu \
                   -> conv(4, 1) -> sigmoid -> conv(4, 1) -> leaky_relu(0.1) -> conv(4, 1) -> hardsigmoid \
                   -> conv(4, 1) -> clip(-1, 1) -> conv(4, 1) -> tanh -> flatten -> dense(5) -> silu";
        let (g, w) = compile(src);
        let (before, after, g2) = run_both(&g, &w, super::fuse_activations);
        assert_eq!(
            ops(&g2),
            [
                "input",
                "conv+relu6",
                "conv+hardswish",
                "conv+silu",
                "conv+sigmoid",
                "conv+leaky_relu",
                "conv+hardsigmoid",
                "conv+clip",
                "conv",
                "tanh",
                "flatten",
                "dense+silu"
            ]
        );
        assert_close(&before, &after, 0.0);
    }

    #[test]
    fn keeps_activations_whose_input_is_read_elsewhere() {
        let src = "input x: 4x8x8\nlet a = x -> conv(4, 3)\nlet b = a -> relu\noutput add(a, b)";
        let (g, w) = compile(src);
        let (_, _, g2) = run_both(&g, &w, super::fuse_activations);
        assert!(g2.g.node_weights().any(|n| matches!(n.op, crate::ir::Op::Relu(_))));
    }
}
