//! Rendering diagnostics: rustc-style text via codespan-reporting, or JSON.

use super::{Diagnostic, Severity, Suggestion};
use crate::source::{SourceMap, Span};
use codespan_reporting::diagnostic::{Diagnostic as CsDiagnostic, Label as CsLabel};
use codespan_reporting::term::{self, Config, termcolor::Buffer};
use serde_json::{Value, json};

fn to_codespan(d: &Diagnostic) -> CsDiagnostic<usize> {
    let base = match d.severity {
        Severity::Error => CsDiagnostic::error(),
        Severity::Warning => CsDiagnostic::warning(),
    };
    let mut labels =
        vec![CsLabel::primary(d.primary.span.file, d.primary.span.range()).with_message(&d.primary.message)];
    labels.extend(d.secondary.iter().map(|l| CsLabel::secondary(l.span.file, l.span.range()).with_message(&l.message)));
    let mut notes = d.notes.clone();
    if let Some(help) = &d.help {
        notes.push(format!("help: {help}"));
    }
    base.with_code(d.code.as_str()).with_message(&d.message).with_labels(labels).with_notes(notes)
}

/// Renders diagnostics as rustc-style text, with ANSI colour when `color` is set.
pub fn render_human(sources: &SourceMap, diags: &[Diagnostic], color: bool) -> String {
    let mut buf = if color { Buffer::ansi() } else { Buffer::no_color() };
    let config = Config::default();
    for d in diags {
        // Emission only fails on a bad file id or span, which would be a compiler bug; skip rather than panic.
        let _ = term::emit_to_write_style(&mut buf, &config, sources, &to_codespan(d));
    }
    String::from_utf8_lossy(buf.as_slice()).into_owned()
}

fn span_json(sources: &SourceMap, span: Span) -> Value {
    let (line, column) = sources.line_col(span);
    json!({
        "file": sources.name(span.file),
        "start": span.start,
        "end": span.end,
        "line": line,
        "column": column,
    })
}

/// Machine-readable form of one diagnostic, for editors and CI.
pub fn to_json(sources: &SourceMap, d: &Diagnostic) -> Value {
    let labels: Vec<Value> = std::iter::once((&d.primary, true))
        .chain(d.secondary.iter().map(|l| (l, false)))
        .map(|(l, primary)| {
            let mut v = span_json(sources, l.span);
            v["message"] = json!(l.message);
            v["primary"] = json!(primary);
            v
        })
        .collect();
    json!({
        "severity": match d.severity { Severity::Error => "error", Severity::Warning => "warning" },
        "code": d.code.as_str(),
        "message": d.message,
        "span": span_json(sources, d.primary.span),
        "labels": labels,
        "notes": d.notes,
        "help": d.help,
        "suggestion": d.suggestion.as_ref().map(|s| suggestion_json(sources, s)),
    })
}

/// `{applicability, edits: [{file, start, end, line, column, replacement}]}`: byte offsets
/// and 1-based line and column (in characters) of each replaced range.
fn suggestion_json(sources: &SourceMap, s: &Suggestion) -> Value {
    let edits: Vec<Value> = s
        .text_edits(sources)
        .into_iter()
        .map(|e| {
            let mut v = span_json(sources, e.span);
            v["replacement"] = json!(e.text);
            v
        })
        .collect();
    json!({ "applicability": s.applicability.as_str(), "edits": edits })
}
