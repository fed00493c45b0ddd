#!/usr/bin/env python3
"""Whole-process speed on natural-length text: our `translate` against CTranslate2, both as a
fresh process that loads the model, reads a file, translates it and writes the result, timed from
spawn to exit (tools/bench.py times fixed 48-token outputs instead).

Inputs, from Multi30k test_2016_flickr (1,000 English lines):
  a  the 1,000 lines as they are (one sentence each);
  b  paragraphs: the lines joined five at a time with a space (200 lines);
  c  long lines: the lines joined --long-join (50) at a time (20 lines of ~730 source tokens, all
     longer than tiny.bin's 256 positions: what is translated of them depends on how a system
     splits or cuts long lines).
Systems, each with --threads 2, f32 (and int8 with --compute-types f32,i8), greedy and beam 4:
  ours                 `translate --model M --threads 2 --beam-size B --input F --output G` + --ours-args
  ours, unsorted       the same with `--read-ahead 64` (= the batch size: batches in input order, no
                       sorting by length across them), if the binary has the flag
  ours, 1 worker       the same with `--workers 1` (every batch on both threads, one after another),
                       if the binary has the flag
  ours, split=MODE     for b and c, the same with `--split MODE`, for each of --splits (default: none;
                       without it our binary's default mode is what "ours" measures)
  ctranslate2          tools/ct2_translate.py on the conversion tools/bench.py makes, one setting per
                       batching: examples/32, examples/64, tokens/1024, tokens/2048, tokens/4096 with
                       intra_threads 2, and examples/32, tokens/1024, tokens/2048, tokens/4096 with
                       inter_threads 2 (two batches at a time, one thread each)
                       (max_decoding_length 256 and source cut at the model's positions, as ours does)
The systems take turns within each of --rounds rounds. Reported per input and beam: best and median
seconds, lines/s and target tokens/s (both from the best time; target tokens are the target
SentencePiece pieces of the output text, </s> not counted), ours / best CTranslate2 setting (ratio
of best times: above 1 means ours is slower), sentences out / in (a count of sentence-final . ! ?
in the output and in the source) and BLEU (sacrebleu) against the references joined the same way.
Markdown table on standard output, everything in runs/bench_text/report.json.

    python tools/bench_text.py --binary .build/release/translate [--rounds 3] [--inputs a,b,c]
        [--beams 1,4] [--ours-args "--batch-size 64"] [--splits sentences,long,none] [--isa avx2] [--quick]

--isa avx2 caps both engines' instruction set (NMT_ISA for ours, CTranslate2's and oneDNN's caps, as
tools/bench.py does), to measure an AVX2-only machine on an AVX-512 one.
"""
import argparse
import json
import os
import re
import shlex
import statistics
import subprocess
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
import bench  # noqa: E402  (tools/ is not a package)
from nmt_format import read_header  # noqa: E402

ROOT = bench.ROOT
DATA = os.path.join(ROOT, "..", "shared", "data", "multi30k")
# (batch type, max batch size, inter_threads): with 2 inter threads, each batch runs on one thread.
CT2_SETTINGS = [("examples", 32, 1), ("examples", 64, 1), ("tokens", 1024, 1), ("tokens", 2048, 1), ("tokens", 4096, 1),
                ("examples", 32, 2), ("tokens", 1024, 2), ("tokens", 2048, 2), ("tokens", 4096, 2)]
QUICK_CT2_SETTINGS = [("tokens", 4096, 1), ("tokens", 2048, 2), ("examples", 32, 1)]
MAX_DECODING_LENGTH = 256  # our --max-length default; both count </s>
SENTENCE_END = re.compile(r"[.!?]+(?=\s|$)")


def sentences(lines):
    return sum(len(SENTENCE_END.findall(line)) for line in lines)


def joined(lines, k):
    return [" ".join(lines[i:i + k]) for i in range(0, len(lines), k)]


def binary_flags(binary):
    """The long options `binary --help` lists."""
    out = subprocess.run([binary, "--help"], capture_output=True, text=True)
    return set(re.findall(r"(--[a-z][a-z0-9-]*)", out.stdout + out.stderr))


class Variant:
    """One system with one setting: `command(input, output, beam)` is the process to time."""

    def __init__(self, system, setting, command, inputs="abc", compute="f32", env=None):
        self.system, self.setting, self.command, self.inputs, self.compute = system, setting, command, inputs, compute
        self.env = env or {}  # added to the process's environment (the --isa cap)

    @property
    def key(self):
        return f"{self.system} {self.setting} {self.compute}".strip()

    @property
    def slug(self):
        return re.sub(r"[^a-z0-9]+", "-", self.key.lower()).strip("-")


def variants(args, model, flags, notes):
    ours = [args.binary, "--model", model, "--threads", str(bench.THREADS)] + shlex.split(args.ours_args)
    computes = args.compute_types.split(",")
    isa = bench.ISA_ENV.get(args.isa, {})
    ours_env, ct2_env = isa.get("ours", {}), isa.get("ctranslate2", {})
    if "i8" in computes and "--compute-type" not in flags:
        notes.append("i8: skipped, the binary has no --compute-type")
        computes = [c for c in computes if c != "i8"]
    found = []
    for compute in computes:
        typed = ["--compute-type", compute] if compute != "f32" or "--compute-type" in flags else []

        def ours_cmd(extra, typed=typed):
            return lambda src, out, beam: ours + ["--beam-size", str(beam), "--input", src, "--output", out] + typed + extra
        found.append(Variant("ours", "", ours_cmd([]), compute=compute, env=ours_env))
        if "--read-ahead" in flags:
            found.append(Variant("ours, unsorted", "--read-ahead 64", ours_cmd(["--read-ahead", "64"]), compute=compute,
                                 env=ours_env))
        else:
            notes.append("ours, unsorted: skipped, the binary has no --read-ahead")
        if "--workers" in flags:
            found.append(Variant("ours, 1 worker", "--workers 1", ours_cmd(["--workers", "1"]), compute=compute,
                                 env=ours_env))
        for mode in filter(None, args.splits.split(",")):
            if "--split" in flags:
                found.append(Variant(f"ours, split={mode}", f"--split {mode}", ours_cmd(["--split", mode]), inputs="bc",
                                     compute=compute, env=ours_env))
            else:
                notes.append(f"ours, split={mode}: skipped, the binary has no --split")
    hf_dir, ct2_dir = os.path.join(ROOT, "runs", "bench", "tiny-hf"), os.path.join(ROOT, "runs", "bench", "tiny-ct2")
    if os.path.abspath(model) != os.path.join(ROOT, "models", "tiny.bin"):
        name = os.path.splitext(os.path.basename(model))[0]
        hf_dir, ct2_dir = os.path.join(args.work, f"{name}-hf"), os.path.join(args.work, f"{name}-ct2")
    bench.ctranslate2_model(model, hf_dir, ct2_dir)
    positions = read_header(model)["config"]["max_positions"]
    ct2 = [sys.executable, os.path.join(HERE, "ct2_translate.py"), "--model", ct2_dir,
           "--source-spm", os.path.join(hf_dir, "source.spm"), "--target-spm", os.path.join(hf_dir, "target.spm"),
           "--threads", str(bench.THREADS), "--length-penalty", "1",
           "--max-decoding-length", str(MAX_DECODING_LENGTH), "--max-input-length", str(positions)]
    for compute in computes:
        ct2_type = {"f32": "float32", "i8": "int8"}[compute]
        for batch_type, size, inter in QUICK_CT2_SETTINGS if args.quick else CT2_SETTINGS:
            name = f"{batch_type}/{size}" + (f", inter {inter}" if inter > 1 else "")
            found.append(Variant("ctranslate2", name, lambda src, out, beam, t=batch_type, n=size, c=ct2_type, i=inter: ct2 + [
                "--compute-type", c, "--beam-size", str(beam), "--batch-type", t, "--max-batch-size", str(n),
                "--inter-threads", str(i), "--input", src, "--output", out], compute=compute, env=ct2_env))
    return found, os.path.join(hf_dir, "source.spm"), os.path.join(hf_dir, "target.spm"), ct2_dir


def read_lines(path):
    with open(path, encoding="utf-8") as f:
        return [line.rstrip("\n") for line in f]


def write_lines(path, lines):
    with open(path, "w", encoding="utf-8") as f:
        f.write("".join(line + "\n" for line in lines))


def main():
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--binary", default=os.path.join(ROOT, ".build", "release", "translate"))
    p.add_argument("--ours-args", default="", help="extra arguments for every run of our binary")
    p.add_argument("--splits", default="", help="comma-separated --split modes to run as extra variants on b and c")
    p.add_argument("--model", default=os.path.join(ROOT, "models", "tiny.bin"))
    p.add_argument("--src", default=os.path.join(DATA, "test_2016_flickr.en"))
    p.add_argument("--ref", default=os.path.join(DATA, "test_2016_flickr.de"))
    p.add_argument("--work", default=os.path.join(ROOT, "runs", "bench_text"))
    p.add_argument("--inputs", default="a,b,c")
    p.add_argument("--beams", default="1,4")
    p.add_argument("--rounds", type=int, default=3)
    p.add_argument("--paragraph-join", type=int, default=5, help="source lines per line of input b")
    p.add_argument("--long-join", type=int, default=50, help="source lines per line of input c")
    p.add_argument("--compute-types", default="f32", help="comma-separated: f32 (CTranslate2 float32), i8 (int8)")
    p.add_argument("--isa", choices=sorted(bench.ISA_ENV),
                   help="cap the instruction set of ours and CTranslate2 (an AVX2-only machine on an AVX-512 one)")
    p.add_argument("--quick", action="store_true", help="1 round; CTranslate2 only as tokens/4096 and examples/32")
    args = p.parse_args()
    if args.quick:
        args.rounds = 1
    import sacrebleu
    import sentencepiece as spm

    os.makedirs(os.path.join(args.work, "out"), exist_ok=True)
    notes = []
    flags = binary_flags(args.binary)
    systems, source_spm, target_spm, ct2_dir = variants(args, args.model, flags, notes)
    isa_env = bench.ISA_ENV.get(args.isa, {})
    # What each side runs on: the CPU's widest ISA (ours follows it unless capped) and what
    # CTranslate2 and oneDNN report they selected.
    isa_used = {"cpu": bench.cpu_isa(), "cap": args.isa or "none"}
    for compute in dict.fromkeys(v.compute for v in systems):
        ct2_type = {"f32": "float32", "i8": "int8"}[compute]
        isa_used[f"ctranslate2 {compute}"] = bench.ct2_isa(ct2_dir, source_spm, ct2_type, isa_env.get("ctranslate2", {}))
    source_sp, target_sp = spm.SentencePieceProcessor(model_file=source_spm), spm.SentencePieceProcessor(
        model_file=target_spm)
    positions = read_header(args.model)["config"]["max_positions"]
    src, ref = read_lines(args.src), read_lines(args.ref)
    joins = {"a": 1, "b": args.paragraph_join, "c": args.long_join}
    inputs = {}
    for name in args.inputs.split(","):
        lines = joined(src, joins[name])
        path = os.path.join(args.work, f"input-{name}.en")
        write_lines(path, lines)
        lengths = [len(source_sp.encode(line)) + 1 for line in lines]  # + </s>
        inputs[name] = {"path": path, "lines": len(lines), "joined": joins[name], "refs": joined(ref, joins[name]),
                        "sentences_in": sentences(lines), "source_tokens_mean": statistics.mean(lengths),
                        "source_tokens_max": max(lengths), "lines_over_positions": sum(n > positions for n in lengths)}
    env = dict(os.environ, OMP_NUM_THREADS=str(bench.THREADS), MKL_NUM_THREADS=str(bench.THREADS))
    for note in notes:
        print(f"note: {note}", flush=True)

    # Warm-up, untimed: our binary and model, and Python with CTranslate2, into the page cache.
    warm = os.path.join(args.work, "warm-up.en")
    write_lines(warm, src[:16])
    for v in {v.system: v for v in systems}.values():
        bench.timed_process(v.command(warm, os.path.join(args.work, "out", "warm-up.txt"), 1), env=dict(env, **v.env))

    load_before = os.getloadavg()
    cells = []
    # One cell per input, beam size and compute type.
    for name, inp, beam, compute in [(n, i, int(b), c) for n, i in inputs.items() for b in args.beams.split(",")
                                     for c in dict.fromkeys(v.compute for v in systems)]:
        cell_systems = [v for v in systems if name in v.inputs and v.compute == compute]
        runs = {v.key: [] for v in cell_systems}
        for r in range(args.rounds):
            # Taking turns, starting one further each round, so no system always runs first.
            for v in cell_systems[r % len(cell_systems):] + cell_systems[:r % len(cell_systems)]:
                out = os.path.join(args.work, "out", f"{name}.beam{beam}.{v.slug}.txt")
                took, peak = bench.timed_process(v.command(inp["path"], out, beam), env=dict(env, **v.env))
                runs[v.key].append({"s": took, "peak_mb": peak})
                print(f"{name} beam {beam} round {r + 1} {v.key}: {took:.2f} s", file=sys.stderr, flush=True)
        results = []
        for v in cell_systems:
            hyps = read_lines(os.path.join(args.work, "out", f"{name}.beam{beam}.{v.slug}.txt"))
            if len(hyps) != inp["lines"]:
                notes.append(f"{name} beam {beam} {v.key}: {len(hyps)} output lines for {inp['lines']} input lines")
                print(f"warning: {notes[-1]}", file=sys.stderr)
            times = [x["s"] for x in runs[v.key]]
            tokens = sum(len(target_sp.encode(h)) for h in hyps)
            results.append({
                "system": v.system, "setting": v.setting, "seconds": times, "best_s": min(times),
                "median_s": statistics.median(times), "peak_mb": max(x["peak_mb"] for x in runs[v.key]),
                "lines_per_s": inp["lines"] / min(times), "target_tokens": tokens,
                "target_tokens_per_s": tokens / min(times), "output_lines": len(hyps),
                "sentences_out": sentences(hyps), "bleu": sacrebleu.corpus_bleu(hyps, [inp["refs"]]).score})
        ct2 = [x for x in results if x["system"] == "ctranslate2"]
        best = min(ct2, key=lambda x: x["best_s"]) if ct2 else None
        for x in results:
            x["ct2_best"] = x is best
            if best and x["system"].startswith("ours"):
                x["speed_over_ct2_best"] = best["best_s"] / x["best_s"]
                x["speed_over_ct2_best_median"] = best["median_s"] / x["median_s"]
        cells.append({"input": name, "beam": beam, "compute": compute, "results": results})

    report = {"binary": args.binary, "ours_args": args.ours_args, "isa": isa_used, "isa_env": isa_env, "model": args.model, "threads": bench.THREADS,
              "rounds": args.rounds, "quick": args.quick,
              "binary_has": {f: f in flags for f in ("--read-ahead", "--split")}, "notes": notes,
              "load_average_1_5_15min": {"before": load_before, "after": os.getloadavg()},
              "inputs": {k: {f: v for f, v in i.items() if f != "refs"} for k, i in inputs.items()}, "cells": cells}
    with open(os.path.join(args.work, "report.json"), "w") as f:
        json.dump(report, f, indent=1)

    print(f"\n{bench.THREADS} threads, {args.compute_types}, best of {args.rounds} round(s); {os.path.relpath(args.model, ROOT)}, "
          f"{positions} positions; binary {args.binary} {args.ours_args}".rstrip())
    print("instruction sets: " + "; ".join(f"{k}: {v}" for k, v in isa_used.items()))
    print(f"load average (1 min) {load_before[0]:.1f} before, {os.getloadavg()[0]:.1f} after: with more runnable "
          f"threads than cores, every system's times can grow many-fold")
    for note in notes:
        print(f"note: {note}")
    print("\n| input | lines | sentences | source tokens/line (mean, max, </s> incl.) | lines over positions |")
    print("|---|---|---|---|---|")
    for name, i in inputs.items():
        print(f"| {name} | {i['lines']} | {i['sentences_in']} | {i['source_tokens_mean']:.0f}, "
              f"{i['source_tokens_max']} | {i['lines_over_positions']} |")
    print("\nTarget tokens: target SentencePiece pieces of the output text (no </s>). Speed vs CT2: the best "
          "CTranslate2 setting's best time (same compute type) / ours' best time (> 1: ours faster); (median): the "
          "same of medians. Sentences: sentence-final . ! ? in the output / in the source.\n")
    print("| input | beam | compute | system | setting | best s | median s | lines/s | target tok/s | speed vs CT2-best "
          "| sentences out / in | BLEU |")
    print("|---|---|---|---|---|---|---|---|---|---|---|---|")
    for c in cells:
        sentences_in = inputs[c["input"]]["sentences_in"]
        for x in c["results"]:
            ratio = (f"{x['speed_over_ct2_best']:.2f}× ({x['speed_over_ct2_best_median']:.2f}×)"
                     if "speed_over_ct2_best" in x else "")
            setting = x["setting"] + (" **best**" if x["ct2_best"] else "")
            print(f"| {c['input']} | {c['beam']} | {c['compute']} | {x['system']} | {setting} | {x['best_s']:.2f} | {x['median_s']:.2f} "
                  f"| {x['lines_per_s']:.1f} | {x['target_tokens_per_s']:.0f} | {ratio} "
                  f"| {x['sentences_out']} / {sentences_in} | {x['bleu']:.1f} |")
    print(f"\nreport: {os.path.join(args.work, 'report.json')}")


if __name__ == "__main__":
    main()
