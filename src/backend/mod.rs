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

/// The fastest back end for `plan` on this machine: the JIT (see the book's performance
/// chapter), or the interpreter if Cranelift cannot compile the plan for this host.
pub fn fastest(plan: crate::plan::Plan, threads: usize) -> Box<dyn Backend> {
    match jit::JitBackend::compile(&plan, threads) {
        Ok(j) => Box::new(j),
        Err(e) => {
            eprintln!("warning: {e}; falling back to the interpreter");
            Box::new(interp::Interpreter::new(plan, threads))
        }
    }
}
