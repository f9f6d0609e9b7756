//! The Rust side of the compiled program: the steps that are not generated code but calls of
//! rustc-compiled kernels (the AVX-512 packed convolution and dense kernels, any step's reference
//! kernel for ops without fast code), all with the generated functions' signature so that one
//! table runs both; and what generated code imports: the thread pool (to run generated task
//! functions) and `f32::exp` for softmax. Each call receives a pointer to its prepared layer,
//! which the back end owns for as long as the program exists.

use super::{Entry, Parallelism};
use crate::kernels::threads::parallel_for;
use crate::kernels::{Act, Epilogue, PackedConv, PackedDense};
use crate::plan::Step;
use cranelift_codegen::ir::types::{F32, I64};
use cranelift_codegen::ir::{AbiParam, Signature};
use cranelift_jit::JITBuilder;

/// A convolution prepared for [`conv`]: its kernel, epilogue and arena slots.
pub(super) struct ConvCall {
    pub conv: PackedConv,
    pub bias: Option<Vec<f32>>,
    pub act: Option<Act>,
    pub par: Parallelism,
    pub x: usize,
    pub out: usize,
    pub residual: Option<usize>,
}

/// A dense layer prepared for [`dense`].
pub(super) struct DenseCall {
    pub dense: PackedDense,
    pub in_f: usize,
    pub out_f: usize,
    pub bias: Option<Vec<f32>>,
    pub act: Option<Act>,
    pub par: Parallelism,
    pub x: usize,
    pub out: usize,
}

/// A step prepared for [`reference`].
pub(super) struct RefCall {
    pub step: Step,
    pub threads: usize,
}

/// `batch` samples of arena slot `s` (`len` floats per sample), read-only.
///
/// # Safety
/// `slots` must hold the arena's slot pointers, slot `s` holding `batch * len` floats.
unsafe fn input<'a>(slots: *const *mut f32, s: usize, len: usize) -> &'a [f32] {
    unsafe { std::slice::from_raw_parts(*slots.add(s), len) }
}

/// As [`input`], writable.
///
/// # Safety
/// As [`input`], and no other slice of that slot may be alive.
unsafe fn output<'a>(slots: *const *mut f32, s: usize, len: usize) -> &'a mut [f32] {
    unsafe { std::slice::from_raw_parts_mut(*slots.add(s), len) }
}

/// Runs the [`ConvCall`] at `call` on `batch` samples of its slots.
///
/// # Safety
/// `call` must be the address of a live [`ConvCall`] and `slots` the arena's slot pointers at
/// this batch (the memory plan never gives a step's output the slot of one of its operands).
unsafe extern "C" fn conv(slots: *const *mut f32, _: *const *const f32, batch: usize, call: usize) {
    // SAFETY: guaranteed by the caller.
    unsafe {
        let call = &*(call as *const ConvCall);
        let g = call.conv.geometry();
        let (x, out) = (input(slots, call.x, batch * g.in_len()), output(slots, call.out, batch * g.out_len()));
        let residual = call.residual.map(|r| input(slots, r, batch * g.out_len()));
        let ep = Epilogue { bias: call.bias.as_deref(), residual, act: call.act };
        call.conv.run(batch, x, &ep, out, call.par.threads(batch));
    }
}

/// Runs the [`DenseCall`] at `call` on `batch` samples of its slots.
///
/// # Safety
/// As for [`conv`], with a live [`DenseCall`].
unsafe extern "C" fn dense(slots: *const *mut f32, _: *const *const f32, batch: usize, call: usize) {
    // SAFETY: guaranteed by the caller.
    unsafe {
        let call = &*(call as *const DenseCall);
        let (x, out) = (input(slots, call.x, batch * call.in_f), output(slots, call.out, batch * call.out_f));
        call.dense.run(batch, x, call.bias.as_deref(), call.act, out, call.par.threads(batch));
    }
}

/// Runs the [`RefCall`] at `call`: its step's reference kernel on `batch` samples.
///
/// # Safety
/// As for [`conv`], with a live [`RefCall`].
unsafe extern "C" fn reference(slots: *const *mut f32, _: *const *const f32, batch: usize, call: usize) {
    // SAFETY: guaranteed by the caller.
    unsafe {
        let call = &*(call as *const RefCall);
        let step = &call.step;
        let inputs: Vec<&[f32]> =
            (0..step.inputs.len()).map(|i| input(slots, step.inputs[i], step.input_len(i, batch))).collect();
        step.eval(batch, call.threads, &inputs, output(slots, step.output, step.output_len(batch)));
    }
}

/// The entry of a [`ConvCall`].
pub(super) const CONV: Entry = conv;
/// The entry of a [`DenseCall`].
pub(super) const DENSE: Entry = dense;
/// The entry of a [`RefCall`].
pub(super) const REFERENCE: Entry = reference;

/// Runs `task(slots, inputs, batch, t)` for `t` in `0..count` on `threads` threads, or on one
/// when `batch < min_batch` (see [`Parallelism`]).
///
/// # Safety
/// `task` must be a generated function whose tasks write disjoint memory.
unsafe extern "C" fn parallel(
    task: Entry,
    slots: *const *mut f32,
    inputs: *const *const f32,
    batch: usize,
    count: usize,
    threads: usize,
    min_batch: usize,
) {
    let threads = Parallelism { threads, min_batch }.threads(batch);
    // Addresses as integers so that the closure can be shared between threads.
    let (slots, inputs) = (slots as usize, inputs as usize);
    parallel_for(threads, count, &|t| {
        // SAFETY: guaranteed by the caller; the arena outlives the parallel call.
        unsafe { task(slots as *const *mut f32, inputs as *const *const f32, batch, t) }
    });
}

/// `x.exp()`, exactly as the interpreter computes it.
extern "C" fn expf(x: f32) -> f32 {
    x.exp()
}

/// Symbol of [`parallel`].
pub(super) const PARALLEL: &str = "netc_jit_parallel";
/// Symbol of [`expf`].
pub(super) const EXPF: &str = "netc_jit_expf";

/// Makes the functions generated code calls visible to the JIT linker.
pub(super) fn register(builder: &mut JITBuilder) {
    builder.symbol(PARALLEL, parallel as *const u8);
    builder.symbol(EXPF, expf as *const u8);
}

/// The Cranelift signature of import `name` under calling convention `sig` (a fresh signature).
pub(super) fn signature(name: &str, mut sig: Signature) -> Signature {
    if name == EXPF {
        sig.params.push(AbiParam::new(F32));
        sig.returns.push(AbiParam::new(F32));
    } else {
        sig.params.extend(vec![AbiParam::new(I64); 7]);
    }
    sig
}
