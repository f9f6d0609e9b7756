//! The front half of the pipeline as one call: text -> AST -> checked IR.

use crate::diag::{Code, Diagnostic, has_errors};
use crate::ir::{self, Graph, LowerOptions};
use crate::source::SourceMap;
use crate::syntax::load_program;
use std::path::Path;

/// A compiled (checked) network with the sources its diagnostics point into.
pub struct Compilation {
    pub sources: SourceMap,
    pub graph: Graph,
    pub diagnostics: Vec<Diagnostic>,
}

impl Compilation {
    pub fn has_errors(&self) -> bool {
        has_errors(&self.diagnostics)
    }
}

/// Checks `source` (named `name`; imports resolve relative to `dir`).
pub fn compile_source(name: &str, source: String, dir: &Path, options: &LowerOptions) -> Compilation {
    let mut sources = SourceMap::new();
    let (program, mut diagnostics) = load_program(&mut sources, name, source, dir, &options.import_dirs);
    let (graph, lower_diags) = ir::lower(&program, options);
    diagnostics.extend(lower_diags);
    if cfg!(any(debug_assertions, feature = "verify"))
        && !has_errors(&diagnostics)
        && let Err(e) = graph.verify()
    {
        panic!("lowering built an inconsistent IR: {e}");
    }
    // An error often leaves a tensor unread (its user failed to lower); "unused" would be noise.
    if has_errors(&diagnostics) {
        diagnostics.retain(|d| d.code != Code::UnusedTensor);
    }
    // Errors first; the main file's last, since its errors may follow from an imported file's
    // (a block that failed to load); then in source order, so output is stable.
    let main = program.main;
    diagnostics.sort_by_key(|d| {
        let file = d.primary.span.file;
        (std::cmp::Reverse(d.severity), file == main, file, d.primary.span.start)
    });
    Compilation { sources, graph, diagnostics }
}

/// Reads and checks a `.net` file; the error says why it cannot be read.
pub fn compile_file(path: &Path, options: &LowerOptions) -> Result<Compilation, String> {
    let source = crate::syntax::read_source(path)?;
    let dir = path.parent().unwrap_or(Path::new("."));
    Ok(compile_source(&path.display().to_string(), source, dir, options))
}
