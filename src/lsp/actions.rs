//! Code actions: the structured suggestion of each diagnostic in the requested range as a quick
//! fix (preferred when it is machine-applicable).

use super::diagnostics::{DocsBase, to_lsp};
use super::files::Files;
use crate::diag::{Applicability, edits_by_file};
use lsp_types::{CodeAction, CodeActionKind, CodeActionOrCommand, Range, TextEdit, WorkspaceEdit};
use std::collections::HashMap;

pub fn quick_fixes(files: &Files, range: Range, docs: &DocsBase) -> Option<Vec<CodeActionOrCommand>> {
    let c = &files.doc.check;
    let mut out = Vec::new();
    for d in &c.diagnostics {
        let Some(suggestion) = &d.suggestion else { continue };
        if d.primary.span.file != c.program.main {
            continue;
        }
        let r = files.range(c, d.primary.span);
        if r.end < range.start || r.start > range.end {
            continue;
        }
        let mut changes: HashMap<_, Vec<TextEdit>> = HashMap::new();
        for (_, edits) in edits_by_file(&c.sources, [suggestion]) {
            for e in edits {
                let Some(uri) = files.uri(c, e.span) else { continue };
                changes.entry(uri).or_default().push(TextEdit { range: files.range(c, e.span), new_text: e.text });
            }
        }
        let title = d.help.clone().unwrap_or_else(|| d.message.clone());
        out.push(CodeActionOrCommand::CodeAction(CodeAction {
            title,
            kind: Some(CodeActionKind::QUICKFIX),
            diagnostics: Some(vec![to_lsp(files, c, d, docs)]),
            edit: Some(WorkspaceEdit { changes: Some(changes), ..WorkspaceEdit::default() }),
            is_preferred: Some(suggestion.applicability == Applicability::MachineApplicable),
            ..CodeAction::default()
        }));
    }
    Some(out)
}
