//! Inlay hints: the output shape after each stage of every chain (`vgg(128)` → `128x56x56`). A
//! stage in a block body shows the shape of each instance (`64x16x16 | 128x8x8`).

use super::files::Files;
use crate::syntax::ast::{Chain, Item, Stage};
use crate::tensor::fmt_shape;
use lsp_types::{InlayHint, InlayHintKind, InlayHintLabel, Range};

pub fn hints(files: &Files, range: Range) -> Option<Vec<InlayHint>> {
    let doc = files.doc;
    let a = &doc.analysis;
    let (start, end) = (doc.lines.offset(&doc.text, range.start), doc.lines.offset(&doc.text, range.end));
    let mut stages: Vec<&Stage> = Vec::new();
    for item in &a.main_file()?.items {
        match item {
            Item::Let(l) => collect(&l.chain, &mut stages),
            Item::Output { chains, .. } => chains.iter().for_each(|c| collect(c, &mut stages)),
            Item::Block(b) => {
                b.lets.iter().for_each(|l| collect(&l.chain, &mut stages));
                collect(&b.body, &mut stages);
            }
            Item::Import { .. } | Item::Input(_) => {}
        }
    }
    let mut out = Vec::new();
    for stage in stages {
        let span = stage.span();
        if span.end < start || span.end > end {
            continue;
        }
        let shapes = a.stage_shapes(span);
        if shapes.is_empty() {
            continue;
        }
        let label: Vec<String> = shapes.iter().map(|s| fmt_shape(s)).collect();
        out.push(InlayHint {
            position: doc.lines.position(&doc.text, span.end),
            label: InlayHintLabel::String(label.join(" | ")),
            kind: Some(InlayHintKind::TYPE),
            text_edits: None,
            tooltip: None,
            padding_left: Some(true),
            padding_right: None,
            data: None,
        });
    }
    out.sort_by_key(|h| (h.position.line, h.position.character));
    Some(out)
}

/// Every stage of `chain`, those nested in `repeat` and `residual` bodies included.
fn collect<'a>(chain: &'a Chain, out: &mut Vec<&'a Stage>) {
    for stage in &chain.stages {
        match stage {
            Stage::Call(_) => {}
            Stage::Repeat { body, .. } => collect(body, out),
            Stage::Residual { body, shortcut, .. } => {
                collect(body, out);
                if let Some(s) = shortcut {
                    collect(s, out);
                }
            }
        }
        out.push(stage);
    }
}
