//! The interpreter: walks the plan step by step, calling the readable reference kernels.
//! It is the project's ground truth: every other back end is tested against it.

use super::Backend;
use crate::ir::Op;
use crate::kernels::{Conv2d, Epilogue, Pool2d, reference as k};
use crate::plan::{Plan, Step};
use crate::tensor::Tensor;

pub struct Interpreter {
    plan: Plan,
    threads: usize,
}

impl Interpreter {
    pub fn new(plan: Plan, threads: usize) -> Interpreter {
        Interpreter { plan, threads: threads.max(1) }
    }

    pub fn plan(&self) -> &Plan {
        &self.plan
    }
}

impl Backend for Interpreter {
    fn name(&self) -> &'static str {
        "interp"
    }

    fn run(&self, inputs: &[Tensor]) -> Vec<Tensor> {
        let batch = inputs.first().map_or(1, |t| t.shape[0]);
        let mut arena: Vec<Vec<f32>> = self.plan.slot_sizes.iter().map(|s| vec![0.0; s * batch]).collect();
        for (input, data) in self.plan.inputs.iter().zip(inputs) {
            input.load(&data.data, &mut arena[input.slot]);
        }
        for step in &self.plan.steps {
            let mut out = std::mem::take(&mut arena[step.output]);
            let n = step.shape.iter().product::<usize>() * batch;
            execute(step, batch, &arena, &mut out[..n], self.threads);
            arena[step.output] = out;
        }
        self.plan
            .outputs
            .iter()
            .map(|(slot, shape)| {
                let mut full = vec![batch];
                full.extend(shape);
                let n = full.iter().product();
                Tensor::from_vec(&full, arena[*slot][..n].to_vec())
            })
            .collect()
    }
}

/// The geometry of a conv step.
pub fn conv_geometry(step: &Step) -> Conv2d {
    let Op::Conv { kernel, stride, pad, .. } = step.op else { unreachable!("conv_geometry of a {}", step.op.name()) };
    let [c, h, w] = step.in_shapes[0][..] else { unreachable!("checked conv input is CxHxW") };
    Conv2d {
        in_c: c,
        in_h: h,
        in_w: w,
        out_c: step.shape[0],
        kh: kernel,
        kw: kernel,
        stride_h: stride,
        stride_w: stride,
        pad_h: pad,
        pad_w: pad,
    }
}

/// The geometry of a pooling step.
pub fn pool_geometry(step: &Step) -> Pool2d {
    let (Op::MaxPool { kernel, stride, pad } | Op::AvgPool { kernel, stride, pad }) = step.op else {
        unreachable!("pool_geometry of a {}", step.op.name())
    };
    let [c, h, w] = step.in_shapes[0][..] else { unreachable!("checked pool input is CxHxW") };
    Pool2d { c, in_h: h, in_w: w, kh: kernel, kw: kernel, stride_h: stride, stride_w: stride, pad_h: pad, pad_w: pad }
}

fn operand<'a>(arena: &'a [Vec<f32>], step: &Step, i: usize, batch: usize) -> &'a [f32] {
    let n = step.in_shapes[i].iter().product::<usize>() * batch;
    &arena[step.inputs[i]][..n]
}

fn relu_in_place(out: &mut [f32]) {
    for v in out {
        *v = v.max(0.0);
    }
}

fn execute(step: &Step, batch: usize, arena: &[Vec<f32>], out: &mut [f32], threads: usize) {
    let x = operand(arena, step, 0, batch);
    let param = |i: usize| step.params.get(i).map(|t| t.data.as_slice());
    match &step.op {
        Op::Conv { relu, bias, residual, .. } => {
            let residual = residual.then(|| operand(arena, step, 1, batch));
            let ep = Epilogue { bias: if *bias { param(1) } else { None }, residual, relu: *relu };
            k::conv2d(&conv_geometry(step), batch, x, &step.params[0].data, &ep, out, threads);
        }
        Op::Dense { out: out_f, bias, relu, .. } => {
            let in_f = step.in_shapes[0].iter().product();
            k::dense(in_f, *out_f, batch, x, &step.params[0].data, if *bias { param(1) } else { None }, *relu, out);
        }
        Op::MaxPool { .. } => k::maxpool2d(&pool_geometry(step), batch, x, out),
        Op::AvgPool { .. } => k::avgpool2d(&pool_geometry(step), batch, x, out),
        Op::GlobalAvgPool | Op::GlobalMaxPool => {
            let s = &step.in_shapes[0];
            let f = if step.op == Op::GlobalAvgPool { k::global_avgpool } else { k::global_maxpool };
            f(s[0], s[1] * s[2], batch, x, out);
        }
        Op::Relu => {
            out.copy_from_slice(x);
            relu_in_place(out);
        }
        Op::Identity | Op::Flatten => out.copy_from_slice(x),
        Op::BatchNorm { eps } => {
            let s = &step.in_shapes[0];
            let (c, hw) = (s[0], s.iter().skip(1).product::<usize>());
            let [g, b, m, v] = [0, 1, 2, 3].map(|i| &step.params[i].data);
            for (i, (o, xi)) in out.chunks_mut(hw).zip(x.chunks(hw)).enumerate() {
                let ch = i % c;
                let scale = g[ch] / (v[ch] + eps).sqrt();
                for (o, xi) in o.iter_mut().zip(xi) {
                    *o = (xi - m[ch]) * scale + b[ch];
                }
            }
        }
        Op::Add { relu } => {
            out.copy_from_slice(x);
            for i in 1..step.inputs.len() {
                for (o, y) in out.iter_mut().zip(operand(arena, step, i, batch)) {
                    *o += y;
                }
            }
            if *relu {
                relu_in_place(out);
            }
        }
        Op::Concat => {
            let per_out: usize = step.shape.iter().product();
            let mut offset = 0;
            for i in 0..step.inputs.len() {
                let per_in: usize = step.in_shapes[i].iter().product();
                let src = operand(arena, step, i, batch);
                for b in 0..batch {
                    out[b * per_out + offset..b * per_out + offset + per_in]
                        .copy_from_slice(&src[b * per_in..(b + 1) * per_in]);
                }
                offset += per_in;
            }
        }
        Op::Softmax => {
            let per: usize = step.shape.iter().product();
            for (o, xi) in out.chunks_mut(per).zip(x.chunks(per)) {
                let max = xi.iter().copied().fold(f32::NEG_INFINITY, f32::max);
                let mut sum = 0.0f64;
                for (o, &v) in o.iter_mut().zip(xi) {
                    *o = (v - max).exp();
                    sum += *o as f64;
                }
                for o in o.iter_mut() {
                    *o = (*o as f64 / sum) as f32;
                }
            }
        }
        Op::Input { .. } => unreachable!("inputs are loaded, not executed"),
    }
}
