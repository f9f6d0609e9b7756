//! `netc import onnx model.onnx -o model.net [--weights-out W.safetensors]`.

use super::super::{FAILURE, SUCCESS, Streams};
use crate::io::write_safetensors;
use crate::onnx::{import as import_onnx, read_model};
use std::collections::BTreeMap;
use std::path::PathBuf;

#[derive(clap::Args)]
pub struct OnnxImportArgs {
    /// The ONNX model.
    pub file: PathBuf,
    /// The `.net` file to write.
    #[arg(short, long)]
    pub output: PathBuf,
    /// Also write the weights, named by the new file's layer paths, to this `.safetensors`.
    #[arg(long)]
    pub weights_out: Option<PathBuf>,
}

pub(super) fn import(a: &OnnxImportArgs, s: &mut Streams) -> u8 {
    let model = match read_model(&a.file) {
        Ok(m) => m,
        Err(e) => return s.io_error(e),
    };
    let name = a.file.file_name().map_or(a.file.display().to_string(), |n| n.to_string_lossy().into_owned());
    let imported = match import_onnx(&model, &name) {
        Ok(i) => i,
        Err(e) => {
            let _ = writeln!(s.err, "error: {e}");
            return FAILURE;
        }
    };
    if let Err(e) = std::fs::write(&a.output, &imported.source) {
        return s.io_error(format!("cannot write `{}`: {e}", a.output.display()));
    }
    let _ = writeln!(s.out, "wrote {}", a.output.display());
    if let Some(w) = &a.weights_out {
        let tensors: Vec<_> = imported.weights.tensors.into_iter().collect();
        let metadata = BTreeMap::from([("source".to_string(), name)]);
        if let Err(e) = write_safetensors(w, &tensors, &metadata) {
            return s.io_error(e);
        }
        let _ = writeln!(s.out, "wrote {} ({} tensors)", w.display(), tensors.len());
    }
    SUCCESS
}
