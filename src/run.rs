//! Running a checked network: its weights (read or generated), optimizing it with them,
//! preparing input batches from `.npy` arrays, and reading results (top-k classes, accuracy).
//! The CLI's `run` and `bench` are thin over this.

use crate::diag::{Code, Diagnostic};
use crate::io::{self, Array, ArrayData};
use crate::ir::{Graph, Normalize, Op};
use crate::passes;
use crate::plan::Plan;
use crate::tensor::{Tensor, fmt_dims, fmt_shape};
use crate::weights::Weights;
use std::path::Path;

/// Weights for a run and where they come from (for diagnostics).
pub struct RunWeights {
    pub tensors: Weights,
    /// The file they were read from, or "generated weights".
    pub source: String,
}

/// Reads trained weights (`.safetensors` or `.npz`) named by layer path for `graph`. A file (or
/// an archive's decompressed members) larger than the network's weights could take, stored as
/// float64, plus a megabyte of names and headers, holds something else and is refused unread.
pub fn read_weights(path: &Path, graph: &Graph) -> Result<RunWeights, String> {
    let values: u64 = graph
        .g
        .node_indices()
        .flat_map(|n| graph.weight_specs(n))
        .map(|w| w.shape.iter().product::<usize>() as u64)
        .sum();
    let max_bytes = values.saturating_mul(8).saturating_add(1 << 20);
    let file = io::read_tensors_limited(path, max_bytes).map_err(|e| match e.kind {
        io::IoErrorKind::TooLarge { .. } => format!(
            "{e}: the network's {values} weights take at most {} bytes (as float64), so this is not a weights file for it",
            values * 8
        ),
        _ => e.to_string(),
    })?;
    Ok(RunWeights { tensors: Weights::new(file.tensors), source: path.display().to_string() })
}

/// Deterministic weights for every tensor `graph` needs (`netc run --seed`).
pub fn generated_weights(graph: &Graph, seed: u64) -> RunWeights {
    RunWeights { tensors: Weights::generate(graph, seed), source: "generated weights".to_string() }
}

/// Class names, one per line of a labels file; classes beyond the file are `class N`.
#[derive(Clone, Debug, Default)]
pub struct Classes(pub Vec<String>);

impl Classes {
    /// Reads a labels file.
    pub fn read(path: &Path) -> Result<Classes, String> {
        std::fs::read_to_string(path)
            .map(|t| Classes(t.lines().map(str::to_string).collect()))
            .map_err(|e| format!("cannot read `{}`: {e}", path.display()))
    }

    /// The name of class `i`.
    pub fn name(&self, i: usize) -> String {
        self.0.get(i).cloned().unwrap_or_else(|| format!("class {i}"))
    }
}

/// Reads true class indices (an integer `.npy`).
pub fn read_truth(path: &Path) -> Result<Vec<i64>, String> {
    let arr = io::read_npy(path).map_err(|e| e.to_string())?;
    arr.as_i64().map(<[i64]>::to_vec).ok_or_else(|| format!("`{}` must hold integer class indices", path.display()))
}

/// How many of the samples whose truth is known have it as their best class, and how many are known.
pub fn top1_correct(best: &[Vec<(usize, f32)>], truth: &[i64]) -> (usize, usize) {
    let n = best.len().min(truth.len());
    ((0..n).filter(|&i| best[i][0].0 as i64 == truth[i]).count(), n)
}

/// Validates `weights` (named after `source`) against a checked graph, optimizes both, and plans.
pub fn prepare(graph: &Graph, mut weights: Weights, source: &str) -> Result<(Graph, Plan), Box<Diagnostic>> {
    weights.validate(graph, source)?;
    let mut g = graph.clone();
    passes::optimize(&mut g, &mut weights);
    let plan = Plan::new(&g, &weights);
    Ok((g, plan))
}

/// Overrides the normalization of the graph's first input (`--mean`, `--std`, `--scale`).
pub fn override_normalize(graph: &mut Graph, normalize: Normalize) {
    if let Some(&n) = graph.inputs.first()
        && let Op::Input(input) = &mut graph.g[n].op
    {
        input.normalize = Some(normalize);
    }
}

/// Turns an `.npy` array into an input batch `[N, C, H, W]` for `graph`'s first input:
/// float32 or uint8 values, a batch or one sample. A shape mismatch is an E0019 diagnostic.
pub fn input_batch(graph: &Graph, array: &Array, file: &str) -> Result<Tensor, Box<Diagnostic>> {
    let Some(&n) = graph.inputs.first() else { unreachable!("a checked graph has an input") };
    let node = &graph.g[n];
    let Op::Input(input) = &node.op else { unreachable!("graph inputs are input nodes") };
    let (name, dims) = (&input.name, &input.dims);
    let shape = &array.shape;
    let batch_shape = if shape.len() == dims.len() + 1 && shape[1..] == dims[..] {
        shape.clone()
    } else if shape[..] == dims[..] {
        std::iter::once(1).chain(dims.iter().copied()).collect()
    } else {
        let hint = if shape.len() == 4 && shape[3] == dims[0] && shape[1..3] == dims[1..] {
            "the array looks channels-last (NHWC); store it as NCHW, e.g. `x.transpose(0, 3, 1, 2)` in numpy"
                .to_string()
        } else if shape.len() == dims.len() + 1 || shape.len() == dims.len() {
            format!(
                "check the network at that size with `--input-shape {}`",
                fmt_shape(&shape[shape.len() - dims.len()..])
            )
        } else {
            format!("give a batch {} or one sample {}", fmt_dims(dims).replacen('[', "[N, ", 1), fmt_dims(dims))
        };
        return Err(Box::new(
            Diagnostic::error(
                Code::InputMismatch,
                format!("input `{file}` has shape {} but `{name}` is declared {}", fmt_dims(shape), fmt_shape(dims)),
                node.span,
                format!("`{name}` declared here"),
            )
            .with_help(hint),
        ));
    };
    let data: Vec<f32> = match &array.data {
        ArrayData::F32(v) => v.clone(),
        ArrayData::U8(v) => v.iter().map(|&b| b as f32).collect(),
        ArrayData::I64(v) => v.iter().map(|&b| b as f32).collect(),
    };
    Ok(Tensor::from_vec(&batch_shape, data))
}

/// The `k` highest-scoring classes of each sample of a `[N, classes...]` output, best first.
pub fn top_k(output: &Tensor, k: usize) -> Vec<Vec<(usize, f32)>> {
    let per: usize = output.shape.iter().skip(1).product();
    output
        .data
        .chunks(per.max(1))
        .map(|row| {
            let mut idx: Vec<usize> = (0..row.len()).collect();
            idx.sort_by(|&a, &b| row[b].total_cmp(&row[a]).then(a.cmp(&b)));
            idx.into_iter().take(k).map(|i| (i, row[i])).collect()
        })
        .collect()
}

/// Largest absolute difference between two tensors, relative to the largest magnitude of `reference`.
pub fn relative_error(reference: &Tensor, other: &Tensor) -> f64 {
    let scale = reference.data.iter().fold(0.0f64, |m, &v| m.max(v.abs() as f64)).max(f64::MIN_POSITIVE);
    let diff = reference.data.iter().zip(&other.data).fold(0.0f64, |m, (&a, &b)| m.max((a as f64 - b as f64).abs()));
    diff / scale
}
