#!/usr/bin/env python3
"""Translate a file with CTranslate2 as a whole program, the counterpart of our `translate`
process that tools/bench_text.py times: load the model, split every line into pieces with the
source SentencePiece model (plus </s>, as our CLI does), translate the whole file in one
translate_batch call (CTranslate2 sorts the examples by length and batches them by
`--batch-type`/`--max-batch-size`), join the pieces with the target SentencePiece model and write
one line per input line. Empty lines give empty lines without being translated, as in our CLI.

Only ctranslate2 and sentencepiece are imported, so the process pays no start-up our CLI does not
pay a counterpart of.

    python tools/ct2_translate.py --model runs/bench/tiny-ct2 --source-spm runs/bench/tiny-hf/source.spm \\
        --target-spm runs/bench/tiny-hf/target.spm --input in.en --output out.de [--beam-size 4]
"""
import argparse


def main():
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--model", required=True, help="CTranslate2 model directory")
    p.add_argument("--source-spm", required=True)
    p.add_argument("--target-spm", required=True)
    p.add_argument("--input", required=True)
    p.add_argument("--output", required=True)
    p.add_argument("--threads", type=int, default=2, help="threads in all: intra_threads × inter_threads")
    p.add_argument("--inter-threads", type=int, default=1,
                   help="batches translated at the same time (inter_threads), each on threads / inter_threads")
    p.add_argument("--beam-size", type=int, default=4)
    p.add_argument("--length-penalty", type=float, default=1.0)
    # Like our --max-length, max_decoding_length counts generated tokens including </s>.
    p.add_argument("--max-decoding-length", type=int, default=256)
    p.add_argument("--max-input-length", type=int, default=256,
                   help="longer sources are cut to this many tokens (the appended </s> counted): the model's "
                        "positions, as our CLI cuts them (CTranslate2 fails on a longer line otherwise)")
    p.add_argument("--batch-type", choices=["examples", "tokens"], default="examples")
    p.add_argument("--max-batch-size", type=int, default=32)
    p.add_argument("--compute-type", default="float32")
    args = p.parse_args()

    import ctranslate2
    import sentencepiece as spm

    translator = ctranslate2.Translator(args.model, device="cpu", compute_type=args.compute_type, inter_threads=args.inter_threads,
                                        intra_threads=max(1, args.threads // args.inter_threads))
    source = spm.SentencePieceProcessor(model_file=args.source_spm)
    target = source if args.target_spm == args.source_spm else spm.SentencePieceProcessor(model_file=args.target_spm)
    with open(args.input, encoding="utf-8", errors="replace") as f:
        lines = [line.rstrip("\n") for line in f]
    todo = [i for i, line in enumerate(lines) if line.strip()]
    tokens = [source.encode(lines[i], out_type=str) + ["</s>"] for i in todo]
    results = translator.translate_batch(
        tokens, beam_size=args.beam_size, length_penalty=args.length_penalty,
        max_decoding_length=args.max_decoding_length, max_input_length=args.max_input_length,
        max_batch_size=args.max_batch_size, batch_type=args.batch_type)
    out = [""] * len(lines)
    for i, r in zip(todo, results):
        out[i] = target.decode(r.hypotheses[0])
    with open(args.output, "w", encoding="utf-8") as f:
        f.write("".join(line + "\n" for line in out))


if __name__ == "__main__":
    main()
