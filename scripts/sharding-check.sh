#!/usr/bin/env bash
# Checks the one rule of sharding: 4 processes over blocks of a 10,000-line file give the same
# bytes as one process over the whole file (greedy, tiny.bin). Prints both times.
set -euo pipefail
cd "$(dirname "$0")/.."
work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT
for i in $(seq 10); do cat ../shared/data/multi30k/test_2016_flickr.en; done > "$work/in.en"
start=$(date +%s.%N)
.build/release/translate -m models/tiny.bin --beam-size 1 --threads 2 "$work/in.en" > "$work/one.de"
middle=$(date +%s.%N)
scripts/translate-sharded.sh -m models/tiny.bin -j 4 -b 2500 -- --beam-size 1 < "$work/in.en" > "$work/four.de"
end=$(date +%s.%N)
echo "1 process × 2 threads: $(echo "$middle - $start" | bc) s; 4 processes × 1 thread: $(echo "$end - $middle" | bc) s"
cmp "$work/one.de" "$work/four.de" && echo "identical: $(wc -l < "$work/four.de") lines"
