//! The register-blocked GEMM micro-kernel: `C[rows x cols] (+)= A_panel * B_panel`, with the
//! convolution epilogue (bias, residual, ReLU) fused into the store of the last K block.
//!
//! `A` (weights) is packed as `kc` steps of `MR` values, broadcast one at a time; `B` (input
//! pixels) as `kc` steps of `NV` vectors. The accumulators are `MR x NV` vector registers.

use super::simd::{Avx2, Avx512};
use super::simd::{Isa, Portable, Simd, isa_entry, prefetch};
#[cfg(target_arch = "x86_64")]
use crate::kernels::Act;
use crate::kernels::buffer::WeightBuf;

/// The micro-tile shape of one instruction set.
pub(crate) trait MicroTile: Simd {
    /// Rows of `C` (output channels) per tile.
    const MR: usize;
    /// Vectors of `C` columns (pixels) per tile.
    const NV: usize;
}

#[cfg(target_arch = "x86_64")]
impl MicroTile for Avx512 {
    const MR: usize = 8;
    const NV: usize = 3;
}

#[cfg(target_arch = "x86_64")]
impl MicroTile for Avx2 {
    const MR: usize = 6;
    const NV: usize = 2;
}

impl MicroTile for Portable {
    const MR: usize = 4;
    const NV: usize = 1;
}

/// The most rows a micro-tile can have: `MR * panels` of any instruction set (sizes the
/// accumulator array).
const MAX_ROWS: usize = 24;
/// How many K steps ahead the micro-kernel prefetches its A panels. A (the weights) is the
/// operand that streams from memory: the late layers of a network read megabytes of weights for
/// a few pixels, and the hardware prefetcher alone leaves them waiting on memory (measured on
/// 512->512 channels at 4x4, weights not in cache: about 0.5 ms without, 0.35 ms with).
const PREFETCH_STEPS: usize = 64;
/// The most column vectors a micro-tile can have: `NV` of any instruction set.
pub(crate) const MAX_NV: usize = 3;

/// A matrix (`rows x cols`, row-major) packed for the micro-kernel: cut into K blocks of `kc`
/// columns (the last may be shorter), each block stored as panels of `MR` rows, `[block][panel][k][MR]`,
/// with zero rows padding the last panel. A task that sweeps a range of rows over one K block
/// reads one contiguous run of memory.
#[derive(Clone, Debug)]
pub(crate) struct PackedA {
    data: WeightBuf,
    panels: usize,
    cols: usize,
    mr: usize,
    kc: usize,
}

impl PackedA {
    /// Packs `w` in K blocks of at most `max_kc` columns, all of the same depth but the last.
    pub(crate) fn new(w: &[f32], rows: usize, cols: usize, mr: usize, max_kc: usize) -> PackedA {
        assert_eq!(w.len(), rows * cols, "matrix length");
        let kc = cols.div_ceil(cols.div_ceil(max_kc).max(1)).max(1);
        let panels = rows.div_ceil(mr);
        let mut a = PackedA { data: WeightBuf::zeros(panels * mr * cols), panels, cols, mr, kc };
        for (r, row) in w.chunks_exact(cols).enumerate() {
            for kb in 0..a.k_blocks() {
                let k0 = kb * kc;
                let at = a.offset(kb, r - r % mr) + r % mr;
                for (k, &v) in row[k0..k0 + a.depth(kb)].iter().enumerate() {
                    a.data[at + k * mr] = v;
                }
            }
        }
        a
    }

    /// Number of K blocks.
    pub(crate) fn k_blocks(&self) -> usize {
        self.cols.div_ceil(self.kc)
    }

    /// Depth (columns of the matrix) of every K block but possibly the last.
    pub(crate) fn kc(&self) -> usize {
        self.kc
    }

    /// Depth of K block `kb`.
    pub(crate) fn depth(&self, kb: usize) -> usize {
        self.kc.min(self.cols - kb * self.kc)
    }

    fn offset(&self, kb: usize, row: usize) -> usize {
        kb * self.kc * self.panels * self.mr + row / self.mr * self.depth(kb) * self.mr
    }

    /// The panel holding `row` (a multiple of `MR`) in K block `kb`, and the distance between
    /// consecutive panels of that block: the `a` and `a_panel` of a [`Tile`].
    pub(crate) fn block(&self, kb: usize, row: usize) -> (*const f32, usize) {
        debug_assert_eq!(row % self.mr, 0);
        (self.data[self.offset(kb, row)..].as_ptr(), self.depth(kb) * self.mr)
    }
}

/// Column vector offsets of a tile whose columns are contiguous in C.
pub(crate) fn contiguous_cols(lanes: usize) -> [usize; MAX_NV] {
    std::array::from_fn(|j| j * lanes)
}

impl Isa {
    /// `(MR, NV, LANES)` of this instruction set's micro-tile.
    fn shape(self) -> (usize, usize, usize) {
        match self {
            #[cfg(target_arch = "x86_64")]
            Isa::Avx512 => (Avx512::MR, Avx512::NV, Avx512::LANES),
            #[cfg(target_arch = "x86_64")]
            Isa::Avx2 => (Avx2::MR, Avx2::NV, Avx2::LANES),
            _ => (Portable::MR, Portable::NV, Portable::LANES),
        }
    }

    /// Rows per micro-tile.
    pub(crate) fn mr(self) -> usize {
        self.shape().0
    }

    /// Column vectors per micro-tile.
    pub(crate) fn nv(self) -> usize {
        self.shape().1
    }

    /// `f32` lanes per vector.
    pub(crate) fn lanes(self) -> usize {
        self.shape().2
    }

    /// Columns per micro-tile.
    pub(crate) fn nr(self) -> usize {
        self.lanes() * self.nv()
    }
}

/// One micro-kernel call. Pointers are raw because tiles of one output are written by several
/// threads at once (disjoint regions).
pub(crate) struct Tile {
    /// Packed A: `kc` groups of `MR` values, for each of `panels` panels `a_panel` apart.
    pub a: *const f32,
    /// Distance between consecutive A panels.
    pub a_panel: usize,
    /// A panels (of `MR` rows each) to compute; `panels * nv <= NV`, so that narrow tiles
    /// (few pixels) are computed `MR * panels` rows at a time and still fill the registers.
    pub panels: usize,
    /// Packed B: `kc` rows of `ldb` values, of which the first `nv` vectors are used.
    pub b: *const f32,
    /// Distance between consecutive B rows.
    pub ldb: usize,
    /// Depth of this K block.
    pub kc: usize,
    /// The C tile's first row: column vector `j` of row `r` is at `c + r * ldc + col_at[j]`.
    pub c: *mut f32,
    /// Distance between C rows.
    pub ldc: usize,
    /// Where each column vector starts in a row of C (and of the residual): the vectors of one
    /// tile may lie in different samples of a batch.
    pub col_at: [usize; MAX_NV],
    /// Valid rows (`<= MR * panels`).
    pub rows: usize,
    /// Valid columns (`<= nv * LANES`; only the last vector may be partial).
    pub cols: usize,
    /// Column vectors to compute (`1..=NV`).
    pub nv: usize,
    /// Add to the values already in C (a K block after the first).
    pub accumulate: bool,
    /// Apply the epilogue (the last K block).
    pub last: bool,
    /// Bias for the tile's first row, or null.
    pub bias: *const f32,
    /// Residual element matching `c` (same `ldc` and `col_at`), or null.
    pub residual: *const f32,
    /// Applied after everything else.
    pub act: Option<Act>,
}

/// The kernel for exactly `NV` column vectors and `P` row panels.
#[inline(always)]
unsafe fn kernel<S: MicroTile, const NV: usize, const P: usize>(t: &Tile) {
    unsafe {
        let mut acc = [[S::zero(); NV]; MAX_ROWS];
        let (mut a, mut b) = (t.a, t.b);
        for _ in 0..t.kc {
            for p in 0..P {
                prefetch(a.wrapping_add(p * t.a_panel + PREFETCH_STEPS * S::MR));
            }
            let bv: [S::V; NV] = std::array::from_fn(|j| S::load(b.add(j * S::LANES)));
            for (r, acc_r) in acc.iter_mut().enumerate().take(P * S::MR) {
                let av = S::splat(*a.add(r / S::MR * t.a_panel + r % S::MR));
                for j in 0..NV {
                    acc_r[j] = S::fma(av, bv[j], acc_r[j]);
                }
            }
            a = a.add(S::MR);
            b = b.add(t.ldb);
        }
        for (r, acc_r) in acc.iter().enumerate().take(P * S::MR) {
            if r >= t.rows {
                break;
            }
            store_row::<S>(t, r, acc_r);
        }
    }
}

/// Stores row `r` of a tile: accumulates into C, applies the epilogue after the last K block.
#[inline(always)]
unsafe fn store_row<S: MicroTile>(t: &Tile, r: usize, acc: &[S::V]) {
    unsafe {
        let row = r * t.ldc;
        let bias = (t.last && !t.bias.is_null()).then(|| S::splat(*t.bias.add(r)));
        for (j, &v) in acc.iter().enumerate() {
            let col = j * S::LANES;
            if col >= t.cols {
                break;
            }
            let n = (t.cols - col).min(S::LANES);
            let at = row + t.col_at[j];
            let c = t.c.add(at);
            let mut v = v;
            if t.accumulate {
                v = S::add(v, S::load_n(c, n));
            }
            if t.last {
                if let Some(bias) = bias {
                    v = S::add(v, bias);
                }
                if !t.residual.is_null() {
                    v = S::add(v, S::load_n(t.residual.add(at), n));
                }
                if let Some(act) = t.act {
                    v = act.apply_simd::<S>(v);
                }
            }
            S::store_n(c, v, n);
        }
    }
}

/// Dispatches on the tile's vector and panel counts.
#[inline(always)]
unsafe fn tile_kernel<S: MicroTile>(t: &Tile) {
    debug_assert!(t.nv >= 1 && t.panels >= 1 && t.nv * t.panels <= S::NV && t.rows <= S::MR * t.panels);
    unsafe {
        match (t.nv, t.panels) {
            (1, 1) => kernel::<S, 1, 1>(t),
            (1, 2) => kernel::<S, 1, 2>(t),
            (1, _) => kernel::<S, 1, 3>(t),
            (2, _) => kernel::<S, 2, 1>(t),
            _ => kernel::<S, 3, 1>(t),
        }
    }
}

isa_entry! {
    /// Runs one micro-tile with the kernel of `isa` (which must be supported; every pointer valid
    /// for the extents the tile describes).
    pub(crate) unsafe fn run_tile(t: &Tile) => tile_kernel
}
