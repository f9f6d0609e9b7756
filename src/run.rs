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
use petgraph::stable_graph::NodeIndex;
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

/// Opens one `.npy` file per network input from `given` (every input exactly once; a bare file
/// only for a one-input network), checked against the declarations (E0019: shape and type, from
/// the header and the first sample) and against each other (one number of samples).
pub fn open_inputs(graph: &Graph, given: &[Named]) -> Result<Inputs, RunError> {
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
    let mut opened: Vec<InputFile> = Vec::new();
    for (i, path) in files.into_iter().flatten().enumerate() {
        let reader = io::NpyReader::open(path).map_err(|e| e.to_string())?;
        let dims = &graph.g[graph.inputs[i]].shape;
        let one_sample = reader.shape[..] == dims[..];
        let input = InputFile { reader, one_sample, name: path.display().to_string() };
        // The header's shape and the first sample's type are checked against the declaration now.
        batch_shape(graph, i, &input.reader.shape, &input.name).map_err(RunError::Diagnostic)?;
        input.read(graph, i, 0, input.samples().min(1))?;
        if let Some(first) = opened.first()
            && first.samples() != input.samples()
        {
            let node = &graph.g[graph.inputs[i]];
            return Err(RunError::Diagnostic(Box::new(
                Diagnostic::error(
                    Code::InputMismatch,
                    format!(
                        "`{}` holds {} sample(s) for `{}`, but the batch for `{}` has {}",
                        path.display(),
                        input.samples(),
                        names[i],
                        names[0],
                        first.samples()
                    ),
                    node.span,
                    format!("`{}` declared here", names[i]),
                )
                .with_help("every input of a run needs the same number of samples"),
            )));
        }
        opened.push(input);
    }
    Ok(Inputs(opened))
}

/// The `.npy` files of a run's inputs, one per network input, read a batch at a time (a data
/// set never has to fit in memory): see [`open_inputs`].
pub struct Inputs(Vec<InputFile>);

/// One input's file: a batch `[N, ...]`, or one sample without the batch axis.
struct InputFile {
    reader: io::NpyReader,
    one_sample: bool,
    name: String,
}

impl InputFile {
    fn samples(&self) -> usize {
        if self.one_sample { 1 } else { self.reader.shape.first().copied().unwrap_or(0) }
    }

    /// Samples `start..start + count` as input `index`'s batch (E0019 when they do not fit it).
    /// A file that cannot be read (it changed since it was opened) is an I/O error, not E0019.
    fn read(&self, graph: &Graph, index: usize, start: usize, count: usize) -> Result<Tensor, RunError> {
        let rows =
            if self.one_sample { self.reader.rows(0, self.reader.shape[0]) } else { self.reader.rows(start, count) };
        let array = rows.map_err(|e| RunError::Io(e.to_string()))?;
        input_batch(graph, index, &array, &self.name).map_err(RunError::Diagnostic)
    }
}

impl Inputs {
    /// How many samples each input holds.
    pub fn samples(&self) -> usize {
        self.0.first().map_or(0, InputFile::samples)
    }

    /// Samples `start..start + count` of every input.
    pub fn read(&self, graph: &Graph, start: usize, count: usize) -> Result<Vec<Tensor>, RunError> {
        self.0.iter().enumerate().map(|(i, f)| f.read(graph, i, start, count)).collect()
    }
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

    /// Creates the files for a run of `samples` samples: `.npy` files are written as batches
    /// come ([`OutputSink::append`]); `.npz` archives, which need whole members, at the end.
    pub fn create(&self, graph: &Graph, samples: usize) -> Result<OutputSink, String> {
        let mut files = Vec::new();
        for (chosen, path) in &self.0 {
            let file = if is_npz(path) {
                OutputFile::Npz(vec![Vec::new(); chosen.len()])
            } else {
                let out = &graph.g[graph.outputs[chosen[0]].node].shape;
                let shape: Vec<usize> = std::iter::once(samples).chain(out.iter().copied()).collect();
                OutputFile::Npy(io::NpyWriter::create(path, &shape).map_err(|e| e.to_string())?)
            };
            files.push((chosen.clone(), path.clone(), file));
        }
        Ok(OutputSink { files, samples })
    }
}

/// The output files of a run being written: see [`OutputFiles::create`].
pub struct OutputSink {
    files: Vec<(Vec<usize>, PathBuf, OutputFile)>,
    samples: usize,
}

enum OutputFile {
    Npy(io::NpyWriter),
    /// Each chosen output's values so far.
    Npz(Vec<Vec<f32>>),
}

impl OutputSink {
    /// Adds a batch of the network's outputs (all of them, in order).
    pub fn append(&mut self, outputs: &[Tensor]) -> Result<(), String> {
        for (chosen, _, file) in &mut self.files {
            match file {
                OutputFile::Npy(w) => w.append(&outputs[chosen[0]].data).map_err(|e| e.to_string())?,
                OutputFile::Npz(values) => {
                    values.iter_mut().zip(chosen.iter()).for_each(|(v, &i)| v.extend_from_slice(&outputs[i].data))
                }
            }
        }
        Ok(())
    }

    /// Completes every file; returns each output's name and file, in order written.
    pub fn finish(self, graph: &Graph) -> Result<Vec<(String, PathBuf)>, String> {
        let name = |i: usize| graph.outputs[i].name.as_str();
        let mut written = Vec::new();
        for (chosen, path, file) in self.files {
            match file {
                OutputFile::Npy(w) => w.finish().map_err(|e| e.to_string())?,
                OutputFile::Npz(values) => {
                    let tensors: Vec<Tensor> = chosen
                        .iter()
                        .zip(values)
                        .map(|(&i, v)| {
                            let out = &graph.g[graph.outputs[i].node].shape;
                            let shape: Vec<usize> = std::iter::once(self.samples).chain(out.iter().copied()).collect();
                            Tensor::from_vec(&shape, v)
                        })
                        .collect();
                    let arrays: Vec<(&str, &Tensor)> = chosen.iter().map(|&i| name(i)).zip(&tensors).collect();
                    io::write_npz(&path, &arrays).map_err(|e| e.to_string())?;
                }
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
    let values = graph.g.node_indices().map(|n| weight_values(graph, n)).fold(0, u64::saturating_add);
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
fn generated_weights(graph: &Graph, seed: u64) -> RunWeights {
    RunWeights { tensors: Weights::generate(graph, seed), source: GENERATED.to_string() }
}

/// What [`RunWeights::source`] says of generated weights.
const GENERATED: &str = "generated weights";

impl RunWeights {
    /// Whether these are generated weights (no `--weights` given).
    pub fn generated(&self) -> bool {
        self.source == GENERATED
    }
}

/// The weights of a run or an emitted model: read from `path` (`--weights`), or generated from
/// `seed`; either way only once the network's weights are known to fit in `limit` bytes
/// (`--max-memory`, E0013). They are validated against the network where they are used
/// ([`prepare`], or the emitter).
pub fn choose_weights(graph: &Graph, path: Option<&Path>, seed: u64, limit: u64) -> Result<RunWeights, RunError> {
    check_memory(graph, None, limit).map_err(RunError::Diagnostic)?;
    Ok(match path {
        Some(p) => read_weights(p, graph)?,
        None => generated_weights(graph, seed),
    })
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

/// The batch shape `[N, ...]` an array of `shape` (from `file`) gives `graph`'s `index`-th input:
/// a batch, or one sample; E0019 when it fits neither.
fn batch_shape(graph: &Graph, index: usize, shape: &[usize], file: &str) -> Result<Vec<usize>, Box<Diagnostic>> {
    let node = &graph.g[graph.inputs[index]];
    let Op::Input(input) = &node.op else { unreachable!("graph inputs are input nodes") };
    let (name, dims) = (&input.name, &input.dims);
    if shape.len() == dims.len() + 1 && shape[1..] == dims[..] {
        Ok(shape.to_vec())
    } else if shape[..] == dims[..] {
        Ok(std::iter::once(1).chain(dims.iter().copied()).collect())
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
        Err(Box::new(
            Diagnostic::error(
                Code::InputMismatch,
                format!("input `{file}` has shape {} but `{name}` is declared {}", fmt_dims(shape), fmt_shape(dims)),
                node.span,
                format!("`{name}` declared here"),
            )
            .with_help(hint),
        ))
    }
}

/// Turns an `.npy` array into an input batch `[N, ...]` for `graph`'s `index`-th input: floating
/// point values (float32, or float16/bfloat16/float64 converted to float32) or uint8 pixels, a
/// batch or one sample. Other integers, or a shape that does not fit, are an E0019 diagnostic.
pub fn input_batch(graph: &Graph, index: usize, array: &Array, file: &str) -> Result<Tensor, Box<Diagnostic>> {
    let batch_shape = batch_shape(graph, index, &array.shape, file)?;
    let node = &graph.g[graph.inputs[index]];
    let Op::Input(input) = &node.op else { unreachable!("graph inputs are input nodes") };
    let name = &input.name;
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

/// The memory a run may take unless `--max-memory` says otherwise: the machine's physical memory
/// (16 GiB where it cannot be read).
pub fn default_memory_limit() -> u64 {
    #[cfg(target_os = "linux")]
    {
        // SAFETY: sysconf reads a system constant; it has no preconditions.
        let (pages, size) = unsafe { (libc::sysconf(libc::_SC_PHYS_PAGES), libc::sysconf(libc::_SC_PAGESIZE)) };
        if pages > 0 && size > 0 {
            return (pages as u64).saturating_mul(size as u64);
        }
    }
    16 << 30
}

/// A byte count as people write it: `512M`, `8G`, `1.5T` (powers of 1024), `8GiB`, or bytes.
pub fn parse_bytes(s: &str) -> Result<u64, String> {
    let t = s.trim();
    let digits = t.find(|c: char| !(c.is_ascii_digit() || c == '.')).unwrap_or(t.len());
    let (number, unit) = t.split_at(digits);
    let shift = match unit.trim().trim_end_matches("iB").trim_end_matches('B').to_ascii_uppercase().as_str() {
        "" => 0,
        "K" => 10,
        "M" => 20,
        "G" => 30,
        "T" => 40,
        _ => return Err(format!("`{s}` is not a size: write bytes, or a number with K, M, G or T (e.g. 8G)")),
    };
    match number.parse::<f64>() {
        Ok(n) if n.is_finite() && n > 0.0 && n * ((1u64 << shift) as f64) < u64::MAX as f64 => {
            Ok((n * (1u64 << shift) as f64) as u64)
        }
        _ => Err(format!("`{s}` is not a size: write bytes, or a number with K, M, G or T (e.g. 8G)")),
    }
}

/// `bytes` in the largest binary unit that keeps a number of at least 1 (`1.50 GiB`).
pub fn human_bytes(bytes: u64) -> String {
    const UNITS: [&str; 5] = ["bytes", "KiB", "MiB", "GiB", "TiB"];
    let mut value = bytes as f64;
    let mut unit = 0;
    while value >= 1024.0 && unit < UNITS.len() - 1 {
        value /= 1024.0;
        unit += 1;
    }
    if unit == 0 { format!("{bytes} bytes") } else { format!("{value:.2} {}", UNITS[unit]) }
}

/// `bytes` rounded up to a size `--max-memory` takes: whole GiB, MiB or KiB.
fn round_up(bytes: u64) -> String {
    match bytes {
        b if b > 1 << 30 => format!("{}G", b.div_ceil(1 << 30)),
        b if b > 1 << 20 => format!("{}M", b.div_ceil(1 << 20)),
        b => format!("{}K", b.div_ceil(1 << 10)),
    }
}

/// How many weight values layer `n` has.
fn weight_values(graph: &Graph, n: NodeIndex) -> u64 {
    let values = |w: &crate::ir::Weight| w.shape.iter().fold(1u64, |b, &d| b.saturating_mul(d as u64));
    graph.weight_specs(n).iter().map(values).fold(0, u64::saturating_add)
}

/// E0013 before any weight is read or generated and before anything runs: `graph`'s weights,
/// and with a plan its activations for a batch of `batch` (the arena, inputs and outputs), need
/// more than `limit` bytes (`--max-memory`). The label points at the layer with the most
/// weights, or, when the activations are what does not fit, the largest activation.
pub fn check_memory(graph: &Graph, planned: Option<(&Plan, usize)>, limit: u64) -> Result<(), Box<Diagnostic>> {
    // Each layer's weight bytes (float32), computed once.
    let bytes: Vec<(NodeIndex, u64)> =
        graph.g.node_indices().map(|n| (n, weight_values(graph, n).saturating_mul(4))).collect();
    let weights = bytes.iter().map(|&(_, b)| b).fold(0u64, u64::saturating_add);
    let activations = planned.map_or(0, |(plan, batch)| {
        // The arena, and the batches given and returned beside it.
        let elements = |shape: &[usize]| shape.iter().product::<usize>() as u64;
        let per_sample: u64 = plan.slot_sizes.iter().map(|&s| s as u64).sum::<u64>()
            + plan.inputs.iter().map(|i| elements(i.shape())).sum::<u64>()
            + plan.outputs.iter().map(|(_, shape)| elements(shape)).sum::<u64>();
        per_sample.saturating_mul(4).saturating_mul(batch as u64)
    });
    let total = weights.saturating_add(activations);
    if total <= limit {
        return Ok(());
    }
    let (what, culprit, label) = if weights > limit || planned.is_none() {
        let largest = bytes.iter().copied().max_by_key(|&(_, b)| b);
        let label = largest.map(|(n, b)| format!("`{}` alone has {} of weights", graph.path(n), human_bytes(b)));
        let n = largest.map(|(n, _)| n);
        (format!("the network's weights take {}", human_bytes(weights)), n, label)
    } else {
        let batch = planned.map_or(1, |(_, b)| b);
        let n = graph.g.node_indices().max_by_key(|&n| graph.g[n].shape.iter().product::<usize>());
        let label = n.map(|n| {
            let bytes = (graph.g[n].shape.iter().product::<usize>() as u64).saturating_mul(4 * batch as u64);
            format!("`{}` alone outputs {} for the batch", graph.path(n), human_bytes(bytes))
        });
        let what = format!(
            "a batch of {batch} takes {} ({} of weights and {} of activations)",
            human_bytes(total),
            human_bytes(weights),
            human_bytes(activations)
        );
        (what, n, label)
    };
    let span = culprit.or(graph.inputs.first().copied()).map_or_else(Default::default, |n| graph.g[n].span);
    let d = Diagnostic::error(
        Code::TooLarge,
        format!("{what}, more than the memory limit of {}", human_bytes(limit)),
        span,
        label.unwrap_or_default(),
    )
    .with_note("the limit is the machine's physical memory unless `--max-memory` sets another")
    .with_help(format!(
        "raise the limit with `--max-memory {}` if the machine can back it{}",
        round_up(total),
        if weights > limit || planned.is_none() { "" } else { ", or run fewer samples at once" }
    ));
    Err(Box::new(d))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sizes_parse_as_people_write_them() {
        assert_eq!(parse_bytes("4096"), Ok(4096));
        assert_eq!(parse_bytes("3K"), Ok(3 << 10));
        assert_eq!(parse_bytes("512M"), Ok(512 << 20));
        assert_eq!(parse_bytes("8GiB"), Ok(8 << 30));
        assert_eq!(parse_bytes("1.5g"), Ok(3 << 29));
        assert_eq!(parse_bytes("2TB"), Ok(2 << 40));
        for bad in ["", "0", "-1G", "12x", "G", "1e400", "99999999999T"] {
            assert!(parse_bytes(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn byte_counts_read_as_people_read_them() {
        assert_eq!(human_bytes(1000), "1000 bytes");
        assert_eq!(human_bytes(3 << 29), "1.50 GiB");
        assert_eq!(human_bytes(u64::MAX), "16777216.00 TiB");
    }
}
