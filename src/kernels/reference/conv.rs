//! Direct 2-D convolution: any kernel, stride, dilation, padding and channel groups.

use crate::kernels::geometry::valid_range;
use crate::kernels::threads::{SyncPtr, parallel_for};
use crate::kernels::{Conv2d, Epilogue};

/// Output channels per task. A task reads the input channels of its group, so stride-1
/// convolutions build their zero-padded copy once per task and share it among these channels.
const OC_BLOCK: usize = 16;

/// `out[i] += w * x[i * stride]` over `out`. Sums are kept in f64 so that the reference is
/// accurate to float32 rounding of the exact result, whatever the summation order of other
/// back ends (a deep network otherwise accumulates f32 rounding differences of ~1e-5).
fn axpy(out: &mut [f64], w: f32, x: &[f32], stride: usize) {
    let w = w as f64;
    if stride == 1 {
        for (o, &x) in out.iter_mut().zip(x) {
            *o += w * x as f64;
        }
    } else {
        for (o, &x) in out.iter_mut().zip(x.iter().step_by(stride)) {
            *o += w * x as f64;
        }
    }
}

/// Direct convolution of `batch` samples: `out = act(conv(x, w) + bias + residual)`.
///
/// `x` is `[batch, in_c, in_h, in_w]`, `w` is `[out_c, in_c / groups, kh, kw]`, `out` is
/// `[batch, out_c, out_h, out_w]`. Tasks of (sample, block of output channels of one group) run
/// on `threads` threads. Each output plane is a sum over its group's input channels and the
/// kernel taps of a scaled copy of the input, accumulated by loops over contiguous pixels.
pub fn conv2d(g: &Conv2d, batch: usize, x: &[f32], w: &[f32], ep: &Epilogue, out: &mut [f32], threads: usize) {
    g.check(batch, x, Some(w), ep, out);
    let plane_len = g.out_h() * g.out_w();
    if out.is_empty() {
        return;
    }
    // Blocks never straddle two groups.
    let blocks_per_group = g.group_out().div_ceil(OC_BLOCK);
    let blocks = g.groups * blocks_per_group;
    let out_ptr = SyncPtr(out.as_mut_ptr());
    parallel_for(threads, batch * blocks, &|task| {
        let (n, block) = (task / blocks, task % blocks);
        let (group, b) = (block / blocks_per_group, block % blocks_per_group);
        let first_oc = group * g.group_out() + b * OC_BLOCK;
        let ocs = first_oc..(first_oc + OC_BLOCK).min((group + 1) * g.group_out());
        let first = (n * g.out_c + ocs.start) * plane_len;
        // SAFETY: each task writes its own channel planes of one sample.
        let planes = unsafe { std::slice::from_raw_parts_mut(out_ptr.get().add(first), ocs.len() * plane_len) };
        let plane_in = g.in_h * g.in_w;
        let x = &x[(n * g.in_c + group * g.group_in()) * plane_in..][..g.group_in() * plane_in];
        if g.stride_h == 1 && g.stride_w == 1 {
            conv_stride1(g, x, w, ocs.clone(), planes);
        } else {
            conv_strided(g, x, w, ocs.clone(), planes);
        }
        for (oc, plane) in ocs.zip(planes.chunks_exact_mut(plane_len)) {
            let bias = ep.bias.map_or(0.0, |b| b[oc]);
            let residual = ep.residual.map(|r| &r[(n * g.out_c + oc) * plane_len..][..plane_len]);
            for (i, o) in plane.iter_mut().enumerate() {
                let mut v = *o + bias;
                if let Some(r) = residual {
                    v += r[i];
                }
                *o = ep.act.map_or(v, |a| a.apply(v));
            }
        }
    });
}

/// The weight of output channel `oc`, input channel `ic` of its group, tap `(ky, kx)`.
fn weight(g: &Conv2d, w: &[f32], oc: usize, ic: usize, ky: usize, kx: usize) -> f32 {
    w[((oc * g.group_in() + ic) * g.kh + ky) * g.kw + kx]
}

/// Stride 1: with the group's input zero-padded to rows of `wp = pad_w + in_w + pad_w_end`,
/// output pixel `(oy, ox)` of kernel tap `(ky, kx)` reads padded element
/// `(oy + ky dil_h) wp + ox + kx dil_w`. Computing the output on a grid of the same row width
/// (its last `wp - out_w` columns are discarded) makes every tap one multiply-add over a
/// contiguous run of the whole plane.
fn conv_stride1(g: &Conv2d, x: &[f32], w: &[f32], ocs: std::ops::Range<usize>, planes: &mut [f32]) {
    let (hp, wp) = (g.pad_h + g.in_h + g.pad_h_end, g.pad_w + g.in_w + g.pad_w_end);
    let (oh, ow) = (g.out_h(), g.out_w());
    // The slack lets the last tap's run extend past the final padded row.
    let mut padded = vec![0.0; g.group_in() * hp * wp + g.kw * g.dil_w];
    for (ic, src) in x.chunks_exact(g.in_h * g.in_w).enumerate() {
        for (iy, row) in src.chunks_exact(g.in_w).enumerate() {
            let at = (ic * hp + iy + g.pad_h) * wp + g.pad_w;
            padded[at..at + g.in_w].copy_from_slice(row);
        }
    }
    let mut wide = vec![0.0f64; oh * wp];
    for (oc, plane) in ocs.zip(planes.chunks_exact_mut(oh * ow)) {
        wide.fill(0.0);
        for ic in 0..g.group_in() {
            for ky in 0..g.kh {
                for kx in 0..g.kw {
                    let start = (ic * hp + ky * g.dil_h) * wp + kx * g.dil_w;
                    axpy(&mut wide, weight(g, w, oc, ic, ky, kx), &padded[start..], 1);
                }
            }
        }
        for (dst, src) in plane.chunks_exact_mut(ow).zip(wide.chunks_exact(wp)) {
            for (d, &s) in dst.iter_mut().zip(&src[..ow]) {
                *d = s as f32;
            }
        }
    }
}

/// Any stride: for each tap, each output row receives a strided run of one input row,
/// clipped to the pixels whose window lies inside the (unpadded) input.
fn conv_strided(g: &Conv2d, x: &[f32], w: &[f32], ocs: std::ops::Range<usize>, planes: &mut [f32]) {
    let (oh, ow) = (g.out_h(), g.out_w());
    let mut acc = vec![0.0f64; oh * ow];
    for (oc, plane) in ocs.zip(planes.chunks_exact_mut(oh * ow)) {
        acc.fill(0.0);
        for ic in 0..g.group_in() {
            let xc = &x[ic * g.in_h * g.in_w..][..g.in_h * g.in_w];
            for ky in 0..g.kh {
                let (oy_lo, oy_hi) = valid_range(oh, g.in_h, ky * g.dil_h, g.stride_h, g.pad_h);
                for kx in 0..g.kw {
                    let wv = weight(g, w, oc, ic, ky, kx);
                    let (ox_lo, ox_hi) = valid_range(ow, g.in_w, kx * g.dil_w, g.stride_w, g.pad_w);
                    if ox_lo == ox_hi {
                        continue;
                    }
                    for oy in oy_lo..oy_hi {
                        let iy = oy * g.stride_h + ky * g.dil_h - g.pad_h;
                        let ix0 = ox_lo * g.stride_w + kx * g.dil_w - g.pad_w;
                        let xrow = &xc[iy * g.in_w + ix0..(iy + 1) * g.in_w];
                        axpy(&mut acc[oy * ow + ox_lo..oy * ow + ox_hi], wv, xrow, g.stride_w);
                    }
                }
            }
        }
        for (d, &s) in plane.iter_mut().zip(&acc) {
            *d = s as f32;
        }
    }
}
