//! Structured suggestions: the edits a `help:` proposes, as spans and replacement texts, with how
//! safe they are to apply without a look (rustc's applicability levels). `netc check --fix`
//! applies the safe ones on disk; the language server offers all of them as quick fixes.

use crate::source::{FileId, SourceMap, Span};

/// How safe a suggestion is to apply without reading it.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub enum Applicability {
    /// The edit is what the user meant and does not change what a correct reading of the file
    /// computes (a look-alike character, quotes around a mode, the declared `in_features`):
    /// `netc check --fix` applies it.
    MachineApplicable,
    /// The edit makes the diagnostic go away but may not be what the user meant, or changes what
    /// the network computes (a typo's nearest name, a projection layer): offered, never applied
    /// by `--fix`.
    MaybeIncorrect,
}

impl Applicability {
    pub fn as_str(self) -> &'static str {
        match self {
            Applicability::MachineApplicable => "machine-applicable",
            Applicability::MaybeIncorrect => "maybe-incorrect",
        }
    }
}

/// One change of a suggestion.
#[derive(Clone, Debug, PartialEq)]
pub enum Edit {
    /// Replace the text `span` covers (an insertion when it is empty).
    Replace { span: Span, text: String },
    /// Insert `text` as a new line before the line `span` starts on, indented like it.
    LineBefore { span: Span, text: String },
}

/// What a `help:` proposes as edits. Its title is the help's own text.
#[derive(Clone, Debug, PartialEq)]
pub struct Suggestion {
    pub edits: Vec<Edit>,
    pub applicability: Applicability,
}

/// An edit as bytes of one file: replace `span` by `text`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct TextEdit {
    pub span: Span,
    pub text: String,
}

impl Suggestion {
    /// One replacement.
    pub fn replace(span: Span, text: impl Into<String>, applicability: Applicability) -> Suggestion {
        Suggestion { edits: vec![Edit::Replace { span, text: text.into() }], applicability }
    }

    /// The edits as byte replacements in `sources`, in source order.
    pub fn text_edits(&self, sources: &SourceMap) -> Vec<TextEdit> {
        let mut out: Vec<TextEdit> = self
            .edits
            .iter()
            .map(|e| match e {
                Edit::Replace { span, text } => TextEdit { span: *span, text: text.clone() },
                Edit::LineBefore { span, text } => {
                    let src = sources.source(span.file);
                    let start = src[..span.start.min(src.len())].rfind('\n').map_or(0, |i| i + 1);
                    let indent: String = src[start..].chars().take_while(|c| *c == ' ' || *c == '\t').collect();
                    TextEdit { span: Span::new(span.file, start..start), text: format!("{indent}{text}\n") }
                }
            })
            .collect();
        // Stable: insertions at one point keep the order they were given in.
        out.sort_by_key(|e| (e.span.file, e.span.start, e.span.end));
        out
    }
}

/// Applies `edits` (all in one file, sorted, from [`Suggestion::text_edits`]) to `src`. Edits that
/// overlap one applied before are skipped, as `cargo fix` does; returns the new text and how
/// many edits were applied.
pub fn apply_edits(src: &str, edits: &[TextEdit]) -> (String, usize) {
    let mut out = String::with_capacity(src.len());
    let mut at = 0;
    let mut applied = 0;
    for e in edits {
        let (start, end) = (e.span.start, e.span.end);
        if start < at || end > src.len() || !src.is_char_boundary(start) || !src.is_char_boundary(end) {
            continue;
        }
        out.push_str(&src[at..start]);
        out.push_str(&e.text);
        at = end;
        applied += 1;
    }
    out.push_str(&src[at..]);
    (out, applied)
}

/// The edits of `suggestions` grouped by file, each group sorted.
pub fn edits_by_file<'a>(
    sources: &SourceMap,
    suggestions: impl IntoIterator<Item = &'a Suggestion>,
) -> Vec<(FileId, Vec<TextEdit>)> {
    let mut all: Vec<TextEdit> = suggestions.into_iter().flat_map(|s| s.text_edits(sources)).collect();
    all.sort_by_key(|e| (e.span.file, e.span.start, e.span.end));
    let mut groups: Vec<(FileId, Vec<TextEdit>)> = Vec::new();
    for e in all {
        match groups.last_mut() {
            Some((f, v)) if *f == e.span.file => v.push(e),
            _ => groups.push((e.span.file, vec![e])),
        }
    }
    groups
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn line_before_keeps_indentation_and_overlaps_are_skipped() {
        let mut sources = SourceMap::new();
        let src = "a\n  let y = add(x, z)\n";
        let f = sources.add("t", src);
        let s = Suggestion {
            edits: vec![
                Edit::Replace { span: Span::new(f, 16..17), text: "x_proj".into() },
                Edit::LineBefore { span: Span::new(f, 12..15), text: "let x_proj = x".into() },
                Edit::Replace { span: Span::new(f, 16..18), text: "overlaps".into() },
            ],
            applicability: Applicability::MaybeIncorrect,
        };
        let (out, n) = apply_edits(src, &s.text_edits(&sources));
        assert_eq!(out, "a\n  let x_proj = x\n  let y = add(x_proj, z)\n");
        assert_eq!(n, 2);
    }
}
