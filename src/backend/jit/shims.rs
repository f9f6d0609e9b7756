//! `extern "C"` entry points the generated code imports: the AVX-512 packed convolution and dense
//! kernels compiled by rustc, any step's reference kernel (for ops without fast code), the thread
//! pool (to run generated task functions), and `f32::exp` for softmax. Each kernel call receives a pointer to
//! its prepared layer, which the back end owns for as long as the code exists.

use super::Parallelism;
use crate::kernels::threads::parallel_for;
use crate::kernels::{Act, Epilogue, PackedConv, PackedDense};
use crate::plan::Step;
use cranelift_codegen::ir::types::{F32, I64};
use cranelift_codegen::ir::{AbiParam, Signature};
use cranelift_jit::JITBuilder;

/// A convolution prepared for [`conv`].
pub(super) struct ConvCall {
    pub conv: PackedConv,
    pub bias: Option<Vec<f32>>,
    pub act: Option<Act>,
    pub par: Parallelism,
}

/// A dense layer prepared for [`dense`].
pub(super) struct DenseCall {
    pub dense: PackedDense,
    pub in_f: usize,
    pub out_f: usize,
    pub bias: Option<Vec<f32>>,
    pub act: Option<Act>,
    pub par: Parallelism,
}

/// Runs `call` on `batch` samples from `x` into `out`, adding `residual` (a tensor of the
/// output's shape) unless it is null.
///
/// # Safety
/// `call` must point to a live [`ConvCall`], `x`, `out` and a non-null `residual` to `batch`
/// samples of its input, output and output.
unsafe extern "C" fn conv(call: *const ConvCall, x: *const f32, out: *mut f32, batch: usize, residual: *const f32) {
    // SAFETY: guaranteed by the caller (the generated code passes arena slots of the right sizes).
    let (call, x, out, residual) = unsafe {
        let call = &*call;
        let g = call.conv.geometry();
        (
            call,
            std::slice::from_raw_parts(x, batch * g.in_len()),
            std::slice::from_raw_parts_mut(out, batch * g.out_len()),
            (!residual.is_null()).then(|| std::slice::from_raw_parts(residual, batch * g.out_len())),
        )
    };
    let ep = Epilogue { bias: call.bias.as_deref(), residual, act: call.act };
    call.conv.run(batch, x, &ep, out, call.par.threads(batch));
}

/// Runs `call` on `batch` samples from `x` into `out`.
///
/// # Safety
/// As for [`conv`], with a live [`DenseCall`].
unsafe extern "C" fn dense(call: *const DenseCall, x: *const f32, out: *mut f32, batch: usize) {
    // SAFETY: guaranteed by the caller.
    let (call, x, out) = unsafe {
        let call = &*call;
        (
            call,
            std::slice::from_raw_parts(x, batch * call.in_f),
            std::slice::from_raw_parts_mut(out, batch * call.out_f),
        )
    };
    call.dense.run(batch, x, call.bias.as_deref(), call.act, out, call.par.threads(batch));
}

/// A step prepared for [`reference`].
pub(super) struct RefCall {
    pub step: Step,
    pub threads: usize,
}

/// Runs `call`'s step with its op's reference kernel on `batch` samples, reading and writing the
/// arena slots `slots`.
///
/// # Safety
/// `call` must point to a live [`RefCall`] and `slots` to the arena's slot pointers, each slot
/// holding `batch` samples of its size.
unsafe extern "C" fn reference(call: *const RefCall, slots: *const *mut f32, batch: usize) {
    // SAFETY: guaranteed by the caller; the memory plan never gives a step's output the slot of
    // one of its operands, so the slices do not overlap.
    unsafe {
        let call = &*call;
        let step = &call.step;
        let inputs: Vec<&[f32]> = (0..step.inputs.len())
            .map(|i| std::slice::from_raw_parts(*slots.add(step.inputs[i]), step.input_len(i, batch)))
            .collect();
        let out = std::slice::from_raw_parts_mut(*slots.add(step.output), step.output_len(batch));
        step.eval(batch, call.threads, &inputs, out);
    }
}

/// A generated task function: `(slots, inputs, batch, task)`.
type Task = unsafe extern "C" fn(*const *mut f32, *const *const f32, usize, usize);

/// Runs `task(slots, inputs, batch, t)` for `t` in `0..count` on `threads` threads, or on one
/// when `batch < min_batch` (see [`Parallelism`]).
///
/// # Safety
/// `task` must be a generated function whose tasks write disjoint memory.
unsafe extern "C" fn parallel(
    task: Task,
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

/// Symbol of [`conv`].
pub(super) const CONV: &str = "netc_jit_conv";
/// Symbol of [`reference`].
pub(super) const REFERENCE: &str = "netc_jit_reference";
/// Symbol of [`dense`].
pub(super) const DENSE: &str = "netc_jit_dense";
/// Symbol of [`parallel`].
pub(super) const PARALLEL: &str = "netc_jit_parallel";
/// Symbol of [`expf`].
pub(super) const EXPF: &str = "netc_jit_expf";

/// Makes the shims visible to the JIT linker.
pub(super) fn register(builder: &mut JITBuilder) {
    builder.symbol(CONV, conv as *const u8);
    builder.symbol(DENSE, dense as *const u8);
    builder.symbol(REFERENCE, reference as *const u8);
    builder.symbol(PARALLEL, parallel as *const u8);
    builder.symbol(EXPF, expf as *const u8);
}

/// The Cranelift signature of shim `name` under calling convention `sig` (a fresh signature).
pub(super) fn signature(name: &str, mut sig: Signature) -> Signature {
    if name == EXPF {
        sig.params.push(AbiParam::new(F32));
        sig.returns.push(AbiParam::new(F32));
    } else {
        let params = match name {
            PARALLEL => 7,
            CONV => 5,
            REFERENCE => 3,
            _ => 4,
        };
        sig.params.extend(vec![AbiParam::new(I64); params]);
    }
    sig
}
