//! Windowed, adaptive and global pooling.

use crate::kernels::Pool2d;

/// Max pooling of `[batch, c, in_h, in_w]` into `[batch, c, out_h, out_w]`; padding is `-inf`
/// and NaN propagates, as in PyTorch.
pub fn maxpool2d(p: &Pool2d, batch: usize, x: &[f32], out: &mut [f32]) {
    windows(p, batch, x, out, |plane, (y0, y1), (x0, x1), _| {
        let mut m = f32::NEG_INFINITY;
        for row in plane.chunks_exact(p.in_w).take(y1).skip(y0) {
            for &v in &row[x0..x1] {
                m = max_nan(m, v);
            }
        }
        m
    });
}

/// Average pooling (PyTorch's rule for the divisor): with `count_pad`, the window clipped to the
/// padded input; without, its real pixels only.
pub fn avgpool2d(p: &Pool2d, batch: usize, x: &[f32], out: &mut [f32]) {
    windows(p, batch, x, out, |plane, (y0, y1), (x0, x1), padded_size| {
        let mut sum = 0.0f32;
        for row in plane.chunks_exact(p.in_w).take(y1).skip(y0) {
            sum += row[x0..x1].iter().sum::<f32>();
        }
        let divisor = if p.count_pad { padded_size } else { (y1 - y0) * (x1 - x0) };
        sum * (1.0 / divisor.max(1) as f32)
    });
}

/// `max` that returns NaN if either operand is NaN.
fn max_nan(a: f32, b: f32) -> f32 {
    if a.is_nan() || b.is_nan() { f32::NAN } else { a.max(b) }
}

/// For every window of `p`: `f(plane, rows, columns, padded_size)` with the window's real rows
/// and columns (clipped to the input) and its size within the padded input.
fn windows(
    p: &Pool2d,
    batch: usize,
    x: &[f32],
    out: &mut [f32],
    f: impl Fn(&[f32], (usize, usize), (usize, usize), usize) -> f32,
) {
    let (oh, ow) = (p.out_h(), p.out_w());
    assert_eq!(x.len(), batch * p.c * p.in_h * p.in_w, "pool input length");
    assert_eq!(out.len(), batch * p.c * oh * ow, "pool output length");
    // Along one axis: the window's real range and its extent within the padded input.
    let span = |o: usize, k: usize, stride: usize, pad: usize, len: usize| {
        let start = o * stride;
        let end = (start + k).min(len + 2 * pad);
        let real = (start.saturating_sub(pad).min(len), end.saturating_sub(pad).min(len));
        (real, end - start)
    };
    for (plane, o) in x.chunks_exact(p.in_h * p.in_w).zip(out.chunks_exact_mut(oh * ow)) {
        for oy in 0..oh {
            let (rows, h) = span(oy, p.kh, p.stride_h, p.pad_h, p.in_h);
            for ox in 0..ow {
                let (cols, w) = span(ox, p.kw, p.stride_w, p.pad_w, p.in_w);
                o[oy * ow + ox] = f(plane, rows, cols, h * w);
            }
        }
    }
}

/// The bins of adaptive pooling along one axis: output `i` of `out` covers
/// `floor(i len / out) .. ceil((i + 1) len / out)` (PyTorch's formula).
fn bins(len: usize, out: usize) -> impl Iterator<Item = (usize, usize)> {
    (0..out).map(move |i| (i * len / out, ((i + 1) * len).div_ceil(out)))
}

/// Adaptive max (`max`) or average pooling of `[batch, c, h, w]` into `[batch, c, oh, ow]`.
pub fn adaptive_pool2d(
    max: bool,
    (c, h, w): (usize, usize, usize),
    (oh, ow): (usize, usize),
    batch: usize,
    x: &[f32],
    out: &mut [f32],
) {
    assert_eq!(x.len(), batch * c * h * w, "pool input length");
    assert_eq!(out.len(), batch * c * oh * ow, "pool output length");
    for (plane, o) in x.chunks_exact(h * w).zip(out.chunks_exact_mut(oh * ow)) {
        for (oy, (y0, y1)) in bins(h, oh).enumerate() {
            for (ox, (x0, x1)) in bins(w, ow).enumerate() {
                let cells = plane.chunks_exact(w).take(y1).skip(y0).flat_map(|row| &row[x0..x1]);
                o[oy * ow + ox] = if max {
                    cells.fold(f32::NEG_INFINITY, |m, &v| max_nan(m, v))
                } else {
                    cells.sum::<f32>() / ((y1 - y0) * (x1 - x0)) as f32
                };
            }
        }
    }
}

/// Mean over each plane of `hw` elements: `[batch, c, hw]` into `[batch, c]`.
pub fn global_avgpool(c: usize, hw: usize, batch: usize, x: &[f32], out: &mut [f32]) {
    assert_eq!(x.len(), batch * c * hw, "global pool input length");
    assert_eq!(out.len(), batch * c, "global pool output length");
    for (o, plane) in out.iter_mut().zip(x.chunks_exact(hw)) {
        *o = plane.iter().sum::<f32>() / hw as f32;
    }
}

/// Maximum over each plane of `hw` elements: `[batch, c, hw]` into `[batch, c]`.
pub fn global_maxpool(c: usize, hw: usize, batch: usize, x: &[f32], out: &mut [f32]) {
    assert_eq!(x.len(), batch * c * hw, "global pool input length");
    assert_eq!(out.len(), batch * c, "global pool output length");
    for (o, plane) in out.iter_mut().zip(x.chunks_exact(hw)) {
        *o = plane.iter().copied().fold(f32::NEG_INFINITY, max_nan);
    }
}
