//! `netc run FILE --input X.npy`: a network on real inputs, with its predictions.

use super::{FAILURE, SUCCESS, Streams, compile, default_threads};
use crate::backend::BackendKind;
use crate::io;
use crate::ir::{LowerOptions, Normalize};
use crate::run::{self, Classes};
use crate::tensor::fmt_dims;
use std::path::PathBuf;

#[derive(clap::Args)]
pub struct RunArgs {
    /// The `.net` file.
    pub file: PathBuf,
    /// Input batch: `.npy`, float32 or uint8, NCHW (or CHW for one image).
    #[arg(long)]
    pub input: PathBuf,
    /// Trained weights (`.safetensors` or `.npz`), named by layer path.
    #[arg(long)]
    pub weights: Option<PathBuf>,
    /// Seed of the generated weights used when `--weights` is not given.
    #[arg(long, default_value_t = 0)]
    pub seed: u64,
    /// Write the first output, as float32 `.npy`, here.
    #[arg(long)]
    pub output: Option<PathBuf>,
    /// Print the K best classes of each sample.
    #[arg(long, default_value_t = 3)]
    pub top: usize,
    /// Class names, one per line.
    #[arg(long)]
    pub labels: Option<PathBuf>,
    /// True classes (`.npy` of integers): print the top-1 accuracy.
    #[arg(long)]
    pub truth: Option<PathBuf>,
    /// Worker threads (default: all cores).
    #[arg(long)]
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
    let weights = match &a.weights {
        Some(p) => match run::read_weights(p, &c.graph) {
            Ok(w) => w,
            Err(e) => return s.io_error(e),
        },
        None => {
            let _ = writeln!(
                s.err,
                "warning: no --weights given: using generated He-initialized weights (seed {}); the outputs are not meaningful predictions",
                a.seed
            );
            run::generated_weights(&c.graph, a.seed)
        }
    };
    let input = match io::read_npy(&a.input) {
        Ok(arr) => arr,
        Err(e) => return s.io_error(e),
    };
    let input = match run::input_batch(&c.graph, &input, &a.input.display().to_string()) {
        Ok(t) => t,
        Err(d) => {
            s.diagnostics(&c, &[*d]);
            return FAILURE;
        }
    };
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
    let threads = a.threads.unwrap_or_else(default_threads);
    let backend = match a.backend.build(plan, threads) {
        Ok((b, _)) => b,
        Err(e) => return s.io_error(format!("{e}; `--backend interp` runs without it")),
    };
    let started = std::time::Instant::now();
    let outputs = backend.run(&[input]);
    let _ = writeln!(
        s.err,
        "ran {} sample(s) through the {} back end in {:.1} ms",
        outputs.first().map_or(0, |o| o.shape[0]),
        backend.name(),
        started.elapsed().as_secs_f64() * 1e3
    );
    let Some(out) = outputs.first() else { return SUCCESS };
    if let Some(path) = &a.output {
        if let Err(e) = io::write_npy(path, out) {
            return s.io_error(e);
        }
        let _ = writeln!(s.out, "wrote {} output {} to {}", backend.name(), fmt_dims(&out.shape), path.display());
    }
    let classes = match &a.labels {
        Some(p) => match Classes::read(p) {
            Ok(c) => c,
            Err(e) => return s.io_error(e),
        },
        None => Classes::default(),
    };
    let truth = match &a.truth {
        Some(p) => match run::read_truth(p) {
            Ok(t) => Some(t),
            Err(e) => return s.io_error(e),
        },
        None => None,
    };
    let best = run::top_k(out, a.top.max(1));
    if a.output.is_none() || a.truth.is_some() {
        for (i, row) in best.iter().enumerate() {
            let picks: Vec<String> = row.iter().map(|(c, v)| format!("{} ({v:.3})", classes.name(*c))).collect();
            let mark = match truth.as_ref().and_then(|t| t.get(i)) {
                Some(&t) if t as usize == row[0].0 => "  ok".to_string(),
                Some(&t) => format!("  (truth: {})", classes.name(t as usize)),
                None => String::new(),
            };
            let _ = writeln!(s.out, "{i:>4}: {}{mark}", picks.join(", "));
        }
    }
    if let Some(t) = &truth {
        let (correct, n) = run::top1_correct(&best, t);
        let _ = writeln!(s.out, "top-1 accuracy: {correct}/{n} = {:.2}%", 100.0 * correct as f64 / n.max(1) as f64);
    }
    SUCCESS
}
