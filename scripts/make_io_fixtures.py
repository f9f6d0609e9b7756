#!/usr/bin/env python3
"""Writes the tiny tensor files under tests/fixtures/io/ that tests/io.rs reads.

Every file is written by the real libraries (numpy, safetensors, torch), so the
tests check netc's readers against what those writers actually produce.
Run from the repository root:  python3 scripts/make_io_fixtures.py
Needs numpy and safetensors; torch only for the bfloat16 safetensors file.

`python3 scripts/make_io_fixtures.py hostile` writes only tests/fixtures/io/hostile/: files
no library writes (zip bombs, lying headers, truncated and garbled files), made by hand from
the fixtures above with the standard library. tests/io.rs reads them by name, and
tests/fuzz_corpus.rs replays them through the fuzz targets with fuzz/corpus/.
"""

import io
import os
import struct
import sys
import zipfile

import numpy as np
from numpy.lib import format as npformat

OUT = os.path.join("tests", "fixtures", "io")


def path(name):
    return os.path.join(OUT, name)


def main():
    os.makedirs(OUT, exist_ok=True)
    a23 = np.arange(6, dtype=np.float32).reshape(2, 3) * 0.5 - 1.0

    # Supported dtypes, written by np.save (format version 1.0).
    np.save(path("f32_2x3.npy"), a23)
    np.save(path("f16_2x3.npy"), a23.astype(np.float16))
    np.save(path("f64_2x3.npy"), a23.astype(np.float64) + 1e-9)
    np.save(path("u8_4.npy"), np.array([0, 1, 128, 255], dtype=np.uint8))
    np.save(path("i64_3.npy"), np.array([-1, 0, 2**40], dtype=np.int64))
    np.save(path("i32_2x2.npy"), np.array([[-7, 0], [1, 2**31 - 1]], dtype=np.int32))
    np.save(path("bool_3.npy"), np.array([True, False, True]))
    np.save(path("scalar_f32.npy"), np.float32(3.25))
    np.save(path("empty_0x3.npy"), np.zeros((0, 3), dtype=np.float32))
    np.save(path("f32_1x2x1x2.npy"), np.arange(4, dtype=np.float32).reshape(1, 2, 1, 2))

    # Format versions 2.0 and 3.0 of the same array.
    for version in [(2, 0), (3, 0)]:
        with open(path("f32_2x3_v%d.npy" % version[0]), "wb") as f:
            npformat.write_array(f, a23, version=version)

    # Files netc must refuse, with a helpful message.
    np.save(path("fortran_2x3.npy"), np.asfortranarray(a23))
    np.save(path("bigendian_f32.npy"), a23.astype(">f4"))
    np.save(path("complex64.npy"), np.array([1 + 2j], dtype=np.complex64))

    # Archives: stored and deflate-compressed members, keyword and positional names.
    w = np.arange(8, dtype=np.float32).reshape(2, 1, 2, 2)
    b = np.array([0.5, -0.5], dtype=np.float32)
    labels = np.array([3, 1, 4], dtype=np.int64)
    np.savez(path("weights.npz"), **{"conv1.weight": w, "conv1.bias": b, "labels": labels})
    np.savez_compressed(path("weights_compressed.npz"), **{"conv1.weight": w, "conv1.bias": b, "labels": labels})
    np.savez(path("positional.npz"), b, a23)

    # safetensors, as written by the reference implementation.
    from safetensors.numpy import save_file

    save_file(
        {
            "conv1.weight": w,
            "conv1.bias": b,
            "half": a23.astype(np.float16),
            "double": a23.astype(np.float64),
            "labels": labels,
            "pixels": np.array([0, 7, 255], dtype=np.uint8),
        },
        path("model.safetensors"),
        metadata={"format": "np", "netc": "fixture"},
    )
    try:
        import torch
        from safetensors.torch import save_file as save_torch
    except ImportError:
        print("torch not available: model_bf16.safetensors not regenerated")
    else:
        save_torch({"w": torch.tensor(a23).to(torch.bfloat16)}, path("model_bf16.safetensors"))


def npy_header(descr, shape):
    """The version 1.0 preamble and header of an .npy file, padded to 128 bytes."""
    shape_repr = "(%s,)" % shape[0] if len(shape) == 1 else "(%s)" % ", ".join(map(str, shape))
    text = "{'descr': '%s', 'fortran_order': False, 'shape': %s, }" % (descr, shape_repr)
    text = text.ljust(128 - 10 - 1) + "\n"
    return b"\x93NUMPY\x01\x00" + struct.pack("<H", len(text)) + text.encode("latin-1")


def zip_of(members, method=zipfile.ZIP_DEFLATED):
    """An archive of `members` (name, bytes), as Python's zipfile (and so np.savez) writes it."""
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", compression=method) as z:
        for name, data in members:
            z.writestr(zipfile.ZipInfo(name, date_time=(2020, 1, 1, 0, 0, 0)), data, compress_type=method)
    return bytearray(buf.getvalue())


def central_directory(archive):
    """(offset of the end-of-central-directory record, offset and size of the directory)."""
    eocd = archive.rfind(b"PK\x05\x06")
    size, offset = struct.unpack("<II", archive[eocd + 12 : eocd + 20])
    return eocd, offset, size


def relist(archive, copies):
    """The one-member `archive` with its central directory entry listed `copies` times, under
    the names w0.npy, w1.npy, ...: every entry points at the same local header and data."""
    eocd, offset, size = central_directory(archive)
    entry = archive[offset : offset + size]
    name_len = struct.unpack("<H", entry[28:30])[0]
    directory = b""
    for i in range(copies):
        name = b"w%d.npy" % i
        directory += entry[:28] + struct.pack("<H", len(name)) + entry[30:46] + name + entry[46 + name_len :]
    end = bytearray(archive[eocd:])
    end[8:16] = struct.pack("<HHI", copies, copies, len(directory))
    return bytes(archive[:offset]) + directory + bytes(end)


def declare_size(archive, size):
    """`archive` with every member's uncompressed size field set to `size`, in its local header
    and in the central directory alike."""
    out = bytearray(archive)
    eocd, offset, _ = central_directory(out)
    while offset < eocd:
        local = struct.unpack("<I", out[offset + 42 : offset + 46])[0]
        out[local + 22 : local + 26] = struct.pack("<I", size)
        out[offset + 24 : offset + 28] = struct.pack("<I", size)
        name_len, extra_len, comment_len = struct.unpack("<HHH", out[offset + 28 : offset + 34])
        offset += 46 + name_len + extra_len + comment_len
    return bytes(out)


def hostile():
    out = os.path.join(OUT, "hostile")
    os.makedirs(out, exist_ok=True)

    def write(name, data):
        with open(os.path.join(out, name), "wb") as f:
            f.write(data)

    def fixture(name):
        with open(path(name), "rb") as f:
            return f.read()

    # A type string whose size in bits overflows 64 bits (the size is in bytes).
    write("descr_overflow.npy", npy_header("<f3000000000000000000", [2]) + bytes(8))
    # A zip bomb: 16 directory entries that all point at one deflated 4 MiB member (the issue's
    # bomb has 1 GiB members; the structure, not the size, is what must be refused).
    bomb_member = npy_header("|u1", [(4 << 20) - 128]) + bytes((4 << 20) - 128)
    write("overlap_bomb.npz", relist(zip_of([("w.npy", bomb_member)]), 16))
    # Two stored members at the same offset: overlap without compression.
    write("overlap_stored.npz", relist(zip_of([("w.npy", fixture("f32_2x3.npy"))], zipfile.ZIP_STORED), 2))
    # A member whose header says 100 bytes but which inflates to 64 KiB.
    lying = npy_header("<f4", [16384]) + bytes(65536)
    write("lying_size.npz", declare_size(zip_of([("w.npy", lying)]), 100))
    # Two small members each declaring 4 GiB - 2 bytes: 8 GiB in all, past every default bound.
    f32 = fixture("f32_2x3.npy")
    write("huge_declared.npz", declare_size(zip_of([("a.npy", f32), ("b.npy", f32)]), 0xFFFFFFFE))
    # Truncated and garbled copies of files the real libraries wrote.
    compressed = fixture("weights_compressed.npz")
    write("truncated.npz", compressed[: len(compressed) // 2])
    model = fixture("model.safetensors")
    write("truncated.safetensors", model[: len(model) * 3 // 4])
    write("garbled.safetensors", model.replace(b'"data_offsets":[0,', b'"data_offsets":[8,', 1))
    write("truncated.npy", f32[:100])
    write("garbled.npy", f32.replace(b"'shape': (2, 3)", b"'shape': (3, 2(", 1))


if __name__ == "__main__":
    if sys.argv[1:] == ["hostile"]:
        hostile()
    else:
        main()
        hostile()
