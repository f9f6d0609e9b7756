//! numpy's `.npy` format: a magic string, a version, a Python-dict header, then raw elements.
//!
//! Reads versions 1.0, 2.0 and 3.0 of little-endian, C-ordered arrays of `f2`, `f4`, `f8`,
//! `b1`, `u1`, `u2`, `u4`, `i1`, `i2`, `i4` and `i8`. Writes version 1.0 (2.0 when the header
//! outgrows 64 KiB) byte-for-byte as `np.save` does.

use super::array::{Array, Elem};
use super::{IoError, IoErrorKind, check_shape, read_file, write_file};
use crate::tensor::Tensor;
use std::path::Path;

const MAGIC: &[u8; 6] = b"\x93NUMPY";
/// Data starts on a multiple of this, as numpy pads it.
const ALIGN: usize = 64;
/// numpy leaves room after the header for the first dimension to grow to this many digits.
const GROWTH_AXIS_MAX_DIGITS: usize = 21;
/// Deepest nesting of tuples, lists and dicts the header parser follows.
const MAX_DEPTH: usize = 8;

const DTYPE_HINT: &str = "netc reads float32, float16, float64, uint8, bool, int8, int16, int32, int64, \
                          uint16 and uint32 arrays; convert with `x.astype(np.float32)`";
const BIG_ENDIAN_HINT: &str =
    "netc reads little-endian arrays only; convert with `x.astype(x.dtype.newbyteorder('<'))`";

/// Reads an `.npy` file.
pub fn read_npy(path: impl AsRef<Path>) -> Result<Array, IoError> {
    let path = path.as_ref();
    // Nothing is decompressed: the file's own size bounds what is decoded.
    parse_npy(&read_file(path, u64::MAX)?, &path.display().to_string())
}

/// Parses the bytes of an `.npy` file; `name` is the file as errors should call it.
pub fn parse_npy(bytes: &[u8], name: &str) -> Result<Array, IoError> {
    let (Header { elem, shape }, data_start) = parse_prefix(bytes, name)?;
    check_data_size(name, elem, &shape, bytes.len() - data_start)?;
    Ok(Array { shape, data: elem.decode(&bytes[data_start..]) })
}

/// The header of an `.npy` file and where its data starts, from the file's first bytes (at
/// least up to the end of the header, or an error saying the file is truncated).
fn parse_prefix(bytes: &[u8], name: &str) -> Result<(Header, usize), IoError> {
    let err = |kind| IoError::new(name, kind);
    let truncated = |what: &str, needed: usize| {
        err(IoErrorKind::Truncated { what: what.to_string(), needed: needed as u64, len: bytes.len() as u64 })
    };

    let magic_len = bytes.len().min(MAGIC.len());
    if bytes.is_empty() || bytes[..magic_len] != MAGIC[..magic_len] {
        let found = bytes[..bytes.len().min(8)].to_vec();
        return Err(err(IoErrorKind::BadMagic { format: ".npy", expected: "\\x93NUMPY", found }));
    }
    let Some(&[major, minor]) = bytes.get(6..8) else {
        return Err(truncated("the .npy preamble", 8));
    };
    let (len_bytes, utf8) = match (major, minor) {
        (1, 0) => (2, false),
        (2, 0) => (4, false),
        (3, 0) => (4, true),
        _ => return Err(err(IoErrorKind::UnsupportedVersion { major, minor })),
    };
    let Some(len_field) = bytes.get(8..8 + len_bytes) else {
        return Err(truncated("the .npy header length", 8 + len_bytes));
    };
    let header_len = len_field.iter().rev().fold(0usize, |n, &b| (n << 8) | usize::from(b));
    let data_start = (8 + len_bytes).saturating_add(header_len);
    let Some(header) = bytes.get(8 + len_bytes..data_start) else {
        return Err(truncated("the .npy header", data_start));
    };
    let header = if utf8 {
        std::str::from_utf8(header)
            .map_err(|e| {
                err(IoErrorKind::BadHeader { format: ".npy", problem: format!("it is not valid UTF-8 ({e})") })
            })?
            .to_string()
    } else {
        header.iter().map(|&b| char::from(b)).collect() // latin-1
    };
    Ok((parse_header(&header).map_err(err)?, data_start))
}

/// That `actual` bytes of data are exactly what `shape` of `elem` needs.
fn check_data_size(name: &str, elem: Elem, shape: &[usize], actual: usize) -> Result<(), IoError> {
    let elements = shape.iter().try_fold(1usize, |n, &d| n.checked_mul(d));
    let Some(expected) = elements.and_then(|n| n.checked_mul(elem.size())) else {
        return Err(IoError::new(name, IoErrorKind::ShapeOverflow { shape: shape.to_vec() }));
    };
    if actual != expected {
        let kind = IoErrorKind::DataSize {
            shape: shape.to_vec(),
            elem_bytes: elem.size(),
            expected: expected as u64,
            actual: actual as u64,
        };
        return Err(IoError::new(name, kind));
    }
    Ok(())
}

/// An `.npy` file read a block of rows (entries of its first axis) at a time, so that a data
/// set larger than memory streams through `netc run`: only the header is read on opening.
pub struct NpyReader {
    file: std::fs::File,
    name: String,
    elem: Elem,
    /// The array's shape.
    pub shape: Vec<usize>,
    data_start: u64,
}

/// The most header bytes [`NpyReader::open`] reads (numpy's own limit for a header).
const MAX_HEADER: u64 = 1 << 20;

impl NpyReader {
    /// Opens `path` and reads its header; the data size must match the shape.
    pub fn open(path: impl AsRef<Path>) -> Result<NpyReader, IoError> {
        use std::io::Read;
        let path = path.as_ref();
        let name = path.display().to_string();
        let os = |source| IoError::new(&name, IoErrorKind::Os { action: "read", source });
        let file = std::fs::File::open(path).map_err(os)?;
        let len = file.metadata().map_err(os)?.len();
        let mut prefix = Vec::new();
        (&file).take(12).read_to_end(&mut prefix).map_err(os)?;
        // The header's length is in the preamble; read up to the data (bounded).
        let header_end = match parse_prefix(&prefix, &name) {
            Err(IoError { kind: IoErrorKind::Truncated { needed, .. }, .. }) if needed > 12 => needed.min(MAX_HEADER),
            _ => 12,
        };
        (&file).take(header_end.saturating_sub(prefix.len() as u64)).read_to_end(&mut prefix).map_err(os)?;
        let (Header { elem, shape }, data_start) = parse_prefix(&prefix, &name)?;
        check_data_size(&name, elem, &shape, usize::try_from(len - data_start as u64).unwrap_or(usize::MAX))?;
        Ok(NpyReader { file, name, elem, shape, data_start: data_start as u64 })
    }

    /// Rows `start..start + count` of the first axis (the whole array for a 0-d one), as an array
    /// of shape `[count, shape[1..]]`.
    pub fn rows(&self, start: usize, count: usize) -> Result<Array, IoError> {
        use std::io::{Read, Seek, SeekFrom};
        let (rows, rest) = self.shape.split_first().map_or((1, &[][..]), |(&n, rest)| (n, rest));
        let end = start.checked_add(count).filter(|&e| e <= rows);
        let row_bytes = rest.iter().product::<usize>() * self.elem.size();
        let Some(end) = end else {
            let kind = IoErrorKind::Truncated {
                what: format!("rows {start}..{}", start.saturating_add(count)),
                needed: (start.saturating_add(count) * row_bytes) as u64,
                len: (rows * row_bytes) as u64,
            };
            return Err(IoError::new(&self.name, kind));
        };
        let mut bytes = vec![0u8; (end - start) * row_bytes];
        let mut file = &self.file;
        file.seek(SeekFrom::Start(self.data_start + (start * row_bytes) as u64))
            .and_then(|_| file.read_exact(&mut bytes))
            .map_err(|source| IoError::new(&self.name, IoErrorKind::Os { action: "read", source }))?;
        let shape = if self.shape.is_empty() {
            Vec::new()
        } else {
            std::iter::once(count).chain(rest.iter().copied()).collect()
        };
        Ok(Array { shape, data: self.elem.decode(&bytes) })
    }
}

/// A float32 `.npy` file written a block of rows at a time: the header (with the final shape)
/// first, then the rows as they are computed. `finish` checks that every row came.
pub struct NpyWriter {
    file: std::io::BufWriter<std::fs::File>,
    name: String,
    shape: Vec<usize>,
    written: usize,
}

impl NpyWriter {
    /// Creates `path` for an array of `shape` and writes its header.
    pub fn create(path: impl AsRef<Path>, shape: &[usize]) -> Result<NpyWriter, IoError> {
        use std::io::Write;
        let path = path.as_ref();
        let name = path.display().to_string();
        let os = |source| IoError::new(&name, IoErrorKind::Os { action: "write", source });
        let mut file = std::io::BufWriter::new(std::fs::File::create(path).map_err(os)?);
        file.write_all(&encode("<f4", shape, &[])).map_err(os)?;
        Ok(NpyWriter { file, name, shape: shape.to_vec(), written: 0 })
    }

    /// Appends `values` (whole rows).
    pub fn append(&mut self, values: &[f32]) -> Result<(), IoError> {
        use std::io::Write;
        let bytes: Vec<u8> = values.iter().flat_map(|x| x.to_le_bytes()).collect();
        self.written += values.len();
        self.file
            .write_all(&bytes)
            .map_err(|source| IoError::new(&self.name, IoErrorKind::Os { action: "write", source }))
    }

    /// Flushes the file; it is an error if fewer values came than the shape holds.
    pub fn finish(mut self) -> Result<(), IoError> {
        use std::io::Write;
        check_shape(&self.name, "", &self.shape, self.written)?;
        self.file.flush().map_err(|source| IoError::new(&self.name, IoErrorKind::Os { action: "write", source }))
    }
}

/// Writes `tensor` as a little-endian `float32` `.npy` file, as `np.save` would.
pub fn write_npy(path: impl AsRef<Path>, tensor: &Tensor) -> Result<(), IoError> {
    let path = path.as_ref();
    check_shape(path.display(), "", &tensor.shape, tensor.data.len())?;
    let data: Vec<u8> = tensor.data.iter().flat_map(|x| x.to_le_bytes()).collect();
    write_file(path, &encode("<f4", &tensor.shape, &data))
}

/// Writes `data` with `shape` as a little-endian `int64` `.npy` file, as `np.save` would.
pub fn write_npy_i64(path: impl AsRef<Path>, shape: &[usize], data: &[i64]) -> Result<(), IoError> {
    let path = path.as_ref();
    check_shape(path.display(), "", shape, data.len())?;
    let data: Vec<u8> = data.iter().flat_map(|x| x.to_le_bytes()).collect();
    write_file(path, &encode("<i8", shape, &data))
}

/// The bytes of an `.npy` file of C-ordered `data`, identical to numpy's.
pub(crate) fn encode(descr: &str, shape: &[usize], data: &[u8]) -> Vec<u8> {
    let dims: Vec<String> = shape.iter().map(usize::to_string).collect();
    let shape_repr = match dims.as_slice() {
        [one] => format!("({one},)"),
        _ => format!("({})", dims.join(", ")),
    };
    let mut header = format!("{{'descr': '{descr}', 'fortran_order': False, 'shape': {shape_repr}, }}");
    if let Some(first) = dims.first() {
        header.extend(std::iter::repeat_n(' ', GROWTH_AXIS_MAX_DIGITS.saturating_sub(first.len())));
    }
    // Header text plus its closing newline, padded so the data starts on an ALIGN boundary.
    let unpadded = header.len() + 1;
    let (version, len_bytes) = if unpadded + ALIGN <= usize::from(u16::MAX) { (1u8, 2) } else { (2u8, 4) };
    let padding = ALIGN - (MAGIC.len() + 2 + len_bytes + unpadded) % ALIGN;
    let header_len = unpadded + padding;

    let mut out = Vec::with_capacity(MAGIC.len() + 2 + len_bytes + header_len + data.len());
    out.extend_from_slice(MAGIC);
    out.extend_from_slice(&[version, 0]);
    out.extend_from_slice(&(header_len as u32).to_le_bytes()[..len_bytes]);
    out.extend_from_slice(header.as_bytes());
    out.extend(std::iter::repeat_n(b' ', padding));
    out.push(b'\n');
    out.extend_from_slice(data);
    out
}

/// What netc needs from an `.npy` header.
#[derive(Debug, PartialEq)]
struct Header {
    elem: Elem,
    shape: Vec<usize>,
}

/// Interprets the header dict: `{'descr': '<f4', 'fortran_order': False, 'shape': (2, 3), }`.
fn parse_header(text: &str) -> Result<Header, IoErrorKind> {
    let bad = |problem: String| IoErrorKind::BadHeader { format: ".npy", problem };
    let shown = abbreviate(text.trim_end());
    let value = Parser::new(text).document().map_err(|problem| bad(format!("{problem} in `{shown}`")))?;
    let Value::Dict(entries) = value else {
        return Err(bad(format!("expected a dict, found `{shown}`")));
    };
    let get = |key: &str| {
        entries
            .iter()
            .find(|(k, _)| matches!(k, Value::Str(s) if s == key))
            .map(|(_, v)| v)
            .ok_or_else(|| bad(format!("key '{key}' is missing from `{shown}`")))
    };
    let (descr, fortran_order, shape) = (get("descr")?, get("fortran_order")?, get("shape")?);

    let elem = match descr {
        Value::Str(s) => parse_descr(s)?,
        Value::List(_) => {
            return Err(IoErrorKind::UnsupportedDtype {
                dtype: "a structured (record) dtype".to_string(),
                hint: DTYPE_HINT,
            });
        }
        _ => return Err(bad(format!("'descr' is not a string in `{shown}`"))),
    };
    match fortran_order {
        Value::Bool(false) => {}
        Value::Bool(true) => return Err(IoErrorKind::FortranOrder),
        _ => {
            return Err(bad(format!("'fortran_order' is not True or False in `{shown}`")));
        }
    }
    let (Value::Tuple(dims) | Value::List(dims)) = shape else {
        return Err(bad(format!("'shape' is not a tuple in `{shown}`")));
    };
    let shape = dims
        .iter()
        .map(|d| match d {
            Value::Int(n) => usize::try_from(*n).ok(),
            _ => None,
        })
        .collect::<Option<Vec<usize>>>()
        .ok_or_else(|| bad(format!("'shape' is not a tuple of non-negative integers in `{shown}`")))?;
    Ok(Header { elem, shape })
}

/// Maps a numpy type string such as `<f4` to the element type netc decodes.
fn parse_descr(descr: &str) -> Result<Elem, IoErrorKind> {
    let unsupported = |hint| IoErrorKind::UnsupportedDtype { dtype: describe_descr(descr), hint };
    let (order, rest) = match descr.chars().next() {
        Some(c @ ('<' | '>' | '|' | '=')) => (c, &descr[1..]),
        _ => ('|', descr),
    };
    let mut chars = rest.chars();
    let kind = chars.next();
    let size: Option<usize> = chars.as_str().parse().ok();
    let elem = match (kind, size) {
        (Some('f'), Some(2)) => Elem::F16,
        (Some('f'), Some(4)) => Elem::F32,
        (Some('f'), Some(8)) => Elem::F64,
        (Some('b'), Some(1)) => Elem::Bool,
        (Some('u'), Some(1)) => Elem::U8,
        (Some('u'), Some(2)) => Elem::U16,
        (Some('u'), Some(4)) => Elem::U32,
        (Some('i'), Some(1)) => Elem::I8,
        (Some('i'), Some(2)) => Elem::I16,
        (Some('i'), Some(4)) => Elem::I32,
        (Some('i'), Some(8)) => Elem::I64,
        _ => return Err(unsupported(DTYPE_HINT)),
    };
    // '=' is native order, which numpy never writes; without an order mark only bytes are safe.
    match order {
        '<' => Ok(elem),
        '|' | '>' | '=' if elem.size() == 1 => Ok(elem),
        '>' => Err(unsupported(BIG_ENDIAN_HINT)),
        _ => Err(unsupported(DTYPE_HINT)),
    }
}

/// `'<c8' (complex64)`: a type string with numpy's name for it, where there is one.
fn describe_descr(descr: &str) -> String {
    let body = descr.trim_start_matches(['<', '>', '|', '=']);
    let mut chars = body.chars();
    let kind = chars.next();
    // The size is in bytes, numpy's names count bits: `'<f3000000000000000000'` has no name.
    let bits: Option<usize> = chars.as_str().parse().ok().and_then(|n: usize| n.checked_mul(8));
    let name = match (kind, bits) {
        (Some('f'), Some(n)) => Some(format!("float{n}")),
        (Some('c'), Some(n)) => Some(format!("complex{n}")),
        (Some('i'), Some(n)) => Some(format!("int{n}")),
        (Some('u'), Some(n)) => Some(format!("uint{n}")),
        (Some('U' | 'S'), _) => Some("string".to_string()),
        (Some('O'), _) => Some("Python object".to_string()),
        (Some('M' | 'm'), _) => Some("datetime".to_string()),
        _ => None,
    };
    let order = if descr.starts_with('>') { "big-endian " } else { "" };
    match name {
        Some(name) => format!("{order}{name} ('{descr}')"),
        None => format!("'{descr}'"),
    }
}

/// At most 120 characters of `text`, for quoting a header in a message.
fn abbreviate(text: &str) -> String {
    let mut chars = text.chars();
    let head: String = chars.by_ref().take(120).collect();
    if chars.next().is_some() { format!("{head}...") } else { head }
}

/// The Python literals that appear in `.npy` headers.
#[derive(Debug, PartialEq)]
enum Value {
    Str(String),
    Int(i128),
    Bool(bool),
    None,
    Tuple(Vec<Value>),
    List(Vec<Value>),
    Dict(Vec<(Value, Value)>),
}

/// A recursive-descent parser for the Python literal subset `ast.literal_eval` sees in headers.
struct Parser<'a> {
    text: &'a str,
    pos: usize,
    depth: usize,
}

impl<'a> Parser<'a> {
    fn new(text: &'a str) -> Parser<'a> {
        Parser { text, pos: 0, depth: 0 }
    }

    /// One value surrounded only by whitespace.
    fn document(&mut self) -> Result<Value, String> {
        let value = self.value()?;
        self.skip_ws();
        match self.peek() {
            None => Ok(value),
            Some(c) => Err(format!("unexpected '{c}' after the dict")),
        }
    }

    fn peek(&self) -> Option<char> {
        self.text[self.pos..].chars().next()
    }

    fn bump(&mut self) -> Option<char> {
        let c = self.peek()?;
        self.pos += c.len_utf8();
        Some(c)
    }

    fn skip_ws(&mut self) {
        while self.peek().is_some_and(char::is_whitespace) {
            self.bump();
        }
    }

    fn value(&mut self) -> Result<Value, String> {
        self.skip_ws();
        match self.peek() {
            None => Err("unexpected end of header".to_string()),
            Some(q @ ('\'' | '"')) => {
                self.bump();
                self.string(q)
            }
            Some('(') => self.sequence(')').map(Value::Tuple),
            Some('[') => self.sequence(']').map(Value::List),
            Some('{') => self.dict(),
            Some(c) if c == '-' || c == '+' || c.is_ascii_digit() => self.int(),
            Some(c) if c.is_ascii_alphabetic() => {
                let word = self.take_while(|c| c.is_ascii_alphanumeric() || c == '_');
                match word {
                    "True" => Ok(Value::Bool(true)),
                    "False" => Ok(Value::Bool(false)),
                    "None" => Ok(Value::None),
                    _ => Err(format!("unexpected name '{word}'")),
                }
            }
            Some(c) => Err(format!("unexpected '{c}'")),
        }
    }

    fn take_while(&mut self, keep: impl Fn(char) -> bool) -> &'a str {
        let start = self.pos;
        while self.peek().is_some_and(&keep) {
            self.bump();
        }
        &self.text[start..self.pos]
    }

    /// The rest of a string literal opened by `quote`.
    fn string(&mut self, quote: char) -> Result<Value, String> {
        let mut out = String::new();
        loop {
            match self.bump() {
                None => return Err("unterminated string".to_string()),
                Some(c) if c == quote => return Ok(Value::Str(out)),
                Some('\\') => match self.bump() {
                    None => return Err("unterminated string".to_string()),
                    Some(c) => out.push(c),
                },
                Some(c) => out.push(c),
            }
        }
    }

    /// An integer, with Python 2's `L` suffix allowed (old headers write `(3L, 4L)`).
    fn int(&mut self) -> Result<Value, String> {
        let sign = if self.peek() == Some('-') { -1 } else { 1 };
        if matches!(self.peek(), Some('-' | '+')) {
            self.bump();
        }
        let digits = self.take_while(|c| c.is_ascii_digit());
        if digits.is_empty() {
            return Err("a sign without digits".to_string());
        }
        if self.peek() == Some('L') {
            self.bump();
        }
        let n: i128 = digits.parse().map_err(|_| format!("integer {digits} is too large"))?;
        Ok(Value::Int(sign * n))
    }

    /// Opens a nested container, refusing to recurse without bound on hostile input.
    fn enter(&mut self) -> Result<(), String> {
        self.depth += 1;
        if self.depth > MAX_DEPTH {
            return Err("containers nested too deeply".to_string());
        }
        self.bump();
        Ok(())
    }

    /// The items of a tuple or list up to `close`; trailing commas are allowed.
    fn sequence(&mut self, close: char) -> Result<Vec<Value>, String> {
        self.enter()?;
        let mut items = Vec::new();
        loop {
            self.skip_ws();
            if self.peek() == Some(close) {
                break;
            }
            items.push(self.value()?);
            self.skip_ws();
            match self.bump() {
                Some(',') => {}
                Some(c) if c == close => {
                    self.pos -= c.len_utf8();
                    break;
                }
                Some(c) => return Err(format!("expected ',' or '{close}', found '{c}'")),
                None => return Err(format!("missing '{close}'")),
            }
        }
        self.bump();
        self.depth -= 1;
        Ok(items)
    }

    /// The `key: value` entries of a dict; a trailing comma is allowed.
    fn dict(&mut self) -> Result<Value, String> {
        self.enter()?;
        let mut entries = Vec::new();
        loop {
            self.skip_ws();
            if self.peek() == Some('}') {
                break;
            }
            let key = self.value()?;
            self.skip_ws();
            match self.bump() {
                Some(':') => {}
                Some(c) => return Err(format!("expected ':' after a dict key, found '{c}'")),
                None => return Err("missing ':' after a dict key".to_string()),
            }
            entries.push((key, self.value()?));
            self.skip_ws();
            match self.bump() {
                Some(',') => {}
                Some('}') => {
                    self.pos -= 1;
                    break;
                }
                Some(c) => return Err(format!("expected ',' or '}}', found '{c}'")),
                None => return Err("missing '}'".to_string()),
            }
        }
        self.bump();
        self.depth -= 1;
        Ok(Value::Dict(entries))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn npy(header: impl AsRef<[u8]>, data: &[u8]) -> Vec<u8> {
        let header = header.as_ref();
        let mut out = MAGIC.to_vec();
        out.extend_from_slice(&[1, 0]);
        out.extend_from_slice(&(header.len() as u16).to_le_bytes());
        out.extend_from_slice(header);
        out.extend_from_slice(data);
        out
    }

    fn parse_err(bytes: &[u8]) -> String {
        parse_npy(bytes, "x.npy").expect_err("should fail").to_string()
    }

    #[test]
    fn header_parser_accepts_any_spacing_order_and_python2_longs() {
        let header = "  {\"shape\":(3L,4L) ,'fortran_order' :False,\n 'descr':'<f8'}  \n";
        assert_eq!(parse_header(header).unwrap(), Header { elem: Elem::F64, shape: vec![3, 4] });
        let scalar = "{'descr': '|u1', 'fortran_order': False, 'shape': (), }";
        assert_eq!(parse_header(scalar).unwrap(), Header { elem: Elem::U8, shape: vec![] });
        let one = "{'descr': '<i8', 'fortran_order': False, 'shape': (5,), 'extra': [None, {}], }";
        assert_eq!(parse_header(one).unwrap(), Header { elem: Elem::I64, shape: vec![5] });
    }

    #[test]
    fn header_parser_rejects_garbage_with_the_problem_named() {
        let cases = [
            ("", "unexpected end of header"),
            ("{'descr': '<f4'", "missing '}'"),
            ("{'descr' '<f4'}", "expected ':' after a dict key"),
            ("{'descr': '<f4}", "unterminated string"),
            ("{'descr': eval('1')}", "unexpected name 'eval'"),
            ("{'shape': (-)}", "a sign without digits"),
            ("{'shape': (1 2)}", "expected ',' or ')'"),
            ("{} {}", "unexpected '{' after the dict"),
            ("{'shape': (99999999999999999999999999999999999999999,)}", "is too large"),
            ("((((((((((1))))))))))", "nested too deeply"),
            ("(1, 2)", "expected a dict"),
            ("{'descr': '<f4', 'shape': (2,)}", "key 'fortran_order' is missing"),
            ("{'descr': 4, 'fortran_order': False, 'shape': ()}", "'descr' is not a string"),
            ("{'descr': '<f4', 'fortran_order': 0, 'shape': ()}", "'fortran_order' is not True or False"),
            ("{'descr': '<f4', 'fortran_order': False, 'shape': 3}", "'shape' is not a tuple"),
            ("{'descr': '<f4', 'fortran_order': False, 'shape': (-1,)}", "non-negative integers"),
        ];
        for (header, expected) in cases {
            let message = parse_header(header).expect_err(header).to_string();
            assert!(message.contains(expected), "{header:?}: {message}");
            assert!(message.starts_with("malformed .npy header"), "{message}");
        }
    }

    #[test]
    fn descr_support_and_hints() {
        assert_eq!(parse_descr("<f2").unwrap(), Elem::F16);
        assert_eq!(parse_descr("|b1").unwrap(), Elem::Bool);
        assert_eq!(parse_descr("|i1").unwrap(), Elem::I8);
        assert_eq!(parse_descr("<u2").unwrap(), Elem::U16);
        assert_eq!(parse_descr("<u4").unwrap(), Elem::U32);
        assert_eq!(parse_descr("<i2").unwrap(), Elem::I16);
        assert_eq!(parse_descr("u1").unwrap(), Elem::U8);
        let message = |d| parse_descr(d).unwrap_err().to_string();
        assert_eq!(
            message("<c16"),
            "array has element type complex128 ('<c16'); netc reads float32, float16, float64, uint8, bool, \
             int8, int16, int32, int64, uint16 and uint32 arrays; convert with `x.astype(np.float32)`"
        );
        assert!(message(">f4").contains("big-endian float32 ('>f4'); netc reads little-endian arrays only"));
        assert!(message("<u8").contains("uint64 ('<u8')"));
        assert!(message("<U10").contains("string ('<U10')"));
        assert!(message("|O").contains("Python object ('|O')"));
        assert!(message("<M8[ns]").contains("datetime"));
        assert!(message("=f4").contains("float32 ('=f4')"));
        assert!(message("?").contains("type '?'"));
        assert!(message("f4").contains("'f4'"));
        // A size whose bit count overflows usize is shown as written, without a numpy name.
        assert_eq!(
            message("<f3000000000000000000"),
            format!("array has element type '<f3000000000000000000'; {DTYPE_HINT}")
        );
        assert!(message("<i2305843009213693951").contains("int18446744073709551608 ('<i2305843009213693951')"));
    }

    #[test]
    fn writes_numpy_layout_aligned_to_64_bytes() {
        for shape in [vec![], vec![7], vec![2, 3], vec![1, 2, 3, 4, 5, 6, 7, 8], vec![123_456_789_012]] {
            let bytes = encode("<f4", &shape, &[]);
            let header_end = bytes.iter().position(|&b| b == b'\n').unwrap() + 1;
            assert_eq!(header_end % ALIGN, 0, "{shape:?}");
            assert_eq!(&bytes[..8], b"\x93NUMPY\x01\x00");
            let text = std::str::from_utf8(&bytes[10..header_end]).unwrap();
            assert_eq!(parse_header(text).unwrap(), Header { elem: Elem::F32, shape: shape.clone() });
        }
        assert!(String::from_utf8_lossy(&encode("<f4", &[7], &[])).contains("'shape': (7,), }"));
        assert!(String::from_utf8_lossy(&encode("<f4", &[], &[])).contains("'shape': (), }"));
    }

    #[test]
    fn huge_headers_switch_to_version_2() {
        let shape = vec![1usize; 30_000];
        let bytes = encode("<f4", &shape, &1.0f32.to_le_bytes());
        assert_eq!(&bytes[6..8], &[2, 0]);
        let array = parse_npy(&bytes, "big.npy").unwrap();
        assert_eq!(array.shape, shape);
        assert_eq!(array.as_f32(), Some(&[1.0][..]));
    }

    #[test]
    fn lying_shapes_fail_before_allocating() {
        let huge = "{'descr': '<f4', 'fortran_order': False, 'shape': (1000000000000, 1000000), }";
        assert_eq!(
            parse_err(&npy(huge, &[0; 8])),
            "x.npy: header says shape [1000000000000, 1000000] (1000000000000000000 elements of 4 bytes = \
             4000000000000000000 bytes) but the file holds 8 bytes of data"
        );
        let overflow = "{'descr': '<f4', 'fortran_order': False, 'shape': (18446744073709551615, 2), }";
        assert_eq!(
            parse_err(&npy(overflow, &[])),
            "x.npy: header says shape [18446744073709551615, 2], which has more elements than memory can hold"
        );
        let too_big = "{'descr': '<f4', 'fortran_order': False, 'shape': (18446744073709551616,), }";
        assert!(parse_err(&npy(too_big, &[])).contains("'shape' is not a tuple of non-negative integers"));
        let short = "{'descr': '<f4', 'fortran_order': False, 'shape': (2, 3), }";
        assert_eq!(
            parse_err(&npy(short, &[0; 20])),
            "x.npy: header says shape [2, 3] (6 elements of 4 bytes = 24 bytes) but the file holds 20 bytes of data"
        );
        assert!(parse_err(&npy(short, &[0; 28])).contains("but the file holds 28 bytes of data"));
    }

    #[test]
    fn preamble_errors() {
        assert_eq!(parse_err(b""), "x.npy: expected a .npy file (magic \\x93NUMPY), found an empty file");
        assert_eq!(
            parse_err(b"PK\x03\x04\x14\x00\x00\x00\x08\x00"),
            "x.npy: expected a .npy file (magic \\x93NUMPY), found \"PK\\x03\\x04\\x14\\x00\\x00\\x00\""
        );
        assert!(parse_err(b"\x93NUM").contains("the .npy preamble needs 8 bytes but the file holds only 4"));
        assert!(parse_err(b"\x93NUMPi").contains("found \"\\x93NUMPi\""));
        assert_eq!(
            parse_err(b"\x93NUMPY\x01"),
            "x.npy: file is truncated: the .npy preamble needs 8 bytes but the file holds only 7; \
             was it copied or downloaded completely?"
        );
        assert_eq!(
            parse_err(b"\x93NUMPY\x04\x00\x00\x00"),
            "x.npy: unsupported .npy format version 4.0; netc reads versions 1.0, 2.0 and 3.0 (save with `np.save`)"
        );
        assert!(parse_err(b"\x93NUMPY\x02\x00\x10\x00").contains("the .npy header length needs 12 bytes"));
        assert!(parse_err(b"\x93NUMPY\x01\x00\x10\x00{}").contains("the .npy header needs 26 bytes"));
        let mut v3 = b"\x93NUMPY\x03\x00\x02\x00\x00\x00".to_vec();
        v3.extend_from_slice(b"\xff{");
        assert!(parse_err(&v3).contains("malformed .npy header: it is not valid UTF-8"));
    }

    #[test]
    fn rejects_fortran_order_and_structured_arrays() {
        let fortran = "{'descr': '<f4', 'fortran_order': True, 'shape': (2, 3), }";
        assert_eq!(
            parse_err(&npy(fortran, &[0; 24])),
            "x.npy: fortran_order arrays are not supported: save with `np.save(path, np.ascontiguousarray(x))`"
        );
        let record = "{'descr': [('a', '<f4')], 'fortran_order': False, 'shape': (1,), }";
        assert!(
            parse_err(&npy(record, &[0; 4])).contains("element type a structured (record) dtype; netc reads float32")
        );
    }

    #[test]
    fn reads_latin1_headers_byte_for_byte() {
        // 0xe9 is 'é' in latin-1 (the encoding of versions 1.0 and 2.0) but invalid UTF-8.
        let header = b"{'descr': '<f4', 'fortran_order': False, 'shape': (), 'x': '\xe9'}";
        let bytes = npy(header, &2.5f32.to_le_bytes());
        assert_eq!(parse_npy(&bytes, "x.npy").unwrap().as_f32(), Some(&[2.5][..]));
    }

    #[test]
    fn write_rejects_inconsistent_tensors() {
        let dir = std::env::temp_dir();
        let bad = Tensor { shape: vec![2, 3], data: vec![0.0; 5] };
        let err = write_npy(dir.join("netc-never-written.npy"), &bad).unwrap_err().to_string();
        assert!(
            err.ends_with("netc-never-written.npy: tensor has shape [2, 3] (6 elements) but holds 5 values"),
            "{err}"
        );
        let err = write_npy_i64(dir.join("netc-never-written.npy"), &[usize::MAX, 2], &[]).unwrap_err();
        assert!(err.to_string().contains("more elements than memory can hold"), "{err}");
    }
}
