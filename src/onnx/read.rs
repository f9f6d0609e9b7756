//! Reading an ONNX model file: the bytes decoded into [`ModelProto`], with an error that says
//! what is wrong for anything that is not a model.

use super::proto::ModelProto;
use prost::Message;
use std::path::Path;

/// Decodes an ONNX model from its bytes. Truncated or garbled files, and files that decode but
/// hold no graph, are errors naming the problem; nothing panics.
pub fn decode_model(bytes: &[u8]) -> Result<ModelProto, String> {
    if bytes.is_empty() {
        return Err("the file is empty, not an ONNX model".to_string());
    }
    let model = ModelProto::decode(bytes).map_err(|e| {
        format!("not a valid ONNX model (protobuf decoding failed: {e}); the file is truncated or not ONNX")
    })?;
    if model.graph.is_none() {
        return Err("not an ONNX model: it holds no graph (is it an ONNX file at all?)".to_string());
    }
    if model.opset_import.is_empty() {
        return Err("not a valid ONNX model: it imports no operator set".to_string());
    }
    Ok(model)
}

/// Reads and decodes the ONNX model at `path`.
pub fn read_model(path: &Path) -> Result<ModelProto, String> {
    let bytes = std::fs::read(path).map_err(|e| format!("cannot read `{}`: {e}", path.display()))?;
    decode_model(&bytes).map_err(|e| format!("`{}`: {e}", path.display()))
}
