//! Fast kernels for the JIT back end: packed weights, cache blocking and SIMD micro-kernels
//! selected at run time (AVX-512, AVX2+FMA, or portable Rust).

mod dense;
mod gemm;
mod gemm_conv;
mod grouped;
mod packed;
pub(crate) mod simd;
mod winograd;

pub use dense::PackedDense;
pub use gemm_conv::GemmConv;
pub use grouped::GroupedConv;
pub use packed::PackedConv;
pub use simd::Isa;
pub use winograd::{WinogradConv, WinogradTile};
