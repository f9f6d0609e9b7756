//! Comments, which the grammar skips silently, found by a small lexer of their own: the formatter
//! keeps them and tools show them (the comment above a block). The lexer knows strings, so `#`
//! and `//` inside an import path are not comments; the parser's nesting pre-check reads the
//! source through it too.

use crate::source::{FileId, Span};
use std::ops::Range;

/// A comment: `#` or `//` up to the end of its line.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Comment {
    /// Its text, from `#` or `//` to the last non-blank character of the line.
    pub text: String,
    pub span: Span,
}

/// What a stretch of source text is.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Piece {
    /// Tokens and whitespace.
    Code,
    /// A quoted string with its quotes (unterminated at the end of its line or of the file).
    Str,
    /// A comment, without the line break that ends it.
    Comment,
}

/// Splits `src` into consecutive pieces of code, strings and comments, covering it all.
fn pieces(src: &str) -> impl Iterator<Item = (Piece, Range<usize>)> + '_ {
    let bytes = src.as_bytes();
    // The first offset from `from` whose byte satisfies `stop`, or the end. Every byte looked
    // for is ASCII, so the offsets found are character boundaries.
    let find =
        move |from: usize, stop: &dyn Fn(usize) -> bool| (from..bytes.len()).find(|&i| stop(i)).unwrap_or(bytes.len());
    let comment_at = move |i: usize| bytes[i] == b'#' || bytes[i..].starts_with(b"//");
    let mut pos = 0;
    std::iter::from_fn(move || {
        let start = pos;
        let (piece, end) = match bytes.get(start)? {
            _ if comment_at(start) => (Piece::Comment, find(start, &|i| bytes[i] == b'\n')),
            b'"' => {
                let end = find(start + 1, &|i| matches!(bytes[i], b'"' | b'\n'));
                (Piece::Str, if bytes.get(end) == Some(&b'"') { end + 1 } else { end })
            }
            _ => (Piece::Code, find(start, &|i| bytes[i] == b'"' || comment_at(i))),
        };
        pos = end;
        Some((piece, start..end))
    })
}

/// The characters of `src` outside comments and strings, with their byte offsets.
pub fn code_chars(src: &str) -> impl Iterator<Item = (usize, char)> + '_ {
    pieces(src)
        .filter(|(piece, _)| *piece == Piece::Code)
        .flat_map(move |(_, range)| src[range.clone()].char_indices().map(move |(i, ch)| (range.start + i, ch)))
}

/// Every comment of `src`, in order.
pub fn comments(file: FileId, src: &str) -> Vec<Comment> {
    pieces(src)
        .filter(|(piece, _)| *piece == Piece::Comment)
        .map(|(_, range)| {
            let text = src[range.clone()].trim_end();
            Comment { text: text.to_string(), span: Span::new(file, range.start..range.start + text.len()) }
        })
        .collect()
}

/// `end` moved back over the whitespace and the comments (of `src`, in `comments`) before it:
/// the end of the code there.
pub fn code_end(src: &str, comments: &[Comment], end: usize) -> usize {
    let mut end = src[..end].trim_end().len();
    while let Ok(k) = comments.binary_search_by_key(&end, |c| c.span.end) {
        end = src[..comments[k].span.start].trim_end().len();
    }
    end
}

#[cfg(test)]
mod tests {
    use super::*;

    fn texts(src: &str) -> Vec<String> {
        comments(0, src).into_iter().map(|c| c.text).collect()
    }

    #[test]
    fn both_comment_styles_to_the_end_of_the_line() {
        assert_eq!(texts("a # one \r\nb // two\n# three"), ["# one", "// two", "# three"]);
        let c = &comments(3, "x  # c\n")[0];
        assert_eq!((c.span.file, c.span.start, c.span.end), (3, 3, 6));
    }

    #[test]
    fn strings_hide_comment_markers() {
        assert_eq!(texts("import \"a#b//c\" # real\n"), ["# real"]);
        // A string ends at its line's end when it is not closed.
        assert_eq!(texts("import \"a#b\n# next line"), ["# next line"]);
        // Division is not a comment; a comment may contain quotes.
        assert_eq!(texts("c / 4 # \"quoted\" text\nx"), ["# \"quoted\" text"]);
    }

    #[test]
    fn code_ends_before_trailing_comments() {
        let src = "conv(1) # a\n  // b\n\n x";
        assert_eq!(code_end(src, &comments(0, src), src.len() - 1), "conv(1)".len());
        assert_eq!(code_end(src, &comments(0, src), 4), 4);
    }

    #[test]
    fn pieces_cover_the_source() {
        for src in ["", "a", "\"", "#", "/", "//", "a/b//c\n\"x\"#y\n", "é # ü\n\"ß"] {
            let mut end = 0;
            for (_, range) in pieces(src) {
                assert_eq!(range.start, end, "{src:?}");
                assert!(range.end > range.start && src.is_char_boundary(range.end), "{src:?}");
                end = range.end;
            }
            assert_eq!(end, src.len(), "{src:?}");
        }
    }
}
