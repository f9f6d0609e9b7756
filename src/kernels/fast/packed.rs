//! The convolution the JIT uses: picks, per layer, the fastest algorithm that is accurate enough.

use super::gemm_conv::GemmConv;
use super::winograd::{WinogradConv, WinogradTile};
use crate::kernels::{Conv2d, Epilogue};

/// A convolution with weights prepared once (at network compile time) for the fastest suitable
/// algorithm: Winograd `F(2x2, 3x3)` for 3x3 stride-1 layers with enough channels and pixels,
/// im2col-GEMM otherwise. (`F(4x4, 3x3)` is not chosen: its error exceeds 1e-5 of the output
/// range from about 128 input channels on.)
#[derive(Clone, Debug)]
pub enum PackedConv {
    /// im2col-GEMM.
    Gemm(GemmConv),
    /// Winograd.
    Winograd(WinogradConv),
}

impl PackedConv {
    /// Chooses the algorithm for `g` and packs `weight` (`[out_c, in_c, kh, kw]`) for it.
    pub fn new(g: Conv2d, weight: &[f32]) -> PackedConv {
        if WinogradConv::supports(&g) && g.in_c >= WINOGRAD_MIN_IN_C && g.out_h() * g.out_w() >= WINOGRAD_MIN_PIXELS {
            PackedConv::Winograd(WinogradConv::new(g, weight, WinogradTile::F2x2))
        } else {
            PackedConv::Gemm(GemmConv::new(g, weight))
        }
    }

    /// The convolution's geometry.
    pub fn geometry(&self) -> &Conv2d {
        match self {
            PackedConv::Gemm(c) => c.geometry(),
            PackedConv::Winograd(c) => c.geometry(),
        }
    }

    /// Convolves `batch` samples: `out = act(conv(x) + bias + residual)` on `threads` threads.
    /// `x` is `[batch, in_c, in_h, in_w]`, `out` and `ep.residual` `[batch, out_c, out_h, out_w]`.
    pub fn run(&self, batch: usize, x: &[f32], ep: &Epilogue, out: &mut [f32], threads: usize) {
        match self {
            PackedConv::Gemm(c) => c.run(batch, x, ep, out, threads),
            PackedConv::Winograd(c) => c.run(batch, x, ep, out, threads),
        }
    }
}

/// Winograd's transforms cost about as much as the GEMM saves below this many input channels.
const WINOGRAD_MIN_IN_C: usize = 16;
/// Below this many output pixels Winograd has too few blocks to fill its GEMMs.
const WINOGRAD_MIN_PIXELS: usize = 256;
