//! Convolution as a GEMM: `C[out_c x pixels] = W[out_c x K] * im2col(x)[K x pixels]`, with
//! `K = in_c * kh * kw` and the pixels of the whole batch side by side as the columns.
//!
//! Weights are packed once, in K blocks of `MR`-row panels ([`PackedA`]). At run time the
//! columns are cut into tiles (a tile may span samples, so that the small late layers of a
//! network, a few pixels per sample, still make wide tiles and read their weights once per batch
//! rather than once per sample). Each task takes a tile and a range of output channels; for each
//! block of K it packs its slice of the im2col matrix straight from the input (by runs of input
//! rows, or through a table of tap offsets when output rows are short; the full im2col matrix is
//! never built), then sweeps the micro-kernel over the tile, each `NR`-column
//! micro-panel of B staying in L1 while the task's weight block streams from L2. Bias, residual
//! and ReLU are applied as the last K block is stored.

use std::cell::RefCell;
use std::ops::Range;

use super::gemm::{PackedA, Tile, run_tile};
use super::simd::Isa;
use crate::kernels::geometry::valid_range;
use crate::kernels::threads::{SyncPtr, parallel_for};
use crate::kernels::{Conv2d, Epilogue};

/// Largest K block: `KC * NR` floats of B should stay in L1.
const KC: usize = 256;
/// Target columns (pixels) per task tile.
const NC: usize = 384;

/// A convolution computed as im2col-GEMM, its weights packed for the micro-kernel.
#[derive(Clone, Debug)]
pub struct GemmConv {
    g: Conv2d,
    /// The geometry im2col packs from ([`im2col_view`]).
    view: Conv2d,
    isa: Isa,
    /// The weights as the `out_c x K` matrix A.
    a: PackedA,
    /// The [`tap_table`] of `view`, for narrow outputs.
    taps: Option<Vec<u32>>,
}

/// How one run is cut into tasks and blocks.
struct Plan {
    /// GEMM depth `in_c * kh * kw`.
    k: usize,
    /// Output pixels per sample.
    n: usize,
    /// Columns of the whole batch: `batch * n`.
    total: usize,
    /// Columns per tile (a multiple of `NR`).
    nc: usize,
    n_tiles: usize,
    /// Row stride of a packed B tile.
    ldb: usize,
    /// Output channels per task (a multiple of `MR`).
    mc: usize,
    m_chunks: usize,
    /// Pack each tile's B once into a shared buffer, then split output channels among tasks
    /// (when there are fewer tiles than threads); otherwise each task packs its own tile.
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
        let view = im2col_view(g);
        GemmConv {
            g,
            view,
            taps: (view.out_w() < GATHER_MAX_WIDTH
                && view.kh * view.kw * view.out_h() * view.out_w() <= GATHER_MAX_TABLE)
                .then(|| tap_table(&view)),
            isa,
            a: PackedA::new(weight, g.out_c, g.in_c * g.kh * g.kw, isa.mr(), KC),
        }
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
        let total = batch * n;
        // Tiles of about `NC` columns, all of the same width.
        let nc = total.div_ceil(total.div_ceil(NC)).div_ceil(nr) * nr;
        let n_tiles = total.div_ceil(nc);
        // An odd number of cache lines, so that the rows of a micro-panel use every L1 set.
        let ldb = (nc.div_ceil(16) | 1) * 16;
        let shared = threads > 1 && n_tiles < 2 * threads;
        let mut mc = g.out_c.div_ceil(mr) * mr;
        while shared && n_tiles * g.out_c.div_ceil(mc) < 4 * threads && mc > 2 * mr {
            mc = (mc / 2).div_ceil(mr) * mr;
        }
        let m_chunks = g.out_c.div_ceil(mc);
        Plan { k, n, total, nc, n_tiles, ldb, mc, m_chunks, shared }
    }

    /// Convolves `batch` samples: `out = act(conv(x) + bias + residual)` on `threads` threads.
    /// `x` is `[batch, in_c, in_h, in_w]`, `out` and `ep.residual` `[batch, out_c, out_h, out_w]`.
    pub fn run(&self, batch: usize, x: &[f32], ep: &Epilogue, out: &mut [f32], threads: usize) {
        self.g.check(batch, x, None, ep, out);
        if out.is_empty() {
            return;
        }
        let p = self.plan(batch, threads);
        let (kc, k_blocks) = (self.a.kc(), self.a.k_blocks());
        let out = SyncPtr(out.as_mut_ptr());
        if !p.shared {
            parallel_for(threads, p.n_tiles, &|tile| {
                B_BUF.with_borrow_mut(|buf| {
                    buf.resize(buf.len().max(p.ldb * kc), 0.0);
                    for kb in 0..k_blocks {
                        self.pack_block(&p, x, tile, kb, buf);
                        // SAFETY: each task writes its own columns of `out`.
                        unsafe { self.compute_block(&p, ep, tile, 0..self.g.out_c, kb, buf.as_ptr(), out) };
                    }
                });
            });
            return;
        }
        SHARED_B.with_borrow_mut(|buf| {
            let tile_len = p.k * p.ldb;
            buf.resize(buf.len().max(p.n_tiles * tile_len), 0.0);
            let b = SyncPtr(buf.as_mut_ptr());
            parallel_for(threads, p.n_tiles * k_blocks, &|task| {
                let (tile, kb) = (task / k_blocks, task % k_blocks);
                // SAFETY: each task packs its own K block of its own tile.
                let dst = unsafe {
                    std::slice::from_raw_parts_mut(b.get().add(tile * tile_len + kb * kc * p.ldb), kc * p.ldb)
                };
                self.pack_block(&p, x, tile, kb, dst);
            });
            parallel_for(threads, p.n_tiles * p.m_chunks, &|task| {
                let (tile, chunk) = (task / p.m_chunks, task % p.m_chunks);
                let m = chunk * p.mc..((chunk + 1) * p.mc).min(self.g.out_c);
                for kb in 0..k_blocks {
                    // SAFETY: each task writes its own (channel range, tile) block of `out`;
                    // the packed tiles are complete and only read.
                    unsafe {
                        self.compute_block(
                            &p,
                            ep,
                            tile,
                            m.clone(),
                            kb,
                            b.get().add(tile * tile_len + kb * kc * p.ldb),
                            out,
                        )
                    };
                }
            });
        });
    }

    /// The columns of a tile (pixels of the whole batch, sample after sample).
    fn tile_cols(&self, p: &Plan, tile: usize) -> Range<usize> {
        tile * p.nc..((tile + 1) * p.nc).min(p.total)
    }

    /// Packs K block `kb` of a tile's im2col matrix into `dst` (rows `ldb` apart), one run of
    /// columns for each sample the tile covers.
    fn pack_block(&self, p: &Plan, x: &[f32], tile: usize, kb: usize, dst: &mut [f32]) {
        let cols = self.tile_cols(p, tile);
        let k0 = kb * self.a.kc();
        let k = k0..k0 + self.a.depth(kb);
        let mut col = cols.start;
        while col < cols.end {
            let (sample, first) = (col / p.n, col % p.n);
            let len = (p.n - first).min(cols.end - col);
            let x = &x[sample * self.g.in_len()..][..self.g.in_len()];
            let dst = &mut dst[col - cols.start..];
            match &self.taps {
                Some(taps) => pack_gather(&self.view, taps, x, k.clone(), first..first + len, p.ldb, dst),
                None => pack_im2col(&self.view, x, k.clone(), first..first + len, p.ldb, dst),
            }
            col += len;
        }
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
        m: Range<usize>,
        kb: usize,
        b: *const f32,
        out: SyncPtr,
    ) {
        let (mr, nr, lanes) = (self.isa.mr(), self.isa.nr(), self.isa.lanes());
        let cols = self.tile_cols(p, tile);
        let out_len = self.g.out_len();
        let mut col0 = cols.start;
        while col0 < cols.end {
            // A micro-panel whose vectors each lie in one sample: it may span samples only when
            // every sample's pixels fill whole vectors.
            let mut end = (col0 + nr).min(cols.end);
            if !p.n.is_multiple_of(lanes) {
                end = end.min((col0 / p.n + 1) * p.n);
            }
            let nv = (end - col0).div_ceil(lanes);
            let col_at = std::array::from_fn(|j| {
                let col = (col0 + j * lanes).min(end - 1);
                col / p.n * out_len + col % p.n
            });
            let rows_per_call = mr * (self.isa.nv() / nv);
            for i in m.clone().step_by(rows_per_call) {
                let rows = (m.end - i).min(rows_per_call);
                let (a, a_panel) = self.a.block(kb, i);
                let t = Tile {
                    a,
                    a_panel,
                    panels: rows.div_ceil(mr),
                    b: unsafe { b.add(col0 - cols.start) },
                    ldb: p.ldb,
                    kc: self.a.depth(kb),
                    c: unsafe { out.get().add(i * p.n) },
                    ldc: p.n,
                    col_at,
                    rows,
                    cols: end - col0,
                    nv,
                    accumulate: kb > 0,
                    last: kb + 1 == self.a.k_blocks(),
                    bias: ep.bias.map_or(std::ptr::null(), |b| b[i..].as_ptr()),
                    residual: ep.residual.map_or(std::ptr::null(), |r| r[i * p.n..].as_ptr()),
                    act: ep.act,
                };
                unsafe { run_tile(self.isa, &t) };
            }
            col0 = end;
        }
    }
}

/// The geometry im2col packs from: a 1x1, stride-1, unpadded convolution is viewed as one row
/// of `in_h * in_w` pixels, so that its packing is a plain copy of long runs.
fn im2col_view(g: Conv2d) -> Conv2d {
    if g.kh == 1 && g.kw == 1 && g.stride_h == 1 && g.stride_w == 1 && g.pad_h == 0 && g.pad_w == 0 {
        Conv2d { in_h: 1, in_w: g.in_h * g.in_w, ..g }
    } else {
        g
    }
}

/// Output rows narrower than this are packed with a [`tap_table`] rather than by runs.
const GATHER_MAX_WIDTH: usize = 16;
/// ... and whose [`tap_table`] has at most this many entries (4 MiB; a tall, narrow map packs by
/// runs instead).
const GATHER_MAX_TABLE: usize = 1 << 20;

/// For each kernel tap `(ky, kx)` and output pixel, the offset in an input channel plane that
/// the tap reads, or `u32::MAX` where it falls on the padding: `[tap][pixel]`.
fn tap_table(g: &Conv2d) -> Vec<u32> {
    let (oh, ow) = (g.out_h(), g.out_w());
    let mut table = Vec::with_capacity(g.kh * g.kw * oh * ow);
    for ky in 0..g.kh {
        for kx in 0..g.kw {
            for oy in 0..oh {
                for ox in 0..ow {
                    let iy = (oy * g.stride_h + ky).wrapping_sub(g.pad_h);
                    let ix = (ox * g.stride_w + kx).wrapping_sub(g.pad_w);
                    table.push(if iy < g.in_h && ix < g.in_w { (iy * g.in_w + ix) as u32 } else { u32::MAX });
                }
            }
        }
    }
    table
}

/// Like [`pack_im2col`], one element at a time through the [`tap_table`] `taps`: cheaper when
/// output rows are too short for runs to pay off.
fn pack_gather(g: &Conv2d, taps: &[u32], x: &[f32], k: Range<usize>, n: Range<usize>, ldb: usize, buf: &mut [f32]) {
    let (plane, pixels, per_channel) = (g.in_h * g.in_w, g.out_h() * g.out_w(), g.kh * g.kw);
    for (kk, kidx) in k.enumerate() {
        let (ic, tap) = (kidx / per_channel, kidx % per_channel);
        let xc = &x[ic * plane..][..plane];
        let at = &taps[tap * pixels..][n.clone()];
        for (d, &i) in buf[kk * ldb..][..n.len()].iter_mut().zip(at) {
            *d = xc.get(i as usize).copied().unwrap_or(0.0);
        }
    }
}

/// Packs rows `k` and columns `n` of the im2col matrix of one sample `x` into `buf`, row `k`
/// at `buf[(k - k.start) * ldb..]`. Each row is a few runs, one per output row the pixels cross:
/// a copy from one input row with zeros where the window hangs over the padding.
fn pack_im2col(g: &Conv2d, x: &[f32], k: Range<usize>, n: Range<usize>, ldb: usize, buf: &mut [f32]) {
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
