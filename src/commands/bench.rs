//! `netc bench FILE`: compile time, latency, throughput and GFLOP/s per back end, and where the
//! time goes layer by layer.

use super::progress::Progress;
use super::{FAILURE, Format, SUCCESS, Streams, compile, default_threads, parse_shape, positive};
use crate::backend::BackendKind;
use crate::bench::{self, BenchResult, Budget};
use crate::check::{human_flops, layer_table};
use crate::ir::LowerOptions;
use crate::run::RunError;
use crate::run::prepare;
use clap::ValueEnum;
use std::io::Write;
use std::path::PathBuf;
use std::time::Duration;

#[derive(clap::Args)]
pub struct BenchArgs {
    /// The `.net` file.
    pub file: PathBuf,
    /// Samples per run.
    #[arg(long, default_value_t = 1, value_parser = positive)]
    pub batch: usize,
    /// Worker threads (default: all cores).
    #[arg(long, value_parser = positive)]
    pub threads: Option<usize>,
    /// Back ends to time (default: all).
    #[arg(long, value_enum)]
    pub backend: Vec<BackendKind>,
    /// Override the input's declared shape, e.g. `3x64x64`.
    #[arg(long, value_parser = parse_shape)]
    pub input_shape: Option<std::vec::Vec<usize>>,
    /// Seconds of timing per back end (and for the profile): a warm-up run, then timed runs until
    /// they are up; a network slower than that runs twice.
    #[arg(long, default_value_t = 2.0)]
    pub seconds: f64,
    /// Also print where the time goes, layer by layer, for the first back end.
    #[arg(long)]
    pub profile: bool,
    #[arg(long, value_enum, default_value = "human")]
    pub format: Format,
    /// Also allow imports from this folder (besides the file's own folder and its subfolders).
    #[arg(long = "import-dir", value_name = "DIR")]
    pub import_dirs: Vec<PathBuf>,
    /// Most memory the weights and activations may take, e.g. `8G` (default: the machine's
    /// physical memory).
    #[arg(long, value_name = "SIZE", value_parser = crate::run::parse_bytes)]
    pub max_memory: Option<u64>,
}

pub(super) fn bench(a: &BenchArgs, s: &mut Streams) -> u8 {
    let batch = a.batch;
    let options = LowerOptions { input_shape: a.input_shape.clone(), import_dirs: a.import_dirs.clone() };
    let c = match compile(&a.file, &options, s) {
        Ok(c) => c,
        Err(code) => return code,
    };
    if c.has_errors() {
        s.diagnostics(&c, &c.diagnostics);
        return FAILURE;
    }
    let threads = a.threads.unwrap_or_else(default_threads);
    let flops = layer_table(&c.graph).total_flops;
    let limit = a.max_memory.unwrap_or_else(crate::run::default_memory_limit);
    let prepared = match crate::run::choose_weights(&c.graph, None, 0, limit) {
        Ok(w) => prepare(&c.graph, w.tensors, &w.source),
        Err(RunError::Diagnostic(d)) => Err(d),
        Err(RunError::Io(e)) => return s.io_error(e),
    };
    let prepared = prepared
        .and_then(|(g, plan)| crate::run::check_memory(&c.graph, Some((&plan, batch)), limit).map(|()| (g, plan)));
    let (optimized, plan) = match prepared {
        Ok(p) => p,
        Err(d) => {
            s.diagnostics(&c, &[*d]);
            return FAILURE;
        }
    };
    let inputs = plan.sample_inputs(batch, 0);
    let peak = bench::machine_peak(threads);
    let budget = Budget { time: Duration::from_secs_f64(a.seconds.max(0.0)), ..Default::default() };
    let kinds = if a.backend.is_empty() { BackendKind::value_variants().to_vec() } else { a.backend.clone() };
    let mut results: Vec<BenchResult> = Vec::new();
    let mut layers = Vec::new();
    for (i, k) in kinds.iter().enumerate() {
        let (b, compile_ms) = match k.build(plan.clone(), threads) {
            Ok(built) => built,
            Err(e) => return s.io_error(e),
        };
        let mut p = Progress::new(s, Duration::ZERO);
        let name = b.name();
        let mut tell = |runs, spent| p.update(|| timing(name, runs, spent, budget));
        let result = bench::bench(b.as_ref(), &inputs, flops, compile_ms, threads, peak, budget, &mut tell);
        drop(p);
        results.push(result);
        if a.profile && i == 0 {
            let table = layer_table(&optimized);
            // The table has a row per node, inputs included; the plan a step per non-input node.
            let flops: Vec<u64> = table.rows.iter().filter(|r| r.op != "input").map(|r| r.flops).collect();
            let mut p = Progress::new(s, Duration::ZERO);
            let mut tell = |runs, spent| p.update(|| timing("the profile", runs, spent, budget));
            layers = bench::profile(b.as_ref(), &plan, &flops, &inputs, budget, &mut tell);
        }
    }
    match a.format {
        Format::Json => {
            let out = serde_json::json!({
                "profile": layers,
                "file": a.file.display().to_string(),
                "batch": batch,
                "threads": threads,
                "flops_per_sample": flops,
                "peak_gflops": peak,
                "results": results,
            });
            let _ = writeln!(s.out, "{}", serde_json::to_string_pretty(&out).unwrap_or_default());
        }
        Format::Human => {
            let o = &mut s.out;
            let _ = writeln!(
                o,
                "{}: batch {batch}, {threads} thread(s), {} per sample, machine FMA peak {peak:.0} GFLOP/s",
                a.file.display(),
                human_flops(flops)
            );
            let _ = writeln!(
                o,
                "{:<8} {:>11} {:>12} {:>12} {:>10} {:>9} {:>6}",
                "backend", "compile ms", "median ms", "p90 ms", "img/s", "GFLOP/s", "peak"
            );
            for r in &results {
                let _ = writeln!(
                    o,
                    "{:<8} {:>11.1} {:>12.3} {:>12.3} {:>10.1} {:>9.1} {:>5.0}%",
                    r.backend,
                    r.compile_ms,
                    r.latency_ms_median,
                    r.latency_ms_p90,
                    r.images_per_s,
                    r.gflops,
                    r.peak_share * 100.0
                );
            }
            if !layers.is_empty() {
                let total: f64 = layers.iter().map(|l| l.ms).sum();
                let _ = writeln!(o, "\nper-layer profile ({} back end, batch {batch}):", results[0].backend);
                let _ = writeln!(
                    o,
                    "{:<24} {:<15} {:>9} {:>10} {:>9} {:>6}",
                    "layer", "op", "MFLOPs", "ms", "GFLOP/s", "share"
                );
                for l in &layers {
                    let gflops = if l.ms > 0.0 { l.flops as f64 * batch as f64 / (l.ms * 1e-3) / 1e9 } else { 0.0 };
                    let _ = writeln!(
                        o,
                        "{:<24} {:<15} {:>9.1} {:>10.3} {:>9.1} {:>5.1}%",
                        l.path,
                        l.op,
                        l.flops as f64 / 1e6,
                        l.ms,
                        gflops,
                        100.0 * l.ms / total.max(f64::MIN_POSITIVE)
                    );
                }
            }
        }
    }
    SUCCESS
}

/// The progress line while `what` is timed.
fn timing(what: &str, runs: usize, spent: Duration, budget: Budget) -> String {
    format!("timing {what}: {runs} run(s), {:.1} s left", budget.time.saturating_sub(spent).as_secs_f64())
}
