//! Emitted convolution and dense layers: a direct convolution written in Cranelift IR with
//! register blocking over output channels x pixels.
//!
//! A block computes `OC_VECS` f32x4 vectors of output channels (`WIDTH` channels) for up to
//! `PIXELS` output pixels, holding `PIXELS * OC_VECS` accumulators in registers. For every input
//! channel and kernel tap it loads `OC_VECS` weight vectors (packed at compile time as
//! `[block][in_c][kh][kw][WIDTH]`), broadcasts one input value per pixel and issues one FMA per
//! accumulator. Padding is materialized once per sample into a zero-bordered scratch copy of the
//! input, so the inner loops have no bounds tests; the stride is folded into the input offsets.
//! Bias and ReLU are applied as the block is stored. A dense layer is the same kernel with one
//! pixel (the sample) and the input features as channels. The thread pool runs a generated task
//! function per output row (convolution) or per block of output channels (dense).

use super::fx::{Count, Fx};
use super::ops::relu;
use crate::kernels::Conv2d;
use cranelift_codegen::ir::types::{F32, F32X4};
use cranelift_codegen::ir::{InstBuilder, Value, condcodes::IntCC};

/// f32x4 vectors of output channels per block.
pub(super) const OC_VECS: usize = 2;
/// Output channels per block.
pub(super) const WIDTH: usize = OC_VECS * 4;
/// Output pixels per block.
pub(super) const PIXELS: usize = 6;

/// Packs the rows of `w` (`[out_c, inner]`, inner = `in_c * kh * kw` or `in_f`) as
/// `[block][inner][WIDTH]`, padding the last block with zero channels.
pub(super) fn pack(w: &[f32], out_c: usize) -> Vec<f32> {
    let inner = w.len() / out_c.max(1);
    let mut a = vec![0.0; out_c.div_ceil(WIDTH) * inner * WIDTH];
    for (oc, row) in w.chunks_exact(inner.max(1)).enumerate() {
        let block = &mut a[(oc / WIDTH) * inner * WIDTH..];
        for (k, &v) in row.iter().enumerate() {
            block[k * WIDTH + oc % WIDTH] = v;
        }
    }
    a
}

/// `bias` padded with zeros to whole blocks.
pub(super) fn pack_bias(bias: &[f32]) -> Vec<f32> {
    let mut b = bias.to_vec();
    b.resize(bias.len().div_ceil(WIDTH) * WIDTH, 0.0);
    b
}

/// The reduction a block performs: `red` input channels `c_stride` floats apart, each read at the
/// `taps` offsets; consecutive pixels of a block are `pix_stride` floats apart.
struct Reduction<'a> {
    red: usize,
    c_stride: usize,
    taps: &'a [usize],
    pix_stride: usize,
}

/// `acc[p][v] += sum_c sum_t w[c][t][4v..4v+4] * x[c * c_stride + taps[t] + p * pix_stride]`.
fn accumulate(fx: &mut Fx, r: &Reduction, x: Value, w: Value, acc: &mut [Vec<Value>]) {
    let vars: Vec<Vec<_>> = acc
        .iter()
        .map(|row| {
            row.iter()
                .map(|&a| {
                    let var = fx.b.declare_var(F32X4);
                    fx.b.def_var(var, a);
                    var
                })
                .collect()
        })
        .collect();
    let vecs = acc[0].len();
    fx.for_each(Count::Const(r.red), |fx, c| {
        let xc = fx.index(x, c, r.c_stride * 4);
        let wc = fx.index(w, c, r.taps.len() * WIDTH * 4);
        for (t, &tap) in r.taps.iter().enumerate() {
            let ws: Vec<Value> = (0..vecs).map(|v| fx.load(F32X4, wc, t * WIDTH + v * 4)).collect();
            for (p, row) in vars.iter().enumerate() {
                let s = fx.load(F32, xc, tap + p * r.pix_stride);
                let s = fx.b.ins().splat(F32X4, s);
                for (&wv, &var) in ws.iter().zip(row) {
                    let a = fx.b.use_var(var);
                    let a = fx.b.ins().fma(wv, s, a);
                    fx.b.def_var(var, a);
                }
            }
        }
    });
    for (row, vars) in acc.iter_mut().zip(&vars) {
        for (a, &var) in row.iter_mut().zip(vars) {
            *a = fx.b.use_var(var);
        }
    }
}

/// Zero accumulators for `pixels` pixels and `vecs` channel vectors.
fn zeros(fx: &mut Fx, pixels: usize, vecs: usize) -> Vec<Vec<Value>> {
    let z = fx.float(F32X4, 0.0);
    vec![vec![z; vecs]; pixels]
}

/// Adds the block's bias (at `bias`, if any) and applies ReLU.
fn finish(fx: &mut Fx, acc: &mut [Vec<Value>], bias: Option<Value>, relu_on: bool) {
    let vecs = acc[0].len();
    let bias: Option<Vec<Value>> = bias.map(|b| (0..vecs).map(|v| fx.load(F32X4, b, v * 4)).collect());
    for row in acc.iter_mut() {
        for (v, a) in row.iter_mut().enumerate() {
            if let Some(b) = &bias {
                *a = fx.b.ins().fadd(*a, b[v]);
            }
            if relu_on {
                *a = relu(fx, F32X4, *a);
            }
        }
    }
}

/// A convolution or dense layer compiled to emitted code.
/// The tables are owned by the back end and outlive the code.
pub(super) struct Direct {
    /// Weights from [`pack`].
    pub w: *const f32,
    /// Bias from [`pack_bias`].
    pub bias: Option<*const f32>,
    pub relu: bool,
}

/// Floats of scratch a convolution needs for its padded input (0 when unpadded).
pub(super) fn scratch_len(g: &Conv2d) -> usize {
    if g.pad_h == 0 && g.pad_w == 0 { 0 } else { g.in_c * (g.in_h + 2 * g.pad_h) * (g.in_w + 2 * g.pad_w) }
}

/// Output-channel blocks of a dense layer with `out_c` outputs: its parallel tasks.
pub(super) fn blocks(out_c: usize) -> usize {
    out_c.div_ceil(WIDTH)
}

/// Emits `body(vecs, lanes)` for block `blk` of `out_c` channels: `lanes` channels in `vecs`
/// vectors (fewer only in the last block, chosen at run time when there are several).
fn for_block(fx: &mut Fx, out_c: usize, blk: Value, body: impl Fn(&mut Fx, usize, usize)) {
    let (full, rest) = (out_c / WIDTH, out_c % WIDTH);
    if rest == 0 || full == 0 {
        let lanes = if rest == 0 { WIDTH } else { rest };
        return body(fx, lanes.div_ceil(4), lanes);
    }
    let (whole, partial, merge) = (fx.b.create_block(), fx.b.create_block(), fx.b.create_block());
    let is_whole = fx.b.ins().icmp_imm_s(IntCC::UnsignedLessThan, blk, full as i64);
    fx.b.ins().brif(is_whole, whole, &[], partial, &[]);
    fx.b.switch_to_block(whole);
    body(fx, OC_VECS, WIDTH);
    fx.b.ins().jump(merge, &[]);
    fx.b.switch_to_block(partial);
    body(fx, rest.div_ceil(4), rest);
    fx.b.ins().jump(merge, &[]);
    fx.b.switch_to_block(merge);
}

/// Emits output row `oy` (a task) of the convolution `g`, all channel blocks, for every sample of
/// `x` into `out`, reading the padded samples from `scratch` if [`pad`] filled it. Rows as tasks
/// keep the few input rows a task reads in cache while every block of weights sweeps over them.
pub(super) fn conv(fx: &mut Fx, g: &Conv2d, d: &Direct, x: Value, out: Value, scratch: Value, oy: Value) {
    let (oh, ow) = (g.out_h(), g.out_w());
    let plane = oh * ow;
    let (hp, wp) = (g.in_h + 2 * g.pad_h, g.in_w + 2 * g.pad_w);
    let taps: Vec<usize> = (0..g.kh).flat_map(|ky| (0..g.kw).map(move |kx| ky * wp + kx)).collect();
    let r = Reduction { red: g.in_c, c_stride: hp * wp, taps: &taps, pix_stride: g.stride_w };
    let src = if scratch_len(g) == 0 { (x, g.in_len()) } else { (scratch, scratch_len(g)) };
    let (w, bias) = (fx.addr(d.w), d.bias.map(|b| fx.addr(b)));
    fx.per_sample(&[src, (out, g.out_len())], |fx, ptrs| {
        let xrow = fx.index(ptrs[0], oy, g.stride_h * wp * 4);
        let orow = fx.index(ptrs[1], oy, ow * 4);
        // Block `blk` of output channels: `lanes` channels in `vecs` vectors.
        let block = |fx: &mut Fx, blk: Value, vecs: usize, lanes: usize| {
            let wb = fx.index(w, blk, g.in_c * taps.len() * WIDTH * 4);
            let bb = bias.map(|b| fx.index(b, blk, WIDTH * 4));
            let orow = fx.index(orow, blk, WIDTH * plane * 4);
            let pixels = |fx: &mut Fx, xp: Value, op: Value, n: usize| {
                let mut acc = zeros(fx, n, vecs);
                accumulate(fx, &r, xp, wb, &mut acc);
                finish(fx, &mut acc, bb, d.relu);
                for (p, row) in acc.iter().enumerate() {
                    for (v, &a) in row.iter().enumerate() {
                        for l in 0..4.min(lanes - v * 4) {
                            let e = fx.b.ins().extractlane(a, l as u8);
                            fx.store(e, op, (v * 4 + l) * plane + p);
                        }
                    }
                }
            };
            fx.for_each(Count::Const(ow / PIXELS), |fx, j| {
                let xp = fx.index(xrow, j, PIXELS * g.stride_w * 4);
                let op = fx.index(orow, j, PIXELS * 4);
                pixels(fx, xp, op, PIXELS);
            });
            if ow % PIXELS > 0 {
                let done = ow / PIXELS * PIXELS;
                let xp = fx.offset(xrow, done * g.stride_w * 4);
                let op = fx.offset(orow, done * 4);
                pixels(fx, xp, op, ow % PIXELS);
            }
        };
        let full = g.out_c / WIDTH;
        fx.for_each(Count::Const(full), |fx, blk| block(fx, blk, OC_VECS, WIDTH));
        let rest = g.out_c % WIDTH;
        if rest > 0 {
            let blk = fx.int(full);
            block(fx, blk, rest.div_ceil(4), rest);
        }
    });
}

/// Copies every sample of `g`'s input into `scratch` (sample `b` at `b * scratch_len(g)`) with a
/// zero border of the padding's width.
pub(super) fn pad(fx: &mut Fx, g: &Conv2d, x: Value, scratch: Value) {
    fx.per_sample(&[(x, g.in_len()), (scratch, scratch_len(g))], |fx, ptrs| pad_sample(fx, g, ptrs[0], ptrs[1]));
}

/// Copies one sample of `g`'s input into `scratch` with a zero border of the padding's width.
fn pad_sample(fx: &mut Fx, g: &Conv2d, x: Value, scratch: Value) {
    let zero = fx.float(F32X4, 0.0);
    let zero_s = fx.float(F32, 0.0);
    fx.vectorized(scratch_len(g), |fx, ty, bytes, e| {
        let a = fx.b.ins().iadd(scratch, bytes);
        fx.store(if ty == F32 { zero_s } else { zero }, a, e);
    });
    let (hp, wp) = (g.in_h + 2 * g.pad_h, g.in_w + 2 * g.pad_w);
    fx.for_each(Count::Const(g.in_c), |fx, c| {
        let src = fx.index(x, c, g.in_h * g.in_w * 4);
        let dst = fx.index(scratch, c, hp * wp * 4);
        let dst = fx.offset(dst, (g.pad_h * wp + g.pad_w) * 4);
        // One "sample" per input row: the copy loop runs over rows with the row strides.
        fx.for_each(Count::Const(g.in_h), |fx, y| {
            let s = fx.index(src, y, g.in_w * 4);
            let d = fx.index(dst, y, wp * 4);
            fx.vectorized(g.in_w, |fx, ty, bytes, e| {
                let (s, d) = (fx.b.ins().iadd(s, bytes), fx.b.ins().iadd(d, bytes));
                let v = fx.load(ty, s, e);
                fx.store(v, d, e);
            });
        });
    });
}

/// Emits block `blk` (a task) of the dense layer `[out_f, in_f]` for every sample of `x` into `out`.
pub(super) fn dense(fx: &mut Fx, in_f: usize, out_f: usize, d: &Direct, x: Value, out: Value, blk: Value) {
    // Four features per loop iteration, then the remaining ones.
    let main = Reduction { red: in_f / 4, c_stride: 4, taps: &[0, 1, 2, 3], pix_stride: 0 };
    let tail = Reduction { red: in_f % 4, c_stride: 1, taps: &[0], pix_stride: 0 };
    let done = in_f / 4 * 4;
    let (w, bias) = (fx.addr(d.w), d.bias.map(|b| fx.addr(b)));
    let wb = fx.index(w, blk, in_f * WIDTH * 4);
    let bb = bias.map(|b| fx.index(b, blk, WIDTH * 4));
    fx.per_sample(&[(x, in_f), (out, out_f)], |fx, ptrs| {
        let ob = fx.index(ptrs[1], blk, WIDTH * 4);
        for_block(fx, out_f, blk, |fx, vecs, lanes| {
            let mut acc = zeros(fx, 1, vecs);
            accumulate(fx, &main, ptrs[0], wb, &mut acc);
            let (xt, wt) = (fx.offset(ptrs[0], done * 4), fx.offset(wb, done * WIDTH * 4));
            accumulate(fx, &tail, xt, wt, &mut acc);
            finish(fx, &mut acc, bb, d.relu);
            for (v, &a) in acc[0].iter().enumerate() {
                if lanes >= v * 4 + 4 {
                    fx.store(a, ob, v * 4);
                } else {
                    for l in 0..lanes - v * 4 {
                        let e = fx.b.ins().extractlane(a, l as u8);
                        fx.store(e, ob, v * 4 + l);
                    }
                }
            }
        });
    });
}

#[cfg(test)]
mod tests {
    use super::{WIDTH, pack, pack_bias};

    #[test]
    fn pack_interleaves_channels_and_pads_the_last_block() {
        let (out_c, inner) = (WIDTH + 1, 2);
        let w: Vec<f32> = (0..out_c * inner).map(|i| i as f32).collect();
        let a = pack(&w, out_c);
        assert_eq!(a.len(), 2 * inner * WIDTH);
        // Block 0, inner index 1, channel 3 is w[3][1].
        assert_eq!(a[WIDTH + 3], w[3 * inner + 1]);
        // Block 1 holds channel WIDTH in lane 0 and zeros elsewhere.
        assert_eq!(a[inner * WIDTH], w[WIDTH * inner]);
        assert!(a[inner * WIDTH + 1..(inner + 1) * WIDTH].iter().all(|&v| v == 0.0));
        assert_eq!(pack_bias(&[1.0; 5]).len(), WIDTH);
    }
}
