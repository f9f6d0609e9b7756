//! `netc lsp`: the language server (stdio, the synchronous `lsp-server` design rust-analyzer
//! uses). One concept per file: the server loop ([`server`]), a document and its analysis
//! (`analysis`), positions in UTF-16 (`position`), URIs and the prelude's copy (`files`), then
//! one file per feature group: diagnostics, hover, inlay hints, navigation (definition and
//! references), completion (and signature help), symbols (and formatting), code actions.
//! The book's "Language server" chapter describes what each feature shows.

mod actions;
mod analysis;
mod completion;
mod diagnostics;
mod files;
mod hover;
mod inlay;
mod navigation;
mod position;
mod server;
mod symbols;

pub use server::{PANIC_REQUEST, exercise, serve};
