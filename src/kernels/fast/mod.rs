//! Fast kernels for the JIT back end: packed weights, cache blocking and SIMD micro-kernels
//! selected at run time (AVX-512, AVX2+FMA, or portable Rust).

mod conv;
mod dense;
mod gemm;
mod packed;
pub(crate) mod simd;
mod winograd;

pub use conv::GemmConv;
pub use dense::PackedDense;
pub use packed::PackedConv;
pub use simd::Isa;
pub use winograd::{WinogradConv, WinogradTile};
