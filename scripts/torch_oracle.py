#!/usr/bin/env python3
"""PyTorch oracle for netc: reference outputs for every example network.

Dev-only tooling (netc itself is Rust). For each `examples/*.net` that `netc check --format json`
accepts, this script builds the network in PyTorch *generically* from the checked JSON graph
(an interpreter over `network.layers[]`, not code written per example), fills every weight with
the deterministic generator below, runs it in float64 and writes

    tests/fixtures/oracle/<stem>/input.npy    float32 [N, C, H, W]  the generated input
    tests/fixtures/oracle/<stem>/output.npy   float32 [N, ...]      the first network output
    tests/fixtures/oracle/<stem>/meta.json    example, seed, batch, shapes, torch version, max |output|
    tests/fixtures/oracle/totals.json         PyTorch's parameter and FLOP counts per example
    tests/fixtures/oracle/prng.json           the generator's first units, for Rust unit tests

Examples that fail `netc check` (seed_torch.net is meant to) are skipped with a note.

Usage (from anywhere):
    python3 scripts/torch_oracle.py [--netc PATH] [--seed 0] [EXAMPLE.net ...]
(default: examples/*.net and examples/ops/*.net)
The netc binary defaults to $NETC, else target/release/netc under $CARGO_TARGET_DIR or the repo.

Weight generator (netc implements the same one in Rust as `netc run --seed S`; they must agree
bit for bit). All integer arithmetic is on u64 and wraps modulo 2^64:

    GOLDEN = 0x9E3779B97F4A7C15
    splitmix64(state):
        z = state + GOLDEN
        z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9
        z = (z ^ (z >> 27)) * 0x94D049BB133111EB
        return z ^ (z >> 31)
    fnv1a64(bytes): h = 0xcbf29ce484222325; for b in bytes: h = (h ^ b) * 0x100000001b3
    key(name, seed) = fnv1a64(utf8(name)) ^ seed
    u_i    = splitmix64(key + i * GOLDEN)            i = 0, 1, ... in row-major order
    unit_i = float64(u_i >> 40) / 2^24 * 2 - 1       in [-1, 1), exactly representable in f32

Tensor values, computed in float64 and then rounded once to float32:
    conv weight [out, in/g, kh, kw]   unit * sqrt(6 / fan_in)    fan_in = in/g * kh * kw
    conv_transpose weight [in, out/g, kh, kw]                  fan_in = out/g * kh * kw
    dense weight [out, in]        unit * sqrt(6 / fan_in)        fan_in = in
    conv / dense bias [out]       unit * (1 / sqrt(fan_in))      same fan_in as the weight
    batchnorm / layernorm / scale weight   1 + 0.1 * unit
    batchnorm / layernorm bias    0.1 * unit
    batchnorm running_mean        0.1 * unit
    batchnorm running_var         1 + 0.25 * (unit + 1)
  (in floating point: sqrt(6.0 / fan_in), 1.0 / sqrt(fan_in), each multiplied by unit last.)
Tensor names are netc's: `<layer path>.weight`, `.bias`, `.running_mean`, `.running_var`.
The input tensor is named "input" (whatever the .net file calls it), shape [N, C, H, W]:
    unit as float32, or, when the input declares `normalize`, pixel-like values
    floor((unit + 1) * 127.5) as float32 (0..255), which the network then normalizes.
Batch N is 2 for 32x32 inputs and 1 otherwise (224x224). The network is evaluated in float64
(the float32 weights and input cast up exactly) and the output saved as float32.
"""

import argparse
import json
import math
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F
from torch.utils.flop_counter import FlopCounterMode

REPO = Path(__file__).resolve().parent.parent
FIXTURES = REPO / "tests" / "fixtures" / "oracle"

M64 = (1 << 64) - 1
GOLDEN = 0x9E3779B97F4A7C15
FNV_OFFSET = 0xCBF29CE484222325
FNV_PRIME = 0x100000001B3

# --------------------------------------------------------------------------------------------
# The generator


def fnv1a64(data: bytes) -> int:
    h = FNV_OFFSET
    for b in data:
        h = ((h ^ b) * FNV_PRIME) & M64
    return h


def splitmix64(state: np.ndarray) -> np.ndarray:
    """Vectorized splitmix64 over a uint64 array (numpy wraps uint64 array arithmetic)."""
    with np.errstate(over="ignore"):
        z = state + np.uint64(GOLDEN)
        z = (z ^ (z >> np.uint64(30))) * np.uint64(0xBF58476D1CE4E5B9)
        z = (z ^ (z >> np.uint64(27))) * np.uint64(0x94D049BB133111EB)
        return z ^ (z >> np.uint64(31))


def key_of(name: str, seed: int) -> int:
    return fnv1a64(name.encode("utf-8")) ^ (seed & M64)


def raw_u64(name: str, seed: int, start: int, count: int) -> np.ndarray:
    idx = np.arange(start, start + count, dtype=np.uint64)
    with np.errstate(over="ignore"):
        state = np.uint64(key_of(name, seed)) + idx * np.uint64(GOLDEN)
    return splitmix64(state)


def units(name: str, seed: int, count: int, chunk: int = 1 << 22) -> np.ndarray:
    """unit_i for i in 0..count as float64 (generated in chunks to bound memory)."""
    out = np.empty(count, dtype=np.float64)
    for start in range(0, count, chunk):
        n = min(chunk, count - start)
        u = raw_u64(name, seed, start, n)
        out[start:start + n] = (u >> np.uint64(40)).astype(np.float64) / float(1 << 24) * 2.0 - 1.0
    return out


def weight_tensor(name: str, kind: str, shape, fan_in: int, seed: int) -> np.ndarray:
    """One named tensor as float32, by the rules in the module docstring."""
    count = int(np.prod(shape, dtype=np.int64)) if len(shape) else 1
    u = units(name, seed, count)
    if kind == "weight_fan":
        v = u * math.sqrt(6.0 / fan_in)
    elif kind == "bias_fan":
        v = u * (1.0 / math.sqrt(fan_in))
    elif kind == "bn.weight":  # also layernorm's and scale's weight
        v = 1.0 + 0.1 * u
    elif kind == "bn.bias" or kind == "bn.running_mean":
        v = 0.1 * u
    elif kind == "bn.running_var":
        v = 1.0 + 0.25 * (u + 1.0)
    else:
        raise ValueError(kind)
    return v.astype(np.float32).reshape(shape)


def input_tensor(shape, seed: int, pixels: bool) -> np.ndarray:
    u = units("input", seed, int(np.prod(shape)))
    v = np.floor((u + 1.0) * 127.5) if pixels else u
    return v.astype(np.float32).reshape(shape)


# --------------------------------------------------------------------------------------------
# The JSON-driven network


def f32(x) -> float:
    """A value netc holds as f32 (JSON prints its shortest form), as the exact float64 of that f32."""
    return float(np.float32(x))


class JsonNet(nn.Module):
    """Interprets netc's checked graph. Parameters are registered per layer, so that
    `parameters()` counts exactly the trainable tensors (batchnorm statistics are buffers)."""

    def __init__(self, network: dict, seed: int):
        super().__init__()
        self.layers = network["layers"]
        self.inputs = network["inputs"]
        self.outputs = network["outputs"]
        self.by_id = {l["id"]: l for l in self.layers}
        self.params = nn.ParameterDict()
        self.stats = {}
        self.flops = 0
        for layer in self.layers:
            self._make_weights(layer, seed)

    @staticmethod
    def base_op(op: str):
        return (op[:-5], True) if op.endswith("+relu") else (op, False)

    def _in_shape(self, layer):
        return self.by_id[layer["inputs"][0]]["shape"]

    def _make_weights(self, layer, seed):
        op, _ = self.base_op(layer["op"])
        declared = {w["name"]: w["shape"] for w in layer["weights"]}
        path = layer["path"]
        in_shape = self._in_shape(layer) if layer["inputs"] else None
        expect = {}
        a = layer["attrs"]
        if op == "conv":
            kh, kw = a["kernel"]
            cin = in_shape[0] // a["groups"]
            fan_in = cin * kh * kw
            expect[f"{path}.weight"] = ([a["out"], cin, kh, kw], "weight_fan", fan_in)
            if a["bias"]:
                expect[f"{path}.bias"] = ([a["out"]], "bias_fan", fan_in)
        elif op == "conv_transpose":
            kh, kw = a["kernel"]
            og = a["out"] // a["groups"]
            fan_in = og * kh * kw
            expect[f"{path}.weight"] = ([in_shape[0], og, kh, kw], "weight_fan", fan_in)
            if a["bias"]:
                expect[f"{path}.bias"] = ([a["out"]], "bias_fan", fan_in)
        elif op == "dense":
            fan_in = int(np.prod(in_shape))
            expect[f"{path}.weight"] = ([a["out"], fan_in], "weight_fan", fan_in)
            if a["bias"]:
                expect[f"{path}.bias"] = ([a["out"]], "bias_fan", fan_in)
        elif op == "batchnorm":
            for kind in ("weight", "bias", "running_mean", "running_var"):
                expect[f"{path}.{kind}"] = ([in_shape[0]], f"bn.{kind}", 1)
        elif op == "layernorm":
            for kind in ("weight", "bias"):
                expect[f"{path}.{kind}"] = ([in_shape[0]], f"bn.{kind}", 1)
        elif op == "scale":
            expect[f"{path}.weight"] = ([in_shape[0]], "bn.weight", 1)
        # The JSON's weight list must be exactly what the op needs, in netc's layout.
        got = {n: list(s) for n, s in declared.items()}
        want = {n: s for n, (s, _, _) in expect.items()}
        if got != want:
            raise SystemExit(f"layer {path} ({layer['op']}): JSON weights {got} != expected {want}")
        for name, (shape, kind, fan_in) in expect.items():
            t = torch.from_numpy(weight_tensor(name, kind, shape, fan_in, seed)).double()
            if kind.startswith("bn.running"):
                self.stats[name] = t
            else:
                self.params[name.replace(".", "/")] = nn.Parameter(t, requires_grad=False)

    def w(self, name):
        key = name.replace(".", "/")
        return self.params[key] if key in self.params else self.stats.get(name)

    def forward(self, x: torch.Tensor):
        vals = {}
        self.flops = 0  # per batch, counted by hand: 2 * MACs of conv and dense
        n = x.shape[0]
        for layer in self.layers:
            op, relu = self.base_op(layer["op"])
            a = layer["attrs"]
            p = layer["path"]
            ins = [vals[i] for i in layer["inputs"]]
            if op == "input":
                y = x
                assert list(y.shape[1:]) == list(a["dims"]), (a["dims"], y.shape)
                norm = a.get("normalize")
                if norm is not None:
                    c = y.shape[1]
                    mean = torch.tensor([f32(m) for m in norm["mean"]], dtype=y.dtype).view(1, c, 1, 1)
                    std = torch.tensor([f32(s) for s in norm["std"]], dtype=y.dtype).view(1, c, 1, 1)
                    y = (y * f32(norm["scale"]) - mean) / std
            elif op == "conv":
                w = self.w(f"{p}.weight")
                t, l, b, r = a["pad"]
                y = F.conv2d(F.pad(ins[0], (l, r, t, b)), w, self.w(f"{p}.bias") if a["bias"] else None,
                             stride=a["stride"], dilation=a["dilation"], groups=a["groups"])
                self.flops += 2 * y.numel() * w.shape[1] * w.shape[2] * w.shape[3]
            elif op == "conv_transpose":
                w = self.w(f"{p}.weight")
                y = F.conv_transpose2d(ins[0], w, self.w(f"{p}.bias") if a["bias"] else None, stride=a["stride"],
                                       padding=a["pad"], output_padding=a["output_pad"], groups=a["groups"],
                                       dilation=a["dilation"])
                self.flops += 2 * ins[0].numel() * w.shape[1] * w.shape[2] * w.shape[3]
            elif op == "relu":
                y = F.relu(ins[0])
            elif op == "relu6":
                y = F.relu6(ins[0])
            elif op == "leaky_relu":
                y = F.leaky_relu(ins[0], f32(a["slope"]))
            elif op == "sigmoid":
                y = torch.sigmoid(ins[0])
            elif op == "tanh":
                y = torch.tanh(ins[0])
            elif op == "silu":
                y = F.silu(ins[0])
            elif op == "gelu":
                y = F.gelu(ins[0], approximate="tanh" if a["approximate"] else "none")
            elif op == "hardswish":
                y = F.hardswish(ins[0])
            elif op == "hardsigmoid":
                y = F.hardsigmoid(ins[0])
            elif op == "clip":
                y = torch.clamp(ins[0], f32(a["min"]), f32(a["max"]))
            elif op == "maxpool":
                y = F.max_pool2d(ins[0], a["kernel"], stride=a["stride"], padding=a["pad"], ceil_mode=a["ceil_mode"])
            elif op == "avgpool":
                y = F.avg_pool2d(ins[0], a["kernel"], stride=a["stride"], padding=a["pad"], ceil_mode=a["ceil_mode"],
                                 count_include_pad=a["count_include_pad"])
            elif op == "adaptive_avgpool":
                y = F.adaptive_avg_pool2d(ins[0], a["size"])
            elif op == "adaptive_maxpool":
                y = F.adaptive_max_pool2d(ins[0], a["size"])
            elif op == "upsample":
                bilinear = a["mode"] == "bilinear"
                y = F.interpolate(ins[0], scale_factor=tuple(float(f) for f in a["scale"]), mode=a["mode"],
                                  align_corners=False if bilinear else None)
            elif op == "layernorm":
                x4 = ins[0].reshape(n, ins[0].shape[1], -1).transpose(1, 2)
                y = F.layer_norm(x4, (x4.shape[-1],), self.w(f"{p}.weight"), self.w(f"{p}.bias"), eps=f32(a["eps"]))
                y = y.transpose(1, 2).reshape(ins[0].shape)
            elif op == "scale":
                c = ins[0].shape[1]
                y = ins[0] * self.w(f"{p}.weight").view(1, c, *([1] * (ins[0].dim() - 2)))
            elif op == "mul":
                y = ins[0]
                for t in ins[1:]:
                    y = y * t
            elif op == "slice":
                end = a["end"] if a["end"] is not None else ins[0].shape[1]
                y = ins[0][:, a["start"]:end]
            elif op == "channel_shuffle":
                g = a["groups"]
                shape = ins[0].shape
                y = ins[0].reshape(n, g, shape[1] // g, *shape[2:]).transpose(1, 2).reshape(shape)
            elif op in ("dropout", "stochastic_depth"):
                y = ins[0]
            elif op == "global_avgpool":
                y = F.adaptive_avg_pool2d(ins[0], 1)
            elif op == "global_maxpool":
                y = F.adaptive_max_pool2d(ins[0], 1)
            elif op == "batchnorm":
                y = F.batch_norm(ins[0], self.w(f"{p}.running_mean"), self.w(f"{p}.running_var"),
                                 self.w(f"{p}.weight"), self.w(f"{p}.bias"), training=False,
                                 eps=f32(a["eps"]))
            elif op == "add":
                y = ins[0]
                for t in ins[1:]:
                    y = y + t
            elif op == "concat":
                y = torch.cat(ins, dim=1)
            elif op == "flatten":
                y = ins[0].reshape(n, -1)
            elif op == "dense":
                w = self.w(f"{p}.weight")
                y = F.linear(ins[0].reshape(n, -1), w, self.w(f"{p}.bias") if a["bias"] else None)
                self.flops += 2 * n * w.shape[0] * w.shape[1]
            elif op == "softmax":
                flat = ins[0].reshape(n, -1)
                y = F.softmax(flat, dim=1).reshape(ins[0].shape)
            elif op == "identity":
                y = ins[0]
            else:
                raise SystemExit(f"unknown op `{layer['op']}` at {p}")
            if relu:
                y = F.relu(y)
            if list(y.shape[1:]) != list(layer["shape"]):
                raise SystemExit(f"{p} ({layer['op']}): torch shape {list(y.shape[1:])} != netc {layer['shape']}")
            vals[layer["id"]] = y
        return [vals[o] for o in self.outputs]


# --------------------------------------------------------------------------------------------
# Driver


def find_netc(arg):
    if arg:
        return arg
    if os.environ.get("NETC"):
        return os.environ["NETC"]
    target = Path(os.environ.get("CARGO_TARGET_DIR", REPO / "target"))
    return str(target / "release" / "netc")


def emitted_module(netc, path: Path, out_dir: Path):
    """The PyTorch module `netc emit pytorch` writes for `path`, written to `out_dir` and imported."""
    import importlib.util

    name = path.stem.replace("-", "_") + "_net"
    py = Path(out_dir) / f"{name}.py"
    r = subprocess.run([netc, "emit", "pytorch", str(path), "-o", str(py)], capture_output=True, text=True)
    if r.returncode != 0:
        raise SystemExit(f"{path}: netc emit pytorch failed:\n{r.stderr}")
    spec = importlib.util.spec_from_file_location(name, py)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def check(netc, path: Path):
    r = subprocess.run([netc, "check", str(path), "--format", "json"], capture_output=True, text=True)
    if r.returncode != 0:
        return None, r
    return json.loads(r.stdout), r


def prng_fixture():
    name = "conv1.weight"
    cases = []
    for seed in (0, 7):
        u = units(name, seed, 8)
        cases.append({
            "seed": seed,
            "key": f"0x{key_of(name, seed):016x}",
            "u64": [f"0x{int(v):016x}" for v in raw_u64(name, seed, 0, 8)],
            "units": [float(v) for v in u],
        })
    return {
        "name": name,
        "fnv1a64": f"0x{fnv1a64(name.encode()):016x}",
        # Vigna's published splitmix64 check value (state 1234567 -> 6457827717110365317).
        "splitmix64_of_1234567": f"0x{int(splitmix64(np.array([1234567], dtype=np.uint64))[0]):016x}",
        "note": "unit_i = ((u_i >> 40) / 2^24) * 2 - 1 with u_i = splitmix64(key + i * 0x9E3779B97F4A7C15), "
                "key = fnv1a64(name) ^ seed; see scripts/torch_oracle.py",
        "cases": cases,
    }


def rel(path: Path) -> str:
    try:
        return str(path.resolve().relative_to(REPO))
    except ValueError:
        return str(path)


def run_example(netc, path: Path, seed: int, totals: dict, fixtures: Path):
    stem = path.stem
    doc, r = check(netc, path)
    if doc is None:
        first = (r.stderr.strip().splitlines() or [""])[0]
        try:
            diags = json.loads(r.stdout).get("diagnostics", [])
            first = "; ".join(d.get("message", "") for d in diags if d.get("severity", "error") == "error") or first
        except (json.JSONDecodeError, AttributeError):
            pass
        print(f"note: skipping {path.name}: netc check exits {r.returncode} ({first})")
        return None
    net = doc["network"]
    if len(net["inputs"]) != 1:
        raise SystemExit(f"{path.name}: the oracle handles one input, found {len(net['inputs'])}")
    inp = next(l for l in net["layers"] if l["id"] == net["inputs"][0])
    dims = inp["attrs"]["dims"]
    batch = 2 if dims[1:] == [32, 32] else 1
    shape = [batch] + list(dims)
    x_np = input_tensor(shape, seed, inp["attrs"].get("normalize") is not None)

    model = JsonNet(net, seed)
    params = sum(p.numel() for p in model.parameters())
    with torch.no_grad(), FlopCounterMode(display=False) as fc:
        outs = model(torch.from_numpy(x_np).double())
    torch_flops = fc.get_total_flops() // batch
    hand_flops = model.flops // batch
    if torch_flops != hand_flops:
        print(f"warning: {stem}: FlopCounterMode {torch_flops} != hand count {hand_flops}")
    y = outs[0].float().numpy()
    if not np.all(np.isfinite(y)):
        print(f"warning: {stem}: output has non-finite values")
    max_abs = float(np.max(np.abs(y)))

    netc_t = doc["totals"]
    same = netc_t["params"] == params and netc_t["flops"] == torch_flops
    print(f"{stem}: input {shape} -> output {list(y.shape)}, max|out| {max_abs:.6g}")
    print(f"  params: torch {params:,}  netc {netc_t['params']:,}   "
          f"flops: torch {torch_flops:,}  netc {netc_t['flops']:,}   {'OK' if same else 'MISMATCH'}")
    totals[stem] = {"input_shape": list(dims), "params": params, "flops": torch_flops}

    out_dir = fixtures / stem
    out_dir.mkdir(parents=True, exist_ok=True)
    np.save(out_dir / "input.npy", x_np)
    np.save(out_dir / "output.npy", y)
    meta = {
        "example": rel(path),
        "seed": seed,
        "batch": batch,
        "input_shape": shape,
        "output_shape": list(y.shape),
        "output_layer": next(l["path"] for l in net["layers"] if l["id"] == net["outputs"][0]),
        "torch_version": torch.__version__,
        "max_abs_output": max_abs,
    }
    (out_dir / "meta.json").write_text(json.dumps(meta, indent=2) + "\n")
    return same


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--netc", help="the netc binary (default: $NETC or target/release/netc)")
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--out", type=Path, default=FIXTURES, help="fixture directory (default: tests/fixtures/oracle)")
    ap.add_argument("examples", nargs="*", type=Path, help="default: examples/*.net")
    args = ap.parse_args()
    netc = find_netc(args.netc)
    if not Path(netc).exists():
        raise SystemExit(f"no netc binary at {netc}; build it with `cargo build --release` or pass --netc")
    torch.set_grad_enabled(False)
    fixtures = args.out
    fixtures.mkdir(parents=True, exist_ok=True)

    prng = prng_fixture()
    (fixtures / "prng.json").write_text(json.dumps(prng, indent=2) + "\n")

    examples = args.examples or sorted((REPO / "examples").glob("*.net")) + sorted((REPO / "examples" / "ops").glob("*.net"))
    totals_path = fixtures / "totals.json"
    # Running a subset updates those entries and keeps the others.
    totals = json.loads(totals_path.read_text()) if args.examples and totals_path.exists() else {}
    mismatches = []
    for path in examples:
        same = run_example(netc, Path(path), args.seed, totals, fixtures)
        if same is False:
            mismatches.append(Path(path).stem)
    totals_path.write_text(json.dumps(dict(sorted(totals.items())), indent=2) + "\n")
    if mismatches:
        print(f"totals differ from netc for: {', '.join(mismatches)}")
        sys.exit(1)


if __name__ == "__main__":
    main()
