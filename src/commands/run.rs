//! `netc run FILE --input X.npy`: a network on real inputs, with its predictions.

use super::progress::{Progress, bar};
use super::{FAILURE, SUCCESS, Streams, compile, default_threads, positive};
use crate::backend::BackendKind;
use crate::ir::{Graph, LowerOptions, Normalize};
use crate::run::{self, Classes, Named, OutputFiles, RunError};
use crate::tensor::{fmt_dims, fmt_shape};
use std::path::PathBuf;
use std::time::Duration;

#[derive(clap::Args)]
pub struct RunArgs {
    /// The `.net` file.
    pub file: PathBuf,
    /// Input batch: `.npy`, float or uint8, NCHW (or CHW for one sample). `NAME=FILE` for each
    /// input of a network with several (repeat the option).
    #[arg(long, required = true, value_name = "[NAME=]FILE")]
    pub input: Vec<Named>,
    /// Trained weights (`.safetensors` or `.npz`), named by layer path.
    #[arg(long)]
    pub weights: Option<PathBuf>,
    /// Seed of the generated weights used when `--weights` is not given.
    #[arg(long, default_value_t = 0)]
    pub seed: u64,
    /// Write outputs as float32: `FILE.npy` (the network's only output), `NAME=FILE.npy` (one
    /// output), or `FILE.npz` (every output, by name). Repeatable.
    #[arg(long, value_name = "[NAME=]FILE")]
    pub output: Vec<Named>,
    /// Print the K best classes of each sample.
    #[arg(long, default_value_t = 3, value_parser = positive)]
    pub top: usize,
    /// Class names, one per line.
    #[arg(long)]
    pub labels: Option<PathBuf>,
    /// True classes (`.npy` of integers): print the top-1 accuracy.
    #[arg(long)]
    pub truth: Option<PathBuf>,
    /// Worker threads (default: all cores).
    #[arg(long, value_parser = positive)]
    pub threads: Option<usize>,
    /// Per-channel mean, overriding the file's `normalize`: `--mean 125.3,123.0,113.9`.
    #[arg(long, value_delimiter = ',')]
    pub mean: Option<Vec<f32>>,
    /// Per-channel standard deviation, overriding the file's `normalize`.
    #[arg(long, value_delimiter = ',')]
    pub std: Option<Vec<f32>>,
    /// Print the optimized IR and the memory plan before running.
    #[arg(long)]
    pub dump_ir: bool,
    /// The back end.
    #[arg(long, value_enum, default_value = "jit")]
    pub backend: BackendKind,
    /// Also allow imports from this folder (besides the file's own folder and its subfolders).
    #[arg(long = "import-dir", value_name = "DIR")]
    pub import_dirs: Vec<PathBuf>,
    /// Samples run at once: inputs are read, and outputs written, a batch at a time, so memory
    /// does not grow with the number of samples.
    #[arg(long, default_value_t = 64, value_parser = positive)]
    pub batch_size: usize,
    /// Most memory the weights and activations may take, e.g. `8G` (default: the machine's
    /// physical memory).
    #[arg(long, value_name = "SIZE", value_parser = run::parse_bytes)]
    pub max_memory: Option<u64>,
}

pub(super) fn run(a: &RunArgs, s: &mut Streams) -> u8 {
    let options = LowerOptions { input_shape: None, import_dirs: a.import_dirs.clone() };
    let mut c = match compile(&a.file, &options, s) {
        Ok(c) => c,
        Err(code) => return code,
    };
    if c.has_errors() {
        s.diagnostics(&c, &c.diagnostics);
        return FAILURE;
    }
    if a.mean.is_some() || a.std.is_some() {
        let channels = c.graph.inputs.first().map_or(0, |&n| c.graph.g[n].shape[0]);
        let per_channel = |v: &Option<Vec<f32>>, d: f32| match v {
            Some(v) if v.len() == 1 => vec![v[0]; channels],
            Some(v) => v.clone(),
            None => vec![d; channels],
        };
        let (mean, std) = (per_channel(&a.mean, 0.0), per_channel(&a.std, 1.0));
        if mean.len() != channels || std.len() != channels || std.contains(&0.0) {
            return s.io_error(format!(
                "--mean and --std need 1 or {channels} values (one per input channel), std non-zero"
            ));
        }
        run::override_normalize(&mut c.graph, Normalize { scale: 1.0, mean, std });
    }
    let limit = a.max_memory.unwrap_or_else(run::default_memory_limit);
    let chosen = run::choose_weights(&c.graph, a.weights.as_deref(), a.seed, limit)
        .and_then(|w| run::open_inputs(&c.graph, &a.input).map(|i| (w, i)));
    let (weights, inputs) = match chosen {
        Ok(w) => w,
        Err(RunError::Io(e)) => return s.io_error(e),
        Err(RunError::Diagnostic(d)) => {
            s.diagnostics(&c, &[*d]);
            return FAILURE;
        }
    };
    if weights.generated() {
        let _ = writeln!(
            s.err,
            "warning: no --weights given: using generated He-initialized weights (seed {}); the outputs are not meaningful predictions",
            a.seed
        );
    }
    let (graph, plan) = match run::prepare(&c.graph, weights.tensors, &weights.source) {
        Ok(p) => p,
        Err(d) => {
            s.diagnostics(&c, &[*d]);
            return FAILURE;
        }
    };
    if a.dump_ir {
        let _ = write!(s.out, "{}", plan.describe(&graph));
    }
    let samples = inputs.samples();
    let batch_size = a.batch_size.min(samples.max(1));
    if let Err(d) = run::check_memory(&c.graph, Some((&plan, batch_size)), limit) {
        s.diagnostics(&c, &[*d]);
        return FAILURE;
    }
    let threads = a.threads.unwrap_or_else(default_threads);
    let backend = match a.backend.build(plan, threads) {
        Ok((b, _)) => b,
        Err(e) => return s.io_error(format!("{e}; `--backend interp` runs without it")),
    };
    // Output files, labels and truth are checked against the outputs before anything runs.
    let files = match OutputFiles::resolve(&c.graph, &a.output) {
        Ok(f) => f,
        Err(e) => return s.io_error(e),
    };
    let scored = scored_outputs(&c.graph);
    let classes = match &a.labels {
        Some(p) => match Classes::read(p).and_then(|l| scored.iter().try_for_each(|&(_, k)| l.check(p, k)).map(|()| l))
        {
            Ok(l) => l,
            Err(e) => return s.io_error(e),
        },
        None => Classes::default(),
    };
    let truth = match (&a.truth, scored.first()) {
        (Some(p), Some(&(_, k))) => match run::read_truth(p, samples, k) {
            Ok(t) => Some(t),
            Err(e) => return s.io_error(e),
        },
        (Some(_), None) => return s.io_error("--truth needs an output of class scores (one vector per sample)"),
        (None, _) => None,
    };
    let mut sink = match files.create(&c.graph, samples) {
        Ok(sink) => sink,
        Err(e) => return s.io_error(e),
    };
    // Batch by batch: outputs go to their files as they come; only each sample's best classes
    // are kept for the report.
    let ranked = a.output.is_empty() || truth.is_some();
    let mut best: Vec<Vec<Vec<(usize, f32)>>> = vec![Vec::new(); if ranked { scored.len() } else { 0 }];
    let mut progress = Progress::new(s, Duration::from_secs(1));
    for start in (0..samples).step_by(batch_size) {
        let count = batch_size.min(samples - start);
        let batch = match inputs.read(&c.graph, start, count) {
            Ok(b) => b,
            Err(RunError::Io(e)) => {
                drop(progress);
                return s.io_error(e);
            }
            Err(RunError::Diagnostic(d)) => {
                drop(progress);
                s.diagnostics(&c, &[*d]);
                return FAILURE;
            }
        };
        let outputs = backend.run(&batch);
        if let Err(e) = sink.append(&outputs) {
            drop(progress);
            return s.io_error(e);
        }
        for (rows, &(o, _)) in best.iter_mut().zip(&scored) {
            rows.extend(run::top_k(&outputs[o], a.top));
        }
        let (done, elapsed) = (start + count, progress.elapsed().as_secs_f64());
        progress.update(|| {
            let left = elapsed * (samples - done) as f64 / done as f64;
            format!(
                "{} {done}/{samples} samples, {:.0}/s, {left:.0} s left",
                bar(done, samples, 30),
                done as f64 / elapsed
            )
        });
    }
    let elapsed = progress.elapsed();
    drop(progress);
    let _ = writeln!(
        s.err,
        "ran {samples} sample(s) through the {} back end in {:.1} ms{}",
        backend.name(),
        elapsed.as_secs_f64() * 1e3,
        if samples > batch_size { format!(", in batches of {batch_size}") } else { String::new() }
    );
    match sink.finish(&c.graph) {
        Ok(written) => {
            for (name, path) in written {
                let o =
                    c.graph.outputs.iter().find(|o| o.name == name).map_or(&[][..], |o| &c.graph.g[o.node].shape[..]);
                let shape: Vec<usize> = std::iter::once(samples).chain(o.iter().copied()).collect();
                let _ = writeln!(s.out, "wrote output `{name}` {} to {}", fmt_dims(&shape), path.display());
            }
        }
        Err(e) => return s.io_error(e),
    }
    if !ranked {
        return SUCCESS;
    }
    for (i, o) in c.graph.outputs.iter().enumerate() {
        if !scored.iter().any(|&(j, _)| j == i) && a.output.is_empty() {
            let shape = fmt_shape(&c.graph.g[o.node].shape);
            let _ = writeln!(
                s.out,
                "output `{}` is a {shape} feature map, not class scores: write it with `--output FILE.npy`",
                o.name
            );
        }
    }
    for (rank, (&(o, _), best)) in scored.iter().zip(&best).enumerate() {
        if scored.len() > 1 {
            let _ = writeln!(s.out, "output `{}`:", c.graph.outputs[o].name);
        }
        // The truth is for the first output of class scores.
        let truth = truth.as_ref().filter(|_| rank == 0);
        for (i, row) in best.iter().enumerate() {
            let picks: Vec<String> = row.iter().map(|(c, v)| format!("{} ({v:.3})", classes.name(*c))).collect();
            let mark = match truth.map(|t| t[i]) {
                Some(t) if t == row[0].0 => "  ok".to_string(),
                Some(t) => format!("  (truth: {})", classes.name(t)),
                None => String::new(),
            };
            let _ = writeln!(s.out, "{i:>4}: {}{mark}", picks.join(", "));
        }
        if let Some(t) = truth {
            let correct = run::top1_correct(best, t);
            let _ = writeln!(
                s.out,
                "top-1 accuracy: {correct}/{samples} = {:.2}%",
                100.0 * correct as f64 / samples.max(1) as f64
            );
        }
    }
    SUCCESS
}

/// The outputs that are class scores (one vector per sample), with their number of classes.
fn scored_outputs(graph: &Graph) -> Vec<(usize, usize)> {
    graph
        .outputs
        .iter()
        .enumerate()
        .filter_map(|(i, o)| match graph.g[o.node].shape[..] {
            [k] => Some((i, k)),
            _ => None,
        })
        .collect()
}
