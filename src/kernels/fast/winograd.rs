//! Winograd convolution `F(m x m, 3 x 3)` for 3x3 stride-1 layers.
//!
//! Each `m x m` block of outputs is computed from a `t x t` input patch (`t = m + 2`) as
//! `Y = Aᵀ [ (G g Gᵀ) ⊙ (Bᵀ d B) ] A`, which costs `t²` multiplies per block instead of
//! `9 m²`. Over a tile of blocks and all channels the element-wise products become `t²`
//! independent GEMMs `C_ξ[out_c x blocks] = U_ξ[out_c x in_c] * V_ξ[in_c x blocks]`, run by the
//! same micro-kernel as the direct convolution. The weight transform `U` is computed once (in
//! `f64`) and packed. The input and output transforms run in SIMD registers, one lane per block:
//! input rows are first split into `m` phases (columns `k m + φ`), so that the patch element
//! `(r, c)` of consecutive blocks is one contiguous load.

use std::cell::RefCell;

use super::gemm::{PackedA, Tile, contiguous_cols, run_tile};
use super::simd::{Isa, Simd, isa_entry};
use crate::kernels::threads::{SyncPtr, parallel_for};
use crate::kernels::{Act, Conv2d, Epilogue};

/// Output block size of the Winograd variant.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum WinogradTile {
    /// `F(2x2, 3x3)`: 4x4 input patches, 2.25x fewer multiplies, error close to direct.
    F2x2,
    /// `F(4x4, 3x3)`: 6x6 input patches, 4x fewer multiplies, larger rounding error.
    F4x4,
}

/// The transform matrices of one variant (row-major, padded to the largest variant).
pub(crate) trait Variant {
    /// Output block size.
    const M: usize;
    /// Input patch size, `M + 2`.
    const T: usize;
    /// `Bᵀ`, `T x T`.
    const BT: [[f32; 6]; 6];
    /// `G`, `T x 3`.
    const G: [[f64; 3]; 6];
    /// `Aᵀ`, `M x T`.
    const AT: [[f32; 6]; 4];
}

/// `F(2x2, 3x3)`.
pub(crate) struct F2;

impl Variant for F2 {
    const M: usize = 2;
    const T: usize = 4;
    #[rustfmt::skip]
    const BT: [[f32; 6]; 6] = [
        [1., 0., -1., 0., 0., 0.],
        [0., 1., 1., 0., 0., 0.],
        [0., -1., 1., 0., 0., 0.],
        [0., 1., 0., -1., 0., 0.],
        [0.; 6],
        [0.; 6],
    ];
    const G: [[f64; 3]; 6] = [[1., 0., 0.], [0.5, 0.5, 0.5], [0.5, -0.5, 0.5], [0., 0., 1.], [0.; 3], [0.; 3]];
    const AT: [[f32; 6]; 4] = [[1., 1., 1., 0., 0., 0.], [0., 1., -1., -1., 0., 0.], [0.; 6], [0.; 6]];
}

/// `F(4x4, 3x3)`.
pub(crate) struct F4;

impl Variant for F4 {
    const M: usize = 4;
    const T: usize = 6;
    #[rustfmt::skip]
    const BT: [[f32; 6]; 6] = [
        [4., 0., -5., 0., 1., 0.],
        [0., -4., -4., 1., 1., 0.],
        [0., 4., -4., -1., 1., 0.],
        [0., -2., -1., 2., 1., 0.],
        [0., 2., -1., -2., 1., 0.],
        [0., 4., 0., -5., 0., 1.],
    ];
    #[rustfmt::skip]
    const G: [[f64; 3]; 6] = [
        [1. / 4., 0., 0.],
        [-1. / 6., -1. / 6., -1. / 6.],
        [-1. / 6., 1. / 6., -1. / 6.],
        [1. / 24., 1. / 12., 1. / 6.],
        [1. / 24., -1. / 12., 1. / 6.],
        [0., 0., 1.],
    ];
    #[rustfmt::skip]
    const AT: [[f32; 6]; 4] = [
        [1., 1., 1., 1., 1., 0.],
        [0., 1., -1., 2., -2., 0.],
        [0., 1., 1., 4., 4., 0.],
        [0., 1., -1., 8., -8., 1.],
    ];
}

/// Largest K block of the per-ξ GEMMs.
const KC: usize = 256;
/// Target blocks per task.
const BLOCKS: usize = 128;
/// Slack after each row of blocks so that whole-vector loads past the last block stay in bounds.
const SLACK: usize = 16;

/// A 3x3 stride-1 convolution with Winograd-transformed, packed weights.
#[derive(Clone, Debug)]
pub struct WinogradConv {
    g: Conv2d,
    isa: Isa,
    tile: WinogradTile,
    /// The `t²` matrices `U_ξ` (`out_c x in_c`), packed.
    u: Vec<PackedA>,
}

/// Per-thread buffers: transformed input, GEMM results, input row phases, output rows.
#[derive(Default)]
struct Scratch {
    v: Vec<f32>,
    c: Vec<f32>,
    phases: Vec<f32>,
    y: Vec<f32>,
}

thread_local! {
    static SCRATCH: RefCell<Scratch> = RefCell::new(Scratch::default());
}

/// Input transform of one block row of one channel.
struct InputRow {
    /// The input channel plane.
    x: *const f32,
    in_h: usize,
    in_w: usize,
    pad_h: usize,
    pad_w: usize,
    /// Block row index.
    by: usize,
    /// Blocks per row.
    tw: usize,
    /// Scratch for `T * M` phase rows of `len_ph` values and one padded row of `M * len_ph`.
    phases: *mut f32,
    len_ph: usize,
    /// `V_0[ic][first block of the row]`; `V_ξ` follows at `ξ * xi_stride`.
    v: *mut f32,
    xi_stride: usize,
}

/// `y = Σ_k w[k] x[k]` over the non-zero constant weights (fully unrolled by the compiler).
#[inline(always)]
unsafe fn dot<S: Simd>(w: &[f32; 6], x: &[S::V; 6], n: usize) -> S::V {
    unsafe {
        let mut acc = S::zero();
        for k in 0..n {
            if w[k] != 0.0 {
                acc = S::fma(S::splat(w[k]), x[k], acc);
            }
        }
        acc
    }
}

#[inline(always)]
unsafe fn input_transform<S: Simd, W: Variant>(j: &InputRow) {
    let (m, t, l) = (W::M, W::T, S::LANES);
    unsafe {
        // The zero-padded input row, then its `m` phases.
        let padded = std::slice::from_raw_parts_mut(j.phases.add(t * m * j.len_ph), m * j.len_ph);
        for r in 0..t {
            let iy = (j.by * m + r).wrapping_sub(j.pad_h);
            if iy < j.in_h {
                let row = std::slice::from_raw_parts(j.x.add(iy * j.in_w), j.in_w);
                let len = j.in_w.min(padded.len() - j.pad_w);
                padded[..j.pad_w].fill(0.0);
                padded[j.pad_w..j.pad_w + len].copy_from_slice(&row[..len]);
                padded[j.pad_w + len..].fill(0.0);
            } else {
                padded.fill(0.0);
            }
            let phases = std::slice::from_raw_parts_mut(j.phases.add(r * m * j.len_ph), m * j.len_ph);
            for (k, chunk) in padded.chunks_exact(W::M).enumerate() {
                for (ph, &v) in chunk.iter().enumerate() {
                    phases[ph * j.len_ph + k] = v;
                }
            }
        }
        for bx0 in (0..j.tw).step_by(l) {
            let n = (j.tw - bx0).min(l);
            let mut d = [[S::zero(); 6]; 6];
            for (r, d_r) in d.iter_mut().enumerate().take(t) {
                for (c, d_rc) in d_r.iter_mut().enumerate().take(t) {
                    *d_rc = S::load(j.phases.add((r * m + c % m) * j.len_ph + bx0 + c / m));
                }
            }
            // Columns of Bᵀ d, then rows of (Bᵀ d) B.
            let mut bd = [[S::zero(); 6]; 6];
            for (i, bd_i) in bd.iter_mut().enumerate().take(t) {
                for c in 0..t {
                    let col: [S::V; 6] = std::array::from_fn(|r| d[r][c]);
                    bd_i[c] = dot::<S>(&W::BT[i], &col, t);
                }
            }
            for (i, bd_i) in bd.iter().enumerate().take(t) {
                for jj in 0..t {
                    let v = dot::<S>(&W::BT[jj], bd_i, t);
                    let p = j.v.add((i * t + jj) * j.xi_stride + bx0);
                    if n == l {
                        S::store(p, v);
                    } else {
                        S::store_partial(p, v, n);
                    }
                }
            }
        }
    }
}

isa_entry! {
    /// `input_transform` for `isa`.
    unsafe fn input_transform_isa<W: Variant>(j: &InputRow) => input_transform
}

/// Output transform and epilogue of one block row of one output channel.
struct OutputRow {
    /// `C_0[oc][first block of the row]`; `C_ξ` follows at `ξ * xi_stride`.
    c: *const f32,
    xi_stride: usize,
    tw: usize,
    /// Scratch for `M * M` rows of `ylen` values.
    y: *mut f32,
    ylen: usize,
    /// The output channel plane and its residual (or null).
    out: *mut f32,
    residual: *const f32,
    oh: usize,
    ow: usize,
    by: usize,
    bias: f32,
    act: Option<Act>,
}

#[inline(always)]
unsafe fn output_transform<S: Simd, W: Variant>(o: &OutputRow) {
    let (m, t, l) = (W::M, W::T, S::LANES);
    unsafe {
        let bias = S::splat(o.bias);
        for bx0 in (0..o.tw).step_by(l) {
            let mut c = [[S::zero(); 6]; 6];
            for (i, c_i) in c.iter_mut().enumerate().take(t) {
                for (jj, c_ij) in c_i.iter_mut().enumerate().take(t) {
                    *c_ij = S::load(o.c.add((i * t + jj) * o.xi_stride + bx0));
                }
            }
            // (C A)ᵀ, then Aᵀ (C A) one output column at a time.
            let mut ca_t = [[S::zero(); 6]; 4];
            for (i, c_i) in c.iter().enumerate().take(t) {
                for (jp, ca_jp) in ca_t.iter_mut().enumerate().take(m) {
                    ca_jp[i] = dot::<S>(&W::AT[jp], c_i, t);
                }
            }
            for (ip, at) in W::AT.iter().enumerate().take(m) {
                for (jp, ca_jp) in ca_t.iter().enumerate().take(m) {
                    let y = S::add(dot::<S>(at, ca_jp, t), bias);
                    S::store(o.y.add((ip * m + jp) * o.ylen + bx0), y);
                }
            }
        }
        for ip in 0..m {
            let oy = o.by * m + ip;
            if oy >= o.oh {
                break;
            }
            let orow = std::slice::from_raw_parts_mut(o.out.add(oy * o.ow), o.ow);
            let y = std::slice::from_raw_parts(o.y.add(ip * m * o.ylen), m * o.ylen);
            // Interleave the `m` column phases back into the row (raw pointers: without bounds
            // checks the loop vectorizes).
            let (yp, op) = (y.as_ptr(), orow.as_mut_ptr());
            for bx in 0..o.ow / m {
                for jp in 0..m {
                    *op.add(bx * m + jp) = *yp.add(jp * o.ylen + bx);
                }
            }
            for ox in o.ow / m * m..o.ow {
                orow[ox] = y[(ox % m) * o.ylen + ox / m];
            }
            if !o.residual.is_null() {
                let res = std::slice::from_raw_parts(o.residual.add(oy * o.ow), o.ow);
                for (v, r) in orow.iter_mut().zip(res) {
                    *v += r;
                }
            }
            if let Some(act) = o.act {
                let n = o.ow / S::LANES * S::LANES;
                for v in orow[..n].chunks_exact_mut(S::LANES) {
                    S::store(v.as_mut_ptr(), act.apply_simd::<S>(S::load(v.as_ptr())));
                }
                for v in &mut orow[n..] {
                    *v = act.apply(*v);
                }
            }
        }
    }
}

isa_entry! {
    /// `output_transform` for `isa`.
    unsafe fn output_transform_isa<W: Variant>(o: &OutputRow) => output_transform
}

impl WinogradConv {
    /// Whether `g` is a convolution Winograd applies to: 3x3, stride 1.
    pub fn supports(g: &Conv2d) -> bool {
        g.kh == 3 && g.kw == 3 && g.stride_h == 1 && g.stride_w == 1
    }

    /// The convolution's geometry.
    pub fn geometry(&self) -> &Conv2d {
        &self.g
    }

    /// Transforms and packs `weight` (`[out_c, in_c, 3, 3]`) for the best ISA of this CPU.
    pub fn new(g: Conv2d, weight: &[f32], tile: WinogradTile) -> WinogradConv {
        WinogradConv::with_isa(g, weight, tile, Isa::detect())
    }

    /// Like [`WinogradConv::new`] for a given instruction set (panics if the CPU lacks it).
    pub fn with_isa(g: Conv2d, weight: &[f32], tile: WinogradTile, isa: Isa) -> WinogradConv {
        assert!(WinogradConv::supports(&g), "Winograd needs a 3x3 stride-1 convolution, got {g:?}");
        assert!(isa.is_supported(), "{isa:?} kernels need CPU features this machine lacks");
        assert_eq!(weight.len(), g.weight_len(), "conv weight length");
        let u = match tile {
            WinogradTile::F2x2 => transform_weights::<F2>(&g, weight),
            WinogradTile::F4x4 => transform_weights::<F4>(&g, weight),
        };
        let u = u.iter().map(|u| PackedA::new(u, g.out_c, g.in_c, isa.mr(), KC)).collect();
        WinogradConv { g, isa, tile, u }
    }

    /// Convolves `batch` samples: `out = act(conv(x) + bias + residual)` on `threads` threads,
    /// with the same layouts as [`super::GemmConv::run`].
    pub fn run(&self, batch: usize, x: &[f32], ep: &Epilogue, out: &mut [f32], threads: usize) {
        self.g.check(batch, x, None, ep, out);
        if out.is_empty() {
            return;
        }
        match self.tile {
            WinogradTile::F2x2 => self.run_variant::<F2>(batch, x, ep, out, threads),
            WinogradTile::F4x4 => self.run_variant::<F4>(batch, x, ep, out, threads),
        }
    }

    fn run_variant<W: Variant>(&self, batch: usize, x: &[f32], ep: &Epilogue, out: &mut [f32], threads: usize) {
        let g = &self.g;
        let (tiles_h, tiles_w) = (g.out_h().div_ceil(W::M), g.out_w().div_ceil(W::M));
        // Block rows of the whole batch, sample after sample: a task's rows may span samples, so
        // that small maps still give the GEMMs wide enough tiles.
        let total_rows = batch * tiles_h;
        let mut rows_per_task = BLOCKS.div_ceil(tiles_w);
        while rows_per_task > 1 && total_rows.div_ceil(rows_per_task) < 2 * threads {
            rows_per_task = rows_per_task.div_ceil(2);
        }
        let out = SyncPtr(out.as_mut_ptr());
        parallel_for(threads, total_rows.div_ceil(rows_per_task), &|task| {
            let rows = task * rows_per_task..((task + 1) * rows_per_task).min(total_rows);
            SCRATCH.with_borrow_mut(|s| {
                // SAFETY: the task writes only the output rows of its block rows.
                unsafe { self.run_task::<W>(s, x, rows, tiles_h, tiles_w, ep, out) }
            });
        });
    }

    /// One task: block rows `rows` of the batch (row `r` is block row `r % tiles_h` of sample
    /// `r / tiles_h`).
    #[allow(clippy::too_many_arguments)]
    unsafe fn run_task<W: Variant>(
        &self,
        s: &mut Scratch,
        x: &[f32],
        rows: std::ops::Range<usize>,
        tiles_h: usize,
        tw: usize,
        ep: &Epilogue,
        out: SyncPtr,
    ) {
        let (g, isa) = (&self.g, self.isa);
        let (m, tt) = (W::M, W::T * W::T);
        let blocks = rows.len() * tw;
        let (mr, nr, lanes) = (isa.mr(), isa.nr(), isa.lanes());
        let ldb = ((blocks + SLACK).div_ceil(16) | 1) * 16;
        let len_ph = tw + 1 + SLACK;
        let ylen = tw + SLACK;
        s.v.resize(s.v.len().max(tt * g.in_c * ldb), 0.0);
        s.c.resize(s.c.len().max(tt * g.out_c * ldb), 0.0);
        s.phases.resize(s.phases.len().max((W::T + 1) * m * len_ph), 0.0);
        s.y.resize(s.y.len().max(m * m * ylen), 0.0);

        let plane = g.in_h * g.in_w;
        for ic in 0..g.in_c {
            for (rr, row) in rows.clone().enumerate() {
                let (sample, by) = (row / tiles_h, row % tiles_h);
                let job = InputRow {
                    x: x[sample * g.in_len() + ic * plane..].as_ptr(),
                    in_h: g.in_h,
                    in_w: g.in_w,
                    pad_h: g.pad_h,
                    pad_w: g.pad_w,
                    by,
                    tw,
                    phases: s.phases.as_mut_ptr(),
                    len_ph,
                    v: s.v[ic * ldb + rr * tw..].as_mut_ptr(),
                    xi_stride: g.in_c * ldb,
                };
                // SAFETY: the job's pointers cover the plane and the scratch sized above.
                unsafe { input_transform_isa::<W>(isa, &job) };
            }
        }

        // t² GEMMs: C_ξ = U_ξ V_ξ.
        for (xi, u) in self.u.iter().enumerate() {
            for kb in 0..u.k_blocks() {
                let k0 = kb * u.kc();
                for col0 in (0..blocks).step_by(nr) {
                    let cols = (blocks - col0).min(nr);
                    let nv = cols.div_ceil(lanes);
                    let rows_per_call = mr * (isa.nv() / nv);
                    for i in (0..g.out_c).step_by(rows_per_call) {
                        let rows = (g.out_c - i).min(rows_per_call);
                        let (a, a_panel) = u.block(kb, i);
                        let tile = Tile {
                            a,
                            a_panel,
                            panels: rows.div_ceil(mr),
                            b: s.v[(xi * g.in_c + k0) * ldb + col0..].as_ptr(),
                            ldb,
                            kc: u.depth(kb),
                            c: s.c[(xi * g.out_c + i) * ldb + col0..].as_mut_ptr(),
                            ldc: ldb,
                            col_at: contiguous_cols(lanes),
                            rows,
                            cols,
                            nv,
                            accumulate: kb > 0,
                            last: false,
                            bias: std::ptr::null(),
                            residual: std::ptr::null(),
                            act: None,
                        };
                        // SAFETY: the tile lies within `u`, `v` and `c`.
                        unsafe { run_tile(isa, &tile) };
                    }
                }
            }
        }

        let (oh, ow) = (g.out_h(), g.out_w());
        for oc in 0..g.out_c {
            for (rr, row) in rows.clone().enumerate() {
                let (sample, by) = (row / tiles_h, row % tiles_h);
                let plane_at = (sample * g.out_c + oc) * oh * ow;
                let job = OutputRow {
                    c: s.c[oc * ldb + rr * tw..].as_ptr(),
                    xi_stride: g.out_c * ldb,
                    tw,
                    y: s.y.as_mut_ptr(),
                    ylen,
                    // SAFETY: in bounds of the output; this task alone writes these rows.
                    out: unsafe { out.get().add(plane_at) },
                    residual: ep.residual.map_or(std::ptr::null(), |r| r[plane_at..].as_ptr()),
                    oh,
                    ow,
                    by,
                    bias: ep.bias.map_or(0.0, |b| b[oc]),
                    act: ep.act,
                };
                // SAFETY: the job's pointers cover the scratch sized above and the output plane.
                unsafe { output_transform_isa::<W>(isa, &job) };
            }
        }
    }
}

/// `U_ξ[o][i] = (G w[o][i] Gᵀ)[ξ]` for every ξ, computed in `f64`.
fn transform_weights<W: Variant>(g: &Conv2d, weight: &[f32]) -> Vec<Vec<f32>> {
    let t = W::T;
    let mut u = vec![vec![0.0f32; g.out_c * g.in_c]; t * t];
    for (oi, w) in weight.chunks_exact(9).enumerate() {
        let mut gw = [[0.0f64; 3]; 6];
        for (r, gw_r) in gw.iter_mut().enumerate().take(t) {
            for (b, v) in gw_r.iter_mut().enumerate() {
                *v = (0..3).map(|a| W::G[r][a] * f64::from(w[a * 3 + b])).sum();
            }
        }
        for r in 0..t {
            for c in 0..t {
                u[r * t + c][oi] = (0..3).map(|b| gw[r][b] * W::G[c][b]).sum::<f64>() as f32;
            }
        }
    }
    u
}
