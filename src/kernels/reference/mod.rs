//! Readable reference kernels: the numeric ground truth for the interpreter and the tests.
//!
//! They are plain loop nests, written so that the innermost loop runs over contiguous memory and
//! LLVM vectorizes it, and the convolution runs its (sample, output channel) planes on the thread
//! pool; nothing else is clever.

mod conv;
mod dense;
mod pooling;

pub use conv::conv2d;
pub use dense::dense;
pub use pooling::{adaptive_pool2d, avgpool2d, global_avgpool, global_maxpool, maxpool2d};
