#!/usr/bin/env python3
"""Write a tiny random-weight Gemma 4 MTP assistant ("gemma4-assistant") GGUF
paired with scripts/make-tiny-gemma4.py's tiny Gemma 4.

The structure of llama.cpp's gemma4-assistant (src/models/gemma4-assistant.cpp):
the target's token embedding concatenated with the target's hidden state,
nextn.pre_projection down to the assistant's width, a sliding and a full
layer with queries only (keys and values are the target's last sliding and
last full layer's cache), q norms, RoPE as the target's, GELU MLPs, a
per-layer output scalar, a final norm, tied output over its own embedding
table, and nextn.post_projection back to the target's width. Weights:
seeded normal noise, matrices in Q8_0.

usage: scripts/make-tiny-gemma4-assistant.py OUT.gguf
"""
import importlib.util
import os
import sys

import numpy as np
import gguf

here = os.path.dirname(os.path.abspath(__file__))
spec = importlib.util.spec_from_file_location("tiny", os.path.join(here, "make-tiny-gemma4.py"))
tiny = importlib.util.module_from_spec(spec)
spec.loader.exec_module(tiny)

ARCH = "gemma4-assistant"
N_EMBD = 32
FFN = 64
SWA = [True, False]


def main():
    out = sys.argv[1]
    rng = np.random.default_rng(4321)
    n_vocab = len(tiny.vocab()[0])
    w = gguf.GGUFWriter(out, ARCH)
    w.add_name("tiny-gemma4-assistant")
    w.add_uint32(f"{ARCH}.block_count", len(SWA))
    w.add_uint32(f"{ARCH}.nextn_predict_layers", len(SWA))
    w.add_uint32(f"{ARCH}.context_length", 4096)
    w.add_uint32(f"{ARCH}.embedding_length", N_EMBD)
    w.add_uint32(f"{ARCH}.embedding_length_out", tiny.HIDDEN)
    w.add_uint32(f"{ARCH}.feed_forward_length", FFN)
    w.add_uint32(f"{ARCH}.attention.head_count", tiny.N_HEAD)
    w.add_array(f"{ARCH}.attention.head_count_kv", [tiny.KV_SWA if s else tiny.KV_FULL for s in SWA])
    w.add_uint32(f"{ARCH}.attention.key_length", tiny.HD_FULL)
    w.add_uint32(f"{ARCH}.attention.value_length", tiny.HD_FULL)
    w.add_uint32(f"{ARCH}.attention.key_length_swa", tiny.HD_SWA)
    w.add_uint32(f"{ARCH}.attention.value_length_swa", tiny.HD_SWA)
    w.add_uint32(f"{ARCH}.attention.sliding_window", tiny.WINDOW)
    w.add_array(f"{ARCH}.attention.sliding_window_pattern", SWA)
    w.add_float32(f"{ARCH}.attention.layer_norm_rms_epsilon", 1e-6)
    w.add_float32(f"{ARCH}.rope.freq_base", 1_000_000.0)
    w.add_float32(f"{ARCH}.rope.freq_base_swa", 10_000.0)
    w.add_uint32(f"{ARCH}.rope.dimension_count", tiny.HD_FULL)
    w.add_uint32(f"{ARCH}.rope.dimension_count_swa", tiny.HD_SWA)
    w.add_uint32(f"{ARCH}.vocab_size", n_vocab)
    w.add_uint32("general.file_type", 7)

    def f32(name, shape, scale=1.0, offset=0.0):
        w.add_tensor(name, (rng.standard_normal(shape) * scale + offset).astype(np.float32))

    def q8(name, rows, cols, scale):
        data = (rng.standard_normal((rows, cols)) * scale).astype(np.float32)
        q = gguf.quants.quantize(data, gguf.GGMLQuantizationType.Q8_0)
        w.add_tensor(name, q, raw_shape=q.shape, raw_dtype=gguf.GGMLQuantizationType.Q8_0)

    q8("token_embd.weight", n_vocab, N_EMBD, 0.5)
    f32("output_norm.weight", (N_EMBD,), 0.1, 1.0)
    q8("nextn.pre_projection.weight", N_EMBD, 2 * tiny.HIDDEN, 0.2)
    q8("nextn.post_projection.weight", tiny.HIDDEN, N_EMBD, 0.2)
    n_rot = int(tiny.HD_FULL * tiny.PARTIAL / 2)
    w.add_tensor("rope_freqs.weight",
                 np.array([1.0] * n_rot + [1e30] * (tiny.HD_FULL // 2 - n_rot), dtype=np.float32))
    for i, s in enumerate(SWA):
        hd = tiny.HD_SWA if s else tiny.HD_FULL
        p = f"blk.{i}"
        f32(f"{p}.attn_norm.weight", (N_EMBD,), 0.1, 1.0)
        q8(f"{p}.attn_q.weight", tiny.N_HEAD * hd, N_EMBD, 0.2)
        f32(f"{p}.attn_q_norm.weight", (hd,), 0.05, 0.25)
        q8(f"{p}.attn_output.weight", N_EMBD, tiny.N_HEAD * hd, 0.2)
        f32(f"{p}.post_attention_norm.weight", (N_EMBD,), 0.1, 1.0)
        f32(f"{p}.ffn_norm.weight", (N_EMBD,), 0.1, 1.0)
        q8(f"{p}.ffn_gate.weight", FFN, N_EMBD, 0.2)
        q8(f"{p}.ffn_up.weight", FFN, N_EMBD, 0.2)
        q8(f"{p}.ffn_down.weight", N_EMBD, FFN, 0.2)
        f32(f"{p}.post_ffw_norm.weight", (N_EMBD,), 0.1, 1.0)
        w.add_tensor(f"{p}.layer_output_scale.weight", np.array([0.7], dtype=np.float32))
    w.write_header_to_file()
    w.write_kv_data_to_file()
    w.write_tensors_to_file()
    w.close()


if __name__ == "__main__":
    main()
