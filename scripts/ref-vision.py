#!/usr/bin/env python3
"""Record what llama.cpp's mtmd makes of images for a Gemma 4 model and its
vision projector: for each image, the patch grid it was resized to, the
number of soft tokens and the projected embeddings (one row of the text
model's width per soft token).

usage: scripts/ref-vision.py MODEL.gguf MMPROJ.gguf MAX_TOKENS OUT.json IMAGE...

MAX_TOKENS is the soft-token budget (mtmd's image_max_tokens; 280 is the
Gemma 4 default). Images are decoded by mtmd's own loader (stb_image).
"""
import ctypes
import json
import sys

import llama_cpp
from llama_cpp import mtmd_cpp as m


def main():
    model_path, mmproj, max_tokens, out_path = sys.argv[1], sys.argv[2], int(sys.argv[3]), sys.argv[4]
    images = sys.argv[5:]
    llama_cpp.llama_backend_init()
    quiet = llama_cpp.llama_log_callback(lambda level, text, data: None)
    llama_cpp.llama_log_set(quiet, None)
    m.mtmd_log_set(quiet, None)
    m.mtmd_helper_log_set(quiet, None)
    mp = llama_cpp.llama_model_default_params()
    model = llama_cpp.llama_model_load_from_file(model_path.encode(), mp)
    assert model, model_path
    params = m.mtmd_context_params_default()
    params.use_gpu = False
    params.n_threads = 2
    params.print_timings = False
    params.warmup = False
    params.image_max_tokens = max_tokens
    ctx = m.mtmd_init_from_file(mmproj.encode(), model, params)
    assert ctx, mmproj
    n_embd = llama_cpp.llama_model_n_embd(model)
    marker = m.mtmd_default_marker()
    records = []
    for path in images:
        bitmap = m.mtmd_helper_bitmap_init_from_file(ctx, path.encode(), False)
        assert bitmap, path
        chunks = m.mtmd_input_chunks_init()
        text = m.mtmd_input_text()
        prompt = b"a" + marker + b"b"
        text.text = prompt
        text.text_len = len(prompt)
        text.add_special = False
        text.parse_special = True
        arr = (m.mtmd_bitmap_p_ctypes * 1)(bitmap)
        assert m.mtmd_tokenize(ctx, chunks, ctypes.byref(text), arr, 1) == 0
        record = None
        for i in range(m.mtmd_input_chunks_size(chunks)):
            chunk = m.mtmd_input_chunks_get(chunks, i)
            if m.mtmd_input_chunk_get_type(chunk) != m.MTMD_INPUT_CHUNK_TYPE_IMAGE:
                continue
            tokens = m.mtmd_input_chunk_get_tokens_image(chunk)
            n = m.mtmd_image_tokens_get_n_tokens(tokens)
            assert m.mtmd_encode_chunk(ctx, chunk) == 0
            embd = m.mtmd_get_output_embd(ctx)
            rows = [[round(float(embd[r * n_embd + c]), 6) for c in range(n_embd)] for r in range(n)]
            record = {"image": path, "n_tokens": n, "embeddings": rows}
        assert record is not None, path
        records.append(record)
        m.mtmd_input_chunks_free(chunks)
        m.mtmd_bitmap_free(bitmap)
    with open(out_path, "w") as f:
        json.dump({"generator": "scripts/ref-vision.py with llama-cpp-python " + llama_cpp.__version__,
                   "max_tokens": max_tokens, "images": records}, f)
        f.write("\n")


if __name__ == "__main__":
    main()
