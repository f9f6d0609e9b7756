//! Positions: LSP speaks in lines and UTF-16 code units, netc in byte offsets. A [`LineIndex`]
//! converts both ways for one text.

use lsp_types::{Position, Range};

/// Where each line of a text starts, to convert byte offsets to LSP positions and back.
pub struct LineIndex {
    /// Byte offset of each line's first character; `starts[0] == 0`.
    starts: Vec<usize>,
    len: usize,
}

impl LineIndex {
    pub fn new(text: &str) -> LineIndex {
        let starts = std::iter::once(0).chain(text.match_indices('\n').map(|(i, _)| i + 1)).collect();
        LineIndex { starts, len: text.len() }
    }

    /// The position of byte `offset` of `text` (clamped to the text, and back to a character
    /// boundary).
    pub fn position(&self, text: &str, offset: usize) -> Position {
        let mut offset = offset.min(self.len);
        while !text.is_char_boundary(offset) {
            offset -= 1;
        }
        let line = self.starts.partition_point(|&s| s <= offset) - 1;
        let character: usize = text[self.starts[line]..offset].chars().map(char::len_utf16).sum();
        Position::new(line as u32, character as u32)
    }

    pub fn range(&self, text: &str, start: usize, end: usize) -> Range {
        Range::new(self.position(text, start), self.position(text, end))
    }

    /// The byte offset of `pos` in `text`: past the end of its line (or a line past the last)
    /// is clamped to the line's end (or the text's), inside a surrogate pair to the character after it.
    pub fn offset(&self, text: &str, pos: Position) -> usize {
        let Some(&start) = self.starts.get(pos.line as usize) else {
            return self.len;
        };
        let end = self.starts.get(pos.line as usize + 1).map_or(self.len, |&next| next - 1);
        let mut units = 0usize;
        for (i, c) in text[start..end].char_indices() {
            if units >= pos.character as usize {
                return start + i;
            }
            units += c.len_utf16();
        }
        end
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn utf16_columns_after_non_ascii_text() {
        // `é` is 2 bytes and 1 UTF-16 unit; `𝔸` is 4 bytes and 2 units.
        let text = "# é𝔸\ninput x: 3x8x8 # 𝔸\noutput x";
        let index = LineIndex::new(text);
        let x = text.find("x:").unwrap();
        assert_eq!(index.position(text, x), Position::new(1, 6));
        let after = text.find(" # 𝔸").unwrap() + " # 𝔸".len();
        assert_eq!(index.position(text, after), Position::new(1, 18));
        assert_eq!(index.position(text, 2 + "é𝔸".len()), Position::new(0, 5));
        for offset in [0, x, after, text.len(), text.find("output").unwrap()] {
            assert_eq!(index.offset(text, index.position(text, offset)), offset);
        }
        // Inside the surrogate pair: after the character; past a line's end: its end.
        assert_eq!(index.offset(text, Position::new(0, 4)), 2 + "é𝔸".len());
        assert_eq!(index.offset(text, Position::new(0, 99)), text.find('\n').unwrap());
        assert_eq!(index.offset(text, Position::new(9, 0)), text.len());
    }
}
