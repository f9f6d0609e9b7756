//! The layer table `netc check` prints: one row per layer (or per block instance at a chosen
//! depth) with its output shape, parameters, FLOPs (2 x multiply-accumulates of conv and dense
//! layers, see [`crate::ops::Layer::cost`]), receptive field ([`super::receptive`]) and the
//! memory its output takes; then the totals, and the peak of the memory plan when the caller
//! has planned the network (the plan is built after this module, from the optimized graph).

use super::receptive::{Field, receptive_fields};
use crate::ir::Graph;
use crate::ops::Cost;
use crate::tensor::fmt_shape;
use petgraph::stable_graph::NodeIndex;
use serde::Serialize;

#[derive(Clone, Debug, Serialize)]
pub struct LayerRow {
    /// The layer's path, or the block instance's (`basic1`).
    pub path: String,
    /// The op, or for a block instance the block's name.
    pub op: String,
    /// The output's per-sample shape (a block instance's: its last layer's).
    pub shape: Vec<usize>,
    pub params: u64,
    pub flops: u64,
    pub receptive_field: Field,
    /// Bytes of the output (f32) for the table's batch.
    pub activation_bytes: u64,
    /// How many layers the row stands for: 1, or a block instance's layer count.
    pub layers: usize,
}

/// The peak activation memory of a network's memory plan, for the table's footer.
#[derive(Clone, Copy, Debug, Serialize)]
pub struct PlanPeak {
    /// Bytes of all the plan's activation buffers for the table's batch.
    pub bytes: u64,
    /// How many buffers the plan reuses across the layers.
    pub buffers: usize,
}

/// Which rows a table has and the batch its memory is counted for.
#[derive(Clone, Copy, Debug)]
pub struct TableOptions {
    /// Block instances nested this deep (1: called at the top level) are one row each.
    pub depth: Option<usize>,
    pub batch: usize,
}

impl Default for TableOptions {
    fn default() -> Self {
        TableOptions { depth: None, batch: 1 }
    }
}

#[derive(Clone, Debug, Serialize)]
pub struct Table {
    pub rows: Vec<LayerRow>,
    /// Layers of the network (rows may stand for several).
    pub layers: usize,
    pub total_params: u64,
    pub total_flops: u64,
    pub batch: usize,
    /// Set by [`Table::with_peak`].
    pub peak: Option<PlanPeak>,
}

/// Parameters and FLOPs of node `n` (none when its shapes are unknown).
pub fn layer_cost(graph: &Graph, n: NodeIndex) -> Cost {
    let node = &graph.g[n];
    let inputs = graph.input_shapes(n);
    if node.shape.is_empty() || inputs.iter().any(Vec::is_empty) {
        Cost::default()
    } else {
        node.op.cost(&inputs, &node.shape)
    }
}

/// The table of a checked graph, one row per layer in topological order, for a batch of 1.
pub fn layer_table(graph: &Graph) -> Table {
    layer_table_with(graph, &TableOptions::default())
}

/// The table of a checked graph with `options`: rows in topological order, a block instance at
/// the chosen depth in the place of its first layer, with its layers' totals and its last
/// layer's output.
pub fn layer_table_with(graph: &Graph, options: &TableOptions) -> Table {
    let fields = receptive_fields(graph);
    let mut rows: Vec<LayerRow> = Vec::new();
    // The row of each collapsed block instance, by scope.
    let mut instance_rows = std::collections::HashMap::new();
    let order = graph.topo_order();
    for &n in &order {
        let node = &graph.g[n];
        let cost = layer_cost(graph, n);
        let bytes = (node.shape.iter().product::<usize>() as u64)
            .saturating_mul(options.batch as u64)
            .saturating_mul(std::mem::size_of::<f32>() as u64);
        let field = fields.get(&n).copied().unwrap_or(Field::NoMap);
        let instance = options.depth.and_then(|d| graph.instance_at_depth(n, d));
        let existing = instance.and_then(|s| instance_rows.get(&s).copied());
        let i = existing.unwrap_or_else(|| {
            let (path, op) = match instance {
                Some(s) => {
                    instance_rows.insert(s, rows.len());
                    let call = graph.scopes[s as usize].call.as_ref();
                    (graph.scope_path(s), call.map_or("block", |(b, _)| b.as_str()).to_string())
                }
                None => (graph.path(n), node.op.name()),
            };
            rows.push(LayerRow {
                path,
                op,
                shape: Vec::new(),
                params: 0,
                flops: 0,
                receptive_field: Field::NoMap,
                activation_bytes: 0,
                layers: 0,
            });
            rows.len() - 1
        });
        let row = &mut rows[i];
        row.params = row.params.saturating_add(cost.params);
        row.flops = row.flops.saturating_add(cost.flops);
        row.layers += 1;
        // In topological order, the last layer seen is the instance's output.
        row.shape = node.shape.clone();
        row.receptive_field = field;
        row.activation_bytes = bytes;
    }
    let total_params = rows.iter().fold(0u64, |t, r| t.saturating_add(r.params));
    let total_flops = rows.iter().fold(0u64, |t, r| t.saturating_add(r.flops));
    Table { rows, layers: order.len(), total_params, total_flops, batch: options.batch, peak: None }
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

/// `1.53 MiB`, `64.00 KiB`, `40 B`
pub fn human_bytes(b: u64) -> String {
    let f = b as f64;
    if f >= (1u64 << 30) as f64 {
        format!("{:.2} GiB", f / (1u64 << 30) as f64)
    } else if f >= (1u64 << 20) as f64 {
        format!("{:.2} MiB", f / (1u64 << 20) as f64)
    } else if f >= 1024.0 {
        format!("{:.2} KiB", f / 1024.0)
    } else {
        format!("{b} B")
    }
}

impl Table {
    /// The table with the peak of the network's memory plan in its footer.
    pub fn with_peak(self, peak: PlanPeak) -> Table {
        Table { peak: Some(peak), ..self }
    }

    /// The table as aligned text.
    pub fn render(&self) -> String {
        let header = ["layer", "op", "output", "params", "FLOPs", "receptive field", "memory"];
        let cells: Vec<[String; 7]> = self
            .rows
            .iter()
            .map(|r| {
                [
                    r.path.clone(),
                    r.op.clone(),
                    fmt_shape(&r.shape),
                    if r.params == 0 { "-".into() } else { thousands(r.params) },
                    if r.flops == 0 { "-".into() } else { human_flops(r.flops) },
                    r.receptive_field.render(),
                    human_bytes(r.activation_bytes),
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
        let line = |c: &[String; 7]| {
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
        out.push_str(&format!("{}\n", "-".repeat(width.iter().sum::<usize>() + 2 * (width.len() - 1))));
        for c in &cells {
            out.push_str(&line(c));
        }
        out.push_str(&format!(
            "\ntotal: {} layers, {} parameters, {}\n",
            self.layers,
            thousands(self.total_params),
            human_flops(self.total_flops)
        ));
        out.push_str(&format!("memory: layer outputs (f32), batch {}", self.batch));
        match self.peak {
            Some(p) => out.push_str(&format!(
                "; planned peak {} in {} reused buffers (input and outputs included, weights not)\n",
                human_bytes(p.bytes),
                p.buffers
            )),
            None => out.push('\n'),
        }
        out
    }
}
