//! Triton Inference Server's model configuration (`config.pbtxt`) for an ONNX model netc wrote.

use super::proto::ModelProto;
use std::fmt::Write;

/// The `config.pbtxt` of model `name`: the ONNX Runtime backend, the inputs' and outputs'
/// names and per-sample dims, batches of up to `max_batch_size`, formed by Triton's dynamic
/// batcher.
pub fn triton_config(model: &ModelProto, name: &str, max_batch_size: usize) -> String {
    let graph = model.graph.clone().unwrap_or_default();
    let mut s = String::new();
    let _ = writeln!(s, "name: \"{name}\"");
    let _ = writeln!(s, "platform: \"onnxruntime_onnx\"");
    let _ = writeln!(s, "max_batch_size: {max_batch_size}");
    for (section, values) in [("input", &graph.input), ("output", &graph.output)] {
        let _ = writeln!(s, "{section} [");
        for (i, v) in values.iter().enumerate() {
            let dims: Vec<String> = v.sample_dims().iter().map(i64::to_string).collect();
            let _ = writeln!(s, "  {{");
            let _ = writeln!(s, "    name: \"{}\"", v.name);
            let _ = writeln!(s, "    data_type: TYPE_FP32");
            let _ = writeln!(s, "    dims: [ {} ]", dims.join(", "));
            let _ = writeln!(s, "  }}{}", if i + 1 < values.len() { "," } else { "" });
        }
        let _ = writeln!(s, "]");
    }
    let _ = writeln!(s, "dynamic_batching {{");
    let _ = writeln!(s, "  max_queue_delay_microseconds: 100");
    let _ = writeln!(s, "}}");
    s
}
