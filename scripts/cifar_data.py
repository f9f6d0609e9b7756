#!/usr/bin/env python3
"""CIFAR-10 (JPEG re-encoded) loader for netc dev tooling.

Decodes the ImageFolder-style JPEG dataset once into uint8 NCHW numpy arrays
and caches them next to it:

    ~/.cache/netc-data/cifar10-{train,test}-x.npy   uint8 [N, 3, 32, 32]
    ~/.cache/netc-data/cifar10-{train,test}-y.npy   int64 [N]

Images are ordered deterministically: by class (sorted class names, which is
also the label order) and then by file name.  If the JPEG folder is missing
it is unpacked from ../shared/data/cifar10-jpeg.tgz (relative to the repo).

Usage as a module:   from cifar_data import load, CLASSES; x, y = load("test")
Usage as a script:   python3 scripts/cifar_data.py   (builds both caches)
"""
import os
import sys
import tarfile
from pathlib import Path

import numpy as np

CACHE_DIR = Path(os.environ.get("NETC_DATA_DIR", Path.home() / ".cache" / "netc-data"))
JPEG_DIR = CACHE_DIR / "cifar10-jpeg"
REPO_ROOT = Path(__file__).resolve().parent.parent
TARBALLS = [
    REPO_ROOT.parent / "shared" / "data" / "cifar10-jpeg.tgz",
    Path("/work/shared/data/cifar10-jpeg.tgz"),
]
CLASSES = ["airplane", "automobile", "bird", "cat", "deer",
           "dog", "frog", "horse", "ship", "truck"]
SPLITS = ("train", "test")


def _ensure_jpeg_dir():
    if (JPEG_DIR / "train").is_dir() and (JPEG_DIR / "test").is_dir():
        return
    for tgz in TARBALLS:
        if tgz.is_file():
            print(f"unpacking {tgz} into {CACHE_DIR} ...", file=sys.stderr)
            CACHE_DIR.mkdir(parents=True, exist_ok=True)
            with tarfile.open(tgz) as tf:
                tf.extractall(CACHE_DIR)
            if (JPEG_DIR / "train").is_dir():
                return
            raise RuntimeError(f"{tgz} did not contain cifar10-jpeg/{{train,test}}")
    raise FileNotFoundError(f"neither {JPEG_DIR} nor any of {TARBALLS} exist")


def list_files(split):
    """[(path, label)] in the canonical order: class, then file name."""
    _ensure_jpeg_dir()
    root = JPEG_DIR / split
    classes = sorted(p.name for p in root.iterdir() if p.is_dir())
    if classes != CLASSES:
        raise RuntimeError(f"unexpected class folders in {root}: {classes}")
    out = []
    for label, cls in enumerate(classes):
        for name in sorted(os.listdir(root / cls)):
            if name.lower().endswith((".jpg", ".jpeg")):
                out.append((root / cls / name, label))
    return out


def decode(paths):
    """Decode JPEG files into a uint8 [N, 3, 32, 32] array."""
    from PIL import Image
    x = np.empty((len(paths), 3, 32, 32), dtype=np.uint8)
    for i, p in enumerate(paths):
        with Image.open(p) as im:
            a = np.asarray(im.convert("RGB"), dtype=np.uint8)
        if a.shape != (32, 32, 3):
            raise RuntimeError(f"{p}: unexpected shape {a.shape}")
        x[i] = a.transpose(2, 0, 1)
    return x


def cache_paths(split):
    return (CACHE_DIR / f"cifar10-{split}-x.npy", CACHE_DIR / f"cifar10-{split}-y.npy")


def build(split):
    files = list_files(split)
    print(f"decoding {len(files)} {split} images ...", file=sys.stderr)
    x = decode([p for p, _ in files])
    y = np.array([l for _, l in files], dtype=np.int64)
    xp, yp = cache_paths(split)
    CACHE_DIR.mkdir(parents=True, exist_ok=True)
    # write atomically so an interrupted run never leaves a truncated cache
    for arr, path in ((x, xp), (y, yp)):
        tmp = path.with_name(path.name + ".tmp.npy")
        np.save(tmp, arr)
        os.replace(tmp, path)
    return x, y


def load(split):
    """Return (x uint8 [N,3,32,32], y int64 [N]) for 'train' or 'test'."""
    if split not in SPLITS:
        raise ValueError(f"split must be one of {SPLITS}, got {split!r}")
    xp, yp = cache_paths(split)
    if xp.is_file() and yp.is_file():
        return np.load(xp), np.load(yp)
    return build(split)


if __name__ == "__main__":
    import argparse

    ap = argparse.ArgumentParser(description="Decode the CIFAR-10 JPEG split(s) into cached .npy arrays.")
    ap.add_argument("--split", choices=SPLITS, action="append", help="split to build (default: both)")
    for s in ap.parse_args().split or SPLITS:
        x, y = load(s)
        print(f"{s}: x {x.dtype} {x.shape}, y {y.dtype} {y.shape}, "
              f"per-class {np.bincount(y, minlength=10).tolist()}")
