//! The execution plan: an optimized graph as a list of steps reading and writing arena slots,
//! with buffers reused by liveness (static memory planning). Both back ends execute plans.

use crate::check::PlanPeak;
use crate::ir::{Graph, Op};
use crate::ops::{Eval, Input, Layer};
use crate::tensor::Tensor;
use crate::weights::Weights;

/// One operation of the plan.
#[derive(Clone, Debug)]
pub struct Step {
    pub path: String,
    pub op: Op,
    /// Arena slots of the operands, in order.
    pub inputs: Vec<usize>,
    /// Per-sample shapes of the operands.
    pub in_shapes: Vec<Vec<usize>>,
    /// Arena slot of the result.
    pub output: usize,
    /// Per-sample shape of the result.
    pub shape: Vec<usize>,
    /// The layer's weights in [`Graph::weight_specs`] order (conv/dense: weight, then bias).
    pub params: Vec<Tensor>,
}

impl Step {
    /// Floats of operand `i` for `batch` samples.
    pub fn input_len(&self, i: usize, batch: usize) -> usize {
        self.in_shapes[i].iter().product::<usize>() * batch
    }

    /// Floats of the result for `batch` samples.
    pub fn output_len(&self, batch: usize) -> usize {
        self.shape.iter().product::<usize>() * batch
    }

    /// Runs the step's reference kernel on `batch` samples of its operands into `out`.
    pub fn eval(&self, batch: usize, threads: usize, inputs: &[&[f32]], out: &mut [f32]) {
        let (in_shapes, shape, params) = (&self.in_shapes, &self.shape, &self.params);
        self.op.eval(Eval { batch, threads, inputs, in_shapes, shape, params, out });
    }
}

/// A network input: where the caller's data goes, and how it is loaded (the input op).
#[derive(Clone, Debug)]
pub struct PlanInput {
    pub op: Input,
    pub slot: usize,
}

impl PlanInput {
    /// Per-sample shape.
    pub fn shape(&self) -> &[usize] {
        &self.op.dims
    }

    /// Copies `batch` samples of raw input values into the input slot `dst`, applying the
    /// declared normalization.
    pub fn load(&self, batch: usize, raw: &[f32], dst: &mut [f32]) {
        let shape = [self.op.dims.clone()];
        let out = &mut dst[..raw.len()];
        self.op.eval(Eval {
            batch,
            threads: 1,
            inputs: &[raw],
            in_shapes: &shape,
            shape: &self.op.dims,
            params: &[],
            out,
        });
    }
}

#[derive(Clone, Debug)]
pub struct Plan {
    pub inputs: Vec<PlanInput>,
    pub steps: Vec<Step>,
    /// Per-sample size (in f32 elements) of each arena slot.
    pub slot_sizes: Vec<usize>,
    /// The outputs: slot and per-sample shape.
    pub outputs: Vec<(usize, Vec<usize>)>,
}

impl Plan {
    /// Plans a checked, optimized graph whose weights have been validated.
    pub fn new(graph: &Graph, weights: &Weights) -> Plan {
        let order = graph.topo_order();
        let positions: std::collections::HashMap<_, usize> = order.iter().enumerate().map(|(i, &n)| (n, i)).collect();
        let position = |n| positions[&n];
        // Last step reading each node (outputs live to the end).
        let mut last_use: Vec<usize> = order.iter().map(|&n| position(n)).collect();
        for (i, &n) in order.iter().enumerate() {
            for src in graph.inputs_of(n) {
                let p = position(src);
                last_use[p] = last_use[p].max(i);
            }
            if graph.is_output(n) {
                last_use[i] = usize::MAX;
            }
        }
        let mut slot_sizes: Vec<usize> = Vec::new();
        let mut slot_of: Vec<usize> = vec![usize::MAX; order.len()];
        let mut free: Vec<usize> = Vec::new();
        let mut live: Vec<usize> = Vec::new();
        let mut plan = Plan { inputs: Vec::new(), steps: Vec::new(), slot_sizes: Vec::new(), outputs: Vec::new() };
        for (i, &n) in order.iter().enumerate() {
            // Release slots whose tensors were last read before this step.
            live.retain(|&j| {
                if last_use[j] < i {
                    free.push(slot_of[j]);
                    false
                } else {
                    true
                }
            });
            let node = &graph.g[n];
            let need: usize = node.shape.iter().product();
            // Best fit among free slots; otherwise grow the largest free slot; otherwise a new slot.
            let fit =
                free.iter().enumerate().filter(|(_, s)| slot_sizes[**s] >= need).min_by_key(|(_, s)| slot_sizes[**s]);
            let slot = match fit.map(|(k, _)| k).or_else(|| (0..free.len()).max_by_key(|&k| slot_sizes[free[k]])) {
                Some(k) => {
                    let s = free.swap_remove(k);
                    slot_sizes[s] = slot_sizes[s].max(need);
                    s
                }
                None => {
                    slot_sizes.push(need);
                    slot_sizes.len() - 1
                }
            };
            slot_of[i] = slot;
            live.push(i);
            if let Op::Input(op) = &node.op {
                plan.inputs.push(PlanInput { op: op.clone(), slot });
                continue;
            }
            let operands = graph.inputs_of(n);
            let params = graph
                .weight_specs(n)
                .into_iter()
                .map(|w| weights.get(&w.name).cloned().unwrap_or_else(|| Tensor::zeros(&w.shape)))
                .collect();
            plan.steps.push(Step {
                path: graph.path(n),
                op: node.op.clone(),
                inputs: operands.iter().map(|&s| slot_of[position(s)]).collect(),
                in_shapes: operands.iter().map(|&s| graph.g[s].shape.clone()).collect(),
                output: slot,
                shape: node.shape.clone(),
                params,
            });
        }
        plan.outputs =
            graph.outputs.iter().map(|o| (slot_of[position(o.node)], graph.g[o.node].shape.clone())).collect();
        plan.slot_sizes = slot_sizes;
        plan
    }

    /// Deterministic inputs for a batch of `batch`: values in [-1, 1) drawn by the weight
    /// generator under each input's name and `seed` (for benchmarks and tests).
    pub fn sample_inputs(&self, batch: usize, seed: u64) -> Vec<Tensor> {
        self.inputs
            .iter()
            .map(|i| {
                let shape: Vec<usize> = std::iter::once(batch).chain(i.shape().iter().copied()).collect();
                let n = shape.iter().product();
                Tensor::from_vec(&shape, crate::weights::units(&i.op.name, seed, n).map(|u| u as f32).collect())
            })
            .collect()
    }

    /// The plan cut after its first `n` steps, whose output is the `n`-th step's result: timing
    /// successive prefixes gives a per-layer profile of any back end.
    pub fn prefix(&self, n: usize) -> Plan {
        let mut p = self.clone();
        p.steps.truncate(n);
        p.outputs = match p.steps.last() {
            Some(s) => vec![(s.output, s.shape.clone())],
            None => p.inputs.iter().map(|i| (i.slot, i.shape().to_vec())).collect(),
        };
        p
    }

    /// The optimized graph's layer table with the memory plan's peak, and what the activations
    /// would take without buffer reuse (`netc run --dump-ir`, `netc check --opt`).
    pub fn describe(&self, graph: &Graph) -> String {
        format!(
            "{}without buffer reuse: {} per sample\n",
            crate::check::layer_table(graph).with_peak(self.peak(1)).render(),
            crate::check::human_bytes(self.unplanned_bytes(1) as u64),
        )
    }

    /// The plan's peak activation memory for a batch of `batch`, for the layer table.
    pub fn peak(&self, batch: usize) -> PlanPeak {
        PlanPeak { bytes: self.arena_bytes(batch) as u64, buffers: self.slot_sizes.len() }
    }

    /// Bytes of activation memory a batch of `batch` needs: the sum of the arena slots.
    pub fn arena_bytes(&self, batch: usize) -> usize {
        self.slot_sizes.iter().sum::<usize>() * batch * std::mem::size_of::<f32>()
    }

    /// Bytes the activations would take with one buffer per tensor (no reuse), for comparison.
    pub fn unplanned_bytes(&self, batch: usize) -> usize {
        let per_sample: usize = self.inputs.iter().map(|i| i.shape().iter().product::<usize>()).sum::<usize>()
            + self.steps.iter().map(|s| s.shape.iter().product::<usize>()).sum::<usize>();
        per_sample * batch * std::mem::size_of::<f32>()
    }
}
