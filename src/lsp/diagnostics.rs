//! netc diagnostics as LSP diagnostics: the code (linking its catalogue page), the severity, the
//! primary range, secondary labels as related information, notes and the help under the message.
//! Each diagnostic is published on the file it points into, so an error in an imported file
//! shows in that file.

use super::files::Files;
use crate::compile::Compilation;
use crate::diag::{self, Severity};
use lsp_types::{CodeDescription, Diagnostic, DiagnosticRelatedInformation, DiagnosticSeverity, NumberOrString, Uri};
use std::str::FromStr;

/// Where the catalogue pages are: `{base}{code}.md`, or `.html` with a base given by the editor.
pub struct DocsBase {
    pub base: String,
    pub extension: &'static str,
}

impl Default for DocsBase {
    /// The catalogue in the source tree netc was built from (`book/src/diagnostics/`).
    fn default() -> DocsBase {
        DocsBase { base: format!("file://{}/book/src/diagnostics/", env!("CARGO_MANIFEST_DIR")), extension: "md" }
    }
}

impl DocsBase {
    /// The base from the `docsBaseUrl` initialization option: a URL under which `E0007.html`
    /// is the rendered page (the book's `diagnostics/` folder).
    pub fn rendered(url: &str) -> DocsBase {
        let base = if url.ends_with('/') { url.to_string() } else { format!("{url}/") };
        DocsBase { base, extension: "html" }
    }

    fn href(&self, code: &str) -> Option<Uri> {
        Uri::from_str(&format!("{}{code}.{}", self.base, self.extension)).ok()
    }
}

/// One diagnostic of `c` in LSP form (its ranges through `files`).
pub fn to_lsp(files: &Files, c: &Compilation, d: &diag::Diagnostic, docs: &DocsBase) -> Diagnostic {
    let related: Vec<DiagnosticRelatedInformation> = d
        .secondary
        .iter()
        .filter_map(|l| {
            Some(DiagnosticRelatedInformation { location: files.location(c, l.span)?, message: l.message.clone() })
        })
        .collect();
    let mut message = d.message.clone();
    for note in &d.notes {
        message.push_str(&format!("\nnote: {note}"));
    }
    if let Some(help) = &d.help {
        message.push_str(&format!("\nhelp: {help}"));
    }
    Diagnostic {
        range: files.range(c, d.primary.span),
        severity: Some(match d.severity {
            Severity::Error => DiagnosticSeverity::ERROR,
            Severity::Warning => DiagnosticSeverity::WARNING,
        }),
        code: Some(NumberOrString::String(d.code.as_str().to_string())),
        code_description: docs.href(d.code.as_str()).map(|href| CodeDescription { href }),
        source: Some("netc".to_string()),
        message,
        related_information: (!related.is_empty()).then_some(related),
        tags: None,
        data: None,
    }
}

/// The document's diagnostics grouped by the file they are published on, the document's own
/// first (even when it has none).
pub fn by_file(files: &Files, docs: &DocsBase) -> Vec<(Uri, Vec<Diagnostic>)> {
    let c = &files.doc.check;
    let mut out: Vec<(Uri, Vec<Diagnostic>)> = vec![(files.uri.clone(), Vec::new())];
    for d in &c.diagnostics {
        let Some(uri) = files.uri(c, d.primary.span) else { continue };
        let lsp = to_lsp(files, c, d, docs);
        match out.iter_mut().find(|(u, _)| *u == uri) {
            Some((_, v)) => v.push(lsp),
            None => out.push((uri, vec![lsp])),
        }
    }
    out
}
