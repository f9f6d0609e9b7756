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

/// How long to time a back end: one warm-up run, then timed runs until `time` has passed since
/// the warm-up began, at least one and at most `max_runs`. A network slower than `time` runs
/// twice; nothing runs longer than that.
#[derive(Clone, Copy, Debug)]
pub struct Budget {
    pub time: Duration,
    pub max_runs: usize,
}

impl Default for Budget {
    fn default() -> Budget {
        Budget { time: Duration::from_secs(2), max_runs: 1000 }
    }
}

/// Runs `run` once to warm up, then as often as `budget` allows, calling `progress` with the
/// number of timed runs and the time spent after each; returns each timed run's milliseconds.
fn timed_runs(budget: Budget, progress: &mut dyn FnMut(usize, Duration), mut run: impl FnMut()) -> Vec<f64> {
    let start = Instant::now();
    run();
    let mut times = Vec::new();
    while times.is_empty() || (times.len() < budget.max_runs && start.elapsed() < budget.time) {
        let t = Instant::now();
        run();
        times.push(t.elapsed().as_secs_f64() * 1e3);
        progress(times.len(), start.elapsed());
    }
    times
}

/// The median of `times` (not empty).
fn median(times: &mut [f64]) -> f64 {
    times.sort_by(f64::total_cmp);
    times[times.len() / 2]
}

/// Times `backend` on `inputs` (a batch); `flops` is the network's FLOPs per sample. `progress`
/// hears of every timed run (`netc bench` shows a progress line with it).
#[allow(clippy::too_many_arguments)]
pub fn bench(
    backend: &dyn Backend,
    inputs: &[Tensor],
    flops: u64,
    compile_ms: f64,
    threads: usize,
    peak_gflops: f64,
    budget: Budget,
    progress: &mut dyn FnMut(usize, Duration),
) -> BenchResult {
    let batch = inputs.first().map_or(1, |t| t.shape[0]);
    let mut times = timed_runs(budget, progress, || drop(std::hint::black_box(backend.run(inputs))));
    let median = median(&mut times);
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

/// The machine's FMA peak in GFLOP/s for `threads` threads: the best of a measurement now
/// ([`crate::kernels::machine_peak_gflops`]) and every earlier one on this machine, kept in netc's
/// cache folder. A measurement that other programs slowed down (the figure moved between 241 and
/// 496 GFLOP/s from run to run on a shared 2-core machine) so never lowers it.
pub fn machine_peak(threads: usize) -> f64 {
    let now = crate::kernels::machine_peak_gflops(threads);
    let isa = crate::kernels::fast::Isa::detect();
    let Some(path) = crate::cache::dir().map(|d| d.join(format!("peak-{isa:?}-{threads}-threads.txt"))) else {
        return now;
    };
    let cached = std::fs::read_to_string(&path).ok().and_then(|t| t.trim().parse::<f64>().ok());
    match cached {
        Some(best) if best.is_finite() && best >= now => best,
        _ => {
            let _ = std::fs::write(&path, format!("{now}\n"));
            now
        }
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

/// Per-layer times of `backend` running `plan`: whole-network runs within `budget`, each step
/// timed where it runs (so a fused layer's time is its own and no step is counted twice), the
/// median per step. `flops` are per sample, one per step.
pub fn profile(
    backend: &dyn Backend,
    plan: &crate::plan::Plan,
    flops: &[u64],
    inputs: &[Tensor],
    budget: Budget,
    progress: &mut dyn FnMut(usize, Duration),
) -> Vec<LayerTime> {
    let mut samples: Vec<Vec<f64>> = vec![Vec::new(); plan.steps.len()];
    let mut times = vec![Duration::ZERO; plan.steps.len()];
    timed_runs(budget, progress, || {
        times.iter_mut().for_each(|t| *t = Duration::ZERO);
        std::hint::black_box(backend.run_timed(inputs, &mut times));
        samples.iter_mut().zip(&times).for_each(|(s, t)| s.push(t.as_secs_f64() * 1e3));
    });
    plan.steps
        .iter()
        .zip(flops)
        .zip(&mut samples)
        .map(|((step, &flops), s)| LayerTime { path: step.path.clone(), op: step.op.name(), flops, ms: median(s) })
        .collect()
}
