#!/usr/bin/env python3
"""Our attention against transformers' on random-weight MarianMT models of real OPUS-MT
configurations (built as tools/parity.py builds them, no download), and --alignment on 1,000 lines.

1. `translate --attention --beam-size 1 --split none` on N lines (20) against
   `generate(num_beams=1, output_attentions=True)`: the last decoder layer's cross-attention,
   averaged over heads, row by row (row i: the step that generated target piece i). Lines whose
   tokens differ are reported, not compared.
2. `translate --alignment` on the 1,000 lines of test_2016_flickr: every line parses as
   `translation ||| s-t ...` and every index lies within the source line's and the
   translation's words. Run on the same models (greedy, as above) and on models/tiny.bin
   (default beam 4).

    python tools/attention_parity.py [--lines 20] [--work runs/parity]
"""
import json
import os
import subprocess
import sys

import torch
from transformers import MarianMTModel, MarianTokenizer

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)
sys.path.insert(0, HERE)
from convert_marian import convert  # noqa: E402
from parity import SHAPES, argument_parser, build  # noqa: E402


def ours_attention(binary, model, lines, max_length):
    out = subprocess.run([binary, "--model", model, "--beam-size", "1", "--max-length", str(max_length),
                          "--split", "none", "--output-format", "json", "--attention", "--threads", "2"],
                         input="\n".join(lines) + "\n", capture_output=True, text=True, check=True)
    return [json.loads(l) for l in out.stdout.splitlines()]


def reference_attention(model, tok, line, max_length):
    """Generated ids and the last layer's head-mean cross-attention, [steps][source pieces]."""
    enc = tok([line], return_tensors="pt")
    pad = model.config.pad_token_id
    with torch.inference_mode():
        g = model.generate(**enc, num_beams=1, do_sample=False, max_new_tokens=max_length,
                           forced_eos_token_id=None, bad_words_ids=[[pad]], output_attentions=True,
                           return_dict_in_generate=True)
    ids = g.sequences[0, 1:].tolist()
    if model.config.eos_token_id in ids:
        ids = ids[:ids.index(model.config.eos_token_id) + 1]
    # cross_attentions: per step, per layer [batch, heads, 1, source]
    rows = [step[-1][0].mean(0)[0].tolist() for step in g.cross_attentions[:len(ids)]]
    return ids, rows


def check_alignment(binary, model, lines, extra=()):
    out = subprocess.run([binary, "--model", model, "--alignment", "--threads", "2", *extra],
                         input="\n".join(lines) + "\n", capture_output=True, text=True, check=True)
    outputs = out.stdout.splitlines()
    assert len(outputs) == len(lines), f"{len(outputs)} output lines for {len(lines)}"
    bad, pairs = [], 0
    for n, (line, output) in enumerate(zip(lines, outputs), 1):
        translation, sep, alignment = output.rpartition(" ||| ")
        if not sep:
            bad.append((n, "no ' ||| '"))
            continue
        source_words, target_words = len(line.split()), len(translation.split())
        for pair in alignment.split():
            s, t = (int(x) for x in pair.split("-"))
            pairs += 1
            if not (0 <= s < source_words and 0 <= t < target_words):
                bad.append((n, f"{pair} out of {source_words} source / {target_words} target words"))
    return {"lines": len(lines), "pairs": pairs, "invalid": len(bad), "examples": bad[:5]}


def main():
    p = argument_parser(__doc__)
    p.add_argument("--lines", type=int, default=20)
    p.add_argument("--alignment-lines", type=int, default=1000)
    p.add_argument("--max-length", type=int, default=48)
    p.add_argument("--init-std", type=float, default=0.1)
    p.add_argument("--shapes", default="small,opus-mt-shape")
    p.add_argument("--tolerance", type=float, default=1e-3)
    args = p.parse_args()
    torch.set_num_threads(2)
    os.makedirs(args.work, exist_ok=True)
    with open(args.data, encoding="utf-8") as f:
        all_lines = [l.rstrip("\n") for l in f]
    lines = all_lines[:args.lines]
    report, ok = {}, True
    for seed, shape in enumerate(args.shapes.split(",")):
        hf_dir = os.path.join(args.work, shape)
        build(args.opus, hf_dir, SHAPES[shape], seed, args.init_std)
        binary_model = os.path.join(args.work, f"{shape}.f32.bin")
        if not os.path.exists(binary_model):
            convert(hf_dir, binary_model, "f32")
        model = MarianMTModel.from_pretrained(hf_dir, attn_implementation="eager").eval()
        tok = MarianTokenizer.from_pretrained(hf_dir)
        ours = ours_attention(args.binary, binary_model, lines, args.max_length)
        worst, compared, differing = 0.0, 0, []
        for n, (line, o) in enumerate(zip(lines, ours)):
            ids, rows = reference_attention(model, tok, line, args.max_length)
            if o["nbest"][0]["ids"] != ids:
                differing.append(n)
                continue
            weights = o["attention"][0]["weights"]
            assert len(weights) == len(rows) and len(weights[0]) == len(rows[0]), "shapes differ"
            worst = max(worst, max(abs(a - b) for wr, rr in zip(weights, rows) for a, b in zip(wr, rr)))
            compared += 1
        entry = {"lines": len(lines), "compared": compared, "tokens_differ": differing,
                 "max_abs_difference": worst, "alignment": check_alignment(
                     args.binary, binary_model, all_lines[:args.alignment_lines],
                     ["--beam-size", "1", "--max-length", str(args.max_length)])}
        ok &= worst <= args.tolerance and compared > 0 and entry["alignment"]["invalid"] == 0
        report[shape] = entry
        print(f"{shape}: cross-attention (last layer, head mean) on {compared}/{len(lines)} lines: "
              f"max abs difference {worst:.2e}; alignment: {entry['alignment']}", flush=True)
    tiny = check_alignment(args.binary, os.path.join(ROOT, "models", "tiny.bin"), all_lines[:args.alignment_lines])
    report["tiny.bin alignment"] = tiny
    ok &= tiny["invalid"] == 0
    print(f"tiny.bin alignment: {tiny}")
    with open(os.path.join(args.work, "attention-report.json"), "w") as f:
        json.dump(report, f, indent=1)
    sys.exit(0 if ok else 1)


if __name__ == "__main__":
    main()
