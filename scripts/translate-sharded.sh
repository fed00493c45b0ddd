#!/usr/bin/env bash
# Translates a large file with several `translate` processes, on this machine or on others, with
# GNU parallel: the input is cut into blocks of whole lines, each block is translated by its own
# process, and the outputs are written in input order (--keep-order). Because every input line
# gives exactly one output line and a line's translation does not depend on what else is in its
# batch, the result is byte-identical to one process translating the whole file.
#
#   scripts/translate-sharded.sh -m MODEL [-j JOBS] [-t THREADS] [-S HOSTS] [-- TRANSLATE-OPTIONS] < in > out
#
#   -j JOBS     processes at once per host (default: cores / threads)
#   -t THREADS  threads per process (default 1: several single-threaded processes use the
#               cores without a thread pool per process competing for them)
#   -S HOSTS    other machines, as GNU parallel's --sshlogin (e.g. "4/user@host1,4/user@host2");
#               each needs the same `translate` binary and model at the same paths
#   -b LINES    lines per block (default 2000)
set -euo pipefail
cd "$(dirname "$0")/.."
model="" jobs="" threads=1 hosts="" block=2000
while getopts "m:j:t:S:b:h" opt; do
    case "$opt" in
        m) model="$OPTARG" ;;
        j) jobs="$OPTARG" ;;
        t) threads="$OPTARG" ;;
        S) hosts="$OPTARG" ;;
        b) block="$OPTARG" ;;
        *) sed -n '2,17p' "$0" >&2; exit 2 ;;
    esac
done
shift $((OPTIND - 1))
[ "${1:-}" = "--" ] && shift
[ -n "$model" ] || { echo "error: -m MODEL is required" >&2; exit 2; }
command -v parallel >/dev/null || { echo "error: GNU parallel is missing (apt-get install parallel)" >&2; exit 1; }
binary="$(pwd)/.build/release/translate"
[ -x "$binary" ] || { echo "error: $binary is missing (swift build -c release --product translate)" >&2; exit 1; }
[ -n "$jobs" ] || jobs=$(( $(nproc) / threads > 0 ? $(nproc) / threads : 1 ))
model="$(realpath "$model")"
remote=()
[ -n "$hosts" ] && remote=(--sshlogin "$hosts")
# --read-ahead: a block is translated as one window, sorted by length inside it.
exec parallel --pipe --keep-order -N "$block" --jobs "$jobs" "${remote[@]}" \
    "$binary" --model "$model" --threads "$threads" --read-ahead "$block" "$@"
