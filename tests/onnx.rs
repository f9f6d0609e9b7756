//! `netc emit onnx` and `netc emit triton`: ONNX Runtime computes what netc computes on every
//! example (fixtures by `scripts/onnx_fixtures.py`, which also runs ONNX's checker with
//! `full_check`), and the emitted model, decoded with netc's own protobuf types, has a node per
//! layer, the weights as initializers with netc's names and shapes, and a dynamic batch.

mod common;

use netc::compile::compile_file;
use netc::io::read_npy;
use netc::ir::LowerOptions;
use netc::onnx::proto::{ModelProto, tensor_shape_proto::dimension, type_proto};
use netc::onnx::{EmitOptions, decode_model, to_model, triton_config};
use netc::run::prepare;
use netc::tensor::Tensor;
use netc::weights::{Weights, units};
use prost::Message;
use serde_json::Value;
use std::collections::BTreeSet;
use std::path::Path;

const FIXTURES: &str = "tests/fixtures/onnx";

const SCRIPT: &str = "scripts/onnx_fixtures.py";

fn meta() -> serde_json::Map<String, Value> {
    common::fixture_meta(FIXTURES, SCRIPT)
}

/// Every `.net` file the fixtures cover: the examples, the op examples and the zoo.
fn example_files() -> Vec<String> {
    common::net_files(&["examples", "examples/ops", "examples/zoo"])
}

/// `dims` of a value info, the batch as -1.
fn dims_of(v: &netc::onnx::proto::ValueInfoProto) -> Vec<i64> {
    let Some(type_proto::Value::TensorType(t)) = v.r#type.as_ref().unwrap().value.as_ref() else { panic!("tensor") };
    t.shape
        .as_ref()
        .unwrap()
        .dim
        .iter()
        .map(|d| match &d.value {
            Some(dimension::Value::DimValue(v)) => *v,
            Some(dimension::Value::DimParam(p)) => {
                assert_eq!(p, "batch");
                -1
            }
            None => panic!("a dimension without a value"),
        })
        .collect()
}

#[test]
fn every_example_that_checks_has_a_fixture() {
    common::assert_fixtures_cover(&meta(), &example_files(), SCRIPT);
}

#[test]
fn onnx_runtime_computes_what_netc_computes() {
    for (name, m) in meta() {
        let c = compile_file(Path::new(m["file"].as_str().unwrap()), &LowerOptions::default()).unwrap();
        let dims: Vec<usize> =
            m["input_shape"].as_array().unwrap().iter().map(|d| d.as_u64().unwrap() as usize).collect();
        let batch = m["batch"].as_u64().unwrap() as usize;
        let shape: Vec<usize> = std::iter::once(batch).chain(dims).collect();
        let n = shape.iter().product();
        let input = Tensor::from_vec(&shape, units("input", 0, n).map(|u| u as f32).collect());
        let expected = read_npy(Path::new(FIXTURES).join(format!("{name}.npy"))).unwrap().into_f32_tensor();
        let (_, plan) = prepare(&c.graph, Weights::generate(&c.graph, 0), "generated").unwrap();
        let got = netc::backend::fastest(plan, 2).unwrap().run(&[input]).remove(0);
        assert_eq!(got.shape, expected.shape, "{name}");
        let scale = expected.data.iter().fold(1f32, |m, v| m.max(v.abs()));
        let diff = got.data.iter().zip(&expected.data).fold(0f32, |m, (a, b)| m.max((a - b).abs()));
        println!("{name}: max |netc - onnxruntime| / max(1, max |onnxruntime|) = {:.2e}", diff / scale);
        assert!(diff <= 1e-4 * scale, "{name}: netc and ONNX Runtime differ by {diff} (largest output {scale})");
    }
}

/// The ONNX model `netc emit onnx` writes for `file` (generated weights, seed 0), decoded.
fn emitted(file: &str, options: &EmitOptions) -> (netc::compile::Compilation, Weights, ModelProto) {
    let c = compile_file(Path::new(file), &LowerOptions::default()).unwrap();
    let weights = Weights::generate(&c.graph, 0);
    let model = to_model(&c.graph, &weights, "net", "net.onnx.data", options);
    let decoded = decode_model(&model.proto.encode_to_vec()).unwrap();
    (c, weights, decoded)
}

#[test]
fn the_model_has_a_node_per_layer_and_the_weights_by_name() {
    let (c, weights, model) = emitted("examples/resnet18.net", &EmitOptions::default());
    assert_eq!(model.opset_import[0].version, 17);
    assert_eq!(model.ir_version, 8);
    let g = model.graph.unwrap();
    // Every layer but the input is a node of its path, whose output is the layer's value.
    let nodes: BTreeSet<&str> = g.node.iter().map(|n| n.name.as_str()).collect();
    for n in c.graph.topo_order().into_iter().skip(1) {
        let path = c.graph.path(n);
        let node = g.node.iter().find(|x| x.name == path).unwrap_or_else(|| panic!("no node {path}"));
        assert_eq!(node.output, std::slice::from_ref(&path));
        assert!(nodes.contains(path.as_str()));
    }
    let conv = g.node.iter().find(|n| n.name == "conv1").unwrap();
    assert_eq!(conv.op_type, "Conv");
    assert_eq!(conv.input, ["image", "conv1.weight"]);
    let attr = |name: &str| conv.attribute.iter().find(|a| a.name == name).unwrap().ints.clone();
    assert_eq!((attr("kernel_shape"), attr("strides"), attr("pads")), (vec![7, 7], vec![2, 2], vec![3, 3, 3, 3]));
    // Initializers: exactly netc's weights, same names, shapes and values.
    let names: BTreeSet<&str> = g.initializer.iter().map(|t| t.name.as_str()).collect();
    assert_eq!(names, weights.tensors.keys().map(String::as_str).collect());
    for t in &g.initializer {
        let w = weights.get(&t.name).unwrap();
        assert_eq!(t.dims, w.shape.iter().map(|&d| d as i64).collect::<Vec<_>>(), "{}", t.name);
        let values: Vec<f32> = t.raw_data.chunks(4).map(|b| f32::from_le_bytes(b.try_into().unwrap())).collect();
        assert_eq!(values, w.data, "{}", t.name);
    }
    // The input by the file's name, the output after its layer; the batch is dynamic.
    assert_eq!(g.input.len(), 1);
    assert_eq!((g.input[0].name.as_str(), dims_of(&g.input[0])), ("image", vec![-1, 3, 224, 224]));
    assert_eq!((g.output[0].name.as_str(), dims_of(&g.output[0])), ("dense1", vec![-1, 1000]));
}

#[test]
fn normalize_is_in_the_graph() {
    let (_, _, model) = emitted("examples/cifar10/resvgg.net", &EmitOptions::default());
    let g = model.graph.unwrap();
    let ops: Vec<&str> = g.node.iter().take_while(|n| !n.name.contains('.')).map(|n| n.op_type.as_str()).collect();
    assert_eq!(ops, ["Constant", "Mul", "Constant", "Sub", "Constant", "Div"]);
    assert_eq!(g.node.iter().filter(|n| n.input.contains(&"image".to_string())).count(), 1);
}

#[test]
fn gelu_is_one_node_from_opset_20_and_a_formula_before() {
    for (opset, gelus) in [(17, 0), (20, 1)] {
        let (_, _, model) = emitted("examples/ops/convnext.net", &EmitOptions { opset, ..EmitOptions::default() });
        let g = model.graph.unwrap();
        assert_eq!(g.node.iter().filter(|n| n.op_type == "Gelu").count() > 0, gelus > 0, "opset {opset}");
        assert_eq!(g.node.iter().any(|n| n.op_type == "Erf"), gelus == 0, "opset {opset}");
    }
}

#[test]
fn large_weights_go_to_external_data() {
    let (_, weights, model) =
        emitted("examples/readme.net", &EmitOptions { external_above: 1000, ..EmitOptions::default() });
    let g = model.graph.unwrap();
    let mut end = 0;
    for t in &g.initializer {
        assert!(t.raw_data.is_empty());
        assert_eq!(t.data_location, 1, "{}", t.name);
        let entry = |k: &str| t.external_data.iter().find(|e| e.key == k).unwrap().value.clone();
        assert_eq!(entry("location"), "net.onnx.data");
        let (offset, length): (usize, usize) = (entry("offset").parse().unwrap(), entry("length").parse().unwrap());
        assert_eq!((offset, length), (end, 4 * weights.get(&t.name).unwrap().data.len()));
        end += length;
    }
}

#[test]
fn emit_onnx_writes_the_file_and_rejects_bad_opsets() {
    let dir = std::env::temp_dir().join(format!("netc-onnx-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let out = dir.join("readme.onnx");
    let (code, stdout, stderr) = common::netc(&["emit", "onnx", "examples/readme.net", "-o", out.to_str().unwrap()]);
    assert_eq!(code, 0, "{stderr}");
    assert!(stderr.contains("no --weights given"), "{stderr}");
    assert!(stdout.contains("(opset 17): 18 nodes, 14 initializers"), "{stdout}");
    let model = netc::onnx::read_model(&out).unwrap();
    assert_eq!(model.graph.unwrap().node.len(), 18);
    let (code, _, stderr) = common::netc(&["emit", "onnx", "examples/readme.net", "-o", "x.onnx", "--opset", "9"]);
    assert_eq!(code, 2);
    assert!(stderr.contains("netc writes ONNX opsets 17 to 21, not 9"), "{stderr}");
    let (code, _, stderr) = common::netc(&["emit", "onnx", "examples/seed_torch.net", "-o", "x.onnx"]);
    assert_eq!(code, 1);
    assert!(stderr.contains("E0007"), "{stderr}");
    assert!(!Path::new("x.onnx").exists());
    std::fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn triton_repository() {
    let dir = std::env::temp_dir().join(format!("netc-triton-{}", std::process::id()));
    let (code, stdout, stderr) = common::netc(&[
        "emit",
        "triton",
        "examples/resvgg9.net",
        "-o",
        dir.to_str().unwrap(),
        "--max-batch-size",
        "16",
    ]);
    assert_eq!(code, 0, "{stderr}");
    assert!(stdout.contains("resvgg9/1/model.onnx"), "{stdout}");
    let model = netc::onnx::read_model(&dir.join("resvgg9/1/model.onnx")).unwrap();
    let config = std::fs::read_to_string(dir.join("resvgg9/config.pbtxt")).unwrap();
    assert_eq!(config, triton_config(&model, "resvgg9", 16));
    insta::assert_snapshot!(config);
    std::fs::remove_dir_all(&dir).unwrap();
}
