#!/usr/bin/env python3
"""Convert a Hugging Face MarianMT / OPUS-MT checkpoint into one model file (docs/FORMAT.md).

    python tools/convert_marian.py --model HF_DIR --output model.bin [--dtype f32|f16|i8]
        [--source-language en --target-language de]

HF_DIR holds config.json, model.safetensors or pytorch_model.bin, source.spm, target.spm,
vocab.json (and target_vocab.json for models with separate vocabularies). The weights are loaded
with transformers' MarianMTModel, the reference implementation, so tying and sharing are resolved
exactly as it resolves them. Anything the engine would not reproduce exactly is refused with the
config field and value named.

The file records the model's language codes (source_language, target_language; translate-server
routes requests by them): given with --source-language / --target-language, or read from an
OPUS-MT directory name such as opus-mt-en-de (none are recorded when neither gives them).
"""
import argparse
import json
import math
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from nmt_format import FormatError, languages_from_name, vocabulary_blob, with_languages, write_model  # noqa: E402


class Unsupported(Exception):
    pass


def check_config(cfg):
    def need(field, ok, value, expected):
        if not ok:
            raise Unsupported(f"unsupported config: {field} = {value!r} ({expected})")

    need("model_type", cfg.get("model_type") == "marian", cfg.get("model_type"), "only marian is supported")
    act = cfg.get("activation_function", "gelu")
    need("activation_function", act in ("swish", "silu", "gelu", "relu"), act, "expected swish, silu, gelu or relu")
    # MarianMTModel has post-layer-norm blocks only and ignores this field; a checkpoint that claims
    # pre-LN would be translated differently by the reference than its training intended.
    need("normalize_before", not cfg.get("normalize_before", False), cfg.get("normalize_before"),
         "MarianMTModel implements post-layer-norm only")
    need("static_position_embeddings", cfg.get("static_position_embeddings", True),
         cfg.get("static_position_embeddings"), "only sinusoidal positions are supported")
    for field in ("add_final_layer_norm", "normalize_embedding", "add_bias_logits"):
        need(field, not cfg.get(field, False), cfg.get(field), "not used by MarianMTModel, must be false")
    d = cfg["d_model"]
    for field in ("encoder_attention_heads", "decoder_attention_heads"):
        need(field, d % cfg[field] == 0, cfg[field], f"must divide d_model = {d}")
    need("d_model", d % 2 == 0, d, "must be even for sinusoidal positions")


def load_vocab(path, size, side):
    with open(path, encoding="utf-8") as f:
        mapping = json.load(f)
    pieces = [None] * size
    for piece, i in mapping.items():
        if not isinstance(i, int) or not 0 <= i < size:
            raise Unsupported(f"{os.path.basename(path)}: id {i!r} of piece {piece!r} is outside the {side} "
                              f"vocabulary of {size}")
        if pieces[i] is None:
            pieces[i] = piece
    missing = [i for i, p in enumerate(pieces) if p is None]
    for i in missing:
        pieces[i] = f"<unused{i}>"  # ids the vocabulary never produces; they keep the table dense
    if missing:
        print(f"note: {len(missing)} {side} ids have no piece in {os.path.basename(path)}", file=sys.stderr)
    return pieces, mapping


def convert(model_dir, output, dtype="f32", source_language=None, target_language=None):
    with open(os.path.join(model_dir, "config.json")) as f:
        cfg = json.load(f)
    check_config(cfg)
    import torch
    from transformers import MarianMTModel

    model = MarianMTModel.from_pretrained(model_dir, torch_dtype=torch.float32).eval()
    named = languages_from_name(model_dir)
    if source_language is None and target_language is None:
        source_language, target_language = named
    overrides = with_languages({}, source_language, target_language)
    return write(model, model_dir, output, dtype, overrides=overrides)


def write(model, model_dir, output, dtype="f32", overrides=None):
    """Writes a loaded MarianMTModel with the tokenizer files of model_dir. `overrides` changes
    header fields (for test models that run a variant of the architecture)."""
    c = model.config
    separate_vocabs = not bool(getattr(c, "share_encoder_decoder_embeddings", True))
    src_vocab_size = c.vocab_size
    tgt_vocab_size = c.decoder_vocab_size or c.vocab_size

    src_pieces, src_map = load_vocab(os.path.join(model_dir, "vocab.json"), src_vocab_size, "source")
    tgt_file = os.path.join(model_dir, "target_vocab.json")
    if separate_vocabs and os.path.exists(tgt_file):
        tgt_pieces, tgt_map = load_vocab(tgt_file, tgt_vocab_size, "target")
    else:
        tgt_pieces, tgt_map = load_vocab(os.path.join(model_dir, "vocab.json"), tgt_vocab_size, "target")

    for name, mapping in (("<unk>", src_map), ("</s>", src_map), ("</s>", tgt_map)):
        if name not in mapping:
            raise Unsupported(f"vocabulary lacks {name}")
    eos = c.eos_token_id if isinstance(c.eos_token_id, int) else c.eos_token_id[0]
    if tgt_map["</s>"] != eos or src_map["</s>"] != eos:
        raise Unsupported(f"eos_token_id = {eos} but </s> has id {tgt_map['</s>']} in the vocabulary")
    if src_map["<unk>"] != tgt_map.get("<unk>", src_map["<unk>"]):
        raise Unsupported("<unk> has different ids in the source and target vocabularies")

    sd = {k: v.detach().float().numpy() for k, v in model.state_dict().items()}
    # Sharing and tying as the live model resolves them (config flags alone can mislead: with
    # tie_word_embeddings false, transformers keeps encoder, decoder and shared embeddings apart).
    enc_emb = model.model.encoder.embed_tokens.weight
    dec_emb = model.model.decoder.embed_tokens.weight
    out_emb = model.get_output_embeddings().weight
    shared = enc_emb.data_ptr() == dec_emb.data_ptr()
    tied = out_emb.data_ptr() == dec_emb.data_ptr()
    tensors = {}
    if shared:
        tensors["model.shared.weight"] = enc_emb.detach().float().numpy()
    else:
        tensors["model.encoder.embed_tokens.weight"] = enc_emb.detach().float().numpy()
        tensors["model.decoder.embed_tokens.weight"] = dec_emb.detach().float().numpy()
    if not tied:
        tensors["lm_head.weight"] = out_emb.detach().float().numpy()
    tensors["final_logits_bias"] = sd["final_logits_bias"]
    for side, n in (("encoder", c.encoder_layers), ("decoder", c.decoder_layers)):
        for i in range(n):
            prefix = f"model.{side}.layers.{i}."
            for k in sorted(sd):
                if k.startswith(prefix):
                    tensors[k] = sd[k]
    for k in ("model.encoder.layer_norm.weight", "model.encoder.layer_norm.bias",
              "model.decoder.layer_norm.weight", "model.decoder.layer_norm.bias"):
        if k in sd:
            tensors[k] = sd[k]

    header = {
        "d_model": c.d_model, "encoder_layers": c.encoder_layers, "decoder_layers": c.decoder_layers,
        "encoder_heads": c.encoder_attention_heads, "decoder_heads": c.decoder_attention_heads,
        "encoder_ffn_dim": c.encoder_ffn_dim, "decoder_ffn_dim": c.decoder_ffn_dim,
        "source_vocab_size": src_vocab_size, "target_vocab_size": tgt_vocab_size,
        "max_positions": c.max_position_embeddings,
        "activation": "swish" if c.activation_function in ("swish", "silu") else c.activation_function,
        "normalize_before": False, "final_layer_norm": False, "position_layout": "halves",
        "embedding_scale": math.sqrt(c.d_model) if c.scale_embedding else 1.0,
        "shared_embeddings": shared, "tied_output": bool(tied), "final_logits_bias": True,
        "layer_norm_eps": 1e-5, "pad_id": c.pad_token_id, "eos_id": eos, "unk_id": src_map["<unk>"],
        "decoder_start_id": c.decoder_start_token_id,
    }
    header.update(overrides or {})

    def read(name):
        with open(os.path.join(model_dir, name), "rb") as f:
            return f.read()

    blobs = {"source.spm": read("source.spm"), "target.spm": read("target.spm"),
             "source.vocab": vocabulary_blob(src_pieces), "target.vocab": vocabulary_blob(tgt_pieces)}
    write_model(output, header, tensors, blobs, dtype=dtype)
    return header


def main():
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--model", required=True, help="Hugging Face MarianMT checkpoint directory")
    p.add_argument("--output", required=True, help="model file to write")
    p.add_argument("--dtype", choices=["f32", "f16", "i8"], default="f32")
    p.add_argument("--source-language", help="ISO 639 code of the source language (default: from an opus-mt-XX-YY "
                   "directory name; none recorded otherwise)")
    p.add_argument("--target-language", help="ISO 639 code of the target language (default: as --source-language)")
    args = p.parse_args()
    if (args.source_language is None) != (args.target_language is None):
        p.error("give both --source-language and --target-language, or neither")
    try:
        convert(args.model, args.output, args.dtype, args.source_language, args.target_language)
    except (Unsupported, FormatError, FileNotFoundError, KeyError) as e:
        print(f"error: {e}", file=sys.stderr)
        sys.exit(1)
    print(f"wrote {args.output} ({os.path.getsize(args.output) / 1e6:.1f} MB)")


if __name__ == "__main__":
    main()
