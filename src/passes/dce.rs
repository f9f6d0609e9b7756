//! Dead-node elimination: drops layers no output depends on, and layers that pass their input
//! through at inference (`identity`, `dropout`, `stochastic_depth`).

use super::bypass;
use crate::ir::{Graph, Op};
use crate::weights::Weights;
use petgraph::Direction;

/// Removes nodes that do not reach an output (inputs stay) and bypasses identities.
pub fn eliminate_dead_nodes(graph: &mut Graph, weights: &mut Weights) -> bool {
    let mut live = std::collections::HashSet::new();
    let mut stack: Vec<_> = graph.outputs.iter().map(|o| o.node).collect();
    while let Some(n) = stack.pop() {
        if live.insert(n) {
            stack.extend(graph.g.neighbors_directed(n, Direction::Incoming));
        }
    }
    let dead: Vec<_> =
        graph.g.node_indices().filter(|n| !live.contains(n) && !matches!(graph.g[*n].op, Op::Input(_))).collect();
    for &n in &dead {
        for w in graph.weight_specs(n) {
            weights.tensors.remove(&w.name);
        }
    }
    let identities: Vec<_> =
        graph.g.node_indices().filter(|n| live.contains(n) && graph.g[*n].op.passes_through()).collect();
    for &n in &dead {
        graph.g.remove_node(n);
    }
    for &n in &identities {
        bypass(graph, n);
    }
    !dead.is_empty() || !identities.is_empty()
}

#[cfg(test)]
mod tests {
    use crate::passes::test_util::{compile, run_both};

    #[test]
    fn drops_unused_branches_and_identities() {
        let (g, w) =
            compile("input x: 2x6x6\nlet unused = x -> conv(4, 3)\noutput x -> identity -> conv(3, 3) -> relu");
        let (before, after, g2) = run_both(&g, &w, super::eliminate_dead_nodes);
        assert_eq!(g2.g.node_count(), 3);
        crate::passes::test_util::assert_close(&before, &after, 0.0);
    }
}
