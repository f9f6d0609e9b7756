//! `netc lsp`: the language server on standard input and output (see [`crate::lsp`]).

use super::{SUCCESS, Streams};

pub(super) fn lsp(s: &mut Streams) -> u8 {
    match crate::lsp::serve() {
        Ok(()) => SUCCESS,
        Err(e) => s.io_error(format!("the language server stopped: {e}")),
    }
}
