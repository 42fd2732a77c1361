#!/usr/bin/env python3
"""Record llama.cpp's logits for the tiny Gemma 4 (scripts/make-tiny-gemma4.py).

A fixed token sequence of 64 tokens (four times the sliding window) is
evaluated from scratch: the full logit rows at every position are recorded,
so locus can be checked on the first 40 tokens (turn one) and on the last 24
computed after reusing the cached prefix (turn two). Tokenizer probes record
llama.cpp's ids for the tiny BPE vocabulary.

usage: scripts/ref-tiny-gemma4.py MODEL.gguf OUT.json
"""
import json
import sys

import llama_cpp

PROBES = ["the thin fn in there", "the\n\nthese fn; a=b+c", "café ok", "<|turn>user\nhi<turn|>", "   spaces  ",
          '<|tool_call>call:f{a:<|"|>x<|"|>}<tool_call|><|tool_response>']


def main():
    model_path, out_path = sys.argv[1], sys.argv[2]
    llm = llama_cpp.Llama(model_path=model_path, n_ctx=256, n_batch=256, logits_all=True,
                          n_threads=2, verbose=False, seed=0, type_k=1, type_v=1, flash_attn=False)  # f16 KV: llama.cpp's default and locus's
    n_vocab = llm.n_vocab()
    tokens = [2] + [(7 * i * i + 13 * i + 9) % (n_vocab - 9) + 9 for i in range(63)]
    llm.reset()
    llm.eval(tokens)
    logits = [[round(float(x), 6) for x in llm.scores[p][:n_vocab]] for p in range(len(tokens))]
    probes = [{"text": t, "tokens": [int(x) for x in llm.tokenize(t.encode(), add_bos=False, special=True)]}
              for t in PROBES]
    with open(out_path, "w") as f:
        json.dump({"generator": "scripts/ref-tiny-gemma4.py with llama-cpp-python " + llama_cpp.__version__,
                   "tokens": tokens, "turn_one": 40, "logits": logits, "tokenizer_probes": probes}, f)
        f.write("\n")


if __name__ == "__main__":
    main()
