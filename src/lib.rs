//! netc: a compiler for hand-written convolutional networks.

pub mod tensor;
