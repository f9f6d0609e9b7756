//! `netc import onnx`: an ONNX model of the convolutional subset netc supports as a `.net`
//! file and its weights.
//!
//! Constant subgraphs (PyTorch's `x.view(x.size(0), -1)` exports as
//! Shape→Gather→Unsqueeze→Concat→Reshape) are folded; the batch is a symbol that only a
//! flatten may consume. Every layer is labelled with `as` after its ONNX node's name, so its
//! weights are `<label>.weight` etc. An `Add` of two branches that leave one tensor becomes
//! `residual { body } shortcut { projection }` (no `shortcut` when one branch is the tensor
//! itself); other tensors used twice become lets. The text is formatted by `crate::fmt` and
//! checked by compiling it, with the weights validated against it.

use super::proto::{AttributeProto, GraphProto, ModelProto, NodeProto, TensorProto, data_type};
use crate::compile::compile_source;
use crate::ir::LowerOptions;
use crate::tensor::Tensor;
use crate::weights::Weights;
use std::collections::{BTreeMap, HashMap, HashSet};
use std::fmt::Write;
use std::path::Path;

/// The batch size in a folded shape: a symbol, not a number.
const BATCH: i64 = i64::MIN;
/// A size the importer does not track (a feature map's).
const UNKNOWN: i64 = i64::MIN + 1;

/// The imported network: `.net` source and the weights named by netc's layer paths.
pub struct Imported {
    pub source: String,
    pub weights: Weights,
}

/// A constant: dims and values (integers exactly, floats as f64).
#[derive(Clone, Debug)]
struct Const {
    dims: Vec<usize>,
    ints: Vec<i64>,
    floats: Vec<f64>,
}

/// What a tensor of the ONNX graph is during import.
#[derive(Clone, Debug)]
enum Val {
    /// The value of layer `id`, a sample of `rank` axes.
    Layer {
        id: usize,
        rank: usize,
    },
    Const(Const),
}

/// One layer of the `.net` file.
#[derive(Clone, Debug)]
enum Kind {
    Input,
    /// A call with one operand (`conv(64, 3) as conv1`).
    Call(String),
    /// A call of several tensors (`add`, `concat`, `mul`).
    Multi(&'static str),
    /// `residual { body } shortcut { shortcut }`: chains of layer ids.
    Residual {
        body: Vec<usize>,
        shortcut: Vec<usize>,
    },
}

#[derive(Clone, Debug)]
struct Layer {
    kind: Kind,
    label: String,
    inputs: Vec<usize>,
    /// Weights by kind (`weight`, `bias`, ...).
    weights: Vec<(&'static str, Tensor)>,
}

/// Why a model cannot be imported.
#[derive(Debug)]
pub struct ImportError(pub String);

impl std::fmt::Display for ImportError {
    fn fmt(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

/// The ONNX operators the importer turns into netc layers.
pub const SUPPORTED: &[&str] = &[
    "Conv",
    "ConvTranspose",
    "BatchNormalization",
    "Relu",
    "Clip",
    "LeakyRelu",
    "Sigmoid",
    "Tanh",
    "HardSigmoid",
    "HardSwish",
    "MaxPool",
    "AveragePool",
    "GlobalAveragePool",
    "GlobalMaxPool",
    "Flatten",
    "Reshape",
    "Gemm",
    "Resize",
    "Upsample",
    "Add",
    "Mul",
    "Concat",
    "Softmax",
    "Identity",
    "Dropout",
    "Constant",
    "Shape",
    "Gather",
    "Unsqueeze",
    "Squeeze",
    "Cast",
];

fn attr<'a>(n: &'a NodeProto, name: &str) -> Option<&'a AttributeProto> {
    n.attribute.iter().find(|a| a.name == name)
}

fn attr_ints(n: &NodeProto, name: &str) -> Option<Vec<i64>> {
    attr(n, name).map(|a| a.ints.clone())
}

fn attr_int(n: &NodeProto, name: &str, default: i64) -> i64 {
    attr(n, name).map_or(default, |a| a.i)
}

fn attr_float(n: &NodeProto, name: &str, default: f32) -> f32 {
    attr(n, name).map_or(default, |a| a.f)
}

/// A tensor's dims as sizes, or an error naming it.
fn dims(t: &TensorProto) -> Result<Vec<usize>, ImportError> {
    t.dims
        .iter()
        .map(|&d| {
            usize::try_from(d).map_err(|_| ImportError(format!("tensor `{}` has a negative dimension {d}", t.name)))
        })
        .collect()
}

/// A constant tensor's values. External data is not read.
fn constant(t: &TensorProto) -> Result<Const, ImportError> {
    let dims = dims(t)?;
    let count = dims.iter().try_fold(1usize, |a, &d| a.checked_mul(d));
    let bad = |why: &str| ImportError(format!("tensor `{}` {why}", t.name));
    let count = count.ok_or_else(|| bad("is too large"))?;
    if !t.external_data.is_empty() {
        return Err(bad("keeps its data in an external file; netc reads models with their weights inside"));
    }
    let raw = &t.raw_data;
    let (ints, floats): (Vec<i64>, Vec<f64>) = match t.data_type {
        data_type::FLOAT => {
            let v: Vec<f64> = if raw.is_empty() {
                t.float_data.iter().map(|&f| f as f64).collect()
            } else {
                raw.chunks_exact(4).map(|b| f32::from_le_bytes([b[0], b[1], b[2], b[3]]) as f64).collect()
            };
            (v.iter().map(|&f| f as i64).collect(), v)
        }
        data_type::DOUBLE => {
            let v: Vec<f64> = if raw.is_empty() {
                t.double_data.clone()
            } else {
                raw.chunks_exact(8).map(|b| f64::from_le_bytes(b.try_into().unwrap_or_default())).collect()
            };
            (v.iter().map(|&f| f as i64).collect(), v)
        }
        data_type::INT64 => {
            let v: Vec<i64> = if raw.is_empty() {
                t.int64_data.clone()
            } else {
                raw.chunks_exact(8).map(|b| i64::from_le_bytes(b.try_into().unwrap_or_default())).collect()
            };
            (v.clone(), v.iter().map(|&i| i as f64).collect())
        }
        data_type::INT32 => {
            let v: Vec<i64> = if raw.is_empty() {
                t.int32_data.iter().map(|&i| i as i64).collect()
            } else {
                raw.chunks_exact(4).map(|b| i32::from_le_bytes([b[0], b[1], b[2], b[3]]) as i64).collect()
            };
            (v.clone(), v.iter().map(|&i| i as f64).collect())
        }
        other => return Err(bad(&format!("has element type {other}; netc reads float, double, int32 and int64"))),
    };
    if ints.len() != count {
        return Err(bad(&format!("has {} values for dims {:?} ({count} values)", ints.len(), dims)));
    }
    Ok(Const { dims, ints, floats })
}

impl Const {
    fn ints(dims: Vec<usize>, ints: Vec<i64>) -> Const {
        let floats = ints.iter().map(|&i| i as f64).collect();
        Const { dims, ints, floats }
    }

    fn tensor(&self) -> Tensor {
        Tensor::from_vec(&self.dims, self.floats.iter().map(|&f| f as f32).collect())
    }
}

/// A label for the layer of ONNX node `name`: PyTorch's module path (`/layer1/layer1.0/conv1/Conv`
/// is `layer1.0.conv1`) with `_` for dots, or the node's name made an identifier.
fn label_of(name: &str, op_type: &str) -> String {
    let mut parts: Vec<&str> = name.trim_start_matches('/').split('/').filter(|p| !p.is_empty()).collect();
    if parts.len() > 1 && parts.last() == Some(&op_type) {
        parts.pop();
    }
    let mut path = String::new();
    // A segment with a dot names a child of the module before it (`layer1` then `layer1.0`,
    // `downsample` then `downsample.0`).
    for p in parts {
        match p.rsplit_once('.') {
            Some((parent, child)) if path == parent || path.ends_with(&format!(".{parent}")) => {
                path = format!("{path}.{child}");
            }
            _ if path.is_empty() => path = p.to_string(),
            _ => path = format!("{path}.{p}"),
        }
    }
    let mut label: String = path.chars().map(|c| if c.is_ascii_alphanumeric() || c == '_' { c } else { '_' }).collect();
    label = label.trim_matches('_').to_string();
    if label.is_empty() || label.starts_with(|c: char| c.is_ascii_digit()) {
        label = format!("{}_{label}", op_type.to_lowercase());
    }
    label
}

/// `3` for equal sizes, `[1, 7]` otherwise.
fn pair(v: &[i64]) -> String {
    if v.iter().all(|&x| x == v[0]) {
        v[0].to_string()
    } else {
        format!("[{}]", v.iter().map(i64::to_string).collect::<Vec<_>>().join(", "))
    }
}

/// The weights of a convolution whose call `text` is written up to its last argument: the
/// weight and the bias, or `bias = false` added to the call; closes the call.
fn close_with_bias(text: &mut String, w: &Const, b: Option<Const>) -> Vec<(&'static str, Tensor)> {
    let mut weights = vec![("weight", w.tensor())];
    match b {
        Some(b) => weights.push(("bias", b.tensor())),
        None => text.push_str(", bias = false"),
    }
    text.push(')');
    weights
}

/// A float as the language writes it.
fn float(f: f32) -> String {
    let s = format!("{f}");
    if s.contains('.') || s.contains('e') { s } else { format!("{s}.0") }
}

struct Importer<'a> {
    graph: &'a GraphProto,
    values: HashMap<String, Val>,
    layers: Vec<Layer>,
    labels: HashSet<String>,
    unsupported: BTreeMap<String, Vec<String>>,
}

impl Importer<'_> {
    fn unique(&mut self, label: String) -> String {
        let mut l = label.clone();
        let mut i = 1;
        while !self.labels.insert(l.clone()) {
            i += 1;
            l = format!("{label}_{i}");
        }
        l
    }

    fn add(
        &mut self,
        kind: Kind,
        node: &NodeProto,
        inputs: Vec<usize>,
        weights: Vec<(&'static str, Tensor)>,
        rank: usize,
    ) {
        let label = self.unique(label_of(&node.name, &node.op_type));
        self.layers.push(Layer { kind, label, inputs, weights });
        let id = self.layers.len() - 1;
        if let Some(out) = node.output.first() {
            self.values.insert(out.clone(), Val::Layer { id, rank });
        }
    }

    fn get(&self, name: &str) -> Result<&Val, ImportError> {
        self.values.get(name).ok_or_else(|| ImportError(format!("tensor `{name}` is read before any node writes it")))
    }

    /// Input `i` of `n` as a constant, if it is one.
    fn konst(&self, n: &NodeProto, i: usize) -> Result<Option<Const>, ImportError> {
        match n.input.get(i).filter(|s| !s.is_empty()) {
            None => Ok(None),
            Some(name) => Ok(match self.get(name)? {
                Val::Const(c) => Some(c.clone()),
                Val::Layer { .. } => None,
            }),
        }
    }

    /// Records `n` as not importable; its outputs stand for its first layer operand (or an
    /// unknown constant), so the rest of the graph is still read and every such node listed.
    fn unsupported(&mut self, n: &NodeProto, why: &str) {
        let stand_in = n
            .input
            .iter()
            .filter_map(|i| self.values.get(i))
            .find(|v| matches!(v, Val::Layer { .. }))
            .cloned()
            .unwrap_or(Val::Const(Const::ints(vec![1], vec![UNKNOWN])));
        for o in &n.output {
            self.values.insert(o.clone(), stand_in.clone());
        }
        let name = if n.name.is_empty() { n.output.first().cloned().unwrap_or_default() } else { n.name.clone() };
        let key = if why.is_empty() { n.op_type.clone() } else { format!("{} ({why})", n.op_type) };
        self.unsupported.entry(key).or_default().push(name);
    }

    fn node(&mut self, n: &NodeProto) -> Result<(), ImportError> {
        let layer_inputs: Vec<(usize, usize)> = n
            .input
            .iter()
            .filter(|s| !s.is_empty())
            .map(|s| self.get(s).cloned())
            .collect::<Result<Vec<_>, _>>()?
            .into_iter()
            .filter_map(|v| match v {
                Val::Layer { id, rank } => Some((id, rank)),
                Val::Const(_) => None,
            })
            .collect();
        let out = n.output.first().cloned().unwrap_or_default();
        let all_const = layer_inputs.is_empty();
        let op = n.op_type.as_str();
        // Constant folding.
        if all_const && op != "Constant" {
            let c = |i: usize| self.konst(n, i);
            let folded = match op {
                "Identity" | "Cast" | "Dropout" => c(0)?,
                "Gather" => match (c(0)?, c(1)?) {
                    (Some(d), Some(i)) if d.dims.len() == 1 && attr_int(n, "axis", 0) == 0 => {
                        let len = d.ints.len() as i64;
                        let pick: Option<Vec<i64>> = i
                            .ints
                            .iter()
                            .map(|&k| d.ints.get((if k < 0 { k + len } else { k }) as usize).copied())
                            .collect();
                        pick.map(|v| Const::ints(i.dims.clone(), v))
                    }
                    _ => None,
                },
                "Unsqueeze" | "Squeeze" => c(0)?.map(|d| {
                    let n = d.ints.len();
                    Const::ints(if n == 1 && op == "Squeeze" { vec![] } else { vec![n] }, d.ints)
                }),
                "Concat" => {
                    let parts: Option<Vec<Const>> = (0..n.input.len()).map(c).collect::<Result<_, _>>()?;
                    parts.map(|p| {
                        let v: Vec<i64> = p.into_iter().flat_map(|c| c.ints).collect();
                        Const::ints(vec![v.len()], v)
                    })
                }
                _ => None,
            };
            match folded {
                Some(k) if !k.ints.contains(&UNKNOWN) => {
                    self.values.insert(out, Val::Const(k));
                }
                _ => self.unsupported(n, "on constants"),
            }
            return Ok(());
        }
        let Some(&(x, rank)) = layer_inputs.first() else {
            let value = attr(n, "value")
                .and_then(|a| a.t.as_ref())
                .ok_or_else(|| ImportError(format!("Constant node `{}` has no tensor value", n.name)))?;
            self.values.insert(out, Val::Const(constant(value)?));
            return Ok(());
        };
        let pass = |s: &mut Self| {
            s.values.insert(out.clone(), Val::Layer { id: x, rank });
        };
        let call = |s: &mut Self, text: String, weights: Vec<(&'static str, Tensor)>, rank: usize| {
            s.add(Kind::Call(text), n, vec![x], weights, rank)
        };
        match op {
            "Identity" | "Dropout" => pass(self),
            "Shape" => {
                let v: Vec<i64> = std::iter::once(BATCH).chain(std::iter::repeat_n(UNKNOWN, rank)).collect();
                self.values.insert(out, Val::Const(Const::ints(vec![rank + 1], v)));
            }
            "Relu" => call(self, "relu".into(), vec![], rank),
            "Sigmoid" => call(self, "sigmoid".into(), vec![], rank),
            "Tanh" => call(self, "tanh".into(), vec![], rank),
            "HardSwish" => call(self, "hardswish".into(), vec![], rank),
            "Softmax" if rank == 1 => call(self, "softmax".into(), vec![], rank),
            "HardSigmoid"
                if (attr_float(n, "alpha", 0.2) - 1.0 / 6.0).abs() < 1e-6 && attr_float(n, "beta", 0.5) == 0.5 =>
            {
                call(self, "hardsigmoid".into(), vec![], rank)
            }
            "LeakyRelu" => call(self, format!("leaky_relu({})", float(attr_float(n, "alpha", 0.01))), vec![], rank),
            "Clip" => {
                let bound = |s: &Self, i: usize, a: &str, d: f32| -> Result<f32, ImportError> {
                    Ok(match s.konst(n, i)? {
                        Some(c) => c.floats.first().map_or(d, |&f| f as f32),
                        None => attr(n, a).map_or(d, |a| a.f),
                    })
                };
                let (lo, hi) = (bound(self, 1, "min", f32::MIN)?, bound(self, 2, "max", f32::MAX)?);
                let text = match (lo, hi) {
                    (0.0, 6.0) => "relu6".to_string(),
                    (0.0, f32::MAX) => "relu".to_string(),
                    _ => format!("clip({}, {})", float(lo), float(hi)),
                };
                call(self, text, vec![], rank)
            }
            "Flatten" if attr_int(n, "axis", 1) == 1 => call(self, "flatten".into(), vec![], 1),
            "Reshape" => match self.konst(n, 1)? {
                Some(s)
                    if s.ints.len() == 2 && rank > 1 && (s.ints[0] == BATCH || s.ints[0] == 1 || s.ints[0] == 0) =>
                {
                    call(self, "flatten".into(), vec![], 1)
                }
                _ => self.unsupported(n, "other than a flatten"),
            },
            "Conv" => {
                let (Some(w), b) = (self.konst(n, 1)?, self.konst(n, 2)?) else {
                    {
                        self.unsupported(n, "weights computed");
                        return Ok(());
                    };
                };
                if w.dims.len() != 4 || attr(n, "auto_pad").is_some_and(|a| a.s != b"NOTSET") {
                    {
                        self.unsupported(n, "not 2-D with explicit padding");
                        return Ok(());
                    };
                }
                let kernel = attr_ints(n, "kernel_shape").unwrap_or_else(|| vec![w.dims[2] as i64, w.dims[3] as i64]);
                let stride = attr_ints(n, "strides").unwrap_or(vec![1, 1]);
                let dil = attr_ints(n, "dilations").unwrap_or(vec![1, 1]);
                let pads = attr_ints(n, "pads").unwrap_or(vec![0; 4]);
                let groups = attr_int(n, "group", 1);
                if kernel.len() != 2 || stride.len() != 2 || dil.len() != 2 || pads.len() != 4 {
                    {
                        self.unsupported(n, "not 2-D");
                        return Ok(());
                    };
                }
                let mut text = format!("conv({}, {}", w.dims[0], pair(&kernel));
                if stride != [1, 1] {
                    let _ = write!(text, ", stride = {}", pair(&stride));
                }
                // netc's default padding is `same`: half the dilated kernel on every side.
                let same: Vec<i64> =
                    (0..4).map(|i| dil[i % 2].saturating_mul(kernel[i % 2].saturating_sub(1)) / 2).collect();
                if pads != same || kernel.iter().any(|k| k % 2 == 0) {
                    let _ =
                        write!(text, ", pad = {}", if pads[..2] == pads[2..] { pair(&pads[..2]) } else { pair(&pads) });
                }
                if groups != 1 {
                    let _ = write!(text, ", groups = {groups}");
                }
                if dil != [1, 1] {
                    let _ = write!(text, ", dilation = {}", pair(&dil));
                }
                let weights = close_with_bias(&mut text, &w, b);
                call(self, text, weights, 3)
            }
            "ConvTranspose" => {
                let (Some(w), b) = (self.konst(n, 1)?, self.konst(n, 2)?) else {
                    self.unsupported(n, "weights computed");
                    return Ok(());
                };
                let groups = attr_int(n, "group", 1);
                let kernel = attr_ints(n, "kernel_shape")
                    .unwrap_or_else(|| w.dims.get(2..4).map_or(vec![], |k| k.iter().map(|&d| d as i64).collect()));
                let stride = attr_ints(n, "strides").unwrap_or(vec![1, 1]);
                let dil = attr_ints(n, "dilations").unwrap_or(vec![1, 1]);
                let pads = attr_ints(n, "pads").unwrap_or(vec![0; 4]);
                let output_pad = attr_ints(n, "output_padding").unwrap_or(vec![0, 0]);
                let explicit =
                    attr(n, "auto_pad").is_none_or(|a| a.s == b"NOTSET") && attr(n, "output_shape").is_none();
                let two_d = [&kernel, &stride, &dil, &output_pad].iter().all(|v| v.len() == 2) && pads.len() == 4;
                if w.dims.len() != 4 || !explicit || !two_d || pads[..2] != pads[2..] || groups < 1 {
                    self.unsupported(n, "not 2-D with explicit, symmetric padding");
                    return Ok(());
                }
                // ONNX's weight is [in, out / groups, kh, kw], as PyTorch's and netc's.
                let out = w.dims[1] as i64 * groups;
                let mut text = format!("conv_transpose({out}, {}", pair(&kernel));
                for (name, v, default) in [
                    ("stride", &stride, 1),
                    ("pad", &pads[..2].to_vec(), 0),
                    ("output_pad", &output_pad, 0),
                    ("dilation", &dil, 1),
                ] {
                    if v.iter().any(|&x| x != default) {
                        let _ = write!(text, ", {name} = {}", pair(v));
                    }
                }
                if groups != 1 {
                    let _ = write!(text, ", groups = {groups}");
                }
                let weights = close_with_bias(&mut text, &w, b);
                call(self, text, weights, 3)
            }
            "Resize" | "Upsample" => {
                // The scales are the second input of Upsample, the third of Resize.
                let scales = self.konst(n, if op == "Resize" { 2 } else { 1 })?;
                let whole = |f: f64| f >= 1.0 && f.fract() == 0.0 && f <= 1024.0;
                let mode = attr(n, "mode").map_or(&b"nearest"[..], |a| &a.s[..]);
                let transform = attr(n, "coordinate_transformation_mode").map_or(&b"half_pixel"[..], |a| &a.s[..]);
                let nearest_floor = attr(n, "nearest_mode").is_none_or(|a| a.s == b"floor");
                // netc's nearest reads pixel floor(o / s) (asymmetric), its bilinear PyTorch's
                // half-pixel centres (align_corners = false).
                let netc_mode = match mode {
                    b"nearest" if (transform == b"asymmetric" || op == "Upsample") && nearest_floor => Some("nearest"),
                    b"linear" | b"bilinear" if matches!(transform, b"pytorch_half_pixel" | b"half_pixel") => {
                        Some("bilinear")
                    }
                    _ => None,
                };
                match (scales, netc_mode) {
                    (Some(c), Some(m))
                        if rank == 3
                            && c.floats.len() == 4
                            && c.floats[..2] == [1.0, 1.0]
                            && whole(c.floats[2])
                            && whole(c.floats[3]) =>
                    {
                        let s = [c.floats[2] as i64, c.floats[3] as i64];
                        let mode = if m == "nearest" { String::new() } else { ", mode = bilinear".to_string() };
                        call(self, format!("upsample({}{mode})", pair(&s)), vec![], 3)
                    }
                    _ => self.unsupported(
                        n,
                        "other than nearest (asymmetric, floor) or bilinear (half-pixel) by whole scales",
                    ),
                }
            }
            "Mul" if layer_inputs.len() == 1 && rank == 3 => {
                // A layer times a per-channel constant ([C, 1, 1] or [1, C, 1, 1]): `scale`.
                let c = (0..2).find_map(|i| self.konst(n, i).ok().flatten());
                let channels = |c: &Const| {
                    let d: Vec<usize> = c.dims.iter().copied().skip_while(|&d| d == 1).collect();
                    (d.len() == 3 && d[1..] == [1, 1]).then(|| d[0])
                };
                match c.as_ref().and_then(|c| channels(c).map(|k| (c, k))) {
                    Some((c, k)) if c.floats.len() == k => {
                        let weight = Tensor::from_vec(&[k], c.floats.iter().map(|&f| f as f32).collect());
                        call(self, "scale".into(), vec![("weight", weight)], 3)
                    }
                    _ => self.unsupported(n, "by a constant other than one per channel"),
                }
            }
            "BatchNormalization" => {
                let ks: Option<Vec<Const>> = (1..5).map(|i| self.konst(n, i)).collect::<Result<_, _>>()?;
                let Some(ks) = ks else {
                    {
                        self.unsupported(n, "statistics computed");
                        return Ok(());
                    }
                };
                let kinds = ["weight", "bias", "running_mean", "running_var"];
                let weights = kinds.into_iter().zip(&ks).map(|(k, c)| (k, c.tensor())).collect();
                call(self, format!("batchnorm(eps = {})", float(attr_float(n, "epsilon", 1e-5))), weights, rank)
            }
            "MaxPool" | "AveragePool" => {
                let kernel = attr_ints(n, "kernel_shape").unwrap_or_default();
                let stride = attr_ints(n, "strides").unwrap_or(vec![1, 1]);
                let pads = attr_ints(n, "pads").unwrap_or(vec![0; 4]);
                let dil = attr_ints(n, "dilations").unwrap_or(vec![1, 1]);
                if kernel.len() != 2 || stride.len() != 2 || pads.len() != 4 || pads[..2] != pads[2..] || dil != [1, 1]
                {
                    {
                        self.unsupported(n, "not 2-D with symmetric padding");
                        return Ok(());
                    };
                }
                let name = if op == "MaxPool" { "maxpool" } else { "avgpool" };
                let mut text = format!("{name}({}", pair(&kernel));
                if stride != kernel {
                    let _ = write!(text, ", stride = {}", pair(&stride));
                }
                if pads[..2] != [0, 0] {
                    let _ = write!(text, ", pad = {}", pair(&pads[..2]));
                }
                if attr_int(n, "ceil_mode", 0) == 1 {
                    text.push_str(", ceil_mode = true");
                }
                if op == "AveragePool" && attr_int(n, "count_include_pad", 0) == 0 {
                    text.push_str(", count_include_pad = false");
                }
                text.push(')');
                call(self, text, vec![], 3)
            }
            "GlobalAveragePool" => call(self, "global_avgpool".into(), vec![], 3),
            "GlobalMaxPool" => call(self, "global_maxpool".into(), vec![], 3),
            "Gemm" => {
                let (Some(w), b) = (self.konst(n, 1)?, self.konst(n, 2)?) else {
                    {
                        self.unsupported(n, "weights computed");
                        return Ok(());
                    };
                };
                if attr_int(n, "transA", 0) != 0
                    || attr_float(n, "alpha", 1.0) != 1.0
                    || attr_float(n, "beta", 1.0) != 1.0
                    || w.dims.len() != 2
                {
                    {
                        self.unsupported(n, "scaled or transposed input");
                        return Ok(());
                    };
                }
                let mut weight = w.tensor();
                if attr_int(n, "transB", 0) == 0 {
                    let (i, o) = (w.dims[0], w.dims[1]);
                    let data = (0..o * i).map(|k| weight.data[(k % i) * o + k / i]).collect();
                    weight = Tensor::from_vec(&[o, i], data);
                }
                let out = weight.shape[0];
                let mut weights = vec![("weight", weight)];
                let text = match b {
                    Some(b) if b.dims == [out] => {
                        weights.push(("bias", b.tensor()));
                        format!("dense({out})")
                    }
                    Some(_) => {
                        self.unsupported(n, "broadcast bias");
                        return Ok(());
                    }
                    None => format!("dense({out}, bias = false)"),
                };
                call(self, text, weights, 1)
            }
            "Add" | "Mul" | "Concat"
                if layer_inputs.len() == n.input.len() && (op != "Concat" || attr_int(n, "axis", 1) == 1) =>
            {
                let name = match op {
                    "Add" => "add",
                    "Mul" => "mul",
                    _ => "concat",
                };
                let ids = layer_inputs.iter().map(|&(id, _)| id).collect();
                self.add(Kind::Multi(name), n, ids, vec![], rank);
            }
            _ => self.unsupported(n, ""),
        }
        Ok(())
    }
}

/// The layers and how often each layer's value is read (an output counts as a read).
struct Net {
    layers: Vec<Layer>,
    uses: Vec<usize>,
    outputs: Vec<usize>,
    input: String,
}

impl Net {
    /// Walks back from layer `id` along layers of one operand whose value is read once:
    /// the chain (in order) and the layer it starts from.
    fn chain_to(&self, id: usize) -> (usize, Vec<usize>) {
        let mut chain = Vec::new();
        let mut cur = id;
        while matches!(self.layers[cur].kind, Kind::Call(_) | Kind::Residual { .. })
            && (cur == id || self.uses[cur] == 1)
        {
            chain.push(cur);
            cur = self.layers[cur].inputs[0];
        }
        chain.reverse();
        (cur, chain)
    }

    /// Turns `add(a, b)` of two chains from one tensor read by nothing else into a residual.
    fn find_residuals(&mut self) {
        for id in 0..self.layers.len() {
            let Kind::Multi("add") = self.layers[id].kind else { continue };
            let [a, b] = self.layers[id].inputs[..] else { continue };
            let ((sa, ca), (sb, cb)) = (self.chain_to(a), self.chain_to(b));
            // A chain that is its start tensor itself is empty.
            let (sa, ca) = if self.uses[a] != 1 { (a, vec![]) } else { (sa, ca) };
            let (sb, cb) = if self.uses[b] != 1 { (b, vec![]) } else { (sb, cb) };
            if sa != sb || self.uses[sa] != 2 || (ca.is_empty() && cb.is_empty()) {
                continue;
            }
            let (body, shortcut) = if ca.len() >= cb.len() { (ca, cb) } else { (cb, ca) };
            self.layers[id].kind = Kind::Residual { body, shortcut };
            self.layers[id].inputs = vec![sa];
            self.uses[sa] = 1;
        }
    }

    fn call_text(&self, id: usize) -> String {
        let l = &self.layers[id];
        match &l.kind {
            Kind::Call(text) => format!("{text} as {}", l.label),
            Kind::Residual { body, shortcut } => {
                let chain = |c: &[usize]| c.iter().map(|&i| self.call_text(i)).collect::<Vec<_>>().join(" -> ");
                if shortcut.is_empty() {
                    format!("residual {{ {} }}", chain(body))
                } else {
                    format!("residual {{ {} }} shortcut {{ {} }}", chain(body), chain(shortcut))
                }
            }
            Kind::Input | Kind::Multi(_) => unreachable!("chains hold calls and residuals"),
        }
    }

    /// The name of layer `id`'s value, defining a let for it first when needed.
    fn name_of(&self, id: usize, lets: &mut Vec<String>, named: &mut HashMap<usize, String>) -> String {
        if let Kind::Input = self.layers[id].kind {
            return self.input.clone();
        }
        if let Some(n) = named.get(&id) {
            return n.clone();
        }
        let expr = self.expr_of(id, lets, named);
        let name = self.layers[id].label.clone();
        lets.push(format!("let {name} = {expr}"));
        named.insert(id, name.clone());
        name
    }

    /// The chain that computes layer `id`'s value.
    fn expr_of(&self, id: usize, lets: &mut Vec<String>, named: &mut HashMap<usize, String>) -> String {
        let (start, chain) = self.chain_to(id);
        let head = match &self.layers[start].kind {
            Kind::Multi(op) if self.uses[start] == 1 || start == id => {
                let args: Vec<String> =
                    self.layers[start].inputs.iter().map(|&i| self.name_of(i, lets, named)).collect();
                format!("{op}({}) as {}", args.join(", "), self.layers[start].label)
            }
            _ => self.name_of(start, lets, named),
        };
        std::iter::once(head).chain(chain.iter().map(|&i| self.call_text(i))).collect::<Vec<_>>().join(" -> ")
    }
}

/// Imports `model` (named `name` in messages) as a `.net` file and its weights.
pub fn import(model: &ModelProto, name: &str) -> Result<Imported, ImportError> {
    let graph = model.graph.as_ref().ok_or_else(|| ImportError(format!("`{name}` holds no graph")))?;
    let mut im = Importer {
        graph,
        values: HashMap::new(),
        layers: Vec::new(),
        labels: HashSet::new(),
        unsupported: BTreeMap::new(),
    };
    for t in &graph.initializer {
        im.values.insert(t.name.clone(), Val::Const(constant(t)?));
    }
    // The one input that is not an initializer.
    let inputs: Vec<_> = graph.input.iter().filter(|i| !im.values.contains_key(&i.name)).collect();
    let [input] = inputs[..] else {
        return Err(ImportError(format!("`{name}` has {} inputs; netc imports networks of one input", inputs.len())));
    };
    let shape = input.sample_dims();
    if shape.is_empty() || shape.iter().any(|&d| d <= 0) {
        return Err(ImportError(format!(
            "input `{}` of `{name}` has no fixed per-sample shape ({shape:?}); export it with fixed sizes after the batch",
            input.name
        )));
    }
    let input_name = label_of(&input.name, "input");
    im.labels.insert(input_name.clone());
    im.layers.push(Layer { kind: Kind::Input, label: input_name.clone(), inputs: vec![], weights: vec![] });
    im.values.insert(input.name.clone(), Val::Layer { id: 0, rank: shape.len() });
    for n in &im.graph.node {
        im.node(n)?;
    }
    if !im.unsupported.is_empty() {
        let total: usize = im.unsupported.values().map(Vec::len).sum();
        let mut msg = format!("`{name}` has {total} node(s) netc cannot import:");
        for (op, nodes) in &im.unsupported {
            let shown: Vec<&str> = nodes.iter().take(5).map(String::as_str).collect();
            let more = if nodes.len() > 5 { format!(", and {} more", nodes.len() - 5) } else { String::new() };
            let _ = write!(msg, "\n  {op} x{}: {}{more}", nodes.len(), shown.join(", "));
        }
        let _ = write!(msg, "\nnetc imports the convolutional subset: {}; nothing was written", SUPPORTED.join(", "));
        return Err(ImportError(msg));
    }
    let mut outputs = Vec::new();
    for o in &graph.output {
        match im.values.get(&o.name) {
            Some(Val::Layer { id, .. }) => outputs.push(*id),
            _ => return Err(ImportError(format!("output `{}` of `{name}` is a constant or never written", o.name))),
        }
    }
    let mut uses = vec![0; im.layers.len()];
    for l in &im.layers {
        for &i in &l.inputs {
            uses[i] += 1;
        }
    }
    for &o in &outputs {
        uses[o] += 1;
    }
    let dims: Vec<String> = shape.iter().map(i64::to_string).collect();
    let mut net = Net { layers: im.layers, uses, outputs, input: input_name.clone() };
    net.find_residuals();
    let (mut lets, mut named) = (Vec::new(), HashMap::new());
    let outs: Vec<String> = net.outputs.iter().map(|&o| net.expr_of(o, &mut lets, &mut named)).collect();
    let mut text =
        format!("# Imported from {name} by `netc import onnx`.\n\ninput {input_name}: {}\n\n", dims.join("x"));
    for l in &lets {
        let _ = writeln!(text, "{l}\n");
    }
    let _ = writeln!(text, "output {}", outs.join(", "));
    let source = crate::fmt::format_source(&text)
        .map_err(|d| ImportError(format!("netc wrote an invalid network for `{name}` (a bug): {}", d.message)))?;
    // Compile what was written and name the weights by the layers' paths in it.
    let c = compile_source("imported.net", source.clone(), Path::new("."), &LowerOptions::default());
    if c.has_errors() {
        let first = c.diagnostics.first().map_or(String::new(), |d| d.message.clone());
        return Err(ImportError(format!("netc wrote a network for `{name}` that does not check (a bug): {first}")));
    }
    let mut paths = HashMap::new();
    for n in c.graph.topo_order() {
        paths.insert(c.graph.g[n].name.clone(), c.graph.path(n));
    }
    let mut tensors = BTreeMap::new();
    for l in &net.layers {
        for (kind, t) in &l.weights {
            let path = paths.get(&l.label).cloned().unwrap_or_else(|| l.label.clone());
            tensors.insert(format!("{path}.{kind}"), t.clone());
        }
    }
    let weights = Weights { tensors };
    weights.validate(&c.graph, name).map_err(|d| {
        ImportError(format!(
            "the weights of `{name}` do not fit the imported network: {}; {}",
            d.message,
            d.notes.join("; ")
        ))
    })?;
    Ok(Imported { source, weights })
}
