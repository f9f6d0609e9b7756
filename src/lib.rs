//! netc: a compiler for hand-written convolutional networks.

pub mod kernels;
pub mod tensor;
