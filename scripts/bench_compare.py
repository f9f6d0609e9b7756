#!/usr/bin/env python3
"""Compare netc's speed with OpenVINO, ONNX Runtime, PyTorch eager and tract on the same networks.

Dev-only tooling (netc itself is Rust). For each case (a `.net` file and a batch size) this
builds the network in PyTorch from `netc check --format json` with the oracle's builder and
generated weights (`torch_oracle.JsonNet`, seed 0, float32), exports it to ONNX (opset 17, fixed
batch), checks that OpenVINO (in f32, and in its default precision, which is bf16 on CPUs with
AVX512_BF16), ONNX Runtime, tract and `netc run` compute the same output as PyTorch, then
times every engine with the same protocol as `netc bench` (2 warm-up runs, then at least 10 runs
and at least `--seconds` seconds; median and p90 of the per-batch latency) at the same thread
count, and prints a markdown table per case with the speed ratios against ONNX Runtime and
PyTorch. netc is timed by `netc bench --format json`, for every back end it reports.

Usage:
    python3 scripts/bench_compare.py [--netc PATH] [--cases resvgg9-b1,vgg16-b1] [--quick]
The netc binary defaults to $NETC, else target/release/netc under $CARGO_TARGET_DIR or the repo.
Results go to stdout and to scripts/bench_results/<date>.md and .json (see scripts/README.md).
"""

import argparse
import datetime
import json
import os
import platform
import resource
import statistics
import subprocess
import sys
import tempfile
import time
import warnings
from pathlib import Path

# PyTorch's OpenMP threads busy-wait at every barrier by default (GNU OpenMP's OMP_WAIT_POLICY);
# on a shared, oversubscribed machine a descheduled spinner then stalls every parallel region
# (resvgg9 batch 1 at 2 threads measured 30x slower than at 1 thread under load 8). Sleep instead,
# unless asked for the default. Must be set before torch loads OpenMP.
if "--omp-default" not in sys.argv:
    os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")

import numpy as np
import torch

sys.path.insert(0, str(Path(__file__).resolve().parent))
sys.dont_write_bytecode = True  # no scripts/__pycache__ from importing the oracle
import torch_oracle as oracle  # noqa: E402  (reuse the generic JSON builder and the weight rule)

REPO = Path(__file__).resolve().parent.parent
RESULTS = REPO / "scripts" / "bench_results"

# name -> (example, batch)
CASES = {
    "resvgg9-b1": ("examples/resvgg9.net", 1),
    "resvgg9-b8": ("examples/resvgg9.net", 8),
    "seed_keras-b1": ("examples/seed_keras.net", 1),
    "seed_keras-b8": ("examples/seed_keras.net", 8),
    "vgg16-b1": ("examples/vgg16.net", 1),
    "vgg16-b8": ("examples/vgg16.net", 8),
    "resnet18-b1": ("examples/resnet18.net", 1),
    "resnet18-b8": ("examples/resnet18.net", 8),
    "resnet50-b1": ("examples/zoo/resnet50.net", 1),
    "resnet50-b8": ("examples/zoo/resnet50.net", 8),
    "mobilenet_v2-b1": ("examples/zoo/mobilenet_v2.net", 1),
    "mobilenet_v2-b8": ("examples/zoo/mobilenet_v2.net", 8),
    "efficientnet_b0-b1": ("examples/zoo/efficientnet_b0.net", 1),
    "efficientnet_b0-b8": ("examples/zoo/efficientnet_b0.net", 8),
}
# The fp32 engines netc is compared with ("the fastest fp32 peer" is the faster of them).
FP32_PEERS = ("openvino-f32", "onnxruntime")
TOLERANCE = 1e-4  # max |a - b| / max |torch|, over the whole output
REPEAT_LIMIT_S = 60.0  # a measurement that took longer than this is not repeated in later rounds


def loadavg():
    return list(os.getloadavg())


def sh(cmd):
    try:
        return subprocess.run(cmd, capture_output=True, text=True, check=True).stdout.strip()
    except (OSError, subprocess.CalledProcessError):
        return ""


def machine_info():
    model, cpus = "", os.cpu_count()
    for line in sh(["lscpu"]).splitlines():
        k, _, v = line.partition(":")
        if k.strip() == "Model name":
            model = v.strip()
        elif k.strip() == "CPU(s)":
            cpus = int(v.strip())
    flags = open("/proc/cpuinfo").read().split("flags", 2)[1].split("\n")[0] if Path("/proc/cpuinfo").exists() else ""
    return {
        "cpu_model": model,
        "cpus": cpus,
        "avx512f": " avx512f" in flags,
        "kernel": platform.release(),
        "loadavg_start": loadavg(),
    }


# --------------------------------------------------------------------------------------------
# Timing: the protocol of netc's `bench::Budget` (warm-up 2, then >= min_runs and >= min_time).


def time_fn(fn, seconds, min_runs, warmup=2, max_runs=1000):
    for _ in range(warmup):
        fn()
    times = []
    la = loadavg()[0]
    cpu0, wall0 = time.process_time(), time.perf_counter()
    while len(times) < max_runs and (len(times) < min_runs or time.perf_counter() - wall0 < seconds):
        t = time.perf_counter()
        fn()
        times.append((time.perf_counter() - t) * 1e3)
    wall = time.perf_counter() - wall0
    cpu = time.process_time() - cpu0
    times.sort()
    return {
        "median_ms": times[len(times) // 2],
        "p90_ms": times[min(len(times) * 9 // 10, len(times) - 1)],
        "runs": len(times),
        # process CPU time / wall time while timing; JSON only: kernels with tick-based CPU-time
        # accounting (this VM's) can undercount it badly on a busy machine
        "cores_used": cpu / wall,
        "loadavg_1m": la,
        "wall_s": wall,
    }


# --------------------------------------------------------------------------------------------
# Engines


class Single(torch.nn.Module):
    """JsonNet returns a list of outputs; export and time the first (what `netc run` writes)."""

    def __init__(self, net):
        super().__init__()
        self.net = net

    def forward(self, x):
        return self.net(x)[0]


def build_torch(doc, seed):
    net = oracle.JsonNet(doc["network"], seed)
    net.float()
    net.stats = {k: v.float() for k, v in net.stats.items()}  # batchnorm statistics (not buffers)
    return Single(net).eval()


def export_onnx(model, x, path):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        # The TorchScript exporter: the dynamo one needs onnxscript, and the graph is static anyway.
        torch.onnx.export(model, (x,), str(path), opset_version=17, dynamo=False,
                          input_names=["input"], output_names=["output"], do_constant_folding=True)


def ort_session(path, threads, spin=True):
    import onnxruntime as ort
    so = ort.SessionOptions()
    so.intra_op_num_threads = threads
    so.inter_op_num_threads = 1
    so.execution_mode = ort.ExecutionMode.ORT_SEQUENTIAL
    so.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL
    if not spin:  # default "1": worker threads busy-wait for work between and after runs
        so.add_session_config_entry("session.intra_op.allow_spinning", "0")
    return ort.InferenceSession(str(path), so, providers=["CPUExecutionProvider"])


def openvino_request(path, threads, precision):
    """A compiled OpenVINO CPU model and an infer request; `precision` None keeps the plugin's
    default (bf16 on CPUs with AVX512_BF16), "f32" sets INFERENCE_PRECISION_HINT."""
    import openvino as ov
    core = ov.Core()
    config = {"INFERENCE_NUM_THREADS": threads, "NUM_STREAMS": 1, "PERFORMANCE_HINT": "LATENCY"}
    if precision:
        config["INFERENCE_PRECISION_HINT"] = precision
    compiled = core.compile_model(core.read_model(str(path)), "CPU", config)
    return compiled, compiled.create_infer_request()


def tract_runnable(path, shape):
    import tract
    model = tract.onnx().load(str(path))
    model.set_input_fact(0, ",".join(str(d) for d in shape) + ",f32")
    # tract >= 0.22 has no `into_optimized()` in Python: `Model.into_runnable()` optimizes for the CPU.
    return model.into_model().into_runnable()


def rel_diff(a, ref):
    a, ref = np.asarray(a, dtype=np.float64), np.asarray(ref, dtype=np.float64)
    if a.shape != ref.shape:
        return float("inf")
    return float(np.max(np.abs(a - ref)) / max(np.max(np.abs(ref)), 1e-30))


def netc_bench(netc, example, batch, threads, seconds, backend=None):
    cmd = [netc, "bench", str(example), "--batch", str(batch), "--threads", str(threads),
           "--seconds", str(seconds), "--format", "json"]
    if backend:
        cmd += ["--backend", backend]
    la = loadavg()[0]
    ru0 = resource.getrusage(resource.RUSAGE_CHILDREN)
    t = time.perf_counter()
    r = subprocess.run(cmd, capture_output=True, text=True)
    wall = time.perf_counter() - t
    ru1 = resource.getrusage(resource.RUSAGE_CHILDREN)
    if r.returncode != 0:
        raise RuntimeError(f"{' '.join(cmd)} failed ({r.returncode}): {r.stderr.strip()}")
    doc = json.loads(r.stdout)
    cpu = (ru1.ru_utime - ru0.ru_utime) + (ru1.ru_stime - ru0.ru_stime)
    out = {}
    for res in doc["results"]:
        out[res["backend"]] = {
            "median_ms": res["latency_ms_median"],
            "p90_ms": res["latency_ms_p90"],
            "runs": res.get("runs"),
            "compile_ms": res["compile_ms"],
            "peak_share": res["peak_share"],
            # whole process (compile, warm-up, every back end): a rough figure
            "cores_used": cpu / wall,
            "loadavg_1m": la,
            "wall_s": wall,
        }
    return doc, out


def netc_run(netc, example, x, threads, tmp):
    inp, outp = Path(tmp) / "in.npy", Path(tmp) / "out.npy"
    np.save(inp, x)
    cmd = [netc, "run", str(example), "--input", str(inp), "--output", str(outp), "--threads", str(threads)]
    r = subprocess.run(cmd, capture_output=True, text=True)
    if r.returncode != 0:
        raise RuntimeError(f"{' '.join(cmd)} failed ({r.returncode}): {r.stderr.strip()}")
    return np.load(outp)


# --------------------------------------------------------------------------------------------
# One case


def run_case(name, netc, threads, seconds, min_runs, rounds, seed, log):
    example, batch = CASES[name]
    example = REPO / example
    doc, r = oracle.check(netc, example)
    if doc is None:
        raise SystemExit(f"netc check {example} failed: {r.stderr.strip()}")
    net = doc["network"]
    inp = next(l for l in net["layers"] if l["id"] == net["inputs"][0])
    dims = inp["attrs"]["dims"]
    shape = [batch] + list(dims)
    x_np = oracle.input_tensor(shape, seed, inp["attrs"].get("normalize") is not None)
    x = torch.from_numpy(x_np)
    flops = doc["totals"]["flops"]
    case = {"case": name, "example": str(example.relative_to(REPO)), "batch": batch, "threads": threads,
            "input_shape": shape, "flops_per_sample": flops, "engines": {}, "notes": []}
    engines = case["engines"]
    log(f"\n== {name}: {case['example']} batch {batch}, {threads} threads, "
        f"{flops / 1e9:.3f} GFLOP/sample, load {loadavg()[0]:.2f}")

    with tempfile.TemporaryDirectory(prefix="bench_compare_") as tmp:
        # PyTorch eager
        t = time.perf_counter()
        model = build_torch(doc, seed)
        prep = {"pytorch": (time.perf_counter() - t) * 1e3}
        with torch.inference_mode():
            ref = model(x).numpy().copy()
        runners = {}

        def torch_run():
            with torch.inference_mode():
                model(x)
        runners["pytorch"] = torch_run
        engines["pytorch"] = {"check": "reference"}

        # ONNX Runtime
        onnx_path = Path(tmp) / f"{name}.onnx"
        t = time.perf_counter()
        export_onnx(model, x, onnx_path)
        export_ms = (time.perf_counter() - t) * 1e3
        case["onnx_export_ms"] = export_ms
        try:
            t = time.perf_counter()
            sess = ort_session(onnx_path, threads)
            prep["onnxruntime"] = (time.perf_counter() - t) * 1e3
            feed = {sess.get_inputs()[0].name: x_np}
            d = rel_diff(sess.run(None, feed)[0], ref)
            engines["onnxruntime"] = {"check": d}
            runners["onnxruntime"] = lambda: sess.run(None, feed)
            # The same with worker threads that sleep instead of spinning: information only
            # (the ratios are against the default session above).
            t = time.perf_counter()
            sess_ns = ort_session(onnx_path, threads, spin=False)
            prep["onnxruntime-nospin"] = (time.perf_counter() - t) * 1e3
            engines["onnxruntime-nospin"] = {"check": rel_diff(sess_ns.run(None, feed)[0], ref)}
            runners["onnxruntime-nospin"] = lambda: sess_ns.run(None, feed)
        except Exception as e:  # noqa: BLE001 - record and go on
            engines["onnxruntime"] = {"error": f"{type(e).__name__}: {e}"}

        # OpenVINO, in f32 and in its default precision
        for eng, precision in (("openvino-f32", "f32"), ("openvino", None)):
            try:
                t = time.perf_counter()
                compiled, req = openvino_request(onnx_path, threads, precision)
                prep[eng] = (time.perf_counter() - t) * 1e3
                out = req.infer({0: x_np})[compiled.outputs[0]]
                engines[eng] = {"check": rel_diff(out, ref),
                                "precision": compiled.get_property("INFERENCE_PRECISION_HINT").get_type_name()}
                runners[eng] = lambda req=req: req.infer({0: x_np})
            except ImportError as e:
                engines[eng] = {"error": f"unavailable: {e}"}
            except Exception as e:  # noqa: BLE001
                engines[eng] = {"error": f"{type(e).__name__}: {e}"}

        # tract (single-threaded: its Python API cannot set tract's executor, see README)
        try:
            t = time.perf_counter()
            tr = tract_runnable(onnx_path, shape)
            prep["tract"] = (time.perf_counter() - t) * 1e3
            d = rel_diff(tr.run([x_np])[0].to_numpy(), ref)
            engines["tract"] = {"check": d}
            runners["tract"] = lambda: tr.run([x_np])
        except ImportError as e:
            engines["tract"] = {"error": f"unavailable: {e}"}
        except Exception as e:  # noqa: BLE001
            engines["tract"] = {"error": f"{type(e).__name__}: {e}"}

        # netc: correctness via `netc run` with the generated weights (seed 0, netc's default)
        t = time.perf_counter()
        try:
            out = netc_run(netc, example, x_np, threads, tmp)
            netc_check = rel_diff(out, ref)
        except Exception as e:  # noqa: BLE001
            netc_check = f"error: {e}"
        case["netc_run_s"] = time.perf_counter() - t

        for eng, p in prep.items():
            engines[eng]["prepare_ms"] = p
        for eng, e in engines.items():
            c = e.get("check")
            if isinstance(c, float):
                log(f"  {eng:<12} max|diff|/max|torch| = {c:.2e}{'' if c <= TOLERANCE else '  MISMATCH'}")
            elif "error" in e:
                log(f"  {eng:<12} {e['error']}")
        log(f"  {'netc run':<12} max|diff|/max|torch| = "
            + (f"{netc_check:.2e}{'' if netc_check <= TOLERANCE else '  MISMATCH'}"
               if isinstance(netc_check, float) else netc_check))

        # Timing: `rounds` rounds; each round times every engine in turn (the order reversed
        # every other round, so that no engine always runs right after another), and an
        # engine keeps the round with the lowest median (the least disturbed by other load).
        order = list(runners) + ["netc"]
        netc_backends = None
        samples = {}
        for rnd in range(rounds):
            seq = order if rnd % 2 == 0 else order[::-1]
            for eng in seq:
                if eng == "netc":
                    if netc_backends is None:
                        jdoc, res = netc_bench(netc, example, batch, threads, seconds)
                        netc_backends = list(res)
                        case["peak_gflops"] = jdoc.get("peak_gflops")
                        if jdoc.get("flops_per_sample") != flops:
                            case["notes"].append(f"netc bench flops {jdoc.get('flops_per_sample')} != check {flops}")
                    else:
                        res = {}
                        for b in netc_backends:
                            prev = samples.get(f"netc-{b}", [])
                            if prev and prev[-1]["wall_s"] > REPEAT_LIMIT_S:
                                continue
                            res.update(netc_bench(netc, example, batch, threads, seconds, backend=b)[1])
                    for b, m in res.items():
                        m["round"] = rnd
                        samples.setdefault(f"netc-{b}", []).append(m)
                        log(f"  round {rnd}: netc-{b:<8} median {m['median_ms']:9.2f} ms  p90 {m['p90_ms']:9.2f}  "
                            f"runs {m['runs']}  load {m['loadavg_1m']:.2f}")
                else:
                    prev = samples.get(eng, [])
                    if prev and prev[-1]["wall_s"] > REPEAT_LIMIT_S:
                        continue
                    m = time_fn(runners[eng], seconds, min_runs)
                    m["round"] = rnd
                    samples.setdefault(eng, []).append(m)
                    log(f"  round {rnd}: {eng:<13} median {m['median_ms']:9.2f} ms  p90 {m['p90_ms']:9.2f}  "
                        f"runs {m['runs']}  load {m['loadavg_1m']:.2f}")
        del runners

    for eng, ms in samples.items():
        best = min(ms, key=lambda m: m["median_ms"])
        e = engines.setdefault(eng, {})
        if eng.startswith("netc-"):
            e["check"] = netc_check
            e["prepare_ms"] = best["compile_ms"]
        e.update({k: best[k] for k in ("median_ms", "p90_ms", "runs", "cores_used", "loadavg_1m", "round")})
        e["all_medians_ms"] = [m["median_ms"] for m in ms]
        e["images_per_s"] = batch / (best["median_ms"] * 1e-3)
        e["gflops"] = flops * batch / (best["median_ms"] * 1e-3) / 1e9
    ort_med = engines.get("onnxruntime", {}).get("median_ms")
    pt_med = engines.get("pytorch", {}).get("median_ms")
    ov_med = engines.get("openvino", {}).get("median_ms")
    peers = [engines[p]["median_ms"] for p in FP32_PEERS if "median_ms" in engines.get(p, {})]
    best_fp32 = min(peers) if peers else None
    for e in engines.values():
        if "median_ms" in e:
            e["vs_ort"] = ort_med / e["median_ms"] if ort_med else None
            e["vs_pytorch"] = pt_med / e["median_ms"] if pt_med else None
            e["vs_fp32_peer"] = best_fp32 / e["median_ms"] if best_fp32 else None
            e["vs_openvino"] = ov_med / e["median_ms"] if ov_med else None
    return case


# --------------------------------------------------------------------------------------------
# Report


def fmt(v, spec):
    return "–" if v is None else format(v, spec)


def case_table(case):
    head = (f"### {case['case']}: `{case['example']}`, batch {case['batch']}, input {'x'.join(map(str, case['input_shape']))}, "
            f"{case['threads']} threads, {case['flops_per_sample'] / 1e9:.3f} GFLOP per sample\n\n")
    rows = ["| engine | median ms | p90 ms | images/s | GFLOP/s | vs best fp32 peer | vs OpenVINO default | "
            "vs ORT | vs PyTorch | load | output vs PyTorch |",
            "| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | --- |"]
    order = ["openvino-f32", "openvino", "onnxruntime", "onnxruntime-nospin", "pytorch", "tract"] + sorted(
        k for k in case["engines"] if k.startswith("netc-"))
    for eng in order:
        e = case["engines"].get(eng)
        if e is None:
            continue
        c = e.get("check")
        if c == "reference":
            chk = "reference"
        elif isinstance(c, float):
            chk = f"{c:.1e}" + (" ok" if c <= TOLERANCE else " **MISMATCH**")
        else:
            chk = str(c) if c is not None else "–"
        if "median_ms" not in e:
            rows.append(f"| {eng} | – | – | – | – | – | – | – | – | – | {e.get('error', chk)} |")
            continue
        name = f"{eng} ({e['precision']})" if e.get("precision") else eng
        rows.append(
            f"| {name} | {e['median_ms']:.2f} | {e['p90_ms']:.2f} | {e['images_per_s']:.1f} | {e['gflops']:.1f} | "
            f"{fmt(e.get('vs_fp32_peer'), '.2f')} | {fmt(e.get('vs_openvino'), '.2f')} | "
            f"{fmt(e.get('vs_ort'), '.2f')} | {fmt(e.get('vs_pytorch'), '.2f')} | {e['loadavg_1m']:.1f} | {chk} |")
    notes = "".join(f"\nNote: {n}\n" for n in case["notes"])
    return head + "\n".join(rows) + "\n" + notes


def report(meta, cases):
    m = meta["machine"]
    lines = [
        f"# netc vs OpenVINO, ONNX Runtime, PyTorch and tract — {meta['date']}",
        "",
        f"- machine: {m['cpu_model']}, {m['cpus']} cores, AVX-512F {'yes' if m['avx512f'] else 'no'}, "
        f"Linux {m['kernel']}; load average at start {' / '.join(f'{v:.2f}' for v in m['loadavg_start'])} (1/5/15 min), "
        f"at end {' / '.join(f'{v:.2f}' for v in meta['loadavg_end'])}",
        "- versions: " + ", ".join(f"{k} {v}" for k, v in meta["versions"].items()),
        f"- protocol: {meta['threads']} threads everywhere (tract: see note); per engine 2 warm-up runs, then >= "
        f"{meta['min_runs']} runs and >= {meta['seconds']} s; {meta['rounds']} round(s), engines in turn, "
        "best round's median kept (runs longer than 60 s are not repeated); float32; same generated weights "
        f"(seed 0) and input everywhere; PyTorch with OMP_WAIT_POLICY={meta['omp_wait_policy']}; "
        "onnxruntime = the default session (threads spin-wait), onnxruntime-nospin = "
        "`session.intra_op.allow_spinning=0`, shown for information",
        "- speed vs X = X's median / engine's median (> 1: faster than X); the best fp32 peer is the faster of "
        "OpenVINO in f32 and ONNX Runtime; OpenVINO default is its own precision choice (bf16 here). "
        "GFLOP/s = netc's FLOPs per sample "
        "x batch / median. load = 1-minute load average when that engine's best round started. "
        "Every round's median is in the JSON (`all_medians_ms`).",
        "- output vs PyTorch = max |engine - PyTorch| / max |PyTorch| over the output (netc: `netc run` output, "
        f"same weights and input), tolerance {TOLERANCE:g}",
        "",
    ]
    for n in meta["notes"]:
        lines.append(f"Note: {n}\n")
    for c in cases:
        lines.append(case_table(c))
    return "\n".join(lines) + "\n"


def versions(netc):
    v = {"python": platform.python_version(), "torch": torch.__version__, "numpy": np.__version__}
    for mod in ("onnx", "onnxruntime", "openvino"):
        try:
            v[mod] = __import__(mod).__version__
        except ImportError:
            v[mod] = "unavailable"
    try:
        import tract
        v["tract"] = tract.version()
    except ImportError:
        v["tract"] = "unavailable"
    v["netc"] = sh([netc, "--version"]).replace("netc ", "")
    commit = sh(["git", "-C", str(REPO), "rev-parse", "--short", "HEAD"])
    dirty = sh(["git", "-C", str(REPO), "status", "--porcelain", "--untracked-files=no", "--", "src", "Cargo.toml"])
    v["netc_commit"] = commit + ("-dirty" if dirty else "")
    return v


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--netc", help="the netc binary (default: $NETC or target/release/netc)")
    ap.add_argument("--cases", default=",".join(CASES), help=f"comma-separated subset of {', '.join(CASES)}")
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--seconds", type=float, default=None, help="minimum timed seconds per engine (default 2, quick 0.5)")
    ap.add_argument("--rounds", type=int, default=None, help="timing rounds (default 2, quick 1)")
    ap.add_argument("--quick", action="store_true", help="0.5 s and 3 runs per engine (netc: its own 10), one round")
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--out", type=Path, default=RESULTS, help="directory for <date>.md and <date>.json")
    ap.add_argument("--no-save", action="store_true", help="print only")
    ap.add_argument("--omp-default", action="store_true",
                    help="leave OMP_WAIT_POLICY alone (default: PASSIVE, so PyTorch's threads do not spin)")
    args = ap.parse_args()
    netc = oracle.find_netc(args.netc)
    if not Path(netc).exists():
        raise SystemExit(f"no netc binary at {netc}; build it with `cargo build --release` or pass --netc")
    names = [c.strip() for c in args.cases.split(",") if c.strip()]
    unknown = [c for c in names if c not in CASES]
    if unknown:
        raise SystemExit(f"unknown case(s) {', '.join(unknown)}; known: {', '.join(CASES)}")
    seconds = args.seconds if args.seconds is not None else (0.5 if args.quick else 2.0)
    rounds = args.rounds if args.rounds is not None else (1 if args.quick else 2)
    min_runs = 3 if args.quick else 10

    torch.set_num_threads(args.threads)
    torch.set_grad_enabled(False)
    now = datetime.datetime.now(datetime.timezone.utc)
    meta = {
        "date": now.strftime("%Y-%m-%d %H:%M UTC"),
        "machine": machine_info(),
        "versions": versions(netc),
        "threads": args.threads,
        "seconds": seconds,
        "min_runs": min_runs,
        "rounds": rounds,
        "quick": args.quick,
        "omp_wait_policy": os.environ.get("OMP_WAIT_POLICY", "(unset)"),
        "notes": [],
    }
    log = lambda s: print(s, file=sys.stderr, flush=True)  # noqa: E731
    log(f"{meta['machine']['cpu_model']}, {meta['machine']['cpus']} cores, load {meta['machine']['loadavg_start']}")
    log("versions: " + ", ".join(f"{k} {v}" for k, v in meta["versions"].items()))
    if meta["versions"]["tract"] == "unavailable":
        meta["notes"].append("tract unavailable: `pip install tract` (then `tract-python`) failed")
    else:
        meta["notes"].append("tract runs on one thread: its Python API (0.23) has no way to set tract's "
                             "executor, whose default is single-threaded; its ratios are 1 thread vs 2")
    cases = [run_case(n, netc, args.threads, seconds, min_runs, rounds, args.seed, log) for n in names]
    meta["loadavg_end"] = loadavg()
    text = report(meta, cases)
    print(text)
    if not args.no_save:
        args.out.mkdir(parents=True, exist_ok=True)
        stem = now.strftime("%Y-%m-%d")
        if (args.out / f"{stem}.md").exists() or (args.out / f"{stem}.json").exists():
            stem = now.strftime("%Y-%m-%d-%H%M")
        (args.out / f"{stem}.md").write_text(text)
        (args.out / f"{stem}.json").write_text(json.dumps({"meta": meta, "cases": cases}, indent=2) + "\n")
        log(f"wrote {args.out / stem}.md and .json")


if __name__ == "__main__":
    main()
