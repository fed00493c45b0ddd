#!/usr/bin/env bash
# Command 1: install what is missing, build in release mode (translate, translate-server, nmt-quantize,
# nmt-inspect),
# translate the example input.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/install-deps.sh
swift build -c release
.build/release/translate --model models/tiny.bin --input examples/input.en
