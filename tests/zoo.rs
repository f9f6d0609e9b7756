//! The CNN zoo (`examples/zoo/`) against torchvision: every network checks with exactly
//! torchvision's parameter and FLOP counts, and, with netc's generated weights loaded into the
//! torchvision model, gives torchvision's output within 1e-4 (relative to the largest output) on
//! both back ends. Fixtures by `scripts/zoo.py`.

use netc::backend::{Backend, interp::Interpreter};
use netc::check::layer_table;
use netc::compile::compile_file;
use netc::io::read_npy;
use netc::ir::LowerOptions;
use netc::run::prepare;
use netc::tensor::Tensor;
use netc::weights::{Weights, units};
use serde_json::Value;
use std::path::Path;
use std::time::Instant;

const FIXTURES: &str = "tests/fixtures/zoo";

/// Every network's `meta.json`, by name.
fn totals() -> Vec<(String, Value)> {
    let mut all: Vec<(String, Value)> = std::fs::read_dir(FIXTURES)
        .expect("zoo fixtures")
        .map(|e| e.unwrap().path())
        .filter(|d| d.join("meta.json").exists())
        .map(|d| {
            let meta = serde_json::from_str(&std::fs::read_to_string(d.join("meta.json")).unwrap()).unwrap();
            (d.file_name().unwrap().to_string_lossy().into_owned(), meta)
        })
        .collect();
    all.sort_by(|a, b| a.0.cmp(&b.0));
    all
}

#[test]
fn every_network_has_torchvisions_parameters_and_flops() {
    let totals = totals();
    let files: Vec<String> = std::fs::read_dir("examples/zoo")
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|e| e == "net"))
        .map(|p| p.file_stem().unwrap().to_string_lossy().into_owned())
        .collect();
    for name in &files {
        assert!(
            totals.iter().any(|(n, _)| n == name),
            "examples/zoo/{name}.net has no fixture: run scripts/zoo.py {name}"
        );
    }
    for (name, t) in &totals {
        let c = compile_file(Path::new(t["file"].as_str().unwrap()), &LowerOptions::default()).unwrap();
        assert!(c.diagnostics.is_empty(), "{name}: {:?}", c.diagnostics);
        let table = layer_table(&c.graph);
        assert_eq!(table.total_params, t["params"].as_u64().unwrap(), "{name}: parameters");
        assert_eq!(table.total_flops, t["flops"].as_u64().unwrap(), "{name}: FLOPs");
    }
}

#[test]
fn every_network_computes_what_torchvision_computes() {
    for (name, t) in totals() {
        let c = compile_file(Path::new(t["file"].as_str().unwrap()), &LowerOptions::default()).unwrap();
        let dims: Vec<usize> =
            t["input_shape"].as_array().unwrap().iter().map(|d| d.as_u64().unwrap() as usize).collect();
        let n = dims.iter().product();
        let shape: Vec<usize> = std::iter::once(1).chain(dims).collect();
        let input = Tensor::from_vec(&shape, units("input", 0, n).map(|u| u as f32).collect());
        let expected = read_npy(Path::new(FIXTURES).join(&name).join("output.npy")).unwrap().into_f32_tensor();
        let (_, plan) = prepare(&c.graph, Weights::generate(&c.graph, 0), "generated").unwrap();
        let backends: [Box<dyn Backend>; 2] =
            [Box::new(Interpreter::new(plan.clone(), 2)), netc::backend::fastest(plan, 2).unwrap()];
        for backend in backends {
            let start = Instant::now();
            let got = backend.run(std::slice::from_ref(&input)).remove(0);
            assert_eq!(got.shape, expected.shape, "{name}");
            let scale = expected.data.iter().fold(0f32, |m, v| m.max(v.abs()));
            let diff = got.data.iter().zip(&expected.data).fold(0f32, |m, (a, b)| m.max((a - b).abs()));
            let b = backend.name();
            println!(
                "{name} ({b}): max |netc - torch| / max |torch| = {:.2e} in {:.2?}",
                diff / scale,
                start.elapsed()
            );
            assert!(diff <= 1e-4 * scale, "{name} ({b}): max |netc - torch| = {diff}, max |torch| = {scale}");
        }
    }
}

/// The book's zoo page lists every network with the parameters and FLOPs of its fixture.
#[test]
fn the_book_lists_every_network() {
    let page = std::fs::read_to_string("book/src/zoo.md").unwrap();
    for (name, t) in totals() {
        let dims: Vec<String> = t["input_shape"].as_array().unwrap().iter().map(|d| d.to_string()).collect();
        let params = netc::check::thousands(t["params"].as_u64().unwrap());
        let flops = format!("{:.2} G", t["flops"].as_u64().unwrap() as f64 / 1e9);
        let row = format!("`{}` | {} | {params} | {flops} |", t["file"].as_str().unwrap(), dims.join("x"));
        assert!(page.contains(&row), "book/src/zoo.md lacks the row of {name}: ...{row}");
    }
}
