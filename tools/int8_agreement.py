#!/usr/bin/env python3
"""How much int8 changes the output, ours and CTranslate2's, on the OPUS-MT-shaped model.

Translates the first --lines lines of Multi30k test_2016_flickr with the random-weight model of
the real OPUS-MT shape that tools/bench.py uses (built by parity.py's builder when missing), in
f32 and in int8, greedy and beam 4: ours with `translate --compute-type f32|i8 --split none` (the
f32 file quantized on load), CTranslate2 with compute_type float32|int8 on the same weights
(tools/ct2_translate.py). For each system and search it reports the share of lines whose int8
output is identical to its f32 output, the BLEU of the int8 outputs against the f32 ones, and the
mean share of each f32 output's words that int8 reproduces before the first difference.

The weights are random (parity.py's builder: normal with std 0.1, wider than a training init so
that next-token distributions are peaked rather than near-ties over 54,688 tokens), so the text
means nothing and the outputs' lengths are whatever the random model does (at most --max-length).
The numbers compare how close each engine's int8 stays to its own f32 under the same conditions,
not translation quality (for that: BLEU of tiny.bin in docs/PERFORMANCE.md).

    .venv/bin/python tools/int8_agreement.py [--lines 200] [--max-length 64] [--isa avx2]
"""
import argparse
import json
import os
import subprocess
import sys
import tempfile

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)
sys.path.insert(0, HERE)
import bench  # noqa: E402  (the model builders and the ISA caps)


def ours(binary, model, src, out, compute_type, beam, max_length, env):
    subprocess.run([binary, "--model", model, "--compute-type", compute_type, "--beam-size", str(beam),
                    "--max-length", str(max_length), "--split", "none", "--threads", "2", "--batch-size", "16",
                    "--output", out, src], check=True, env=dict(os.environ, **env))


def ct2(ct2_dir, hf_dir, src, out, compute_type, beam, max_length, env):
    subprocess.run([sys.executable, os.path.join(HERE, "ct2_translate.py"), "--model", ct2_dir,
                    "--source-spm", os.path.join(hf_dir, "source.spm"), "--target-spm",
                    os.path.join(hf_dir, "target.spm"), "--input", src, "--output", out, "--beam-size", str(beam),
                    "--max-decoding-length", str(max_length), "--max-batch-size", "16",
                    "--compute-type", compute_type], check=True, env=dict(os.environ, **env))


def compare(f32_lines, i8_lines):
    import sacrebleu
    identical = sum(a == b for a, b in zip(f32_lines, i8_lines))
    prefix = []
    for a, b in zip(f32_lines, i8_lines):
        wa, wb = a.split(), b.split()
        n = 0
        while n < min(len(wa), len(wb)) and wa[n] == wb[n]:
            n += 1
        prefix.append(n / len(wa) if wa else 1.0)
    bleu = sacrebleu.corpus_bleu(i8_lines, [f32_lines]).score
    return {"identical": identical, "lines": len(f32_lines), "identical_pct": 100 * identical / len(f32_lines),
            "bleu_vs_f32": bleu, "prefix_pct": 100 * sum(prefix) / len(prefix)}


def main():
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--data", default=os.path.join(ROOT, "..", "shared", "data", "multi30k", "test_2016_flickr.en"))
    p.add_argument("--opus", default=os.path.join(ROOT, "..", "shared", "data", "opus-mt-en-mg"))
    p.add_argument("--binary", default=os.path.join(ROOT, ".build", "release", "translate"))
    p.add_argument("--work", default=os.path.join(ROOT, "runs", "int8_agreement"))
    p.add_argument("--lines", type=int, default=200)
    p.add_argument("--max-length", type=int, default=64, help="most generated tokens per line, </s> included")
    p.add_argument("--isa", choices=sorted(bench.ISA_ENV), help="cap the instruction set of both systems")
    p.add_argument("--systems", default="ours,ctranslate2")
    args = p.parse_args()
    bin_path, hf_dir = bench.opus_mt_shape_model(args.opus)
    ct2_dir = os.path.join(ROOT, "runs", "bench", "opus-mt-shape-ct2")
    bench.ctranslate2_model(bin_path, hf_dir, ct2_dir)
    os.makedirs(args.work, exist_ok=True)
    src = os.path.join(args.work, f"input-{args.lines}.en")
    with open(args.data, encoding="utf-8") as f, open(src, "w", encoding="utf-8") as g:
        g.writelines([next(f) for _ in range(args.lines)])
    isa_env = bench.ISA_ENV.get(args.isa, {})
    results = {}
    for system in args.systems.split(","):
        env = isa_env.get(system, {})
        for beam in (1, 4):
            outs = {}
            for ct in ("f32", "i8"):
                out = os.path.join(args.work, f"{system}.{ct}.beam{beam}.{args.isa or 'native'}.txt")
                if system == "ours":
                    ours(args.binary, bin_path, src, out, ct, beam, args.max_length, env)
                else:
                    ct2(ct2_dir, hf_dir, src, out, bench.CT2_COMPUTE_TYPE[ct], beam, args.max_length, env)
                with open(out, encoding="utf-8") as f:
                    outs[ct] = [l.rstrip("\n") for l in f]
            r = compare(outs["f32"], outs["i8"])
            results[f"{system}.beam{beam}"] = r
            print(f"{system} {'greedy' if beam == 1 else 'beam 4'}: {r['identical']}/{r['lines']} lines identical "
                  f"({r['identical_pct']:.1f}%), BLEU i8 vs f32 {r['bleu_vs_f32']:.1f}, "
                  f"words before the first difference {r['prefix_pct']:.1f}%", flush=True)
    with open(os.path.join(args.work, f"results.{args.isa or 'native'}.json"), "w") as f:
        json.dump({"isa": args.isa or "native", "isa_env": isa_env, "lines": args.lines,
                   "max_length": args.max_length, "results": results}, f, indent=1)
    print(f"\n| system | search | lines identical i8 = f32 | BLEU of i8 against f32 | words before the first "
          f"difference |\n|---|---|---|---|---|")
    for key, r in results.items():
        system, beam = key.split(".")
        print(f"| {'ours' if system == 'ours' else 'CTranslate2'} | {'greedy' if beam == 'beam1' else 'beam 4'} "
              f"| {r['identical']} / {r['lines']} ({r['identical_pct']:.1f}%) | {r['bleu_vs_f32']:.1f} "
              f"| {r['prefix_pct']:.1f}% |")


if __name__ == "__main__":
    main()
