#!/usr/bin/env python3
"""A line's translation must not depend on the lines batched with it: translate a file with
--batch-size 1 and --batch-size 32 (greedy and beam 4) and compare. Differing lines are listed
with the scores of both outputs; a near-tie shows as two scores within float rounding.

    python tools/batch_consistency.py --model models/tiny.bin --src ../shared/data/multi30k/test_2016_flickr.en
"""
import argparse
import json
import os
import subprocess

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def run(binary, model, src, beam, batch):
    out = subprocess.run([binary, "--model", model, "--beam-size", str(beam), "--batch-size", str(batch),
                          "--output-format", "json", "--input", src], capture_output=True, text=True, check=True)
    return [json.loads(l) for l in out.stdout.splitlines()]


def main():
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--model", default=os.path.join(ROOT, "models", "tiny.bin"))
    p.add_argument("--src", required=True)
    p.add_argument("--binary", default=os.path.join(ROOT, ".build", "release", "translate"))
    args = p.parse_args()
    for beam in (1, 4):
        one = run(args.binary, args.model, args.src, beam, 1)
        many = run(args.binary, args.model, args.src, beam, 32)
        assert len(one) == len(many)
        diff = [i for i, (a, b) in enumerate(zip(one, many)) if a["tokens"] != b["tokens"]]
        print(f"beam {beam}: {len(one) - len(diff)}/{len(one)} identical ({1 - len(diff) / len(one):.2%})")
        for i in diff:
            print(f"  line {i + 1}: score {one[i]['score']:.6f} alone vs {many[i]['score']:.6f} in a batch\n"
                  f"    alone: {one[i]['translation']}\n    batch: {many[i]['translation']}")


if __name__ == "__main__":
    main()
