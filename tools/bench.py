#!/usr/bin/env python3
"""Speed of our `translate` against CTranslate2 and Hugging Face transformers, side by side.

For each model — (a) a random-weight model of the real OPUS-MT shape (built by tools/parity.py
from ../shared/data/opus-mt-en-mg) and (b) models/tiny.bin — every system translates the same
Multi30k test_2016_flickr lines with 2 threads, output length fixed at 48 tokens (min = max = 48)
so that random weights are timed fairly, in four cells: batch 1 / 16 × greedy / beam 4.
Reported: target tokens per second, ratios, model load time, peak memory, and for batch-1
greedy the share of the memory-bandwidth limit (weight bytes read per token / copy bandwidth).

--compute-types f32,i8 also runs int8: ours with `--compute-type i8` (the f32 file quantized at
load), CTranslate2 with compute_type="int8"; transformers runs in f32 only. Ratios compare like
with like (ours i8 / CTranslate2 int8). --isa avx2 caps the instruction set, to measure an
AVX2-only machine on an AVX-512 one: NMT_ISA=avx2 for ours, CT2_FORCE_CPU_ISA=AVX2 and
ONEDNN_MAX_CPU_ISA=DNNL_MAX_CPU_ISA=AVX2 for CTranslate2 (transformers is not capped).

Needs a release build (bash scripts/setup.sh) and the venv (tools/requirements.txt); the
OPUS-MT-shaped model is built on first use (tools/parity.py's builder, a few minutes).

    python tools/bench.py [--lines-batch1 12] [--lines-batch16 64] [--rounds 5]
                          [--compute-types f32,i8] [--isa avx2] [--systems ours,ctranslate2]
"""
import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import textwrap
import time

import numpy as np

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)
sys.path.insert(0, HERE)
from nmt_format import read_header, read_model, read_vocabulary_blob  # noqa: E402

LENGTH = 48
THREADS = 2
# Every system's time is the best of this many rounds, the systems taking turns within a round:
# this machine's neighbours slow it down for seconds to minutes at a time (single runs vary by
# ±15–30%), and taking turns spreads such spells over all systems instead of one. In a round,
# CTranslate2 and transformers translate the lines once untimed (warm-up) and once timed.
ROUNDS = 5
COMPUTE_TYPES = ("f32", "i8")
CT2_COMPUTE_TYPE = {"f32": "float32", "i8": "int8"}
# The instruction-set caps --isa sets: ours reads NMT_ISA; CTranslate2 reads CT2_FORCE_CPU_ISA for
# its own kernels and oneDNN (its GEMM backend here) ONEDNN_MAX_CPU_ISA (DNNL_ in older releases).
ISA_ENV = {"avx2": {"ours": {"NMT_ISA": "avx2"},
                    "ctranslate2": {"CT2_FORCE_CPU_ISA": "AVX2", "ONEDNN_MAX_CPU_ISA": "AVX2",
                                    "DNNL_MAX_CPU_ISA": "AVX2"}}}


def child(code, env_extra=None):
    """Runs Python code in a fresh process; returns its JSON result and peak RSS (MB)."""
    env = dict(os.environ, OMP_NUM_THREADS=str(THREADS), MKL_NUM_THREADS=str(THREADS), **(env_extra or {}))
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=env)
    if out.returncode != 0:
        raise RuntimeError(out.stderr[-2000:])
    return json.loads(out.stdout.strip().splitlines()[-1])


def timed_process(cmd, text=None, env=None):
    """Seconds of one process from spawn to exit (`text` on its standard input, if given), and its
    peak resident memory in MB."""
    start = time.perf_counter()
    # GNU time reports the peak resident set of this run alone (in KB, last line of stderr).
    out = subprocess.run(["/usr/bin/time", "-f", "%M", *cmd], input=text, capture_output=True, text=True, env=env,
                         stdin=subprocess.DEVNULL if text is None else None)
    took = time.perf_counter() - start
    if out.returncode != 0:
        raise RuntimeError(f"{' '.join(cmd)} exited with {out.returncode}:\n{out.stderr[-2000:]}")
    return took, int(out.stderr.strip().splitlines()[-1]) / 1024


def time_ours(binary, model, batch, beam, text, compute_type="f32", env_extra=None):
    """Seconds of one `translate` process over `text`, and its peak resident memory in MB."""
    return timed_process([binary, "--model", model, "--batch-size", str(batch), "--beam-size", str(beam),
                          "--min-length", str(LENGTH), "--max-length", str(LENGTH), "--threads", str(THREADS),
                          "--compute-type", compute_type], text, env=dict(os.environ, **(env_extra or {})))


def run_ours(binary, model, lines, batch, beam, compute_type="f32", env_extra=None):
    """One round: the time of an empty run (loading) and of a run over the lines."""
    load, _ = time_ours(binary, model, batch, beam, "", compute_type, env_extra)
    total, peak = time_ours(binary, model, batch, beam, "\n".join(lines) + "\n", compute_type, env_extra)
    return {"total_s": total, "load_s": load, "peak_mb": peak}


def paired_ratios(rounds, tokens):
    """Ours over each other system round by round (the systems' turns in a round are seconds apart,
    so they see about the same machine): median, lowest and highest of the per-round ratios."""
    load = min(r["load_s"] for r in rounds["ours"])
    ours = [tokens / (r["total_s"] - load) for r in rounds["ours"]]
    paired = {}
    for system, rs in rounds.items():
        if system != "ours":
            ratios = [o / r["tokens_per_s"] for o, r in zip(ours, rs)]
            paired[system] = {"median": statistics.median(ratios), "min": min(ratios), "max": max(ratios)}
    return paired


def best_of_rounds(rounds, tokens):
    """A system's best over its rounds: highest speed, lowest load, highest peak memory. Our
    translating time is the shortest run minus the shortest empty run, each the floor of its own
    measurements: subtracting a round's own empty run would reward a round whose empty run was
    slowed down."""
    best = {"load_s": min(r["load_s"] for r in rounds), "peak_mb": max(r["peak_mb"] for r in rounds)}
    if "total_s" in rounds[0]:
        best["tokens_per_s"] = tokens / (min(r["total_s"] for r in rounds) - best["load_s"])
    else:
        best["tokens_per_s"] = max(r["tokens_per_s"] for r in rounds)
    return best


PEAK = """
def peak_mb():  # this process's own high-water mark (ru_maxrss would include the parent's before exec)
    for line in open("/proc/self/status"):
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024
"""

# The end of both programs: a warm-up pass over the lines, then the timed pass, reported as JSON.
TIMED = """batches = (len(lines) + {batch} - 1) // {batch}
run(batches)  # warm-up: allocations, thread start-up, weights into cache
t = time.perf_counter()
run(batches)
took = time.perf_counter() - t
print(json.dumps({{"tokens_per_s": len(lines) * {length} / took, "load_s": load,
                  "peak_mb": peak_mb()}}))
"""

HF_CODE = PEAK + """
import json, time, torch
from transformers import MarianMTModel, MarianTokenizer
torch.set_num_threads({threads})
t = time.perf_counter()
model = MarianMTModel.from_pretrained({dir!r}).eval(); tok = MarianTokenizer.from_pretrained({dir!r})
load = time.perf_counter() - t
lines = {lines!r}
pad = model.config.pad_token_id
def run(batches):
    with torch.inference_mode():
        for s in range(0, batches * {batch}, {batch}):
            enc = tok(lines[s:s + {batch}], return_tensors="pt", padding=True)
            model.generate(**enc, num_beams={beam}, do_sample=False, min_new_tokens={length},
                           max_new_tokens={length}, forced_eos_token_id=None, bad_words_ids=[[pad]],
                           early_stopping=False)
""" + TIMED

CT2_CODE = PEAK + """
import json, time, ctranslate2, sentencepiece as spm
t = time.perf_counter()
tr = ctranslate2.Translator({ct2!r}, device="cpu", inter_threads=1, intra_threads={threads},
                           compute_type={compute_type!r})
sp = spm.SentencePieceProcessor(model_file={spm!r})
load = time.perf_counter() - t
lines = {lines!r}
src = [sp.encode(l, out_type=str) + ["</s>"] for l in lines]
def run(batches):
    for s in range(0, batches * {batch}, {batch}):
        tr.translate_batch(src[s:s + {batch}], beam_size={beam}, min_decoding_length={length},
                           max_decoding_length={length}, max_batch_size={batch})
""" + TIMED


def hf_from_bin(bin_path, out_dir):
    """Rebuilds a MarianMT checkpoint from one of our model files (for models/tiny.bin, whose
    training checkpoint is not kept), so that every system runs the very same weights."""
    import torch
    c, arrays, blobs = read_model(bin_path, widen=True)
    tensors = {name: torch.from_numpy(a) for name, a in arrays.items()}
    if c["shared_embeddings"]:
        for k in ("model.encoder.embed_tokens.weight", "model.decoder.embed_tokens.weight", "lm_head.weight"):
            tensors[k] = tensors["model.shared.weight"]
    os.makedirs(out_dir, exist_ok=True)
    from transformers import MarianConfig, MarianMTModel
    cfg = MarianConfig(
        vocab_size=c["source_vocab_size"], decoder_vocab_size=c["target_vocab_size"], d_model=c["d_model"],
        encoder_layers=c["encoder_layers"], decoder_layers=c["decoder_layers"],
        encoder_attention_heads=c["encoder_heads"], decoder_attention_heads=c["decoder_heads"],
        encoder_ffn_dim=c["encoder_ffn_dim"], decoder_ffn_dim=c["decoder_ffn_dim"],
        activation_function=c["activation"], max_position_embeddings=c["max_positions"],
        pad_token_id=c["pad_id"], eos_token_id=c["eos_id"], decoder_start_token_id=c["decoder_start_id"],
        scale_embedding=c["embedding_scale"] != 1.0, share_encoder_decoder_embeddings=c["shared_embeddings"])
    model = MarianMTModel(cfg)
    missing = model.load_state_dict(tensors, strict=False)
    assert not [k for k in missing.missing_keys if "embed_positions" not in k], missing
    model.save_pretrained(out_dir)
    open(os.path.join(out_dir, "source.spm"), "wb").write(blobs["source.spm"])
    open(os.path.join(out_dir, "target.spm"), "wb").write(blobs["target.spm"])
    with open(os.path.join(out_dir, "vocab.json"), "w", encoding="utf-8") as f:
        json.dump({p: i for i, p in reversed(list(enumerate(read_vocabulary_blob(blobs["source.vocab"]))))}, f,
                  ensure_ascii=False)
    with open(os.path.join(out_dir, "tokenizer_config.json"), "w") as f:
        json.dump({"source_lang": "en", "target_lang": "de"}, f)


def ctranslate2_model(bin_path, hf_dir, ct2_dir):
    """The CTranslate2 conversion (ct2_dir) of a MarianMT checkpoint (hf_dir), each made only when
    missing: hf_dir rebuilt from our model file by hf_from_bin, ct2_dir by CTranslate2's converter.
    Source and target SentencePiece models are hf_dir/source.spm and hf_dir/target.spm."""
    if not os.path.exists(os.path.join(hf_dir, "config.json")):
        hf_from_bin(bin_path, hf_dir)
    if not os.path.exists(os.path.join(ct2_dir, "model.bin")):
        subprocess.run([os.path.join(os.path.dirname(sys.executable), "ct2-transformers-converter"), "--model", hf_dir,
                        "--output_dir", ct2_dir, "--force"], check=True, capture_output=True)


def copy_bandwidth():
    """Best of a few copies of a 512 MB array, in bytes per second (read + write counted once each)."""
    a = np.ones(128 * 1024 * 1024, dtype=np.float32)
    b = np.empty_like(a)
    best = 0.0
    for _ in range(5):
        t = time.perf_counter()
        np.copyto(b, a)
        best = max(best, 2 * a.nbytes / (time.perf_counter() - t))
    return best


def decoder_bytes_per_token(bin_path):
    """Bytes of weights one decoder step reads: decoder layers, output projection, logits bias."""
    header = read_header(bin_path)
    total = 0
    cross_kv = (".encoder_attn.k_proj.", ".encoder_attn.v_proj.")  # applied once per sentence, not per step
    for t in header["tensors"]:
        n = int(np.prod(t["shape"])) * (4 if t["dtype"] == "f32" else 2)
        if t["name"].startswith("model.decoder.layers.") and not any(k in t["name"] for k in cross_kv):
            total += n
        elif t["name"] in ("model.shared.weight", "lm_head.weight", "model.decoder.embed_tokens.weight",
                           "final_logits_bias"):
            total += n if t["name"] != "model.decoder.embed_tokens.weight" or header["config"]["tied_output"] else 0
    return total


def opus_mt_shape_model(opus):
    """The OPUS-MT-shaped model: (our f32 file, its MarianMT checkpoint), built when missing with
    tools/parity.py's builder (seed and init as `parity.py --shapes opus-mt-shape`), without
    parity.py's comparison runs."""
    work = os.path.join(ROOT, "runs", "parity")
    hf_dir, bin_path = os.path.join(work, "opus-mt-shape"), os.path.join(work, "opus-mt-shape.f32.bin")
    if os.path.exists(bin_path) and os.path.exists(os.path.join(hf_dir, "source.spm")):
        return bin_path, hf_dir
    if not os.path.exists(os.path.join(opus, "config.json")):
        sys.exit(f"the OPUS-MT-shaped model needs {opus} (config, SentencePiece models, vocabulary); "
                 "it is missing: get it, or run with --models tiny")
    print(f"building the OPUS-MT-shaped model in {work} (once, a few minutes)", flush=True)
    import parity  # torch and transformers: imported only when needed
    from convert_marian import convert
    parity.build(opus, hf_dir, parity.SHAPES["opus-mt-shape"], 0, 0.1)
    if not os.path.exists(bin_path):
        convert(hf_dir, bin_path, "f32")
    return bin_path, hf_dir


def cpu_isa():
    """The widest of our kernels' instruction sets this CPU has (from /proc/cpuinfo)."""
    try:
        flags = next(l for l in open("/proc/cpuinfo") if l.startswith("flags")).split()
    except (OSError, StopIteration):
        return "unknown"
    if {"avx512f", "avx512bw"} <= set(flags):
        return "avx512" + (" + VNNI" if "avx512_vnni" in flags else "")
    return "avx2" if "avx2" in flags else "generic"


CT2_ISA_PROBE = """
import ctranslate2, sentencepiece as spm
tr = ctranslate2.Translator({ct2!r}, device="cpu", intra_threads=1, compute_type={compute_type!r})
sp = spm.SentencePieceProcessor(model_file={spm!r})
tr.translate_batch([sp.encode("A man is walking.", out_type=str) + ["</s>"]], max_decoding_length=2)
"""


def ct2_isa(ct2_dir, spm_path, compute_type, env_extra):
    """What CTranslate2 and oneDNN report they selected under env_extra (their verbose logs). On
    AMD CPUs CTranslate2's own kernels select AVX2 even uncapped; oneDNN (its GEMMs) does use
    AVX-512 there."""
    env = dict(os.environ, CT2_VERBOSE="1", ONEDNN_VERBOSE="1", DNNL_VERBOSE="1", **env_extra)
    out = subprocess.run([sys.executable, "-c", CT2_ISA_PROBE.format(ct2=ct2_dir, spm=spm_path,
                                                                             compute_type=compute_type)],
                         capture_output=True, text=True, env=env)
    text = out.stdout + out.stderr
    ct2 = next((l.split("Selected ISA:")[1].strip() for l in text.splitlines() if "Selected ISA:" in l), "?")
    dnnl = next((l.split("isa:")[1].strip() for l in text.splitlines() if ",isa:" in l), "?")
    return f"CTranslate2 {ct2}, oneDNN {dnnl}"


def main():
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--data", default=os.path.join(ROOT, "..", "shared", "data", "multi30k", "test_2016_flickr.en"))
    p.add_argument("--opus", default=os.path.join(ROOT, "..", "shared", "data", "opus-mt-en-mg"),
                   help="the OPUS-MT model directory whose config and tokenizer shape the random-weight model")
    p.add_argument("--work", default=os.path.join(ROOT, "runs", "bench"))
    p.add_argument("--binary", default=os.path.join(ROOT, ".build", "release", "translate"))
    p.add_argument("--lines-batch1", type=int, default=12)
    p.add_argument("--lines-batch16", type=int, default=64)
    p.add_argument("--models", default="opus-mt-shape,tiny")
    p.add_argument("--systems", default="ours,ctranslate2,transformers")
    p.add_argument("--compute-types", default="f32",
                   help="f32 and/or i8, comma-separated (i8: ours --compute-type i8, CTranslate2 int8; "
                        "transformers f32 only)")
    p.add_argument("--isa", choices=sorted(ISA_ENV), help="cap the instruction set of ours and CTranslate2")
    p.add_argument("--rounds", type=int, default=ROUNDS, help="each system's best of this many turns")
    args = p.parse_args()
    systems = args.systems.split(",")
    compute_types = args.compute_types.split(",")
    models = args.models.split(",")
    for what, given, allowed in (("system", systems, ("ours", "ctranslate2", "transformers")),
                                 ("compute type", compute_types, COMPUTE_TYPES),
                                 ("model", models, ("opus-mt-shape", "tiny"))):
        for g in given:
            if g not in allowed:
                p.error(f"unknown {what} {g!r}: expected {', '.join(allowed)}")
    if "ours" in systems and not os.access(args.binary, os.X_OK):
        sys.exit(f"{args.binary} is missing: build it with `bash scripts/setup.sh` (or pass --binary)")
    if not os.path.exists(args.data):
        sys.exit(f"{args.data} is missing (Multi30k test_2016_flickr.en): pass --data")
    converter = os.path.join(os.path.dirname(sys.executable), "ct2-transformers-converter")
    if not os.path.exists(converter):
        sys.exit(f"{converter} is missing: run with the venv's Python after "
                 "`python3 -m venv .venv && .venv/bin/pip install -r tools/requirements.txt`")
    isa_env = ISA_ENV.get(args.isa, {})
    os.makedirs(args.work, exist_ok=True)
    with open(args.data, encoding="utf-8") as f:
        all_lines = [l.rstrip("\n") for l in f]
    bandwidth = copy_bandwidth()
    print(f"copy bandwidth {bandwidth / 1e9:.1f} GB/s", flush=True)
    results = {"bandwidth_gb_s": bandwidth / 1e9, "compute_types": compute_types, "isa": args.isa or "auto",
               "isa_env": isa_env, "isa_used": {}, "models": {}}
    for name in models:
        if name == "opus-mt-shape":
            bin_path, hf_dir = opus_mt_shape_model(args.opus)
        else:
            bin_path = os.path.join(ROOT, "models", "tiny.bin")
            hf_dir = os.path.join(args.work, "tiny-hf")
        ct2_dir = os.path.join(args.work, f"{name}-ct2")
        ctranslate2_model(bin_path, hf_dir, ct2_dir)
        if not results["isa_used"]:
            used = results["isa_used"]
            if "ours" in systems:
                cap = isa_env.get("ours", {}).get("NMT_ISA")
                used["ours"] = f"NMT_ISA={cap}" if cap else f"auto (CPU: {cpu_isa()})"
            if "ctranslate2" in systems:
                env = isa_env.get("ctranslate2", {})
                set_env = " ".join(f"{k}={v}" for k, v in env.items()) or "no cap"
                reported = ct2_isa(ct2_dir, os.path.join(hf_dir, "source.spm"), "int8", env)
                used["ctranslate2"] = f"{set_env}; reported: {reported}"
            if "transformers" in systems:
                used["transformers"] = "not capped (torch's own dispatch)"
            for system, isa in used.items():
                print(f"ISA {system}: {isa}", flush=True)
        model_result = {"decoder_bytes_per_token": decoder_bytes_per_token(bin_path), "cells": {}}
        for batch, n in ((1, args.lines_batch1), (16, args.lines_batch16)):
            lines = all_lines[:n]
            for beam in (1, 4):
                cell_name = f"batch{batch}.{'greedy' if beam == 1 else 'beam4'}"
                rounds = {ct: {} for ct in compute_types}
                for _ in range(args.rounds):
                    for ct in compute_types:
                        for system in systems:
                            env = isa_env.get(system, {})
                            if system == "ours":
                                r = run_ours(args.binary, bin_path, lines, batch, beam, ct, env)
                            elif system == "ctranslate2":
                                r = child(CT2_CODE.format(ct2=ct2_dir, spm=os.path.join(hf_dir, "source.spm"),
                                                          lines=lines, batch=batch, beam=beam, length=LENGTH,
                                                          threads=THREADS, compute_type=CT2_COMPUTE_TYPE[ct]), env)
                            elif ct == "f32":  # transformers: f32 only
                                r = child(HF_CODE.format(dir=hf_dir, lines=lines, batch=batch, beam=beam,
                                                         length=LENGTH, threads=THREADS), env)
                            else:
                                continue
                            rounds[ct].setdefault(system, []).append(r)
                for ct in compute_types:
                    cell = {system: best_of_rounds(rs, len(lines) * LENGTH) for system, rs in rounds[ct].items()}
                    if "ours" in rounds[ct]:
                        cell["paired"] = paired_ratios(rounds[ct], len(lines) * LENGTH)
                    for system, r in cell.items():
                        if system == "paired":
                            continue
                        print(f"{name} {cell_name} {ct} {system}: {r['tokens_per_s']:.0f} tokens/s, "
                              f"load {r['load_s']:.2f} s, peak {r['peak_mb']:.0f} MB", flush=True)
                    model_result["cells"].setdefault(ct, {})[cell_name] = cell
        results["models"][name] = model_result
    with open(os.path.join(args.work, "results.json"), "w") as f:
        json.dump(results, f, indent=1)

    print(f"\ncopy bandwidth: {bandwidth / 1e9:.1f} GB/s; threads: {THREADS}; output length {LENGTH} tokens; "
          f"ISA cap: {args.isa or 'none'}")
    for system, isa in results["isa_used"].items():
        print(f"  {system}: {isa}")
    print("\nBest round of each system, and ours / other per round (median, lowest–highest); i8 rows: "
          "ours --compute-type i8 against CTranslate2 int8 (transformers f32 only):\n")
    print("| model | cell | compute | ours tok/s | CTranslate2 tok/s | transformers tok/s | ours / CT2 | ours / HF "
          "| ours / CT2 per round | ours / HF per round |")
    print("|---|---|---|---|---|---|---|---|---|---|")
    nan = float("nan")
    for name, m in results["models"].items():
        for cell_name in m["cells"][compute_types[0]]:
            for ct in compute_types:
                cell = m["cells"][ct][cell_name]
                o = cell.get("ours", {}).get("tokens_per_s", nan)
                c = cell.get("ctranslate2", {}).get("tokens_per_s", nan)
                h = cell.get("transformers", {}).get("tokens_per_s", nan)
                per_round = []
                for system in ("ctranslate2", "transformers"):
                    pr = cell.get("paired", {}).get(system)
                    per_round.append(f"{pr['median']:.2f}× ({pr['min']:.2f}–{pr['max']:.2f})" if pr else "")
                def fmt(x, spec):  # a system not run: "—"
                    return "—" if x != x else format(x, spec.rstrip("×")) + "×" * spec.endswith("×")
                print(f"| {name} | {cell_name} | {ct} | {fmt(o, '.0f')} | {fmt(c, '.0f')} | {fmt(h, '.0f')} "
                      f"| {fmt(o / c, '.2f×')} | {fmt(o / h, '.2f×')} | {per_round[0]} | {per_round[1]} |")
    print("\n| model | compute | system | load s | peak MB |")
    print("|---|---|---|---|---|")
    for name, m in results["models"].items():
        for ct in compute_types:
            for system, r in m["cells"][ct]["batch16.beam4"].items():
                if system != "paired":
                    print(f"| {name} | {ct} | {system} | {r['load_s']:.2f} | {r['peak_mb']:.0f} |")
    for name, m in results["models"].items():
        if "f32" not in m["cells"]:
            continue
        ours = m["cells"]["f32"]["batch1.greedy"].get("ours")
        if ours:
            achieved = ours["tokens_per_s"] * m["decoder_bytes_per_token"]
            print(f"{name}: f32 batch-1 greedy reads {m['decoder_bytes_per_token'] / 1e6:.0f} MB of weights per "
                  f"token; {achieved / 1e9:.1f} GB/s = {achieved / bandwidth:.0%} of the copy bandwidth")


if __name__ == "__main__":
    main()
