//! The front end: source files, spans, and the pest parser that turns text into a typed AST.
//! pest pairs never leave this module; everything downstream sees [`ast`] types with spans.

pub mod ast;
mod parse;
mod program;
mod source;

pub use parse::parse_file;
pub use program::{PRELUDE, Program, load_program};
pub use source::{FileId, SourceMap, Span};
