//! What `netc check` shows of a checked graph: the layer table (shapes, parameters, FLOPs,
//! receptive fields, activation memory) and the graph as JSON. Shapes themselves are inferred as
//! lowering builds the graph ([`crate::ir::Graph::infer_shape`]).

mod json;
mod receptive;
mod table;

pub use json::graph_json;
pub use receptive::{Field, Frac, receptive_fields};
pub use table::{
    LayerRow, PlanPeak, Table, TableOptions, human_bytes, human_flops, layer_cost, layer_table, layer_table_with,
    thousands,
};
