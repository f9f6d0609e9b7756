//! netc: a compiler for hand-written convolutional networks.

pub mod io;
pub mod tensor;
