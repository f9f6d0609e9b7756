//! Batchnorm folding: `conv -> batchnorm` becomes one conv with scaled weights and a bias,
//! `w' = w * g / sqrt(var + eps)`, `b' = (b - mean) * g / sqrt(var + eps) + beta`.

use super::{bypass, sole_user};
use crate::ir::{Graph, Op};
use crate::ops::Conv;
use crate::tensor::Tensor;
use crate::weights::Weights;

/// Folds every batchnorm that directly follows a conv (with no relu between) into that conv.
pub fn fold_batchnorm(graph: &mut Graph, weights: &mut Weights) -> bool {
    let mut changed = false;
    for bn in graph.topo_order() {
        let Some(Op::BatchNorm(norm)) = graph.g.node_weight(bn).map(|n| n.op.clone()) else { continue };
        let conv = graph.inputs_of(bn)[0];
        let Op::Conv(Conv { act: None, residual: false, bias, .. }) = graph.g[conv].op else { continue };
        if sole_user(graph, conv) != Some(bn) {
            continue;
        }
        let (cp, bp) = (graph.path(conv), graph.path(bn));
        let get = |w: &Weights, k: &str| w.get(&format!("{bp}.{k}")).map(|t| t.data.clone());
        let (Some(gamma), Some(beta), Some(mean), Some(var), Some(w)) = (
            get(weights, "weight"),
            get(weights, "bias"),
            get(weights, "running_mean"),
            get(weights, "running_var"),
            weights.get(&format!("{cp}.weight")).cloned(),
        ) else {
            continue;
        };
        let out_c = gamma.len();
        let old_bias = if bias { weights.get(&format!("{cp}.bias")).map(|t| t.data.clone()) } else { None };
        let per = w.data.len() / out_c.max(1);
        let mut new_w = w.data.clone();
        let mut new_b = vec![0.0f32; out_c];
        for c in 0..out_c {
            let s = gamma[c] as f64 / (var[c] as f64 + norm.eps as f64).sqrt();
            for x in &mut new_w[c * per..(c + 1) * per] {
                *x = (*x as f64 * s) as f32;
            }
            let b = old_bias.as_ref().map_or(0.0, |b| b[c] as f64);
            new_b[c] = ((b - mean[c] as f64) * s + beta[c] as f64) as f32;
        }
        for k in ["weight", "bias", "running_mean", "running_var"] {
            weights.tensors.remove(&format!("{bp}.{k}"));
        }
        weights.tensors.insert(format!("{cp}.weight"), Tensor::from_vec(&w.shape, new_w));
        weights.tensors.insert(format!("{cp}.bias"), Tensor::from_vec(&[out_c], new_b));
        if let Op::Conv(c) = &mut graph.g[conv].op {
            c.bias = true;
        }
        bypass(graph, bn);
        changed = true;
    }
    changed
}

#[cfg(test)]
mod tests {
    use crate::ir::Op;
    use crate::passes::test_util::{assert_close, compile, run_both};

    #[test]
    fn folds_conv_batchnorm_and_keeps_outputs() {
        let (g, w) = compile(
            "input x: 3x8x8\noutput x -> conv(4, 3, bias = false) -> batchnorm -> relu -> conv(5, 3) -> batchnorm",
        );
        let (before, after, g2) = run_both(&g, &w, super::fold_batchnorm);
        assert!(!g2.g.node_weights().any(|n| matches!(n.op, Op::BatchNorm(_))));
        assert_close(&before, &after, 1e-5);
    }

    #[test]
    fn leaves_batchnorm_after_relu() {
        let (g, w) = compile("input x: 3x8x8\noutput x -> conv(4, 3) -> relu -> batchnorm");
        let (before, after, g2) = run_both(&g, &w, super::fold_batchnorm);
        assert!(g2.g.node_weights().any(|n| matches!(n.op, Op::BatchNorm(_))));
        assert_close(&before, &after, 0.0);
    }
}
