//! The convolution the JIT uses: picks, per layer, the fastest algorithm that is accurate enough.

use super::gemm_conv::GemmConv;
use super::grouped::GroupedConv;
use super::winograd::{WinogradConv, WinogradTile};
use crate::kernels::{Conv2d, Epilogue};

/// A convolution with weights prepared once (at network compile time) for the fastest suitable
/// algorithm: a direct convolution for groups, dilation and asymmetric padding, Winograd
/// `F(2x2, 3x3)` for 3x3 stride-1 layers with enough channels and pixels, im2col-GEMM otherwise. (`F(4x4, 3x3)` is not chosen: its error exceeds 1e-5 of the output
/// range from about 128 input channels on.)
#[derive(Clone, Debug)]
pub enum PackedConv {
    /// Direct, group by group.
    Grouped(GroupedConv),
    /// im2col-GEMM.
    Gemm(GemmConv),
    /// Winograd.
    Winograd(WinogradConv),
    /// A layer with too few pixels per sample for Winograd at batch 1 but enough at larger
    /// batches: both packings, chosen per run by the batch.
    ByBatch {
        /// Used below `winograd_from` samples.
        gemm: GemmConv,
        winograd: WinogradConv,
        winograd_from: usize,
    },
}

impl PackedConv {
    /// Chooses the algorithm for `g` and packs `weight` (`[out_c, in_c, kh, kw]`) for it.
    pub fn new(g: Conv2d, weight: &[f32]) -> PackedConv {
        if !g.is_plain() {
            return PackedConv::Grouped(GroupedConv::new(g, weight));
        }
        let pixels = g.out_h() * g.out_w();
        let small = pixels < WINOGRAD_MIN_PIXELS;
        if !WinogradConv::supports(&g)
            || g.in_c < WINOGRAD_MIN_IN_C
            || pixels < WINOGRAD_MIN_SAMPLE_PIXELS
            || (small && g.in_c * g.out_c > WINOGRAD_BATCH_MAX_CHANNELS)
        {
            return PackedConv::Gemm(GemmConv::new(g, weight));
        }
        let winograd = WinogradConv::new(g, weight, WinogradTile::F2x2);
        if !small {
            return PackedConv::Winograd(winograd);
        }
        PackedConv::ByBatch {
            gemm: GemmConv::new(g, weight),
            winograd,
            winograd_from: WINOGRAD_BATCH_PIXELS.div_ceil(pixels),
        }
    }

    /// The convolution's geometry.
    pub fn geometry(&self) -> &Conv2d {
        match self {
            PackedConv::Grouped(c) => c.geometry(),
            PackedConv::Gemm(c) => c.geometry(),
            PackedConv::Winograd(c) | PackedConv::ByBatch { winograd: c, .. } => c.geometry(),
        }
    }

    /// Convolves `batch` samples: `out = act(conv(x) + bias + residual)` on `threads` threads.
    /// `x` is `[batch, in_c, in_h, in_w]`, `out` and `ep.residual` `[batch, out_c, out_h, out_w]`.
    pub fn run(&self, batch: usize, x: &[f32], ep: &Epilogue, out: &mut [f32], threads: usize) {
        match self {
            PackedConv::Grouped(c) => c.run(batch, x, ep, out, threads),
            PackedConv::Gemm(c) => c.run(batch, x, ep, out, threads),
            PackedConv::Winograd(c) => c.run(batch, x, ep, out, threads),
            PackedConv::ByBatch { gemm, winograd, winograd_from } => {
                if batch >= *winograd_from {
                    winograd.run(batch, x, ep, out, threads)
                } else {
                    gemm.run(batch, x, ep, out, threads)
                }
            }
        }
    }
}

/// Winograd's transforms cost about as much as the GEMM saves below this many input channels.
const WINOGRAD_MIN_IN_C: usize = 16;
/// Below this many output pixels in a run (over the batch) Winograd has too few blocks to fill
/// its GEMMs, and its weights (16/9 the size) cost more to stream than the multiplies it saves.
const WINOGRAD_MIN_PIXELS: usize = 256;
/// Layers with fewer pixels per sample than this always use GEMM.
const WINOGRAD_MIN_SAMPLE_PIXELS: usize = 64;
/// A layer with fewer than [`WINOGRAD_MIN_PIXELS`] per sample uses Winograd from the batch with
/// this many pixels in all (measured, 2 threads: resvgg9's 256->512 layer at 8x8 gains at batch
/// 8, the whole network 13.2 -> 11.7 ms; vgg16's 512->512 layers at 14x14 lose 2-4 % at batch 2
/// and gain 2-4 % at batch 4).
const WINOGRAD_BATCH_PIXELS: usize = 512;
/// ... but only up to this many `in_c * out_c`: vgg16's 512->512 layers at 14x14 gained at most
/// 2-4 % and their second packing took its compile time from 55 to 95-145 ms.
const WINOGRAD_BATCH_MAX_CHANNELS: usize = 256 * 512;
