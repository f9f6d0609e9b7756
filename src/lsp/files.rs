//! Files as the editor names them: `file://` URIs and paths, locations of spans, and the
//! prelude, which the server writes to netc's cache folder ([`crate::cache`]) so that "go to definition" opens it as a
//! readable file.

use super::analysis::Document;
use super::position::LineIndex;
use crate::compile::Compilation;
use crate::source::Span;
use crate::syntax::{PRELUDE, PRELUDE_FILE};
use lsp_types::{Location, Range, Uri};
use std::path::{Path, PathBuf};
use std::str::FromStr;

/// The path a `file://` URI names (percent-escapes decoded), if it is one.
pub fn uri_to_path(uri: &Uri) -> Option<PathBuf> {
    let rest = uri.as_str().strip_prefix("file://")?;
    // `file:///path` or `file://localhost/path`.
    let rest = rest.strip_prefix("localhost").unwrap_or(rest);
    let bytes = rest.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        let hex = |b: u8| (b as char).to_digit(16);
        match (bytes[i], bytes.get(i + 1).and_then(|&b| hex(b)), bytes.get(i + 2).and_then(|&b| hex(b))) {
            (b'%', Some(h), Some(l)) => {
                out.push((h * 16 + l) as u8);
                i += 3;
            }
            (b, _, _) => {
                out.push(b);
                i += 1;
            }
        }
    }
    String::from_utf8(out).ok().map(PathBuf::from)
}

/// The `file://` URI of an absolute path, with every byte outside the unreserved set and `/`
/// percent-escaped.
pub fn path_to_uri(path: &Path) -> Uri {
    let mut s = String::from("file://");
    for &b in path.to_string_lossy().as_bytes() {
        if b.is_ascii_alphanumeric() || b"-._~/".contains(&b) {
            s.push(b as char);
        } else {
            s.push_str(&format!("%{b:02X}"));
        }
    }
    Uri::from_str(&s).unwrap_or_else(|_| Uri::from_str("file:///").expect("a valid URI"))
}

/// The cache folder's copy of the prelude, written (once per version of its text) when the
/// server starts. `None` when no folder can be written.
pub fn write_prelude() -> Option<PathBuf> {
    let path = crate::cache::dir()?.join(format!("prelude-{}.net", env!("CARGO_PKG_VERSION")));
    if std::fs::read_to_string(&path).ok().as_deref() != Some(PRELUDE) {
        std::fs::write(&path, PRELUDE).ok()?;
    }
    Some(path)
}

/// Where spans of one document's compilations are, as the editor names them.
pub struct Files<'a> {
    pub uri: &'a Uri,
    pub doc: &'a Document,
    pub prelude: Option<&'a Path>,
}

impl Files<'_> {
    /// The URI of file `span.file` of `c`: the document itself, the prelude's copy, or an
    /// imported file (by its path).
    pub fn uri(&self, c: &Compilation, span: Span) -> Option<Uri> {
        if span.file == c.program.main {
            Some(self.uri.clone())
        } else if span.file == PRELUDE_FILE {
            self.prelude.map(path_to_uri)
        } else {
            let name = Path::new(c.sources.name(span.file));
            let path = if name.is_absolute() { name.to_path_buf() } else { std::env::current_dir().ok()?.join(name) };
            Some(path_to_uri(&path))
        }
    }

    /// The range of `span` in its file (the main file of an analysis has the document's line
    /// structure and byte offsets, blanked items or not).
    pub fn range(&self, c: &Compilation, span: Span) -> Range {
        if span.file == c.program.main {
            return self.doc.lines.range(&self.doc.text, span.start, span.end);
        }
        let src = c.sources.source(span.file);
        LineIndex::new(src).range(src, span.start, span.end)
    }

    pub fn location(&self, c: &Compilation, span: Span) -> Option<Location> {
        Some(Location::new(self.uri(c, span)?, self.range(c, span)))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn uris_and_paths_round_trip() {
        let p = Path::new("/tmp/a dir/é#1.net");
        let uri = path_to_uri(p);
        assert_eq!(uri.as_str(), "file:///tmp/a%20dir/%C3%A9%231.net");
        assert_eq!(uri_to_path(&uri).as_deref(), Some(p));
    }
}
