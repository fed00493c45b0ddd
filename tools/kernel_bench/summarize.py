#!/usr/bin/env python3
"""Tables from tools/kernel_bench/run.sh's results: each measurement's best (lowest time) over the
rounds of one or more result files, as GOP/s (2·rows·n·k / time) of ours and oneDNN, and their
ratio, one table per (dtype, ISA cap, threads, mode): a row per shape, a column per row count.

    python3 tools/kernel_bench/summarize.py RESULTS.tsv [MORE.tsv ...] [--detail]
"""
import sys
from collections import defaultdict

OPUS = ("512x512", "2048x512", "512x2048", "54688x512")
TINY = ("256x256", "1024x256", "256x1024", "8001x256")


def main():
    files = [a for a in sys.argv[1:] if not a.startswith("--")]
    best = {}
    isa_names = {}
    comments = []
    for path in files:
        for line in open(path):
            if line.startswith("#"):
                if "MISMATCH" in line or "check" in line:
                    comments.append(line.strip())
                continue
            f = line.rstrip("\n").split("\t")
            if len(f) != 10:
                continue
            impl, dtype, isa, threads, mode, kernel, shape, rows, us, gops = f
            key = (dtype, isa, int(threads), mode, impl, shape, int(rows))
            if key not in best or float(us) < best[key][0]:
                best[key] = (float(us), float(gops))
            if impl == "ours":
                isa_names[(dtype, isa)] = kernel
    groups = sorted({k[:4] for k in best}, key=lambda g: (g[0], ["native", "avx512bw", "avx2"].index(g[1])
                                                          if g[1] in ("native", "avx512bw", "avx2") else 9, g[2], g[3]))
    slower = []
    for dtype, isa, threads, mode in groups:
        rows = sorted({k[6] for k in best if k[:4] == (dtype, isa, threads, mode)})
        shapes = [s for s in OPUS + TINY if any(k[5] == s and k[:4] == (dtype, isa, threads, mode) for k in best)]
        kernel = isa_names.get((dtype, isa), "?")
        print(f"\n{dtype}, ISA cap {isa} (ours: {kernel}), {threads} thread{'s' if threads > 1 else ''}, {mode}: "
              "GOP/s ours / oneDNN (ours ÷ oneDNN)" + (", oneDNN int8 = dnnl_gemm_u8s8s32 alone" if dtype == "i8" else ""))
        print("\n| n × k | " + " | ".join(f"{r} rows" for r in rows) + " |")
        print("|---|" + "---|" * len(rows))
        for shape in shapes:
            cells = []
            for r in rows:
                o = best.get((dtype, isa, threads, mode, "ours", shape, r))
                d = best.get((dtype, isa, threads, mode, "onednn", shape, r))
                q = best.get((dtype, isa, threads, mode, "onednn+dq", shape, r))
                if not o or not d:
                    cells.append("—")
                    continue
                ratio = d[0] / o[0]
                cells.append(f"{o[1]:.0f} / {d[1]:.0f} ({ratio:.2f})")
                if ratio < 1:
                    with_dq = f"; with dequantization {q[0] / o[0]:.2f}" if q else ""
                    slower.append(f"{dtype} {isa} {threads}T {mode} {shape} rows {r}: ours {o[1]:.0f}, oneDNN "
                                  f"{d[1]:.0f} GOP/s, ours ÷ oneDNN {ratio:.2f}{with_dq}")
            print(f"| {shape} | " + " | ".join(cells) + " |")
    print("\nWhere oneDNN is faster (ours ÷ oneDNN < 1):")
    for s in slower:
        print("  " + s)
    for c in sorted(set(c for c in comments if "MISMATCH" not in c)):
        print(c)


if __name__ == "__main__":
    main()
