#!/usr/bin/env python3
"""The whole loop in one run: emit PyTorch from a .net file, train it, run the trained weights in netc.

Dev-only tooling (run with /work/venv's Python: torch, safetensors, numpy, pillow). Steps:

  1. `netc emit pytorch examples/cifar10/resvgg.net -o WORK/resvgg_net.py`, imported;
  2. train its `Network` from scratch for --steps steps (SGD, batch --batch) on a sample of
     --train-images CIFAR-10 training images with Adam (cifar_data.py decodes ../shared/data
     once);
  3. save `model.state_dict()` as it is (num_batches_tracked included) with
     `safetensors.torch.save_file`;
  4. PyTorch's eval-mode logits on the 100 committed test images (examples/cifar10/images.npy);
  5. `netc run examples/cifar10/resvgg.net --weights WORK/trained.safetensors --input
     examples/cifar10/images.npy --output WORK/netc_logits.npy`;
  6. compares: the same top-1 class on every image, and the largest logit difference.

Exits 1 if netc and PyTorch disagree on any image. The book's "Training in PyTorch" chapter shows
a transcript of this script.

Usage:
    /work/venv/bin/python scripts/train_roundtrip.py [--netc PATH] [--steps 300] [--work DIR]
"""

import argparse
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F
from safetensors.torch import save_file

sys.path.insert(0, str(Path(__file__).resolve().parent))
import cifar_data  # noqa: E402
from torch_oracle import REPO, find_netc  # noqa: E402

NET = REPO / "examples" / "cifar10" / "resvgg.net"
IMAGES = REPO / "examples" / "cifar10" / "images.npy"
LABELS = REPO / "examples" / "cifar10" / "labels.npy"


def rel(p):
    p = Path(p)
    return str(p.relative_to(REPO)) if p.is_relative_to(REPO) else str(p)


def sh(netc, *args):
    """Runs netc with `args`, showing the command and its output as a shell would."""
    print("$ netc " + " ".join(rel(c) if isinstance(c, Path) else str(c) for c in args), flush=True)
    r = subprocess.run([netc, *map(str, args)], capture_output=True, text=True, cwd=REPO)
    sys.stdout.write(r.stdout)
    sys.stdout.write(r.stderr)
    if r.returncode != 0:
        raise SystemExit(f"exit {r.returncode}")
    return r.stdout


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--netc")
    ap.add_argument("--steps", type=int, default=300)
    ap.add_argument("--batch", type=int, default=32)
    ap.add_argument("--train-images", type=int, default=5000)
    ap.add_argument("--lr", type=float, default=1e-3)
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--work", type=Path)
    a = ap.parse_args()
    netc = find_netc(a.netc)
    work = a.work or Path(tempfile.mkdtemp(prefix="roundtrip-"))
    work.mkdir(parents=True, exist_ok=True)
    torch.set_num_threads(a.threads)
    torch.manual_seed(0)

    py = work / "resvgg_net.py"
    sh(netc, "emit", "pytorch", NET, "-o", py)
    sys.path.insert(0, str(work))
    import resvgg_net  # noqa: E402

    model = resvgg_net.Network()
    n_params = sum(p.numel() for p in model.parameters())
    print(f"PyTorch: Network() has {n_params:,} parameters in {len(model.state_dict())} state_dict() tensors")

    x_train, y_train = cifar_data.load("train")
    pick = np.random.default_rng(0).permutation(len(x_train))[: a.train_images]
    x, y = torch.from_numpy(x_train[pick]).float(), torch.from_numpy(y_train[pick])
    opt = torch.optim.Adam(model.parameters(), lr=a.lr)
    model.train()
    t = time.time()
    for step in range(a.steps):
        idx = torch.randint(0, len(x), (a.batch,))
        xb = torch.where(torch.rand(a.batch, 1, 1, 1) < 0.5, x[idx].flip(3), x[idx])  # raw pixels
        loss = F.cross_entropy(model(xb), y[idx])
        opt.zero_grad()
        loss.backward()
        for g in opt.param_groups:
            g["lr"] = a.lr * (1 - step / a.steps)
        opt.step()
        if step % 50 == 0 or step == a.steps - 1:
            print(f"step {step:3d}: loss {loss.item():.3f}")
    print(f"trained {a.steps} steps of {a.batch} images ({a.train_images} training images) in {time.time() - t:.0f} s")

    weights = work / "trained.safetensors"
    save_file({k: v.contiguous() for k, v in model.state_dict().items()}, str(weights))
    print(f"saved model.state_dict() to {rel(weights)} ({len(model.state_dict())} tensors, as PyTorch keeps them)")

    images = np.load(IMAGES)
    labels = np.load(LABELS)
    model.eval()
    with torch.no_grad():
        torch_logits = model(torch.from_numpy(images).float()).numpy()
    out = work / "netc_logits.npy"
    sh(netc, "run", NET, "--weights", weights, "--input", IMAGES, "--output", out, "--labels",
       REPO / "examples" / "cifar10" / "classes.txt", "--truth", LABELS, "--top", "1")
    netc_logits = np.load(out)
    same = torch_logits.argmax(1) == netc_logits.argmax(1)
    diff = np.abs(torch_logits - netc_logits).max()
    acc = (torch_logits.argmax(1) == labels).mean() * 100
    print(f"PyTorch top-1 on the {len(images)} images: {acc:.0f}%")
    print(f"netc and PyTorch agree on {same.sum()}/{len(images)} images; max |logit difference| {diff:.2e}")
    if not same.all():
        raise SystemExit(1)


if __name__ == "__main__":
    main()
