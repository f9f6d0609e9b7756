//! Go to definition and find references: blocks (in the file, an imported file or the
//! prelude), `input` and `let` tensors, block parameters, and the files of imports.

use super::analysis::{Occurrence, Target};
use super::files::{Files, path_to_uri};
use lsp_types::{GotoDefinitionResponse, Location, Position, Range};

/// The occurrence under `pos`.
fn at<'a>(files: &'a Files, pos: Position) -> Option<&'a Occurrence> {
    let doc = files.doc;
    doc.analysis.occurrence_at(doc.lines.offset(&doc.text, pos))
}

pub fn definition(files: &Files, pos: Position) -> Option<GotoDefinitionResponse> {
    let occ = at(files, pos)?;
    let c = &files.doc.analysis.compilation;
    let location = match &occ.target {
        Target::Block(def) | Target::Name(def) => files.location(c, *def)?,
        Target::File(path) => Location::new(path_to_uri(path), Range::default()),
        Target::Builtin(_) => return None,
    };
    Some(GotoDefinitionResponse::Scalar(location))
}

pub fn references(files: &Files, pos: Position, include_declaration: bool) -> Option<Vec<Location>> {
    let occ = at(files, pos)?;
    let a = &files.doc.analysis;
    let mut out: Vec<Location> = Vec::new();
    // A block defined in another file: its definition first.
    if let Target::Block(def) = occ.target
        && include_declaration
        && def.file != a.compilation.program.main
    {
        out.extend(files.location(&a.compilation, def));
    }
    for o in a.occurrences.iter().filter(|o| o.target == occ.target && (include_declaration || !o.is_def)) {
        out.extend(files.location(&a.compilation, o.span));
    }
    Some(out)
}
