//! Running a checked network: optimizing it with its weights, preparing input batches from
//! `.npy` arrays, and reading results. The CLI's `run` and `bench` are thin over this.

use crate::check::fmt_shape;
use crate::diag::{Code, Diagnostic};
use crate::io::{Array, ArrayData};
use crate::ir::{Graph, Normalize, Op};
use crate::passes;
use crate::plan::Plan;
use crate::tensor::Tensor;
use crate::weights::Weights;

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
        && let Op::Input { normalize: slot, .. } = &mut graph.g[n].op
    {
        *slot = Some(normalize);
    }
}

/// Turns an `.npy` array into an input batch `[N, C, H, W]` for `graph`'s first input:
/// float32 or uint8 values, a batch or one sample. A shape mismatch is an E0019 diagnostic.
pub fn input_batch(graph: &Graph, array: &Array, file: &str) -> Result<Tensor, Box<Diagnostic>> {
    let Some(&n) = graph.inputs.first() else { unreachable!("a checked graph has an input") };
    let node = &graph.g[n];
    let Op::Input { name, dims, .. } = &node.op else { unreachable!("graph inputs are input nodes") };
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
            format!("give a batch [N, {}] or one sample [{}]", join(dims), join(dims))
        };
        return Err(Box::new(
            Diagnostic::error(
                Code::InputMismatch,
                format!("input `{file}` has shape [{}] but `{name}` is declared {}", join(shape), fmt_shape(dims)),
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

fn join(dims: &[usize]) -> String {
    dims.iter().map(usize::to_string).collect::<Vec<_>>().join(", ")
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
