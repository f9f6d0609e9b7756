#!/usr/bin/env python3
"""PyTorch fixtures for `netc emit pytorch`: the emitted module, with netc's weights, on every example.

Dev-only tooling (netc itself is Rust; run with /work/venv's Python, which has torch). For each
`.net` file (default: examples/*.net, examples/ops/*.net, examples/zoo/*.net,
examples/imported/*.net, examples/cifar10/resvgg.net and tests/fixtures/pytorch/*.net) that
`netc check` accepts, this script

  1. runs `netc emit pytorch FILE -o tmp.py` and imports it,
  2. constructs `Network()` and checks that its `state_dict()` keys (less BatchNorm's
     `num_batches_tracked`, which netc ignores) are exactly netc's weight names, with netc's
     shapes (from `netc check --format json`),
  3. loads netc's generated weights (seed 0, as `netc run --seed 0` makes them; the generator is
     torch_oracle.py's) with `load_state_dict(strict=True)`, runs the module in eval mode in
     float64 on the input below, and writes

     tests/fixtures/pytorch/<name>.npz   float32 arrays output0, output1, ...: forward's outputs

  (<name> is the file's path under examples/ with dots for slashes, `zoo.resnet18`; a test
  network of tests/fixtures/pytorch/ keeps its stem) and tests/fixtures/pytorch/meta.json: per
  network, its file, input shapes, batch, output shapes and max |output|, and the torch version.

Inputs: netc's generated unit sequence (seed 0, see torch_oracle.py) named "input" when the
network has one input, else each input's name, as float32 [N, ...]; N = 2 for inputs of at most
64x64 pixels and 1 otherwise. `tests/emit_pytorch.rs` makes the same inputs, runs netc and
compares (within 1e-4 of the largest output). Files that fail `netc check` (seed_torch.net is
meant to) are skipped with a note.

Usage:
    /work/venv/bin/python scripts/pytorch_fixtures.py [--netc PATH] [FILE.net ...]
"""

import argparse
import json
import subprocess
import sys
import tempfile
from pathlib import Path

import numpy as np
import torch

sys.path.insert(0, str(Path(__file__).resolve().parent))
from torch_oracle import REPO, emitted_module, find_netc, units, weight_tensor  # noqa: E402

OUT = REPO / "tests" / "fixtures" / "pytorch"

# netc's weight initializers (`netc check --format json`) as torch_oracle's kinds.
KINDS = {"he": "weight_fan", "bias": "bias_fan", "norm_scale": "bn.weight", "norm_shift": "bn.bias", "norm_var": "bn.running_var"}


def default_files():
    globs = ["examples/*.net", "examples/ops/*.net", "examples/zoo/*.net", "examples/imported/*.net", "tests/fixtures/pytorch/*.net"]
    return sorted([p for g in globs for p in REPO.glob(g)] + [REPO / "examples/cifar10/resvgg.net"])


def stem_of(f: Path) -> str:
    try:
        return str(f.relative_to(REPO / "examples").with_suffix("")).replace("/", ".")
    except ValueError:
        return f.stem


def batch_of(dims):
    return 2 if np.prod(dims[1:]) <= 64 * 64 else 1


def run_file(netc, f: Path, tmp: Path, meta: dict):
    rel = str(f.relative_to(REPO))
    checked = subprocess.run([netc, "check", str(f), "--format", "json"], capture_output=True, text=True)
    network = json.loads(checked.stdout)
    if not network["ok"]:
        print(f"skip {rel}: it does not check (netc check exits {checked.returncode})")
        return
    stem = stem_of(f)
    out_dir = tmp / stem
    out_dir.mkdir()
    torch.manual_seed(0)
    model = emitted_module(netc, f, out_dir).Network()
    # The weights: names and shapes as netc's, values from netc's generator.
    specs = {w["name"]: w for layer in network["network"]["layers"] for w in layer.get("weights", [])}
    state = {k: v for k, v in model.state_dict().items() if not k.endswith("num_batches_tracked")}
    assert set(state) == set(specs), f"{rel}: state_dict keys differ from netc's weight names:\n" \
        f"  only in PyTorch: {sorted(set(state) - set(specs))[:10]}\n  only in netc: {sorted(set(specs) - set(state))[:10]}"
    weights = {}
    for name, w in specs.items():
        assert list(state[name].shape) == w["shape"], f"{rel}: {name} is {list(state[name].shape)} in PyTorch, {w['shape']} in netc"
        init = w["init"]
        weights[name] = torch.from_numpy(weight_tensor(name, KINDS[init["kind"]], w["shape"], init.get("fan_in", 0), 0))
    missing, unexpected = model.load_state_dict(weights, strict=False)
    assert not unexpected and all(k.endswith("num_batches_tracked") for k in missing), (missing, unexpected)
    model = model.double().eval()
    layers = {layer["id"]: layer for layer in network["network"]["layers"]}
    inputs = [{"name": layers[i]["path"], "shape": layers[i]["shape"]} for i in network["network"]["inputs"]]
    xs = []
    for inp in inputs:
        dims = inp["shape"]
        n = batch_of(dims)
        name = "input" if len(inputs) == 1 else inp["name"]
        xs.append(units(name, 0, n * int(np.prod(dims))).astype(np.float32).reshape([n, *dims]))
    with torch.no_grad():
        ys = model(*(torch.from_numpy(x).double() for x in xs))
    ys = ys if isinstance(ys, tuple) else (ys,)
    arrays = {f"output{i}": y.numpy().astype(np.float32) for i, y in enumerate(ys)}
    np.savez(OUT / f"{stem}.npz", **arrays)
    meta[stem] = {
        "file": rel,
        "inputs": inputs,
        "batch": xs[0].shape[0],
        "outputs": [list(a.shape) for a in arrays.values()],
        "max_abs_output": [float(np.abs(a).max()) for a in arrays.values()],
        "torch": torch.__version__,
    }
    print(f"{rel}: {len(specs)} weights by netc's names, outputs {[list(a.shape) for a in arrays.values()]}")


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--netc")
    ap.add_argument("files", nargs="*")
    a = ap.parse_args()
    netc = find_netc(a.netc)
    files = [Path(f).resolve() for f in a.files] or default_files()
    OUT.mkdir(parents=True, exist_ok=True)
    meta_path = OUT / "meta.json"
    meta = json.loads(meta_path.read_text()) if meta_path.exists() else {}
    with tempfile.TemporaryDirectory() as tmp:
        for f in files:
            run_file(netc, f, Path(tmp), meta)
    meta_path.write_text(json.dumps(dict(sorted(meta.items())), indent=1) + "\n")


if __name__ == "__main__":
    main()
