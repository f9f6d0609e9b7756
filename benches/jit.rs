//! JIT measurements, printed as Markdown tables (the numbers behind `docs-jit.md` and the default
//! [`Policy::Auto`] split):
//!
//! * per conv / dense layer shape: GFLOP/s of the emitted f32x4 kernel vs the called AVX-512 one,
//!   on 1 and 2 threads;
//! * compile time of vgg16 (224x224, weight packing included);
//! * end to end: JIT vs interpreter on resvgg9 (batch 1 and 8) and vgg16 (batch 1).
//!
//! Run with `cargo bench --bench jit`. Timings are the best of several runs.

use netc::backend::Backend;
use netc::backend::interp::Interpreter;
use netc::backend::jit::{JitBackend, Kernel, Policy};
use netc::compile::{compile_file, compile_source};
use netc::ir::{Graph, LowerOptions};
use netc::plan::Plan;
use netc::run::prepare;
use netc::tensor::Tensor;
use netc::weights::Weights;
use std::path::Path;
use std::time::{Duration, Instant};

fn plan_of(graph: &Graph) -> Plan {
    prepare(graph, Weights::generate(graph, 1), "gen").expect("generated weights fit").1
}

fn plan_src(src: &str) -> Plan {
    let c = compile_source("bench.net", src.to_string(), Path::new("."), &LowerOptions::default());
    assert!(!c.has_errors(), "{src}: {:?}", c.diagnostics);
    plan_of(&c.graph)
}

fn plan_example(name: &str) -> Plan {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("examples").join(name);
    let c = compile_file(&path, &LowerOptions::default()).expect("example exists");
    assert!(!c.has_errors(), "{name} checks");
    plan_of(&c.graph)
}

fn inputs(plan: &Plan, batch: usize) -> Vec<Tensor> {
    plan.sample_inputs(batch, 7)
}

/// Best wall time of `backend` on `x` over at least `min_runs` runs and about `budget`.
fn best(backend: &dyn Backend, x: &[Tensor], min_runs: usize, budget: Duration) -> f64 {
    backend.run(x);
    let start = Instant::now();
    let mut best = f64::INFINITY;
    let mut runs = 0;
    while runs < min_runs || start.elapsed() < budget {
        let t = Instant::now();
        backend.run(x);
        best = best.min(t.elapsed().as_secs_f64());
        runs += 1;
    }
    best
}

/// GFLOP/s of one layer's plan under `policy`.
fn layer_gflops(plan: &Plan, flops: f64, batch: usize, threads: usize, policy: Policy) -> f64 {
    let jit = JitBackend::compile_with(plan, threads, policy).expect("compiles");
    let x = inputs(plan, batch);
    flops * batch as f64 / best(&jit, &x, 3, Duration::from_millis(300)) / 1e9
}

/// Prints one table row per layer: GFLOP/s emitted and called on 1 and 2 threads.
fn layer_table(title: &str, layers: &[(String, String, f64)], batch: usize) {
    println!("\n### {title} (batch {batch}, GFLOP/s)\n");
    println!("| layer | emitted 1t | called 1t | emitted 2t | called 2t | faster |");
    println!("|---|---:|---:|---:|---:|---|");
    for (name, src, flops) in layers {
        let plan = plan_src(src);
        let mut row = Vec::new();
        for threads in [1, 2] {
            for kernel in [Kernel::Emitted, Kernel::Called] {
                row.push(layer_gflops(&plan, *flops, batch, threads, Policy::Always(kernel)));
            }
        }
        let faster = if row[2] > row[3] { "emitted" } else { "called" };
        println!("| {name} | {:.1} | {:.1} | {:.1} | {:.1} | {faster} |", row[0], row[1], row[2], row[3]);
    }
}

/// A conv layer: name, source, FLOPs per sample.
fn conv(c: usize, hw: usize, oc: usize, k: usize, stride: usize) -> (String, String, f64) {
    let out = (hw + 2 * (k / 2) - k) / stride + 1;
    let name = format!("{c}->{oc} {k}x{k}/{stride} at {hw}x{hw}");
    let src = format!("input x: {c}x{hw}x{hw}\noutput x -> conv({oc}, {k}, stride = {stride}) -> relu");
    (name, src, 2.0 * (oc * out * out * c * k * k) as f64)
}

/// A dense layer.
fn dense(n_in: usize, n_out: usize) -> (String, String, f64) {
    (
        format!("dense {n_in}->{n_out}"),
        format!("input x: [{n_in}]\noutput x -> dense({n_out})"),
        2.0 * (n_in * n_out) as f64,
    )
}

fn main() {
    let convs = [
        conv(3, 32, 64, 3, 1),
        conv(64, 32, 128, 3, 1),
        conv(128, 16, 128, 3, 1),
        conv(128, 16, 256, 3, 1),
        conv(256, 8, 512, 3, 1),
        conv(512, 4, 512, 3, 1),
        conv(3, 224, 64, 3, 1),
        conv(64, 112, 128, 3, 1),
        conv(256, 56, 256, 3, 1),
        conv(512, 28, 512, 3, 1),
        conv(512, 14, 512, 3, 1),
        conv(3, 8, 8, 3, 1),
        conv(4, 12, 8, 3, 1),
        conv(8, 8, 8, 3, 1),
        conv(8, 16, 8, 3, 1),
        conv(16, 16, 16, 3, 1),
        conv(32, 8, 32, 3, 1),
        conv(64, 32, 128, 1, 2),
        conv(256, 14, 64, 1, 1),
        conv(64, 32, 64, 5, 1),
    ];
    layer_table("Convolution", &convs, 1);
    let denses = [dense(16, 8), dense(64, 10), dense(512, 10), dense(4096, 1000), dense(4096, 4096)];
    layer_table("Dense", &denses, 1);
    layer_table("Dense", &denses, 8);

    let vgg16 = plan_example("vgg16.net");
    let best_of_3 = |f: &dyn Fn() -> f64| (0..3).map(|_| f()).fold(f64::INFINITY, f64::min);
    let borrowed = best_of_3(&|| JitBackend::compile(&vgg16, 2).expect("compiles").compile_ms());
    let owned = best_of_3(&|| {
        let plan = vgg16.clone();
        JitBackend::compile_owned(plan, 2, Policy::Auto).expect("compiles").compile_ms()
    });
    println!("\nvgg16 (224x224) compile time, weight packing included (best of 3):");
    println!("`compile(&plan)` {borrowed:.1} ms, `compile_owned(plan)` {owned:.1} ms");

    println!("\n### End to end, 2 threads (ms)\n");
    println!("| network | batch | interpreter | JIT | speed-up |");
    println!("|---|---:|---:|---:|---:|");
    let resvgg9 = plan_example("resvgg9.net");
    for (name, plan, batch) in [("resvgg9", &resvgg9, 1), ("resvgg9", &resvgg9, 8), ("vgg16", &vgg16, 1)] {
        let x = inputs(plan, batch);
        let interp = best(&Interpreter::new(plan.clone(), 2), &x, 2, Duration::from_millis(500));
        let jit = best(&JitBackend::compile(plan, 2).expect("compiles"), &x, 3, Duration::from_millis(500));
        println!("| {name} | {batch} | {:.2} | {:.2} | {:.1}x |", interp * 1e3, jit * 1e3, interp / jit);
    }
}
