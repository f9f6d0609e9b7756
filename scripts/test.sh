#!/usr/bin/env bash
# The test command (see README): prepares the CIFAR-10 test data when the shared data set is
# present (../shared/data/cifar10-jpeg.tgz), then runs the whole Rust test suite in release.
set -euo pipefail
cd "$(dirname "$0")/.."
if [ -f ../shared/data/cifar10-jpeg.tgz ]; then
    # Decoding the JPEGs is a data-preparation step shared with the PyTorch side (PIL decodes
    # both), so netc and PyTorch see identical pixels. numpy and pillow go into a virtual
    # environment of netc's own, never into the system Python.
    venv="${NETC_VENV:-$HOME/.cache/netc-data/venv}"
    if ! "$venv/bin/python" -c "import numpy, PIL" 2>/dev/null; then
        python3 -m venv "$venv"
        "$venv/bin/python" -m pip install --quiet numpy pillow
    fi
    "$venv/bin/python" scripts/cifar_data.py --split test
fi
cargo test --release
