//! netc: a compiler for hand-written convolutional networks.
//!
//! Data flows one way: text ([`syntax`]) -> checked IR ([`ir`], made of [`ops`], shapes inferred
//! as it is built) -> optimized IR ([`passes`]) -> execution plan ([`plan`]) -> back ends.
//! [`check`] shows a checked graph (the layer table, JSON), [`graph`] draws it.
//! [`compile`] runs the front half in one call; [`diag`] renders what went wrong; [`commands`]
//! is the command line. The book's contributor chapter documents the layering, which
//! `tests/layering.rs` enforces.

pub mod backend;
pub mod bench;
pub mod cache;
pub mod check;
pub mod commands;
pub mod compile;
pub mod diag;
pub mod fmt;
#[doc(hidden)]
pub mod fuzz;
pub mod graph;
pub mod io;
pub mod ir;
pub mod kernels;
pub mod lsp;
pub mod onnx;
pub mod ops;
pub mod passes;
pub mod plan;
pub mod pytorch;
pub mod run;
pub mod source;
pub mod syntax;
pub mod tensor;
pub mod weights;
