//! The interpreter: walks the plan step by step, calling each op's readable reference kernel
//! ([`crate::ops::Layer::eval`]). It is the project's ground truth: every other back end is
//! tested against it.

use super::Backend;
use crate::plan::Plan;
use crate::tensor::Tensor;
use std::time::{Duration, Instant};

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
        self.execute(inputs, None)
    }

    fn run_timed(&self, inputs: &[Tensor], times: &mut [Duration]) -> Vec<Tensor> {
        self.execute(inputs, Some(times))
    }
}

impl Interpreter {
    /// Runs the plan; with `times`, adds each step's time to its entry.
    fn execute(&self, inputs: &[Tensor], mut times: Option<&mut [Duration]>) -> Vec<Tensor> {
        let batch = inputs.first().map_or(1, |t| t.shape[0]);
        let mut arena: Vec<Vec<f32>> = self.plan.slot_sizes.iter().map(|s| vec![0.0; s * batch]).collect();
        for (input, data) in self.plan.inputs.iter().zip(inputs) {
            input.load(batch, &data.data, &mut arena[input.slot]);
        }
        for (i, step) in self.plan.steps.iter().enumerate() {
            let started = times.is_some().then(Instant::now);
            let mut out = std::mem::take(&mut arena[step.output]);
            let operands: Vec<&[f32]> =
                step.inputs.iter().enumerate().map(|(i, &slot)| &arena[slot][..step.input_len(i, batch)]).collect();
            step.eval(batch, self.threads, &operands, &mut out[..step.output_len(batch)]);
            arena[step.output] = out;
            if let (Some(times), Some(started)) = (times.as_deref_mut(), started) {
                times[i] += started.elapsed();
            }
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
