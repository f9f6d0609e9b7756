//! Back ends: things that execute a [`Plan`](crate::plan::Plan). The interpreter is the
//! reference semantics; the JIT must agree with it.

pub mod interp;
pub mod jit;

use crate::tensor::Tensor;

/// An executable network. `inputs` are batches `[N, ...]` in declaration order, holding raw
/// values (the declared `normalize` is applied by the back end); returns the outputs `[N, ...]`.
pub trait Backend: Send + Sync {
    fn name(&self) -> &'static str;
    fn run(&self, inputs: &[Tensor]) -> Vec<Tensor>;
}

/// The fastest back end for `plan` on this machine: the JIT (see the book's performance chapter).
/// It takes the plan by value so that large weights are moved into the compiled code, not copied.
pub fn fastest(plan: crate::plan::Plan, threads: usize) -> Result<Box<dyn Backend>, jit::JitError> {
    Ok(Box::new(jit::JitBackend::compile_owned(plan, threads, jit::Policy::Auto)?))
}
