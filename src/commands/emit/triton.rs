//! `netc emit triton FILE -o repo/`: a Triton model repository.

use super::super::{SUCCESS, Streams};
use super::onnx::{Source, network, options};
use crate::onnx::{MIN_OPSET, triton_config, write_model};
use std::path::PathBuf;

#[derive(clap::Args)]
pub struct TritonArgs {
    #[command(flatten)]
    pub source: Source,
    /// The model repository to write (made if missing); the model goes in `<repo>/<name>/`.
    #[arg(short, long)]
    pub output: PathBuf,
    /// The model's name in the repository (default: the file's name without `.net`).
    #[arg(long)]
    pub name: Option<String>,
    /// The largest batch Triton may form.
    #[arg(long, default_value_t = 8)]
    pub max_batch_size: usize,
    /// The ONNX operator set version (17 to 21).
    #[arg(long, default_value_t = MIN_OPSET)]
    pub opset: i64,
}

pub(super) fn emit(a: &TritonArgs, s: &mut Streams) -> u8 {
    let options = match options(a.opset, s) {
        Ok(o) => o,
        Err(code) => return code,
    };
    let (c, weights) = match network(&a.source, s) {
        Ok(n) => n,
        Err(code) => return code,
    };
    let name = a
        .name
        .clone()
        .unwrap_or_else(|| a.source.file.file_stem().map_or("network".into(), |s| s.to_string_lossy().into_owned()));
    let dir = a.output.join(&name);
    let version = dir.join("1");
    if let Err(e) = std::fs::create_dir_all(&version) {
        return s.io_error(format!("cannot create `{}`: {e}", version.display()));
    }
    let model = match write_model(&c.graph, &weights, &version.join("model.onnx"), &options) {
        Ok(m) => m,
        Err(e) => return s.io_error(e),
    };
    let config = dir.join("config.pbtxt");
    if let Err(e) = std::fs::write(&config, triton_config(&model.proto, &name, a.max_batch_size)) {
        return s.io_error(format!("cannot write `{}`: {e}", config.display()));
    }
    let _ = writeln!(s.out, "wrote {} and {}", version.join("model.onnx").display(), config.display());
    SUCCESS
}
