//! The front end: loading source files and the pest parser that turns text into a typed AST.
//! pest pairs never leave this module; everything downstream sees [`ast`] types with spans.

pub mod ast;
mod parse;
mod program;
pub mod trivia;

pub use parse::parse_file;
pub use program::{MAX_SOURCE_BYTES, PRELUDE, PRELUDE_FILE, PRELUDE_NAME, Program, load_program, read_source};
