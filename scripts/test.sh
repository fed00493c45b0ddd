#!/usr/bin/env bash
# Command 2: install what is missing and run the whole test suite.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/install-deps.sh chromium
swift build --build-tests
swift test --skip-build
# translate-server's web page in headless Chromium: types a sentence, checks the translation, the
# alternatives and a screenshot (standard-library Python, the debug build).
python3 tools/page_check.py --server .build/debug/translate-server --translate .build/debug/translate
