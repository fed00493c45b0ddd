#!/usr/bin/env bash
# Command 2: install what is missing and run the whole test suite.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/install-deps.sh chromium
swift build --build-tests
swift test --skip-build

# Browser checks in headless Chromium (standard-library Python, the debug build).
# The attention page of a translated line renders with its labels, selectors and heatmap.
pages=$(mktemp -d)
trap 'rm -rf "$pages"' EXIT
echo "A dog runs on the beach. Two men are talking." |
    .build/debug/translate --model models/tiny.bin --attention-map "$pages" >/dev/null
python3 scripts/check-attention-page.py "$pages" --expect-source dog --expect-target Hund
# translate-server's web page: types a sentence, checks the translation, the alternatives and a
# screenshot.
python3 tools/page_check.py --server .build/debug/translate-server --translate .build/debug/translate
