//! The trained CIFAR-10 example against PyTorch: logits on the 100 committed test images, and
//! top-1 predictions and accuracy on the full 10,000-image test set (decoded from
//! ../shared/data/cifar10-jpeg.tgz by scripts/cifar_data.py; skipped only when that file is absent).

use netc::backend::Backend;
use netc::compile::compile_file;
use netc::io::{read_npy, read_tensors};
use netc::ir::LowerOptions;
use netc::run::{input_batch, prepare, top_k};
use netc::tensor::Tensor;
use netc::weights::Weights;
use std::path::{Path, PathBuf};

const DIR: &str = "examples/cifar10";

/// The example with its trained weights, compiled and planned.
fn compiled() -> (netc::compile::Compilation, netc::plan::Plan) {
    let c = compile_file(&Path::new(DIR).join("resvgg.net"), &LowerOptions::default()).unwrap();
    assert!(!c.has_errors());
    let weights = Weights::new(read_tensors(Path::new(DIR).join("resvgg.safetensors")).unwrap().tensors);
    let (_, plan) = prepare(&c.graph, weights, "resvgg.safetensors").unwrap();
    (c, plan)
}

/// The example on the fastest back end.
fn network() -> (netc::compile::Compilation, Box<dyn Backend>) {
    let (c, plan) = compiled();
    (c, netc::backend::fastest(plan, 2).unwrap())
}

#[test]
fn logits_on_committed_images_match_pytorch() {
    let (c, plan) = compiled();
    let images = read_npy(Path::new(DIR).join("images.npy")).unwrap();
    let input = input_batch(&c.graph, 0, &images, "images.npy").unwrap();
    let torch = read_npy(Path::new(DIR).join("torch_logits.npy")).unwrap().into_f32_tensor();
    let scale = torch.data.iter().fold(0f32, |m, v| m.max(v.abs()));
    let backends: [Box<dyn Backend>; 2] =
        [netc::backend::fastest(plan.clone(), 2).unwrap(), Box::new(netc::backend::interp::Interpreter::new(plan, 2))];
    for backend in backends {
        let logits = backend.run(std::slice::from_ref(&input)).remove(0);
        assert_eq!(logits.shape, torch.shape);
        let diff = logits.data.iter().zip(&torch.data).fold(0f32, |m, (a, b)| m.max((a - b).abs()));
        assert!(diff <= 1e-4 * scale, "{}: max |netc - torch| = {diff}, max |torch| = {scale}", backend.name());
    }
}

fn data_dir() -> PathBuf {
    std::env::var_os("NETC_DATA_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from(std::env::var_os("HOME").unwrap_or_default()).join(".cache/netc-data"))
}

#[test]
fn full_test_set_agrees_with_pytorch() {
    let tgz = Path::new(env!("CARGO_MANIFEST_DIR")).join("../shared/data/cifar10-jpeg.tgz");
    if !tgz.exists() {
        eprintln!("skipped: {} is absent", tgz.display());
        return;
    }
    let x_path = data_dir().join("cifar10-test-x.npy");
    let x = read_npy(&x_path).unwrap_or_else(|e| {
        panic!("{e}\nbuild the decoded test set with `python3 scripts/cifar_data.py --split test`")
    });
    let y = read_npy(data_dir().join("cifar10-test-y.npy")).unwrap();
    let labels = y.as_i64().unwrap();
    let torch_top1 = read_npy(Path::new(DIR).join("torch_test_top1.npy")).unwrap();
    let torch_top1 = torch_top1.as_i64().unwrap();
    let (c, backend) = network();
    let all = input_batch(&c.graph, 0, &x, "cifar10-test-x.npy").unwrap();
    let per: usize = all.shape[1..].iter().product();
    let n = all.shape[0];
    let mut top1 = Vec::with_capacity(n);
    for start in (0..n).step_by(500) {
        let end = (start + 500).min(n);
        let mut shape = all.shape.clone();
        shape[0] = end - start;
        let batch = Tensor::from_vec(&shape, all.data[start * per..end * per].to_vec());
        let out = backend.run(&[batch]).remove(0);
        top1.extend(top_k(&out, 1).into_iter().map(|r| r[0].0 as i64));
    }
    let agree = top1.iter().zip(torch_top1).filter(|(a, b)| a == b).count();
    let correct = |p: &[i64]| p.iter().zip(labels).filter(|(a, b)| a == b).count() as f64 * 100.0 / n as f64;
    let (netc_acc, torch_acc) = (correct(&top1), correct(torch_top1));
    println!(
        "CIFAR-10 test set: {n} images; top-1 agreement with PyTorch {agree}/{n} ({:.3}%); accuracy netc {netc_acc:.2}%, PyTorch {torch_acc:.2}%",
        agree as f64 * 100.0 / n as f64
    );
    assert_eq!(n, 10_000);
    assert!(agree as f64 >= 0.999 * n as f64, "only {agree} of {n} top-1 predictions agree with PyTorch");
    assert!((netc_acc - torch_acc).abs() <= 0.05, "accuracy {netc_acc} vs PyTorch {torch_acc}");
    assert!(netc_acc >= 85.0, "accuracy {netc_acc} below 85%");
}
