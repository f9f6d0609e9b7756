#!/usr/bin/env python3
"""PyTorch-computed shape-rule fixtures for netc's sliding-window rules.

Runs F.conv2d / F.max_pool2d / F.avg_pool2d on zero tensors over a grid of
(size, kernel, stride, pad) and records PyTorch's output height. Cases PyTorch
rejects because the output would be smaller than 1 are recorded as `"out": null`.
Pooling is only tried with pad <= kernel // 2 (PyTorch refuses larger padding).
All pooling uses floor mode (ceil_mode=False); avg pool uses count_include_pad=True.

Writes tests/fixtures/shape_rules.json: a JSON list, one object per line:
  {"op": "conv"|"maxpool"|"avgpool", "size": S, "kernel": K, "stride": T, "pad": P, "out": H|null}

Usage (from the repository root): python3 scripts/shape_rules.py
"""

import json
import os
import sys

import torch
import torch.nn.functional as F

SIZES = list(range(1, 21)) + [31, 32, 33, 55, 56, 57, 223, 224, 225]
KERNELS = [1, 2, 3, 5, 7]
STRIDES = [1, 2, 3]
PADS = [0, 1, 2, 3]

OUT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "tests", "fixtures", "shape_rules.json")


def run(op, size, kernel, stride, pad):
    """PyTorch's output H for a square [1, 1, size, size] zero input, or None when PyTorch refuses."""
    x = torch.zeros(1, 1, size, size)
    try:
        with torch.no_grad():
            if op == "conv":
                w = torch.zeros(1, 1, kernel, kernel)
                y = F.conv2d(x, w, None, stride=stride, padding=pad)
            elif op == "maxpool":
                y = F.max_pool2d(x, kernel, stride=stride, padding=pad, ceil_mode=False)
            else:
                y = F.avg_pool2d(x, kernel, stride=stride, padding=pad, ceil_mode=False, count_include_pad=True)
    except RuntimeError as e:
        msg = str(e).lower()
        # "Output size is too small" (pools) / "Kernel size can't be greater than actual input size" (conv).
        if "too small" in msg or "can't be greater" in msg:
            return None
        raise
    if y.shape[2] < 1 or y.shape[3] < 1:
        return None
    assert y.shape[2] == y.shape[3], (op, size, kernel, stride, pad, y.shape)
    return int(y.shape[2])


def main():
    rows = []
    for op in ("conv", "maxpool", "avgpool"):
        for size in SIZES:
            for kernel in KERNELS:
                for stride in STRIDES:
                    for pad in PADS:
                        if op != "conv" and pad > kernel // 2:
                            continue
                        rows.append({"op": op, "size": size, "kernel": kernel, "stride": stride, "pad": pad,
                                     "out": run(op, size, kernel, stride, pad)})
    # Self-check against the closed form netc uses: (size + 2*pad - kernel) // stride + 1 when >= 1.
    for r in rows:
        padded = r["size"] + 2 * r["pad"]
        expect = (padded - r["kernel"]) // r["stride"] + 1 if padded >= r["kernel"] else None
        if expect != r["out"]:
            print(f"note: PyTorch differs from the closed form: {r} (closed form {expect})", file=sys.stderr)
    with open(OUT, "w") as f:
        f.write("[\n")
        f.write(",\n".join(json.dumps(r, separators=(",", ":")) for r in rows))
        f.write("\n]\n")
    nulls = sum(r["out"] is None for r in rows)
    print(f"wrote {os.path.normpath(OUT)}: {len(rows)} cases ({nulls} rejected by PyTorch), torch {torch.__version__}")


if __name__ == "__main__":
    main()
