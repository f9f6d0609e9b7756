//! numpy's `.npz` format: a zip archive of `.npy` members, stored (`np.savez`) or deflated
//! (`np.savez_compressed`).

use super::array::Array;
use super::npy::{encode, parse_npy};
use super::{IoError, IoErrorKind, check_shape, read_file, write_file};
use crate::tensor::Tensor;
use std::io::{Cursor, Read, Write};
use std::ops::Range;
use std::path::Path;
use zip::write::SimpleFileOptions;
use zip::{CompressionMethod, ZipArchive, ZipWriter};

/// Initial buffer for a member: more is allocated only as inflated bytes actually arrive.
const INITIAL_MEMBER_CAPACITY: u64 = 1 << 20;

const OVERLAP_HINT: &str = "members of a valid archive never share bytes (sharing is how a small zip \
                            decompresses to gigabytes); re-create the file with `np.savez`";

/// Reads every array of an `.npz` archive, in archive order, named without the `.npy` suffix
/// (`np.savez(f, w=...)` gives `w`; positional arrays are `arr_0`, `arr_1`, ...). Refuses a file
/// larger than `max_bytes` and, as [`parse_npz`] does, members that decompress to more than
/// `max_bytes` in all.
pub fn read_npz(path: impl AsRef<Path>, max_bytes: u64) -> Result<Vec<(String, Array)>, IoError> {
    let path = path.as_ref();
    parse_npz(&read_file(path, max_bytes)?, &path.display().to_string(), max_bytes)
}

/// Writes named float32 tensors as an `.npz` archive of stored `.npy` members, as `np.savez`
/// does (`np.load(path)[name]` reads each back).
pub fn write_npz(path: impl AsRef<Path>, arrays: &[(&str, &Tensor)]) -> Result<(), IoError> {
    let path = path.as_ref();
    let file = path.display().to_string();
    let mut zip = ZipWriter::new(Cursor::new(Vec::new()));
    let options = SimpleFileOptions::default().compression_method(CompressionMethod::Stored).large_file(true);
    let zip_error = |e: zip::result::ZipError| {
        IoError::new(&file, IoErrorKind::BadHeader { format: ".npz", problem: format!("cannot be written: {e}") })
    };
    for (name, t) in arrays {
        check_shape(&file, name, &t.shape, t.data.len())?;
        let data: Vec<u8> = t.data.iter().flat_map(|x| x.to_le_bytes()).collect();
        zip.start_file(format!("{name}.npy"), options).map_err(&zip_error)?;
        zip.write_all(&encode("<f4", &t.shape, &data)).map_err(|e| zip_error(e.into()))?;
    }
    let bytes = zip.finish().map_err(&zip_error)?.into_inner();
    write_file(path, &bytes)
}

/// Parses the bytes of an `.npz` archive; `name` is the file as errors should call it.
///
/// A few kilobytes of zip can decompress to gigabytes, so before inflating anything this checks
/// the archive's directory: no two members may share bytes (one huge deflated member listed many
/// times is a zip bomb), and the members' declared uncompressed sizes must add up to at most
/// `max_bytes`. A member that inflates past its declared size is an error as soon as it does.
pub fn parse_npz(bytes: &[u8], name: &str, max_bytes: u64) -> Result<Vec<(String, Array)>, IoError> {
    let zip_err = |e: &dyn std::fmt::Display| {
        let hint = if bytes.starts_with(b"\x93NUMPY") {
            "this is a single .npy array: name it .npy or read it with `read_npy`"
        } else {
            ""
        };
        IoError::new(name, IoErrorKind::Zip { detail: e.to_string(), hint })
    };
    let mut archive = ZipArchive::new(Cursor::new(bytes)).map_err(|e| zip_err(&e))?;
    let members = directory(&mut archive).map_err(|e| zip_err(&e))?;
    check_overlaps(&members).map_err(|detail| IoError::new(name, IoErrorKind::Zip { detail, hint: OVERLAP_HINT }))?;
    let total = members.iter().fold(0u64, |sum, m| sum.saturating_add(m.size));
    if total > max_bytes {
        let what = format!("decompressing the archive's {} members", members.len());
        return Err(IoError::new(name, IoErrorKind::TooLarge { what, bytes: total, max_bytes }));
    }

    let mut arrays = Vec::new();
    for (index, member) in members.into_iter().enumerate() {
        let mut file = archive.by_index(index).map_err(|e| zip_err(&e))?;
        if file.is_dir() {
            continue;
        }
        let Some(key) = member.name.strip_suffix(".npy").map(str::to_string) else {
            return Err(IoError::new(name, IoErrorKind::NotAnArray { member: member.name }));
        };
        let label = format!("{name} (member {})", member.name);
        // The zip reader fails a member that inflates past its declared size; reading at most one
        // byte more bounds memory regardless, while still reaching the end, where the CRC is checked.
        let mut data = Vec::with_capacity(member.size.min(INITIAL_MEMBER_CAPACITY) as usize);
        file.by_ref()
            .take(member.size.saturating_add(1))
            .read_to_end(&mut data)
            .map_err(|e| IoError::new(&label, IoErrorKind::Zip { detail: e.to_string(), hint: "" }))?;
        arrays.push((key, parse_npy(&data, &label)?));
    }
    Ok(arrays)
}

/// What the central directory says about one member, before any of it is inflated.
struct Member {
    /// The member's name, as shown in messages.
    name: String,
    /// Its bytes in the archive: local header, then compressed data.
    span: Range<u64>,
    /// Its declared uncompressed size.
    size: u64,
}

/// Every member of `archive`, in directory order. Reads local headers, inflates nothing.
fn directory(archive: &mut ZipArchive<Cursor<&[u8]>>) -> zip::result::ZipResult<Vec<Member>> {
    (0..archive.len())
        .map(|index| {
            let file = archive.by_index_raw(index)?;
            // `by_index_raw` has located the data, checking that its end fits in a u64.
            let data_start = file.data_start().unwrap_or(file.header_start());
            Ok(Member {
                name: String::from_utf8_lossy(file.name_raw()).into_owned(),
                span: file.header_start()..data_start.saturating_add(file.compressed_size()),
                size: file.size(),
            })
        })
        .collect()
}

/// Fails, naming two of them, when members share bytes of the archive.
fn check_overlaps(members: &[Member]) -> Result<(), String> {
    let mut by_start: Vec<&Member> = members.iter().collect();
    by_start.sort_by_key(|m| (m.span.start, m.span.end));
    // Sorted by start, some overlap exists exactly when some neighbour overlaps.
    match by_start.windows(2).find(|w| w[0].span.end > w[1].span.start) {
        Some([a, b]) => Err(format!(
            "members '{}' (bytes {}..{}) and '{}' (bytes {}..{}) overlap",
            a.name, a.span.start, a.span.end, b.name, b.span.start, b.span.end
        )),
        _ => Ok(()),
    }
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
            let arrays = parse_npz(&bytes, "w.npz", u64::MAX).unwrap();
            let names: Vec<&str> = arrays.iter().map(|(n, _)| n.as_str()).collect();
            assert_eq!(names, ["b", "dir/a"]);
            assert_eq!(arrays[1].1.as_f32(), Some(&[1.0, 2.0][..]));
        }
    }

    #[test]
    fn member_errors_name_the_member() {
        let bytes = zip_of(&[("notes.txt", b"hi")], CompressionMethod::Stored);
        assert_eq!(
            parse_npz(&bytes, "w.npz", u64::MAX).unwrap_err().to_string(),
            "w.npz: archive member 'notes.txt' is not a .npy array; a .npz for netc holds only arrays \
             (write it with `np.savez`)"
        );
        let bytes = zip_of(&[("w.npy", b"\x93NUMPY\x01\x00\xff\xff")], CompressionMethod::Deflated);
        assert_eq!(
            parse_npz(&bytes, "w.npz", u64::MAX).unwrap_err().to_string(),
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
            parse_npz(&archive, "w.npz", u64::MAX).unwrap_err().to_string(),
            "w.npz (member a.npy): not a readable .npz (zip) archive: File is larger than its declared \
             uncompressed size"
        );
    }

    #[test]
    fn overlaps_are_found_between_any_two_members() {
        let member = |name: &str, span: Range<u64>| Member { name: name.to_string(), span, size: 0 };
        let disjoint = [member("c", 20..30), member("a", 0..10), member("b", 10..20)];
        assert_eq!(check_overlaps(&disjoint), Ok(()));
        // `a` contains `c`, which is not `a`'s neighbour once sorted by start.
        let nested = [member("a", 0..100), member("b", 10..20), member("c", 30..40)];
        assert_eq!(check_overlaps(&nested), Err("members 'a' (bytes 0..100) and 'b' (bytes 10..20) overlap".into()));
        let shared_end = [member("a", 0..10), member("b", 5..10)];
        assert!(check_overlaps(&shared_end).is_err());
        assert_eq!(check_overlaps(&[]), Ok(()));
    }

    #[test]
    fn declared_sizes_are_summed_against_max_bytes() {
        let a = npy_f32(&[1.0, 2.0]);
        let bytes = zip_of(&[("a.npy", &a), ("b.npy", &a)], CompressionMethod::Deflated);
        let total = 2 * a.len() as u64;
        assert_eq!(parse_npz(&bytes, "w.npz", total).unwrap().len(), 2);
        let err = parse_npz(&bytes, "w.npz", total - 1).unwrap_err();
        assert!(
            matches!(err.kind, IoErrorKind::TooLarge { bytes, max_bytes, .. } if bytes == total && max_bytes == total - 1)
        );
    }

    #[test]
    fn not_a_zip() {
        let err = parse_npz(b"hello", "w.npz", u64::MAX).unwrap_err().to_string();
        assert!(err.starts_with("w.npz: not a readable .npz (zip) archive: "), "{err}");
        let err = parse_npz(&npy_f32(&[1.0]), "w.npz", u64::MAX).unwrap_err().to_string();
        assert!(err.ends_with("; this is a single .npy array: name it .npy or read it with `read_npy`"), "{err}");
    }
}
