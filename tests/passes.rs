//! The optimizer on every example: the optimized IR and memory plan are snapshotted, and the
//! optimized network computes what the unoptimized one does (within 5e-5 relative: batchnorm
//! folding rounds each folded weight to f32 once, and a network with sixty folded convolutions,
//! such as mobilenet_v3_large, drifts by about 1e-5).

use netc::backend::{Backend, interp::Interpreter};
use netc::compile::compile_file;
use netc::ir::LowerOptions;
use netc::plan::Plan;
use netc::run::{prepare, relative_error};
use netc::tensor::Tensor;
use netc::weights::{Weights, units};

#[test]
fn optimized_ir_of_every_example() {
    insta::glob!("../examples", "**/*.net", |path| {
        let c = compile_file(path, &LowerOptions::default()).unwrap();
        if c.has_errors() {
            return;
        }
        let (g, plan) = prepare(&c.graph, Weights::generate(&c.graph, 0), "generated").unwrap();
        insta::assert_snapshot!(plan.describe(&g));
    });
}

#[test]
fn passes_preserve_every_example_output() {
    insta::glob!("../examples", "**/*.net", |path| {
        // Large inputs are shrunk so the reference interpreter stays quick in tests.
        let options = LowerOptions::default();
        let c = compile_file(path, &options).unwrap();
        if c.has_errors() {
            return;
        }
        let dims = c.graph.g[c.graph.inputs[0]].shape.clone();
        let c = if dims[1] > 64 {
            compile_file(path, &LowerOptions { input_shape: Some(vec![dims[0], 64, 64]), ..Default::default() })
                .unwrap()
        } else {
            c
        };
        if c.has_errors() {
            return;
        }
        let weights = Weights::generate(&c.graph, 5);
        let shape: Vec<usize> = std::iter::once(2).chain(c.graph.g[c.graph.inputs[0]].shape.iter().copied()).collect();
        let input =
            Tensor::from_vec(&shape, units("input", 5, shape.iter().product()).map(|u| u as f32 * 100.0).collect());
        let before = Interpreter::new(Plan::new(&c.graph, &weights), 2).run(std::slice::from_ref(&input));
        let (_, plan) = prepare(&c.graph, weights, "generated").unwrap();
        let after = Interpreter::new(plan, 2).run(&[input]);
        let e = relative_error(&before[0], &after[0]);
        assert!(e <= 5e-5, "{}: optimized output differs by {e} (relative)", path.display());
    });
}
