#!/usr/bin/env python3
"""Write a tiny random-weight Gemma 4 GGUF with the 12B's architecture.

Same structure as google/gemma-4 "unified" 12B, at toy widths: a 5 sliding :
1 full layer pattern with the last layer full; different KV head counts and
head sizes on sliding (2 heads of 32) and full layers (1 head of 64);
attention_k_eq_v on full layers (no attn_v: V is the raw K projection);
q/k norms; proportional RoPE on full layers (theta 1e6, partial factor 0.25,
as rope_freqs divisors) and theta 1e4 on sliding layers; a per-layer output
scalar; final logit soft-capping at 30; tied embeddings; a BPE ("gemma4")
tokenizer with merges. Weights: seeded normal noise, matmul weights in Q8_0.

usage: scripts/make-tiny-gemma4.py OUT.gguf

The fidelity suite (scripts/fidelity.py) varies the shape through the
environment: TINY_LAYERS, TINY_HIDDEN, TINY_FFN, TINY_HEADS, TINY_KV_SWA,
TINY_KV_FULL, TINY_HD_SWA, TINY_HD_FULL, TINY_WINDOW, TINY_QK_NORM (the q/k
norm weights' mean: 0.25 soft attention, 1.0 and above sharp as in trained
models), TINY_SEED, TINY_MEDIA (1: the vocabulary has the image and audio
markers, for a model paired with scripts/make-tiny-gemma4-mmproj.py's
projector); unset, each is the value below (the committed fixture).
"""
import os
import sys

import numpy as np
import gguf

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from gemma4_gguf import ARCH, add_metadata  # noqa: E402


def env(name, default, kind=int):
    return kind(os.environ.get(name, default))


N_LAYER = env("TINY_LAYERS", 12)
HIDDEN = env("TINY_HIDDEN", 64)
FFN = env("TINY_FFN", 128)
N_HEAD = env("TINY_HEADS", 4)
KV_SWA, KV_FULL = env("TINY_KV_SWA", 2), env("TINY_KV_FULL", 1)
HD_SWA, HD_FULL = env("TINY_HD_SWA", 32), env("TINY_HD_FULL", 64)
WINDOW = env("TINY_WINDOW", 16)
QK_NORM = env("TINY_QK_NORM", 0.25, float)
SEED = env("TINY_SEED", 1234)
MEDIA = env("TINY_MEDIA", 0) == 1
PARTIAL = 0.25


def main():
    out = sys.argv[1]
    rng = np.random.default_rng(SEED)
    w = gguf.GGUFWriter(out, ARCH)
    swa, n_vocab = add_metadata(
        w, name="tiny-gemma4-unified", n_layer=N_LAYER, hidden=HIDDEN, ffn=FFN, n_head=N_HEAD, kv_swa=KV_SWA,
        kv_full=KV_FULL, hd_swa=HD_SWA, hd_full=HD_FULL, window=WINDOW, context=4096, file_type=7, media=MEDIA)
    assert not swa[-1], "the last layer is full attention"

    def f32(name, shape, scale=1.0, offset=0.0):
        data = (rng.standard_normal(shape) * scale + offset).astype(np.float32)
        w.add_tensor(name, data)

    def q8(name, rows, cols, scale):
        data = (rng.standard_normal((rows, cols)) * scale).astype(np.float32)
        if os.environ.get("TINY_F32"):
            w.add_tensor(name, data)
            return
        q = gguf.quants.quantize(data, gguf.GGMLQuantizationType.Q8_0)
        w.add_tensor(name, q, raw_shape=q.shape, raw_dtype=gguf.GGMLQuantizationType.Q8_0)

    q8("token_embd.weight", n_vocab, HIDDEN, 0.5)
    f32("output_norm.weight", (HIDDEN,), 0.1, 1.0)
    n_rot = int(HD_FULL * PARTIAL / 2)
    w.add_tensor("rope_freqs.weight", np.array([1.0] * n_rot + [1e30] * (HD_FULL // 2 - n_rot), dtype=np.float32))
    for i, s in enumerate(swa):
        hd, kv = (HD_SWA, KV_SWA) if s else (HD_FULL, KV_FULL)
        p = f"blk.{i}"
        f32(f"{p}.attn_norm.weight", (HIDDEN,), 0.1, 1.0)
        q8(f"{p}.attn_q.weight", N_HEAD * hd, HIDDEN, 0.2)
        q8(f"{p}.attn_k.weight", kv * hd, HIDDEN, 0.2)
        if s:
            q8(f"{p}.attn_v.weight", kv * hd, HIDDEN, 0.2)
        q8(f"{p}.attn_output.weight", HIDDEN, N_HEAD * hd, 0.2)
        # Small q/k norm weights keep attention logits moderate (with scale 1.0, as
        # in the real model); unit weights make softmax so peaked that rounding
        # differences between implementations flip which key wins.
        f32(f"{p}.attn_q_norm.weight", (hd,), 0.05 * QK_NORM / 0.25, QK_NORM)
        f32(f"{p}.attn_k_norm.weight", (hd,), 0.05 * QK_NORM / 0.25, QK_NORM)
        f32(f"{p}.post_attention_norm.weight", (HIDDEN,), 0.1, 1.0)
        f32(f"{p}.ffn_norm.weight", (HIDDEN,), 0.1, 1.0)
        q8(f"{p}.ffn_gate.weight", FFN, HIDDEN, 0.2)
        q8(f"{p}.ffn_up.weight", FFN, HIDDEN, 0.2)
        q8(f"{p}.ffn_down.weight", HIDDEN, FFN, 0.2)
        f32(f"{p}.post_ffw_norm.weight", (HIDDEN,), 0.1, 1.0)
        w.add_tensor(f"{p}.layer_output_scale.weight", np.array([0.5 + 0.05 * i], dtype=np.float32))

    w.write_header_to_file()
    w.write_kv_data_to_file()
    w.write_tensors_to_file()
    w.close()


if __name__ == "__main__":
    main()
