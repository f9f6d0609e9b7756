//! The graph as JSON (`netc check --format json`): what editors, CI and the PyTorch oracle
//! script read. Weight names and shapes come from [`Graph::weight_specs`].

use super::{Graph, Op};
use crate::check::layer_table;
use serde_json::{Value, json};

fn attrs(op: &Op) -> Value {
    match op {
        Op::Input { name, dims, normalize } => json!({
            "name": name,
            "dims": dims,
            "normalize": normalize.as_ref().map(|n| json!({ "scale": n.scale, "mean": n.mean, "std": n.std })),
        }),
        Op::Conv { out_c, kernel, stride, pad, bias, residual, relu } => json!({
            "out": out_c, "kernel": kernel, "stride": stride, "pad": pad, "bias": bias, "residual": residual, "relu": relu,
        }),
        Op::MaxPool { kernel, stride, pad } | Op::AvgPool { kernel, stride, pad } => {
            json!({ "kernel": kernel, "stride": stride, "pad": pad })
        }
        Op::BatchNorm { eps } => json!({ "eps": eps }),
        Op::Add { relu } => json!({ "relu": relu }),
        Op::Dense { out, bias, relu, .. } => json!({ "out": out, "bias": bias, "relu": relu }),
        _ => json!({}),
    }
}

/// The checked graph: layers in topological order with operands, shapes, attributes and weights.
pub fn graph_json(graph: &Graph) -> Value {
    let order = graph.topo_order();
    let table = layer_table(graph);
    let id = |n| order.iter().position(|&m| m == n).unwrap_or(usize::MAX);
    let layers: Vec<Value> = order
        .iter()
        .zip(&table.rows)
        .map(|(&n, row)| {
            let node = &graph.g[n];
            let weights: Vec<Value> = graph
                .weight_specs(n)
                .into_iter()
                .map(|(name, shape)| json!({ "name": name, "shape": shape }))
                .collect();
            json!({
                "id": id(n),
                "path": node.path,
                "op": node.op.name(),
                "inputs": graph.inputs_of(n).into_iter().map(id).collect::<Vec<_>>(),
                "shape": node.shape,
                "attrs": attrs(&node.op),
                "weights": weights,
                "params": row.params,
                "flops": row.flops,
            })
        })
        .collect();
    json!({
        "inputs": graph.inputs.iter().map(|&n| id(n)).collect::<Vec<_>>(),
        "outputs": graph.outputs.iter().map(|o| id(o.node)).collect::<Vec<_>>(),
        "layers": layers,
    })
}
