//! A thin layer over Cranelift's `FunctionBuilder` for the loop nests the JIT emits: counted
//! loops, f32 / f32x4 loads and stores at constant offsets, and splatted constants.
//!
//! Every generated function has the signature `fn(slots: *const *mut f32, inputs: *const *const
//! f32, batch: usize, task: usize)`: `slots[s]` is arena slot `s` (the last entry is the JIT's
//! scratch buffer), `inputs[i]` the caller's data for network input `i`, and `task` the index of
//! the task for functions the thread pool runs (0 otherwise).

use cranelift_codegen::ir::condcodes::{FloatCC, IntCC};
use cranelift_codegen::ir::types::{F32, F32X4, I64};
use cranelift_codegen::ir::{BlockArg, Endianness, InstBuilder, MemFlagsData, Type, Value};
use cranelift_frontend::FunctionBuilder;

/// Loads and stores of the arena: never trap, possibly unaligned.
pub(super) fn flags() -> MemFlagsData {
    MemFlagsData::new().with_notrap()
}

/// A loop trip count: known when the function is generated, or read at run time (the batch).
#[derive(Clone, Copy)]
pub(super) enum Count {
    Const(usize),
    Dyn(Value),
}

/// The function being generated, with its arguments.
pub(super) struct Fx<'a> {
    pub b: FunctionBuilder<'a>,
    pub slots: Value,
    pub inputs: Value,
    pub batch: Value,
    pub task: Value,
}

impl Fx<'_> {
    /// An `i64` constant.
    pub fn int(&mut self, v: usize) -> Value {
        self.b.ins().iconst(I64, v as i64)
    }

    /// The address of a Rust object the generated code reads (kept alive by the back end).
    pub fn addr<T: ?Sized>(&mut self, p: *const T) -> Value {
        self.b.ins().iconst(I64, p.cast::<u8>() as i64)
    }

    /// Arena slot `s`.
    pub fn slot(&mut self, s: usize) -> Value {
        self.b.ins().load(I64, flags(), self.slots, (s * 8) as i32)
    }

    /// The caller's buffer for network input `i`.
    pub fn input(&mut self, i: usize) -> Value {
        self.b.ins().load(I64, flags(), self.inputs, (i * 8) as i32)
    }

    /// `base + index * bytes`.
    pub fn index(&mut self, base: Value, index: Value, bytes: usize) -> Value {
        let off = self.b.ins().imul_imm_s(index, bytes as i64);
        self.b.ins().iadd(base, off)
    }

    /// `base + bytes`.
    pub fn offset(&mut self, base: Value, bytes: usize) -> Value {
        if bytes == 0 { base } else { self.b.ins().iadd_imm_s(base, bytes as i64) }
    }

    /// Loads a `ty` (`F32` or `F32X4`) from `ptr + 4 * elem`.
    pub fn load(&mut self, ty: Type, ptr: Value, elem: usize) -> Value {
        self.b.ins().load(ty, flags(), ptr, (elem * 4) as i32)
    }

    /// Stores `v` to `ptr + 4 * elem`.
    pub fn store(&mut self, v: Value, ptr: Value, elem: usize) {
        self.b.ins().store(flags(), v, ptr, (elem * 4) as i32);
    }

    /// `x` as a value of `ty` (`F32`, or every lane of an `F32X4`).
    pub fn float(&mut self, ty: Type, x: f32) -> Value {
        let s = self.b.ins().f32const(x);
        self.widen(ty, s)
    }

    /// A scalar `f32` widened to `ty` (splatted when `ty` is a vector).
    pub fn widen(&mut self, ty: Type, s: Value) -> Value {
        if ty == F32 { s } else { self.b.ins().splat(ty, s) }
    }

    /// `a > b ? a : b` on `F32` or `F32X4` values: one `maxps`, which gives `b` when either is
    /// NaN, so `max(0, x)` propagates a NaN `x` as PyTorch does. (Cranelift's `fmax` follows
    /// IEEE to the letter on NaN and signed zeros, which costs eight instructions per vector;
    /// on finite values they agree. A scalar goes through lane 0 of a vector.)
    pub fn max(&mut self, a: Value, b: Value) -> Value {
        let ty = self.b.func.dfg.value_type(a);
        if ty == F32 {
            let (va, vb) = (self.b.ins().scalar_to_vector(F32X4, a), self.b.ins().scalar_to_vector(F32X4, b));
            let m = self.max(va, vb);
            return self.b.ins().extractlane(m, 0);
        }
        // The pattern Cranelift's x64 back end lowers to `maxps a, b`.
        let lt = self.b.ins().fcmp(FloatCC::LessThan, b, a);
        let mask = self.b.ins().bitcast(ty, MemFlagsData::new().with_endianness(Endianness::Little), lt);
        self.b.ins().bitselect(mask, a, b)
    }

    /// [`Fx::max`] that is NaN when either operand is: a running maximum (pooling) keeps a NaN
    /// it has met, as PyTorch's does.
    pub fn max_nan(&mut self, a: Value, b: Value) -> Value {
        let ty = self.b.func.dfg.value_type(a);
        let m = self.max(a, b);
        if ty == F32 {
            let a_nan = self.b.ins().fcmp(FloatCC::Unordered, a, a);
            return self.b.ins().select(a_nan, a, m);
        }
        let a_nan = self.b.ins().fcmp(FloatCC::Unordered, a, a);
        let mask = self.b.ins().bitcast(ty, MemFlagsData::new().with_endianness(Endianness::Little), a_nan);
        self.b.ins().bitselect(mask, a, m)
    }

    /// Emits `body(i)` for `i` in `0..n`; a constant trip count of 0 or 1 emits no loop.
    pub fn for_each(&mut self, n: Count, body: impl FnOnce(&mut Self, Value)) {
        match n {
            Count::Const(0) => return,
            Count::Const(1) => {
                let zero = self.int(0);
                return body(self, zero);
            }
            _ => {}
        }
        let head = self.b.create_block();
        let exit = self.b.create_block();
        let i = self.b.append_block_param(head, I64);
        let zero = self.int(0);
        self.b.ins().jump(head, &[BlockArg::Value(zero)]);
        self.b.switch_to_block(head);
        body(self, i);
        let next = self.b.ins().iadd_imm_s(i, 1);
        let more = match n {
            Count::Const(n) => self.b.ins().icmp_imm_s(IntCC::UnsignedLessThan, next, n as i64),
            Count::Dyn(n) => self.b.ins().icmp(IntCC::UnsignedLessThan, next, n),
        };
        self.b.ins().brif(more, head, &[BlockArg::Value(next)], exit, &[]);
        self.b.switch_to_block(exit);
    }

    /// Emits `body(b, x)` for every sample `b` with `x = base + b * per_sample` floats.
    pub fn per_sample(&mut self, bases: &[(Value, usize)], body: impl FnOnce(&mut Self, &[Value])) {
        let batch = self.batch;
        self.for_each(Count::Dyn(batch), |fx, b| {
            let ptrs: Vec<Value> = bases.iter().map(|&(base, per)| fx.index(base, b, per * 4)).collect();
            body(fx, &ptrs);
        });
    }

    /// Emits `body(ty, offset)` over `n` consecutive floats: f32x4 steps (`offset` a runtime
    /// value in floats), then a scalar tail at constant offsets.
    pub fn vectorized(&mut self, n: usize, mut body: impl FnMut(&mut Self, Type, Value, usize)) {
        let vecs = n / 4;
        let zero = self.int(0);
        self.for_each(Count::Const(vecs), |fx, v| {
            let bytes = fx.b.ins().imul_imm_s(v, 16);
            body(fx, F32X4, bytes, 0);
        });
        for e in vecs * 4..n {
            body(self, F32, zero, e);
        }
    }
}
