//! `netc emit onnx FILE -o model.onnx`.

use super::super::{FAILURE, SUCCESS, Streams, compile};
use crate::compile::Compilation;
use crate::ir::LowerOptions;
use crate::onnx::{EmitOptions, MAX_OPSET, MIN_OPSET, write_model};
use crate::run::{self, RunError};
use crate::weights::Weights;
use std::path::PathBuf;

/// The network an emitter writes: its file and its weights.
#[derive(clap::Args)]
pub struct Source {
    /// The `.net` file.
    pub file: PathBuf,
    /// Trained weights (`.safetensors` or `.npz`), named by layer path; without them, the
    /// generated weights of `netc run --seed`.
    #[arg(long)]
    pub weights: Option<PathBuf>,
    /// Seed of the generated weights used when `--weights` is not given.
    #[arg(long, default_value_t = 0)]
    pub seed: u64,
}

#[derive(clap::Args)]
pub struct OnnxArgs {
    #[command(flatten)]
    pub source: Source,
    /// The ONNX file to write.
    #[arg(short, long)]
    pub output: PathBuf,
    /// The ONNX operator set version (17 to 21).
    #[arg(long, default_value_t = MIN_OPSET)]
    pub opset: i64,
}

/// The checked network in `file` and its weights (read from `weights`, or generated from
/// `seed` with a warning), or the exit status after reporting why not.
pub(super) fn network(source: &Source, s: &mut Streams) -> Result<(Compilation, Weights), u8> {
    let (file, weights, seed) = (&source.file, source.weights.as_deref(), source.seed);
    let c = compile(file, &LowerOptions::default(), s)?;
    if c.has_errors() {
        s.diagnostics(&c, &c.diagnostics);
        return Err(FAILURE);
    }
    let w = match run::choose_weights(&c.graph, weights, seed, run::default_memory_limit()) {
        Ok(w) => w,
        Err(RunError::Io(e)) => return Err(s.io_error(e)),
        Err(RunError::Diagnostic(d)) => {
            s.diagnostics(&c, &[*d]);
            return Err(FAILURE);
        }
    };
    if let Err(d) = w.tensors.validate(&c.graph, &w.source) {
        s.diagnostics(&c, &[*d]);
        return Err(FAILURE);
    }
    if w.generated() {
        let _ = writeln!(
            s.err,
            "warning: no --weights given: writing generated He-initialized weights (seed {seed}), as `netc run --seed {seed}` uses"
        );
    }
    Ok((c, w.tensors))
}

/// The `--opset` as [`EmitOptions`], or the exit status after saying which are supported.
pub(super) fn options(opset: i64, s: &mut Streams) -> Result<EmitOptions, u8> {
    if !(MIN_OPSET..=MAX_OPSET).contains(&opset) {
        return Err(s.io_error(format!(
            "netc writes ONNX opsets {MIN_OPSET} to {MAX_OPSET}, not {opset}; use `--opset {MIN_OPSET}`"
        )));
    }
    Ok(EmitOptions { opset, ..EmitOptions::default() })
}

pub(super) fn emit(a: &OnnxArgs, s: &mut Streams) -> u8 {
    let options = match options(a.opset, s) {
        Ok(o) => o,
        Err(code) => return code,
    };
    let (c, weights) = match network(&a.source, s) {
        Ok(n) => n,
        Err(code) => return code,
    };
    match write_model(&c.graph, &weights, &a.output, &options) {
        Ok(model) => {
            let graph = model.proto.graph.unwrap_or_default();
            let _ = writeln!(
                s.out,
                "wrote {} (opset {}): {} nodes, {} initializers{}",
                a.output.display(),
                a.opset,
                graph.node.len(),
                graph.initializer.len(),
                model.external.map_or(String::new(), |(name, _)| format!(", weights in {name}"))
            );
            SUCCESS
        }
        Err(e) => s.io_error(e),
    }
}
