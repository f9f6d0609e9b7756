//! The front half of the pipeline as one call: text -> AST -> checked IR.

use crate::diag::{Applicability, Code, Diagnostic, apply_edits, edits_by_file, has_errors};
use crate::ir::{self, Graph, LowerOptions};
use crate::source::SourceMap;
use crate::syntax::{PRELUDE_FILE, Program, load_program};
use std::path::Path;

/// A compiled (checked) network with the sources its diagnostics point into.
pub struct Compilation {
    pub sources: SourceMap,
    pub graph: Graph,
    pub diagnostics: Vec<Diagnostic>,
    /// The parsed files (for tools that map positions to the program: the language server).
    pub program: Program,
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
    Compilation { sources, graph, diagnostics, program }
}

/// Reads and checks a `.net` file; the error says why it cannot be read.
pub fn compile_file(path: &Path, options: &LowerOptions) -> Result<Compilation, String> {
    let source = crate::syntax::read_source(path)?;
    let dir = path.parent().unwrap_or(Path::new("."));
    Ok(compile_source(&path.display().to_string(), source, dir, options))
}

/// Rounds of `--fix` at most: a fix can reveal an error the parser stopped before.
const MAX_FIX_ROUNDS: usize = 16;

/// `netc check --fix`: applies every machine-applicable suggestion to the files on disk (the
/// main file and its imports, never the prelude), checks again and repeats while that fixes
/// more, as `cargo fix` does. Returns how many edits each file received, in order of first fix.
pub fn fix_file(path: &Path, options: &LowerOptions) -> Result<Vec<(String, usize)>, String> {
    let mut fixed: Vec<(String, usize)> = Vec::new();
    for _ in 0..MAX_FIX_ROUNDS {
        let c = compile_file(path, options)?;
        let safe = c
            .diagnostics
            .iter()
            .filter_map(|d| d.suggestion.as_ref())
            .filter(|s| s.applicability == Applicability::MachineApplicable);
        let mut round = 0;
        for (file, edits) in edits_by_file(&c.sources, safe) {
            let name = c.sources.name(file);
            if file == PRELUDE_FILE {
                continue;
            }
            let (text, n) = apply_edits(c.sources.source(file), &edits);
            std::fs::write(name, text).map_err(|e| format!("cannot write `{name}`: {e}"))?;
            match fixed.iter_mut().find(|(f, _)| f == name) {
                Some((_, count)) => *count += n,
                None => fixed.push((name.to_string(), n)),
            }
            round += n;
        }
        if round == 0 {
            break;
        }
    }
    Ok(fixed)
}
