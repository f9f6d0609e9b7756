#!/usr/bin/env python3
"""Fixtures and examples for `netc import onnx` (dev-only; run with /work/venv's Python).

For torchvision's resnet18, vgg16 and mobilenet_v2 (definitions only, random weights), and two
tiny networks of this script (`viewnet`: PyTorch's `x.view(x.size(0), -1)`, which exports as
Shape->Gather->Unsqueeze->Concat->Reshape; `unsupported`: ops netc does not import), this script

  1. exports the model with torch.onnx.export (TorchScript exporter, opset 17, batch dynamic),
  2. replaces every float initializer by netc's deterministic generator (below), so a test can
     rebuild the weights from the initializers' names and shapes alone,
  3. writes tests/fixtures/onnx_import/<model>.onnx with the float initializers' data stripped
     (names, dims and element types kept: a few KB instead of 45-550 MB), and
     tests/fixtures/onnx_import/<model>.npy, ONNX Runtime's output on netc's "input" units
     (seed 0, batch 1), run on the full model,
  4. runs `netc import onnx` on the full model, writing examples/imported/<model>.net (committed)
     and the weights to a temporary .safetensors, then `netc run` with them on the same input,
     and prints the largest difference from ONNX Runtime.

Generated weights (name = the ONNX initializer's name, u = units(name, 0, count) of
torch_oracle.py, computed in float64, rounded once to float32):
    rank >= 2 (conv, dense weights)       u * sqrt(6 / fan_in), fan_in = product of dims[1:]
    rank 1 whose name contains "var"      1 + 0.25 * (u + 1)
    other rank 1 (biases, BN scale/shift) 0.1 * u
tests/onnx_import.rs fills the stripped initializers by the same rule.

Usage: /work/venv/bin/python scripts/onnx_import.py [--netc PATH] [MODEL ...]
"""

import argparse
import math
import subprocess
import sys
import tempfile
import warnings
from pathlib import Path

import numpy as np
import onnx
import onnxruntime as ort
import torch
import torch.nn as nn
import torchvision
from onnx import numpy_helper

sys.path.insert(0, str(Path(__file__).resolve().parent))
from torch_oracle import REPO, find_netc, units  # noqa: E402

FIXTURES = REPO / "tests" / "fixtures" / "onnx_import"
EXAMPLES = REPO / "examples" / "imported"


class ViewNet(nn.Module):
    """A small CNN flattened with x.view(x.size(0), -1)."""

    def __init__(self):
        super().__init__()
        self.conv1 = nn.Conv2d(3, 8, 3, padding=1)
        self.bn1 = nn.BatchNorm2d(8)
        self.pool = nn.MaxPool2d(2)
        self.conv2 = nn.Conv2d(8, 8, 3, padding=1)
        self.fc = nn.Linear(8 * 8 * 8, 10)

    def forward(self, x):
        x = self.pool(torch.relu(self.bn1(self.conv1(x))))
        x = x + torch.relu(self.conv2(x))
        return self.fc(x.view(x.size(0), -1))


class Unsupported(nn.Module):
    """Ops netc does not import: LSTM-free but with Sin, Cos and Pow."""

    def __init__(self):
        super().__init__()
        self.conv = nn.Conv2d(3, 4, 3, padding=1)

    def forward(self, x):
        x = self.conv(x)
        return torch.sin(x) + torch.cos(x) * torch.sin(x * 2.0) + x.pow(3)


MODELS = {
    "resnet18": (lambda: torchvision.models.resnet18(), [3, 224, 224]),
    "vgg16": (lambda: torchvision.models.vgg16(), [3, 224, 224]),
    "mobilenet_v2": (lambda: torchvision.models.mobilenet_v2(), [3, 224, 224]),
    "viewnet": (ViewNet, [3, 16, 16]),
    "unsupported": (Unsupported, [3, 8, 8]),
}


def generated(name, dims):
    count = int(np.prod(dims)) if dims else 1
    u = units(name, 0, count)
    if len(dims) >= 2:
        v = u * math.sqrt(6.0 / int(np.prod(dims[1:])))
    elif "var" in name:
        v = 1.0 + 0.25 * (u + 1.0)
    else:
        v = 0.1 * u
    return v.astype(np.float32).reshape(dims)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--netc")
    ap.add_argument("models", nargs="*")
    a = ap.parse_args()
    netc = find_netc(a.netc)
    FIXTURES.mkdir(parents=True, exist_ok=True)
    EXAMPLES.mkdir(parents=True, exist_ok=True)
    torch.manual_seed(0)
    for name in a.models or MODELS:
        make, dims = MODELS[name]
        model = make().eval()
        with tempfile.TemporaryDirectory() as tmp, warnings.catch_warnings():
            warnings.simplefilter("ignore")
            full = Path(tmp) / f"{name}.onnx"
            torch.onnx.export(
                model, (torch.zeros(1, *dims),), str(full), dynamo=False, opset_version=17,
                input_names=["image"], output_names=["logits"],
                dynamic_axes={"image": {0: "batch"}, "logits": {0: "batch"}},
            )
            m = onnx.load(str(full))
            for t in m.graph.initializer:
                if t.data_type == onnx.TensorProto.FLOAT:
                    t.CopyFrom(numpy_helper.from_array(generated(t.name, list(t.dims)), t.name))
            onnx.save(m, str(full))
            x = units("input", 0, int(np.prod(dims))).astype(np.float32).reshape([1, *dims])
            y = ort.InferenceSession(str(full), providers=["CPUExecutionProvider"]).run(None, {"image": x})[0]
            np.save(FIXTURES / f"{name}.npy", y.astype(np.float32))
            stripped = onnx.load(str(full))
            for t in stripped.graph.initializer:
                if t.data_type == onnx.TensorProto.FLOAT:
                    t.ClearField("raw_data")
                    t.ClearField("float_data")
            onnx.save(stripped, str(FIXTURES / f"{name}.onnx"))
            net = EXAMPLES / f"{name}.net"
            weights = Path(tmp) / f"{name}.safetensors"
            cmd = [netc, "import", "onnx", str(full), "-o", str(net), "--weights-out", str(weights)]
            r = subprocess.run(cmd, capture_output=True, text=True)
            if r.returncode != 0:
                print(f"{name}: netc import onnx failed (exit {r.returncode}):\n{r.stderr}")
                continue
            np.save(Path(tmp) / "x.npy", x)
            out = Path(tmp) / "y.npy"
            r = subprocess.run([netc, "run", str(net), "--weights", str(weights), "--input", str(Path(tmp) / "x.npy"),
                                "--output", str(out)], capture_output=True, text=True)
            if r.returncode != 0:
                print(f"{name}: netc run failed:\n{r.stderr}")
                continue
            got = np.load(out)
            diff = np.abs(got - y).max() / max(1.0, np.abs(y).max())
            print(f"{name}: imported; max |netc - onnxruntime| / max(1, max |onnxruntime|) = {diff:.2e}")


if __name__ == "__main__":
    main()
