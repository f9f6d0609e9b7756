//! The checked graph as JSON (`netc check --format json`): what editors, CI and the PyTorch
//! oracle script read. Attributes come from each op ([`crate::ops::Op::attrs`]), weight names and
//! shapes (and how `netc run --seed` generates them) from [`Graph::weight_specs`]; costs,
//! receptive fields and activation bytes (for a batch of `batch`) from the layer table.

use super::{TableOptions, layer_table_with};
use crate::ir::Graph;
use serde_json::{Value, json};
use std::collections::HashMap;

/// The checked graph: layers in topological order with operands, shapes, attributes, weights,
/// costs, receptive fields and the bytes of their outputs for a batch of `batch`.
pub fn graph_json(graph: &Graph, batch: usize) -> Value {
    let order = graph.topo_order();
    let table = layer_table_with(graph, &TableOptions { depth: None, batch });
    let ids: HashMap<_, usize> = order.iter().enumerate().map(|(i, &n)| (n, i)).collect();
    let id = |n| ids.get(&n).copied().unwrap_or(usize::MAX);
    let layers: Vec<Value> = order
        .iter()
        .zip(&table.rows)
        .map(|(&n, row)| {
            let node = &graph.g[n];
            let weights: Vec<Value> = graph
                .weight_specs(n)
                .into_iter()
                .map(|w| json!({ "name": w.name, "shape": w.shape, "init": w.init }))
                .collect();
            json!({
                "id": id(n),
                "path": graph.path(n),
                "op": node.op.name(),
                "inputs": graph.inputs_of(n).into_iter().map(id).collect::<Vec<_>>(),
                "shape": node.shape,
                "attrs": node.op.attrs(),
                "weights": weights,
                "params": row.params,
                "flops": row.flops,
                "receptive_field": row.receptive_field,
                "activation_bytes": row.activation_bytes,
            })
        })
        .collect();
    json!({
        "inputs": graph.inputs.iter().map(|&n| id(n)).collect::<Vec<_>>(),
        "outputs": graph.outputs.iter().map(|o| id(o.node)).collect::<Vec<_>>(),
        "layers": layers,
    })
}
