//! Diagnostics: what went wrong, where, and how to fix it. Built everywhere in the compiler,
//! rendered only at the edge (human text through codespan-reporting, or JSON for editors).

mod codes;
mod fix;
mod render;

pub use codes::{Code, lookup_code};
pub use fix::{Applicability, Edit, Suggestion, TextEdit, apply_edits, edits_by_file};
pub use render::{render_human, to_json};

use crate::source::Span;

#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub enum Severity {
    Warning,
    Error,
}

/// A span with a message: the primary label says what is wrong there, secondary ones give context.
#[derive(Clone, Debug, PartialEq)]
pub struct Label {
    pub span: Span,
    pub message: String,
}

#[derive(Clone, Debug, PartialEq)]
pub struct Diagnostic {
    pub severity: Severity,
    pub code: Code,
    pub message: String,
    pub primary: Label,
    pub secondary: Vec<Label>,
    pub notes: Vec<String>,
    pub help: Option<String>,
    /// The help's proposal as edits, when it proposes one.
    pub suggestion: Option<Suggestion>,
}

impl Diagnostic {
    pub fn error(code: Code, message: impl Into<String>, span: Span, label: impl Into<String>) -> Diagnostic {
        Diagnostic {
            severity: Severity::Error,
            code,
            message: message.into(),
            primary: Label { span, message: label.into() },
            secondary: Vec::new(),
            notes: Vec::new(),
            help: None,
            suggestion: None,
        }
    }

    pub fn warning(code: Code, message: impl Into<String>, span: Span, label: impl Into<String>) -> Diagnostic {
        Diagnostic { severity: Severity::Warning, ..Diagnostic::error(code, message, span, label) }
    }

    pub fn with_label(mut self, span: Span, message: impl Into<String>) -> Diagnostic {
        self.secondary.push(Label { span, message: message.into() });
        self
    }

    pub fn with_note(mut self, note: impl Into<String>) -> Diagnostic {
        self.notes.push(note.into());
        self
    }

    pub fn with_help(mut self, help: impl Into<String>) -> Diagnostic {
        self.help = Some(help.into());
        self
    }

    /// The help (`help`) with the edits that carry it out.
    pub fn with_fix(mut self, help: impl Into<String>, suggestion: Suggestion) -> Diagnostic {
        self.help = Some(help.into());
        self.suggestion = Some(suggestion);
        self
    }

    pub fn is_error(&self) -> bool {
        self.severity == Severity::Error
    }
}

/// True when any diagnostic is an error.
pub fn has_errors(diags: &[Diagnostic]) -> bool {
    diags.iter().any(Diagnostic::is_error)
}
