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

/// A convolution whose weights are packed for the GEMM micro-kernel.
#[derive(Clone, Debug)]
pub struct PackedConv {
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
    k: usize,
    n: usize,
    kc: usize,
    k_blocks: usize,
    nc: usize,
    n_tiles: usize,
    mc: usize,
    m_chunks: usize,
}

thread_local! {
    /// Per-thread packing buffer for B, reused across calls.
    static B_BUF: RefCell<Vec<f32>> = const { RefCell::new(Vec::new()) };
}

impl PackedConv {
    /// Packs `weight` (`[out_c, in_c, kh, kw]`) for the best instruction set of this CPU.
    pub fn new(g: Conv2d, weight: &[f32]) -> PackedConv {
        PackedConv::with_isa(g, weight, Isa::detect())
    }

    /// Packs `weight` for a given instruction set (panics if the CPU lacks it): lets tests and
    /// benchmarks compare the AVX-512, AVX2 and portable kernels.
    pub fn with_isa(g: Conv2d, weight: &[f32], isa: Isa) -> PackedConv {
        assert!(
            isa.is_supported(),
            "{isa:?} kernels need CPU features this machine lacks"
        );
        assert_eq!(weight.len(), g.weight_len(), "conv weight length");
        let view = if g.kh == 1
            && g.kw == 1
            && g.stride_h == 1
            && g.stride_w == 1
            && g.pad_h == 0
            && g.pad_w == 0
        {
            Conv2d {
                in_h: 1,
                in_w: g.in_h * g.in_w,
                ..g
            }
        } else {
            g
        };
        PackedConv {
            g,
            view,
            isa,
            a: pack_rows(weight, g.out_c, g.in_c * g.kh * g.kw, isa.mr()),
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
        let k_blocks = k.div_ceil(KC).max(1);
        let kc = k.div_ceil(k_blocks);
        let nc = (NC.div_ceil(nr) * nr).min(n.div_ceil(nr) * nr);
        let n_tiles = n.div_ceil(nc);
        let mut mc = g.out_c.div_ceil(mr) * mr;
        // Split output channels when there are too few pixel tiles to keep every thread busy.
        while batch * n_tiles * g.out_c.div_ceil(mc) < 4 * threads && mc > 4 * mr {
            mc = (mc / 2).div_ceil(mr) * mr;
        }
        Plan {
            k,
            n,
            kc,
            k_blocks,
            nc,
            n_tiles,
            mc,
            m_chunks: g.out_c.div_ceil(mc),
        }
    }

    /// Convolves `batch` samples: `out = act(conv(x) + bias + residual)` on `threads` threads.
    /// `x` is `[batch, in_c, in_h, in_w]`, `out` and `ep.residual` `[batch, out_c, out_h, out_w]`.
    pub fn run(&self, batch: usize, x: &[f32], ep: &Epilogue, out: &mut [f32], threads: usize) {
        let g = &self.g;
        g.check(batch, x, None, ep, out);
        if out.is_empty() {
            return;
        }
        let p = self.plan(batch, threads);
        let out_ptr = SyncPtr(out.as_mut_ptr());
        let tasks = batch * p.m_chunks * p.n_tiles;
        parallel_for(threads, tasks, &|task| {
            let tile = task % p.n_tiles;
            let chunk = task / p.n_tiles % p.m_chunks;
            let sample = task / p.n_tiles / p.m_chunks;
            let n0 = tile * p.nc;
            let m0 = chunk * p.mc;
            let x = &x[sample * g.in_len()..][..g.in_len()];
            let offset = sample * g.out_len();
            B_BUF.with_borrow_mut(|buf| {
                // SAFETY: tasks write disjoint (sample, channel range, pixel tile) blocks of `out`.
                unsafe {
                    self.run_task(
                        &p,
                        x,
                        ep,
                        out_ptr.get().add(offset),
                        offset,
                        m0..(m0 + p.mc).min(g.out_c),
                        n0..(n0 + p.nc).min(p.n),
                        buf,
                    )
                };
            });
        });
    }

    /// One task: output channels `m` and pixels `n` of the sample whose output starts at `c`
    /// (element `offset` of the whole output).
    #[allow(clippy::too_many_arguments)]
    unsafe fn run_task(
        &self,
        p: &Plan,
        x: &[f32],
        ep: &Epilogue,
        c: *mut f32,
        offset: usize,
        m: std::ops::Range<usize>,
        n: std::ops::Range<usize>,
        buf: &mut Vec<f32>,
    ) {
        let (mr, nr, lanes) = (self.isa.mr(), self.isa.nr(), self.isa.lanes());
        let width = n.len();
        let panels = width.div_ceil(nr);
        // Row stride of the packed B tile: an odd number of cache lines, so that the rows of one
        // micro-panel spread over all L1 sets.
        let ldb = (panels * nr).div_ceil(16) | 1;
        let ldb = ldb * 16;
        buf.resize(buf.len().max(ldb * p.kc), 0.0);
        for kb in 0..p.k_blocks {
            let k0 = kb * p.kc;
            let kc = p.kc.min(p.k - k0);
            pack_im2col(&self.view, x, k0..k0 + kc, n.clone(), ldb, buf);
            for j in 0..panels {
                let cols = (width - j * nr).min(nr);
                let col0 = n.start + j * nr;
                for i in (m.start..m.end).step_by(mr) {
                    let at = i * p.n + col0;
                    let t = Tile {
                        a: self.a[(i * p.k + k0 * mr)..].as_ptr(),
                        b: buf[j * nr..].as_ptr(),
                        ldb,
                        kc,
                        c: unsafe { c.add(at) },
                        ldc: p.n,
                        rows: (m.end - i).min(mr),
                        cols,
                        nv: cols.div_ceil(lanes),
                        accumulate: kb > 0,
                        last: kb + 1 == p.k_blocks,
                        bias: ep.bias.map_or(std::ptr::null(), |b| b[i..].as_ptr()),
                        residual: ep
                            .residual
                            .map_or(std::ptr::null(), |r| r[offset + at..].as_ptr()),
                        relu: ep.relu,
                    };
                    unsafe { run_tile(self.isa, &t) };
                }
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
        let mut q = n.start;
        while q < n.end {
            let (oy, ox0) = (q / ow, q % ow);
            let len = (ow - ox0).min(n.end - q);
            let d = &mut dst_row[q - n.start..][..len];
            q += len;
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
