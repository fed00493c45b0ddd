#!/usr/bin/env python3
"""Compare our engine with Hugging Face transformers on random-weight MarianMT models.

Builds (no download) a model of the real OPUS-MT shape from ../shared/data/opus-mt-en-mg (its
config, SentencePiece models and vocabulary; 512 wide, 6+6 layers, 54,688 pieces) and a small
one with the same tokenizer, converts both (f32 and f16), then on the 1,000 lines of Multi30k
test_2016_flickr.en compares:
  - source ids (MarianTokenizer vs ours) and detokenization,
  - greedy and beam-4 outputs of `translate` vs `generate` (same max length and length penalty),
  - teacher-forced logits on a sample of lines (max abs difference),
and explains every differing line by the log-probability gap at the first differing step.

    python tools/parity.py [--lines 1000] [--max-length 48] [--work runs/parity]
"""
import argparse
import json
import os
import shutil
import subprocess
import sys
import time

import numpy as np
import torch
from transformers import MarianConfig, MarianMTModel, MarianTokenizer

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)
sys.path.insert(0, HERE)
from convert_marian import convert  # noqa: E402

SHAPES = {
    "opus-mt-shape": {},  # the real config as is
    "small": {"d_model": 128, "encoder_layers": 2, "decoder_layers": 2, "encoder_attention_heads": 4,
              "decoder_attention_heads": 4, "encoder_ffn_dim": 256, "decoder_ffn_dim": 256},
}


def build(opus_dir, out_dir, overrides, seed, init_std):
    """A random-weight MarianMT checkpoint with the real tokenizer files. Weights are drawn wider
    than the training init so that next-token distributions are peaked as in a trained model
    (with init_std 0.02 nearly every step would be a near-tie among 54,688 tokens)."""
    if os.path.exists(os.path.join(out_dir, "model.safetensors")):
        return
    with open(os.path.join(opus_dir, "config.json")) as f:
        cfg = json.load(f)
    cfg.update(overrides)
    cfg["init_std"] = init_std
    for k in ("_num_labels", "id2label", "label2id", "architectures", "model_type"):
        cfg.pop(k, None)
    torch.manual_seed(seed)
    model = MarianMTModel(MarianConfig(**cfg)).eval()
    with torch.no_grad():
        model.final_logits_bias.normal_(0, 0.5)
    os.makedirs(out_dir, exist_ok=True)
    model.save_pretrained(out_dir)
    for name in ("source.spm", "target.spm", "vocab.json", "tokenizer_config.json"):
        shutil.copy(os.path.join(opus_dir, name), os.path.join(out_dir, name))


def argument_parser(doc):
    """The options every parity tool shares: where the OPUS-MT files, the test lines, the work
    folder and our binary are."""
    p = argparse.ArgumentParser(description=doc, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--opus", default=os.path.join(ROOT, "..", "shared", "data", "opus-mt-en-mg"))
    p.add_argument("--data", default=os.path.join(ROOT, "..", "shared", "data", "multi30k", "test_2016_flickr.en"))
    p.add_argument("--work", default=os.path.join(ROOT, "runs", "parity"))
    p.add_argument("--binary", default=os.path.join(ROOT, ".build", "release", "translate"))
    return p


def run_ours(binary, model, lines, beam, max_length, lp, batch):
    args = [binary, "--model", model, "--beam-size", str(beam), "--max-length", str(max_length),
            "--length-penalty", str(lp), "--batch-size", str(batch), "--output-format", "json", "--threads", "2"]
    start = time.time()
    out = subprocess.run(args, input="\n".join(lines) + "\n", capture_output=True, text=True, check=True)
    took = time.time() - start
    return [json.loads(l) for l in out.stdout.splitlines()], took


def run_hf(model, tok, lines, beam, max_length, lp, batch):
    pad = model.config.pad_token_id
    results = [None] * len(lines)
    order = sorted(range(len(lines)), key=lambda i: len(lines[i]))
    start = time.time()
    with torch.inference_mode():
        for s in range(0, len(order), batch):
            idx = order[s:s + batch]
            enc = tok([lines[i] for i in idx], return_tensors="pt", padding=True)
            g = model.generate(**enc, num_beams=beam, do_sample=False, max_new_tokens=max_length,
                               length_penalty=lp, early_stopping=False, forced_eos_token_id=None,
                               bad_words_ids=[[pad]], output_scores=True, return_dict_in_generate=True)
            scores = g.sequences_scores.tolist() if beam > 1 else [None] * len(idx)
            for k, i in enumerate(idx):
                ids = []
                for t in g.sequences[k, 1:].tolist():
                    ids.append(t)
                    if t == model.config.eos_token_id:
                        break
                while ids and ids[-1] == pad:
                    ids.pop()
                results[i] = {"ids": ids, "score": scores[k]}
    took = time.time() - start
    texts = tok.batch_decode([r["ids"] for r in results], skip_special_tokens=True)
    for r, t in zip(results, texts):
        r["text"] = t
    return results, took


def first_difference(a, b):
    for i, (x, y) in enumerate(zip(a, b)):
        if x != y:
            return i
    return min(len(a), len(b))


def log_probs_at(model, src_ids, prefix):
    start = model.config.decoder_start_token_id
    with torch.inference_mode():
        logits = model(input_ids=torch.tensor([src_ids]), decoder_input_ids=torch.tensor([[start] + prefix])).logits
    return torch.log_softmax(logits[0, -1].float(), -1)


def sequence_score(model, src_ids, ids, lp):
    start = model.config.decoder_start_token_id
    with torch.inference_mode():
        logits = model(input_ids=torch.tensor([src_ids]), decoder_input_ids=torch.tensor([[start] + ids[:-1]])).logits
    logp = torch.log_softmax(logits[0].float(), -1)[range(len(ids)), ids].sum().item()
    return logp / (len(ids) ** lp)


def explain(model, tok, line, ours, ref, lp, beam):
    """The gap between the two candidates at the first step where the outputs differ."""
    src = tok(line)["input_ids"]
    a, b = ours["ids"], ref["ids"]
    i = first_difference(a, b)
    lpv = log_probs_at(model, src, b[:i])
    ta = a[i] if i < len(a) else None
    tb = b[i] if i < len(b) else None
    step_gap = abs(lpv[ta].item() - lpv[tb].item()) if ta is not None and tb is not None else float("nan")
    score_gap = abs(sequence_score(model, src, a, lp) - sequence_score(model, src, b, lp))
    return {"line": line, "step": i, "ours": ta, "reference": tb, "step_logprob_gap": step_gap,
            "final_score_gap": score_gap, "near_tie": step_gap < 1e-4 or score_gap < 1e-4}


def main():
    p = argument_parser(__doc__)
    p.add_argument("--inspect", default=os.path.join(ROOT, ".build", "release", "nmt-inspect"))
    p.add_argument("--lines", type=int, default=1000)
    p.add_argument("--max-length", type=int, default=48)
    p.add_argument("--length-penalty", type=float, default=1.0)
    p.add_argument("--batch", type=int, default=32)
    p.add_argument("--init-std", type=float, default=0.1)
    p.add_argument("--logit-lines", type=int, default=20)
    p.add_argument("--shapes", default="small,opus-mt-shape")
    args = p.parse_args()
    torch.set_num_threads(2)
    os.makedirs(args.work, exist_ok=True)
    with open(args.data, encoding="utf-8") as f:
        lines = [l.rstrip("\n") for l in f][:args.lines]
    report = {"lines": len(lines), "max_length": args.max_length, "length_penalty": args.length_penalty, "models": {}}

    for seed, shape in enumerate(args.shapes.split(",")):
        hf_dir = os.path.join(args.work, shape)
        build(args.opus, hf_dir, SHAPES[shape], seed, args.init_std)
        files = {}
        for dtype in ("f32", "f16"):
            files[dtype] = os.path.join(args.work, f"{shape}.{dtype}.bin")
            if not os.path.exists(files[dtype]):
                convert(hf_dir, files[dtype], dtype)
        model = MarianMTModel.from_pretrained(hf_dir).eval()
        tok = MarianTokenizer.from_pretrained(hf_dir)
        entry = {}

        # Tokenization.
        ours_ids = subprocess.run([args.inspect, "tokenize", "--model", files["f32"]], input="\n".join(lines) + "\n",
                                  capture_output=True, text=True, check=True).stdout.splitlines()
        ref_ids = [" ".join(map(str, tok(l)["input_ids"])) for l in lines]
        entry["source_ids_identical"] = sum(a == b for a, b in zip(ours_ids, ref_ids)) / len(lines)

        for mode, beam in (("greedy", 1), ("beam4", 4)):
            ref, ref_time = run_hf(model, tok, lines, beam, args.max_length, args.length_penalty, args.batch)
            for dtype in ("f32", "f16"):
                ours, our_time = run_ours(args.binary, files[dtype], lines, beam, args.max_length,
                                          args.length_penalty, args.batch)
                same = [o["nbest"][0]["ids"] == r["ids"] if o["nbest"] else not r["ids"] for o, r in zip(ours, ref)]
                cell = {"identical": sum(same) / len(lines), "differing": len(lines) - sum(same),
                        "ours_seconds": round(our_time, 1), "transformers_seconds": round(ref_time, 1)}
                if dtype == "f32":
                    cell["text_identical_where_ids_identical"] = all(
                        o["translation"] == r["text"] for o, r, s in zip(ours, ref, same) if s)
                    diffs = [explain(model, tok, lines[i], {"ids": ours[i]["nbest"][0]["ids"]}, ref[i],
                                     args.length_penalty, beam) for i, s in enumerate(same) if not s]
                    cell["all_differences_near_ties"] = all(d["near_tie"] for d in diffs)
                    cell["differences"] = diffs
                    if beam > 1:
                        gaps = [abs(o["nbest"][0]["score"] - r["score"]) for o, r, s in zip(ours, ref, same) if s]
                        cell["max_score_difference"] = max(gaps) if gaps else 0.0
                entry[f"{mode}.{dtype}"] = cell
                print(f"{shape} {mode} {dtype}: identical {cell['identical']:.2%} "
                      f"(ours {our_time:.1f}s, transformers {ref_time:.1f}s)", flush=True)

        # Teacher-forced logits on a sample, through our cached step-by-step decoder.
        sample = lines[:args.logit_lines]
        pairs, ref_logits = [], []
        start = model.config.decoder_start_token_id
        for line in sample:
            src = tok(line)["input_ids"]
            ref, _ = run_hf(model, tok, [line], 1, args.max_length, args.length_penalty, 1)
            dec = [start] + ref[0]["ids"][:-1] if ref[0]["ids"] else [start]
            pairs.append(" ".join(map(str, src)) + "\t" + " ".join(map(str, dec)))
            with torch.inference_mode():
                ref_logits.append(model(input_ids=torch.tensor([src]), decoder_input_ids=torch.tensor([dec])).logits[0].numpy())
        out = os.path.join(args.work, f"{shape}.logits.f32")
        for dtype in ("f32", "f16"):
            subprocess.run([args.inspect, "logits", "--model", files[dtype], "--output", out],
                           input="\n".join(pairs) + "\n", text=True, check=True)
            ours = np.fromfile(out, dtype=np.float32)
            refs = np.concatenate([r.reshape(-1) for r in ref_logits])
            entry[f"max_abs_logit_difference.{dtype}"] = float(np.abs(ours - refs).max())
        print(f"{shape}: source ids identical {entry['source_ids_identical']:.2%}, max abs logit difference "
              f"f32 {entry['max_abs_logit_difference.f32']:.2e}, f16 {entry['max_abs_logit_difference.f16']:.2e}",
              flush=True)
        report["models"][shape] = entry

    with open(os.path.join(args.work, "report.json"), "w") as f:
        json.dump(report, f, indent=1, ensure_ascii=False)
    print("\n| model | mode | dtype | identical | differing lines all near-ties |")
    print("|---|---|---|---|---|")
    for shape, entry in report["models"].items():
        for key, cell in entry.items():
            if "." in key and not key.startswith("max_abs"):
                mode, dtype = key.split(".")
                print(f"| {shape} | {mode} | {dtype} | {cell['identical']:.1%} | "
                      f"{cell.get('all_differences_near_ties', '–')} |")
    for shape, entry in report["models"].items():
        print(f"{shape}: source ids identical {entry['source_ids_identical']:.1%}; max abs logit difference "
              f"f32 {entry['max_abs_logit_difference.f32']:.1e}, f16 {entry['max_abs_logit_difference.f16']:.1e}")


if __name__ == "__main__":
    main()
