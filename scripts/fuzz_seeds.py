"""Seeds the corpus of the compiler's fuzz targets (fuzz/corpus/<target>/seed-*), from the
example networks, the UI test cases and the book's networks, in the input format of
`netc::fuzz::Case` (`%shape` header, `%file` parts for imports). The `onnx` target gets
models that netc writes (`netc emit onnx`) of small networks; the `weights` target weight
files for its networks, with the names and shapes `netc check --format json` lists (and one
tensor missing, one mis-shaped, one in bfloat16). Needs only the standard library and a
release build of netc (`cargo build --release`).

    python scripts/fuzz_seeds.py   # any Python 3 (the dev venv's is fine)
"""
import hashlib
import json
import pathlib
import struct
import re
import subprocess
import tempfile

ROOT = pathlib.Path(__file__).resolve().parent.parent
NETC = ROOT / "target" / "release" / "netc"
CORPUS = ROOT / "fuzz" / "corpus"
MAX_SOURCE = 16 << 10  # netc::fuzz::MAX_SOURCE

# The networks of netc::fuzz::WEIGHTS_NETWORKS, in its order (the `weights` target's first byte).
WEIGHTS_NETWORKS = [
    "input x: 2x4x4\noutput x -> conv(3, 3) -> relu -> flatten -> dense(2)\n",
    "input x: 2x4x4\noutput x -> conv(2, 1, bias = false) -> batchnorm -> residual { conv(2, 3) } -> global_avgpool -> flatten -> dense(3)\n",
    "input x: 4x2x2\noutput x -> layernorm -> scale -> conv(4, 1, groups = 4) -> flatten\n",
]


def write(target, name, data):
    folder = CORPUS / target
    folder.mkdir(parents=True, exist_ok=True)
    if isinstance(data, str):
        data = data.encode()
    (folder / f"seed-{name}-{hashlib.sha1(data).hexdigest()[:8]}").write_bytes(data)


def safetensors(tensors):
    """A `.safetensors` file of `(name, dtype, shape, values)`, values as float32 or bfloat16."""
    header, data = {}, b""
    for name, dtype, shape, values in tensors:
        raw = b"".join(struct.pack("<f", v) if dtype == "F32" else struct.pack("<f", v)[2:] for v in values)
        header[name] = {"dtype": dtype, "shape": shape, "data_offsets": [len(data), len(data) + len(raw)]}
        data += raw
    text = json.dumps(header).encode()
    return struct.pack("<Q", len(text)) + text + data


def weight_files(source, tmp):
    """Weight files for `source`: all its weights, then three that netc rejects or converts."""
    net = tmp / "weights.net"
    net.write_text(source)
    graph = json.loads(subprocess.run([NETC, "check", net, "--format", "json"], capture_output=True,
                                      check=True).stdout)
    specs = [(w["name"], w["shape"]) for n in graph["network"]["layers"] for w in n["weights"]]
    full = [(name, "F32", shape, [0.01 * i for i in range(prod(shape))]) for name, shape in specs]
    yield "all", full
    yield "missing", full[1:]
    yield "misshaped", [(full[0][0], "F32", [1], [1.0])] + full[1:]
    yield "bf16", [(name, "BF16", shape, values) for name, _, shape, values in full]


def prod(shape):
    n = 1
    for d in shape:
        n *= d
    return n


def with_imports(path):
    """The file's text, its imports of `lib/...` rewritten to the sandbox's flat folder and
    appended as `%file` parts."""
    text = path.read_text()
    parts = []
    for imported in re.findall(r'import\s+"([^"]+)"', text):
        lib = (path.parent / imported)
        flat = pathlib.PurePath(imported).name
        text = text.replace(f'"{imported}"', f'"{flat}"')
        if lib.is_file():
            parts.append(f"\n%file {flat}\n{lib.read_text()}")
    return text + "".join(parts)


def networks():
    files = sorted(ROOT.glob("examples/**/*.net")) + sorted(ROOT.glob("tests/ui/*.net"))
    files += sorted(ROOT.glob("book/src/**/*.net")) + [ROOT / "grammar" / "prelude.net"]
    for f in files:
        yield f.stem, with_imports(f)


def main():
    for name, text in networks():
        if len(text.encode()) > MAX_SOURCE:
            continue
        for target in ["check", "fmt", "lsp"]:
            write(target, name, text if target != "lsp" else "\x03\x05\x00\x09" + text)
        # Small input shapes keep the pipeline's networks tiny enough to run.
        for shape in ["3x8x8", "3x4x4", "1x2x2"]:
            write("pipeline", f"{name}-{shape}", f"%shape {shape}\n{text}")
            write("check", f"{name}-{shape}", f"%shape {shape}\n{text}")
    with tempfile.TemporaryDirectory() as tmp:
        tmp = pathlib.Path(tmp)
        for i, source in enumerate(WEIGHTS_NETWORKS):
            for kind, tensors in weight_files(source, tmp):
                write("weights", f"net{i}-{kind}", bytes([i]) + safetensors(tensors))
        sources = WEIGHTS_NETWORKS + [
            "input x: 3x8x8\noutput x -> conv(4, 3, stride = 2) -> batchnorm -> relu -> maxpool(2) -> flatten -> dense(5) -> softmax\n",
            "input x: 4x6x6\nlet a = x -> conv(4, 1)\nlet b = x -> conv(4, 3, groups = 2)\noutput add(a, b) -> concat(x) -> avgpool(2) -> upsample(2) -> global_avgpool\n",
            "input x: 3x6x6\nlet view = x -> flatten\noutput view -> dense(4) -> sigmoid\n",
        ]
        for i, source in enumerate(sources):
            net, onnx = tmp / f"n{i}.net", tmp / f"n{i}.onnx"
            net.write_text(source)
            if subprocess.run([NETC, "emit", "onnx", net, "-o", onnx], capture_output=True).returncode != 0:
                continue
            write("onnx", f"net{i}", onnx.read_bytes())


if __name__ == "__main__":
    main()
