//! Numeric kernels for convolutional networks.
//!
//! Two families share the geometry types defined here:
//!
//! * [`reference`]: readable loop nests, the ground truth used by the interpreter and the tests;
//! * [`fast`]: packed-weight GEMM (and Winograd) kernels with AVX-512 / AVX2 micro-kernels, used by
//!   the JIT back end.
//!
//! Every tensor is NCHW `f32`, row-major, batch first. Convolution weights use the PyTorch layout
//! `[out_c, in_c, kh, kw]`; dense weights are `[out, in]` and a dense input is one flattened sample.

mod act;
mod buffer;
pub mod fast;
mod geometry;
mod peak;
pub mod reference;
pub mod threads;

pub use act::Act;
pub use fast::{PackedConv, PackedDense};
pub use geometry::{Conv2d, Epilogue, Pool2d, conv_out, pool_out, window_out};
pub use peak::machine_peak_gflops;
