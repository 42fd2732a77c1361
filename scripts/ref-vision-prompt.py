#!/usr/bin/env python3
"""Record what llama.cpp (its mtmd helper, as its server and CLI decode an
image) computes for a prompt with images: the tokens of each text chunk
with the logit rows at each of their positions (teacher-forced), each
image chunk's soft-token count, and a greedy continuation.

usage: scripts/ref-vision-prompt.py MODEL.gguf MMPROJ.gguf MAX_TOKENS PROMPT N_GEN OUT.json MEDIA...

MEDIA are images or WAV recordings (mtmd tells them apart by content).

PROMPT is raw text (BOS added) where `<__media__>` marks each image, in
order. The image chunks are decoded with mtmd_helper_eval_chunk_single, so
with mtmd's own batching and (for Gemma 4) non-causal attention.
"""
import ctypes
import json
import sys

import numpy as np

import llama_cpp
from llama_cpp import mtmd_cpp as m


def main():
    model_path, mmproj, max_tokens, prompt, n_gen, out_path = sys.argv[1:7]
    max_tokens, n_gen = int(max_tokens), int(n_gen)
    images = sys.argv[7:]
    llama_cpp.llama_backend_init()
    quiet = llama_cpp.llama_log_callback(lambda level, text, data: None)
    llama_cpp.llama_log_set(quiet, None)
    m.mtmd_log_set(quiet, None)
    m.mtmd_helper_log_set(quiet, None)
    llm = llama_cpp.Llama(model_path=model_path, n_ctx=4096, n_batch=2048, n_ubatch=2048, logits_all=True,
                          n_threads=2, verbose=False, seed=0, type_k=1, type_v=1, flash_attn=False)
    params = m.mtmd_context_params_default()
    params.use_gpu = False
    params.n_threads = 2
    params.print_timings = False
    params.warmup = False
    params.image_max_tokens = max_tokens
    ctx = m.mtmd_init_from_file(mmproj.encode(), llm.model, params)
    assert ctx, mmproj
    bitmaps = []
    for path in images:
        b = m.mtmd_helper_bitmap_init_from_file(ctx, path.encode(), False)
        assert b, path
        bitmaps.append(b)
    chunks = m.mtmd_input_chunks_init()
    text = m.mtmd_input_text()
    data = prompt.encode()
    text.text = data
    text.text_len = len(data)
    text.add_special = True
    text.parse_special = True
    arr = (m.mtmd_bitmap_p_ctypes * len(bitmaps))(*bitmaps)
    assert m.mtmd_tokenize(ctx, chunks, ctypes.byref(text), arr, len(bitmaps)) == 0
    llm.reset()
    n_vocab = llm.n_vocab()
    record = []
    for i in range(m.mtmd_input_chunks_size(chunks)):
        chunk = m.mtmd_input_chunks_get(chunks, i)
        kind = m.mtmd_input_chunk_get_type(chunk)
        if kind == m.MTMD_INPUT_CHUNK_TYPE_TEXT:
            n = ctypes.c_size_t(0)
            ptr = m.mtmd_input_chunk_get_tokens_text(chunk, ctypes.byref(n))
            tokens = [int(ptr[j]) for j in range(n.value)]
            start = llm.n_tokens
            llm.eval(tokens)
            logits = [[round(float(x), 5) for x in llm.scores[p][:n_vocab]] for p in range(start, start + len(tokens))]
            record.append({"type": "text", "tokens": tokens, "logits": logits})
        else:
            n = m.mtmd_input_chunk_get_n_tokens(chunk)
            new_n_past = llama_cpp.llama_pos(0)
            assert m.mtmd_helper_eval_chunk_single(ctx, llm._ctx.ctx, chunk, llama_cpp.llama_pos(llm.n_tokens),
                                                   llama_cpp.llama_seq_id(0), llm.n_batch, False,
                                                   ctypes.byref(new_n_past)) == 0
            llm.n_tokens = new_n_past.value
            kind = "audio" if kind == m.MTMD_INPUT_CHUNK_TYPE_AUDIO else "image"
            record.append({"type": kind, "n_tokens": int(n)})
    greedy = []
    last = np.array(llm.scores[llm.n_tokens - 1][:n_vocab])
    for _ in range(n_gen):
        t = int(np.argmax(last))
        if llama_cpp.llama_vocab_is_eog(llm._model.vocab, t):
            break
        greedy.append(t)
        llm.eval([t])
        last = np.array(llm.scores[llm.n_tokens - 1][:n_vocab])
    with open(out_path, "w") as f:
        json.dump({"generator": "scripts/ref-vision-prompt.py with llama-cpp-python " + llama_cpp.__version__,
                   "max_tokens": max_tokens, "prompt": prompt, "chunks": record, "greedy": greedy,
                   "greedy_text": llm.detokenize(greedy, special=True).decode("utf-8", "replace")}, f)
        f.write("\n")


if __name__ == "__main__":
    main()
