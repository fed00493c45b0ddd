#!/usr/bin/env bash
# Our int8 and f32 matrix kernels against oneDNN's dnnl_gemm_u8s8s32 / dnnl_sgemm (what
# CTranslate2 calls) on the engine's shapes, 1 to 64 rows; not part of the Swift build.
#
#   apt-get install libdnnl-dev          # Debian's oneDNN (2.6.3 in bookworm), OpenMP threading
#   bash tools/kernel_bench/run.sh [--rounds 3] [--isas native,avx2,avx512bw] [--threads 1,2]
#                                  [--modes hot,cold] [--cold-rows 1,2,4,8,16] [--dtypes i8,f32]
#                                  [--check] [--dist uniform|normal] [--shapes 512x512,...] [--rows 1,2,...]
#
# Builds Sources/CKernels with the Swift toolchain's clang and the flags SwiftPM's release build
# uses (-O2, no -march: the kernels pick their instruction sets at run time; gcc cannot compile
# them, they use clang's vector extensions), links the harness against -ldnnl, then runs each
# (round, ISA, dtype, threads, mode, implementation) in its own process, implementations taking
# turns within a round, and prints best-of-rounds tables (tools/kernel_bench/summarize.py).
# Shapes (n × k, y = x · wᵀ): the OPUS-MT shape's 512×512 (attention), 2048×512 and 512×2048
# (feed-forward), 54688×512 (output projection); tiny.bin's 256×256, 1024×256, 256×1024, 8001×256.
# ISA caps: native (AVX-512 VNNI here), avx512bw (AVX-512 without VNNI: oneDNN avx512_core, ours
# nmt_limit_i8_kernel; 1 thread), avx2 (NMT_ISA=avx2, ONEDNN_MAX_CPU_ISA=AVX2 and
# dnnl_set_max_cpu_isa).
set -euo pipefail
HERE="$(cd "$(dirname "$0")" && pwd)"
ROOT="$(cd "$HERE/../.." && pwd)"
K="$ROOT/Sources/CKernels"
CC="${CC:-$(command -v /opt/swift/usr/bin/clang || command -v clang)}"
OUT="${OUT:-$ROOT/.build/kernel_bench}"
ROUNDS=3 ISAS=native,avx2 COLD_ROWS=1,2,4,8,16 THREADS=1,2 MODES=hot,cold DTYPES=i8,f32 CHECK= EXTRA=()
while [ $# -gt 0 ]; do
    case "$1" in
    --rounds) ROUNDS=$2; shift 2 ;;
    --isas) ISAS=$2; shift 2 ;;
    --threads) THREADS=$2; shift 2 ;;
    --modes) MODES=$2; shift 2 ;;
    --dtypes) DTYPES=$2; shift 2 ;;
    --check) CHECK=--check; shift ;;
    --cold-rows) COLD_ROWS=$2; shift 2 ;;
    --dist) EXTRA+=(--dist "$2"); shift 2 ;;
    --shapes|--rows|--repeats|--batch-ms) EXTRA+=("$1" "$2"); shift 2 ;;
    *) echo "unknown argument $1" >&2; exit 2 ;;
    esac
done

mkdir -p "$OUT/obj"
for f in "$K"/*.c; do
    "$CC" -O2 -fPIC -fno-omit-frame-pointer -I"$K/include" -c "$f" -o "$OUT/obj/$(basename "$f").o"
done
"$CC" -O2 -I"$K" -I"$K/include" -c "$HERE/onednn_vs_ours.c" -o "$OUT/main.o"
"$CC" -o "$OUT/onednn_vs_ours" "$OUT/main.o" "$OUT"/obj/*.o -ldnnl -lgomp -lpthread -lm

RESULTS="$OUT/results-$(date -u +%Y%m%dT%H%M%S).tsv"
echo "# $(date -u) load $(cut -d' ' -f1-3 /proc/loadavg); $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2)" >"$RESULTS"
for round in $(seq "$ROUNDS"); do
    echo "round $round, load $(cut -d' ' -f1-3 /proc/loadavg)" >&2
    for isa in ${ISAS//,/ }; do
        env=()
        [ "$isa" = avx2 ] && env=(NMT_ISA=avx2 ONEDNN_MAX_CPU_ISA=AVX2)
        for dtype in ${DTYPES//,/ }; do
            [ "$isa" = avx512bw ] && [ "$dtype" = f32 ] && continue  # no f32 difference from native
            for threads in ${THREADS//,/ }; do
                [ "$isa" = avx512bw ] && [ "$threads" != 1 ] && continue
                for mode in ${MODES//,/ }; do
                    rows=()
                    [ "$mode" = cold ] && rows=(--rows "$COLD_ROWS")  # cold matters where weights dominate
                    for impl in ours onednn; do
                        env "${env[@]}" OMP_NUM_THREADS="$threads" "$OUT/onednn_vs_ours" --impl "$impl" --dtype "$dtype" \
                            --threads "$threads" --mode "$mode" --isa "$isa" $CHECK "${rows[@]}" "${EXTRA[@]}" >>"$RESULTS"
                    done
                done
            done
        done
    done
    echo "# round $round done, load $(cut -d' ' -f1-3 /proc/loadavg)" >>"$RESULTS"
done
echo "results: $RESULTS" >&2
[ -f "$HERE/summarize.py" ] && python3 "$HERE/summarize.py" "$RESULTS"
