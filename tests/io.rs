//! The tensor file readers and writers against files written by numpy, safetensors and torch
//! (`scripts/make_io_fixtures.py`), round trips through netc's own writers, and hostile input.

use netc::io::{
    Array, ArrayData, DEFAULT_MAX_BYTES, IoErrorKind, parse_npy, parse_npz, parse_safetensors, read_npy, read_npz,
    read_safetensors, read_tensors, read_tensors_limited, write_npy, write_npy_i64, write_safetensors,
};
use netc::tensor::Tensor;
use proptest::prelude::*;
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

fn fixture(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/io").join(name)
}

fn fixture_bytes(name: &str) -> Vec<u8> {
    std::fs::read(fixture(name)).unwrap()
}

/// A fresh, empty directory for one test's files.
fn scratch(test: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("netc-io-{}-{test}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

/// `np.arange(6, dtype=np.float32).reshape(2, 3) * 0.5 - 1.0`, as the fixture script writes it.
const A23: [f32; 6] = [-1.0, -0.5, 0.0, 0.5, 1.0, 1.5];

fn read_err(path: &Path) -> String {
    read_npy(path).expect_err("should fail").to_string()
}

// ---------- numpy-written .npy files ----------

#[test]
fn reads_numpy_float_files() {
    for name in ["f32_2x3.npy", "f32_2x3_v2.npy", "f32_2x3_v3.npy", "f16_2x3.npy"] {
        let array = read_npy(fixture(name)).unwrap();
        assert_eq!(array.shape, [2, 3], "{name}");
        assert_eq!(array.as_f32().unwrap(), A23, "{name}");
    }
    // The script adds 1e-9 in float64: visible next to 0.0 only, so conversion really happened.
    let f64s = read_npy(fixture("f64_2x3.npy")).unwrap();
    assert_eq!(f64s.as_f32().unwrap(), A23.map(|x| (f64::from(x) + 1e-9) as f32));
    assert_eq!(f64s.as_f32().unwrap()[2], 1e-9);
    let nchw = read_npy(fixture("f32_1x2x1x2.npy")).unwrap();
    assert_eq!(nchw.to_f32_tensor(), Tensor::from_vec(&[1, 2, 1, 2], vec![0.0, 1.0, 2.0, 3.0]));
    let scalar = read_npy(fixture("scalar_f32.npy")).unwrap();
    assert_eq!((scalar.shape.len(), scalar.as_f32().unwrap()), (0, &[3.25][..]));
    let empty = read_npy(fixture("empty_0x3.npy")).unwrap();
    assert_eq!(empty.shape, [0, 3]);
    assert!(empty.is_empty() && empty.data.is_empty());
}

#[test]
fn reads_numpy_integer_and_bool_files() {
    let u8s = read_npy(fixture("u8_4.npy")).unwrap();
    assert_eq!(u8s.as_u8().unwrap(), [0, 1, 128, 255]);
    let i64s = read_npy(fixture("i64_3.npy")).unwrap();
    assert_eq!(i64s.as_i64().unwrap(), [-1, 0, 1 << 40]);
    let i32s = read_npy(fixture("i32_2x2.npy")).unwrap();
    assert_eq!((i32s.shape.as_slice(), i32s.as_i64().unwrap()), (&[2, 2][..], &[-7, 0, 1, i32::MAX as i64][..]));
    let bools = read_npy(fixture("bool_3.npy")).unwrap();
    assert_eq!(bools.data, ArrayData::U8(vec![1, 0, 1]));
}

#[test]
fn refuses_numpy_files_netc_cannot_use_and_says_how_to_fix_them() {
    let path = fixture("fortran_2x3.npy");
    assert_eq!(
        read_err(&path),
        format!(
            "{}: fortran_order arrays are not supported: save with `np.save(path, np.ascontiguousarray(x))`",
            path.display()
        )
    );
    let err = read_npy(fixture("bigendian_f32.npy")).unwrap_err();
    assert!(matches!(err.kind, IoErrorKind::UnsupportedDtype { .. }));
    assert!(
        err.to_string().ends_with(
            "bigendian_f32.npy: array has element type big-endian float32 ('>f4'); netc reads little-endian \
             arrays only; convert with `x.astype(x.dtype.newbyteorder('<'))`"
        ),
        "{err}"
    );
    assert!(read_err(&fixture("complex64.npy")).ends_with(
        "complex64.npy: array has element type complex64 ('<c8'); netc reads float32, float16, float64, uint8, \
             bool, int8, int16, int32, int64, uint16 and uint32 arrays; convert with `x.astype(np.float32)`"
    ));
    let missing = fixture("no-such-file.npy");
    let err = read_npy(&missing).unwrap_err();
    assert!(std::error::Error::source(&err).is_some());
    assert!(err.to_string().starts_with(&format!("{}: cannot read the file: ", missing.display())), "{err}");
}

// ---------- netc's writers ----------

#[test]
fn write_npy_matches_numpy_byte_for_byte() {
    let dir = scratch("npy-bytes");
    let cases = [
        ("f32_2x3.npy", Tensor::from_vec(&[2, 3], A23.to_vec())),
        ("scalar_f32.npy", Tensor::from_vec(&[], vec![3.25])),
        ("empty_0x3.npy", Tensor::zeros(&[0, 3])),
        ("f32_1x2x1x2.npy", Tensor::from_vec(&[1, 2, 1, 2], vec![0.0, 1.0, 2.0, 3.0])),
    ];
    for (name, tensor) in cases {
        let path = dir.join(name);
        write_npy(&path, &tensor).unwrap();
        assert_eq!(std::fs::read(&path).unwrap(), fixture_bytes(name), "{name}");
    }
    let path = dir.join("i64_3.npy");
    write_npy_i64(&path, &[3], &[-1, 0, 1 << 40]).unwrap();
    assert_eq!(std::fs::read(&path).unwrap(), fixture_bytes("i64_3.npy"));
}

#[test]
fn npy_round_trips() {
    let dir = scratch("npy-round-trip");
    let tensor = Tensor::from_vec(&[2, 1, 3], vec![f32::MIN, -0.0, f32::EPSILON, f32::INFINITY, 1e-40, f32::MAX]);
    write_npy(dir.join("t.npy"), &tensor).unwrap();
    assert_eq!(read_npy(dir.join("t.npy")).unwrap().into_f32_tensor(), tensor);
    let nan = Tensor::from_vec(&[1], vec![f32::NAN]);
    write_npy(dir.join("nan.npy"), &nan).unwrap();
    assert!(read_npy(dir.join("nan.npy")).unwrap().as_f32().unwrap()[0].is_nan());
    let ints = [i64::MIN, -1, 0, 1, i64::MAX, 42];
    write_npy_i64(dir.join("i.npy"), &[3, 2], &ints).unwrap();
    assert_eq!(read_npy(dir.join("i.npy")).unwrap(), Array { shape: vec![3, 2], data: ArrayData::I64(ints.to_vec()) });
    let err = write_npy(dir.join("missing-dir/t.npy"), &tensor).unwrap_err().to_string();
    assert!(err.contains("missing-dir/t.npy: cannot write the file: "), "{err}");
}

#[test]
fn safetensors_round_trip_with_metadata() {
    let dir = scratch("safetensors-round-trip");
    let tensors = vec![
        ("conv.weight".to_string(), Tensor::from_vec(&[2, 1, 1, 2], vec![1.0, -2.0, 3.5, 0.0])),
        ("conv.bias".to_string(), Tensor::from_vec(&[2], vec![0.25, -0.25])),
        ("scalar".to_string(), Tensor::from_vec(&[], vec![7.0])),
        ("empty".to_string(), Tensor::zeros(&[0])),
    ];
    let metadata = BTreeMap::from([("epoch".to_string(), "3".to_string()), ("arch".to_string(), "lenet".to_string())]);
    let path = dir.join("m.safetensors");
    write_safetensors(&path, &tensors, &metadata).unwrap();
    let file = read_tensors(&path).unwrap();
    assert_eq!(file.metadata, metadata);
    let mut got = file.tensors;
    got.sort_by(|a, b| a.0.cmp(&b.0));
    let mut want = tensors.clone();
    want.sort_by(|a, b| a.0.cmp(&b.0));
    assert_eq!(got, want);

    write_safetensors(&path, &tensors[..1], &BTreeMap::new()).unwrap();
    let (arrays, metadata) = read_safetensors(&path).unwrap();
    assert!(metadata.is_empty());
    assert_eq!(arrays.len(), 1);
}

// ---------- archives and safetensors written by the reference libraries ----------

#[test]
fn reads_numpy_npz_archives_stored_and_compressed() {
    for name in ["weights.npz", "weights_compressed.npz"] {
        let arrays = read_npz(fixture(name), DEFAULT_MAX_BYTES).unwrap();
        let names: Vec<&str> = arrays.iter().map(|(n, _)| n.as_str()).collect();
        assert_eq!(names, ["conv1.weight", "conv1.bias", "labels"], "{name}");
        assert_eq!(arrays[0].1.shape, [2, 1, 2, 2]);
        assert_eq!(arrays[0].1.as_f32().unwrap(), [0.0, 1.0, 2.0, 3.0, 4.0, 5.0, 6.0, 7.0]);
        assert_eq!(arrays[1].1.as_f32().unwrap(), [0.5, -0.5]);
        assert_eq!(arrays[2].1.as_i64().unwrap(), [3, 1, 4]);
    }
    let positional = read_npz(fixture("positional.npz"), DEFAULT_MAX_BYTES).unwrap();
    assert_eq!(positional[0].0, "arr_0");
    assert_eq!(positional[1], ("arr_1".to_string(), Array { shape: vec![2, 3], data: ArrayData::F32(A23.to_vec()) }));
}

#[test]
fn reads_reference_safetensors_files() {
    let (arrays, metadata) = read_safetensors(fixture("model.safetensors")).unwrap();
    assert_eq!(metadata, BTreeMap::from([("format".into(), "np".into()), ("netc".into(), "fixture".into())]));
    let by_name: BTreeMap<&str, &Array> = arrays.iter().map(|(n, a)| (n.as_str(), a)).collect();
    assert_eq!(by_name.len(), 6);
    assert_eq!(by_name["conv1.weight"].shape, [2, 1, 2, 2]);
    assert_eq!(by_name["conv1.bias"].as_f32().unwrap(), [0.5, -0.5]);
    assert_eq!(by_name["half"].as_f32().unwrap(), A23);
    assert_eq!(by_name["double"].as_f32().unwrap(), A23);
    assert_eq!(by_name["labels"].as_i64().unwrap(), [3, 1, 4]);
    assert_eq!(by_name["pixels"].as_u8().unwrap(), [0, 7, 255]);
    // Tensors come back in the order of their bytes in the file.
    let names: Vec<&str> = arrays.iter().map(|(n, _)| n.as_str()).collect();
    assert_eq!(names, ["labels", "double", "conv1.bias", "conv1.weight", "half", "pixels"]);

    let (bf16, _) = read_safetensors(fixture("model_bf16.safetensors")).unwrap();
    assert_eq!(bf16[0].0, "w");
    assert_eq!(bf16[0].1.to_f32_tensor(), Tensor::from_vec(&[2, 3], A23.to_vec()));
}

#[test]
fn read_tensors_picks_the_format_by_extension() {
    let npz = read_tensors(fixture("weights_compressed.npz")).unwrap();
    assert!(npz.metadata.is_empty());
    assert_eq!(npz.tensors[2], ("labels".to_string(), Tensor::from_vec(&[3], vec![3.0, 1.0, 4.0])));
    let st = read_tensors(fixture("model.safetensors")).unwrap();
    assert_eq!(st.metadata["netc"], "fixture");
    assert_eq!(st.tensors.len(), 6);
    let npy = read_tensors(fixture("u8_4.npy")).unwrap();
    assert_eq!(npy.tensors, [("u8_4".to_string(), Tensor::from_vec(&[4], vec![0.0, 1.0, 128.0, 255.0]))]);

    let err = read_tensors("weights.pt").unwrap_err();
    assert_eq!(
        err.to_string(),
        "weights.pt: unknown tensor file extension '.pt'; netc reads .safetensors, .npz and .npy files"
    );
    assert_eq!(
        read_tensors("weights").unwrap_err().to_string(),
        "weights: cannot tell the tensor format: the file name has no extension; netc reads .safetensors, \
         .npz and .npy files"
    );
    let dir = scratch("read-tensors");
    let path = dir.join("WEIGHTS.NPZ");
    std::fs::copy(fixture("weights.npz"), &path).unwrap();
    assert_eq!(read_tensors(&path).unwrap().tensors.len(), 3);
    let mislabelled = dir.join("really-npy.safetensors");
    std::fs::copy(fixture("f32_2x3.npy"), &mislabelled).unwrap();
    let err = read_tensors(&mislabelled).unwrap_err().to_string();
    assert!(err.ends_with("follow: it looks like a .npy file"), "{err}");
}

// ---------- hostile input ----------

/// Every proper prefix of every fixture of `format` must fail with a message about that file.
fn assert_every_truncation_fails(files: &[&str], parse: impl Fn(&[u8], &str) -> Result<(), String>) {
    for name in files {
        let bytes = fixture_bytes(name);
        for len in 0..bytes.len() {
            let message = parse(&bytes[..len], name).expect_err(&format!("{name} cut to {len} bytes parsed"));
            assert!(message.starts_with(&format!("{name}: ")), "{name} cut to {len}: {message}");
        }
    }
}

#[test]
fn truncated_npy_files_fail_at_every_offset() {
    let files = ["f32_2x3.npy", "f32_2x3_v2.npy", "f32_2x3_v3.npy", "f16_2x3.npy", "bool_3.npy", "scalar_f32.npy"];
    assert_every_truncation_fails(&files, |b, n| parse_npy(b, n).map(drop).map_err(|e| e.to_string()));
    let bytes = fixture_bytes("f32_2x3.npy");
    let message = |len: usize| parse_npy(&bytes[..len], "f.npy").unwrap_err().to_string();
    assert_eq!(message(0), "f.npy: expected a .npy file (magic \\x93NUMPY), found an empty file");
    assert!(message(7).contains("the .npy preamble needs 8 bytes but the file holds only 7"));
    assert!(message(9).contains("the .npy header length needs 10 bytes but the file holds only 9"));
    assert!(message(100).contains("the .npy header needs 128 bytes but the file holds only 100"));
    assert_eq!(
        message(150),
        "f.npy: header says shape [2, 3] (6 elements of 4 bytes = 24 bytes) but the file holds 22 bytes of data"
    );
}

#[test]
fn truncated_npz_files_fail_at_every_offset() {
    assert_every_truncation_fails(&["weights.npz", "weights_compressed.npz"], |b, n| {
        parse_npz(b, n, DEFAULT_MAX_BYTES).map(drop).map_err(|e| e.to_string())
    });
}

#[test]
fn truncated_safetensors_files_fail_at_every_offset() {
    assert_every_truncation_fails(&["model.safetensors", "model_bf16.safetensors"], |b, n| {
        parse_safetensors(b, n).map(drop).map_err(|e| e.to_string())
    });
}

#[test]
fn corrupt_npz_members_are_reported() {
    // Flip one byte of a deflated member's compressed data: inflating fails or the CRC disagrees.
    let mut bytes = fixture_bytes("weights_compressed.npz");
    let data_start =
        30 + u16::from_le_bytes([bytes[26], bytes[27]]) as usize + u16::from_le_bytes([bytes[28], bytes[29]]) as usize;
    bytes[data_start + 5] ^= 0x55;
    let err = parse_npz(&bytes, "w.npz", DEFAULT_MAX_BYTES).unwrap_err().to_string();
    assert!(err.starts_with("w.npz"), "{err}");
    assert!(err.contains("conv1.weight.npy"), "{err}");

    // A stored member whose bytes changed after the CRC was computed.
    let mut bytes = fixture_bytes("weights.npz");
    let at = bytes.windows(6).position(|w| w == b"\x93NUMPY").unwrap() + 130;
    bytes[at] ^= 1;
    let err = parse_npz(&bytes, "w.npz", DEFAULT_MAX_BYTES).unwrap_err().to_string();
    assert!(err.starts_with("w.npz (member conv1.weight.npy): not a readable .npz (zip) archive: "), "{err}");
    assert!(err.to_lowercase().contains("checksum"), "{err}");

    let garbage = parse_npz(b"this is not a zip archive at all", "w.npz", DEFAULT_MAX_BYTES).unwrap_err().to_string();
    assert!(garbage.starts_with("w.npz: not a readable .npz (zip) archive: "), "{garbage}");
}

/// The bytes of `f32_2x3.npy` with its header text replaced by `header` (length field updated).
fn with_header(header: &str) -> Vec<u8> {
    let mut out = b"\x93NUMPY\x01\x00".to_vec();
    out.extend_from_slice(&(header.len() as u16).to_le_bytes());
    out.extend_from_slice(header.as_bytes());
    out.extend_from_slice(&[0; 24]);
    out
}

#[test]
fn garbage_npy_headers_are_reported_with_the_header() {
    let err = parse_npy(&with_header("{'descr': '<f4', 'fortran_order': False, 'shape': (2, 3), "), "g.npy")
        .unwrap_err()
        .to_string();
    assert_eq!(
        err,
        "g.npy: malformed .npy header: unexpected end of header in `{'descr': '<f4', 'fortran_order': False, \
         'shape': (2, 3),`"
    );
    let long = format!("{{'descr': '<f4', {}}}", "'pad': 1, ".repeat(40));
    let err = parse_npy(&with_header(&long), "g.npy").unwrap_err().to_string();
    assert!(err.contains("key 'fortran_order' is missing") && err.ends_with("...`"), "{err}");
}

#[test]
fn a_huge_shape_over_tiny_data_is_refused_without_allocating() {
    // 2^60 float32 elements would be 4 EiB: this must be an error, not an allocation.
    let header = format!("{{'descr': '<f4', 'fortran_order': False, 'shape': ({}, ), }}", 1u64 << 60);
    let err = parse_npy(&with_header(&header), "huge.npy").unwrap_err();
    assert!(matches!(err.kind, IoErrorKind::DataSize { actual: 24, .. }));
    let header = r#"{"w":{"dtype":"F32","shape":[1152921504606846976],"data_offsets":[0,4611686018427387904]}}"#;
    let mut bytes = (header.len() as u64).to_le_bytes().to_vec();
    bytes.extend_from_slice(header.as_bytes());
    bytes.extend_from_slice(&[0; 16]);
    let err = parse_safetensors(&bytes, "huge.safetensors").unwrap_err().to_string();
    assert!(err.contains("claims data up to byte 4611686018427387904 but the file holds only 16 bytes"), "{err}");
}

// ---------- hardening regressions (tests/fixtures/io/hostile/, made by scripts/make_io_fixtures.py) ----------

fn hostile(name: &str) -> Vec<u8> {
    fixture_bytes(&format!("hostile/{name}"))
}

fn npz_err(bytes: &[u8], max_bytes: u64) -> String {
    parse_npz(bytes, "w.npz", max_bytes).expect_err("should fail").to_string()
}

#[test]
fn npy_descr_whose_size_in_bits_overflows_is_named_as_written() {
    // '<f3000000000000000000': 3e18 bytes is 2.4e19 bits, past u64; this used to overflow.
    assert_eq!(
        parse_npy(&hostile("descr_overflow.npy"), "d.npy").unwrap_err().to_string(),
        "d.npy: array has element type '<f3000000000000000000'; netc reads float32, float16, float64, uint8, \
         bool, int8, int16, int32, int64, uint16 and uint32 arrays; convert with `x.astype(np.float32)`"
    );
}

#[test]
fn npz_listing_one_deflated_member_many_times_is_refused_before_inflating() {
    // 16 directory entries, one 4 MiB deflated member: 64 MiB of arrays from 5 KB, or (with the
    // issue's 1 GiB member) an abort at 9 GB. Refused from the directory alone, whatever the limit.
    let bomb = hostile("overlap_bomb.npz");
    assert!(bomb.len() < 6_000);
    assert_eq!(
        npz_err(&bomb, u64::MAX),
        "w.npz: not a readable .npz (zip) archive: members 'w0.npy' (bytes 0..4201) and 'w1.npy' \
         (bytes 0..4201) overlap; members of a valid archive never share bytes (sharing is how a small zip \
         decompresses to gigabytes); re-create the file with `np.savez`"
    );
    let stored = npz_err(&hostile("overlap_stored.npz"), u64::MAX);
    assert!(stored.contains("members 'w0.npy' (bytes 0..187) and 'w1.npy' (bytes 0..187) overlap"), "{stored}");
}

#[test]
fn npz_members_declaring_more_than_max_bytes_are_refused_before_inflating() {
    // Two members of 87 compressed bytes, each declaring 4 GiB - 2 bytes uncompressed.
    assert_eq!(
        npz_err(&hostile("huge_declared.npz"), DEFAULT_MAX_BYTES),
        "w.npz: decompressing the archive's 2 members needs 8589934588 bytes, more than the limit of \
         4294967296 bytes (4 GiB) netc reads from this tensor file"
    );
    // weights.npz holds three .npy members of 160, 136 and 152 bytes: 448 in all.
    for name in ["weights.npz", "weights_compressed.npz"] {
        let bytes = fixture_bytes(name);
        assert_eq!(parse_npz(&bytes, name, 448).unwrap().len(), 3);
        let err = npz_err(&bytes, 447);
        assert!(err.starts_with("w.npz: decompressing the archive's 3 members needs 448 bytes, more than the limit of 447 bytes netc reads"), "{err}");
    }
}

#[test]
fn npz_member_inflating_past_its_declared_size_stops_there() {
    // Declares 100 bytes, inflates to 65,664: reading stops at byte 101.
    assert_eq!(
        npz_err(&hostile("lying_size.npz"), DEFAULT_MAX_BYTES),
        "w.npz (member w.npy): not a readable .npz (zip) archive: File is larger than its declared uncompressed size"
    );
}

#[test]
fn read_tensors_limited_refuses_files_larger_than_the_limit_before_reading_them() {
    let path = fixture("f32_2x3.npy");
    let err = read_tensors_limited(&path, 151).unwrap_err();
    assert!(matches!(err.kind, IoErrorKind::TooLarge { bytes: 152, max_bytes: 151, .. }));
    assert!(
        err.to_string().ends_with(
            "f32_2x3.npy: reading the file needs 152 bytes, more than the limit of 151 bytes netc reads from this \
             tensor file"
        ),
        "{err}"
    );
    assert_eq!(read_tensors_limited(&path, 152).unwrap().tensors[0].1.data, A23);
    for name in ["model.safetensors", "weights.npz"] {
        let len = std::fs::metadata(fixture(name)).unwrap().len();
        let err = read_tensors_limited(fixture(name), len - 1).unwrap_err().to_string();
        assert!(err.contains(&format!("reading the file needs {len} bytes, more than the limit of {}", len - 1)));
        assert!(read_tensors_limited(fixture(name), len).is_ok(), "{name}");
    }
    let err = read_npz(fixture("weights.npz"), 10).unwrap_err().to_string();
    assert!(err.contains("reading the file needs"), "{err}");
}

/// Bytes of a valid file with a few bytes overwritten: close enough to valid to reach deep code.
fn mutated(base: &'static str) -> impl Strategy<Value = Vec<u8>> {
    let bytes = fixture_bytes(base);
    let len = bytes.len();
    proptest::collection::vec((0..len, any::<u8>()), 1..4).prop_map(move |edits| {
        let mut b = bytes.clone();
        for (at, value) in edits {
            b[at] = value;
        }
        b
    })
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 256, ..ProptestConfig::default() })]

    #[test]
    fn random_bytes_never_panic(bytes in proptest::collection::vec(any::<u8>(), 0..256)) {
        let _ = parse_npy(&bytes, "r.npy");
        let _ = parse_safetensors(&bytes, "r.safetensors");
        let _ = parse_npz(&bytes, "r.npz", DEFAULT_MAX_BYTES);
        let mut npy = b"\x93NUMPY\x01\x00".to_vec();
        npy.extend_from_slice(&bytes);
        let _ = parse_npy(&npy, "r.npy");
    }

    #[test]
    fn mutated_npy_never_panics(bytes in mutated("f32_2x3.npy")) {
        let _ = parse_npy(&bytes, "m.npy");
    }

    #[test]
    fn mutated_safetensors_never_panics(bytes in mutated("model.safetensors")) {
        let _ = parse_safetensors(&bytes, "m.safetensors");
    }

    #[test]
    fn mutated_npz_never_panics(bytes in mutated("weights_compressed.npz")) {
        let _ = parse_npz(&bytes, "m.npz", DEFAULT_MAX_BYTES);
    }

    #[test]
    fn random_headers_never_panic(header in "[{}()\\[\\]'\":, 0-9a-zA-Z<>|_-]{0,80}") {
        let _ = parse_npy(&with_header(&header), "h.npy");
    }

    #[test]
    fn f32_npy_round_trips(shape in proptest::collection::vec(0usize..4, 0..4), seed in any::<u32>()) {
        let n: usize = shape.iter().product();
        let data: Vec<f32> = (0..n).map(|i| (i as f32 + seed as f32) * 0.37 - 1.0).collect();
        let tensor = Tensor::from_vec(&shape, data);
        let dir = std::env::temp_dir().join(format!("netc-io-prop-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let path = dir.join("t.npy");
        write_npy(&path, &tensor).unwrap();
        prop_assert_eq!(read_npy(&path).unwrap().into_f32_tensor(), tensor);
    }
}
