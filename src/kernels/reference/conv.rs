//! Direct 2-D convolution.

use crate::kernels::geometry::valid_range;
use crate::kernels::pool::parallel_chunks;
use crate::kernels::{Conv2d, Epilogue};

/// `out[i] += w * x[i * stride]` over `out`.
fn axpy(out: &mut [f32], w: f32, x: &[f32], stride: usize) {
    if stride == 1 {
        for (o, &x) in out.iter_mut().zip(x) {
            *o += w * x;
        }
    } else {
        for (o, &x) in out.iter_mut().zip(x.iter().step_by(stride)) {
            *o += w * x;
        }
    }
}

/// Direct convolution of `batch` samples: `out = act(conv(x, w) + bias + residual)`.
///
/// `x` is `[batch, in_c, in_h, in_w]`, `w` is `[out_c, in_c, kh, kw]`, `out` is
/// `[batch, out_c, out_h, out_w]`. Each (sample, output channel) plane is one task on `threads`
/// threads; within it the sum runs over input channel, kernel row, kernel column, then output rows
/// with the innermost loop over contiguous output pixels.
pub fn conv2d(g: &Conv2d, batch: usize, x: &[f32], w: &[f32], ep: &Epilogue, out: &mut [f32], threads: usize) {
    g.check(batch, x, Some(w), ep, out);
    let (oh, ow) = (g.out_h(), g.out_w());
    let plane_len = oh * ow;
    if plane_len == 0 || out.is_empty() {
        return;
    }
    parallel_chunks(threads, out, plane_len, &|task, plane| {
        let (n, oc) = (task / g.out_c, task % g.out_c);
        plane.fill(0.0);
        for ic in 0..g.in_c {
            let xc = &x[(n * g.in_c + ic) * g.in_h * g.in_w..][..g.in_h * g.in_w];
            for ky in 0..g.kh {
                let (oy_lo, oy_hi) = valid_range(oh, g.in_h, ky, g.stride_h, g.pad_h);
                for kx in 0..g.kw {
                    let wv = w[((oc * g.in_c + ic) * g.kh + ky) * g.kw + kx];
                    let (ox_lo, ox_hi) = valid_range(ow, g.in_w, kx, g.stride_w, g.pad_w);
                    if ox_lo == ox_hi {
                        continue;
                    }
                    for oy in oy_lo..oy_hi {
                        let iy = oy * g.stride_h + ky - g.pad_h;
                        let ix0 = ox_lo * g.stride_w + kx - g.pad_w;
                        let xrow = &xc[iy * g.in_w + ix0..(iy + 1) * g.in_w];
                        axpy(&mut plane[oy * ow + ox_lo..oy * ow + ox_hi], wv, xrow, g.stride_w);
                    }
                }
            }
        }
        let bias = ep.bias.map_or(0.0, |b| b[oc]);
        let residual = ep.residual.map(|r| &r[task * plane_len..][..plane_len]);
        for (i, o) in plane.iter_mut().enumerate() {
            let mut v = *o + bias;
            if let Some(r) = residual {
                v += r[i];
            }
            *o = if ep.relu { v.max(0.0) } else { v };
        }
    });
}
