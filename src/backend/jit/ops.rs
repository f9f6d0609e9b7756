//! Emitted loops for every operation except convolution and dense: element-wise maps (ReLU,
//! add, copies, batchnorm, input normalization), windowed and global pooling, and softmax.
//! Each computes exactly what the interpreter computes, in the same order where rounding could
//! tell the difference.

use super::fx::{Count, Fx};
use crate::kernels::Pool2d;
use cranelift_codegen::ir::types::{F32, F32X4, F64, I8X16};
use cranelift_codegen::ir::{
    ConstantData, Endianness, FuncRef, InstBuilder, MemFlagsData, Type, Value, condcodes::IntCC,
};

/// One operand of an element-wise loop: sample `b` starts `per_sample * b + offset` floats
/// after `base`.
#[derive(Clone, Copy)]
pub(super) struct Strided {
    pub base: Value,
    pub per_sample: usize,
    pub offset: usize,
}

impl Strided {
    /// A tensor of `per_sample` floats per sample at `base`.
    pub fn dense(base: Value, per_sample: usize) -> Strided {
        Strided { base, per_sample, offset: 0 }
    }
}

/// Computes one element (or four) of a map from the loaded operands and the channel's parameters.
pub(super) type MapFn<'a> = &'a dyn Fn(&mut Fx, Type, &[Value], &[Value]) -> Value;

/// For every sample and each of `channels` runs of `hw` floats:
/// `dst = f(srcs..., params...)`, where `params[k]` is `tables[k][channel]` (f32x4 with a scalar
/// tail). The tables must outlive the code.
pub(super) fn map(
    fx: &mut Fx,
    channels: usize,
    hw: usize,
    srcs: &[Strided],
    dst: Strided,
    tables: &[*const f32],
    f: MapFn,
) {
    let operands: Vec<Strided> = srcs.iter().copied().chain([dst]).collect();
    let bases: Vec<(Value, usize)> = operands.iter().map(|o| (o.base, o.per_sample)).collect();
    fx.per_sample(&bases, |fx, ptrs| {
        let tabs: Vec<Value> = tables.iter().map(|&t| fx.addr(t)).collect();
        fx.for_each(Count::Const(channels), |fx, ch| {
            let scalars: Vec<Value> = tabs
                .iter()
                .map(|&t| {
                    let a = fx.index(t, ch, 4);
                    fx.load(F32, a, 0)
                })
                .collect();
            let vectors: Vec<Value> = scalars.iter().map(|&s| fx.widen(F32X4, s)).collect();
            let ptrs: Vec<Value> = ptrs
                .iter()
                .zip(&operands)
                .map(|(&p, o)| {
                    let p = fx.index(p, ch, hw * 4);
                    fx.offset(p, o.offset * 4)
                })
                .collect();
            fx.vectorized(hw, |fx, ty, bytes, e| {
                let addrs: Vec<Value> = ptrs.iter().map(|&p| fx.b.ins().iadd(p, bytes)).collect();
                let (dst, srcs) = addrs.split_last().expect("map has a destination");
                let xs: Vec<Value> = srcs.iter().map(|&a| fx.load(ty, a, e)).collect();
                let y = f(fx, ty, &xs, if ty == F32 { &scalars } else { &vectors });
                fx.store(y, *dst, e);
            });
        });
    });
}

/// `max(0, x)`, NaN when `x` is.
pub(super) fn relu(fx: &mut Fx, ty: Type, x: Value) -> Value {
    let zero = fx.float(ty, 0.0);
    fx.max(zero, x)
}

/// `dst = srcs[0] + srcs[1] + ...` (left to right, like the interpreter) over `n` floats per
/// sample, then the ReLU if `relu`.
pub(super) fn add(fx: &mut Fx, n: usize, srcs: &[Strided], dst: Strided, relu: bool) {
    map(fx, 1, n, srcs, dst, &[], &|fx, ty, xs, _| {
        let mut acc = xs[0];
        for &y in &xs[1..] {
            acc = fx.b.ins().fadd(acc, y);
        }
        if relu { self::relu(fx, ty, acc) } else { acc }
    });
}

/// Copies `per_sample` floats of every sample from `src` to `dst`.
pub(super) fn copy(fx: &mut Fx, per_sample: usize, src: Strided, dst: Strided) {
    map(fx, 1, per_sample, &[src], dst, &[], &|_, _, xs, _| xs[0]);
}

/// Splits the output positions `0..out_len` along one axis into regions `(start, end, checked)`:
/// the middle one's windows (`o * stride - pad ..` `+ k`) lie inside `0..len`, the others need
/// bounds tests.
pub(super) fn regions(out_len: usize, len: usize, k: usize, stride: usize, pad: usize) -> Vec<(usize, usize, bool)> {
    let lo = pad.div_ceil(stride).min(out_len);
    let hi = if len + pad >= k { ((len + pad - k) / stride + 1).min(out_len) } else { 0 };
    let parts =
        if hi > lo { vec![(0, lo, true), (lo, hi, false), (hi, out_len, true)] } else { vec![(0, out_len, true)] };
    parts.into_iter().filter(|(a, b, _)| b > a).collect()
}

/// `o * stride + k - pad` and, when `checked`, whether it lies in `0..len` (the coordinate is
/// then clamped to 0 so the load stays in bounds).
fn coord(
    fx: &mut Fx,
    o: Value,
    stride: usize,
    k: usize,
    pad: usize,
    len: usize,
    checked: bool,
) -> (Value, Option<Value>) {
    let scaled = fx.b.ins().imul_imm_s(o, stride as i64);
    let c = fx.b.ins().iadd_imm_s(scaled, k as i64 - pad as i64);
    if !checked {
        return (c, None);
    }
    let valid = fx.b.ins().icmp_imm_s(IntCC::UnsignedLessThan, c, len as i64);
    let zero = fx.int(0);
    (fx.b.ins().select(valid, c, zero), Some(valid))
}

/// One pooling layer being emitted.
struct Pool<'a> {
    p: &'a Pool2d,
    max: bool,
}

impl Pool<'_> {
    fn init(&self) -> f32 {
        if self.max { f32::NEG_INFINITY } else { 0.0 }
    }

    /// Folds `v` into `acc` (max or sum).
    fn fold(&self, fx: &mut Fx, acc: Value, v: Value) -> Value {
        if self.max { fx.max_nan(acc, v) } else { fx.b.ins().fadd(acc, v) }
    }

    /// The window's result from its fold: average pooling divides by the window size.
    fn finish(&self, fx: &mut Fx, ty: Type, acc: Value) -> Value {
        if self.max {
            return acc;
        }
        let scale = fx.float(ty, 1.0 / (self.p.kh * self.p.kw) as f32);
        fx.b.ins().fmul(acc, scale)
    }

    /// Outputs `x0..x1` of row `oy`, one at a time; `ychk` / `xchk` say whether the window may
    /// leave the input vertically / horizontally.
    fn scalar(
        &self,
        fx: &mut Fx,
        (xp, orow, oy): (Value, Value, Value),
        (x0, x1): (usize, usize),
        ychk: bool,
        xchk: bool,
    ) {
        let p = self.p;
        fx.for_each(Count::Const(x1 - x0), |fx, j| {
            let ox = fx.b.ins().iadd_imm_s(j, x0 as i64);
            let mut acc = fx.float(F32, self.init());
            for ky in 0..p.kh {
                let (iy, vy) = coord(fx, oy, p.stride_h, ky, p.pad_h, p.in_h, ychk);
                let row = fx.index(xp, iy, p.in_w * 4);
                for kx in 0..p.kw {
                    let (ix, vx) = coord(fx, ox, p.stride_w, kx, p.pad_w, p.in_w, xchk);
                    let a = fx.index(row, ix, 4);
                    let mut v = fx.load(F32, a, 0);
                    let valid = match (vy, vx) {
                        (Some(a), Some(b)) => Some(fx.b.ins().band(a, b)),
                        (a, b) => a.or(b),
                    };
                    if let Some(valid) = valid {
                        let pad = fx.float(F32, self.init());
                        v = fx.b.ins().select(valid, v, pad);
                    }
                    acc = self.fold(fx, acc, v);
                }
            }
            let acc = self.finish(fx, F32, acc);
            let a = fx.index(orow, ox, 4);
            fx.store(acc, a, 0);
        });
    }

    /// Interior outputs of row `oy` from `x0`, four at a time (stride 1 or 2) while the vector
    /// loads stay inside the row; returns where it stopped.
    fn vector(&self, fx: &mut Fx, (xp, orow, oy): (Value, Value, Value), (x0, x1): (usize, usize)) -> usize {
        let p = self.p;
        let s = p.stride_w;
        if s > 2 {
            return x0;
        }
        // The last float read for outputs ox..ox+4 is (ox + 3) s + kw - 1 - pad + (s - 1).
        let fits = |ox: usize| (ox + 3) * s + p.kw + s - 2 < p.in_w + p.pad_w;
        let blocks = (0..(x1 - x0) / 4).take_while(|b| fits(x0 + 4 * b)).count();
        fx.for_each(Count::Const(blocks), |fx, j| {
            let ox = fx.b.ins().imul_imm_s(j, 4);
            let ox = fx.b.ins().iadd_imm_s(ox, x0 as i64);
            let mut acc = fx.float(F32X4, self.init());
            for ky in 0..p.kh {
                let (iy, _) = coord(fx, oy, p.stride_h, ky, p.pad_h, p.in_h, false);
                let row = fx.index(xp, iy, p.in_w * 4);
                for kx in 0..p.kw {
                    let (ix, _) = coord(fx, ox, s, kx, p.pad_w, p.in_w, false);
                    let a = fx.index(row, ix, 4);
                    let v = if s == 1 {
                        fx.load(F32X4, a, 0)
                    } else {
                        let (lo, hi) = (fx.load(F32X4, a, 0), fx.load(F32X4, a, 4));
                        even_lanes(fx, lo, hi)
                    };
                    acc = self.fold(fx, acc, v);
                }
            }
            let acc = self.finish(fx, F32X4, acc);
            let a = fx.index(orow, ox, 4);
            fx.store(acc, a, 0);
        });
        x0 + 4 * blocks
    }
}

/// Lanes 0 and 2 of `lo`, then 0 and 2 of `hi` (one `shufps`).
fn even_lanes(fx: &mut Fx, lo: Value, hi: Value) -> Value {
    let le = MemFlagsData::new().with_endianness(Endianness::Little);
    let (a, b) = (fx.b.ins().bitcast(I8X16, le, lo), fx.b.ins().bitcast(I8X16, le, hi));
    let mask: Vec<u8> = [0u8, 2, 4, 6].iter().flat_map(|&lane| (0..4).map(move |byte| lane * 4 + byte)).collect();
    let mask = fx.b.func.dfg.immediates.push(ConstantData::from(mask));
    let v = fx.b.ins().shuffle(a, b, mask);
    fx.b.ins().bitcast(F32X4, le, v)
}

/// Max or average pooling (average counts padding, like the reference) of `count` channels
/// from `first` of every sample. Each axis is split into border regions, whose taps are
/// bounds-checked, and an interior region, computed four outputs at a time.
pub(super) fn pool(fx: &mut Fx, p: &Pool2d, max: bool, x: Value, out: Value, (first, count): (Value, usize)) {
    let (oh, ow) = (p.out_h(), p.out_w());
    let pool = Pool { p, max };
    let rows = regions(oh, p.in_h, p.kh, p.stride_h, p.pad_h);
    let cols = regions(ow, p.in_w, p.kw, p.stride_w, p.pad_w);
    let batch = fx.batch;
    fx.for_each(Count::Dyn(batch), |fx, b| {
        fx.for_each(Count::Const(count), |fx, i| {
            let q = fx.b.ins().imul_imm_s(b, p.c as i64);
            let q = fx.b.ins().iadd(q, first);
            let q = fx.b.ins().iadd(q, i);
            let xp = fx.index(x, q, p.in_h * p.in_w * 4);
            let op = fx.index(out, q, oh * ow * 4);
            for &(y0, y1, ychk) in &rows {
                fx.for_each(Count::Const(y1 - y0), |fx, i| {
                    let oy = fx.b.ins().iadd_imm_s(i, y0 as i64);
                    let at = (xp, fx.index(op, oy, ow * 4), oy);
                    for &(x0, x1, xchk) in &cols {
                        let x0 = if ychk || xchk { x0 } else { pool.vector(fx, at, (x0, x1)) };
                        pool.scalar(fx, at, (x0, x1), ychk, xchk);
                    }
                });
            }
        });
    });
}

/// Global max or average pooling: each of the `batch * c` planes of `hw` floats to one value.
pub(super) fn global_pool(fx: &mut Fx, c: usize, hw: usize, max: bool, x: Value, out: Value) {
    let init = if max { f32::NEG_INFINITY } else { 0.0 };
    let op = |fx: &mut Fx, a: Value, b: Value| if max { fx.max_nan(a, b) } else { fx.b.ins().fadd(a, b) };
    let planes = fx.b.ins().imul_imm_s(fx.batch, c as i64);
    fx.for_each(Count::Dyn(planes), |fx, q| {
        let xp = fx.index(x, q, hw * 4);
        let mut acc = fx.float(F32, init);
        if hw >= 4 {
            let var = fx.b.declare_var(F32X4);
            let start = fx.float(F32X4, init);
            fx.b.def_var(var, start);
            fx.for_each(Count::Const(hw / 4), |fx, v| {
                let a = fx.index(xp, v, 16);
                let x = fx.load(F32X4, a, 0);
                let sum = fx.b.use_var(var);
                let sum = op(fx, sum, x);
                fx.b.def_var(var, sum);
            });
            let sum = fx.b.use_var(var);
            acc = fx.b.ins().extractlane(sum, 0);
            for lane in 1..4u8 {
                let l = fx.b.ins().extractlane(sum, lane);
                acc = op(fx, acc, l);
            }
        }
        for e in hw / 4 * 4..hw {
            let v = fx.load(F32, xp, e);
            acc = op(fx, acc, v);
        }
        if !max {
            let n = fx.float(F32, hw as f32);
            acc = fx.b.ins().fdiv(acc, n);
        }
        let a = fx.index(out, q, 4);
        fx.store(acc, a, 0);
    });
}

/// Softmax over each sample's `n` features: `exp(x - max) / sum`, the sum in f64 like the
/// interpreter; `expf` is the imported `f32::exp`.
pub(super) fn softmax(fx: &mut Fx, n: usize, x: Value, out: Value, expf: FuncRef) {
    fx.per_sample(&[(x, n), (out, n)], |fx, ptrs| {
        let (xp, op) = (ptrs[0], ptrs[1]);
        let max = fx.b.declare_var(F32);
        let start = fx.float(F32, f32::NEG_INFINITY);
        fx.b.def_var(max, start);
        fx.for_each(Count::Const(n), |fx, i| {
            let a = fx.index(xp, i, 4);
            let v = fx.load(F32, a, 0);
            let m = fx.b.use_var(max);
            let m = fx.b.ins().fmax(m, v);
            fx.b.def_var(max, m);
        });
        let sum = fx.b.declare_var(F64);
        let zero = fx.b.ins().f64const(0.0);
        fx.b.def_var(sum, zero);
        fx.for_each(Count::Const(n), |fx, i| {
            let a = fx.index(xp, i, 4);
            let v = fx.load(F32, a, 0);
            let m = fx.b.use_var(max);
            let d = fx.b.ins().fsub(v, m);
            let call = fx.b.ins().call(expf, &[d]);
            let e = fx.b.inst_results(call)[0];
            let o = fx.index(op, i, 4);
            fx.store(e, o, 0);
            let wide = fx.b.ins().fpromote(F64, e);
            let s = fx.b.use_var(sum);
            let s = fx.b.ins().fadd(s, wide);
            fx.b.def_var(sum, s);
        });
        fx.for_each(Count::Const(n), |fx, i| {
            let o = fx.index(op, i, 4);
            let e = fx.load(F32, o, 0);
            let wide = fx.b.ins().fpromote(F64, e);
            let s = fx.b.use_var(sum);
            let q = fx.b.ins().fdiv(wide, s);
            let q = fx.b.ins().fdemote(F32, q);
            fx.store(q, o, 0);
        });
    });
}

#[cfg(test)]
mod tests {
    use super::regions;

    #[test]
    fn regions_split_border_from_interior() {
        // 3-wide window, stride 2, pad 1 over 9 inputs: 5 outputs; output 0 reads input -1 and
        // output 4 reads input 9, so only 1..4 are unchecked.
        assert_eq!(regions(5, 9, 3, 2, 1), [(0, 1, true), (1, 4, false), (4, 5, true)]);
        // No padding: everything is interior.
        assert_eq!(regions(4, 8, 2, 2, 0), [(0, 4, false)]);
        // A window larger than the unpadded input: every position needs checks.
        assert_eq!(regions(2, 2, 3, 1, 1), [(0, 2, true)]);
    }
}
