//! Winograd convolution `F(m x m, 3 x 3)` for 3x3 stride-1 layers.
//!
//! Each `m x m` block of outputs is computed from a `t x t` input patch (`t = m + 2`) as
//! `Y = Aᵀ [ (G g Gᵀ) ⊙ (Bᵀ d B) ] A`, which costs `t²` multiplies per block instead of
//! `9 m²`. Over a tile of blocks and all channels the element-wise products become `t²`
//! independent GEMMs `C_ξ[out_c x blocks] = U_ξ[out_c x in_c] * V_ξ[in_c x blocks]`, run by the
//! same micro-kernel as the direct convolution. The weight transform `U` is computed once (in
//! `f64`) and packed; the input and output transforms are vectorized over consecutive blocks.

use std::cell::RefCell;

use super::conv::pack_rows;
use super::gemm::{Tile, run_tile};
use super::simd::{Isa, Simd, isa_entry};
use crate::kernels::pool::{SyncPtr, parallel_for};
use crate::kernels::{Conv2d, Epilogue};

/// Output block size of the Winograd variant.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum WinogradTile {
    /// `F(2x2, 3x3)`: 4x4 input patches, 2.25x fewer multiplies, error close to direct.
    F2x2,
    /// `F(4x4, 3x3)`: 6x6 input patches, 4x fewer multiplies, larger rounding error.
    F4x4,
}

/// The transform matrices of one variant, row-major.
struct Transform {
    m: usize,
    t: usize,
    /// `Bᵀ`, `t x t`.
    bt: &'static [f64],
    /// `G`, `t x 3`.
    g: &'static [f64],
    /// `Aᵀ`, `m x t`.
    at: &'static [f64],
}

const F2: Transform = Transform {
    m: 2,
    t: 4,
    bt: &[
        1., 0., -1., 0., 0., 1., 1., 0., 0., -1., 1., 0., 0., 1., 0., -1.,
    ],
    g: &[1., 0., 0., 0.5, 0.5, 0.5, 0.5, -0.5, 0.5, 0., 0., 1.],
    at: &[1., 1., 1., 0., 0., 1., -1., -1.],
};

const F4: Transform = Transform {
    m: 4,
    t: 6,
    #[rustfmt::skip]
    bt: &[
        4., 0., -5., 0., 1., 0.,
        0., -4., -4., 1., 1., 0.,
        0., 4., -4., -1., 1., 0.,
        0., -2., -1., 2., 1., 0.,
        0., 2., -1., -2., 1., 0.,
        0., 4., 0., -5., 0., 1.,
    ],
    #[rustfmt::skip]
    g: &[
        1. / 4., 0., 0.,
        -1. / 6., -1. / 6., -1. / 6.,
        -1. / 6., 1. / 6., -1. / 6.,
        1. / 24., 1. / 12., 1. / 6.,
        1. / 24., -1. / 12., 1. / 6.,
        0., 0., 1.,
    ],
    #[rustfmt::skip]
    at: &[
        1., 1., 1., 1., 1., 0.,
        0., 1., -1., 2., -2., 0.,
        0., 1., 1., 4., 4., 0.,
        0., 1., -1., 8., -8., 1.,
    ],
};

/// Largest K block of the per-ξ GEMMs.
const KC: usize = 256;
/// Target blocks per task.
const BLOCKS: usize = 64;

/// A sparse row of a transform matrix: `(column, coefficient)` for the non-zero entries.
type SparseRow = Vec<(usize, f32)>;

fn sparse_rows(m: &[f64], cols: usize) -> Vec<SparseRow> {
    m.chunks_exact(cols)
        .map(|row| {
            row.iter()
                .enumerate()
                .filter(|(_, v)| **v != 0.0)
                .map(|(c, &v)| (c, v as f32))
                .collect()
        })
        .collect()
}

/// A 3x3 stride-1 convolution with Winograd-transformed, packed weights.
#[derive(Clone, Debug)]
pub struct WinogradConv {
    g: Conv2d,
    isa: Isa,
    m: usize,
    t: usize,
    bt: Vec<SparseRow>,
    at: Vec<SparseRow>,
    /// `t²` packed matrices `U_ξ` (`out_c x in_c`), each `u_len` long.
    u: Vec<f32>,
    u_len: usize,
}

/// Per-thread buffers: transformed input, GEMM results, and transform temporaries.
#[derive(Default)]
struct Scratch {
    v: Vec<f32>,
    c: Vec<f32>,
    rows: Vec<f32>,
    h: Vec<f32>,
}

thread_local! {
    static SCRATCH: RefCell<Scratch> = RefCell::new(Scratch::default());
}

/// `dst[q] = Σ (c, w) in row: w * src[c * step + q * stride]` for `q < dst.len()`.
#[inline(always)]
fn combine(dst: &mut [f32], row: &SparseRow, src: &[f32], step: usize, stride: usize) {
    dst.fill(0.0);
    for &(c, w) in row {
        let s = &src[c * step..];
        if stride == 1 {
            for (d, &x) in dst.iter_mut().zip(s) {
                *d += w * x;
            }
        } else {
            for (d, &x) in dst.iter_mut().zip(s.iter().step_by(stride)) {
                *d += w * x;
            }
        }
    }
}

/// `combine` compiled with the vectors of each ISA (the loops are plain Rust; only the target
/// features differ, so LLVM vectorizes them as wide as the CPU allows).
#[inline(always)]
unsafe fn combine_simd<S: Simd>(
    dst: *mut f32,
    len: usize,
    row: &SparseRow,
    src: *const f32,
    src_len: usize,
    step: usize,
    stride: usize,
) {
    // SAFETY: the wrapper's caller passes valid slices as raw parts.
    let (dst, src) = unsafe {
        (
            std::slice::from_raw_parts_mut(dst, len),
            std::slice::from_raw_parts(src, src_len),
        )
    };
    combine(dst, row, src, step, stride);
}

isa_entry! {
    /// `combine` for `isa`.
    unsafe fn combine_isa(dst: *mut f32, len: usize, row: &SparseRow, src: *const f32, src_len: usize, step: usize, stride: usize) => combine_simd
}

impl WinogradConv {
    /// Whether `g` is a convolution Winograd applies to: 3x3, stride 1.
    pub fn supports(g: &Conv2d) -> bool {
        g.kh == 3 && g.kw == 3 && g.stride_h == 1 && g.stride_w == 1
    }

    /// Transforms and packs `weight` (`[out_c, in_c, 3, 3]`) for the best ISA of this CPU.
    pub fn new(g: Conv2d, weight: &[f32], tile: WinogradTile) -> WinogradConv {
        WinogradConv::with_isa(g, weight, tile, Isa::detect())
    }

    /// Like [`WinogradConv::new`] for a given instruction set (panics if the CPU lacks it).
    pub fn with_isa(g: Conv2d, weight: &[f32], tile: WinogradTile, isa: Isa) -> WinogradConv {
        assert!(
            WinogradConv::supports(&g),
            "Winograd needs a 3x3 stride-1 convolution, got {g:?}"
        );
        assert!(
            isa.is_supported(),
            "{isa:?} kernels need CPU features this machine lacks"
        );
        assert_eq!(weight.len(), g.weight_len(), "conv weight length");
        let tr = match tile {
            WinogradTile::F2x2 => &F2,
            WinogradTile::F4x4 => &F4,
        };
        let t = tr.t;
        // U_ξ[o][i] = (G w[o][i] Gᵀ)[ξ], in f64.
        let mut u = vec![vec![0.0f32; g.out_c * g.in_c]; t * t];
        for (oi, w) in weight.chunks_exact(9).enumerate() {
            let mut gw = [[0.0f64; 3]; 6];
            for (r, gw_r) in gw.iter_mut().enumerate().take(t) {
                for (b, v) in gw_r.iter_mut().enumerate() {
                    *v = (0..3)
                        .map(|a| tr.g[r * 3 + a] * f64::from(w[a * 3 + b]))
                        .sum();
                }
            }
            for r in 0..t {
                for c in 0..t {
                    u[r * t + c][oi] =
                        (0..3).map(|b| gw[r][b] * tr.g[c * 3 + b]).sum::<f64>() as f32;
                }
            }
        }
        let packed: Vec<Vec<f32>> = u
            .iter()
            .map(|u| pack_rows(u, g.out_c, g.in_c, isa.mr()))
            .collect();
        WinogradConv {
            g,
            isa,
            m: tr.m,
            t,
            bt: sparse_rows(tr.bt, t),
            at: sparse_rows(tr.at, t),
            u_len: packed[0].len(),
            u: packed.concat(),
        }
    }

    /// Convolves `batch` samples: `out = act(conv(x) + bias + residual)` on `threads` threads,
    /// with the same layouts as [`super::PackedConv::run`].
    pub fn run(&self, batch: usize, x: &[f32], ep: &Epilogue, out: &mut [f32], threads: usize) {
        let g = &self.g;
        g.check(batch, x, None, ep, out);
        if out.is_empty() {
            return;
        }
        let (oh, ow) = (g.out_h(), g.out_w());
        let (tiles_h, tiles_w) = (oh.div_ceil(self.m), ow.div_ceil(self.m));
        let mut rows_per_task = BLOCKS.div_ceil(tiles_w).min(tiles_h);
        while rows_per_task > 1 && batch * tiles_h.div_ceil(rows_per_task) < 2 * threads {
            rows_per_task = rows_per_task.div_ceil(2);
        }
        let tasks_per_sample = tiles_h.div_ceil(rows_per_task);
        let out = SyncPtr(out.as_mut_ptr());
        parallel_for(threads, batch * tasks_per_sample, &|task| {
            let (sample, part) = (task / tasks_per_sample, task % tasks_per_sample);
            let ty = part * rows_per_task..((part + 1) * rows_per_task).min(tiles_h);
            SCRATCH.with_borrow_mut(|s| {
                // SAFETY: the task writes only the output rows of its block rows.
                unsafe { self.run_task(s, x, sample, ty, tiles_w, ep, out) }
            });
        });
    }

    /// One task: block rows `ty` of one sample.
    #[allow(clippy::too_many_arguments)]
    unsafe fn run_task(
        &self,
        s: &mut Scratch,
        x: &[f32],
        sample: usize,
        ty: std::ops::Range<usize>,
        tiles_w: usize,
        ep: &Epilogue,
        out: SyncPtr,
    ) {
        let (g, m, t, isa) = (&self.g, self.m, self.t, self.isa);
        let tt = t * t;
        let blocks = ty.len() * tiles_w;
        let (mr, nr, lanes) = (isa.mr(), isa.nr(), isa.lanes());
        let ldb = (blocks.div_ceil(16) | 1) * 16;
        let row_len = tiles_w * m + 2;
        s.v.resize(s.v.len().max(tt * g.in_c * ldb), 0.0);
        s.c.resize(s.c.len().max(tt * g.out_c * ldb), 0.0);
        s.rows.resize(t * row_len, 0.0);
        s.h.resize(tt * tiles_w, 0.0);

        // Input transform: V[ξ = (i, j)][ic][block] = (Bᵀ d B)[i][j].
        let plane = g.in_h * g.in_w;
        let x = &x[sample * g.in_len()..][..g.in_len()];
        for ic in 0..g.in_c {
            let xc = &x[ic * plane..][..plane];
            for (rr, by) in ty.clone().enumerate() {
                // The t input rows of this block row, zero-padded to `row_len`.
                for r in 0..t {
                    let dst = &mut s.rows[r * row_len..][..row_len];
                    dst.fill(0.0);
                    let iy = (by * m + r).wrapping_sub(g.pad_h);
                    if iy < g.in_h {
                        let lo = g.pad_w.min(row_len);
                        let len = g.in_w.min(row_len - lo);
                        dst[lo..lo + len].copy_from_slice(&xc[iy * g.in_w..][..len]);
                    }
                }
                // H[r][j][bx] = Σ_c Bᵀ[j][c] rows[r][bx m + c].
                for r in 0..t {
                    for j in 0..t {
                        let dst = &mut s.h[(r * t + j) * tiles_w..][..tiles_w];
                        let src = &s.rows[r * row_len..][..row_len];
                        unsafe {
                            combine_isa(
                                isa,
                                dst.as_mut_ptr(),
                                tiles_w,
                                &self.bt[j],
                                src.as_ptr(),
                                row_len,
                                1,
                                m,
                            )
                        };
                    }
                }
                // V[i][j][bx] = Σ_r Bᵀ[i][r] H[r][j][bx].
                for i in 0..t {
                    for j in 0..t {
                        let dst =
                            &mut s.v[((i * t + j) * g.in_c + ic) * ldb + rr * tiles_w..][..tiles_w];
                        let src = &s.h[j * tiles_w..];
                        unsafe {
                            combine_isa(
                                isa,
                                dst.as_mut_ptr(),
                                tiles_w,
                                &self.bt[i],
                                src.as_ptr(),
                                src.len(),
                                t * tiles_w,
                                1,
                            )
                        };
                    }
                }
            }
        }

        // t² GEMMs: C_ξ = U_ξ V_ξ.
        let k_blocks = g.in_c.div_ceil(KC);
        let kc_max = g.in_c.div_ceil(k_blocks);
        for xi in 0..tt {
            let u = &self.u[xi * self.u_len..][..self.u_len];
            let c = &mut s.c[xi * g.out_c * ldb..][..g.out_c * ldb];
            for kb in 0..k_blocks {
                let k0 = kb * kc_max;
                let kc = kc_max.min(g.in_c - k0);
                for col0 in (0..blocks).step_by(nr) {
                    let cols = (blocks - col0).min(nr);
                    for i in (0..g.out_c).step_by(mr) {
                        let tile = Tile {
                            a: u[i * g.in_c + k0 * mr..].as_ptr(),
                            b: s.v[(xi * g.in_c + k0) * ldb + col0..].as_ptr(),
                            ldb,
                            kc,
                            c: c[i * ldb + col0..].as_mut_ptr(),
                            ldc: ldb,
                            rows: (g.out_c - i).min(mr),
                            cols,
                            nv: cols.div_ceil(lanes),
                            accumulate: kb > 0,
                            last: false,
                            bias: std::ptr::null(),
                            residual: std::ptr::null(),
                            relu: false,
                        };
                        // SAFETY: the tile lies within `u`, `v` and `c`.
                        unsafe { run_tile(isa, &tile) };
                    }
                }
            }
        }

        // Output transform: Y = Aᵀ C A per block, then the epilogue.
        let (oh, ow) = (g.out_h(), g.out_w());
        let out_plane = oh * ow;
        let mut sm = vec![0.0f32; t * m * tiles_w];
        let mut y = vec![0.0f32; m * m * tiles_w];
        for oc in 0..g.out_c {
            let base = (sample * g.out_c + oc) * out_plane;
            let bias = ep.bias.map_or(0.0, |b| b[oc]);
            for (rr, by) in ty.clone().enumerate() {
                // S[i][j'] = Σ_j C[i][j] Aᵀ[j'][j], then Y[i'][j'] = Σ_i Aᵀ[i'][i] S[i][j'].
                let col = |xi: usize| (xi * g.out_c + oc) * ldb + rr * tiles_w;
                for i in 0..t {
                    for jp in 0..m {
                        let dst = &mut sm[(i * m + jp) * tiles_w..][..tiles_w];
                        let src = &s.c[col(i * t)..];
                        unsafe {
                            combine_isa(
                                isa,
                                dst.as_mut_ptr(),
                                tiles_w,
                                &self.at[jp],
                                src.as_ptr(),
                                src.len(),
                                g.out_c * ldb,
                                1,
                            )
                        };
                    }
                }
                for ip in 0..m {
                    for jp in 0..m {
                        let dst = &mut y[(ip * m + jp) * tiles_w..][..tiles_w];
                        let src = &sm[jp * tiles_w..];
                        unsafe {
                            combine_isa(
                                isa,
                                dst.as_mut_ptr(),
                                tiles_w,
                                &self.at[ip],
                                src.as_ptr(),
                                src.len(),
                                m * tiles_w,
                                1,
                            )
                        };
                    }
                }
                for ip in 0..m {
                    let oy = by * m + ip;
                    if oy >= oh {
                        break;
                    }
                    let row_at = base + oy * ow;
                    // SAFETY: this task alone writes output row `oy` of every channel.
                    let orow = unsafe { std::slice::from_raw_parts_mut(out.get().add(row_at), ow) };
                    let res = ep.residual.map(|r| &r[row_at..][..ow]);
                    for jp in 0..m {
                        let yrow = &y[(ip * m + jp) * tiles_w..][..tiles_w];
                        for (bx, &v) in yrow.iter().enumerate() {
                            let ox = bx * m + jp;
                            if ox < ow {
                                let mut v = v + bias;
                                if let Some(r) = res {
                                    v += r[ox];
                                }
                                orow[ox] = if ep.relu { v.max(0.0) } else { v };
                            }
                        }
                    }
                }
            }
        }
    }
}
