//! Fast kernels for the JIT back end: packed weights, cache blocking and SIMD micro-kernels
//! selected at run time (AVX-512, AVX2+FMA, or portable Rust).

mod conv;
mod dense;
mod gemm;
pub(crate) mod simd;
mod winograd;

pub use conv::PackedConv;
pub use dense::PackedDense;
pub use simd::Isa;
pub use winograd::{WinogradConv, WinogradTile};
