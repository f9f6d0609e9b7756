//! The layer table `netc check` prints: one row per layer with its output shape, parameters
//! and FLOPs (2 x multiply-accumulates of conv and dense layers, see [`crate::ops::Layer::cost`]),
//! and the totals.

use crate::ir::Graph;
use crate::tensor::fmt_shape;
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

/// The table of a checked graph, in topological order.
pub fn layer_table(graph: &Graph) -> Table {
    let mut rows = Vec::new();
    for n in graph.topo_order() {
        let node = &graph.g[n];
        let inputs = graph.input_shapes(n);
        let cost = if node.shape.is_empty() || inputs.iter().any(Vec::is_empty) {
            crate::ops::Cost::default()
        } else {
            node.op.cost(&inputs, &node.shape)
        };
        rows.push(LayerRow {
            path: graph.path(n),
            op: node.op.name(),
            shape: node.shape.clone(),
            params: cost.params,
            flops: cost.flops,
        });
    }
    let total_params = rows.iter().fold(0u64, |t, r| t.saturating_add(r.params));
    let total_flops = rows.iter().fold(0u64, |t, r| t.saturating_add(r.flops));
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
        // Widths in characters, padded by hand: names may be non-ASCII, and a column may be
        // wider than `format!`'s width arguments allow.
        let chars = |s: &str| s.chars().count();
        let mut width = header.map(chars);
        for c in &cells {
            for (w, s) in width.iter_mut().zip(c) {
                *w = (*w).max(chars(s));
            }
        }
        let line = |c: &[String; 5]| {
            let mut out = String::new();
            for (i, (s, w)) in c.iter().zip(width).enumerate() {
                let pad = " ".repeat(w - chars(s));
                let right_aligned = i >= 3;
                if i > 0 {
                    out.push_str("  ");
                }
                if right_aligned {
                    out.push_str(&pad);
                    out.push_str(s);
                } else {
                    out.push_str(s);
                    if i + 1 < c.len() {
                        out.push_str(&pad);
                    }
                }
            }
            out.push('\n');
            out
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
