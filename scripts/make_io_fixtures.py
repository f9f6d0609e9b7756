#!/usr/bin/env python3
"""Writes the tiny tensor files under tests/fixtures/io/ that tests/io.rs reads.

Every file is written by the real libraries (numpy, safetensors, torch), so the
tests check netc's readers against what those writers actually produce.
Run from the repository root:  python3 scripts/make_io_fixtures.py
Needs numpy and safetensors; torch only for the bfloat16 safetensors file.
"""

import os

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


if __name__ == "__main__":
    main()
