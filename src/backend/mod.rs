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
    /// [`Backend::run`], adding the time each plan step took to `times[step]` (one entry per
    /// step of the plan), for per-layer profiles.
    fn run_timed(&self, inputs: &[Tensor], times: &mut [std::time::Duration]) -> Vec<Tensor>;
}

/// The fastest back end for `plan` on this machine: the JIT (see the book's performance chapter).
/// It takes the plan by value so that large weights are moved into the compiled code, not copied.
pub fn fastest(plan: crate::plan::Plan, threads: usize) -> Result<Box<dyn Backend>, jit::JitError> {
    Ok(Box::new(jit::JitBackend::compile_owned(plan, threads, jit::Policy::Auto)?))
}

/// A back end by name, as `--backend` chooses it.
#[derive(Clone, Copy, Debug, PartialEq, Eq, clap::ValueEnum)]
pub enum BackendKind {
    /// Cranelift-compiled native code (the default: the fastest).
    Jit,
    /// The reference interpreter.
    Interp,
}

impl BackendKind {
    /// Builds the back end for `plan`, returning it and its compile time in milliseconds.
    pub fn build(self, plan: crate::plan::Plan, threads: usize) -> Result<(Box<dyn Backend>, f64), String> {
        let t = std::time::Instant::now();
        let b: Box<dyn Backend> = match self {
            BackendKind::Jit => fastest(plan, threads).map_err(|e| format!("the JIT failed: {e}"))?,
            BackendKind::Interp => Box::new(interp::Interpreter::new(plan, threads)),
        };
        Ok((b, t.elapsed().as_secs_f64() * 1e3))
    }
}
