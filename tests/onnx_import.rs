//! `netc import onnx` on PyTorch exports of torchvision's resnet18, vgg16 and mobilenet_v2 and a
//! small network flattened with `x.view(x.size(0), -1)` (fixtures by `scripts/onnx_import.py`):
//! the import equals the committed `examples/imported/*.net` and runs equal to ONNX Runtime.
//! The fixtures' float initializers are stripped; both the script and this test fill them with
//! netc's generator by the initializers' names (the rule is in the script's docstring). Also:
//! the unsupported-op diagnostic, and malformed files, which get a clear error and no panic.

mod common;

use netc::compile::compile_source;
use netc::io::read_npy;
use netc::ir::LowerOptions;
use netc::onnx::proto::{ModelProto, data_type};
use netc::onnx::{decode_model, import};
use netc::run::prepare;
use netc::tensor::Tensor;
use netc::weights::units;
use prost::Message;
use std::path::Path;

const FIXTURES: &str = "tests/fixtures/onnx_import";

/// The fixture `name`'s model with its float initializers filled by the generator.
fn model(name: &str) -> ModelProto {
    let bytes = std::fs::read(Path::new(FIXTURES).join(format!("{name}.onnx"))).unwrap();
    let mut m = decode_model(&bytes).unwrap();
    for t in &mut m.graph.as_mut().unwrap().initializer {
        if t.data_type != data_type::FLOAT {
            continue;
        }
        assert!(t.raw_data.is_empty() && t.float_data.is_empty(), "{}: the fixture keeps its data", t.name);
        let dims: Vec<usize> = t.dims.iter().map(|&d| d as usize).collect();
        let u = units(&t.name, 0, dims.iter().product());
        t.float_data = if dims.len() >= 2 {
            let s = (6.0 / dims[1..].iter().product::<usize>() as f64).sqrt();
            u.map(|u| (u * s) as f32).collect()
        } else if t.name.contains("var") {
            u.map(|u| (1.0 + 0.25 * (u + 1.0)) as f32).collect()
        } else {
            u.map(|u| (0.1 * u) as f32).collect()
        };
    }
    m
}

#[test]
fn imports_equal_the_committed_files_and_onnx_runtime() {
    for name in ["viewnet", "resnet18", "mobilenet_v2", "vgg16"] {
        let imported = import(&model(name), &format!("{name}.onnx")).unwrap_or_else(|e| panic!("{name}: {e}"));
        let committed = std::fs::read_to_string(format!("examples/imported/{name}.net")).unwrap();
        assert_eq!(imported.source, committed, "{name}: run scripts/onnx_import.py {name}");
        let c = compile_source(name, imported.source, Path::new("."), &LowerOptions::default());
        assert!(c.diagnostics.is_empty(), "{name}: {:?}", c.diagnostics);
        let expected = read_npy(Path::new(FIXTURES).join(format!("{name}.npy"))).unwrap().into_f32_tensor();
        let dims = c.graph.g[c.graph.inputs[0]].shape.clone();
        let shape: Vec<usize> = std::iter::once(1).chain(dims).collect();
        let input = Tensor::from_vec(&shape, units("input", 0, shape.iter().product()).map(|u| u as f32).collect());
        let (_, plan) = prepare(&c.graph, imported.weights, "imported").unwrap();
        let got = netc::backend::fastest(plan, 2).unwrap().run(&[input]).remove(0);
        assert_eq!(got.shape, expected.shape, "{name}");
        let scale = expected.data.iter().fold(1f32, |m, v| m.max(v.abs()));
        let diff = got.data.iter().zip(&expected.data).fold(0f32, |m, (a, b)| m.max((a - b).abs()));
        println!("{name}: max |netc - onnxruntime| / max(1, max |onnxruntime|) = {:.2e}", diff / scale);
        assert!(diff <= 1e-4 * scale, "{name}: netc and ONNX Runtime differ by {diff}");
    }
}

#[test]
fn residuals_and_labels_come_from_the_graph() {
    let text = std::fs::read_to_string("examples/imported/resnet18.net").unwrap();
    assert_eq!(text.matches("residual {").count(), 8);
    assert_eq!(text.matches("shortcut {").count(), 3);
    assert!(text.contains("conv(128, 1, stride = 2) as layer2_0_downsample_0"), "{text}");
    assert!(!text.contains("let "), "resnet18 is one chain");
    // x.view(x.size(0), -1): Shape, Gather, Unsqueeze, Concat folded into a flatten.
    let view = std::fs::read_to_string("examples/imported/viewnet.net").unwrap();
    assert!(view.contains("flatten as Reshape"), "{view}");
}

#[test]
fn unsupported_ops_are_listed_in_one_error_and_nothing_is_written() {
    let err = import(&model("unsupported"), "unsupported.onnx").err().unwrap().to_string();
    insta::assert_snapshot!(err);
    let dir = std::env::temp_dir().join(format!("netc-import-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let full = dir.join("unsupported.onnx");
    std::fs::write(&full, model("unsupported").encode_to_vec()).unwrap();
    let (out, w) = (dir.join("u.net"), dir.join("u.safetensors"));
    let args =
        ["import", "onnx", full.to_str().unwrap(), "-o", out.to_str().unwrap(), "--weights-out", w.to_str().unwrap()];
    let (code, stdout, stderr) = common::netc(&args);
    assert_eq!((code, stdout.as_str()), (1, ""));
    assert!(stderr.starts_with("error: `unsupported.onnx` has"), "{stderr}");
    assert!(!out.exists() && !w.exists());
    std::fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn malformed_files_get_a_clear_error_never_a_panic() {
    let bytes = model("viewnet").encode_to_vec();
    // Truncations and garbles (a byte overwritten by three values) at 1,500 places.
    let step = bytes.len() / 1500 + 1;
    for cut in (0..bytes.len()).step_by(step) {
        if let Ok(m) = decode_model(&bytes[..cut]) {
            let _ = import(&m, "cut.onnx");
        }
    }
    let (mut rejected, mut tried) = (0, 0);
    for i in (0..bytes.len()).step_by(step) {
        for v in [0x00, 0xff, 0x0a] {
            let mut b = bytes.clone();
            b[i] = v;
            tried += 1;
            match decode_model(&b) {
                Ok(m) => rejected += import(&m, "garbled.onnx").is_err() as usize,
                Err(e) => {
                    assert!(e.contains("not") && e.contains("ONNX"), "{e}");
                    rejected += 1;
                }
            }
        }
    }
    // Most garbles land in weight data, which stays a valid model; the others are errors.
    assert!(rejected > tried / 20, "only {rejected} of {tried} garbles rejected");
    let dir = std::env::temp_dir().join(format!("netc-malformed-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    for (file, contents, message) in [
        ("empty.onnx", &[][..], "the file is empty, not an ONNX model"),
        ("half.onnx", &bytes[..bytes.len() / 2], "protobuf decoding failed"),
        ("text.onnx", &b"input image: 3x8x8\n"[..], "not"),
    ] {
        let path = dir.join(file);
        std::fs::write(&path, contents).unwrap();
        let (code, _, stderr) =
            common::netc(&["import", "onnx", path.to_str().unwrap(), "-o", dir.join("x.net").to_str().unwrap()]);
        assert_eq!(code, 2, "{file}: {stderr}");
        assert!(stderr.starts_with("error: `") && stderr.contains(message), "{file}: {stderr}");
    }
    assert!(!dir.join("x.net").exists());
    std::fs::remove_dir_all(&dir).unwrap();
}

/// netc's own ONNX comes back: emitting a network with transposed convolutions, nearest and
/// bilinear upsampling, dilated and rectangular convolutions and concatenations
/// (`examples/ops/segment.net`), then importing the model, gives a network that runs equal to the
/// original with the imported weights.
#[test]
fn emitted_models_import_and_run_equal() {
    use netc::backend::Backend;
    use netc::backend::interp::Interpreter;
    use netc::onnx::{EmitOptions, to_model};
    use netc::weights::Weights;
    let source = std::fs::read_to_string("examples/ops/segment.net").unwrap();
    let original = compile_source("segment.net", source, Path::new("examples/ops"), &LowerOptions::default());
    assert!(!original.has_errors());
    let weights = Weights::generate(&original.graph, 3);
    let model = to_model(&original.graph, &weights, "segment", "segment.onnx.data", &EmitOptions::default());
    let imported = import(&model.proto, "segment.onnx").unwrap();
    for op in ["conv_transpose(16, 2, stride = 2)", "upsample(2, mode = bilinear)", "upsample([1, 2])"] {
        assert!(imported.source.contains(op), "{op} in:\n{}", imported.source);
    }
    let back = compile_source("imported.net", imported.source.clone(), Path::new("."), &LowerOptions::default());
    assert!(!back.has_errors(), "{}", imported.source);
    let (_, plan) = prepare(&original.graph, weights, "generated").unwrap();
    let (_, plan_back) = prepare(&back.graph, imported.weights, "imported").unwrap();
    let x = plan.sample_inputs(2, 1);
    let (a, b) = (Interpreter::new(plan, 1).run(&x), Interpreter::new(plan_back, 1).run(&x));
    assert_eq!(a[0].shape, b[0].shape);
    let err = netc::run::relative_error(&a[0], &b[0]);
    assert!(err < 1e-5, "relative error {err:e}");
}
