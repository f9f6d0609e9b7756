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
use std::path::{Path, PathBuf};

/// Why a run cannot go ahead: a file or argument problem (the command's exit status 2), or a
/// diagnostic pointing into the network (exit status 1).
#[derive(Debug)]
pub enum RunError {
    Io(String),
    Diagnostic(Box<Diagnostic>),
}

impl From<String> for RunError {
    fn from(e: String) -> RunError {
        RunError::Io(e)
    }
}

/// A file for one of the network's inputs or outputs: `NAME=FILE`, or a bare `FILE` where the
/// network has only one (`netc run --input x=a.npy --input y=b.npy`, `--output out.npy`).
#[derive(Clone, Debug, PartialEq)]
pub struct Named {
    pub name: Option<String>,
    pub path: PathBuf,
}

impl std::str::FromStr for Named {
    type Err = String;

    /// `NAME=FILE` when the part before the first `=` is a name; anything else (`dir/a=b.npy`)
    /// is a bare file.
    fn from_str(s: &str) -> Result<Named, String> {
        let named =
            s.split_once('=').filter(|(n, _)| !n.is_empty() && n.chars().all(|c| c.is_alphanumeric() || c == '_'));
        match named {
            Some((_, "")) => Err(format!("`{s}` names no file: write `NAME=FILE`")),
            Some((name, path)) => Ok(Named { name: Some(name.to_string()), path: path.into() }),
            None if s.is_empty() => Err("an empty file name".to_string()),
            None => Ok(Named { name: None, path: s.into() }),
        }
    }
}

/// `` `x`, `y` `` for error messages.
fn quoted(names: impl IntoIterator<Item = impl std::fmt::Display>) -> String {
    names.into_iter().map(|n| format!("`{n}`")).collect::<Vec<_>>().join(", ")
}

/// The names of `graph`'s inputs, in declaration order.
fn input_names(graph: &Graph) -> Vec<&str> {
    graph
        .inputs
        .iter()
        .map(|&n| match &graph.g[n].op {
            Op::Input(i) => i.name.as_str(),
            _ => unreachable!("graph inputs are input nodes"),
        })
        .collect()
}

/// Reads one `.npy` batch per network input from `given` (every input exactly once; a bare file
/// only for a one-input network), checked against the declarations (E0019) and against each
/// other (one batch size).
pub fn read_inputs(graph: &Graph, given: &[Named]) -> Result<Vec<Tensor>, RunError> {
    let names = input_names(graph);
    let mut files: Vec<Option<&Path>> = vec![None; names.len()];
    for g in given {
        let i = match &g.name {
            None if names.len() == 1 => 0,
            None => {
                return Err(RunError::Io(format!(
                    "this network has {} inputs ({}): give each as `--input NAME=FILE`, e.g. `--input {}={}`",
                    names.len(),
                    quoted(&names),
                    names[0],
                    g.path.display()
                )));
            }
            Some(n) => names.iter().position(|x| x == n).ok_or_else(|| {
                format!("`--input {n}=...`: the network has no input `{n}`; its inputs are {}", quoted(&names))
            })?,
        };
        if files[i].replace(&g.path).is_some() {
            return Err(RunError::Io(format!("input `{}` is given twice", names[i])));
        }
    }
    let missing: Vec<&str> = names.iter().zip(&files).filter(|(_, f)| f.is_none()).map(|(n, _)| *n).collect();
    if !missing.is_empty() {
        let example: Vec<String> = missing.iter().map(|n| format!("--input {n}=FILE.npy")).collect();
        return Err(RunError::Io(format!("no data for input {}: add `{}`", quoted(&missing), example.join(" "))));
    }
    let mut batches: Vec<Tensor> = Vec::new();
    for (i, path) in files.into_iter().flatten().enumerate() {
        let array = io::read_npy(path).map_err(|e| e.to_string())?;
        let t = input_batch(graph, i, &array, &path.display().to_string()).map_err(RunError::Diagnostic)?;
        if let Some(first) = batches.first()
            && first.shape[0] != t.shape[0]
        {
            let node = &graph.g[graph.inputs[i]];
            return Err(RunError::Diagnostic(Box::new(
                Diagnostic::error(
                    Code::InputMismatch,
                    format!(
                        "`{}` holds {} sample(s) for `{}`, but the batch for `{}` has {}",
                        path.display(),
                        t.shape[0],
                        names[i],
                        names[0],
                        first.shape[0]
                    ),
                    node.span,
                    format!("`{}` declared here", names[i]),
                )
                .with_help("every input of a run needs the same number of samples"),
            )));
        }
        batches.push(t);
    }
    Ok(batches)
}

/// Where `netc run --output` writes: for each file, the outputs it holds (by index).
#[derive(Clone, Debug, Default)]
pub struct OutputFiles(Vec<(Vec<usize>, PathBuf)>);

impl OutputFiles {
    /// Resolves `targets` against `graph`'s outputs (before anything runs): `NAME=FILE` one
    /// output, a bare `FILE` the only output, a bare `FILE.npz` every output under its name.
    pub fn resolve(graph: &Graph, targets: &[Named]) -> Result<OutputFiles, String> {
        let names: Vec<&str> = graph.outputs.iter().map(|o| o.name.as_str()).collect();
        let mut files = Vec::new();
        for t in targets {
            let chosen: Vec<usize> = match &t.name {
                Some(n) => vec![names.iter().position(|x| x == n).ok_or_else(|| {
                    format!("`--output {n}=...`: the network has no output `{n}`; its outputs are {}", quoted(&names))
                })?],
                None if is_npz(&t.path) || names.len() == 1 => (0..names.len()).collect(),
                None => {
                    return Err(format!(
                        "this network has {} outputs ({}): name the one to write (`--output {}={}`) or write them all to one `.npz`",
                        names.len(),
                        quoted(&names),
                        names[0],
                        t.path.display()
                    ));
                }
            };
            files.push((chosen, t.path.clone()));
        }
        Ok(OutputFiles(files))
    }

    /// Writes `outputs` (the network's, in order): `.npz` files hold named float32 arrays,
    /// other files one float32 `.npy`. Returns each output's name and file, in order written.
    pub fn write(&self, graph: &Graph, outputs: &[Tensor]) -> Result<Vec<(String, PathBuf)>, String> {
        let name = |i: usize| graph.outputs[i].name.as_str();
        let mut written = Vec::new();
        for (chosen, path) in &self.0 {
            if is_npz(path) {
                let arrays: Vec<(&str, &Tensor)> = chosen.iter().map(|&i| (name(i), &outputs[i])).collect();
                io::write_npz(path, &arrays).map_err(|e| e.to_string())?;
            } else {
                io::write_npy(path, &outputs[chosen[0]]).map_err(|e| e.to_string())?;
            }
            written.extend(chosen.iter().map(|&i| (name(i).to_string(), path.clone())));
        }
        Ok(written)
    }
}

fn is_npz(path: &Path) -> bool {
    path.extension().is_some_and(|e| e.eq_ignore_ascii_case("npz"))
}

/// Weights for a run and where they come from (for diagnostics).
pub struct RunWeights {
    pub tensors: Weights,
    /// The file they were read from, or "generated weights".
    pub source: String,
}

/// Reads trained weights (`.safetensors` or `.npz`) named by layer path for `graph`, without the
/// training state PyTorch saves beside them (`num_batches_tracked`). A file (or
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
    let mut tensors = Weights::new(file.tensors);
    tensors.drop_training_state(graph);
    Ok(RunWeights { tensors, source: path.display().to_string() })
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

    /// The name of class `i` (`class i` without a labels file).
    pub fn name(&self, i: usize) -> String {
        self.0.get(i).cloned().unwrap_or_else(|| format!("class {i}"))
    }

    /// Checks that a labels file read from `path` names each of `classes` classes.
    pub fn check(&self, path: &Path, classes: usize) -> Result<(), String> {
        if !self.0.is_empty() && self.0.len() < classes {
            return Err(format!(
                "`{}` names {} classes but the network's output has {classes}: give one name per line for every class",
                path.display(),
                self.0.len()
            ));
        }
        Ok(())
    }
}

/// Reads the true class of each of `batch` samples (an integer `.npy`, one value per sample)
/// for an output of `classes` classes.
pub fn read_truth(path: &Path, batch: usize, classes: usize) -> Result<Vec<usize>, String> {
    let file = path.display();
    let arr = io::read_npy(path).map_err(|e| e.to_string())?;
    let values: Vec<i64> = match &arr.data {
        ArrayData::I64(v) => v.clone(),
        ArrayData::U8(v) => v.iter().map(|&b| i64::from(b)).collect(),
        ArrayData::F32(_) => return Err(format!("`{file}` must hold integer class indices, not floats")),
    };
    if values.len() != batch {
        return Err(format!("`{file}` holds {} class indices for a batch of {batch} samples", values.len()));
    }
    values
        .iter()
        .enumerate()
        .map(|(i, &v)| {
            usize::try_from(v).ok().filter(|&c| c < classes).ok_or_else(|| {
                format!("`{file}`: sample {i}'s class is {v}, outside the output's classes 0..{classes}")
            })
        })
        .collect()
}

/// How many samples have their true class as their best class.
pub fn top1_correct(best: &[Vec<(usize, f32)>], truth: &[usize]) -> usize {
    best.iter().zip(truth).filter(|(b, t)| b[0].0 == **t).count()
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

/// Turns an `.npy` array into an input batch `[N, ...]` for `graph`'s `index`-th input: floating
/// point values (float32, or float16/bfloat16/float64 converted to float32) or uint8 pixels, a
/// batch or one sample. Other integers, or a shape that does not fit, are an E0019 diagnostic.
pub fn input_batch(graph: &Graph, index: usize, array: &Array, file: &str) -> Result<Tensor, Box<Diagnostic>> {
    let node = &graph.g[graph.inputs[index]];
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
        ArrayData::I64(_) => {
            return Err(Box::new(
                Diagnostic::error(
                    Code::InputMismatch,
                    format!("input `{file}` holds integers other than uint8, not pixel values or features"),
                    node.span,
                    format!("`{name}` declared here"),
                )
                .with_help(
                    "netc reads float or uint8 inputs: save images with `x.astype(np.uint8)` and features with `x.astype(np.float32)` (are these class labels? they go to `--truth`)",
                ),
            ));
        }
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
