//! netc against PyTorch: outputs of every example (`examples/*.net`, and `examples/ops/*.net`,
//! which use every op) on both back ends, from fixtures written by scripts/torch_oracle.py with
//! the same generated weights; parameter and FLOP totals; the weight generator itself; and the
//! conv/pool shape rules (tests/fixtures/shape_rules.json, from scripts/shape_rules.py).

use netc::backend::{Backend, interp::Interpreter};
use netc::check::layer_table;
use netc::compile::compile_file;
use netc::io::read_npy;
use netc::ir::LowerOptions;
use netc::kernels::window_out;
use netc::run::{input_batch, prepare};
use netc::weights::{Weights, units};
use serde_json::Value;
use std::path::Path;

fn json(path: &str) -> Value {
    serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap()
}

#[test]
fn every_example_matches_pytorch() {
    let mut checked = 0;
    for entry in std::fs::read_dir("tests/fixtures/oracle").unwrap() {
        let dir = entry.unwrap().path();
        if !dir.join("meta.json").exists() {
            continue;
        }
        let meta = json(dir.join("meta.json").to_str().unwrap());
        let example = meta["example"].as_str().unwrap();
        let c = compile_file(Path::new(example), &LowerOptions::default()).unwrap();
        assert!(!c.has_errors(), "{example} does not check");
        let weights = Weights::generate(&c.graph, meta["seed"].as_u64().unwrap());
        let input = input_batch(&c.graph, 0, &read_npy(dir.join("input.npy")).unwrap(), "input.npy").unwrap();
        let expected = read_npy(dir.join("output.npy")).unwrap().into_f32_tensor();
        let (_, plan) = prepare(&c.graph, weights, "generated").unwrap();
        let backends: [Box<dyn Backend>; 2] =
            [Box::new(Interpreter::new(plan.clone(), 2)), netc::backend::fastest(plan, 2).unwrap()];
        for backend in backends {
            let got = backend.run(std::slice::from_ref(&input)).remove(0);
            assert_eq!(got.shape, expected.shape, "{example}");
            let scale = expected.data.iter().fold(0f32, |m, v| m.max(v.abs()));
            let diff = got.data.iter().zip(&expected.data).fold(0f32, |m, (a, b)| m.max((a - b).abs()));
            let name = backend.name();
            assert!(diff <= 1e-4 * scale, "{example} ({name}): max |netc - torch| = {diff}, max |torch| = {scale}");
        }
        checked += 1;
    }
    assert!(checked >= 9, "only {checked} oracle fixtures found");
}

#[test]
fn totals_match_pytorch() {
    let totals = json("tests/fixtures/oracle/totals.json");
    for (stem, t) in totals.as_object().unwrap() {
        let meta = json(&format!("tests/fixtures/oracle/{stem}/meta.json"));
        let example = meta["example"].as_str().unwrap();
        let c = compile_file(Path::new(example), &LowerOptions::default()).unwrap();
        let table = layer_table(&c.graph);
        assert_eq!(table.total_params, t["params"].as_u64().unwrap(), "{stem} params");
        assert_eq!(table.total_flops, t["flops"].as_u64().unwrap(), "{stem} flops");
    }
}

#[test]
fn weight_generator_matches_the_python_one() {
    let prng = json("tests/fixtures/oracle/prng.json");
    let name = prng["name"].as_str().unwrap();
    for case in prng["cases"].as_array().unwrap() {
        // The units are exact in f32; compare there, where JSON's decimal form round-trips.
        let expected: Vec<f32> = case["units"].as_array().unwrap().iter().map(|v| v.as_f64().unwrap() as f32).collect();
        let got: Vec<f32> = units(name, case["seed"].as_u64().unwrap(), expected.len()).map(|u| u as f32).collect();
        assert_eq!(got, expected);
    }
}

#[test]
fn shape_rules_match_pytorch() {
    let rules = json("tests/fixtures/shape_rules.json");
    let cases = rules.as_array().unwrap();
    assert!(cases.len() > 3000);
    for r in cases {
        let get = |k: &str| r[k].as_u64().unwrap() as usize;
        let got = window_out(get("size"), get("kernel"), get("stride"), get("pad"));
        assert_eq!(got, r["out"].as_u64().map(|v| v as usize), "{r}");
    }
}
