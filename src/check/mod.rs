//! What `netc check` shows of a checked graph: the layer table (shapes, parameters, FLOPs) and
//! the graph as JSON. Shapes themselves are inferred as lowering builds the graph
//! ([`crate::ir::Graph::infer_shape`]).

mod json;
mod table;

pub use json::graph_json;
pub use table::{LayerRow, Table, human_flops, layer_table, thousands};
