//! Fully connected layer.

use crate::kernels::Act;

/// `out[b][o] = act(bias[o] + sum_i w[o][i] * x[b][i])` for `batch` samples of `in_f` features;
/// `w` is `[out_f, in_f]`, `out` is `[batch, out_f]`.
#[allow(clippy::too_many_arguments)]
pub fn dense(
    in_f: usize,
    out_f: usize,
    batch: usize,
    x: &[f32],
    w: &[f32],
    bias: Option<&[f32]>,
    act: Option<Act>,
    out: &mut [f32],
) {
    assert_eq!(x.len(), batch * in_f, "dense input length");
    assert_eq!(w.len(), out_f * in_f, "dense weight length");
    assert_eq!(out.len(), batch * out_f, "dense output length");
    if let Some(b) = bias {
        assert_eq!(b.len(), out_f, "dense bias length");
    }
    for n in 0..batch {
        let xs = &x[n * in_f..][..in_f];
        for o in 0..out_f {
            let row = &w[o * in_f..][..in_f];
            // Summed in f64, like the reference convolution.
            let dot: f64 = row.iter().zip(xs).map(|(&w, &x)| w as f64 * x as f64).sum();
            let v = (dot + bias.map_or(0.0, |b| b[o] as f64)) as f32;
            out[n * out_f + o] = act.map_or(v, |a| a.apply(v));
        }
    }
}
