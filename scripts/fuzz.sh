#!/usr/bin/env bash
# The long fuzz run of the model loader: FUZZ_CASES mutated model files (default 50,000),
# optionally under AddressSanitizer: scripts/fuzz.sh --sanitize=address
set -euo pipefail
cd "$(dirname "$0")/.."
FUZZ_CASES="${FUZZ_CASES:-50000}" swift test "$@" --filter FuzzTests 2>&1 | grep -E "fuzz:|passed|failed|error"
