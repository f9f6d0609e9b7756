//! `netc emit pytorch`: the emitted module, given netc's weights, computes what netc computes on
//! every example (fixtures by `scripts/pytorch_fixtures.py`, which also checks that the module's
//! `state_dict()` keys and shapes are netc's weight names and shapes); the emitted source of a
//! few networks is snapshotted and compiles with `python3 -m py_compile`; weight files saved
//! from PyTorch, `num_batches_tracked` included, load.

mod common;

use netc::compile::compile_file;
use netc::io::read_npz;
use netc::ir::LowerOptions;
use netc::pytorch::to_python;
use netc::run::prepare;
use netc::tensor::Tensor;
use netc::weights::{Weights, units};
use serde_json::Value;
use std::path::Path;

const FIXTURES: &str = "tests/fixtures/pytorch";

const SCRIPT: &str = "scripts/pytorch_fixtures.py";

fn meta() -> serde_json::Map<String, Value> {
    common::fixture_meta(FIXTURES, SCRIPT)
}

/// Every `.net` file the fixtures cover.
fn files() -> Vec<String> {
    let mut files = common::net_files(&["examples", "examples/ops", "examples/zoo", "examples/imported", FIXTURES]);
    files.insert(0, "examples/cifar10/resvgg.net".to_string());
    files
}

#[test]
fn every_example_that_checks_has_a_fixture() {
    common::assert_fixtures_cover(&meta(), &files(), SCRIPT);
}

#[test]
fn the_emitted_module_computes_what_netc_computes() {
    for (name, m) in meta() {
        let c = compile_file(Path::new(m["file"].as_str().unwrap()), &LowerOptions::default()).unwrap();
        let batch = m["batch"].as_u64().unwrap() as usize;
        let declared = m["inputs"].as_array().unwrap();
        let inputs: Vec<Tensor> = declared
            .iter()
            .map(|i| {
                let dims = i["shape"].as_array().unwrap().iter().map(|d| d.as_u64().unwrap() as usize);
                let shape: Vec<usize> = std::iter::once(batch).chain(dims).collect();
                let unit_name = if declared.len() == 1 { "input" } else { i["name"].as_str().unwrap() };
                Tensor::from_vec(&shape, units(unit_name, 0, shape.iter().product()).map(|u| u as f32).collect())
            })
            .collect();
        let expected = read_npz(Path::new(FIXTURES).join(format!("{name}.npz")), 1 << 30).unwrap();
        let (_, plan) = prepare(&c.graph, Weights::generate(&c.graph, 0), "generated").unwrap();
        let got = netc::backend::fastest(plan, 2).unwrap().run(&inputs);
        assert_eq!(got.len(), expected.len(), "{name}: outputs");
        for (i, (got, (_, want))) in got.iter().zip(&expected).enumerate() {
            let want = want.to_f32_tensor();
            assert_eq!(got.shape, want.shape, "{name} output {i}");
            let scale = want.data.iter().fold(1f32, |m, v| m.max(v.abs()));
            let diff = got.data.iter().zip(&want.data).fold(0f32, |m, (a, b)| m.max((a - b).abs()));
            println!("{name} output {i}: max |netc - pytorch| / max(1, max |pytorch|) = {:.2e}", diff / scale);
            assert!(diff <= 1e-4 * scale, "{name} output {i}: netc and PyTorch differ by {diff} (largest {scale})");
        }
    }
}

fn emitted(file: &str) -> String {
    let c = compile_file(Path::new(file), &LowerOptions::default()).unwrap();
    to_python(&c, file).unwrap().source
}

/// A readable network, a ResNet (shortcuts, prelude blocks), a U-Net (a tensor parameter, a
/// block built lazily from its input's shape) and a network with two inputs and outputs.
const SNAPSHOTTED: &[(&str, &str)] = &[
    ("readme", "examples/readme.net"),
    ("resnet18", "examples/resnet18.net"),
    ("unet", "examples/zoo/unet.net"),
    ("multi", "tests/fixtures/pytorch/multi.net"),
];

#[test]
fn emitted_source() {
    for (name, file) in SNAPSHOTTED {
        insta::assert_snapshot!(format!("emit_pytorch_{name}"), emitted(file));
    }
}

#[test]
fn emitted_source_compiles_in_python() {
    if std::process::Command::new("python3").arg("--version").output().is_err() {
        println!("skipped: no python3 on PATH");
        return;
    }
    let dir = std::env::temp_dir().join(format!("netc-emit-pytorch-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    for (name, file) in SNAPSHOTTED {
        let path = dir.join(format!("{name}.py"));
        std::fs::write(&path, emitted(file)).unwrap();
        let out = std::process::Command::new("python3").args(["-m", "py_compile"]).arg(&path).output().unwrap();
        assert!(out.status.success(), "{file}: {}", String::from_utf8_lossy(&out.stderr));
    }
    std::fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn the_command_writes_the_module() {
    let path = std::env::temp_dir().join(format!("netc-emit-pytorch-readme-{}.py", std::process::id()));
    let (code, out, err) = common::netc(&["emit", "pytorch", "examples/readme.net", "-o", path.to_str().unwrap()]);
    assert_eq!(code, 0, "{err}");
    assert_eq!(out, format!("wrote {}: class `Network` and 2 block classes (Vgg, Res)\n", path.display()));
    assert_eq!(std::fs::read_to_string(&path).unwrap(), emitted("examples/readme.net"));
    std::fs::remove_file(&path).unwrap();
    let (code, _, err) = common::netc(&["emit", "pytorch", "examples/seed_torch.net", "-o", "unused.py"]);
    assert_eq!(code, 1);
    assert!(err.contains("error[E0007]"), "{err}");
    assert!(!Path::new("unused.py").exists());
}

#[test]
fn a_let_tensors_shape_in_a_layers_arguments_is_refused() {
    let source = "input x: 3x8x8\n\nblock b() {\n    let t = in -> conv(4, 3)\n    t -> conv(channels(t) * 2, 1)\n}\n\noutput x -> b\n";
    let c = netc::compile::compile_source("shape.net", source.into(), Path::new("."), &LowerOptions::default());
    assert!(!c.has_errors());
    let errors = to_python(&c, "shape.net").err().unwrap();
    assert_eq!(errors.len(), 1, "{errors:?}");
    assert!(errors[0].starts_with("block `b`: the shape of `let` tensor `t` in a layer's arguments"), "{}", errors[0]);
}

#[test]
fn weights_saved_by_pytorch_load_with_their_training_state() {
    let c = compile_file(Path::new(FIXTURES).join("multi.net").as_path(), &LowerOptions::default()).unwrap();
    let mut tensors: Vec<(String, Tensor)> = Weights::generate(&c.graph, 0).tensors.into_iter().collect();
    // What `model.state_dict()` holds beside netc's weights: a batchnorm's count of batches.
    tensors.push(("branch1.batchnorm1.num_batches_tracked".into(), Tensor::from_vec(&[], vec![7.0])));
    let path = std::env::temp_dir().join(format!("netc-state-dict-{}.safetensors", std::process::id()));
    netc::io::write_safetensors(&path, &tensors, &Default::default()).unwrap();
    let read = netc::run::read_weights(&path, &c.graph).unwrap();
    std::fs::remove_file(&path).unwrap();
    assert!(read.tensors.get("branch1.batchnorm1.num_batches_tracked").is_none());
    read.tensors.validate(&c.graph, &read.source).unwrap();
    // The optimizer folds the batchnorms away, and the weights still match the network.
    assert!(prepare(&c.graph, read.tensors, &read.source).is_ok());
    // Only a batchnorm has such state: on another layer the tensor is unexpected.
    tensors.push(("branch1.conv1.num_batches_tracked".into(), Tensor::from_vec(&[], vec![7.0])));
    netc::io::write_safetensors(&path, &tensors, &Default::default()).unwrap();
    let read = netc::run::read_weights(&path, &c.graph).unwrap();
    std::fs::remove_file(&path).unwrap();
    let d = read.tensors.validate(&c.graph, &read.source).unwrap_err();
    assert!(d.message.contains("0 missing, 1 unexpected"), "{}", d.message);
}
