#!/usr/bin/env bash
# The test command (see README): prepares the CIFAR-10 test data when the shared data set is
# present (../shared/data/cifar10-jpeg.tgz), then runs the whole Rust test suite in release.
set -euo pipefail
cd "$(dirname "$0")/.."
if [ -f ../shared/data/cifar10-jpeg.tgz ]; then
    # Decoding the JPEGs is a data-preparation step shared with the PyTorch side (PIL decodes
    # both), so netc and PyTorch see identical pixels.
    python3 -c "import numpy, PIL" 2>/dev/null || python3 -m pip install --quiet numpy pillow
    python3 scripts/cifar_data.py --split test
fi
cargo test --release
