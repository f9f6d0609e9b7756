//! `netc emit <target>`: the network in another tool's format.

mod onnx;
mod pytorch;
mod triton;

pub use onnx::OnnxArgs;
pub use pytorch::PytorchArgs;
pub use triton::TritonArgs;

use super::Streams;

#[derive(clap::Args)]
pub struct EmitArgs {
    #[command(subcommand)]
    pub target: EmitTarget,
}

#[derive(clap::Subcommand)]
pub enum EmitTarget {
    /// An ONNX model: weights as initializers, the batch dynamic, nodes named by layer path.
    Onnx(OnnxArgs),
    /// PyTorch source: a class per block, layers named as netc names them, to train the network.
    Pytorch(PytorchArgs),
    /// A Triton Inference Server model repository: the ONNX model and its `config.pbtxt`.
    Triton(TritonArgs),
}

pub(super) fn emit(a: &EmitArgs, s: &mut Streams) -> u8 {
    match &a.target {
        EmitTarget::Onnx(a) => onnx::emit(a, s),
        EmitTarget::Pytorch(a) => pytorch::emit(a, s),
        EmitTarget::Triton(a) => triton::emit(a, s),
    }
}
