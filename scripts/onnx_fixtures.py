#!/usr/bin/env python3
"""ONNX fixtures for netc: `netc emit onnx` on every example, checked and run by ONNX Runtime.

Dev-only tooling (netc itself is Rust; run with /work/venv's Python, which has onnx and
onnxruntime). For each `.net` file (default: examples/*.net, examples/ops/*.net and
examples/zoo/*.net) that `netc check` accepts, this script

  1. runs `netc emit onnx FILE -o tmp.onnx` (netc's generated weights, seed 0, as
     `netc run --seed 0` uses),
  2. checks the model with `onnx.checker.check_model(full_check=True)` (which also runs ONNX's
     shape inference in strict mode),
  3. runs it with ONNX Runtime (CPU) on the input below and writes

     tests/fixtures/onnx/<name>.npy    float32 [N, ...]  ONNX Runtime's first output

  (<name> is the file's path under examples/ with dots for slashes: `resnet18`, `zoo.resnet18`)

  and tests/fixtures/onnx/meta.json: per network, its file, input shape, batch, opset, the
  onnx/onnxruntime versions and max |output|.

The input is netc's generated unit sequence named "input" (seed 0; see torch_oracle.py), as
float32 [N, C, H, W], N = 2 for inputs of at most 64x64 pixels and 1 otherwise; `tests/onnx.rs`
makes the same input, runs netc on it and compares (within 1e-4 of the largest output).
Examples that fail `netc check` (seed_torch.net is meant to) are skipped with a note.

Usage:
    /work/venv/bin/python scripts/onnx_fixtures.py [--netc PATH] [FILE.net ...]
"""

import argparse
import json
import subprocess
import sys
import tempfile
from pathlib import Path

import numpy as np
import onnx
import onnxruntime as ort

sys.path.insert(0, str(Path(__file__).resolve().parent))
from torch_oracle import REPO, find_netc, units  # noqa: E402

OUT = REPO / "tests" / "fixtures" / "onnx"


def batch_of(dims):
    return 2 if np.prod(dims[1:]) <= 64 * 64 else 1


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--netc")
    ap.add_argument("files", nargs="*")
    a = ap.parse_args()
    netc = find_netc(a.netc)
    files = [Path(f) for f in a.files] or sorted(
        [*REPO.glob("examples/*.net"), *REPO.glob("examples/ops/*.net"), *REPO.glob("examples/zoo/*.net")]
    )
    OUT.mkdir(parents=True, exist_ok=True)
    meta_path = OUT / "meta.json"
    meta = json.loads(meta_path.read_text()) if meta_path.exists() else {}
    with tempfile.TemporaryDirectory() as tmp:
        for f in files:
            f = f.resolve()
            stem = str(f.relative_to(REPO / "examples").with_suffix("")).replace("/", ".")
            model_path = Path(tmp) / f"{stem}.onnx"
            r = subprocess.run([netc, "emit", "onnx", str(f), "-o", str(model_path)], capture_output=True, text=True)
            if r.returncode != 0:
                print(f"skip {f.relative_to(REPO)}: netc emit onnx failed: {r.stderr.splitlines()[0]}")
                continue
            onnx.checker.check_model(str(model_path), full_check=True)
            sess = ort.InferenceSession(str(model_path), providers=["CPUExecutionProvider"])
            inp = sess.get_inputs()[0]
            dims = [d for d in inp.shape[1:]]
            n = batch_of(dims)
            count = n * int(np.prod(dims))
            x = units("input", 0, count).astype(np.float32).reshape([n, *dims])
            y = sess.run(None, {inp.name: x})[0].astype(np.float32)
            np.save(OUT / f"{stem}.npy", y)
            meta[stem] = {
                "file": str(f.relative_to(REPO)),
                "input": inp.name,
                "input_shape": dims,
                "batch": n,
                "output_shape": list(y.shape),
                "max_abs_output": float(np.abs(y).max()),
                "onnx": onnx.__version__,
                "onnxruntime": ort.__version__,
            }
            print(f"{f.relative_to(REPO)}: checker ok, ORT output {list(y.shape)}, max |y| = {np.abs(y).max():.3g}")
    meta_path.write_text(json.dumps(dict(sorted(meta.items())), indent=1) + "\n")


if __name__ == "__main__":
    main()
