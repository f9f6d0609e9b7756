//! Readers and writers for the tensor files netc exchanges with Python: `.npy`, `.npz` and
//! `.safetensors`.
//!
//! Every reader takes untrusted bytes: none of them panics, and none allocates more than the
//! input can back (a header claiming a huge shape over a few bytes of data is an error, not an
//! allocation). `.npz` is the one format whose members can decode to far more than the file
//! holds, so its readers take a `max_bytes` bound on the bytes they decompress
//! ([`DEFAULT_MAX_BYTES`] for [`read_tensors`]). Every failure is an [`IoError`] whose message
//! names the file, says what is wrong and, where there is one, how to fix it on the Python side.

mod array;
pub mod npy;
pub mod npz;
pub mod safetensors;

pub use self::safetensors::{SafetensorsContents, parse_safetensors, read_safetensors, write_safetensors};
pub use array::{Array, ArrayData};
pub use npy::{NpyReader, NpyWriter, parse_npy, read_npy, write_npy, write_npy_i64};
pub use npz::{parse_npz, read_npz, write_npz};

/// The `max_bytes` [`read_tensors`] passes (4 GiB): the most bytes it reads from one file, or
/// decompresses from the members of one `.npz`. [`read_tensors_limited`] takes another bound.
pub const DEFAULT_MAX_BYTES: u64 = 4 << 30;

use crate::tensor::{Tensor, fmt_dims};
use std::collections::BTreeMap;
use std::fmt;
use std::io::ErrorKind;
use std::path::Path;

/// A failure to read or write a tensor file: which file, and what went wrong.
#[derive(Debug)]
pub struct IoError {
    /// The file as shown to the user: its path, or `archive.npz (member w.npy)` inside an archive.
    pub file: String,
    /// What went wrong.
    pub kind: IoErrorKind,
}

/// What went wrong in an [`IoError`]. Its `Display` is the message without the file name.
#[derive(Debug)]
#[non_exhaustive]
pub enum IoErrorKind {
    /// The operating system refused to read or write the file.
    Os {
        /// What netc was doing: "read" or "write".
        action: &'static str,
        /// The underlying error.
        source: std::io::Error,
    },
    /// The file does not start with the magic bytes of the expected format.
    BadMagic {
        /// The format that was expected, e.g. ".npy".
        format: &'static str,
        /// The magic bytes expected, written for humans, e.g. `\x93NUMPY`.
        expected: &'static str,
        /// The first bytes actually found.
        found: Vec<u8>,
    },
    /// The file ends before a part that must be there.
    Truncated {
        /// The part that is cut short, e.g. "the .npy header".
        what: String,
        /// Bytes that part needs, counted from the start of the file.
        needed: u64,
        /// Bytes the file holds.
        len: u64,
    },
    /// An `.npy` format version netc does not read.
    UnsupportedVersion {
        /// Major version byte.
        major: u8,
        /// Minor version byte.
        minor: u8,
    },
    /// A header that cannot be understood.
    BadHeader {
        /// The format whose header this is, e.g. ".npy".
        format: &'static str,
        /// What is wrong with it.
        problem: String,
    },
    /// An element type netc does not read.
    UnsupportedDtype {
        /// The type as the file spells it, with numpy's name where known: `complex64 ('<c8')`, `U64`.
        dtype: String,
        /// Which types the format reader does support, and how to convert.
        hint: &'static str,
    },
    /// A Fortran-ordered (column-major) `.npy` array.
    FortranOrder,
    /// The data section is not the size the shape and element type require.
    DataSize {
        /// The shape the header declares.
        shape: Vec<usize>,
        /// Bytes per element.
        elem_bytes: usize,
        /// Bytes the shape requires.
        expected: u64,
        /// Bytes actually present.
        actual: u64,
    },
    /// A shape whose element count or byte size overflows the address space.
    ShapeOverflow {
        /// The shape the header declares.
        shape: Vec<usize>,
    },
    /// A `.npz` archive that the zip reader rejects.
    Zip {
        /// The zip reader's explanation.
        detail: String,
        /// Extra advice, empty when there is none.
        hint: &'static str,
    },
    /// A `.npz` member that is not an `.npy` array.
    NotAnArray {
        /// The member's name inside the archive.
        member: String,
    },
    /// A `.safetensors` file that the safetensors reader rejects.
    Safetensors {
        /// What is wrong.
        detail: String,
    },
    /// Two tensors with the same name in one file.
    DuplicateName {
        /// The repeated name.
        name: String,
    },
    /// A tensor to write whose data length does not match its shape.
    InconsistentTensor {
        /// The tensor's name, empty for a single-array file.
        name: String,
        /// Its declared shape.
        shape: Vec<usize>,
        /// Its actual number of elements.
        len: usize,
    },
    /// Reading would bring more bytes into memory than the caller's `max_bytes` allows.
    TooLarge {
        /// What needs the bytes, e.g. "reading the file" or "decompressing the archive's 3 members".
        what: String,
        /// Bytes it needs.
        bytes: u64,
        /// The caller's bound.
        max_bytes: u64,
    },
    /// A file extension [`read_tensors`] does not know.
    UnknownExtension {
        /// The extension found, without the dot; empty when there is none.
        extension: String,
    },
}

impl IoError {
    /// An error about `file` (anything displayable: a path, or an archive member description).
    pub fn new(file: impl fmt::Display, kind: IoErrorKind) -> IoError {
        IoError { file: file.to_string(), kind }
    }
}

impl fmt::Display for IoError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: {}", self.file, self.kind)
    }
}

impl std::error::Error for IoError {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        match &self.kind {
            IoErrorKind::Os { source, .. } => Some(source),
            _ => None,
        }
    }
}

/// `[2, 3]`, the way shapes are written in messages.
/// Bytes as a Python-style byte string, for showing what was found instead of a magic number.
fn escape_bytes(bytes: &[u8]) -> String {
    bytes.iter().flat_map(|&b| std::ascii::escape_default(b)).map(char::from).collect()
}

impl fmt::Display for IoErrorKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            IoErrorKind::Os { action, source } => write!(f, "cannot {action} the file: {source}"),
            IoErrorKind::BadMagic { format, expected, found } => {
                if found.is_empty() {
                    write!(f, "expected a {format} file (magic {expected}), found an empty file")
                } else {
                    write!(f, "expected a {format} file (magic {expected}), found \"{}\"", escape_bytes(found))
                }
            }
            IoErrorKind::Truncated { what, needed, len } => write!(
                f,
                "file is truncated: {what} needs {needed} bytes but the file holds only {len}; \
                 was it copied or downloaded completely?"
            ),
            IoErrorKind::UnsupportedVersion { major, minor } => write!(
                f,
                "unsupported .npy format version {major}.{minor}; netc reads versions 1.0, 2.0 and 3.0 \
                 (save with `np.save`)"
            ),
            IoErrorKind::BadHeader { format, problem } => {
                write!(f, "malformed {format} header: {problem}")
            }
            IoErrorKind::UnsupportedDtype { dtype, hint } => {
                write!(f, "array has element type {dtype}; {hint}")
            }
            IoErrorKind::FortranOrder => {
                write!(f, "fortran_order arrays are not supported: save with `np.save(path, np.ascontiguousarray(x))`")
            }
            IoErrorKind::DataSize { shape, elem_bytes, expected, actual } => {
                let elements = expected / (*elem_bytes as u64).max(1);
                write!(
                    f,
                    "header says shape {} ({elements} elements of {elem_bytes} bytes = {expected} bytes) \
                     but the file holds {actual} bytes of data",
                    fmt_dims(shape),
                )
            }
            IoErrorKind::ShapeOverflow { shape } => {
                write!(f, "header says shape {}, which has more elements than memory can hold", fmt_dims(shape))
            }
            IoErrorKind::Zip { detail, hint } => {
                write!(f, "not a readable .npz (zip) archive: {detail}")?;
                if !hint.is_empty() {
                    write!(f, "; {hint}")?;
                }
                Ok(())
            }
            IoErrorKind::NotAnArray { member } => write!(
                f,
                "archive member '{member}' is not a .npy array; a .npz for netc holds only arrays \
                 (write it with `np.savez`)"
            ),
            IoErrorKind::Safetensors { detail } => {
                write!(f, "not a valid .safetensors file: {detail}")
            }
            IoErrorKind::DuplicateName { name } => {
                write!(f, "tensor name '{name}' appears more than once")
            }
            IoErrorKind::InconsistentTensor { name, shape, len } => {
                let what = if name.is_empty() { "tensor".to_string() } else { format!("tensor '{name}'") };
                let elements = shape.iter().try_fold(1usize, |n, &d| n.checked_mul(d)).unwrap_or(usize::MAX);
                write!(f, "{what} has shape {} ({elements} elements) but holds {len} values", fmt_dims(shape))
            }
            IoErrorKind::TooLarge { what, bytes, max_bytes } => write!(
                f,
                "{what} needs {bytes} bytes, more than the limit of {max_bytes} bytes{} netc reads from this \
                 tensor file",
                gib(*max_bytes),
            ),
            IoErrorKind::UnknownExtension { extension } => {
                if extension.is_empty() {
                    write!(f, "cannot tell the tensor format: the file name has no extension")?;
                } else {
                    write!(f, "unknown tensor file extension '.{extension}'")?;
                }
                write!(f, "; netc reads .safetensors, .npz and .npy files")
            }
        }
    }
}

/// ` (4 GiB)` for a whole number of GiB, ` (1.50 GiB)` above 1 GiB, nothing below.
fn gib(bytes: u64) -> String {
    const GIB: u64 = 1 << 30;
    match bytes {
        _ if bytes < GIB => String::new(),
        _ if bytes.is_multiple_of(GIB) => format!(" ({} GiB)", bytes / GIB),
        _ => format!(" ({:.2} GiB)", bytes as f64 / GIB as f64),
    }
}

/// Reads a whole file of at most `max_bytes`, mapping failure to an [`IoError`] that names it.
/// A larger file is refused before any of it is read.
fn read_file(path: &Path, max_bytes: u64) -> Result<Vec<u8>, IoError> {
    let os = |source| IoError::new(path.display(), IoErrorKind::Os { action: "read", source });
    let file = std::fs::File::open(path).map_err(os)?;
    let len = file.metadata().map_err(os)?.len();
    if len > max_bytes {
        let what = "reading the file".to_string();
        return Err(IoError::new(path.display(), IoErrorKind::TooLarge { what, bytes: len, max_bytes }));
    }
    // The length is a hint (the file may change while it is read); `take` keeps the bound.
    let mut bytes = Vec::new();
    bytes
        .try_reserve_exact(usize::try_from(len).unwrap_or(usize::MAX))
        .map_err(|_| os(ErrorKind::OutOfMemory.into()))?;
    std::io::Read::read_to_end(&mut std::io::Read::take(file, max_bytes), &mut bytes).map_err(os)?;
    Ok(bytes)
}

/// Writes a whole file, mapping failure to an [`IoError`] that names it.
fn write_file(path: &Path, bytes: &[u8]) -> Result<(), IoError> {
    std::fs::write(path, bytes)
        .map_err(|source| IoError::new(path.display(), IoErrorKind::Os { action: "write", source }))
}

/// Checks, before writing `file`, that `len` values fill `shape` (of the tensor `name`).
fn check_shape(file: impl fmt::Display, name: &str, shape: &[usize], len: usize) -> Result<(), IoError> {
    match shape.iter().try_fold(1usize, |n, &d| n.checked_mul(d)) {
        Some(elements) if elements == len => Ok(()),
        Some(_) => Err(IoError::new(
            file,
            IoErrorKind::InconsistentTensor { name: name.to_string(), shape: shape.to_vec(), len },
        )),
        None => Err(IoError::new(file, IoErrorKind::ShapeOverflow { shape: shape.to_vec() })),
    }
}

/// The named tensors of a weights file, all as `f32`, with the file's string metadata.
#[derive(Clone, Debug, PartialEq)]
pub struct TensorFile {
    /// The tensors in file order: data-offset order for `.safetensors`, member order for `.npz`.
    pub tensors: Vec<(String, Tensor)>,
    /// The `__metadata__` of a `.safetensors` file; empty for the numpy formats.
    pub metadata: BTreeMap<String, String>,
}

/// Reads the tensors of `path`, choosing the format by extension: `.safetensors`, `.npz`, or
/// `.npy` (one tensor, named after the file stem). Every array is converted to `f32`. Refuses a
/// file that would bring more than [`DEFAULT_MAX_BYTES`] into memory; see [`read_tensors_limited`].
pub fn read_tensors(path: impl AsRef<Path>) -> Result<TensorFile, IoError> {
    read_tensors_limited(path, DEFAULT_MAX_BYTES)
}

/// [`read_tensors`], refusing a file larger than `max_bytes` and an `.npz` whose members
/// decompress to more than `max_bytes` in all. A caller loading a network's weights can pass the
/// bytes it expects (parameters times the widest element type it accepts) plus some slack.
pub fn read_tensors_limited(path: impl AsRef<Path>, max_bytes: u64) -> Result<TensorFile, IoError> {
    let path = path.as_ref();
    let name = path.display().to_string();
    let extension = path.extension().map(|e| e.to_string_lossy().to_ascii_lowercase()).unwrap_or_default();
    let (arrays, metadata) = match extension.as_str() {
        "safetensors" => parse_safetensors(&read_file(path, max_bytes)?, &name)?,
        "npz" => (read_npz(path, max_bytes)?, BTreeMap::new()),
        "npy" => {
            let stem = path.file_stem().map(|s| s.to_string_lossy().into_owned()).unwrap_or_default();
            (vec![(stem, parse_npy(&read_file(path, max_bytes)?, &name)?)], BTreeMap::new())
        }
        _ => {
            return Err(IoError::new(path.display(), IoErrorKind::UnknownExtension { extension }));
        }
    };
    let tensors = arrays.into_iter().map(|(name, array)| (name, array.into_f32_tensor())).collect();
    Ok(TensorFile { tensors, metadata })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn limits_are_shown_in_bytes_and_gib() {
        let message = |max_bytes| {
            IoErrorKind::TooLarge { what: "reading the file".to_string(), bytes: u64::MAX, max_bytes }.to_string()
        };
        assert!(message(1000).contains("more than the limit of 1000 bytes netc reads"));
        assert!(message(4 << 30).contains("more than the limit of 4294967296 bytes (4 GiB) netc reads"));
        assert!(message(3 << 29).contains("more than the limit of 1610612736 bytes (1.50 GiB) netc reads"));
        assert!(message(1).ends_with("netc reads from this tensor file"));
    }
}
