//! The JIT against the interpreter: every example network, both conv/dense kernels, and a
//! property test over randomly generated networks.

use netc::backend::Backend;
use netc::backend::interp::Interpreter;
use netc::backend::jit::{JitBackend, Kernel, Policy};
use netc::compile::{compile_file, compile_source};
use netc::ir::{Graph, LowerOptions, Op};
use netc::ops::Identity;
use netc::plan::Plan;
use netc::run::{prepare, relative_error};
use netc::tensor::Tensor;
use netc::weights::Weights;
use proptest::prelude::*;
use proptest::test_runner::{Config, RngAlgorithm, TestRng, TestRunner};
use std::path::Path;

const TOLERANCE: f64 = 1e-5;

/// Deterministic inputs in [-1, 1) for a batch of `batch`. (Raw pixel values would make the
/// logits of unnormalized networks so large that softmax amplifies legitimate rounding
/// differences past the tolerance.)
fn inputs(plan: &Plan, batch: usize) -> Vec<Tensor> {
    plan.sample_inputs(batch, 7)
}

/// Runs `plan` on both back ends with every policy; panics on a mismatch.
///
/// Softmax turns an absolute error in its logits into the same relative error in its outputs,
/// so for a plan with a softmax the logits (the plan with softmax replaced by identity) must
/// agree within the tolerance, and the probabilities within the tolerance times the largest
/// logit magnitude (deep unnormalized networks have logits in the tens).
fn compare(name: &str, plan: &Plan, batch: usize, threads: usize, policies: &[Policy]) {
    let mut tolerance = TOLERANCE;
    if plan.steps.iter().any(|s| matches!(s.op, Op::Softmax(_))) {
        let mut logits = plan.clone();
        for s in &mut logits.steps {
            if matches!(s.op, Op::Softmax(_)) {
                s.op = Op::Identity(Identity {});
            }
        }
        let biggest = compare_at(name, &logits, batch, threads, policies, TOLERANCE);
        tolerance *= biggest.max(1.0);
    }
    compare_at(name, plan, batch, threads, policies, tolerance);
}

/// [`compare`] at a given tolerance; returns the largest output magnitude.
fn compare_at(name: &str, plan: &Plan, batch: usize, threads: usize, policies: &[Policy], tolerance: f64) -> f64 {
    let x = inputs(plan, batch);
    let expected = Interpreter::new(plan.clone(), threads).run(&x);
    for &policy in policies {
        let jit = JitBackend::compile_with(plan, threads, policy).expect("plan compiles");
        let got = jit.run(&x);
        assert_eq!(expected.len(), got.len());
        for (e, g) in expected.iter().zip(&got) {
            assert_eq!(e.shape, g.shape, "{name}: output shape");
            let err = relative_error(e, g);
            assert!(err <= tolerance, "{name} ({policy:?}, batch {batch}): relative error {err:e} > {tolerance:e}");
        }
    }
    expected.iter().flat_map(|t| &t.data).fold(0.0f64, |m, &v| m.max(v.abs() as f64))
}

const ALL: &[Policy] =
    &[Policy::Auto, Policy::Always(Kernel::Emitted), Policy::Always(Kernel::Called), Policy::Reference];

fn plan_of(graph: &Graph, seed: u64) -> Plan {
    let (_, plan) = prepare(graph, Weights::generate(graph, seed), "gen").expect("generated weights fit");
    plan
}

/// The example networks that check, each at `input_shape` if given (224x224 ones shrunk).
fn examples(full_size: bool) -> Vec<(String, Plan)> {
    let mut paths: Vec<_> = std::fs::read_dir(Path::new(env!("CARGO_MANIFEST_DIR")).join("examples"))
        .expect("examples directory")
        .map(|e| e.expect("directory entry").path())
        .filter(|p| p.extension().is_some_and(|e| e == "net"))
        .collect();
    paths.sort();
    let mut out = Vec::new();
    for path in paths {
        let default = compile_file(&path, &LowerOptions::default()).expect("readable example");
        if default.has_errors() {
            continue;
        }
        let big =
            default.graph.inputs.iter().any(|&n| default.graph.g[n].shape.iter().product::<usize>() > 3 * 64 * 64);
        let graph = if big && !full_size {
            let small = compile_file(&path, &LowerOptions { input_shape: Some(vec![3, 64, 64]), ..Default::default() })
                .expect("readable");
            assert!(!small.has_errors(), "{} at 64x64: {:?}", path.display(), small.diagnostics);
            small.graph
        } else {
            default.graph
        };
        out.push((path.display().to_string(), plan_of(&graph, 1)));
    }
    out
}

#[test]
fn examples_match_interpreter() {
    let examples = examples(false);
    assert!(examples.len() >= 5, "found {} checking examples", examples.len());
    for (name, plan) in &examples {
        compare(name, plan, 2, 2, ALL);
    }
}

#[test]
#[ignore = "full-size 224x224 networks: slow in debug builds"]
fn full_size_examples_match_interpreter() {
    for (name, plan) in &examples(true) {
        compare(name, plan, 1, 2, &[Policy::Auto]);
    }
}

/// Compiles `.net` source text, or `None` if it does not check.
fn check(src: &str) -> Option<Graph> {
    let c = compile_source("gen.net", src.to_string(), Path::new("."), &LowerOptions::default());
    (!c.has_errors()).then_some(c.graph)
}

#[test]
fn hand_written_cases() {
    let cases = [
        // Every pooling geometry with padding, odd sizes and both pool kinds.
        "input x: 3x9x7\noutput x -> maxpool(3, stride = 2, pad = 1) -> avgpool(3, stride = 1, pad = 1) -> avgpool(2)",
        // Wide rows: the interior is computed four outputs at a time (strides 1 and 2).
        "input x: 2x21x30\noutput x -> maxpool(2) -> avgpool(3, stride = 1, pad = 1) -> maxpool(3, stride = 2) -> avgpool(2, stride = 1)",
        // Normalized input, batchnorm that is not folded (it follows a pool), softmax.
        "input x: 2x6x6 normalize(scale = 0.00392, mean = [0.5, 0.4], std = [0.2, 0.3])\n\
         output x -> conv(5, 3) -> maxpool(2) -> batchnorm -> relu -> flatten -> dense(7) -> softmax",
        // Concat and multi-operand add of named tensors, several outputs.
        "input x: 4x5x5\nlet a = x -> conv(3, 1, bias = false)\nlet b = x -> conv(3, 3, stride = 1, pad = 1)\n\
         output concat(a, b, a) -> global_maxpool, add(a, b, a) -> relu -> global_avgpool",
        // Strided, unpadded and over-padded convolutions; 13 channels leave a partial block.
        "input x: 3x11x11\noutput x -> conv(13, 5, stride = 2, pad = 3) -> conv(2, 3, pad = valid) -> conv(17, 1, stride = 2)",
    ];
    for src in cases {
        let graph = check(src).unwrap_or_else(|| panic!("does not check:\n{src}"));
        for batch in [1, 3] {
            compare(src, &plan_of(&graph, 5), batch, 1, ALL);
        }
    }
}

/// A NaN in the input propagates as in PyTorch: through relu, relu6 and clip, into every pooling
/// window (running and global maximum, adaptive maximum) and every conv and dense output that
/// reads it, identically on both back ends and with every kernel policy.
#[test]
fn nan_propagates_on_both_back_ends() {
    let cases = [
        // Elementwise then 2x2 max-pool: exactly the windows that hold a NaN.
        ("input x: 4x8x8\noutput x -> relu -> maxpool(2) -> relu6 -> clip(-1, 1) -> flatten", Some(3)),
        ("input x: 4x8x8\noutput x -> relu -> global_maxpool -> flatten", Some(3)),
        ("input x: 4x8x8\noutput x -> adaptive_maxpool(2) -> leaky_relu -> flatten", Some(3)),
        // A fused conv+relu and a dense layer spread the NaN to every output of the sample.
        ("input x: 4x8x8\noutput x -> conv(4, 3) -> relu -> conv(4, 1) -> relu6 -> global_maxpool -> flatten", None),
        ("input x: 4x8x8\noutput x -> maxpool(2) -> flatten -> dense(5) -> relu", None),
    ];
    for (src, expected_nans) in cases {
        let graph = check(src).unwrap_or_else(|| panic!("does not check:\n{src}"));
        let plan = plan_of(&graph, 1);
        let mut x = plan.sample_inputs(2, 3);
        // Three NaNs in three different channels (two in sample 1).
        for at in [8 + 1, 2 * 64 + 5 * 8 + 5 + 256, 3 * 64 + 256] {
            x[0].data[at] = f32::NAN;
        }
        let expected = Interpreter::new(plan.clone(), 1).run(&x);
        let nans = expected[0].data.iter().filter(|v| v.is_nan()).count();
        match expected_nans {
            Some(n) => assert_eq!(nans, n, "{src}"),
            None => assert_eq!(nans, expected[0].data.len(), "{src}: every output reads a NaN"),
        }
        for &policy in ALL {
            let got = JitBackend::compile_with(&plan, 1, policy).expect("plan compiles").run(&x);
            let mask = |t: &Tensor| t.data.iter().map(|v| v.is_nan()).collect::<Vec<_>>();
            assert_eq!(mask(&expected[0]), mask(&got[0]), "{src} ({policy:?}): NaN positions");
        }
    }
}

/// A network longer than the JIT's budget of generated steps: the steps beyond it call their
/// rustc-compiled kernels, and the whole still computes what the interpreter computes.
#[test]
fn networks_beyond_the_generated_code_budget() {
    let n = netc::backend::jit::MAX_GENERATED_STEPS / 2 + 10;
    let src = format!("input x: 4x5x5\noutput x -> repeat {n} {{ conv(4, 1) -> tanh }} -> global_avgpool -> dense(3)");
    let graph = check(&src).expect("checks");
    let plan = plan_of(&graph, 3);
    assert!(plan.steps.len() > netc::backend::jit::MAX_GENERATED_STEPS);
    compare("long chain", &plan, 2, 2, &[Policy::Auto]);
}

/// A tiny deterministic generator of `.net` source text: random chains of every layer kind,
/// residual blocks, named branches joined by add / concat, a second input, extra outputs, and a
/// classifier head.
/// It tracks shapes so that nearly every network it writes checks.
struct NetGen {
    state: u64,
    lines: Vec<String>,
    names: usize,
}

impl NetGen {
    fn below(&mut self, n: usize) -> usize {
        self.state = self.state.wrapping_mul(6364136223846793005).wrapping_add(1442695040888963407);
        ((self.state >> 33) % n as u64) as usize
    }

    fn pick<T: Copy>(&mut self, xs: &[T]) -> T {
        xs[self.below(xs.len())]
    }

    /// Binds `expr` to a fresh name and returns the name.
    fn bind(&mut self, expr: String) -> String {
        self.names += 1;
        let name = format!("t{}", self.names);
        self.lines.push(format!("let {name} = {expr}"));
        name
    }

    fn relu(&mut self) -> &'static str {
        if self.below(2) == 0 { " -> relu" } else { "" }
    }

    fn network(seed: u64) -> String {
        let mut g = NetGen { state: seed ^ 0x9e37_79b9_7f4a_7c15, lines: Vec::new(), names: 0 };
        let (mut c, mut h, mut w) = (1 + g.below(4), 3 + g.below(10), 3 + g.below(10));
        let normalize = if g.below(4) == 0 {
            let list = |g: &mut NetGen, lo: usize| {
                (0..c).map(|_| format!("{}", (lo + g.below(50)) as f32 / 100.0)).collect::<Vec<_>>().join(", ")
            };
            let (mean, std) = (list(&mut g, 0), list(&mut g, 10));
            format!(" normalize(scale = 0.0039, mean = [{mean}], std = [{std}])")
        } else {
            String::new()
        };
        let mut header = format!("input x: {c}x{h}x{w}{normalize}");
        let mut cur = "x".to_string();
        // A second input of the same size, joined to the first at once (decided by a hash of the
        // seed, so the rest of the random stream is what it was).
        let hash = seed.wrapping_mul(0x9e37_79b9_7f4a_7c15);
        if hash >> 62 == 0 {
            header += &format!("\ninput y: {c}x{h}x{w}");
            cur = if hash >> 61 == 0 {
                g.bind("add(x, y)".to_string())
            } else {
                c *= 2;
                g.bind("concat(x, y)".to_string())
            };
        }
        let mut extra = Vec::new();
        for _ in 0..1 + g.below(6) {
            if h == 0 {
                break;
            }
            match g.below(15) {
                0..=2 => {
                    let k = g.pick(&[1, 3, 5]);
                    let s = g.pick(&[1, 1, 2]);
                    let (pad, p) = match g.below(3) {
                        0 => ("same".to_string(), k / 2),
                        1 => ("valid".to_string(), 0),
                        _ => {
                            let p = g.below(3);
                            (p.to_string(), p)
                        }
                    };
                    if h + 2 * p < k || w + 2 * p < k {
                        continue;
                    }
                    let oc = 1 + g.below(14);
                    let bias = g.pick(&["true", "false"]);
                    let relu = g.relu();
                    cur = g.bind(format!("{cur} -> conv({oc}, {k}, stride = {s}, pad = {pad}, bias = {bias}){relu}"));
                    (c, h, w) = (oc, (h + 2 * p - k) / s + 1, (w + 2 * p - k) / s + 1);
                }
                3 => {
                    let k = g.pick(&[2, 3]);
                    let s = g.pick(&[1, 2]);
                    let p = g.below(k / 2 + 1);
                    if h + 2 * p < k || w + 2 * p < k {
                        continue;
                    }
                    let kind = g.pick(&["maxpool", "avgpool"]);
                    cur = g.bind(format!("{cur} -> {kind}({k}, stride = {s}, pad = {p})"));
                    (h, w) = ((h + 2 * p - k) / s + 1, (w + 2 * p - k) / s + 1);
                }
                4 => {
                    let relu = g.relu();
                    cur = g.bind(format!("{cur} -> batchnorm{relu}"));
                }
                5 => {
                    let relu = g.relu();
                    if g.below(2) == 0 {
                        cur = g.bind(format!(
                            "{cur} -> residual {{ conv({c}, 3) -> relu -> conv({c}, 3, bias = false) -> batchnorm }}{relu}"
                        ));
                    } else {
                        let (oc, s) = (1 + g.below(6), g.pick(&[1, 2]));
                        cur = g.bind(format!(
                            "{cur} -> residual {{ conv({oc}, 3, stride = {s}) -> relu -> conv({oc}, 3) }} \
                             shortcut {{ conv({oc}, 1, stride = {s}) }}{relu}"
                        ));
                        (c, h, w) = (oc, (h - 1) / s + 1, (w - 1) / s + 1);
                    }
                }
                6 => {
                    let k = g.pick(&[1, 3]);
                    let branch = g.bind(format!("{cur} -> conv({c}, {k})"));
                    let relu = g.relu();
                    cur = match g.below(3) {
                        0 => g.bind(format!("add({cur}, {branch}){relu}")),
                        1 => g.bind(format!("add({cur}, {branch}, {cur}){relu}")),
                        _ => g.bind(format!("{cur} -> add({branch}){relu}")),
                    };
                }
                7 => {
                    let oc = 1 + g.below(5);
                    let branch = g.bind(format!("{cur} -> conv({oc}, 1) -> relu"));
                    cur = g.bind(format!("concat({branch}, {cur})"));
                    c += oc;
                }
                8 => {
                    let kind = g.pick(&["global_avgpool", "global_maxpool"]);
                    cur = g.bind(format!("{cur} -> {kind}"));
                    (h, w) = (1, 1);
                }
                9 => {
                    // A convolution with groups, dilation, a rectangular kernel or asymmetric padding.
                    let groups = g.pick(&[1, 2, 3]);
                    if c % groups != 0 {
                        continue;
                    }
                    let oc = groups * (1 + g.below(4));
                    let (kh, kw) = (g.pick(&[1, 2, 3]), g.pick(&[1, 3]));
                    let (dh, dw) = (g.pick(&[1, 2]), g.pick(&[1, 2]));
                    let (sh, sw) = (g.pick(&[1, 2]), g.pick(&[1, 2]));
                    let pad = [g.below(3), g.below(2), g.below(3), g.below(2)];
                    let (eh, ew) = (dh * (kh - 1) + 1, dw * (kw - 1) + 1);
                    if h + pad[0] + pad[2] < eh || w + pad[1] + pad[3] < ew {
                        continue;
                    }
                    cur = g.bind(format!(
                        "{cur} -> conv({oc}, [{kh}, {kw}], stride = [{sh}, {sw}], pad = [{}, {}, {}, {}], groups = {groups}, dilation = [{dh}, {dw}])",
                        pad[0], pad[1], pad[2], pad[3]
                    ));
                    (c, h, w) = (oc, (h + pad[0] + pad[2] - eh) / sh + 1, (w + pad[1] + pad[3] - ew) / sw + 1);
                }
                10 => {
                    let act = g.pick(&[
                        "relu6",
                        "leaky_relu(0.1)",
                        "sigmoid",
                        "tanh",
                        "silu",
                        "gelu",
                        "gelu(approximate = true)",
                        "hardswish",
                        "hardsigmoid",
                        "clip(-0.5, 0.25)",
                        "dropout(0.2)",
                        "stochastic_depth(0.1)",
                        "layernorm",
                        "scale",
                        "identity",
                    ]);
                    cur = g.bind(format!("{cur} -> {act}"));
                }
                11 => {
                    // Pools in ceil mode, without counting padding, adaptive.
                    let (k, s) = (g.pick(&[2, 3]), g.pick(&[1, 2]));
                    let p = g.below(k / 2 + 1);
                    let ceil = g.below(2) == 0;
                    let out = |n: usize| {
                        let span = n + 2 * p - k;
                        let o = if ceil { span.div_ceil(s) + 1 } else { span / s + 1 };
                        if ceil && (o - 1) * s >= n + p { o - 1 } else { o }
                    };
                    match g.below(3) {
                        _ if h + 2 * p < k || w + 2 * p < k => continue,
                        0 => {
                            cur = g.bind(format!("{cur} -> maxpool({k}, stride = {s}, pad = {p}, ceil_mode = {ceil})"));
                            (h, w) = (out(h), out(w));
                        }
                        1 => {
                            let count = g.pick(&["true", "false"]);
                            cur = g.bind(format!(
                                "{cur} -> avgpool({k}, stride = {s}, pad = {p}, ceil_mode = {ceil}, count_include_pad = {count})"
                            ));
                            (h, w) = (out(h), out(w));
                        }
                        _ => {
                            let (oh, ow) = (1 + g.below(4), 1 + g.below(4));
                            let kind = g.pick(&["adaptive_avgpool", "adaptive_maxpool"]);
                            cur = g.bind(format!("{cur} -> {kind}({oh}, {ow})"));
                            (h, w) = (oh, ow);
                        }
                    }
                }
                12 => {
                    // Upsampling, learned or not.
                    if h * w > 64 {
                        continue;
                    }
                    if g.below(2) == 0 {
                        let (sh, sw) = (g.pick(&[1, 2, 3]), g.pick(&[1, 2]));
                        let mode = g.pick(&["nearest", "bilinear"]);
                        cur = g.bind(format!("{cur} -> upsample([{sh}, {sw}], mode = {mode})"));
                        (h, w) = (h * sh, w * sw);
                    } else {
                        let (k, s) = (g.pick(&[1, 2, 3]), g.pick(&[1, 2]));
                        let (p, op) = (g.below(k.min(2)), g.below(s));
                        let groups = if c % 2 == 0 { g.pick(&[1, 2]) } else { 1 };
                        let oc = groups * (1 + g.below(4));
                        let grow = |n: usize| (n - 1) * s + k + op;
                        if grow(h) <= 2 * p || grow(w) <= 2 * p {
                            continue;
                        }
                        cur = g.bind(format!(
                            "{cur} -> conv_transpose({oc}, {k}, stride = {s}, pad = {p}, output_pad = {op}, groups = {groups})"
                        ));
                        (c, h, w) = (oc, grow(h) - 2 * p, grow(w) - 2 * p);
                    }
                }
                13 => {
                    // Channels: a squeeze-and-excitation gate, a split, a shuffle.
                    match g.below(3) {
                        0 => {
                            let (mid, act) = (1 + g.below(3), g.pick(&["sigmoid", "hardsigmoid"]));
                            let gate = g.bind(format!(
                                "{cur} -> global_avgpool -> conv({mid}, 1) -> relu -> conv({c}, 1) -> {act}"
                            ));
                            cur = if g.below(2) == 0 {
                                g.bind(format!("mul({cur}, {gate})"))
                            } else {
                                g.bind(format!("{cur} -> mul({gate})"))
                            };
                        }
                        1 if c >= 2 => {
                            let cut = 1 + g.below(c - 1);
                            let a = g.bind(format!("{cur} -> slice(0, {cut})"));
                            let b = g.bind(format!("{cur} -> slice({cut})"));
                            cur = g.bind(format!("concat({b}, {a})"));
                        }
                        _ => {
                            let groups = g.pick(&[1, 2, 3]);
                            if c % groups == 0 {
                                cur = g.bind(format!("{cur} -> channel_shuffle({groups})"));
                            }
                        }
                    }
                }
                _ => cur = g.bind(format!("{cur} -> relu")),
            }
            if g.below(8) == 0 {
                extra.push(cur.clone());
            }
        }
        let head = match g.below(4) {
            0 => String::new(),
            1 => " -> flatten".to_string(),
            _ => {
                let relu = g.relu();
                let mut s = format!(" -> dense({}){relu}", 4 + g.below(12));
                if g.below(2) == 0 {
                    s += &format!(" -> dense({})", 4 + g.below(6));
                }
                if g.below(2) == 0 {
                    s += " -> softmax";
                }
                s
            }
        };
        extra.retain(|e| *e != cur);
        let outputs: Vec<String> = std::iter::once(format!("{cur}{head}")).chain(extra).collect();
        let mut src = vec![header];
        src.extend(g.lines);
        src.push(format!("output {}", outputs.join(", ")));
        src.join("\n")
    }
}

#[test]
fn random_networks_match_interpreter() {
    let config = Config { cases: 1000, failure_persistence: None, ..Config::default() };
    let mut runner = TestRunner::new_with_rng(config, TestRng::deterministic_rng(RngAlgorithm::ChaCha));
    let result = runner.run(&(any::<u64>(), 1..=3usize), |(seed, batch)| {
        let src = NetGen::network(seed);
        let graph = check(&src);
        prop_assume!(graph.is_some(), "does not check");
        let plan = plan_of(&graph.expect("checked above"), seed);
        compare(
            &src,
            &plan,
            batch,
            1 + (seed % 2) as usize,
            &[Policy::Always(Kernel::Emitted), Policy::Always(Kernel::Called)],
        );
        Ok(())
    });
    if let Err(e) = result {
        panic!("{e}");
    }
}

#[test]
fn generator_writes_valid_networks_with_every_op() {
    let graphs: Vec<Graph> = (0..500u64).filter_map(|s| check(&NetGen::network(s))).collect();
    assert!(graphs.len() >= 475, "only {} of 500 generated networks check", graphs.len());
    let used: std::collections::BTreeSet<String> =
        graphs.iter().flat_map(|g| g.g.node_weights().map(|n| n.op.name())).collect();
    let missing: Vec<&str> = netc::ops::BUILTINS.iter().map(|b| b.sig.name).filter(|n| !used.contains(*n)).collect();
    assert!(missing.is_empty(), "the generator never uses {missing:?}");
    let several = |f: &dyn Fn(&Graph) -> usize| graphs.iter().filter(|g| f(g) > 1).count();
    assert!(several(&|g| g.inputs.len()) >= 50, "too few networks with several inputs");
    assert!(several(&|g| g.outputs.len()) >= 50, "too few networks with several outputs");
}
