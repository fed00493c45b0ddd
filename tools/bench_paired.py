#!/usr/bin/env python3
"""Ours / CTranslate2 as paired rounds: a pass of our `translate`, then a pass of CTranslate2 kept
warm in this process, the ratio taken per round. On a machine whose neighbours slow it down for
seconds at a time, the two passes of a round see about the same machine, so the median of the
per-round ratios moves far less than a ratio of two separately measured speeds.

Uses the CTranslate2 conversion that tools/bench.py makes (run it once first).

    python tools/bench_paired.py [--model tiny] [--batch 1] [--beam 1] [--rounds 12]
"""
import argparse
import os
import statistics
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
import bench  # noqa: E402  (tools/ is not a package)


def main():
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--model", default="tiny", choices=["tiny", "opus-mt-shape"])
    p.add_argument("--batch", type=int, default=1)
    p.add_argument("--beam", type=int, default=1)
    p.add_argument("--lines", type=int, default=12)
    p.add_argument("--rounds", type=int, default=12)
    p.add_argument("--data", default=os.path.join(bench.ROOT, "..", "shared", "data", "multi30k", "test_2016_flickr.en"))
    p.add_argument("--binary", default=os.path.join(bench.ROOT, ".build", "release", "translate"))
    args = p.parse_args()
    os.environ.update(OMP_NUM_THREADS=str(bench.THREADS), MKL_NUM_THREADS=str(bench.THREADS))
    import ctranslate2
    import sentencepiece as spm

    if args.model == "tiny":
        bin_path = os.path.join(bench.ROOT, "models", "tiny.bin")
        hf_dir = os.path.join(bench.ROOT, "runs", "bench", "tiny-hf")
    else:
        bin_path = os.path.join(bench.ROOT, "runs", "parity", "opus-mt-shape.f32.bin")
        hf_dir = os.path.join(bench.ROOT, "runs", "parity", "opus-mt-shape")
    ct2_dir = os.path.join(bench.ROOT, "runs", "bench", f"{args.model}-ct2")
    if not os.path.exists(os.path.join(ct2_dir, "model.bin")):
        sys.exit(f"{ct2_dir} is missing: run tools/bench.py --models {args.model} first")
    with open(args.data, encoding="utf-8") as f:
        lines = [l.rstrip("\n") for l in f][:args.lines]

    translator = ctranslate2.Translator(ct2_dir, device="cpu", inter_threads=1, intra_threads=bench.THREADS)
    sp = spm.SentencePieceProcessor(model_file=os.path.join(hf_dir, "source.spm"))
    src = [sp.encode(l, out_type=str) + ["</s>"] for l in lines]

    def ctranslate2_pass():
        start = time.perf_counter()
        for s in range(0, len(src), args.batch):
            translator.translate_batch(src[s:s + args.batch], beam_size=args.beam, min_decoding_length=bench.LENGTH,
                                       max_decoding_length=bench.LENGTH, max_batch_size=args.batch)
        return len(lines) * bench.LENGTH / (time.perf_counter() - start)

    ctranslate2_pass()  # warm-up
    # Our translating time is a run's time minus loading, taken as the floor of 5 empty runs (a
    # slowed-down empty run subtracted from its own round would inflate that round's speed).
    load = min(bench.time_ours(args.binary, bin_path, args.batch, args.beam, "")[0] for _ in range(5))
    text = "\n".join(lines) + "\n"
    ours, theirs = [], []
    for _ in range(args.rounds):
        total, _ = bench.time_ours(args.binary, bin_path, args.batch, args.beam, text)
        ours.append(len(lines) * bench.LENGTH / (total - load))
        theirs.append(ctranslate2_pass())
    ratios = [o / c for o, c in zip(ours, theirs)]
    print(f"{args.model}, batch {args.batch}, beam {args.beam}, {args.rounds} rounds: "
          f"ours median {statistics.median(ours):.0f} tok/s (best {max(ours):.0f}), "
          f"CTranslate2 median {statistics.median(theirs):.0f} (best {max(theirs):.0f}); "
          f"ours / CT2 per round: median {statistics.median(ratios):.2f}× (min {min(ratios):.2f}, max {max(ratios):.2f})")


if __name__ == "__main__":
    main()
