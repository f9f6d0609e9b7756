//! The register-blocked GEMM micro-kernel: `C[rows x cols] (+)= A_panel * B_panel`, with the
//! convolution epilogue (bias, residual, ReLU) fused into the store of the last K block.
//!
//! `A` (weights) is packed as `kc` steps of `MR` values, broadcast one at a time; `B` (input
//! pixels) as `kc` steps of `NV` vectors. The accumulators are `MR x NV` vector registers.

#[cfg(target_arch = "x86_64")]
use super::simd::{Avx2, Avx512};
use super::simd::{Isa, Portable, Simd, isa_entry};

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
    /// Top-left element of the C tile.
    pub c: *mut f32,
    /// Distance between C rows.
    pub ldc: usize,
    /// Valid rows (`<= MR * panels`).
    pub rows: usize,
    /// Valid columns (`<= nv * LANES`).
    pub cols: usize,
    /// Column vectors to compute (`1..=NV`).
    pub nv: usize,
    /// Add to the values already in C (a K block after the first).
    pub accumulate: bool,
    /// Apply the epilogue (the last K block).
    pub last: bool,
    /// Bias for the tile's first row, or null.
    pub bias: *const f32,
    /// Residual element matching `c` (same `ldc`), or null.
    pub residual: *const f32,
    /// ReLU after everything else.
    pub relu: bool,
}

/// The kernel for exactly `NV` column vectors and `P` row panels.
#[inline(always)]
unsafe fn kernel<S: MicroTile, const NV: usize, const P: usize>(t: &Tile) {
    unsafe {
        let mut acc = [[S::zero(); NV]; MAX_ROWS];
        let (mut a, mut b) = (t.a, t.b);
        for _ in 0..t.kc {
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
        let c = t.c.add(r * t.ldc);
        let bias = (t.last && !t.bias.is_null()).then(|| S::splat(*t.bias.add(r)));
        for (j, &v) in acc.iter().enumerate() {
            let col = j * S::LANES;
            if col >= t.cols {
                break;
            }
            let n = (t.cols - col).min(S::LANES);
            let load = |p: *const f32| {
                if n == S::LANES { S::load(p) } else { S::load_partial(p, n) }
            };
            let mut v = v;
            if t.accumulate {
                v = S::add(v, load(c.add(col)));
            }
            if t.last {
                if let Some(bias) = bias {
                    v = S::add(v, bias);
                }
                if !t.residual.is_null() {
                    v = S::add(v, load(t.residual.add(r * t.ldc + col)));
                }
                if t.relu {
                    v = S::max(v, S::zero());
                }
            }
            if n == S::LANES {
                S::store(c.add(col), v);
            } else {
                S::store_partial(c.add(col), v, n);
            }
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
