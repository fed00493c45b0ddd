#!/usr/bin/env python3
"""Build the small test fixtures of Tests/NMTTests/Fixtures and record the reference outputs.

Random-weight MarianMT models (Hugging Face transformers, the reference) with tiny SentencePiece
vocabularies trained on Multi30k are converted with tools/convert_marian.py; for a few sentences
the script records what transformers computes: source ids, encoder output, per-step logits,
greedy tokens and beam-4 n-best lists with scores, and (NAME-attention.json) the attention
weights of the greedy and beam-4 best hypotheses (`output_attentions=True`). `swift test`
compares the engine against them.

    python tools/make_fixtures.py --data ../shared/data/multi30k --out Tests/NMTTests/Fixtures
"""
import argparse
import json
import os
import random
import sys
import tempfile

import numpy as np
import sentencepiece as spm
import torch
from transformers import MarianConfig, MarianMTModel, MarianTokenizer

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from convert_marian import convert, write  # noqa: E402

SENTENCES = [
    "A man in an orange hat starring at something.",
    "Two dogs play in the snow.",
    "A girl in karate uniform breaking a stick with a front kick.",
    "People are walking down the street!",
    "Xylophone zebra quokka?",  # rare characters: unknown pieces
]

SEARCHES = [  # (beam, n_best, length_penalty, max_new_tokens, min_new_tokens)
    (1, 1, 1.0, 24, 0),
    (4, 4, 1.0, 24, 0),
    (4, 2, 0.6, 20, 5),
    (1, 1, 1.0, 12, 12),
    (4, 3, 1.3, 16, 0),
]


def train_spm(lines, prefix, size):
    spm.SentencePieceTrainer.train(
        sentence_iterator=iter(lines), model_prefix=prefix, vocab_size=size, model_type="unigram",
        character_coverage=0.98, pad_id=-1, bos_id=-1, eos_id=0, unk_id=1, eos_piece="</s>",
        unk_piece="<unk>", minloglevel=2, seed_sentencepiece_size=100000, num_threads=1)
    sp = spm.SentencePieceProcessor(model_file=prefix + ".model")
    return {sp.id_to_piece(i): i for i in range(sp.get_piece_size())}


def encoder_layer_pre_ln(self, hidden_states, attention_mask, **kwargs):
    """MarianEncoderLayer with the layer norms moved before the sublayers (pre-LN)."""
    h, _ = self.self_attn(self.self_attn_layer_norm(hidden_states), attention_mask=attention_mask, **kwargs)
    hidden_states = hidden_states + h
    return hidden_states + self.fc2(self.activation_fn(self.fc1(self.final_layer_norm(hidden_states))))


def decoder_layer_pre_ln(self, hidden_states, attention_mask=None, encoder_hidden_states=None,
                         encoder_attention_mask=None, past_key_values=None, use_cache=True, **kwargs):
    """MarianDecoderLayer with the layer norms moved before the sublayers (pre-LN)."""
    h, _ = self.self_attn(self.self_attn_layer_norm(hidden_states), past_key_values=past_key_values,
                          attention_mask=attention_mask, **kwargs)
    hidden_states = hidden_states + h
    h, _ = self.encoder_attn(self.encoder_attn_layer_norm(hidden_states), key_value_states=encoder_hidden_states,
                             attention_mask=encoder_attention_mask, past_key_values=past_key_values, **kwargs)
    hidden_states = hidden_states + h
    return hidden_states + self.fc2(self.activation_fn(self.fc1(self.final_layer_norm(hidden_states))))


def make_pre_ln(model):
    """A reference for the engine's other architecture options, built by patching MarianMTModel:
    pre-LN blocks, a final layer norm after each stack, interleaved sinusoidal positions."""
    import types
    d = model.config.d_model
    for layer in model.model.encoder.layers:
        layer.forward = types.MethodType(encoder_layer_pre_ln, layer)
    for layer in model.model.decoder.layers:
        layer.forward = types.MethodType(decoder_layer_pre_ln, layer)
    for stack in (model.model.encoder, model.model.decoder):
        stack.layer_norm = torch.nn.LayerNorm(d)
        with torch.no_grad():
            stack.layer_norm.weight.add_(torch.randn(d) * 0.2)
            stack.layer_norm.bias.add_(torch.randn(d) * 0.2)

        def final_norm(module, args, output):
            output.last_hidden_state = module.layer_norm(output.last_hidden_state)
            return output
        stack.register_forward_hook(final_norm)
        n_pos = stack.embed_positions.weight.shape[0]
        angles = np.array([[pos / np.power(10000, 2 * (j // 2) / d) for j in range(d)] for pos in range(n_pos)])
        table = np.empty_like(angles)
        table[:, 0::2] = np.sin(angles[:, 0::2])
        table[:, 1::2] = np.cos(angles[:, 1::2])
        stack.embed_positions.weight.data = torch.tensor(table, dtype=torch.float32)
    return model


def build(dir_, *, shared, activation, scale, src_spm, tgt_spm, seed, tied=True):
    torch.manual_seed(seed)
    with open(src_spm + ".vocab_json") as f:
        src_vocab = json.load(f)
    tgt_vocab = src_vocab
    if not shared:
        with open(tgt_spm + ".vocab_json") as f:
            tgt_vocab = json.load(f)
    pad = len(src_vocab)
    src_vocab = dict(src_vocab, **{"<pad>": pad})
    if shared:
        tgt_vocab = src_vocab
    else:
        tgt_vocab = dict(tgt_vocab, **{"<pad>": len(tgt_vocab)})
        # Model ids unlike SentencePiece's: one permutation of both tables moves </s> and <unk>
        # away from 0 and 1, so that nothing may assume them.
        perm = list(range(pad))
        random.Random(seed).shuffle(perm)
        src_vocab = {p: (perm[i] if i < pad else i) for p, i in src_vocab.items()}
        tgt_vocab = {p: (perm[i] if i < pad else i) for p, i in tgt_vocab.items()}
        assert src_vocab["</s>"] != 0 and src_vocab["<unk>"] != 1
    cfg = MarianConfig(
        vocab_size=len(src_vocab), decoder_vocab_size=len(tgt_vocab), d_model=32, encoder_layers=2,
        decoder_layers=2, encoder_attention_heads=4, decoder_attention_heads=4, encoder_ffn_dim=64,
        decoder_ffn_dim=64, activation_function=activation, max_position_embeddings=64,
        pad_token_id=len(tgt_vocab) - 1, eos_token_id=tgt_vocab["</s>"], decoder_start_token_id=len(tgt_vocab) - 1,
        forced_eos_token_id=tgt_vocab["</s>"],
        scale_embedding=scale, share_encoder_decoder_embeddings=shared, init_std=0.25, dropout=0.0,
        tie_word_embeddings=tied)
    cfg._attn_implementation = "eager"  # attention weights come out of the eager path only
    model = MarianMTModel(cfg).eval()
    with torch.no_grad():  # peaky, non-degenerate distributions: random norms and logits bias
        for name, p in model.named_parameters():
            if "layer_norm" in name:
                p.add_(torch.randn_like(p) * 0.2)
        model.final_logits_bias.normal_(0, 1.0)
    os.makedirs(dir_, exist_ok=True)
    model.save_pretrained(dir_)
    import shutil
    shutil.copy(src_spm + ".model", os.path.join(dir_, "source.spm"))
    shutil.copy(tgt_spm + ".model", os.path.join(dir_, "target.spm"))
    with open(os.path.join(dir_, "vocab.json"), "w") as f:
        json.dump(src_vocab, f, ensure_ascii=False)
    if not shared:
        with open(os.path.join(dir_, "target_vocab.json"), "w") as f:
            json.dump(tgt_vocab, f, ensure_ascii=False)
    with open(os.path.join(dir_, "tokenizer_config.json"), "w") as f:
        json.dump({"source_lang": "en", "target_lang": "de", "separate_vocabs": not shared}, f)
    return model


def generated(seq, eos, pad):
    """Tokens after the decoder start, up to and including the first </s>."""
    out = []
    for t in seq[1:]:
        t = int(t)
        out.append(t)
        if t == eos:
            break
    while out and out[-1] == pad:
        out.pop()
    return out


def record(hf_dir, model, name):
    tok = MarianTokenizer.from_pretrained(hf_dir)
    cfg = model.config
    pad, eos = cfg.pad_token_id, cfg.eos_token_id
    enc = tok(SENTENCES, return_tensors="pt", padding=True)
    source_ids = [tok(s)["input_ids"] for s in SENTENCES]
    out = {"model": f"{name}.bin", "sentences": SENTENCES, "source_ids": source_ids}
    with torch.no_grad():
        out["encoder_output"] = [
            model.model.encoder(input_ids=torch.tensor([ids])).last_hidden_state[0].flatten().tolist()
            for ids in source_ids]
        searches = []
        for beam, nbest, lp, max_new, min_new in SEARCHES:
            g = model.generate(**enc, num_beams=beam, num_return_sequences=nbest, do_sample=False,
                               max_new_tokens=max_new, min_new_tokens=min_new, length_penalty=lp,
                               early_stopping=False, forced_eos_token_id=None, bad_words_ids=[[pad]],
                               output_scores=True, return_dict_in_generate=True)
            seqs = g.sequences.tolist()
            scores = g.sequences_scores.tolist() if beam > 1 else [None] * len(seqs)
            results = []
            for i in range(len(SENTENCES)):
                results.append([{"tokens": generated(seqs[i * nbest + k], eos, pad), "score": scores[i * nbest + k]}
                                for k in range(nbest)])
            entry = {"beam_size": beam, "n_best": nbest, "length_penalty": lp, "max_length": max_new,
                     "min_length": min_new, "results": results,
                     "texts": tok.batch_decode([r[0]["tokens"] for r in results], skip_special_tokens=True)}
            searches.append(entry)
        out["searches"] = searches
        # Teacher forcing on the first sentence's beam-4 best: logits of every step.
        target = searches[1]["results"][0][0]["tokens"]
        dec_in = [cfg.decoder_start_token_id] + target[:-1]
        logits = model(input_ids=torch.tensor([source_ids[0]]), decoder_input_ids=torch.tensor([dec_in])).logits[0]
        out["teacher_forcing"] = {"sentence": 0, "decoder_input": dec_in, "target": target,
                                  "logits": logits.flatten().tolist(),
                                  "log_probability": float(torch.log_softmax(logits, -1)[range(len(target)), target].sum())}
    return out


def record_attention(model, expected):
    """Attention of the greedy (search 0) and beam-4 (search 1) best hypothesis of every sentence:
    a forward pass over the source and the hypothesis's decoder inputs with output_attentions,
    which gives, row by row, what generate() reports step by step (the weights of a step do not
    depend on the steps after it)."""
    cfg = model.config
    entries = []
    with torch.no_grad():
        for search in (0, 1):
            for i, ids in enumerate(expected["source_ids"]):
                target = expected["searches"][search]["results"][i][0]["tokens"]
                dec_in = [cfg.decoder_start_token_id] + target[:-1]
                out = model(input_ids=torch.tensor([ids]), decoder_input_ids=torch.tensor([dec_in]),
                            output_attentions=True)

                def flat(layers):  # [layers, heads, rows, columns], rounded
                    return [round(float(v), 6) for v in torch.stack([a[0] for a in layers]).flatten()]
                entry = {"search": search, "sentence": i, "target": target,
                         "cross": flat(out.cross_attentions), "decoder": flat(out.decoder_attentions)}
                if search == 0:  # the encoder's do not depend on the search
                    entry["encoder"] = flat(out.encoder_attentions)
                entries.append(entry)
    return {"heads": cfg.decoder_attention_heads, "layers": cfg.decoder_layers, "entries": entries}


def main():
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--data", default="../shared/data/multi30k")
    p.add_argument("--out", default="Tests/NMTTests/Fixtures")
    args = p.parse_args()
    os.makedirs(args.out, exist_ok=True)
    with open(os.path.join(args.data, "train.en")) as f:
        en = [l.strip() for l in f][:6000]
    with open(os.path.join(args.data, "train.de")) as f:
        de = [l.strip() for l in f][:6000]
    with tempfile.TemporaryDirectory() as tmp:
        joint, src, tgt = (os.path.join(tmp, n) for n in ("joint", "src", "tgt"))
        for prefix, lines, size in ((joint, en + de, 300), (src, en, 200), (tgt, de, 200)):
            vocab = train_spm(lines, prefix, size)
            with open(prefix + ".vocab_json", "w") as f:
                json.dump(vocab, f, ensure_ascii=False)
        variants = {
            "marian-shared": dict(shared=True, activation="swish", scale=True, src_spm=joint, tgt_spm=joint, seed=1),
            "marian-separate": dict(shared=False, activation="relu", scale=False, src_spm=src, tgt_spm=tgt, seed=2),
            "pre-ln": dict(shared=True, activation="gelu", scale=True, src_spm=joint, tgt_spm=joint, seed=3, tied=False),
        }
        for name, kw in variants.items():
            hf_dir = os.path.join(tmp, name)
            model = build(hf_dir, **kw)
            if name == "pre-ln":
                make_pre_ln(model)
                write(model, hf_dir, os.path.join(args.out, f"{name}.bin"),
                      overrides={"normalize_before": True, "final_layer_norm": True, "position_layout": "interleaved"})
            else:
                convert(hf_dir, os.path.join(args.out, f"{name}.bin"))
            if name == "marian-shared":
                convert(hf_dir, os.path.join(args.out, f"{name}-f16.bin"), dtype="f16")
            expected = record(hf_dir, model, name)
            with open(os.path.join(args.out, f"{name}.json"), "w") as f:
                json.dump(expected, f, ensure_ascii=False)
            with open(os.path.join(args.out, f"{name}-attention.json"), "w") as f:
                json.dump(record_attention(model, expected), f)
            print(f"{name}: {os.path.getsize(os.path.join(args.out, name + '.bin')) / 1e3:.0f} kB; greedy: "
                  f"{expected['searches'][0]['texts'][:2]}")


if __name__ == "__main__":
    main()
