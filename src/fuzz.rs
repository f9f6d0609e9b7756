//! The bodies of the cargo-fuzz targets in `fuzz/`, one function per target, kept in the
//! library so that `tests/fuzz_corpus.rs` replays the committed corpus through the very same
//! code with a plain `cargo test`.
//!
//! Each function takes arbitrary bytes and panics only when netc has a bug: a reader that
//! panics, an array whose length disagrees with its shape, or a file that reads back
//! differently after netc's own writer re-encodes it.

use crate::io::{self, Array, ArrayData};
use crate::tensor::Tensor;
use std::collections::BTreeMap;

/// Longer inputs are skipped, so that runs spend their time on many small files (millions of
/// executions) rather than on a few large ones; every reader's limits are exercised well below.
pub const MAX_INPUT: usize = 1 << 20;

/// The `max_bytes` the `.npz` target passes: as much as an archive of [`MAX_INPUT`] bytes holds
/// without compression, and small enough that inflating whatever the fuzzer builds stays fast.
pub const MAX_NPZ_BYTES: u64 = MAX_INPUT as u64;

/// `.npy`: parse; a parsed array re-encoded by netc's writer reads back bit for bit.
pub fn npy(data: &[u8]) {
    if data.len() > MAX_INPUT {
        return;
    }
    if let Ok(array) = io::parse_npy(data, "fuzz.npy") {
        assert_consistent(&array);
        let bytes = encode_npy(&array);
        let again = io::parse_npy(&bytes, "re-encoded.npy").expect("netc reads the .npy files it writes");
        assert!(encode_npy(&again) == bytes, "an .npy array changed in a write/read round trip");
    }
}

/// `.npz`: parse with [`MAX_NPZ_BYTES`]; every member read is a consistent array.
pub fn npz(data: &[u8]) {
    if data.len() > MAX_INPUT {
        return;
    }
    if let Ok(arrays) = io::parse_npz(data, "fuzz.npz", MAX_NPZ_BYTES) {
        arrays.iter().for_each(|(_, array)| assert_consistent(array));
    }
}

/// `.safetensors`: parse; the tensors (as `f32`) and metadata re-encoded by netc's writer read
/// back bit for bit.
pub fn safetensors(data: &[u8]) {
    if data.len() > MAX_INPUT {
        return;
    }
    if let Ok((arrays, metadata)) = io::parse_safetensors(data, "fuzz.safetensors") {
        arrays.iter().for_each(|(_, array)| assert_consistent(array));
        let tensors: Vec<(String, Tensor)> = arrays.iter().map(|(n, a)| (n.clone(), a.to_f32_tensor())).collect();
        let bytes = io::safetensors::encode("re-encoded.safetensors", &tensors, &metadata)
            .expect("netc writes every set of tensors it reads");
        let (again, again_metadata) =
            io::parse_safetensors(&bytes, "re-encoded.safetensors").expect("netc reads the files it writes");
        assert!(again_metadata == metadata, "safetensors metadata changed in a write/read round trip");
        assert!(by_name_bits(&arrays) == by_name_bits(&again), "a tensor changed in a write/read round trip");
    }
}

/// An array's element count agrees with its shape.
fn assert_consistent(array: &Array) {
    let elements = array.shape.iter().try_fold(1usize, |n, &d| n.checked_mul(d));
    assert!(elements == Some(array.len()), "shape {:?} but {} elements", array.shape, array.len());
}

/// `array` as netc's writer encodes its element type.
fn encode_npy(array: &Array) -> Vec<u8> {
    let (descr, bytes): (&str, Vec<u8>) = match &array.data {
        ArrayData::F32(v) => ("<f4", v.iter().flat_map(|x| x.to_le_bytes()).collect()),
        ArrayData::U8(v) => ("|u1", v.clone()),
        ArrayData::I64(v) => ("<i8", v.iter().flat_map(|x| x.to_le_bytes()).collect()),
    };
    io::npy::encode(descr, &array.shape, &bytes)
}

/// Arrays as `f32` tensors, by name, with their values as bits so that NaNs compare equal.
fn by_name_bits(arrays: &[(String, Array)]) -> BTreeMap<&str, (Vec<usize>, Vec<u32>)> {
    arrays
        .iter()
        .map(|(name, a)| {
            (name.as_str(), (a.shape.clone(), a.to_f32_tensor().data.iter().map(|x| x.to_bits()).collect()))
        })
        .collect()
}
