//! Weights by name: loading them from files, generating them, and checking them against the
//! network (one diagnostic that lists every missing, unexpected or mis-shaped tensor).

mod init;

pub use init::{generate, units};

use crate::diag::{Code, Diagnostic};
use crate::ir::Graph;
use crate::tensor::Tensor;
use crate::tensor::fmt_dims;
use std::collections::BTreeMap;

/// Named weight tensors (`<layer path>.weight`, `.bias`, `.running_mean`, ...).
#[derive(Clone, Debug, Default)]
pub struct Weights {
    pub tensors: BTreeMap<String, Tensor>,
}

impl Weights {
    pub fn new(tensors: impl IntoIterator<Item = (String, Tensor)>) -> Weights {
        Weights { tensors: tensors.into_iter().collect() }
    }

    pub fn get(&self, name: &str) -> Option<&Tensor> {
        self.tensors.get(name)
    }

    /// Deterministic weights for every tensor a checked graph needs (see [`init`]).
    pub fn generate(graph: &Graph, seed: u64) -> Weights {
        let mut tensors = BTreeMap::new();
        for n in graph.topo_order() {
            for w in graph.weight_specs(n) {
                let data = generate(&w.name, w.shape.iter().product(), w.init, seed);
                tensors.insert(w.name, Tensor::from_vec(&w.shape, data));
            }
        }
        Weights { tensors }
    }

    /// Drops what PyTorch saves beside the weights of `graph`'s layers for training only
    /// (BatchNorm's `num_batches_tracked`, see `Layer::training_state`): inference does not use
    /// it, so a `state_dict()` saved as it is loads.
    pub fn drop_training_state(&mut self, graph: &Graph) {
        for n in graph.g.node_indices() {
            let kinds = graph.g[n].op.training_state();
            if !kinds.is_empty() {
                let path = graph.path(n);
                for kind in kinds {
                    self.tensors.remove(&format!("{path}.{kind}"));
                }
            }
        }
    }

    /// Checks that the weights are exactly what the graph needs. Extra tensors, missing ones and
    /// wrong shapes are all listed in one E0018 diagnostic pointing at the first affected layer.
    pub fn validate(&self, graph: &Graph, source: &str) -> Result<(), Box<Diagnostic>> {
        let mut missing = Vec::new();
        let mut misshaped = Vec::new();
        let mut expected = std::collections::BTreeSet::new();
        let mut first_span = None;
        for n in graph.topo_order() {
            for crate::ir::Weight { name, shape, .. } in graph.weight_specs(n) {
                match self.tensors.get(&name) {
                    None => missing.push(format!("{name} {}", fmt_dims(&shape))),
                    Some(t) if t.shape != shape => misshaped.push(format!(
                        "{name}: file has {}, the layer needs {}",
                        fmt_dims(&t.shape),
                        fmt_dims(&shape)
                    )),
                    Some(_) => {
                        expected.insert(name);
                        continue;
                    }
                }
                first_span.get_or_insert((graph.g[n].span, graph.path(n)));
                expected.insert(name);
            }
        }
        let unexpected: Vec<String> = self
            .tensors
            .iter()
            .filter(|(k, _)| !expected.contains(*k))
            .map(|(k, t)| format!("{k} {}", fmt_dims(&t.shape)))
            .collect();
        if missing.is_empty() && misshaped.is_empty() && unexpected.is_empty() {
            return Ok(());
        }
        let span =
            first_span.as_ref().map(|(s, _)| *s).or_else(|| graph.outputs.first().map(|o| o.span)).unwrap_or_default();
        let label = first_span.map_or("the network".to_string(), |(_, p)| format!("`{p}` is the first layer affected"));
        let mut d = Diagnostic::error(
            Code::WeightsMismatch,
            format!(
                "weights in `{source}` do not match the network: {} missing, {} unexpected, {} with the wrong shape",
                missing.len(),
                unexpected.len(),
                misshaped.len()
            ),
            span,
            label,
        );
        for (title, list) in [("missing", &missing), ("wrong shape", &misshaped), ("unexpected", &unexpected)] {
            if !list.is_empty() {
                let shown: Vec<&String> = list.iter().take(20).collect();
                let more =
                    if list.len() > 20 { format!("\n  ... and {} more", list.len() - 20) } else { String::new() };
                d = d.with_note(format!(
                    "{title}:\n  {}{more}",
                    shown.iter().map(|s| s.as_str()).collect::<Vec<_>>().join("\n  ")
                ));
            }
        }
        Err(Box::new(d.with_help(
            "weights are named `<layer path>.weight`/`.bias` (batchnorm also `.running_mean`/`.running_var`) in PyTorch layout; `netc check --format json` lists every expected name and shape",
        )))
    }
}
