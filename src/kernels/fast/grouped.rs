//! Direct convolution for the geometries im2col-GEMM serves badly or not at all: channel groups
//! (depthwise convolutions, with one input channel per output channel, and grouped ones such as
//! ResNeXt's), dilation and asymmetric padding.
//!
//! A task computes every output channel of one group of one sample. It first copies the group's
//! input channels into a zero-bordered scratch buffer, each padded row split into `stride_w`
//! phases (`x = x' * stride_w + phase`), so that for every kernel tap the inputs of consecutive
//! output pixels are consecutive floats whatever the stride and dilation. Each output row is then
//! accumulated in registers, `ROW_VECS` vectors at a time: per tap, one broadcast weight, one
//! load and one FMA per vector. Bias, residual and activation are applied as the row is stored.

use super::simd::{Isa, Simd, isa_entry};
use crate::kernels::threads::{SyncPtr, parallel_for};
use crate::kernels::{Act, Conv2d, Epilogue};
use std::cell::RefCell;

/// Vectors of one output row accumulated together.
const ROW_VECS: usize = 4;

/// A convolution computed directly, group by group.
#[derive(Clone, Debug)]
pub struct GroupedConv {
    g: Conv2d,
    isa: Isa,
    /// PyTorch's layout `[out_c, in_c / groups, kh, kw]`.
    w: Vec<f32>,
}

/// The scratch layout of one group's padded input: `[channel][row][phase][x']`.
#[derive(Clone, Copy)]
struct Layout {
    rows: usize,
    phases: usize,
    /// Floats per phase row (with slack for the last vector's overreach).
    row_len: usize,
}

impl Layout {
    fn of(g: &Conv2d, lanes: usize) -> Layout {
        let wp = g.pad_w + g.in_w + g.pad_w_end;
        let phases = g.stride_w;
        Layout { rows: g.pad_h + g.in_h + g.pad_h_end, phases, row_len: wp.div_ceil(phases) + ROW_VECS * lanes }
    }

    fn channel_len(&self) -> usize {
        self.rows * self.phases * self.row_len
    }

    /// Offset of padded position `(y, x)` of channel `c`.
    fn at(&self, c: usize, y: usize, x: usize) -> usize {
        ((c * self.rows + y) * self.phases + x % self.phases) * self.row_len + x / self.phases
    }
}

thread_local! {
    /// Each thread's scratch for padded inputs, grown as needed and reused across layers.
    static SCRATCH: RefCell<Vec<f32>> = const { RefCell::new(Vec::new()) };
}

impl GroupedConv {
    /// Prepares `g` with `weight` (`[out_c, in_c / groups, kh, kw]`) for this CPU.
    pub fn new(g: Conv2d, weight: &[f32]) -> GroupedConv {
        GroupedConv::with_isa(g, weight, Isa::detect())
    }

    /// Like [`GroupedConv::new`] for instruction set `isa` (which must be supported).
    pub fn with_isa(g: Conv2d, weight: &[f32], isa: Isa) -> GroupedConv {
        assert_eq!(weight.len(), g.weight_len(), "conv weight length");
        GroupedConv { g, isa, w: weight.to_vec() }
    }

    /// The convolution's geometry.
    pub fn geometry(&self) -> &Conv2d {
        &self.g
    }

    /// Convolves `batch` samples: `out = act(conv(x) + bias + residual)` on `threads` threads.
    pub fn run(&self, batch: usize, x: &[f32], ep: &Epilogue, out: &mut [f32], threads: usize) {
        let g = &self.g;
        g.check(batch, x, Some(&self.w), ep, out);
        if out.is_empty() {
            return;
        }
        let out_ptr = SyncPtr(out.as_mut_ptr());
        parallel_for(threads, batch * g.groups, &|task| {
            let (n, group) = (task / g.groups, task % g.groups);
            let plane_in = g.in_h * g.in_w;
            let x = &x[(n * g.in_c + group * g.group_in()) * plane_in..][..g.group_in() * plane_in];
            let plane = g.out_h() * g.out_w();
            let first = (n * g.out_c + group * g.group_out()) * plane;
            // SAFETY: each task writes the output planes of its own group of one sample.
            let out = unsafe { std::slice::from_raw_parts_mut(out_ptr.get().add(first), g.group_out() * plane) };
            let residual = ep.residual.map(|r| &r[first..][..g.group_out() * plane]);
            let bias = ep.bias.map(|b| &b[group * g.group_out()..][..g.group_out()]);
            let w = &self.w[group * g.group_out() * g.group_in() * g.kh * g.kw..];
            SCRATCH.with_borrow_mut(|scratch| {
                // SAFETY: the ISA was detected or checked by the caller of `with_isa`; the
                // slices have the lengths the geometry implies.
                unsafe { group_isa(self.isa, g, x, w, bias, residual, ep.act, out, scratch) };
            });
        });
    }
}

isa_entry! {
    /// [`group`] for `isa`.
    #[allow(clippy::too_many_arguments)]
    unsafe fn group_isa(
        g: &Conv2d,
        x: &[f32],
        w: &[f32],
        bias: Option<&[f32]>,
        residual: Option<&[f32]>,
        act: Option<Act>,
        out: &mut [f32],
        scratch: &mut Vec<f32>
    ) => group
}

/// One group of one sample: pads `x` (the group's input channels) into `scratch`, then computes
/// the group's output channels into `out` (and `residual`, at the same offsets).
#[allow(clippy::too_many_arguments)]
#[inline(always)]
unsafe fn group<S: Simd>(
    g: &Conv2d,
    x: &[f32],
    w: &[f32],
    bias: Option<&[f32]>,
    residual: Option<&[f32]>,
    act: Option<Act>,
    out: &mut [f32],
    scratch: &mut Vec<f32>,
) {
    let l = Layout::of(g, S::LANES);
    let cg = g.group_in();
    scratch.clear();
    scratch.resize(cg * l.channel_len(), 0.0);
    for (c, src) in x.chunks_exact(g.in_h * g.in_w).enumerate() {
        for (iy, row) in src.chunks_exact(g.in_w).enumerate() {
            for (ix, &v) in row.iter().enumerate() {
                scratch[l.at(c, iy + g.pad_h, ix + g.pad_w)] = v;
            }
        }
    }
    let (oh, ow) = (g.out_h(), g.out_w());
    let taps = g.kh * g.kw;
    let width = ROW_VECS * S::LANES;
    for (oc, plane) in out.chunks_exact_mut(oh * ow).enumerate() {
        let wo = &w[oc * cg * taps..][..cg * taps];
        let b = bias.map_or(0.0, |b| b[oc]);
        for oy in 0..oh {
            let orow = &mut plane[oy * ow..][..ow];
            let rrow = residual.map(|r| &r[(oc * oh + oy) * ow..][..ow]);
            for x0 in (0..ow).step_by(width) {
                // SAFETY: every load is within the scratch (its rows have `ROW_VECS` vectors of
                // slack), every store within the row (the last vector partial).
                unsafe {
                    let mut acc = [S::splat(b); ROW_VECS];
                    for c in 0..cg {
                        for ky in 0..g.kh {
                            let y = oy * g.stride_h + ky * g.dil_h;
                            for kx in 0..g.kw {
                                let wv = S::splat(wo[(c * g.kh + ky) * g.kw + kx]);
                                let p = scratch.as_ptr().add(l.at(c, y, kx * g.dil_w) + x0);
                                for (v, a) in acc.iter_mut().enumerate() {
                                    *a = S::fma(wv, S::load(p.add(v * S::LANES)), *a);
                                }
                            }
                        }
                    }
                    for (v, a) in acc.into_iter().enumerate() {
                        let at = x0 + v * S::LANES;
                        if at >= ow {
                            break;
                        }
                        let n = (ow - at).min(S::LANES);
                        let mut a = a;
                        if let Some(r) = rrow {
                            a = S::add(a, S::load_n(r.as_ptr().add(at), n));
                        }
                        if let Some(act) = act {
                            a = act.apply_simd::<S>(a);
                        }
                        S::store_n(orow.as_mut_ptr().add(at), a, n);
                    }
                }
            }
        }
    }
}
