#!/usr/bin/env python3
"""The fidelity suite's reference side: a matrix of tiny random Gemma 4
models (scripts/make-tiny-gemma4.py: widths, head sizes, KV heads, windows,
q/k norm scales from soft to sharp attention), each written in F32 and
quantized by llama.cpp's own quantizer into every format locus runs; for
each file, llama.cpp's logits (top 16 per position) over prompts of 1 token,
one window and four windows, computed in one batch and again token by token
(what llama.cpp itself varies between batch sizes), and its greedy
continuation with the margin of each step. tests/fidelity.rs holds locus to
these.

The Gemma 3 270M (GEMMA3=path to its Q4_K_M file, as scripts/fetch-test-model
writes it) joins the matrix requantized into each format, on a code prompt.

usage: [GEMMA3=MODEL.gguf] .venv-llama/bin/python scripts/fidelity.py OUTDIR
Writes OUTDIR/<config>-<format>.gguf and OUTDIR/fidelity.json.
Attention as llama.cpp computes it without flash attention (f16 KV cache).
"""
import json, os, subprocess, sys

import llama_cpp
import numpy as np

HERE = os.path.dirname(os.path.abspath(__file__))
TOP = 16
GREEDY = 16

CONFIGS = {
    # name: (environment for make-tiny-gemma4.py)
    "soft": dict(TINY_LAYERS=6),
    "sharp": dict(TINY_LAYERS=6, TINY_HIDDEN=256, TINY_FFN=512, TINY_HEADS=4, TINY_KV_SWA=2, TINY_KV_FULL=1,
                  TINY_HD_SWA=64, TINY_HD_FULL=128, TINY_WINDOW=32, TINY_QK_NORM=1.0, TINY_SEED=7),
    "sharper": dict(TINY_LAYERS=6, TINY_HIDDEN=256, TINY_FFN=768, TINY_HEADS=8, TINY_KV_SWA=4, TINY_KV_FULL=2,
                    TINY_HD_SWA=32, TINY_HD_FULL=64, TINY_WINDOW=8, TINY_QK_NORM=1.5, TINY_SEED=11),
    "wide-heads": dict(TINY_LAYERS=6, TINY_HIDDEN=512, TINY_FFN=1024, TINY_HEADS=2, TINY_KV_SWA=1, TINY_KV_FULL=1,
                       TINY_HD_SWA=128, TINY_HD_FULL=256, TINY_WINDOW=64, TINY_QK_NORM=0.6, TINY_SEED=5),
}
# llama.cpp file types (llama_ftype).
FORMATS = {"F32": 0, "F16": 1, "Q8_0": 7, "Q4_0": 2, "Q4_1": 3, "Q5_0": 8, "Q5_1": 9, "Q2_K": 10,
           "Q3_K_M": 12, "Q4_K_M": 15, "Q5_K_M": 17, "Q6_K": 18, "IQ4_NL": 25, "IQ4_XS": 30}


def make(out, env):
    e = dict(os.environ, TINY_F32="1", **{k: str(v) for k, v in env.items()})
    subprocess.run([sys.executable, os.path.join(HERE, "make-tiny-gemma4.py"), out], check=True, env=e)


def quantize(src, dst, ftype):
    p = llama_cpp.llama_model_quantize_default_params()
    p.ftype = ftype
    p.nthread = 2
    if llama_cpp.llama_model_quantize(src.encode(), dst.encode(), p) != 0:
        raise SystemExit(f"quantizing {src} to ftype {ftype} failed")


def quantize_re(src, dst, ftype):
    p = llama_cpp.llama_model_quantize_default_params()
    p.ftype = ftype
    p.nthread = 2
    p.allow_requantize = True
    if llama_cpp.llama_model_quantize(src.encode(), dst.encode(), p) != 0:
        raise SystemExit(f"requantizing {src} to ftype {ftype} failed")


def top(row):
    # The TOP largest without sorting all of a row (262,144 logits for the
    # 270M): a partition, then those by value and ties by id, the order a
    # stable sort of the whole row gives. The 270M's part of this script
    # took 347 s here with the full sort, 212 s so.
    part = np.argpartition(-row, TOP)[:TOP]
    idx = part[np.lexsort((part, -row[part]))]
    return [[int(i), round(float(row[i]), 5)] for i in idx]


CODE = ("def merge(a, b):\n    \"\"\"Merge two sorted lists into one sorted list.\"\"\"\n    out = []\n"
        "    i = j = 0\n    while i < len(a) and j < len(b):\n        if a[i] <= b[j]:\n            out.append(a[i])\n"
        "            i += 1\n        else:\n            out.append(b[j])\n            j += 1\n    out.extend(a[i:])\n"
        "    out.extend(b[j:])\n    return out\n\n\ndef merge_sort(xs):\n    if len(xs) <= 1:\n        return xs\n")


def run(path, window, text=None):
    n_ctx = 512 if text else max(256, 4 * window + GREEDY + 16)
    batch = llama_cpp.Llama(model_path=path, n_ctx=n_ctx, n_batch=n_ctx, n_ubatch=n_ctx, logits_all=True,
                            n_threads=2, verbose=False, type_k=1, type_v=1, flash_attn=False)
    serial = llama_cpp.Llama(model_path=path, n_ctx=n_ctx, n_batch=1, n_ubatch=1, logits_all=True,
                             n_threads=2, verbose=False, type_k=1, type_v=1, flash_attn=False)
    n_vocab = batch.n_vocab()
    cases = []
    prompts = ([[batch.token_bos()], batch.tokenize(text.encode(), add_bos=True, special=True)] if text else
               [[2] + [(7 * i * i + 13 * i + 9) % (n_vocab - 9) + 9 for i in range(length - 1)]
                for length in sorted({1, window, 4 * window})])
    for tokens in prompts:
        rows = {}
        for name, llm in (("batch", batch), ("serial", serial)):
            llm.reset()
            llm.eval(tokens)
            rows[name] = [np.array(llm.scores[p][:n_vocab]) for p in range(len(tokens))]
        # Greedy from the batch state: each step's choice and its margin.
        batch.reset()
        batch.eval(tokens)
        greedy = []
        for _ in range(GREEDY):
            row = np.array(batch.scores[batch.n_tokens - 1][:n_vocab])
            order = np.argsort(-row, kind="stable")
            greedy.append([int(order[0]), round(float(row[order[0]] - row[order[1]]), 5)])
            batch.eval([int(order[0])])
        cases.append({"tokens": tokens, "batch": [top(r) for r in rows["batch"]],
                      "serial": [top(r) for r in rows["serial"]], "greedy": greedy})
    return cases


def main():
    out = sys.argv[1]
    os.makedirs(out, exist_ok=True)
    only = os.environ.get("FIDELITY_ONLY", "")
    models = []
    for cname, env in CONFIGS.items():
        if only and cname not in only.split(","):
            continue
        src = os.path.join(out, f"{cname}-F32.gguf")
        make(src, env)
        window = int(env.get("TINY_WINDOW", 16))
        for fname, ftype in FORMATS.items():
            path = src if fname == "F32" else os.path.join(out, f"{cname}-{fname}.gguf")
            if fname != "F32":
                quantize(src, path, ftype)
            models.append({"config": cname, "format": fname, "path": path, "window": window,
                           "qk_norm": float(env.get("TINY_QK_NORM", 0.25)), "cases": run(path, window)})
            print(f"{cname} {fname}", file=sys.stderr)
    gemma3 = os.environ.get("GEMMA3")
    if gemma3 and (not only or "gemma3" in only.split(",")):
        for fname, ftype in FORMATS.items():
            if fname in ("F32", "F16"):
                continue  # requantized from Q4_K_M: no float source to write these from
            path = gemma3 if fname == "Q4_K_M" else os.path.join(out, f"gemma3-{fname}.gguf")
            if path != gemma3:
                quantize_re(gemma3, path, ftype)
            models.append({"config": "gemma3-270m", "format": fname, "path": path, "window": 512,
                           "qk_norm": 0.0, "cases": run(path, 512, CODE)})
            print(f"gemma3 {fname}", file=sys.stderr)
    with open(os.path.join(out, "fidelity.json"), "w") as f:
        json.dump({"generator": "scripts/fidelity.py with llama-cpp-python " + llama_cpp.__version__,
                   "top": TOP, "models": models}, f)


if __name__ == "__main__":
    main()
