#!/usr/bin/env python3
"""BLEU of our Swift `translate` on a test set (sacrebleu defaults: cased, 13a, detokenized).

    python tools/evaluate.py --model models/tiny.bin \
        --src ../shared/data/multi30k/test_2016_flickr.en --ref ../shared/data/multi30k/test_2016_flickr.de
"""
import argparse
import os
import subprocess
import time

import sacrebleu

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def main():
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--model", default=os.path.join(ROOT, "models", "tiny.bin"))
    p.add_argument("--src", required=True)
    p.add_argument("--ref", required=True)
    p.add_argument("--binary", default=os.path.join(ROOT, ".build", "release", "translate"))
    p.add_argument("--beams", default="1,4")
    p.add_argument("--length-penalty", default="1.0")
    p.add_argument("--save", help="folder to write the hypotheses to")
    args = p.parse_args()
    with open(args.ref, encoding="utf-8") as f:
        refs = [l.rstrip("\n") for l in f]
    for beam in args.beams.split(","):
        start = time.time()
        out = subprocess.run([args.binary, "--model", args.model, "--beam-size", beam,
                              "--length-penalty", args.length_penalty, "--input", args.src],
                             capture_output=True, text=True, check=True)
        hyps = out.stdout.splitlines()
        assert len(hyps) == len(refs), f"{len(hyps)} outputs for {len(refs)} references"
        bleu = sacrebleu.corpus_bleu(hyps, [refs])
        print(f"beam {beam}: BLEU {bleu.score:.2f} ({bleu}) in {time.time() - start:.1f} s", flush=True)
        if args.save:
            os.makedirs(args.save, exist_ok=True)
            with open(os.path.join(args.save, f"beam{beam}.txt"), "w", encoding="utf-8") as f:
                f.write(out.stdout)


if __name__ == "__main__":
    main()
