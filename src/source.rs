//! Source files and byte spans into them: the vocabulary below every other module (diagnostics,
//! the parser and the IR all point into sources with these).

use codespan_reporting::files::{Error as FilesError, Files, SimpleFile};
use std::ops::Range;

/// Index of a file in a [`SourceMap`].
pub type FileId = usize;

/// A byte range in one source file. Every AST and IR node carries one.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Default)]
pub struct Span {
    pub file: FileId,
    pub start: usize,
    pub end: usize,
}

impl Span {
    pub fn new(file: FileId, range: Range<usize>) -> Span {
        Span { file, start: range.start, end: range.end }
    }

    pub fn range(&self) -> Range<usize> {
        self.start..self.end
    }

    /// The smallest span covering both (same file assumed).
    pub fn to(self, other: Span) -> Span {
        Span { file: self.file, start: self.start.min(other.start), end: self.end.max(other.end) }
    }
}

/// All source files of one compilation: the user's file, its imports and the prelude.
#[derive(Default)]
pub struct SourceMap {
    files: Vec<SimpleFile<String, String>>,
}

impl SourceMap {
    pub fn new() -> SourceMap {
        SourceMap::default()
    }

    pub fn add(&mut self, name: impl Into<String>, source: impl Into<String>) -> FileId {
        self.files.push(SimpleFile::new(name.into(), source.into()));
        self.files.len() - 1
    }

    pub fn name(&self, file: FileId) -> &str {
        self.files[file].name()
    }

    pub fn source(&self, file: FileId) -> &str {
        self.files[file].source()
    }

    /// The text a span covers.
    pub fn text(&self, span: Span) -> &str {
        self.source(span.file).get(span.range()).unwrap_or("")
    }

    /// 1-based line and column (in characters) of a span's start: a binary search for the line,
    /// and counting characters only on a line that is not ASCII.
    pub fn line_col(&self, span: Span) -> (usize, usize) {
        let src = self.source(span.file);
        let start = span.start.min(src.len());
        let line = self.line_index(span.file, start).unwrap_or(0);
        let line_start = self.line_range(span.file, line).map_or(0, |r| r.start).min(start);
        let before = src.get(line_start..start).unwrap_or("");
        let col = if before.is_ascii() { before.len() } else { before.chars().count() };
        (line + 1, col + 1)
    }
}

impl<'a> Files<'a> for SourceMap {
    type FileId = FileId;
    type Name = &'a str;
    type Source = &'a str;

    fn name(&'a self, id: FileId) -> Result<&'a str, FilesError> {
        self.files.get(id).map(|f| f.name().as_str()).ok_or(FilesError::FileMissing)
    }

    fn source(&'a self, id: FileId) -> Result<&'a str, FilesError> {
        self.files.get(id).map(|f| f.source().as_str()).ok_or(FilesError::FileMissing)
    }

    fn line_index(&'a self, id: FileId, byte_index: usize) -> Result<usize, FilesError> {
        self.files.get(id).ok_or(FilesError::FileMissing)?.line_index((), byte_index)
    }

    fn line_range(&'a self, id: FileId, line_index: usize) -> Result<Range<usize>, FilesError> {
        self.files.get(id).ok_or(FilesError::FileMissing)?.line_range((), line_index)
    }
}
