//! numpy's `.npz` format: a zip archive of `.npy` members, stored (`np.savez`) or deflated
//! (`np.savez_compressed`).

use super::array::Array;
use super::npy::parse_npy;
use super::{IoError, IoErrorKind, read_file};
use std::io::{Cursor, Read};
use std::path::Path;
use zip::ZipArchive;

/// Initial buffer for a member: more is allocated only as inflated bytes actually arrive.
const INITIAL_MEMBER_CAPACITY: u64 = 1 << 20;

/// Reads every array of an `.npz` archive, in archive order, named without the `.npy` suffix
/// (`np.savez(f, w=...)` gives `w`; positional arrays are `arr_0`, `arr_1`, ...).
pub fn read_npz(path: impl AsRef<Path>) -> Result<Vec<(String, Array)>, IoError> {
    let path = path.as_ref();
    parse_npz(&read_file(path)?, &path.display().to_string())
}

/// Parses the bytes of an `.npz` archive; `name` is the file as errors should call it.
pub fn parse_npz(bytes: &[u8], name: &str) -> Result<Vec<(String, Array)>, IoError> {
    let zip_err = |e: &dyn std::fmt::Display| {
        let hint = if bytes.starts_with(b"\x93NUMPY") {
            "this is a single .npy array: name it .npy or read it with `read_npy`"
        } else {
            ""
        };
        IoError::new(name, IoErrorKind::Zip { detail: e.to_string(), hint })
    };
    let mut archive = ZipArchive::new(Cursor::new(bytes)).map_err(|e| zip_err(&e))?;
    let mut arrays = Vec::new();
    for index in 0..archive.len() {
        let mut file = archive.by_index(index).map_err(|e| zip_err(&e))?;
        if file.is_dir() {
            continue;
        }
        let member = String::from_utf8_lossy(file.name_raw()).into_owned();
        let Some(key) = member.strip_suffix(".npy").map(str::to_string) else {
            return Err(IoError::new(name, IoErrorKind::NotAnArray { member }));
        };
        let label = format!("{name} (member {member})");
        // The zip reader fails a member that inflates past its declared size; reading at most one
        // byte more bounds memory regardless, while still reaching the end, where the CRC is checked.
        let declared = file.size();
        let mut data = Vec::with_capacity(declared.min(INITIAL_MEMBER_CAPACITY) as usize);
        file.by_ref()
            .take(declared.saturating_add(1))
            .read_to_end(&mut data)
            .map_err(|e| IoError::new(&label, IoErrorKind::Zip { detail: e.to_string(), hint: "" }))?;
        arrays.push((key, parse_npy(&data, &label)?));
    }
    Ok(arrays)
}

#[cfg(test)]
mod tests {
    use super::*;
    use zip::CompressionMethod;
    use zip::write::{SimpleFileOptions, ZipWriter};

    /// An archive holding `members` (name, bytes), compressed with `method`.
    fn zip_of(members: &[(&str, &[u8])], method: CompressionMethod) -> Vec<u8> {
        let mut writer = ZipWriter::new(Cursor::new(Vec::new()));
        let options = SimpleFileOptions::default().compression_method(method);
        for (name, bytes) in members {
            writer.start_file(*name, options).unwrap();
            std::io::Write::write_all(&mut writer, bytes).unwrap();
        }
        writer.finish().unwrap().into_inner()
    }

    fn npy_f32(values: &[f32]) -> Vec<u8> {
        let mut out = b"\x93NUMPY\x01\x00".to_vec();
        let header = format!("{{'descr': '<f4', 'fortran_order': False, 'shape': ({},), }}\n", values.len());
        out.extend_from_slice(&(header.len() as u16).to_le_bytes());
        out.extend_from_slice(header.as_bytes());
        out.extend(values.iter().flat_map(|v| v.to_le_bytes()));
        out
    }

    #[test]
    fn reads_stored_and_deflated_members_in_order() {
        let a = npy_f32(&[1.0, 2.0]);
        let b = npy_f32(&[3.0]);
        for method in [CompressionMethod::Stored, CompressionMethod::Deflated] {
            let bytes = zip_of(&[("b.npy", &b), ("dir/a.npy", &a)], method);
            let arrays = parse_npz(&bytes, "w.npz").unwrap();
            let names: Vec<&str> = arrays.iter().map(|(n, _)| n.as_str()).collect();
            assert_eq!(names, ["b", "dir/a"]);
            assert_eq!(arrays[1].1.as_f32(), Some(&[1.0, 2.0][..]));
        }
    }

    #[test]
    fn member_errors_name_the_member() {
        let bytes = zip_of(&[("notes.txt", b"hi")], CompressionMethod::Stored);
        assert_eq!(
            parse_npz(&bytes, "w.npz").unwrap_err().to_string(),
            "w.npz: archive member 'notes.txt' is not a .npy array; a .npz for netc holds only arrays \
             (write it with `np.savez`)"
        );
        let bytes = zip_of(&[("w.npy", b"\x93NUMPY\x01\x00\xff\xff")], CompressionMethod::Deflated);
        assert_eq!(
            parse_npz(&bytes, "w.npz").unwrap_err().to_string(),
            "w.npz (member w.npy): file is truncated: the .npy header needs 65545 bytes but the file holds \
             only 10; was it copied or downloaded completely?"
        );
    }

    #[test]
    fn inflating_past_the_declared_size_is_an_error() {
        let a = npy_f32(&[0.0; 64]);
        let mut archive = zip_of(&[("a.npy", &a)], CompressionMethod::Deflated);
        // Shrink the declared uncompressed size (offset 24 in the central directory entry,
        // offset 22 in the local header) to 100 bytes.
        let central = archive.windows(4).position(|w| w == b"PK\x01\x02").unwrap();
        archive[central + 24..central + 28].copy_from_slice(&100u32.to_le_bytes());
        archive[22..26].copy_from_slice(&100u32.to_le_bytes());
        assert_eq!(
            parse_npz(&archive, "w.npz").unwrap_err().to_string(),
            "w.npz (member a.npy): not a readable .npz (zip) archive: File is larger than its declared \
             uncompressed size"
        );
    }

    #[test]
    fn not_a_zip() {
        let err = parse_npz(b"hello", "w.npz").unwrap_err().to_string();
        assert!(err.starts_with("w.npz: not a readable .npz (zip) archive: "), "{err}");
        let err = parse_npz(&npy_f32(&[1.0]), "w.npz").unwrap_err().to_string();
        assert!(err.ends_with("; this is a single .npy array: name it .npy or read it with `read_npy`"), "{err}");
    }
}
