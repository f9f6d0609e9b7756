//! One shape rule per operation (PyTorch semantics: floor mode, symmetric padding).

use super::{MAX_ELEMENTS, fmt_shape};
use crate::diag::{Code, Diagnostic};
use crate::ir::{Node, Op, SkipKind};

/// Output size of a sliding window; `None` when the padded input is smaller than the window.
pub fn window_out(size: usize, kernel: usize, stride: usize, pad: usize) -> Option<usize> {
    let padded = size + 2 * pad;
    (padded >= kernel && stride > 0).then(|| (padded - kernel) / stride + 1)
}

/// Infers `node`'s output shape from its operands' shapes, reporting what is wrong.
pub fn infer(node: &Node, inputs: &[Vec<usize>], diags: &mut Vec<Diagnostic>) -> Vec<usize> {
    let shape = match &node.op {
        Op::Input { dims, .. } => dims.clone(),
        Op::Conv { out_c, kernel, stride, pad, .. } => {
            let Some([_, h, w]) = map(node, &inputs[0], diags) else {
                return vec![];
            };
            match (window_out(h, *kernel, *stride, *pad), window_out(w, *kernel, *stride, *pad)) {
                (Some(oh), Some(ow)) => vec![*out_c, oh, ow],
                _ => {
                    too_small(node, &inputs[0], *kernel, *pad, diags);
                    return vec![];
                }
            }
        }
        Op::MaxPool { kernel, stride, pad } | Op::AvgPool { kernel, stride, pad } => {
            let Some([c, h, w]) = map(node, &inputs[0], diags) else {
                return vec![];
            };
            if 2 * pad > *kernel {
                diags.push(
                    Diagnostic::error(
                        Code::BadValue,
                        format!("pooling padding {pad} is more than half the window {kernel}"),
                        node.span,
                        "padding too large",
                    )
                    .with_help(format!("use `pad = {}` or less", kernel / 2)),
                );
                return vec![];
            }
            match (window_out(h, *kernel, *stride, *pad), window_out(w, *kernel, *stride, *pad)) {
                (Some(oh), Some(ow)) => {
                    // Floor mode drops the last `(size + 2 pad - kernel) % stride` padded positions;
                    // warn only when some of them are real pixels rather than padding.
                    let dropped = |s: usize| ((s + 2 * pad - kernel) % stride).saturating_sub(*pad);
                    if dropped(h) != 0 || dropped(w) != 0 {
                        diags.push(
                            Diagnostic::warning(
                                Code::PoolDropsPixels,
                                format!("pooling {} drops the last {} row(s)/column(s)", fmt_shape(&inputs[0]), dropped(h).max(dropped(w))),
                                node.span,
                                format!("input is {h}x{w}, output {oh}x{ow}"),
                            )
                            .with_note(format!(
                                "{h}x{w} with window {kernel} and stride {stride} does not divide evenly; the remainder is ignored (floor mode, as in PyTorch)"
                            ))
                            .with_help("if this is intended, ignore it; otherwise adjust the input size or pad the previous layer"),
                        );
                    }
                    vec![c, oh, ow]
                }
                _ => {
                    too_small(node, &inputs[0], *kernel, *pad, diags);
                    return vec![];
                }
            }
        }
        Op::GlobalAvgPool | Op::GlobalMaxPool => {
            let Some([c, _, _]) = map(node, &inputs[0], diags) else {
                return vec![];
            };
            vec![c, 1, 1]
        }
        Op::Relu | Op::Identity | Op::Softmax | Op::BatchNorm { .. } => inputs[0].clone(),
        Op::Flatten => vec![inputs[0].iter().product()],
        Op::Dense { out, in_features, .. } => {
            let n: usize = inputs[0].iter().product();
            if let Some(declared) = in_features
                && *declared != n
            {
                let received = if inputs[0].len() > 1 {
                    format!("a {} map = {n} features", fmt_shape(&inputs[0]))
                } else {
                    format!("{n} features")
                };
                diags.push(
                    Diagnostic::error(
                        Code::DenseMismatch,
                        format!("dense layer declared for {declared} inputs receives {n}"),
                        node.span,
                        format!("receives {received}"),
                    )
                    .with_help(format!("write `in_features = {n}`, or drop `in_features` and let netc infer it")),
                );
            }
            vec![*out]
        }
        Op::Add { .. } => {
            if inputs.iter().all(|s| s == &inputs[0]) {
                inputs[0].clone()
            } else {
                diags.push(add_mismatch(node, inputs));
                // Recover with the main path so later layers are still checked: the body of a
                // residual (operand 1; operand 0 is its shortcut), else the first operand.
                match node.skip {
                    Some(SkipKind::Residual { .. }) => inputs[1].clone(),
                    _ => inputs[0].clone(),
                }
            }
        }
        Op::Concat => concat(node, inputs, diags),
    };
    let elements: u64 = shape.iter().map(|&d| d as u64).try_fold(1u64, |a, d| a.checked_mul(d)).unwrap_or(u64::MAX);
    if elements > MAX_ELEMENTS {
        diags.push(
            Diagnostic::error(
                Code::TooLarge,
                format!("tensor of shape {} has {elements} elements per sample", fmt_shape(&shape)),
                node.span,
                "too large",
            )
            .with_help(format!(
                "netc accepts at most {MAX_ELEMENTS} elements per tensor; reduce channels or input size"
            )),
        );
        return vec![];
    }
    shape
}

/// The operand as a `[C, H, W]` map, or a rank diagnostic.
fn map(node: &Node, shape: &[usize], diags: &mut Vec<Diagnostic>) -> Option<[usize; 3]> {
    match shape {
        [c, h, w] => Some([*c, *h, *w]),
        _ => {
            diags.push(
                Diagnostic::error(
                    Code::RankMismatch,
                    format!(
                        "`{}` needs a CxHxW feature map, but its input is a vector of {}",
                        node.op.name(),
                        fmt_shape(shape)
                    ),
                    node.span,
                    "input is not a feature map",
                )
                .with_help(
                    "spatial layers must come before `flatten` or `dense`; move this layer earlier in the chain",
                ),
            );
            None
        }
    }
}

fn too_small(node: &Node, input: &[usize], kernel: usize, pad: usize, diags: &mut Vec<Diagnostic>) {
    let (h, w) = (input[1], input[2]);
    diags.push(
        Diagnostic::error(
            Code::MapTooSmall,
            format!("`{}` with a {kernel}x{kernel} window does not fit the {h}x{w} map", node.op.name()),
            node.span,
            format!("input is {}, padded to {}x{}", fmt_shape(input), h + 2 * pad, w + 2 * pad),
        )
        .with_note("earlier strides and pools have shrunk the map below the window")
        .with_help(
            "remove a downsampling layer before this one, use a larger input (`--input-shape`), or a smaller window",
        ),
    );
}

/// The stride `s` for which a 1x1 conv with stride `s` maps `from` (HxW) to `to` (HxW).
fn projection_stride(from: &[usize], to: &[usize]) -> Option<usize> {
    if from.len() != 3 || to.len() != 3 {
        return None;
    }
    (1..=from[1].max(1)).find(|&s| from[1].div_ceil(s) == to[1] && from[2].div_ceil(s) == to[2])
}

fn projection(c: usize, stride: usize) -> String {
    if stride == 1 { format!("conv({c}, 1)") } else { format!("conv({c}, 1, stride = {stride})") }
}

fn add_mismatch(node: &Node, inputs: &[Vec<usize>]) -> Diagnostic {
    let shapes: Vec<String> = inputs.iter().map(|s| fmt_shape(s)).collect();
    let mut d = Diagnostic::error(
        Code::AddMismatch,
        format!("skip connection adds tensors of different shapes: {}", shapes.join(" vs ")),
        node.span,
        format!("cannot add {}", shapes.join(" and ")),
    );
    let residual = matches!(node.skip, Some(SkipKind::Residual { .. }));
    for (i, (shape, operand)) in inputs.iter().zip(&node.operands).enumerate() {
        let what = match (residual, i, &operand.name) {
            (true, 0, _) => "the shortcut".to_string(),
            (true, _, _) => "the residual body".to_string(),
            (false, _, Some(name)) => format!("`{name}`"),
            (false, _, None) => "this branch".to_string(),
        };
        d = d.with_label(operand.span, format!("{what} is {}", fmt_shape(shape)));
    }
    match node.skip {
        Some(SkipKind::Residual { has_shortcut }) => {
            let (x, body) = (&inputs[0], &inputs[1]);
            match projection_stride(x, body) {
                Some(s) if has_shortcut => d.with_help(format!(
                    "make the shortcut produce {}: `shortcut {{ {} }}`",
                    fmt_shape(body),
                    projection(body[0], s)
                )),
                Some(s) => d.with_help(format!(
                    "project the shortcut to {}: `residual {{ ... }} shortcut {{ {} }}`",
                    fmt_shape(body),
                    projection(body[0], s)
                )),
                None => d.with_help(format!(
                    "the body must keep or shrink the {} input; check its strides and channels",
                    fmt_shape(x)
                )),
            }
        }
        _ => {
            // Project every operand onto the one with the smallest map (ties: the first, the main path).
            let target =
                (0..inputs.len()).min_by_key(|&i| (inputs[i].iter().skip(1).product::<usize>(), i)).unwrap_or(0);
            let t = &inputs[target];
            let fixes: Vec<String> = inputs
                .iter()
                .zip(&node.operands)
                .filter(|(s, _)| *s != t)
                .filter_map(|(s, operand)| {
                    let conv = projection(t[0], projection_stride(s, t)?);
                    Some(match &operand.name {
                        Some(n) => format!("`let {n}_proj = {n} -> {conv}` and add `{n}_proj`"),
                        None => format!("end the chain with `-> {conv}` before the add"),
                    })
                })
                .collect();
            if fixes.is_empty() {
                d.with_help(format!("every operand of `add` must have the same shape; make them all {}", fmt_shape(t)))
            } else {
                d.with_help(format!("project to {} with a 1x1 convolution: {}", fmt_shape(t), fixes.join("; ")))
            }
        }
    }
}

fn concat(node: &Node, inputs: &[Vec<usize>], diags: &mut Vec<Diagnostic>) -> Vec<usize> {
    let first = &inputs[0];
    let same_rest = inputs.iter().all(|s| s.len() == first.len() && s[1..] == first[1..]);
    if !same_rest || first.is_empty() {
        let shapes: Vec<String> = inputs.iter().map(|s| fmt_shape(s)).collect();
        let mut d = Diagnostic::error(
            Code::ConcatMismatch,
            format!("concat needs maps of one size, found {}", shapes.join(" and ")),
            node.span,
            "sizes differ",
        );
        for (s, operand) in inputs.iter().zip(&node.operands) {
            d = d.with_label(operand.span, format!("this is {}", fmt_shape(s)));
        }
        diags.push(d.with_help("concat joins channels; every other dimension must match. Pool or stride the larger map first, e.g. `-> maxpool(2)`"));
        return vec![];
    }
    let mut out = first.clone();
    out[0] = inputs.iter().map(|s| s[0]).sum();
    out
}

#[cfg(test)]
mod tests {
    use super::window_out;

    #[test]
    fn window_rules_match_pytorch_floor_mode() {
        // (size, kernel, stride, pad) -> PyTorch's output size (see tests/fixtures/shape_rules.json for the full table).
        assert_eq!(window_out(224, 3, 1, 1), Some(224));
        assert_eq!(window_out(224, 3, 2, 1), Some(112));
        assert_eq!(window_out(7, 2, 2, 0), Some(3));
        assert_eq!(window_out(5, 7, 1, 0), None);
        assert_eq!(window_out(1, 3, 1, 1), Some(1));
    }
}
