#!/usr/bin/env python3
"""Record what transformers outputs with the weights of models/tiny.bin for a few fixed
sentences (the first lines of examples/input.en), for the test that checks tiny.bin's exact
translations: Tests/NMTTests/Fixtures/tiny-expected.json.

    python tools/record_tiny.py
"""
import json
import os
import sys
import tempfile

import torch
from transformers import MarianMTModel, MarianTokenizer

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)
sys.path.insert(0, HERE)
from bench import hf_from_bin  # noqa: E402


def main():
    with open(os.path.join(ROOT, "examples", "input.en"), encoding="utf-8") as f:
        sentences = [l.rstrip("\n") for l in f][:6]
    with tempfile.TemporaryDirectory() as tmp:
        hf_from_bin(os.path.join(ROOT, "models", "tiny.bin"), tmp)
        model = MarianMTModel.from_pretrained(tmp).eval()
        tok = MarianTokenizer.from_pretrained(tmp)
        pad = model.config.pad_token_id
        out = {"sentences": sentences, "max_length": 64}
        enc = tok(sentences, return_tensors="pt", padding=True)
        with torch.inference_mode():
            for name, beams in (("greedy", 1), ("beam4", 4)):
                g = model.generate(**enc, num_beams=beams, do_sample=False, max_new_tokens=64, length_penalty=1.0,
                                   early_stopping=False, forced_eos_token_id=None, bad_words_ids=[[pad]])
                out[name] = tok.batch_decode(g, skip_special_tokens=True)
    path = os.path.join(ROOT, "Tests", "NMTTests", "Fixtures", "tiny-expected.json")
    with open(path, "w", encoding="utf-8") as f:
        json.dump(out, f, ensure_ascii=False, indent=1)
    for s, t in zip(sentences, out["beam4"]):
        print(f"{s}\n  {t}")


if __name__ == "__main__":
    main()
