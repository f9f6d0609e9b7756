//! Hugging Face's `.safetensors` format: an 8-byte header length, a JSON header naming each
//! tensor's dtype, shape and byte range, then the tensors' little-endian bytes.

use super::array::{Array, Elem};
use super::{IoError, IoErrorKind, check_shape, read_file, write_file};
use crate::tensor::Tensor;
use safetensors::tensor::{Dtype, SafeTensorError, SafeTensors, TensorView};
use std::collections::{BTreeMap, HashMap, HashSet};
use std::path::Path;

const DTYPE_HINT: &str = "netc reads F32, F16, BF16, F64, I64, I32, I16, I8, U32, U16, U8 and BOOL tensors; \
                          convert with `t.to(torch.float32)`";

/// Named arrays in data-offset order, and the file's `__metadata__` strings.
pub type SafetensorsContents = (Vec<(String, Array)>, BTreeMap<String, String>);

/// Reads a `.safetensors` file: its tensors in data-offset order, and its `__metadata__`.
pub fn read_safetensors(path: impl AsRef<Path>) -> Result<SafetensorsContents, IoError> {
    let path = path.as_ref();
    // Nothing is decompressed: the file's own size bounds what is decoded.
    parse_safetensors(&read_file(path, u64::MAX)?, &path.display().to_string())
}

/// Parses the bytes of a `.safetensors` file; `name` is the file as errors should call it.
pub fn parse_safetensors(bytes: &[u8], name: &str) -> Result<SafetensorsContents, IoError> {
    let err = |detail: String| IoError::new(name, IoErrorKind::Safetensors { detail });
    check_offsets(bytes).map_err(err)?;
    let (header_len, metadata) = SafeTensors::read_metadata(bytes).map_err(|e| err(describe(e, bytes.len())))?;
    let data = &bytes[8 + header_len..];
    let mut arrays = Vec::new();
    for key in metadata.offset_keys() {
        let info = metadata.info(&key).ok_or_else(|| err(format!("tensor '{key}' vanished from the header")))?;
        let elem = match info.dtype {
            Dtype::F32 => Elem::F32,
            Dtype::F16 => Elem::F16,
            Dtype::BF16 => Elem::BF16,
            Dtype::F64 => Elem::F64,
            Dtype::I64 => Elem::I64,
            Dtype::I32 => Elem::I32,
            Dtype::I16 => Elem::I16,
            Dtype::I8 => Elem::I8,
            Dtype::U32 => Elem::U32,
            Dtype::U16 => Elem::U16,
            Dtype::U8 => Elem::U8,
            Dtype::BOOL => Elem::Bool,
            other => {
                return Err(IoError::new(
                    format!("{name} (tensor {key})"),
                    IoErrorKind::UnsupportedDtype { dtype: other.to_string(), hint: DTYPE_HINT },
                ));
            }
        };
        let (start, end) = info.data_offsets;
        // The crate has checked the range against the shape and the file; `get` keeps that a
        // checked fact rather than a reason to panic.
        let bytes = data
            .get(start..end)
            .filter(|b| b.len() % elem.size() == 0)
            .ok_or_else(|| err(format!("tensor '{key}' has data_offsets [{start}, {end}] outside the data")))?;
        arrays.push((key.clone(), Array { shape: info.shape.clone(), data: elem.decode(bytes) }));
    }
    let metadata = metadata.metadata().iter().flatten().map(|(k, v)| (k.clone(), v.clone())).collect();
    Ok((arrays, metadata))
}

/// Checks, before the safetensors crate sees the file, that the header fits in the file and that
/// no tensor's byte range ends past the data. This names the problem better than the crate, and
/// keeps its offset arithmetic far from overflow on hostile headers.
fn check_offsets(bytes: &[u8]) -> Result<(), String> {
    let Some(len_field) = bytes.get(..8) else {
        return Err(format!(
            "the file holds {} bytes, fewer than the 8-byte header length that starts every .safetensors file",
            bytes.len()
        ));
    };
    let header_len = u64::from_le_bytes(len_field.try_into().expect("8 bytes"));
    let available = bytes.len() as u64 - 8;
    if header_len > available {
        let kind = if bytes.starts_with(b"\x93NUMPY") {
            "it looks like a .npy file"
        } else if bytes.starts_with(b"PK\x03\x04") {
            "it looks like a zip archive (.npz or a PyTorch .pt)"
        } else {
            "the file is truncated or is not a .safetensors file"
        };
        return Err(format!("the header length field says {header_len} bytes but only {available} follow: {kind}"));
    }
    let header = &bytes[8..8 + header_len as usize];
    let data_len = available - header_len;
    let json: serde_json::Value =
        serde_json::from_slice(header).map_err(|e| format!("the header is not valid JSON: {e}"))?;
    let serde_json::Value::Object(entries) = json else {
        return Err("the header is not a JSON object".to_string());
    };
    for (key, entry) in entries.iter().filter(|(k, _)| k.as_str() != "__metadata__") {
        let end = entry.get("data_offsets").and_then(|o| o.get(1)).and_then(serde_json::Value::as_u64);
        if let Some(end) = end.filter(|&end| end > data_len) {
            return Err(format!(
                "tensor '{key}' claims data up to byte {end} but the file holds only {data_len} bytes of data; \
                 is it truncated?"
            ));
        }
    }
    Ok(())
}

/// A sentence for each way the safetensors crate rejects a file.
fn describe(error: SafeTensorError, file_len: usize) -> String {
    match error {
        SafeTensorError::InvalidHeader(e) => format!("the header is not valid UTF-8: {e}"),
        SafeTensorError::InvalidHeaderDeserialization(e) => {
            format!("the header does not describe tensors: {e}")
        }
        SafeTensorError::HeaderTooLarge => "the header is larger than the 100 MB the format allows".to_string(),
        SafeTensorError::InvalidOffset(name) => {
            format!("tensor '{name}' does not start where the previous one ends (data_offsets must tile the data)")
        }
        SafeTensorError::TensorInvalidInfo => {
            "a tensor's data_offsets span a different number of bytes than its shape and dtype need".to_string()
        }
        SafeTensorError::MetadataIncompleteBuffer => {
            format!("the tensors do not cover the data exactly (the file holds {file_len} bytes)")
        }
        SafeTensorError::ValidationOverflow => "a tensor's shape has more elements than memory can hold".to_string(),
        other => other.to_string(),
    }
}

/// Writes named `f32` tensors, with string `metadata` (stored as `__metadata__` when not empty).
/// The file lists tensors by name; readers see them in the crate's layout order.
pub fn write_safetensors(
    path: impl AsRef<Path>,
    tensors: &[(String, Tensor)],
    metadata: &BTreeMap<String, String>,
) -> Result<(), IoError> {
    let path = path.as_ref();
    write_file(path, &encode(&path.display().to_string(), tensors, metadata)?)
}

/// The bytes of a `.safetensors` file of `tensors`; `name` is the file as errors should call it.
pub(crate) fn encode(
    name: &str,
    tensors: &[(String, Tensor)],
    metadata: &BTreeMap<String, String>,
) -> Result<Vec<u8>, IoError> {
    let mut names = HashSet::new();
    for (tensor_name, tensor) in tensors {
        if !names.insert(tensor_name.as_str()) {
            return Err(IoError::new(name, IoErrorKind::DuplicateName { name: tensor_name.clone() }));
        }
        check_shape(name, tensor_name, &tensor.shape, tensor.data.len())?;
    }
    let bytes: Vec<Vec<u8>> =
        tensors.iter().map(|(_, t)| t.data.iter().flat_map(|x| x.to_le_bytes()).collect()).collect();
    let err = |e: SafeTensorError| IoError::new(name, IoErrorKind::Safetensors { detail: e.to_string() });
    let views = tensors
        .iter()
        .zip(&bytes)
        .map(|((name, tensor), bytes)| Ok((name.as_str(), TensorView::new(Dtype::F32, tensor.shape.clone(), bytes)?)))
        .collect::<Result<Vec<_>, SafeTensorError>>()
        .map_err(err)?;
    let metadata: Option<HashMap<String, String>> =
        (!metadata.is_empty()).then(|| metadata.iter().map(|(k, v)| (k.clone(), v.clone())).collect());
    ::safetensors::serialize(views, metadata).map_err(err)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A file with `header` as its JSON and `data` after it.
    fn file(header: &str, data: &[u8]) -> Vec<u8> {
        let mut out = (header.len() as u64).to_le_bytes().to_vec();
        out.extend_from_slice(header.as_bytes());
        out.extend_from_slice(data);
        out
    }

    fn parse_err(bytes: &[u8]) -> String {
        parse_safetensors(bytes, "m.safetensors").expect_err("should fail").to_string()
    }

    #[test]
    fn decodes_every_supported_dtype() {
        let header = r#"{"a":{"dtype":"I16","shape":[2],"data_offsets":[0,4]},
                         "b":{"dtype":"BOOL","shape":[2],"data_offsets":[4,6]},
                         "c":{"dtype":"I8","shape":[1],"data_offsets":[6,7]},
                         "d":{"dtype":"U8","shape":[1],"data_offsets":[7,8]},
                         "e":{"dtype":"BF16","shape":[],"data_offsets":[8,10]}}"#;
        let mut data = vec![0xff, 0xff, 2, 0, 1, 0, 0x80, 9];
        data.extend_from_slice(&half::bf16::from_f32(0.75).to_le_bytes());
        let (arrays, metadata) = parse_safetensors(&file(header, &data), "m.safetensors").unwrap();
        assert!(metadata.is_empty());
        let got: Vec<(&str, Vec<f32>)> = arrays.iter().map(|(n, a)| (n.as_str(), a.to_f32_tensor().data)).collect();
        assert_eq!(
            got,
            [("a", vec![-1.0, 2.0]), ("b", vec![1.0, 0.0]), ("c", vec![-128.0]), ("d", vec![9.0]), ("e", vec![0.75])]
        );
        assert_eq!(arrays[4].1.shape, Vec::<usize>::new());
    }

    #[test]
    fn rejects_unsupported_dtypes_naming_the_tensor() {
        let header = r#"{"z":{"dtype":"C64","shape":[1],"data_offsets":[0,8]}}"#;
        assert_eq!(
            parse_err(&file(header, &[0; 8])),
            format!("m.safetensors (tensor z): array has element type C64; {DTYPE_HINT}")
        );
    }

    #[test]
    fn header_errors() {
        assert_eq!(
            parse_err(b"\x10\x00"),
            "m.safetensors: not a valid .safetensors file: the file holds 2 bytes, fewer than the 8-byte header \
             length that starts every .safetensors file"
        );
        assert!(parse_err(b"\x93NUMPY\x01\x00v\x00{}").ends_with("follow: it looks like a .npy file"));
        assert!(parse_err(b"PK\x03\x04\x14\x00\x00\x00\x08\x00").contains("it looks like a zip archive"));
        assert!(parse_err(&file("{\"a\":", &[])).contains("the header is not valid JSON: EOF while parsing"));
        assert!(parse_err(&file("[1, 2]", &[])).ends_with("the header is not a JSON object"));
        assert!(parse_err(&file("\"\u{ff}\"", &[])).ends_with("the header is not a JSON object"));
        let lying = r#"{"a":{"dtype":"F32","shape":[1000000000],"data_offsets":[0,4000000000]}}"#;
        assert_eq!(
            parse_err(&file(lying, &[0; 4])),
            "m.safetensors: not a valid .safetensors file: tensor 'a' claims data up to byte 4000000000 but the \
             file holds only 4 bytes of data; is it truncated?"
        );
        let wrong_size = r#"{"a":{"dtype":"F32","shape":[2],"data_offsets":[0,4]}}"#;
        assert!(parse_err(&file(wrong_size, &[0; 4])).ends_with("than its shape and dtype need"));
        let gap = r#"{"a":{"dtype":"U8","shape":[1],"data_offsets":[1,2]}}"#;
        assert!(parse_err(&file(gap, &[0; 2])).contains("tensor 'a' does not start where the previous one ends"));
        let short = r#"{"a":{"dtype":"U8","shape":[1],"data_offsets":[0,1]}}"#;
        assert!(parse_err(&file(short, &[0; 2])).contains("the tensors do not cover the data exactly"));
        let no_dtype = r#"{"a":{"shape":[1],"data_offsets":[0,1]}}"#;
        assert!(parse_err(&file(no_dtype, &[0])).contains("the header does not describe tensors: missing field"));
        let overflow = r#"{"a":{"dtype":"F64","shape":[4294967296,4294967296],"data_offsets":[0,0]}}"#;
        assert!(parse_err(&file(overflow, &[])).ends_with("a tensor's shape has more elements than memory can hold"));
        let mut bad_utf8 = file("{\"a\": 1}", &[]);
        bad_utf8[9] = 0xff;
        assert!(parse_err(&bad_utf8).contains("not valid JSON"));
    }

    #[test]
    fn offsets_summing_past_the_address_space_do_not_overflow() {
        // Eight tensors of 2^61 - 1 bytes each: offsets that tile correctly but add up to nearly 2^64.
        let size = (1u64 << 61) - 1;
        let entries: Vec<String> = (0..8u64)
            .map(|i| {
                format!(r#""t{i}":{{"dtype":"U8","shape":[{size}],"data_offsets":[{},{}]}}"#, i * size, (i + 1) * size)
            })
            .collect();
        let err = parse_err(&file(&format!("{{{}}}", entries.join(",")), &[]));
        assert!(err.contains("claims data up to byte 2305843009213693951"), "{err}");
    }

    #[test]
    fn writer_rejects_duplicates_and_inconsistent_tensors() {
        let path = std::env::temp_dir().join("netc-never-written.safetensors");
        let t = Tensor::from_vec(&[1], vec![1.0]);
        let twice = [("a".to_string(), t.clone()), ("a".to_string(), t)];
        let err = write_safetensors(&path, &twice, &BTreeMap::new()).unwrap_err().to_string();
        assert!(err.ends_with("netc-never-written.safetensors: tensor name 'a' appears more than once"), "{err}");
        let bad = [("w".to_string(), Tensor { shape: vec![2, 2], data: vec![0.0; 3] })];
        let err = write_safetensors(&path, &bad, &BTreeMap::new()).unwrap_err().to_string();
        assert!(err.ends_with("tensor 'w' has shape [2, 2] (4 elements) but holds 3 values"), "{err}");
    }
}
