//! The layer table `netc check` prints: one row per layer with its output shape, parameters
//! and FLOPs (2 x multiply-accumulates of conv and dense layers), and the totals.

use super::fmt_shape;
use crate::ir::{Graph, Op};
use serde::Serialize;

#[derive(Clone, Debug, Serialize)]
pub struct LayerRow {
    pub path: String,
    pub op: String,
    pub shape: Vec<usize>,
    pub params: u64,
    pub flops: u64,
}

#[derive(Clone, Debug, Serialize)]
pub struct Table {
    pub rows: Vec<LayerRow>,
    pub total_params: u64,
    pub total_flops: u64,
}

/// Trainable parameters and FLOPs of one node given its input and output shapes.
fn cost(op: &Op, input: &[usize], output: &[usize]) -> (u64, u64) {
    let n = |s: &[usize]| s.iter().map(|&d| d as u64).product::<u64>();
    match op {
        Op::Conv { out_c, kernel, bias, .. } => {
            let per_out = input[0] as u64 * (*kernel as u64).pow(2);
            let params = *out_c as u64 * per_out + if *bias { *out_c as u64 } else { 0 };
            (params, 2 * per_out * n(output))
        }
        Op::Dense { out, bias, .. } => {
            let inp = n(input);
            (*out as u64 * inp + if *bias { *out as u64 } else { 0 }, 2 * inp * *out as u64)
        }
        Op::BatchNorm { .. } => (2 * input[0] as u64, 0),
        _ => (0, 0),
    }
}

/// FLOPs of one node (2 per multiply-add of a conv or dense layer, 0 for other operations) given
/// its input and output shapes.
pub fn flops(op: &Op, input: &[usize], output: &[usize]) -> u64 {
    cost(op, input, output).1
}

/// The table of a checked graph, in topological order.
pub fn layer_table(graph: &Graph) -> Table {
    let mut rows = Vec::new();
    for n in graph.topo_order() {
        let node = &graph.g[n];
        let input = graph.inputs_of(n).first().map(|&i| graph.g[i].shape.clone()).unwrap_or_default();
        let (params, flops) = if node.shape.is_empty() { (0, 0) } else { cost(&node.op, &input, &node.shape) };
        rows.push(LayerRow { path: node.path.clone(), op: node.op.name(), shape: node.shape.clone(), params, flops });
    }
    let total_params = rows.iter().map(|r| r.params).sum();
    let total_flops = rows.iter().map(|r| r.flops).sum();
    Table { rows, total_params, total_flops }
}

/// `20,319,552`
pub fn thousands(n: u64) -> String {
    let s = n.to_string();
    let mut out = String::new();
    for (i, ch) in s.chars().enumerate() {
        if i > 0 && (s.len() - i).is_multiple_of(3) {
            out.push(',');
        }
        out.push(ch);
    }
    out
}

/// `28.38 GFLOPs`, `3.54 MFLOPs`
pub fn human_flops(f: u64) -> String {
    let f = f as f64;
    if f >= 1e9 {
        format!("{:.2} GFLOPs", f / 1e9)
    } else if f >= 1e6 {
        format!("{:.2} MFLOPs", f / 1e6)
    } else if f >= 1e3 {
        format!("{:.2} KFLOPs", f / 1e3)
    } else {
        format!("{f} FLOPs")
    }
}

impl Table {
    /// The table as aligned text.
    pub fn render(&self) -> String {
        let header = ["layer", "op", "output", "params", "FLOPs"];
        let cells: Vec<[String; 5]> = self
            .rows
            .iter()
            .map(|r| {
                [
                    r.path.clone(),
                    r.op.clone(),
                    fmt_shape(&r.shape),
                    if r.params == 0 { "-".into() } else { thousands(r.params) },
                    if r.flops == 0 { "-".into() } else { human_flops(r.flops) },
                ]
            })
            .collect();
        let mut width = header.map(str::len);
        for c in &cells {
            for (w, s) in width.iter_mut().zip(c) {
                *w = (*w).max(s.len());
            }
        }
        let line = |c: &[String; 5]| {
            format!(
                "{:<w0$}  {:<w1$}  {:<w2$}  {:>w3$}  {:>w4$}\n",
                c[0],
                c[1],
                c[2],
                c[3],
                c[4],
                w0 = width[0],
                w1 = width[1],
                w2 = width[2],
                w3 = width[3],
                w4 = width[4]
            )
        };
        let mut out = line(&header.map(String::from));
        out.push_str(&format!("{}\n", "-".repeat(width.iter().sum::<usize>() + 8)));
        for c in &cells {
            out.push_str(&line(c));
        }
        out.push_str(&format!(
            "\ntotal: {} layers, {} parameters, {}\n",
            self.rows.len(),
            thousands(self.total_params),
            human_flops(self.total_flops)
        ));
        out
    }
}
