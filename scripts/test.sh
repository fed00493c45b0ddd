#!/usr/bin/env bash
# Command 2: install what is missing and run the whole test suite.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/install-deps.sh test
swift build --build-tests
swift test --skip-build

# The attention page of a translated line renders in headless Chromium with its labels.
pages=$(mktemp -d)
trap 'rm -rf "$pages"' EXIT
echo "A dog runs on the beach. Two men are talking." |
    .build/debug/translate --model models/tiny.bin --attention-map "$pages" >/dev/null
python3 scripts/check-attention-page.py "$pages" --expect-source dog --expect-target Hund
