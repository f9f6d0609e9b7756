//! netc: a compiler for hand-written convolutional networks.
//!
//! Data flows one way: text ([`syntax`]) -> IR ([`ir`]) -> checked IR ([`check`]) -> back ends.
//! [`compile`] runs the front half in one call; [`diag`] renders what went wrong.

pub mod check;
pub mod compile;
pub mod diag;
pub mod ir;
pub mod syntax;
pub mod tensor;
