//! Benchmarking a back end on a network: compile time, batch latency (median, p90),
//! throughput, GFLOP/s and the share of the machine's measured FMA peak.

use crate::backend::Backend;
use crate::tensor::Tensor;
use serde::Serialize;
use std::time::{Duration, Instant};

#[derive(Clone, Debug, Serialize)]
pub struct BenchResult {
    pub backend: String,
    pub batch: usize,
    pub threads: usize,
    pub compile_ms: f64,
    pub latency_ms_median: f64,
    pub latency_ms_p90: f64,
    pub images_per_s: f64,
    pub gflops: f64,
    /// `gflops` over the machine's FMA peak at this thread count (0..1).
    pub peak_share: f64,
    pub runs: usize,
}

/// How long and how often to time.
#[derive(Clone, Copy, Debug)]
pub struct Budget {
    pub warmup: usize,
    pub min_runs: usize,
    pub max_runs: usize,
    pub min_time: Duration,
}

impl Default for Budget {
    fn default() -> Budget {
        Budget { warmup: 2, min_runs: 10, max_runs: 1000, min_time: Duration::from_secs(2) }
    }
}

/// Times `backend` on `inputs` (a batch); `flops` is the network's FLOPs per sample.
pub fn bench(
    backend: &dyn Backend,
    inputs: &[Tensor],
    flops: u64,
    compile_ms: f64,
    threads: usize,
    peak_gflops: f64,
    budget: Budget,
) -> BenchResult {
    let batch = inputs.first().map_or(1, |t| t.shape[0]);
    for _ in 0..budget.warmup {
        std::hint::black_box(backend.run(inputs));
    }
    let mut times = Vec::new();
    let start = Instant::now();
    while times.len() < budget.max_runs && (times.len() < budget.min_runs || start.elapsed() < budget.min_time) {
        let t = Instant::now();
        std::hint::black_box(backend.run(inputs));
        times.push(t.elapsed().as_secs_f64() * 1e3);
    }
    times.sort_by(f64::total_cmp);
    let median = times[times.len() / 2];
    let p90 = times[(times.len() * 9 / 10).min(times.len() - 1)];
    let gflops = flops as f64 * batch as f64 / (median * 1e-3) / 1e9;
    BenchResult {
        backend: backend.name().to_string(),
        batch,
        threads,
        compile_ms,
        latency_ms_median: median,
        latency_ms_p90: p90,
        images_per_s: batch as f64 / (median * 1e-3),
        gflops,
        peak_share: if peak_gflops > 0.0 { gflops / peak_gflops } else { 0.0 },
        runs: times.len(),
    }
}

/// One row of a per-layer profile.
#[derive(Clone, Debug, Serialize)]
pub struct LayerTime {
    pub path: String,
    pub op: String,
    pub flops: u64,
    pub ms: f64,
}

/// Per-layer times of the back end `build` makes, from the medians of successive plan prefixes
/// (layer i's time is prefix i+1's minus prefix i's, floored at zero). `flops` are per sample.
pub fn profile(
    plan: &crate::plan::Plan,
    flops: &[u64],
    inputs: &[Tensor],
    build: &dyn Fn(crate::plan::Plan) -> Box<dyn Backend>,
    budget: Budget,
) -> Vec<LayerTime> {
    let median = |n: usize| {
        let b = build(plan.prefix(n));
        bench(b.as_ref(), inputs, 0, 0.0, 1, 0.0, budget).latency_ms_median
    };
    let mut previous = median(0);
    plan.steps
        .iter()
        .enumerate()
        .map(|(i, step)| {
            let t = median(i + 1);
            let row =
                LayerTime { path: step.path.clone(), op: step.op.name(), flops: flops[i], ms: (t - previous).max(0.0) };
            previous = t;
            row
        })
        .collect()
}
