//! ONNX: the protobuf messages ([`proto`]), writing a checked network as an ONNX model
//! ([`write`]: `netc emit onnx`), reading ONNX models ([`read`]), and Triton's configuration
//! of a model ([`triton`]: `netc emit triton`).
//!
//! What each operation becomes in ONNX is the op's own knowledge (`crate::ops::onnx`, one
//! `impl OnnxForm` per op); this module assembles those nodes into a model.

pub mod import;
pub mod proto;
pub mod read;
pub mod triton;
pub mod write;

pub use import::{ImportError, Imported, import};
pub use read::{decode_model, read_model};
pub use triton::triton_config;
pub use write::{EmitOptions, MAX_OPSET, MIN_OPSET, Model, to_model, write_model};
