#!/usr/bin/env python3
"""Reference fixtures for the CNN zoo: every examples/zoo/<name>.net against torchvision's <name>.

Dev-only tooling. For each network, this script

1. reads netc's checked graph (`netc check FILE --format json`): every weight with its name,
   shape and how `netc run --seed 0` generates it;
2. builds the torchvision model of the same name (random weights, eval mode, no auxiliary
   classifiers), float64;
3. maps its state_dict onto netc's weights in order (parameters and batchnorm statistics in
   registration order, which the .net files follow), asserting every pair has the same number
   of elements (a Linear over channels is a 1x1 convolution, ConvNeXt's layer scale [C, 1, 1]
   is netc's [C]), and loads netc's generated values into it;
4. runs it on netc's generated input (`units("input", 0)`, one sample at the file's input
   size) and writes

    tests/fixtures/zoo/<name>/output.npy   float32 [1, ...]: torchvision's output
    tests/fixtures/zoo/<name>/names.json   netc weight name -> torchvision state_dict key
    tests/fixtures/zoo/<name>/meta.json    file, input shape, torchvision's parameters and
                                           FLOPs (FlopCounterMode), torch and torchvision versions

`unet` is not in torchvision: its PyTorch definition is in this script (`UNet`).

    CARGO_TARGET_DIR=... cargo build --release
    /work/venv/bin/python scripts/zoo.py [NAME ...]        # default: every examples/zoo/*.net

The generator is the one of scripts/torch_oracle.py (imported from it).
"""
import argparse
import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F
import torchvision
from torch.utils.flop_counter import FlopCounterMode

sys.path.insert(0, str(Path(__file__).resolve().parent))
from torch_oracle import REPO, find_netc, units  # noqa: E402

FIXTURES = REPO / "tests" / "fixtures" / "zoo"
ZOO = REPO / "examples" / "zoo"

# Constructor arguments beyond `weights=None`.
KWARGS = {
    "googlenet": {"aux_logits": False, "init_weights": False},
    "inception_v3": {"aux_logits": False, "init_weights": False},
}


class UNet(nn.Module):
    """The small segmentation U-Net of examples/zoo/unet.net (Ronneberger et al., 2015, with
    padded convolutions and batch normalization): two 3x3 conv+bn+relu per level, max-pool down,
    transposed convolution up, skip connections concatenated."""

    def __init__(self, classes=2, base=32, depth=4):
        super().__init__()

        def double(cin, cout):
            return nn.Sequential(
                nn.Conv2d(cin, cout, 3, padding=1, bias=False), nn.BatchNorm2d(cout), nn.ReLU(inplace=True),
                nn.Conv2d(cout, cout, 3, padding=1, bias=False), nn.BatchNorm2d(cout), nn.ReLU(inplace=True))

        widths = [base * 2 ** i for i in range(depth + 1)]
        self.down = nn.ModuleList([double(3, widths[0])] + [double(widths[i], widths[i + 1]) for i in range(depth)])
        self.up = nn.ModuleList()
        for i in reversed(range(depth)):
            self.up.append(nn.ConvTranspose2d(widths[i + 1], widths[i], 2, stride=2))
            self.up.append(double(2 * widths[i], widths[i]))
        self.head = nn.Conv2d(widths[0], classes, 1)

    def forward(self, x):
        skips = []
        for i, level in enumerate(self.down):
            x = level(x if i == 0 else F.max_pool2d(x, 2))
            skips.append(x)
        skips.pop()
        for up, double in zip(self.up[0::2], self.up[1::2]):
            x = double(torch.cat([skips.pop(), up(x)], dim=1))
        return self.head(x)


def values(name, shape, init, seed=0):
    """netc's generated weight, as float32 (see weights/init.rs)."""
    u = units(name, seed, int(np.prod(shape)))
    kind = init["kind"]
    if kind == "he":
        v = u * np.sqrt(6.0 / init["fan_in"])
    elif kind == "bias":
        v = u * (1.0 / np.sqrt(init["fan_in"]))
    elif kind == "norm_scale":
        v = 1.0 + 0.1 * u
    elif kind == "norm_shift":
        v = 0.1 * u
    elif kind == "norm_var":
        v = 1.0 + 0.25 * (u + 1.0)
    else:
        raise SystemExit(f"unknown init {kind}")
    return v.astype(np.float32).reshape(shape)


def model_of(name):
    if name == "unet":
        return UNet()
    return torchvision.models.get_model(name, weights=None, **KWARGS.get(name, {}))


def run(netc, path: Path):
    name = path.stem
    r = subprocess.run([netc, "check", str(path), "--format", "json"], capture_output=True, text=True)
    if r.returncode != 0:
        raise SystemExit(f"{path}: netc check fails:\n{r.stderr}")
    doc = json.loads(r.stdout)
    net = doc["network"]
    ours = [w for layer in net["layers"] for w in layer["weights"]]
    inp = next(l for l in net["layers"] if l["id"] == net["inputs"][0])
    dims = inp["attrs"]["dims"]

    model = model_of(name).eval().double()
    full = model.state_dict()
    state = [(k, v) for k, v in full.items() if not k.endswith("num_batches_tracked")]
    # A parameter registered on a module itself (ConvNeXt's `layer_scale`) comes before its
    # submodules' in the state_dict, but it is applied after them, where netc's order puts it.
    for i in reversed(range(len(state))):
        key = state[i][0]
        if key.endswith(".layer_scale"):
            prefix, j = key[: -len("layer_scale")], i + 1
            while j < len(state) and state[j][0].startswith(prefix):
                j += 1
            state.insert(j - 1, state.pop(i))
    if len(state) != len(ours):
        raise SystemExit(f"{name}: torchvision has {len(state)} tensors, netc {len(ours)}")
    # Start from the model's own state_dict so that its metadata (MNASNet's version) survives.
    new_state, names = full, {}
    for (key, tensor), w in zip(state, ours):
        if tensor.numel() != int(np.prod(w["shape"])):
            raise SystemExit(f"{name}: {key} {list(tensor.shape)} vs netc {w['name']} {w['shape']}")
        v = values(w["name"], w["shape"], w["init"])
        new_state[key] = torch.from_numpy(v).double().reshape(tensor.shape)
        names[w["name"]] = key
    model.load_state_dict(new_state)

    x = torch.from_numpy(units("input", 0, int(np.prod(dims))).astype(np.float32)).double().reshape(1, *dims)
    params = sum(p.numel() for p in model.parameters())
    with torch.no_grad(), FlopCounterMode(display=False) as fc:
        y = model(x)
    flops = fc.get_total_flops()
    y = y.float().numpy()
    t = doc["totals"]
    same = t["params"] == params and t["flops"] == flops
    print(f"{name}: params torch {params:,} netc {t['params']:,}; flops torch {flops:,} netc {t['flops']:,}; "
          f"output {list(y.shape)} max|y| {np.abs(y).max():.4g}  {'OK' if same else 'MISMATCH'}")
    out = FIXTURES / name
    out.mkdir(parents=True, exist_ok=True)
    np.save(out / "output.npy", y)
    (out / "names.json").write_text(json.dumps(names, indent=1) + "\n")
    meta = {"file": str(path.relative_to(REPO)), "input_shape": dims, "params": params, "flops": flops,
            "torch": torch.__version__, "torchvision": torchvision.__version__}
    (out / "meta.json").write_text(json.dumps(meta, indent=2) + "\n")
    return same


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--netc")
    ap.add_argument("names", nargs="*")
    a = ap.parse_args()
    netc = find_netc(a.netc)
    torch.set_grad_enabled(False)
    FIXTURES.mkdir(parents=True, exist_ok=True)
    paths = [ZOO / f"{n}.net" for n in a.names] or sorted(ZOO.glob("*.net"))
    bad = [p.stem for p in paths if not run(netc, p)]
    if bad:
        raise SystemExit(f"totals differ: {', '.join(bad)}")


if __name__ == "__main__":
    main()
