//! The Cranelift JIT back end: compiles a [`Plan`] to native code.
//!
//! Every shape is known at compile time, so each step becomes one generated function with
//! constant loop bounds and constant offsets; a generated driver calls them in order. Only the
//! batch size is a run-time argument (the outermost loop of every step). The arena layout comes
//! from the plan's static memory plan: slot `s` holds `slot_sizes[s] * batch` floats.
//!
//! Convolution and dense layers have two implementations ([`Kernel`]): emitted Cranelift code
//! (a register-blocked f32x4 direct convolution, see `direct.rs`) or a call to the rustc-compiled
//! AVX-512 [`PackedConv`] / [`PackedDense`] kernels through an `extern "C"` shim. [`Policy::Auto`]
//! picks per layer from measurements (see `docs-jit.md`). Everything else is emitted.

mod direct;
mod fx;
mod ops;
mod shims;

use super::Backend;
use crate::kernels::{Act, Conv2d, PackedConv, PackedDense, Pool2d};
use crate::ops::{MaxPool, Op};
use crate::plan::{Plan, Step};
use crate::tensor::Tensor;
use cranelift_codegen::Context;
use cranelift_codegen::ir::{AbiParam, FuncRef, InstBuilder, Signature, UserFuncName, types};
use cranelift_codegen::settings::{self, Configurable};
use cranelift_frontend::{FunctionBuilder, FunctionBuilderContext};
use cranelift_jit::{JITBuilder, JITModule};
use cranelift_module::{FuncId, Linkage, Module, default_libcall_names};
use fx::Fx;
use ops::{MapFn, Strided};
use shims::{ConvCall, DenseCall, RefCall};
use std::sync::Mutex;
use std::time::{Duration, Instant};

/// How a convolution or dense layer is implemented.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Kernel {
    /// Emitted Cranelift code: register-blocked f32x4 FMA loops.
    Emitted,
    /// A call to the rustc-compiled packed AVX-512 (or AVX2) kernel.
    Called,
}

/// Which [`Kernel`] convolution and dense layers get.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Policy {
    /// Per layer, whichever measured faster: emitted code for convolutions under
    /// [`EMIT_BELOW_MACS`] multiply-adds per sample, the called kernels otherwise.
    Auto,
    /// The same kernel for every layer.
    Always(Kernel),
    /// No fast code at all: every step calls its op's reference kernel through the shim that
    /// ops without fast code use (to test that path on every op).
    Reference,
}

/// Convolutions with fewer multiply-adds per sample than this get the emitted kernel under
/// [`Policy::Auto`]: below it the called kernel's fixed costs (packing im2col panels, the
/// thread-pool round trip) outweigh its 4x wider vectors. Measured with `benches/jit.rs`; see
/// `docs-jit.md`.
pub const EMIT_BELOW_MACS: usize = 40_000;

/// Conv and dense layers with fewer multiply-adds per batch than this run on one thread: waking
/// a worker costs more than it saves (measured with `benches/jit.rs`).
const PARALLEL_MACS: usize = 1 << 21;
/// Pooling layers with fewer input elements per batch than this run on one thread.
const PARALLEL_POOL_ELEMENTS: usize = 1 << 15;
/// Tasks per thread of a parallel pooling layer (blocks of channels), for load balance.
const POOL_TASKS_PER_THREAD: usize = 4;

/// How many threads a layer uses at a given batch (known only at run time): all of them once the
/// batch holds enough work, one below that.
#[derive(Clone, Copy, Debug)]
pub(super) struct Parallelism {
    pub threads: usize,
    pub min_batch: usize,
}

impl Parallelism {
    /// `threads` from the batch whose `per_sample` units of work reach `threshold`.
    fn new(threads: usize, per_sample: usize, threshold: usize) -> Parallelism {
        Parallelism { threads, min_batch: threshold.div_ceil(per_sample.max(1)) }
    }

    /// A conv or dense `step` on up to `threads` threads.
    fn layer(step: &Step, threads: usize) -> Parallelism {
        Parallelism::new(threads, macs(step), PARALLEL_MACS)
    }

    /// The threads to use for `batch` samples.
    pub fn threads(self, batch: usize) -> usize {
        if batch >= self.min_batch { self.threads } else { 1 }
    }
}

/// Multiply-adds per sample of a conv or dense step (half its FLOPs, as the checker counts them).
fn macs(step: &Step) -> usize {
    (step.op.cost(&step.in_shapes, &step.shape).flops / 2) as usize
}

impl Policy {
    /// The kernel for a conv or dense `step` (`None` for other operations).
    pub fn choose(self, step: &Step) -> Option<Kernel> {
        // The emitted kernel applies no activation but ReLU.
        let act = match &step.op {
            Op::Conv(c) => c.act,
            Op::Dense(d) => d.act,
            // Every other op has no kernel to choose.
            _ => None,
        };
        Some(match (self, &step.op) {
            (Policy::Reference, _) => return None,
            // Only the called kernels cover groups, dilation and asymmetric padding.
            (_, Op::Conv(c)) if !c.geometry(&step.in_shapes[0]).is_plain() => Kernel::Called,
            (_, op) if !matches!(op, Op::Conv(_) | Op::Dense(_)) => return None,
            _ if act.is_some_and(|a| a != Act::Relu) => Kernel::Called,
            (Policy::Always(k), _) => k,
            (Policy::Auto, Op::Conv(_)) if macs(step) < EMIT_BELOW_MACS => Kernel::Emitted,
            (Policy::Auto, _) => Kernel::Called,
        })
    }
}

/// Why a plan could not be compiled (a Cranelift failure; valid plans always compile).
#[derive(Debug)]
pub struct JitError(String);

impl std::fmt::Display for JitError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "JIT compilation failed: {}", self.0)
    }
}

impl std::error::Error for JitError {}

fn err(e: impl std::fmt::Display) -> JitError {
    JitError(e.to_string())
}

/// A step of the compiled program, and the signature of every generated function:
/// `(slots, inputs, batch, arg)`, see `fx.rs`. A generated step function gets 0; a generated task
/// function its task index; a Rust step ([`shims`]) the address of its prepared layer.
pub(super) type Entry = unsafe extern "C" fn(*const *mut f32, *const *const f32, usize, usize);

/// Most steps given generated code: beyond, steps call their kernels compiled by rustc (a
/// generated function costs about 150 us of Cranelift time, so a network of a million layers would
/// otherwise take minutes to compile).
pub const MAX_GENERATED_STEPS: usize = 10_000;

/// The compiled program: each call's entry and argument, in order, with the plan step it belongs
/// to (`None` for loading the inputs).
type Program = Vec<(Entry, usize, Option<usize>)>;

/// Everything the generated code points into: prepared kernel calls and constant tables. The
/// boxes never move their contents, so the addresses baked into the code stay valid.
#[derive(Default)]
struct Data {
    calls: Vec<Box<dyn std::any::Any + Send + Sync>>,
    tables: Vec<Box<[f32]>>,
}

impl Data {
    /// Keeps `call` alive with the code and returns its address.
    fn keep<T: std::any::Any + Send + Sync>(&mut self, call: T) -> *const T {
        let b = Box::new(call);
        let p: *const T = &*b;
        self.calls.push(b);
        p
    }

    /// Keeps `v` alive with the code and returns its address.
    fn table(&mut self, v: Vec<f32>) -> *const f32 {
        self.tables.push(v.into_boxed_slice());
        self.tables.last().map_or(std::ptr::null(), |t| t.as_ptr())
    }
}

/// The JIT module, freed with the back end.
struct Code(Option<JITModule>);

// SAFETY: after finalization the module's code and data are immutable; the module itself is only
// touched again by `Drop`.
unsafe impl Send for Code {}
// SAFETY: as above: shared access only calls the finalized code.
unsafe impl Sync for Code {}

impl Drop for Code {
    fn drop(&mut self) {
        if let Some(module) = self.0.take() {
            // SAFETY: the back end owning this code is being dropped, so nothing can call it.
            unsafe { module.free_memory() };
        }
    }
}

/// A plan compiled to native code by Cranelift.
pub struct JitBackend {
    /// The calls in order: a generated function or a Rust entry, with its argument and step.
    program: Program,
    /// Per-sample sizes of the network inputs.
    inputs: Vec<usize>,
    /// The outputs: slot and per-sample shape.
    outputs: Vec<(usize, Vec<usize>)>,
    slot_sizes: Vec<usize>,
    /// Floats of scratch per sample, after the slots.
    scratch: usize,
    kernels: Vec<(String, Kernel)>,
    compile_ms: f64,
    /// The arena of the last run, reused by the next one (fresh pages cost a page fault each).
    arena: Mutex<Vec<f32>>,
    // Dropped after `entry` can no longer be called: code first, then the data it points to.
    _code: Code,
    _data: Data,
}

impl JitBackend {
    /// Compiles `plan`; conv and dense layers use `threads` threads and [`Policy::Auto`].
    pub fn compile(plan: &Plan, threads: usize) -> Result<JitBackend, JitError> {
        JitBackend::compile_with(plan, threads, Policy::Auto)
    }

    /// Compiles `plan` with the conv / dense kernels chosen by `policy`.
    pub fn compile_with(plan: &Plan, threads: usize, policy: Policy) -> Result<JitBackend, JitError> {
        JitBackend::build(plan, threads, policy, Instant::now(), Vec::new())
    }

    /// Like [`JitBackend::compile_with`], consuming the plan: weights the code keeps as they are
    /// (those of called dense layers) are moved instead of copied, which saves most of the compile
    /// time of a network with a large classifier (vgg16: ~500 MB of dense weights).
    pub fn compile_owned(mut plan: Plan, threads: usize, policy: Policy) -> Result<JitBackend, JitError> {
        let start = Instant::now();
        let owned = plan
            .steps
            .iter_mut()
            .map(|s| {
                let called = matches!(s.op, Op::Dense(_)) && policy.choose(s) == Some(Kernel::Called);
                called.then(|| std::mem::take(&mut s.params[0].data))
            })
            .collect();
        JitBackend::build(&plan, threads, policy, start, owned)
    }

    /// Compiles `plan`; `owned[i]`, when present, is the weight of step `i`, already moved out of
    /// the plan.
    fn build(
        plan: &Plan,
        threads: usize,
        policy: Policy,
        start: Instant,
        mut owned: Vec<Option<Vec<f32>>>,
    ) -> Result<JitBackend, JitError> {
        owned.resize(plan.steps.len(), None);
        let threads = threads.max(1);
        let mut generator = Gen::new()?;
        let mut kernels = Vec::new();
        for (i, input) in plan.inputs.iter().enumerate() {
            generator.function(|fx, env| load_input(fx, env, i, input))?;
        }
        let scratch = plan.slot_sizes.len();
        for (i, (step, weight)) in plan.steps.iter().zip(owned).enumerate() {
            generator.step_index = Some(i);
            let mut kernel = policy.choose(step);
            let generate = i < MAX_GENERATED_STEPS;
            if !generate && kernel == Some(Kernel::Emitted) {
                kernel = Some(Kernel::Called);
            }
            if let Some(k) = kernel {
                kernels.push((step.path.clone(), k));
            }
            if policy == Policy::Reference || (!generate && kernel.is_none()) {
                generator.reference(step, threads);
            } else {
                generator.step(step, kernel, weight, threads, scratch)?;
            }
        }
        let (code, program, data, scratch) = generator.finish()?;
        Ok(JitBackend {
            program,
            inputs: plan.inputs.iter().map(|i| i.shape().iter().product()).collect(),
            outputs: plan.outputs.clone(),
            slot_sizes: plan.slot_sizes.clone(),
            scratch,
            kernels,
            compile_ms: start.elapsed().as_secs_f64() * 1e3,
            arena: Mutex::new(Vec::new()),
            _code: code,
            _data: data,
        })
    }

    /// Milliseconds [`JitBackend::compile`] took, weight packing and code generation included.
    pub fn compile_ms(&self) -> f64 {
        self.compile_ms
    }

    /// The kernel each conv and dense layer got, by layer path, in plan order.
    pub fn kernels(&self) -> &[(String, Kernel)] {
        &self.kernels
    }
}

impl Backend for JitBackend {
    fn name(&self) -> &'static str {
        "jit"
    }

    fn run(&self, inputs: &[Tensor]) -> Vec<Tensor> {
        self.execute(inputs, None)
    }

    fn run_timed(&self, inputs: &[Tensor], times: &mut [Duration]) -> Vec<Tensor> {
        self.execute(inputs, Some(times))
    }
}

impl JitBackend {
    /// Runs the program; with `times`, adds each call's time to its plan step's entry.
    fn execute(&self, inputs: &[Tensor], mut times: Option<&mut [Duration]>) -> Vec<Tensor> {
        assert_eq!(inputs.len(), self.inputs.len(), "the network has {} inputs", self.inputs.len());
        let batch = inputs.first().map_or(1, |t| t.shape[0]);
        for (t, &per) in inputs.iter().zip(&self.inputs) {
            assert_eq!(t.len(), batch * per, "input of shape {:?} does not match the network", t.shape);
        }
        let mut offsets = Vec::with_capacity(self.slot_sizes.len() + 1);
        let mut total = 0;
        for s in &self.slot_sizes {
            offsets.push(total);
            total += s * batch;
        }
        offsets.push(total);
        // Every step writes its whole output before anything reads it, so stale contents are fine.
        let mut cached = self.arena.try_lock().ok();
        let mut fresh = Vec::new();
        let arena: &mut Vec<f32> = cached.as_deref_mut().unwrap_or(&mut fresh);
        arena.resize(total + self.scratch * batch, 0.0);
        let base = arena.as_mut_ptr();
        // SAFETY: every offset is at most the arena's length.
        let slots: Vec<*mut f32> = offsets.iter().map(|&o| unsafe { base.add(o) }).collect();
        let data: Vec<*const f32> = inputs.iter().map(|t| t.data.as_ptr()).collect();
        if batch > 0 {
            for &(entry, arg, step) in &self.program {
                let started = times.is_some().then(Instant::now);
                // SAFETY: the slots and scratch have the sizes the code was generated for, at this
                // batch; the inputs were checked above; `arg` is what the call was made with.
                unsafe { entry(slots.as_ptr(), data.as_ptr(), batch, arg) };
                if let (Some(times), Some(started), Some(step)) = (times.as_deref_mut(), started, step) {
                    times[step] += started.elapsed();
                }
            }
        }
        self.outputs
            .iter()
            .map(|(slot, shape)| {
                let full: Vec<usize> = std::iter::once(batch).chain(shape.iter().copied()).collect();
                let n = full.iter().product::<usize>();
                Tensor::from_vec(&full, arena[offsets[*slot]..][..n].to_vec())
            })
            .collect()
    }
}

/// What an emitted conv or dense layer computes besides its weights.
struct Emitted {
    bias: bool,
    relu: bool,
    /// Adds the step's second operand (a fused residual).
    residual: bool,
    /// The convolution's geometry; `None` for a dense layer.
    conv: Option<Conv2d>,
}

/// The Rust functions generated code calls, declared in the module.
struct Imports {
    parallel: FuncId,
    expf: FuncId,
}

/// One step of the program being built.
enum Call {
    /// A generated function.
    Generated(FuncId),
    /// A Rust entry and its argument.
    Native(Entry, usize),
}

/// What step emission needs besides the function being built.
struct Env<'a> {
    module: &'a mut JITModule,
    imports: &'a Imports,
    data: &'a mut Data,
}

impl Env<'_> {
    /// A reference to the imported function `id` usable in `fx`.
    fn import(&mut self, fx: &mut Fx, id: FuncId) -> FuncRef {
        self.module.declare_func_in_func(id, fx.b.func)
    }
}

/// The code generator: one module, one function per step, then the driver.
struct Gen {
    module: JITModule,
    ctx: Context,
    fctx: FunctionBuilderContext,
    sig: Signature,
    imports: Imports,
    data: Data,
    /// The calls so far, with the plan step each belongs to.
    program: Vec<(Call, Option<usize>)>,
    /// The plan step being generated (`None` while loading inputs).
    step_index: Option<usize>,
    scratch: usize,
}

impl Gen {
    fn new() -> Result<Gen, JitError> {
        let mut flags = settings::builder();
        flags.set("opt_level", "speed").map_err(err)?;
        flags.set("use_colocated_libcalls", "false").map_err(err)?;
        flags.set("is_pic", "false").map_err(err)?;
        let isa = cranelift_native::builder().map_err(err)?.finish(settings::Flags::new(flags)).map_err(err)?;
        let mut builder = JITBuilder::with_isa(isa, default_libcall_names());
        shims::register(&mut builder);
        let mut module = JITModule::new(builder);
        let mut sig = module.make_signature();
        sig.params.extend([AbiParam::new(types::I64); 4]);
        let mut import = |name| {
            let s = shims::signature(name, module.make_signature());
            module.declare_function(name, Linkage::Import, &s).map_err(err)
        };
        let imports = Imports { parallel: import(shims::PARALLEL)?, expf: import(shims::EXPF)? };
        Ok(Gen {
            ctx: module.make_context(),
            module,
            fctx: FunctionBuilderContext::new(),
            sig,
            imports,
            data: Data::default(),
            program: Vec::new(),
            step_index: None,
            scratch: 0,
        })
    }

    /// Generates one function with the common signature; the driver will call it in order.
    fn function(&mut self, body: impl FnOnce(&mut Fx, &mut Env)) -> Result<(), JitError> {
        let id = self.define(body)?;
        self.program.push((Call::Generated(id), self.step_index));
        Ok(())
    }

    /// Adds a step that calls `entry` with the address of `call`, which the back end keeps.
    fn native<T: std::any::Any + Send + Sync>(&mut self, entry: Entry, call: T) {
        let p = self.data.keep(call);
        self.program.push((Call::Native(entry, p as usize), self.step_index));
    }

    /// Adds `step` run by its op's reference kernel (the interpreter's code): how a step runs
    /// when the JIT has no fast code for its op.
    fn reference(&mut self, step: &Step, threads: usize) {
        self.native(shims::REFERENCE, RefCall { step: step.clone(), threads });
    }

    fn define(&mut self, body: impl FnOnce(&mut Fx, &mut Env)) -> Result<FuncId, JitError> {
        let id = self.module.declare_anonymous_function(&self.sig).map_err(err)?;
        self.module.clear_context(&mut self.ctx);
        self.ctx.func.signature = self.sig.clone();
        self.ctx.func.name = UserFuncName::user(0, id.as_u32());
        let mut b = FunctionBuilder::new(&mut self.ctx.func, &mut self.fctx);
        let entry = b.create_block();
        b.append_block_params_for_function_params(entry);
        b.switch_to_block(entry);
        let &[slots, inputs, batch, task] = b.block_params(entry) else { unreachable!("four parameters") };
        let mut fx = Fx { b, slots, inputs, batch, task };
        let mut env = Env { module: &mut self.module, imports: &self.imports, data: &mut self.data };
        body(&mut fx, &mut env);
        fx.b.ins().return_(&[]);
        fx.b.seal_all_blocks();
        fx.b.finalize(self.module.target_config());
        self.module.define_function(id, &mut self.ctx).map_err(err)?;
        Ok(id)
    }

    /// Generates `step`: the fast code of its op, with the conv or dense `kernel` chosen for it
    /// (a dense layer's weight is `weight` if given, else copied from the step), or a call of its
    /// reference kernel for ops without fast code.
    fn step(
        &mut self,
        step: &Step,
        kernel: Option<Kernel>,
        weight: Option<Vec<f32>>,
        threads: usize,
        scratch: usize,
    ) -> Result<(), JitError> {
        let per = |shape: &[usize]| shape.iter().product::<usize>();
        let (n_in, n_out) = (per(&step.in_shapes[0]), per(&step.shape));
        let dense = |fx: &mut Fx, slot: usize, n: usize| Strided::dense(fx.slot(slot), n);
        match &step.op {
            Op::Conv(c) if kernel == Some(Kernel::Emitted) => {
                let conv = Some(c.geometry(&step.in_shapes[0]));
                self.emitted_layer(
                    step,
                    Emitted { bias: c.bias, relu: c.act == Some(Act::Relu), residual: c.residual, conv },
                    threads,
                    scratch,
                )
            }
            Op::Conv(c) if kernel == Some(Kernel::Called) => {
                let conv = PackedConv::new(c.geometry(&step.in_shapes[0]), &step.params[0].data);
                let bias = c.bias.then(|| step.params[1].data.clone());
                let (x, out, residual) = (step.inputs[0], step.output, c.residual.then(|| step.inputs[1]));
                let par = Parallelism::layer(step, threads);
                self.native(shims::CONV, ConvCall { conv, bias, act: c.act, par, x, out, residual });
                Ok(())
            }
            Op::Dense(d) if kernel == Some(Kernel::Emitted) => self.emitted_layer(
                step,
                Emitted { bias: d.bias, relu: d.act == Some(Act::Relu), residual: false, conv: None },
                threads,
                scratch,
            ),
            Op::Dense(d) => {
                let dense = PackedDense::from_vec(n_in, d.out, weight.unwrap_or_else(|| step.params[0].data.clone()));
                let bias = d.bias.then(|| step.params[1].data.clone());
                let par = Parallelism::layer(step, threads);
                let (x, out) = (step.inputs[0], step.output);
                self.native(shims::DENSE, DenseCall { dense, in_f: n_in, out_f: d.out, bias, act: d.act, par, x, out });
                Ok(())
            }
            Op::MaxPool(MaxPool(w)) => self.pool_layer(step, w.geometry(&step.in_shapes[0], true), true, threads),
            Op::AvgPool(a) if a.geometry(&step.in_shapes[0]).is_plain() => {
                self.pool_layer(step, a.geometry(&step.in_shapes[0]), false, threads)
            }
            Op::GlobalAvgPool(_) | Op::GlobalMaxPool(_) => self.function(|fx, _| {
                let s = &step.in_shapes[0];
                let (x, out) = (fx.slot(step.inputs[0]), fx.slot(step.output));
                ops::global_pool(fx, s[0], s[1] * s[2], matches!(step.op, Op::GlobalMaxPool(_)), x, out)
            }),
            Op::Relu(_) => self.function(|fx, _| {
                let (x, out) = (dense(fx, step.inputs[0], n_in), dense(fx, step.output, n_out));
                ops::map(fx, 1, n_in, &[x], out, &[], &|fx, ty, xs, _| ops::relu(fx, ty, xs[0]))
            }),
            Op::Identity(_) | Op::Flatten(_) => self.function(|fx, _| {
                let (x, out) = (dense(fx, step.inputs[0], n_in), dense(fx, step.output, n_out));
                ops::copy(fx, n_in, x, out)
            }),
            Op::BatchNorm(bn) => self.function(|fx, env| {
                let s = &step.in_shapes[0];
                let (c, hw) = (s[0], n_in / s[0].max(1));
                let [g, b, m, v] = [0, 1, 2, 3].map(|i| &step.params[i].data);
                let tables = [env.data.table(m.clone()), env.data.table(bn.scale(g, v)), env.data.table(b.clone())];
                let f: MapFn = &|fx, _, xs, p| {
                    let d = fx.b.ins().fsub(xs[0], p[0]);
                    let d = fx.b.ins().fmul(d, p[1]);
                    fx.b.ins().fadd(d, p[2])
                };
                let (x, out) = (dense(fx, step.inputs[0], n_in), dense(fx, step.output, n_out));
                ops::map(fx, c, hw, &[x], out, &tables, f);
            }),
            Op::Add(a) => self.function(|fx, _| {
                let srcs: Vec<Strided> = step.inputs.iter().map(|&s| dense(fx, s, n_in)).collect();
                let out = dense(fx, step.output, n_out);
                ops::add(fx, n_in, &srcs, out, a.relu);
            }),
            Op::Concat(_) => self.function(|fx, _| {
                let out = fx.slot(step.output);
                let mut offset = 0;
                for (i, shape) in step.in_shapes.iter().enumerate() {
                    let n = per(shape);
                    let src = dense(fx, step.inputs[i], n);
                    ops::copy(fx, n, src, Strided { base: out, per_sample: n_out, offset });
                    offset += n;
                }
            }),
            Op::Softmax(_) => self.function(|fx, env| {
                let f = env.import(fx, env.imports.expf);
                let (x, out) = (fx.slot(step.inputs[0]), fx.slot(step.output));
                ops::softmax(fx, n_out, x, out, f);
            }),
            // Ops without fast code (and geometries the fast code does not cover) run their
            // reference kernel.
            Op::Input(_)
            | Op::Conv(_)
            | Op::AvgPool(_)
            | Op::ConvTranspose(_)
            | Op::Relu6(_)
            | Op::LeakyRelu(_)
            | Op::Sigmoid(_)
            | Op::Tanh(_)
            | Op::Silu(_)
            | Op::Gelu(_)
            | Op::HardSwish(_)
            | Op::HardSigmoid(_)
            | Op::Clip(_)
            | Op::AdaptiveAvgPool(_)
            | Op::AdaptiveMaxPool(_)
            | Op::Upsample(_)
            | Op::LayerNorm(_)
            | Op::Scale(_)
            | Op::Mul(_)
            | Op::Slice(_)
            | Op::ChannelShuffle(_)
            | Op::Dropout(_)
            | Op::StochasticDepth(_) => {
                self.reference(step, threads);
                Ok(())
            }
        }
    }

    /// Generates a conv or dense `step` as emitted code: a task function computing one output
    /// row (conv) or block of output channels (dense), run on the thread pool after the input is
    /// padded (conv).
    fn emitted_layer(
        &mut self,
        step: &Step,
        layer: Emitted,
        threads: usize,
        scratch_slot: usize,
    ) -> Result<(), JitError> {
        let Emitted { bias, relu, residual, conv } = layer;
        let out_c = step.shape[0];
        let d = direct::Direct {
            w: self.data.table(direct::pack(&step.params[0].data, out_c)),
            bias: bias.then(|| self.data.table(direct::pack_bias(&step.params[1].data))),
            relu: relu && !residual,
        };
        let pads = conv.is_some_and(|g| direct::scratch_len(&g) > 0);
        if let Some(g) = &conv {
            self.scratch = self.scratch.max(direct::scratch_len(g));
        }
        let n_in = step.in_shapes[0].iter().product();
        let tasks = conv.map_or(direct::blocks(out_c), |g| g.out_h());
        self.parallel_step(
            tasks,
            Parallelism::layer(step, threads),
            |fx| {
                if let Some(g) = conv.as_ref().filter(|_| pads) {
                    let (x, scratch) = (fx.slot(step.inputs[0]), fx.slot(scratch_slot));
                    direct::pad(fx, g, x, scratch);
                }
            },
            |fx| {
                let (x, out, scratch) = (fx.slot(step.inputs[0]), fx.slot(step.output), fx.slot(scratch_slot));
                match &conv {
                    Some(g) => direct::conv(fx, g, &d, x, out, scratch, fx.task),
                    None => direct::dense(fx, n_in, out_c, &d, x, out, fx.task),
                }
            },
        )?;
        if !residual {
            return Ok(());
        }
        // The emitted kernel has no residual epilogue: the fused add (and its ReLU) follows as
        // an emitted element-wise pass.
        let n_out = step.shape.iter().product();
        self.function(|fx, _| {
            let (out, r) = (fx.slot(step.output), fx.slot(step.inputs[1]));
            let (out, r) = (Strided::dense(out, n_out), Strided::dense(r, n_out));
            ops::add(fx, n_out, &[out, r], out, relu);
        })
    }

    /// Generates a pooling `step`: on one thread, or as tasks over blocks of channels when the
    /// layer has channels to share and enough work.
    fn pool_layer(&mut self, step: &Step, p: Pool2d, max: bool, threads: usize) -> Result<(), JitError> {
        let tasks = (1..=POOL_TASKS_PER_THREAD * threads).rev().find(|t| p.c.is_multiple_of(*t)).unwrap_or(1);
        let par = Parallelism::new(threads, p.c * p.in_h * p.in_w, PARALLEL_POOL_ELEMENTS);
        if threads == 1 || tasks < threads {
            return self.function(|fx, _| {
                let (x, out) = (fx.slot(step.inputs[0]), fx.slot(step.output));
                let zero = fx.int(0);
                ops::pool(fx, &p, max, x, out, (zero, p.c));
            });
        }
        self.parallel_step(
            tasks,
            par,
            |_| {},
            |fx| {
                let (x, out) = (fx.slot(step.inputs[0]), fx.slot(step.output));
                let first = fx.b.ins().imul_imm_s(fx.task, (p.c / tasks) as i64);
                ops::pool(fx, &p, max, x, out, (first, p.c / tasks));
            },
        )
    }

    /// Generates a step as `tasks` runs of a task function (`body`, which finds its index in
    /// `fx.task`) on the thread pool, after `before` on the calling thread.
    fn parallel_step(
        &mut self,
        tasks: usize,
        par: Parallelism,
        before: impl FnOnce(&mut Fx),
        body: impl FnOnce(&mut Fx),
    ) -> Result<(), JitError> {
        let task = self.define(|fx, _| body(fx))?;
        self.function(|fx, env| {
            before(fx);
            let t = env.import(fx, task);
            let t = fx.b.ins().func_addr(types::I64, t);
            let f = env.import(fx, env.imports.parallel);
            let args = [t, fx.slots, fx.inputs, fx.batch, fx.int(tasks), fx.int(par.threads), fx.int(par.min_batch)];
            fx.b.ins().call(f, &args);
        })
    }

    /// Links: the code, the program (each step's entry and argument), the data they point to,
    /// and the scratch size.
    fn finish(mut self) -> Result<(Code, Program, Data, usize), JitError> {
        self.module.finalize_definitions().map_err(err)?;
        let program = self
            .program
            .iter()
            .map(|&(ref call, step)| match *call {
                Call::Generated(id) => {
                    let ptr = self.module.get_finalized_function(id);
                    // SAFETY: every step function was generated with exactly this signature.
                    (unsafe { std::mem::transmute::<*const u8, Entry>(ptr) }, 0, step)
                }
                Call::Native(entry, arg) => (entry, arg, step),
            })
            .collect();
        Ok((Code(Some(self.module)), program, self.data, self.scratch))
    }
}

/// Copies network input `i` into its slot, normalizing it if declared.
fn load_input(fx: &mut Fx, env: &mut Env, i: usize, input: &crate::plan::PlanInput) {
    let shape = input.shape();
    let per: usize = shape.iter().product();
    let (src, dst) = (fx.input(i), fx.slot(input.slot));
    let (src, dst) = (Strided::dense(src, per), Strided::dense(dst, per));
    let Some(nm) = &input.op.normalize else { return ops::copy(fx, per, src, dst) };
    let (c, hw) = (shape[0], per / shape[0].max(1));
    let scale = nm.scale;
    let f: MapFn = &|fx, ty, xs, p| {
        let s = fx.float(ty, scale);
        let v = fx.b.ins().fmul(xs[0], s);
        let v = fx.b.ins().fsub(v, p[0]);
        fx.b.ins().fdiv(v, p[1])
    };
    let tables = [env.data.table(nm.mean.clone()), env.data.table(nm.std.clone())];
    ops::map(fx, c, hw, &[src], dst, &tables, f);
}
