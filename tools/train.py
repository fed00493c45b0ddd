#!/usr/bin/env python3
"""Train a small MarianMT-shaped English→German Transformer on Multi30k.

The result is an ordinary Hugging Face MarianMT checkpoint directory (config.json,
model.safetensors, source.spm, target.spm, vocab.json), so tools/convert_marian.py
turns it into our model file exactly as it does a published OPUS-MT model.

    python tools/train.py --src ../shared/data/multi30k/train.en --tgt ../shared/data/multi30k/train.de \
        --val-src ../shared/data/multi30k/val.en --val-tgt ../shared/data/multi30k/val.de \
        --work runs/tiny --time-budget 75

Checkpoints are written after every epoch into --work; `--resume` continues from the
last one. `--export DIR` writes the checkpoint directory (averaging the last epochs).
"""
import argparse
import json
import math
import os
import random
import shutil
import time

import sentencepiece as spm
import torch
import torch.nn.functional as F
from transformers import MarianConfig, MarianMTModel

EOS_ID, UNK_ID = 0, 1  # Marian convention: </s> = 0, <unk> = 1, <pad> = last id


def parse_args():
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--src", required=True)
    p.add_argument("--tgt", required=True)
    p.add_argument("--val-src", required=True)
    p.add_argument("--val-tgt", required=True)
    p.add_argument("--work", required=True, help="folder for the vocabulary and checkpoints")
    p.add_argument("--vocab-size", type=int, default=8000)
    p.add_argument("--d-model", type=int, default=256)
    p.add_argument("--layers", type=int, default=3)
    p.add_argument("--heads", type=int, default=4)
    p.add_argument("--ffn", type=int, default=1024)
    p.add_argument("--dropout", type=float, default=0.2)
    p.add_argument("--label-smoothing", type=float, default=0.1)
    p.add_argument("--lr", type=float, default=1e-3)
    p.add_argument("--warmup", type=int, default=800, help="warmup steps, then inverse square root decay")
    p.add_argument("--max-tokens", type=int, default=3000, help="target tokens per batch")
    p.add_argument("--max-epochs", type=int, default=60)
    p.add_argument("--time-budget", type=float, default=75, help="minutes of training wall time")
    p.add_argument("--threads", type=int, default=2)
    p.add_argument("--bf16", action="store_true", help="bf16 autocast for matrix products (CPUs with AVX512-BF16)")
    p.add_argument("--seed", type=int, default=1234)
    p.add_argument("--resume", action="store_true")
    p.add_argument("--export", help="write the HF checkpoint directory here after training")
    p.add_argument("--average", type=int, default=5, help="average the last N epoch checkpoints on export")
    p.add_argument("--export-only", action="store_true", help="export the checkpoints in --work without training")
    return p.parse_args()


def train_vocabulary(args):
    prefix = os.path.join(args.work, "spm")
    if not os.path.exists(prefix + ".model"):
        spm.SentencePieceTrainer.train(
            input=[args.src, args.tgt], model_prefix=prefix, vocab_size=args.vocab_size,
            model_type="unigram", character_coverage=1.0, pad_id=-1, bos_id=-1,
            eos_id=EOS_ID, unk_id=UNK_ID, eos_piece="</s>", unk_piece="<unk>",
            input_sentence_size=1_000_000, shuffle_input_sentence=True, seed_sentencepiece_size=200_000,
            num_threads=args.threads, minloglevel=2)
    sp = spm.SentencePieceProcessor(model_file=prefix + ".model")
    vocab = {sp.id_to_piece(i): i for i in range(sp.get_piece_size())}
    vocab["<pad>"] = sp.get_piece_size()
    return sp, vocab


def read_pairs(sp, src_path, tgt_path, max_len=200):
    with open(src_path, encoding="utf-8") as fs, open(tgt_path, encoding="utf-8") as ft:
        src = [l.rstrip("\n") for l in fs]
        tgt = [l.rstrip("\n") for l in ft]
    assert len(src) == len(tgt), "source and target line counts differ"
    pairs = []
    for s, t in zip(sp.encode(src), sp.encode(tgt)):
        if 0 < len(s) < max_len and 0 < len(t) < max_len:
            pairs.append((s + [EOS_ID], t + [EOS_ID]))
    return pairs


def make_batches(pairs, max_tokens, rng):
    """Groups sentences of similar length so that a batch holds about max_tokens target tokens."""
    order = sorted(range(len(pairs)), key=lambda i: (len(pairs[i][1]), len(pairs[i][0]), rng.random()))
    batches, cur, longest = [], [], 0
    for i in order:
        longest_next = max(longest, len(pairs[i][1]), len(pairs[i][0]))
        if cur and longest_next * (len(cur) + 1) > max_tokens:
            batches.append(cur)
            cur, longest_next = [], max(len(pairs[i][1]), len(pairs[i][0]))
        cur.append(i)
        longest = longest_next
    if cur:
        batches.append(cur)
    rng.shuffle(batches)
    return batches


def collate(pairs, idx, pad):
    src = [pairs[i][0] for i in idx]
    tgt = [pairs[i][1] for i in idx]
    S, T = max(map(len, src)), max(map(len, tgt))
    input_ids = torch.full((len(idx), S), pad, dtype=torch.long)
    labels = torch.full((len(idx), T), pad, dtype=torch.long)
    dec_in = torch.full((len(idx), T), pad, dtype=torch.long)  # decoder starts from <pad>
    for b, (s, t) in enumerate(zip(src, tgt)):
        input_ids[b, :len(s)] = torch.tensor(s)
        labels[b, :len(t)] = torch.tensor(t)
        dec_in[b, 1:len(t)] = torch.tensor(t[:-1])
    return input_ids, input_ids.ne(pad).long(), dec_in, labels


def loss_fn(model, batch, pad, smoothing, bf16):
    input_ids, attn, dec_in, labels = batch
    with torch.autocast("cpu", dtype=torch.bfloat16, enabled=bf16):
        logits = model(input_ids=input_ids, attention_mask=attn, decoder_input_ids=dec_in).logits
    logits = logits.float()
    mask = labels.ne(pad)
    # Never learn to emit <pad>: the decoders suppress it, as HF's bad_words_ids does.
    logits[..., pad] = -1e9
    loss = F.cross_entropy(logits[mask], labels[mask], label_smoothing=smoothing, reduction="sum")
    nll = F.cross_entropy(logits[mask], labels[mask], reduction="sum")
    return loss, nll, int(mask.sum())


def build_model(args, vocab):
    cfg = MarianConfig(
        vocab_size=len(vocab), decoder_vocab_size=len(vocab), d_model=args.d_model,
        encoder_layers=args.layers, decoder_layers=args.layers,
        encoder_attention_heads=args.heads, decoder_attention_heads=args.heads,
        encoder_ffn_dim=args.ffn, decoder_ffn_dim=args.ffn, activation_function="swish",
        dropout=args.dropout, attention_dropout=0.1, activation_dropout=0.0,
        max_position_embeddings=256, pad_token_id=vocab["<pad>"], eos_token_id=EOS_ID,
        decoder_start_token_id=vocab["<pad>"], forced_eos_token_id=EOS_ID, bad_words_ids=[[vocab["<pad>"]]],
        scale_embedding=True, share_encoder_decoder_embeddings=True, num_beams=4, max_length=256)
    return MarianMTModel(cfg)


def lr_at(step, args):
    step = max(step, 1)
    return args.lr * min(step / args.warmup, math.sqrt(args.warmup / step))


def evaluate(model, pairs, pad, args):
    model.eval()
    total, tokens = 0.0, 0
    with torch.no_grad():
        for idx in make_batches(pairs, 4000, random.Random(0)):
            _, nll, n = loss_fn(model, collate(pairs, idx, pad), pad, 0.0, args.bf16)
            total += float(nll)
            tokens += n
    model.train()
    return total / tokens


def export(args, vocab, model):
    """Writes a MarianMT checkpoint directory from the average of the last epoch checkpoints."""
    ckpts = sorted((f for f in os.listdir(args.work) if f.startswith("epoch") and f.endswith(".pt")),
                   key=lambda f: int(f[5:-3]))[-args.average:]
    states = [torch.load(os.path.join(args.work, f), map_location="cpu")["model"] for f in ckpts]
    avg = {k: sum(s[k].float() for s in states) / len(states) for k in states[0]}
    model.load_state_dict(avg)
    os.makedirs(args.export, exist_ok=True)
    model.save_pretrained(args.export)
    for name in ("source.spm", "target.spm"):
        shutil.copy(os.path.join(args.work, "spm.model"), os.path.join(args.export, name))
    with open(os.path.join(args.export, "vocab.json"), "w", encoding="utf-8") as f:
        json.dump(vocab, f, ensure_ascii=False, indent=0)
    with open(os.path.join(args.export, "tokenizer_config.json"), "w") as f:
        json.dump({"source_lang": "en", "target_lang": "de"}, f)
    print(f"exported the average of {ckpts} to {args.export}", flush=True)


def main():
    args = parse_args()
    os.makedirs(args.work, exist_ok=True)
    torch.set_num_threads(args.threads)
    random.seed(args.seed)
    torch.manual_seed(args.seed)
    sp, vocab = train_vocabulary(args)
    pad = vocab["<pad>"]
    train = read_pairs(sp, args.src, args.tgt)
    val = read_pairs(sp, args.val_src, args.val_tgt)
    model = build_model(args, vocab)
    if args.export_only:
        export(args, vocab, model)
        return
    opt = torch.optim.AdamW(model.parameters(), lr=args.lr, betas=(0.9, 0.98), eps=1e-9, weight_decay=0.0)
    epoch, step, elapsed = 0, 0, 0.0
    last = os.path.join(args.work, "last.pt")
    if args.resume and os.path.exists(last):
        ck = torch.load(last, map_location="cpu")
        model.load_state_dict(ck["model"])
        opt.load_state_dict(ck["opt"])
        epoch, step, elapsed = ck["epoch"], ck["step"], ck["elapsed"]
        random.setstate(ck["py_rng"])
        torch.set_rng_state(ck["torch_rng"])
        print(f"resumed at epoch {epoch}, step {step}, {elapsed / 60:.1f} min trained", flush=True)
    print(f"{len(train)} training pairs, {sum(p.numel() for p in model.parameters()) / 1e6:.1f}M parameters",
          flush=True)
    model.train()
    budget = args.time_budget * 60
    while epoch < args.max_epochs:
        start = time.time()
        rng = random.Random(args.seed + epoch)
        tot_loss, tot_tok = 0.0, 0
        for idx in make_batches(train, args.max_tokens, rng):
            step += 1
            for g in opt.param_groups:
                g["lr"] = lr_at(step, args)
            loss, nll, n = loss_fn(model, collate(train, idx, pad), pad, args.label_smoothing, args.bf16)
            opt.zero_grad()
            (loss / n).backward()
            torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
            opt.step()
            tot_loss += float(nll)
            tot_tok += n
        epoch += 1
        took = time.time() - start
        elapsed += took
        val_nll = evaluate(model, val, pad, args)
        print(f"epoch {epoch} step {step} train_nll {tot_loss / tot_tok:.3f} val_nll {val_nll:.3f} "
              f"val_ppl {math.exp(val_nll):.2f} lr {lr_at(step, args):.2e} {took:.0f}s "
              f"total {elapsed / 60:.1f} min", flush=True)
        torch.save({"model": model.state_dict()}, os.path.join(args.work, f"epoch{epoch}.pt"))
        old = os.path.join(args.work, f"epoch{epoch - args.average}.pt")
        if os.path.exists(old):
            os.remove(old)
        torch.save({"model": model.state_dict(), "opt": opt.state_dict(), "epoch": epoch, "step": step,
                    "elapsed": elapsed, "py_rng": random.getstate(), "torch_rng": torch.get_rng_state()},
                   last + ".tmp")
        os.replace(last + ".tmp", last)
        if elapsed + took > budget:
            print("time budget reached", flush=True)
            break
    if args.export:
        export(args, vocab, model)


if __name__ == "__main__":
    main()
