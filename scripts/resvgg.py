"""examples/cifar10/resvgg.net in PyTorch: the module `netc emit pytorch` writes from the .net file.

There is no hand-written copy of the network. `network_module()` runs
`netc emit pytorch examples/cifar10/resvgg.net` and imports what it writes: its `Network` has
netc's layer names (its state_dict() keys, less BatchNorm's num_batches_tracked, are exactly netc's
weight names), takes uint8 pixel values (as any float dtype) in NCHW, normalizes them as the .net
file's `normalize(...)` says, and returns logits.
"""
import json
import subprocess
import tempfile
from pathlib import Path

import torch

from torch_oracle import REPO, emitted_module, find_netc

NET = REPO / "examples" / "cifar10" / "resvgg.net"
# The .net file's `normalize(...)`, for the numpy reference of check_cifar_reference.py.
SCALE = 0.00392156862745098
MEAN = (0.4914, 0.4822, 0.4465)
STD = (0.2470, 0.2435, 0.2616)
CLASSES = ["airplane", "automobile", "bird", "cat", "deer",
           "dog", "frog", "horse", "ship", "truck"]


def network_module(netc=None):
    """The emitted PyTorch module of resvgg.net (netc: the binary, default as torch_oracle finds it)."""
    return emitted_module(find_netc(netc), NET, tempfile.mkdtemp(prefix="resvgg-"))


def expected_keys(netc=None):
    """netc's weight names for resvgg.net (`netc check --format json`)."""
    r = subprocess.run([find_netc(netc), "check", str(NET), "--format", "json"], capture_output=True, text=True, check=True)
    layers = json.loads(r.stdout)["network"]["layers"]
    return [w["name"] for layer in layers for w in layer.get("weights", [])]


def export_state_dict(model):
    """float32, contiguous, exactly the netc weight names."""
    sd = {}
    for k, v in model.state_dict().items():
        if k.endswith("num_batches_tracked"):
            continue
        sd[k] = v.detach().to(torch.float32).contiguous().clone()
    return sd


def load_safetensors(path, module=None):
    """A fresh emitted model with weights from a safetensors file (strict key check)."""
    from safetensors.torch import load_file
    sd = load_file(path)
    model = (module or network_module()).Network()
    res = model.load_state_dict(sd, strict=False)
    # the only keys torch is allowed to miss are the BN step counters
    assert not res.unexpected_keys, res.unexpected_keys
    assert all(k.endswith("num_batches_tracked") for k in res.missing_keys), res.missing_keys
    return model.eval()
