//! Windowed and global pooling.

use crate::kernels::Pool2d;

/// Folds `f` over every window of `p` for `batch` samples, then maps each fold with `finish`.
fn pool2d(
    p: &Pool2d,
    batch: usize,
    x: &[f32],
    out: &mut [f32],
    init: f32,
    f: impl Fn(f32, f32) -> f32,
    finish: impl Fn(f32) -> f32,
) {
    let (oh, ow) = (p.out_h(), p.out_w());
    assert_eq!(x.len(), batch * p.c * p.in_h * p.in_w, "pool input length");
    assert_eq!(out.len(), batch * p.c * oh * ow, "pool output length");
    for (plane, o) in x.chunks_exact(p.in_h * p.in_w).zip(out.chunks_exact_mut(oh * ow)) {
        for oy in 0..oh {
            for ox in 0..ow {
                let mut acc = init;
                for ky in 0..p.kh {
                    for kx in 0..p.kw {
                        let iy = (oy * p.stride_h + ky).checked_sub(p.pad_h).filter(|&iy| iy < p.in_h);
                        let ix = (ox * p.stride_w + kx).checked_sub(p.pad_w).filter(|&ix| ix < p.in_w);
                        let v = match (iy, ix) {
                            (Some(iy), Some(ix)) => plane[iy * p.in_w + ix],
                            _ => init,
                        };
                        acc = f(acc, v);
                    }
                }
                o[oy * ow + ox] = finish(acc);
            }
        }
    }
}

/// Max pooling of `[batch, c, in_h, in_w]` into `[batch, c, out_h, out_w]`; padding is `-inf`.
pub fn maxpool2d(p: &Pool2d, batch: usize, x: &[f32], out: &mut [f32]) {
    pool2d(p, batch, x, out, f32::NEG_INFINITY, f32::max, |v| v);
}

/// Average pooling; padded positions count as zeros in the divisor `kh * kw`
/// (PyTorch's `count_include_pad=true`).
pub fn avgpool2d(p: &Pool2d, batch: usize, x: &[f32], out: &mut [f32]) {
    let scale = 1.0 / (p.kh * p.kw) as f32;
    pool2d(p, batch, x, out, 0.0, |a, v| a + v, |s| s * scale);
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
        *o = plane.iter().copied().fold(f32::NEG_INFINITY, f32::max);
    }
}
