#!/usr/bin/env python3
"""Verify the committed CIFAR-10 reference artifacts in examples/cifar10/.

    python3 scripts/check_cifar_reference.py          # quick checks (100 images)
    python3 scripts/check_cifar_reference.py --full   # + re-run all 10k test images

Checks:
  * resvgg.safetensors: metadata {"format": "pt"}, exactly the netc weight
    names, float32, expected shapes; loads into a fresh emitted module (`netc emit
    pytorch examples/cifar10/resvgg.net`, strict keys).
  * images.npy / labels.npy are the first 10 test images of each class
    (class-major) of cifar_data.load('test'); classes.txt matches.
  * torch_logits.npy is reproduced bit-exactly by the reloaded model.
  * an independent float64 NumPy implementation of resvgg.net written from
    the language semantics (not from torch) agrees with torch_logits.npy.
  * --full: torch_test_top1.npy and reference.json's accuracy are reproduced.
"""
import argparse
import json
import sys
from pathlib import Path

import numpy as np
import torch

sys.path.insert(0, str(Path(__file__).resolve().parent))
import cifar_data  # noqa: E402
from resvgg import CLASSES, MEAN, SCALE, STD, expected_keys, load_safetensors  # noqa: E402

OUT = Path(__file__).resolve().parent.parent / "examples" / "cifar10"


# ---------------------------------------------------------------- numpy reference

def np_conv3x3(x, w):
    """x [N,C,H,W], w [O,C,3,3]; stride 1, zero padding 1, no bias."""
    n, c, h, wd = x.shape
    xp = np.pad(x, ((0, 0), (0, 0), (1, 1), (1, 1)))
    cols = np.empty((n, c, 3, 3, h, wd), dtype=x.dtype)
    for i in range(3):
        for j in range(3):
            cols[:, :, i, j] = xp[:, :, i:i + h, j:j + wd]
    # [O,C,3,3] x [N,C,3,3,H,W] -> [O,N,H,W] -> [N,O,H,W]
    return np.tensordot(w, cols, axes=([1, 2, 3], [1, 2, 3])).transpose(1, 0, 2, 3)


def np_forward(sd, x_u8):
    p = {k: v.astype(np.float64) for k, v in sd.items()}
    x = x_u8.astype(np.float64)
    mean = np.array(MEAN).reshape(1, 3, 1, 1)
    std = np.array(STD).reshape(1, 3, 1, 1)
    x = (x * SCALE - mean) / std

    def conv_bn(x, name):
        y = np_conv3x3(x, p[f"{name}.conv1.weight"])
        g, b = p[f"{name}.batchnorm1.weight"], p[f"{name}.batchnorm1.bias"]
        m, v = p[f"{name}.batchnorm1.running_mean"], p[f"{name}.batchnorm1.running_var"]
        r = lambda a: a.reshape(1, -1, 1, 1)  # noqa: E731
        y = (y - r(m)) / np.sqrt(r(v) + 1e-5) * r(g) + r(b)
        return np.maximum(y, 0.0)

    def maxpool2(x):
        n, c, h, w = x.shape
        return x.reshape(n, c, h // 2, 2, w // 2, 2).max(axis=(3, 5))

    def res(x, name):
        return x + conv_bn(conv_bn(x, f"{name}.conv_bn1"), f"{name}.conv_bn2")

    x = conv_bn(x, "prep")
    x = maxpool2(conv_bn(x, "layer1"))
    x = res(x, "res1")
    x = maxpool2(conv_bn(x, "layer2"))
    x = maxpool2(conv_bn(x, "layer3"))
    x = res(x, "res3")
    x = x.max(axis=(2, 3))  # global_maxpool + flatten
    return x @ p["head.weight"].T + p["head.bias"]


# ---------------------------------------------------------------- checks

def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--full", action="store_true", help="also re-run the full 10k test set")
    ap.add_argument("--dir", type=Path, default=OUT)
    args = ap.parse_args()
    torch.set_num_threads(2)
    d = args.dir
    ok = True

    def check(cond, msg):
        nonlocal ok
        print(("ok   " if cond else "FAIL ") + msg)
        ok &= bool(cond)

    from safetensors import safe_open
    wpath = d / "resvgg.safetensors"
    with safe_open(str(wpath), framework="pt") as f:
        meta = f.metadata()
        sd = {k: f.get_tensor(k) for k in f.keys()}
    check(meta == {"format": "pt"}, f"metadata {meta}")
    check(sorted(sd) == sorted(expected_keys()), f"{len(sd)} keys == netc names")
    check(all(v.dtype == torch.float32 for v in sd.values()), "all tensors float32")
    w = [sd[f"{n}.conv1.weight"].shape[0] for n in ("prep", "layer1", "layer2", "layer3")]
    check(sd["head.weight"].shape == (10, w[3]) and sd["head.bias"].shape == (10,), f"widths {w}, head {tuple(sd['head.weight'].shape)}")
    check(wpath.stat().st_size <= 10 * 1024 * 1024, f"weights {wpath.stat().st_size} bytes <= 10 MiB")

    x_test, y_test = cifar_data.load("test")
    images, labels = np.load(d / "images.npy"), np.load(d / "labels.npy")
    idx = np.concatenate([np.nonzero(y_test == k)[0][:10] for k in range(10)])
    check(images.dtype == np.uint8 and images.shape == (100, 3, 32, 32), f"images {images.dtype} {images.shape}")
    check(labels.dtype == np.int64 and labels.shape == (100,), f"labels {labels.dtype} {labels.shape}")
    check(np.array_equal(images, x_test[idx]) and np.array_equal(labels, y_test[idx])
          and np.array_equal(labels, np.repeat(np.arange(10), 10)), "images/labels = first 10 test images per class")
    check((d / "classes.txt").read_text().split() == CLASSES, "classes.txt")

    model = load_safetensors(str(wpath))
    with torch.no_grad():
        logits = model(torch.from_numpy(images).float()).numpy()
    ref_logits = np.load(d / "torch_logits.npy")
    check(ref_logits.dtype == np.float32 and ref_logits.shape == (100, 10), f"torch_logits {ref_logits.dtype} {ref_logits.shape}")
    check(np.array_equal(logits, ref_logits), f"reloaded model reproduces torch_logits.npy (max |diff| {np.abs(logits - ref_logits).max():.3g})")

    np_logits = np_forward({k: v.numpy() for k, v in sd.items()}, images)
    diff = np.abs(np_logits - ref_logits).max()
    check(diff < 1e-3 and np.array_equal(np_logits.argmax(1), ref_logits.argmax(1)),
          f"float64 numpy reference agrees (max |diff| {diff:.3g}, same top-1)")

    ref = json.loads((d / "reference.json").read_text())
    s_acc = (ref_logits.argmax(1) == labels).mean() * 100
    check(abs(s_acc - ref["sample_accuracy"]) < 1e-9, f"sample accuracy {s_acc:.1f}%")
    top1 = np.load(d / "torch_test_top1.npy")
    check(top1.dtype == np.int64 and top1.shape == (10000,), f"torch_test_top1 {top1.dtype} {top1.shape}")
    acc = (top1 == y_test).mean() * 100
    check(abs(acc - ref["test_accuracy"]) < 1e-9 and ref["num_test_images"] == len(y_test),
          f"torch_test_top1 accuracy {acc:.2f}% == reference.json")
    check(np.array_equal(top1[idx], ref_logits.argmax(1)), "torch_test_top1 consistent with torch_logits")

    if args.full:
        with torch.no_grad():
            full = torch.cat([model(torch.from_numpy(x_test[i:i + 1000]).float())
                              for i in range(0, len(x_test), 1000)]).numpy()
        check(np.array_equal(full.argmax(1), top1), "full test set top-1 reproduced")
        margin = np.sort(full, 1)
        gap = margin[:, -1] - margin[:, -2]
        print(f"     smallest top-1/top-2 logit gaps on the test set: {np.sort(gap)[:5]}")

    print("ALL OK" if ok else "SOME CHECKS FAILED")
    sys.exit(0 if ok else 1)


if __name__ == "__main__":
    main()
