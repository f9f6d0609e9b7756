//! Convolution as a GEMM: `C[out_c x pixels] = W[out_c x K] * im2col(x)[K x pixels]` per sample,
//! with `K = in_c * kh * kw`.
//!
//! Weights are packed once into `MR`-row panels. At run time each task takes one sample, one tile
//! of output pixels and a range of output channels; for each block of K it packs its slice of the
//! im2col matrix straight from the input (the full im2col matrix is never built), then sweeps the
//! micro-kernel over the tile, each `NR`-column micro-panel of B staying in L1 while the weight
//! panels stream from L2. Bias, residual and ReLU are applied as the last K block is stored.

use std::cell::RefCell;

use super::gemm::{Tile, run_tile};
use super::simd::Isa;
use crate::kernels::geometry::valid_range;
use crate::kernels::pool::{SyncPtr, parallel_for};
use crate::kernels::{Conv2d, Epilogue};

/// Largest K block: `KC * NR` floats of B should stay in L1.
const KC: usize = 256;
/// Target pixels per task tile.
const NC: usize = 384;

/// A convolution computed as im2col-GEMM, its weights packed for the micro-kernel.
#[derive(Clone, Debug)]
pub struct GemmConv {
    g: Conv2d,
    /// The geometry im2col packs from: a 1x1, stride-1, unpadded convolution is viewed as one
    /// row of `in_h * in_w` pixels, so its packing is a plain copy of long runs.
    view: Conv2d,
    isa: Isa,
    /// Weights in panels of `MR` output channels: `[panel][k][MR]`, zero-padded rows.
    a: Vec<f32>,
}

/// How one run is cut into tasks and blocks.
struct Plan {
    /// GEMM depth `in_c * kh * kw`.
    k: usize,
    /// Output pixels per sample.
    n: usize,
    /// K block depth (the last block may be shorter).
    kc: usize,
    k_blocks: usize,
    /// Pixels per tile.
    nc: usize,
    n_tiles: usize,
    /// Row stride of a packed B tile.
    ldb: usize,
    /// Output channels per task (a multiple of `MR`).
    mc: usize,
    m_chunks: usize,
    /// Pack each tile's B once into a shared buffer, then split output channels among tasks
    /// (when there are fewer pixel tiles than threads); otherwise each task packs its own tile.
    shared: bool,
}

thread_local! {
    /// Per-thread packing buffer for B, reused across calls.
    static B_BUF: RefCell<Vec<f32>> = const { RefCell::new(Vec::new()) };
    /// The caller's buffer for B tiles shared by all threads.
    static SHARED_B: RefCell<Vec<f32>> = const { RefCell::new(Vec::new()) };
}

impl GemmConv {
    /// Packs `weight` (`[out_c, in_c, kh, kw]`) for the best instruction set of this CPU.
    pub fn new(g: Conv2d, weight: &[f32]) -> GemmConv {
        GemmConv::with_isa(g, weight, Isa::detect())
    }

    /// Packs `weight` for a given instruction set (panics if the CPU lacks it): lets tests and
    /// benchmarks compare the AVX-512, AVX2 and portable kernels.
    pub fn with_isa(g: Conv2d, weight: &[f32], isa: Isa) -> GemmConv {
        assert!(isa.is_supported(), "{isa:?} kernels need CPU features this machine lacks");
        assert_eq!(weight.len(), g.weight_len(), "conv weight length");
        let view = if g.kh == 1 && g.kw == 1 && g.stride_h == 1 && g.stride_w == 1 && g.pad_h == 0 && g.pad_w == 0 {
            Conv2d { in_h: 1, in_w: g.in_h * g.in_w, ..g }
        } else {
            g
        };
        GemmConv { g, view, isa, a: pack_rows(weight, g.out_c, g.in_c * g.kh * g.kw, isa.mr()) }
    }

    /// The convolution's geometry.
    pub fn geometry(&self) -> &Conv2d {
        &self.g
    }

    /// The instruction set the weights were packed for.
    pub fn isa(&self) -> Isa {
        self.isa
    }

    fn plan(&self, batch: usize, threads: usize) -> Plan {
        let g = &self.g;
        let (mr, nr) = (self.isa.mr(), self.isa.nr());
        let k = g.in_c * g.kh * g.kw;
        let n = g.out_h() * g.out_w();
        let k_blocks = k.div_ceil(KC).max(1);
        let kc = k.div_ceil(k_blocks);
        let nc = (NC.div_ceil(nr) * nr).min(n.div_ceil(nr) * nr);
        let n_tiles = n.div_ceil(nc);
        // An odd number of cache lines, so that the rows of a micro-panel use every L1 set.
        let ldb = (nc.div_ceil(16) | 1) * 16;
        let shared = threads > 1 && batch * n_tiles < 2 * threads;
        let mut mc = g.out_c.div_ceil(mr) * mr;
        while shared && batch * n_tiles * g.out_c.div_ceil(mc) < 4 * threads && mc > 2 * mr {
            mc = (mc / 2).div_ceil(mr) * mr;
        }
        let m_chunks = g.out_c.div_ceil(mc);
        Plan { k, n, kc, k_blocks, nc, n_tiles, ldb, mc, m_chunks, shared }
    }

    /// Convolves `batch` samples: `out = act(conv(x) + bias + residual)` on `threads` threads.
    /// `x` is `[batch, in_c, in_h, in_w]`, `out` and `ep.residual` `[batch, out_c, out_h, out_w]`.
    pub fn run(&self, batch: usize, x: &[f32], ep: &Epilogue, out: &mut [f32], threads: usize) {
        self.g.check(batch, x, None, ep, out);
        if out.is_empty() {
            return;
        }
        let p = self.plan(batch, threads);
        let out = SyncPtr(out.as_mut_ptr());
        let tiles = batch * p.n_tiles;
        if !p.shared {
            parallel_for(threads, tiles, &|tile| {
                B_BUF.with_borrow_mut(|buf| {
                    buf.resize(buf.len().max(p.ldb * p.kc), 0.0);
                    for kb in 0..p.k_blocks {
                        self.pack_block(&p, x, tile, kb, buf);
                        // SAFETY: each task writes its own pixel tile of `out`.
                        unsafe { self.compute_block(&p, ep, tile, 0..self.g.out_c, kb, buf.as_ptr(), out) };
                    }
                });
            });
            return;
        }
        SHARED_B.with_borrow_mut(|buf| {
            let tile_len = p.k * p.ldb;
            buf.resize(buf.len().max(tiles * tile_len), 0.0);
            let b = SyncPtr(buf.as_mut_ptr());
            parallel_for(threads, tiles * p.k_blocks, &|task| {
                let (tile, kb) = (task / p.k_blocks, task % p.k_blocks);
                // SAFETY: each task packs its own K block of its own tile.
                let dst = unsafe {
                    std::slice::from_raw_parts_mut(b.get().add(tile * tile_len + kb * p.kc * p.ldb), p.kc * p.ldb)
                };
                self.pack_block(&p, x, tile, kb, dst);
            });
            parallel_for(threads, tiles * p.m_chunks, &|task| {
                let (tile, chunk) = (task / p.m_chunks, task % p.m_chunks);
                let m = chunk * p.mc..((chunk + 1) * p.mc).min(self.g.out_c);
                for kb in 0..p.k_blocks {
                    // SAFETY: each task writes its own (channel range, pixel tile) block of `out`;
                    // the packed tiles are complete and only read.
                    unsafe {
                        self.compute_block(
                            &p,
                            ep,
                            tile,
                            m.clone(),
                            kb,
                            b.get().add(tile * tile_len + kb * p.kc * p.ldb),
                            out,
                        )
                    };
                }
            });
        });
    }

    /// Sample and pixel range of a tile index (which counts pixel tiles over the whole batch).
    fn tile_range(&self, p: &Plan, tile: usize) -> (usize, std::ops::Range<usize>) {
        let (sample, t) = (tile / p.n_tiles, tile % p.n_tiles);
        (sample, t * p.nc..((t + 1) * p.nc).min(p.n))
    }

    /// Packs K block `kb` of a tile's im2col matrix into `dst` (rows `ldb` apart).
    fn pack_block(&self, p: &Plan, x: &[f32], tile: usize, kb: usize, dst: &mut [f32]) {
        let (sample, n) = self.tile_range(p, tile);
        let k0 = kb * p.kc;
        let x = &x[sample * self.g.in_len()..][..self.g.in_len()];
        pack_im2col(&self.view, x, k0..(k0 + p.kc).min(p.k), n, p.ldb, dst);
    }

    /// Multiplies output channels `m` of the weights by K block `kb` of a tile packed at `b`,
    /// accumulating into `out` (the whole output) and applying the epilogue after the last block.
    ///
    /// # Safety
    /// `b` must hold the packed block and `out` the whole output; no other thread may access the
    /// (channels `m`, tile) block of `out` meanwhile.
    #[allow(clippy::too_many_arguments)]
    unsafe fn compute_block(
        &self,
        p: &Plan,
        ep: &Epilogue,
        tile: usize,
        m: std::ops::Range<usize>,
        kb: usize,
        b: *const f32,
        out: SyncPtr,
    ) {
        let (mr, nr, lanes) = (self.isa.mr(), self.isa.nr(), self.isa.lanes());
        let (sample, n) = self.tile_range(p, tile);
        let offset = sample * self.g.out_len();
        let k0 = kb * p.kc;
        let kc = p.kc.min(p.k - k0);
        for col0 in n.clone().step_by(nr) {
            let cols = (n.end - col0).min(nr);
            let nv = cols.div_ceil(lanes);
            let rows_per_call = mr * (self.isa.nv() / nv);
            for i in m.clone().step_by(rows_per_call) {
                let rows = (m.end - i).min(rows_per_call);
                let at = offset + i * p.n + col0;
                let t = Tile {
                    a: self.a[(i * p.k + k0 * mr)..].as_ptr(),
                    a_panel: p.k * mr,
                    panels: rows.div_ceil(mr),
                    b: unsafe { b.add(col0 - n.start) },
                    ldb: p.ldb,
                    kc,
                    c: unsafe { out.get().add(at) },
                    ldc: p.n,
                    rows,
                    cols,
                    nv,
                    accumulate: kb > 0,
                    last: kb + 1 == p.k_blocks,
                    bias: ep.bias.map_or(std::ptr::null(), |b| b[i..].as_ptr()),
                    residual: ep.residual.map_or(std::ptr::null(), |r| r[at..].as_ptr()),
                    relu: ep.relu,
                };
                unsafe { run_tile(self.isa, &t) };
            }
        }
    }
}

/// Packs the `rows x cols` row-major matrix `w` into panels of `mr` rows: `[panel][col][mr]`,
/// padding the last panel with zero rows.
pub(crate) fn pack_rows(w: &[f32], rows: usize, cols: usize, mr: usize) -> Vec<f32> {
    let panels = rows.div_ceil(mr);
    let mut a = vec![0.0; panels * cols * mr];
    for (r, row) in w.chunks_exact(cols).enumerate() {
        let panel = &mut a[(r / mr) * cols * mr..][..cols * mr];
        for (k, &v) in row.iter().enumerate() {
            panel[k * mr + r % mr] = v;
        }
    }
    a
}

/// Packs rows `k` and columns `n` of the im2col matrix of one sample `x` into `buf`, row `k`
/// at `buf[(k - k.start) * ldb..]`. Each row is a few runs, one per output row the pixels cross:
/// a copy from one input row with zeros where the window hangs over the padding.
fn pack_im2col(
    g: &Conv2d,
    x: &[f32],
    k: std::ops::Range<usize>,
    n: std::ops::Range<usize>,
    ldb: usize,
    buf: &mut [f32],
) {
    let ow = g.out_w();
    let plane = g.in_h * g.in_w;
    for (kk, kidx) in k.enumerate() {
        let (ic, kyx) = (kidx / (g.kh * g.kw), kidx % (g.kh * g.kw));
        let (ky, kx) = (kyx / g.kw, kyx % g.kw);
        let xc = &x[ic * plane..][..plane];
        let (lo, hi) = valid_range(ow, g.in_w, kx, g.stride_w, g.pad_w);
        let dst_row = &mut buf[kk * ldb..][..n.len()];
        let mut at = 0;
        for oy in n.start / ow..=(n.end - 1) / ow {
            let ox0 = if at == 0 { n.start % ow } else { 0 };
            let len = (ow - ox0).min(n.len() - at);
            let d = &mut dst_row[at..at + len];
            at += len;
            let iy = (oy * g.stride_h + ky).wrapping_sub(g.pad_h);
            if iy >= g.in_h {
                d.fill(0.0);
                continue;
            }
            let row = &xc[iy * g.in_w..][..g.in_w];
            let a = lo.clamp(ox0, ox0 + len) - ox0;
            let b = hi.clamp(ox0, ox0 + len) - ox0;
            d[..a].fill(0.0);
            d[b..].fill(0.0);
            if a < b {
                let ix = (ox0 + a) * g.stride_w + kx - g.pad_w;
                if g.stride_w == 1 {
                    d[a..b].copy_from_slice(&row[ix..ix + b - a]);
                } else {
                    for (o, &v) in d[a..b].iter_mut().zip(row[ix..].iter().step_by(g.stride_w)) {
                        *o = v;
                    }
                }
            }
        }
    }
}
