//! A checked network and its weights as an ONNX model: one ONNX node (or a few) per layer,
//! named by the layer's path; the weights as initializers named `<path>.<kind>`, in PyTorch's
//! layout; the batch a dynamic dimension `batch`; the inputs named as in the `.net` file and the
//! outputs after the layers that make them. The input's `normalize` is part of the graph.

use super::proto::{
    AttributeProto, AttributeType, DataLocation, GraphProto, ModelProto, NodeProto, OperatorSetIdProto,
    StringStringEntryProto, TensorProto, TensorShapeProto, TypeProto, ValueInfoProto, data_type, tensor_shape_proto,
    type_proto,
};
use crate::ir::{Graph, Op};
use crate::ops::onnx::{Attr, OnnxCx, OnnxNode, Value};
use crate::weights::Weights;
use petgraph::stable_graph::NodeIndex;
use prost::Message;
use std::collections::{BTreeMap, HashSet};
use std::path::Path;

/// The lowest opset netc writes: `LayerNormalization` needs 17.
pub const MIN_OPSET: i64 = 17;
/// The highest opset netc writes.
pub const MAX_OPSET: i64 = 21;

/// Protobuf messages cannot exceed 2 GiB: above this many bytes of weights, they go to a file
/// of their own beside the model (ONNX's external data).
pub const EXTERNAL_DATA_ABOVE: u64 = 2_000_000_000;

/// How to write the model.
#[derive(Clone, Debug)]
pub struct EmitOptions {
    pub opset: i64,
    /// Weights larger than this in total (bytes) are written as external data.
    pub external_above: u64,
}

impl Default for EmitOptions {
    fn default() -> EmitOptions {
        EmitOptions { opset: MIN_OPSET, external_above: EXTERNAL_DATA_ABOVE }
    }
}

/// An ONNX model, and the external data file's contents when the weights are stored apart.
pub struct Model {
    pub proto: ModelProto,
    /// The external data: its file name (beside the model) and bytes.
    pub external: Option<(String, Vec<u8>)>,
}

/// The IR version that goes with `opset` (ONNX's versioning table).
fn ir_version(opset: i64) -> i64 {
    match opset {
        ..=18 => 8,
        19 | 20 => 9,
        _ => 10,
    }
}

/// A float tensor's value info: `[batch, dims...]`.
fn value_info(name: &str, dims: &[usize]) -> ValueInfoProto {
    use tensor_shape_proto::{Dimension, dimension};
    let batch = Dimension { value: Some(dimension::Value::DimParam("batch".to_string())), denotation: String::new() };
    let dim = std::iter::once(batch)
        .chain(
            dims.iter()
                .map(|&d| Dimension { value: Some(dimension::Value::DimValue(d as i64)), denotation: String::new() }),
        )
        .collect();
    let tensor = type_proto::Tensor { elem_type: data_type::FLOAT, shape: Some(TensorShapeProto { dim }) };
    ValueInfoProto {
        name: name.to_string(),
        r#type: Some(TypeProto { value: Some(type_proto::Value::TensorType(tensor)), denotation: String::new() }),
        doc_string: String::new(),
    }
}

fn attribute(name: &str, value: &Attr) -> AttributeProto {
    let mut a = AttributeProto { name: name.to_string(), ..Default::default() };
    match value {
        Attr::Int(i) => (a.r#type, a.i) = (AttributeType::Int as i32, *i),
        Attr::Ints(v) => (a.r#type, a.ints) = (AttributeType::Ints as i32, v.clone()),
        Attr::Float(f) => (a.r#type, a.f) = (AttributeType::Float as i32, *f),
        Attr::Str(s) => (a.r#type, a.s) = (AttributeType::String as i32, s.as_bytes().to_vec()),
    }
    a
}

/// A constant's tensor.
fn constant_tensor(value: &Value) -> TensorProto {
    match value {
        Value::Ints(v) => TensorProto {
            dims: vec![v.len() as i64],
            data_type: data_type::INT64,
            int64_data: v.clone(),
            ..Default::default()
        },
        Value::Floats { dims, data } => TensorProto {
            dims: dims.iter().map(|&d| d as i64).collect(),
            data_type: data_type::FLOAT,
            float_data: data.clone(),
            ..Default::default()
        },
    }
}

fn node_proto(node: &OnnxNode, name: String) -> NodeProto {
    let mut attribute: Vec<AttributeProto> = node.attrs.iter().map(|(n, v)| attribute(n, v)).collect();
    if let Some(v) = &node.value {
        attribute.push(AttributeProto {
            name: "value".to_string(),
            r#type: AttributeType::Tensor as i32,
            t: Some(constant_tensor(v)),
            ..Default::default()
        });
    }
    NodeProto {
        input: node.inputs.clone(),
        output: vec![node.output.clone()],
        name,
        op_type: node.op_type.to_string(),
        attribute,
        ..Default::default()
    }
}

/// The ONNX model of a checked graph (`name` names the graph) with `weights`, which must match
/// it (`Weights::validate`). `data_file` names the external data file, used when the weights
/// exceed `options.external_above` bytes.
pub fn to_model(graph: &Graph, weights: &Weights, name: &str, data_file: &str, options: &EmitOptions) -> Model {
    let mut g = GraphProto { name: name.to_string(), ..Default::default() };
    let mut tensor: BTreeMap<NodeIndex, String> = BTreeMap::new();
    let mut input_names = HashSet::new();
    for &n in &graph.inputs {
        if let Op::Input(input) = &graph.g[n].op {
            g.input.push(value_info(&input.name, &input.dims));
            input_names.insert(input.name.clone());
        }
    }
    let mut initializers = Vec::new();
    for n in graph.topo_order() {
        let node = &graph.g[n];
        let path = graph.path(n);
        let inputs: Vec<String> = match &node.op {
            Op::Input(input) => vec![input.name.clone()],
            _ => graph.inputs_of(n).iter().map(|i| tensor[i].clone()).collect(),
        };
        let specs = graph.weight_specs(n);
        let names: Vec<String> = specs.iter().map(|w| w.name.clone()).collect();
        initializers.extend(specs.into_iter().filter_map(|w| weights.get(&w.name).map(|t| (w.name, t))));
        let mut cx = OnnxCx {
            path: &path,
            inputs: &inputs,
            in_shapes: &graph.input_shapes(n),
            shape: &node.shape,
            weights: &names,
            opset: options.opset,
            nodes: Vec::new(),
        };
        node.op.onnx_form().onnx(&mut cx);
        let mut nodes = cx.nodes;
        let value = match nodes.last_mut() {
            None => inputs[0].clone(),
            Some(last) => {
                last.output = if input_names.contains(&path) { format!("{path}/normalized") } else { path.clone() };
                last.output.clone()
            }
        };
        let count = nodes.len();
        for (i, nd) in nodes.iter().enumerate() {
            let name = if i + 1 == count { path.clone() } else { nd.output.clone() };
            g.node.push(node_proto(nd, name));
        }
        tensor.insert(n, value);
    }
    // Outputs: the layers' values, or a copy where the value is an input or already an output.
    let mut seen = HashSet::new();
    for (i, o) in graph.outputs.iter().enumerate() {
        let mut name = tensor[&o.node].clone();
        if input_names.contains(&name) || !seen.insert(name.clone()) {
            let copy = format!("output{i}");
            g.node.push(NodeProto {
                input: vec![name],
                output: vec![copy.clone()],
                name: copy.clone(),
                op_type: "Identity".to_string(),
                ..Default::default()
            });
            seen.insert(copy.clone());
            name = copy;
        }
        g.output.push(value_info(&name, &graph.g[o.node].shape));
    }
    let bytes: u64 = initializers.iter().map(|(_, t)| 4 * t.data.len() as u64).sum();
    let mut external = (bytes > options.external_above).then(Vec::new);
    for (name, t) in initializers {
        let raw: Vec<u8> = t.data.iter().flat_map(|v| v.to_le_bytes()).collect();
        let mut proto = TensorProto {
            dims: t.shape.iter().map(|&d| d as i64).collect(),
            data_type: data_type::FLOAT,
            name,
            ..Default::default()
        };
        match &mut external {
            None => proto.raw_data = raw,
            Some(data) => {
                let entry = |key: &str, value: String| StringStringEntryProto { key: key.to_string(), value };
                proto.external_data = vec![
                    entry("location", data_file.to_string()),
                    entry("offset", data.len().to_string()),
                    entry("length", raw.len().to_string()),
                ];
                proto.data_location = DataLocation::External as i32;
                data.extend_from_slice(&raw);
            }
        }
        g.initializer.push(proto);
    }
    let proto = ModelProto {
        ir_version: ir_version(options.opset),
        opset_import: vec![OperatorSetIdProto { domain: String::new(), version: options.opset }],
        producer_name: "netc".to_string(),
        producer_version: env!("CARGO_PKG_VERSION").to_string(),
        doc_string: format!("{name}, written by netc emit onnx"),
        graph: Some(g),
        ..Default::default()
    };
    Model { proto, external: external.map(|d| (data_file.to_string(), d)) }
}

/// Writes the ONNX model of `graph` with `weights` to `path` (and its external data beside
/// it, as `<file name>.data`, when the weights are too large for one protobuf message).
/// Returns the model.
pub fn write_model(graph: &Graph, weights: &Weights, path: &Path, options: &EmitOptions) -> Result<Model, String> {
    let stem = path.file_stem().map_or("network".into(), |s| s.to_string_lossy());
    let file_name = path.file_name().map_or("model.onnx".into(), |s| s.to_string_lossy());
    let data_file = format!("{file_name}.data");
    let model = to_model(graph, weights, &stem, &data_file, options);
    let write =
        |p: &Path, bytes: &[u8]| std::fs::write(p, bytes).map_err(|e| format!("cannot write `{}`: {e}", p.display()));
    if let Some((name, data)) = &model.external {
        write(&path.with_file_name(name), data)?;
    }
    write(path, &model.proto.encode_to_vec())?;
    Ok(model)
}
