//! `netc import <format>`: a model from another tool as a `.net` file and its weights.

mod onnx;

pub use onnx::OnnxImportArgs;

use super::Streams;

#[derive(clap::Args)]
pub struct ImportArgs {
    #[command(subcommand)]
    pub source: ImportSource,
}

#[derive(clap::Subcommand)]
pub enum ImportSource {
    /// An ONNX model of the convolutional subset netc supports.
    Onnx(OnnxImportArgs),
}

pub(super) fn import(a: &ImportArgs, s: &mut Streams) -> u8 {
    match &a.source {
        ImportSource::Onnx(a) => onnx::import(a, s),
    }
}
