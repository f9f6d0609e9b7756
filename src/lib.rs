//! netc: a compiler for hand-written convolutional networks.
//!
//! Data flows one way: text ([`syntax`]) -> IR ([`ir`]) -> checked IR ([`check`]) ->
//! optimized IR ([`passes`]) -> execution plan ([`plan`]) -> back ends.
//! [`compile`] runs the front half in one call; [`diag`] renders what went wrong.

pub mod backend;
pub mod bench;
pub mod check;
pub mod compile;
pub mod diag;
#[doc(hidden)]
pub mod fuzz;
pub mod io;
pub mod ir;
pub mod kernels;
pub mod passes;
pub mod plan;
pub mod run;
pub mod source;
pub mod syntax;
pub mod tensor;
pub mod weights;
