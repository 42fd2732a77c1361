#!/usr/bin/env python3
"""Write a random-weight GGUF with the Gemma 4 12B's tensor names, shapes and
Q4_K_M types, streamed to disk (7.37 GB; 65 s here beside a test run): for
timing locus and llama.cpp on the real model's work where the real file
cannot be fetched. The weights are noise with sane scales, so the output is
nonsense, but every matrix product, cache and memory figure is the 12B's.

The architecture (docs/benchmarks.md, "Memory for the real Gemma 4 12B"):
hidden 3840, FFN 15360, 48 layers in a 5 sliding : 1 full pattern (40
sliding, 8 full, the last one full), 16 query heads; sliding layers 8 KV
heads of 256 with a 1,024-token window; full layers 1 KV head of 512 with K
standing in for V (no attn_v), proportional RoPE (a quarter of the pairs);
tied 262,144-token embedding; per-layer output scale; logit soft-capping.

Q4_K_M as llama.cpp's quantizer assigns it: token_embd Q6_K (it is also the
output layer); attn_v and ffn_down Q6_K on the layers its use_more_bits picks
(the first and last eighth and every third between), Q4_K elsewhere; the
other matrices Q4_K; vectors F32.

usage: scripts/make-gemma4-12b-shaped.py OUT.gguf     (needs numpy and gguf:
       .venv-llama/bin/python, which scripts/build-llama-cpp makes)
"""
import os
import sys
import time

import numpy as np
import gguf

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from gemma4_gguf import ARCH, add_metadata, sliding  # noqa: E402

N_LAYER, HIDDEN, FFN, N_HEAD = 48, 3840, 15360, 16
KV_SWA, KV_FULL, HD_SWA, HD_FULL = 8, 1, 256, 512
WINDOW, CONTEXT, VOCAB = 1024, 131072, 262144
PARTIAL = 0.25
Q = gguf.GGMLQuantizationType
Q4_K_M = 15  # llama_ftype


def use_more_bits(i, n):
    return i < n // 8 or i >= 7 * n // 8 or (i - n // 8) % 3 == 2


def tensors():
    """(name, shape as rows x cols or a vector, type) in file order."""
    out = [("token_embd.weight", (VOCAB, HIDDEN), Q.Q6_K), ("output_norm.weight", (HIDDEN,), Q.F32),
           ("rope_freqs.weight", (HD_FULL // 2,), Q.F32)]
    swa = sliding(N_LAYER)
    n_v = sum(swa)
    i_v = 0
    for i, s in enumerate(swa):
        hd, kv = (HD_SWA, KV_SWA) if s else (HD_FULL, KV_FULL)
        p = f"blk.{i}"
        out += [(f"{p}.attn_norm.weight", (HIDDEN,), Q.F32), (f"{p}.attn_q.weight", (N_HEAD * hd, HIDDEN), Q.Q4_K),
                (f"{p}.attn_k.weight", (kv * hd, HIDDEN), Q.Q4_K)]
        if s:
            out.append((f"{p}.attn_v.weight", (kv * hd, HIDDEN), Q.Q6_K if use_more_bits(i_v, n_v) else Q.Q4_K))
            i_v += 1
        out += [(f"{p}.attn_output.weight", (HIDDEN, N_HEAD * hd), Q.Q4_K),
                (f"{p}.attn_q_norm.weight", (hd,), Q.F32), (f"{p}.attn_k_norm.weight", (hd,), Q.F32),
                (f"{p}.post_attention_norm.weight", (HIDDEN,), Q.F32), (f"{p}.ffn_norm.weight", (HIDDEN,), Q.F32),
                (f"{p}.ffn_gate.weight", (FFN, HIDDEN), Q.Q4_K), (f"{p}.ffn_up.weight", (FFN, HIDDEN), Q.Q4_K),
                (f"{p}.ffn_down.weight", (HIDDEN, FFN), Q.Q6_K if use_more_bits(i, N_LAYER) else Q.Q4_K),
                (f"{p}.post_ffw_norm.weight", (HIDDEN,), Q.F32), (f"{p}.layer_output_scale.weight", (1,), Q.F32)]
    return out


def f16_bytes(rng, n, lo, hi):
    return rng.uniform(lo, hi, n).astype(np.float16).view(np.uint8).reshape(n, 2)


def weights(rng, name, shape, kind):
    """The tensor's bytes: noise in the block layout, with every block's
    scales set to normal f16 values (random bytes would hold NaNs and
    subnormals, which change what the arithmetic costs)."""
    if kind == Q.F32:
        if name == "rope_freqs.weight":
            n_rot = int(HD_FULL * PARTIAL / 2)
            return np.array([1.0] * n_rot + [1e30] * (HD_FULL // 2 - n_rot), dtype=np.float32)
        if name.endswith("layer_output_scale.weight"):
            return np.array([0.5], dtype=np.float32)
        return (1.0 + 0.1 * rng.standard_normal(shape)).astype(np.float32)
    rows, cols = shape
    block, size = gguf.GGML_QUANT_SIZES[kind]
    n = rows * cols // block
    b = np.frombuffer(rng.bytes(n * size), dtype=np.uint8).reshape(n, size).copy()
    if kind == Q.Q4_K:  # d, dmin, 12 bytes of 6-bit scales and mins, 128 of nibbles
        b[:, 0:2] = f16_bytes(rng, n, 2e-4, 6e-4)
        b[:, 2:4] = f16_bytes(rng, n, 1e-4, 3e-4)
    else:  # Q6_K: 128 + 64 bytes of 6-bit values, 16 int8 scales, d last
        b[:, size - 2:] = f16_bytes(rng, n, 1e-4, 3e-4)
    return b.reshape(rows, cols // block * size)


def main():
    if len(sys.argv) != 2:
        raise SystemExit(__doc__)
    out = sys.argv[1]
    t0 = time.time()
    rng = np.random.default_rng(12)
    w = gguf.GGUFWriter(out, ARCH)
    add_metadata(w, name="gemma4-12b-shaped-random", n_layer=N_LAYER, hidden=HIDDEN, ffn=FFN, n_head=N_HEAD,
                 kv_swa=KV_SWA, kv_full=KV_FULL, hd_swa=HD_SWA, hd_full=HD_FULL, window=WINDOW, context=CONTEXT,
                 file_type=Q4_K_M, vocab_size=VOCAB)
    plan = tensors()
    for name, shape, kind in plan:
        if kind == Q.F32:
            w.add_tensor_info(name, shape, np.dtype(np.float32), int(np.prod(shape)) * 4)
        else:
            block, size = gguf.GGML_QUANT_SIZES[kind]
            rows, cols = shape
            w.add_tensor_info(name, (rows, cols // block * size), np.dtype(np.uint8), rows * cols // block * size,
                              raw_dtype=kind)
    w.write_header_to_file()
    w.write_kv_data_to_file()
    w.write_ti_data_to_file()
    for name, shape, kind in plan:
        w.write_tensor_data(weights(rng, name, shape, kind))
    w.close()
    size = os.path.getsize(out)
    print(f"{out}: {len(plan)} tensors, {size / 2**30:.2f} GiB in {time.time() - t0:.0f} s", file=sys.stderr)


if __name__ == "__main__":
    main()
