//! The document's outline (inputs, blocks with their parameters and `let`s, tensors, outputs,
//! imports) and whole-document formatting with `netc fmt`.

use super::files::Files;
use crate::syntax::ast::{Item, Let};
use crate::tensor::fmt_shape;
use lsp_types::{DocumentSymbol, DocumentSymbolResponse, SymbolKind, TextEdit};

pub fn document_symbols(files: &Files) -> Option<DocumentSymbolResponse> {
    let doc = files.doc;
    let a = &doc.analysis;
    let range = |s: crate::source::Span| doc.lines.range(&doc.text, s.start, s.end);
    #[allow(deprecated)] // `deprecated` is a required field of the type.
    let symbol =
        |name: String, detail: Option<String>, kind, span, selection, children: Option<Vec<DocumentSymbol>>| {
            DocumentSymbol {
                name,
                detail,
                kind,
                tags: None,
                deprecated: None,
                range: range(span),
                selection_range: range(selection),
                children,
            }
        };
    let shape_of = |l: &Let| {
        let shapes: Vec<String> = l
            .chain
            .stages
            .last()
            .map(|s| a.stage_shapes(s.span()))
            .unwrap_or_default()
            .iter()
            .map(|s| fmt_shape(s))
            .collect();
        (!shapes.is_empty()).then(|| shapes.join(" | "))
    };
    let let_symbol =
        |l: &Let| symbol(l.name.name.clone(), shape_of(l), SymbolKind::VARIABLE, l.span, l.name.span, None);
    let mut out = Vec::new();
    for item in &a.main_file()?.items {
        out.push(match item {
            Item::Import { path, span } => symbol(path.clone(), None, SymbolKind::MODULE, *span, *span, None),
            Item::Input(d) => {
                let shape = a.stage_shapes(d.span).first().map(|s| fmt_shape(s));
                symbol(d.name.name.clone(), shape, SymbolKind::VARIABLE, d.span, d.name.span, None)
            }
            Item::Block(b) => {
                let mut children: Vec<DocumentSymbol> = b
                    .params
                    .iter()
                    .map(|p| symbol(p.name.name.clone(), None, SymbolKind::TYPE_PARAMETER, p.span, p.name.span, None))
                    .collect();
                children.extend(b.lets.iter().map(&let_symbol));
                let signature = super::hover::block_signature(&a.compilation.sources, b);
                symbol(b.name.name.clone(), Some(signature), SymbolKind::FUNCTION, b.span, b.name.span, Some(children))
            }
            Item::Let(l) => let_symbol(l),
            Item::Output { chains, span } => {
                let shapes: Vec<String> = chains
                    .iter()
                    .filter_map(|c| a.stage_shapes(c.stages.last()?.span()).first().map(|s| fmt_shape(s)))
                    .collect();
                symbol("output".into(), Some(shapes.join(", ")), SymbolKind::EVENT, *span, *span, None)
            }
        });
    }
    Some(DocumentSymbolResponse::Nested(out))
}

/// The document in the canonical style (one edit of the whole text), or no edit when it is
/// formatted already or does not parse.
pub fn format(files: &Files) -> Option<Vec<TextEdit>> {
    let doc = files.doc;
    let formatted = crate::fmt::format_source(&doc.text).ok()?;
    if formatted == doc.text {
        return Some(Vec::new());
    }
    Some(vec![TextEdit { range: doc.lines.range(&doc.text, 0, doc.text.len()), new_text: formatted }])
}
