#!/usr/bin/env python3
"""Time an image into Gemma 4: its encoding by the vision projector and the
prefill of its soft tokens, locus (`locus generate --image --raw --json`)
against llama.cpp's mtmd (encode, then its image decode) on the same model,
projector, image, budget and threads; runs taken in turns, medians printed.

usage: scripts/bench_vision.py LOCUS MODEL MMPROJ IMAGE MAX_TOKENS THREADS RUNS
"""
import ctypes
import json
import statistics
import subprocess
import sys
import time

import llama_cpp
from llama_cpp import mtmd_cpp as m

PROMPT = "<__media__>Describe it."


def run_locus(locus, model, mmproj, image, max_tokens, threads):
    out = subprocess.run([locus, "generate", "--model", model, "--mmproj", mmproj, "--image", image, "--raw",
                          "--prompt", PROMPT, "--max-tokens", "1", "--image-tokens", str(max_tokens),
                          "--threads", str(threads), "--json"], check=True, capture_output=True, text=True)
    v = json.loads(out.stdout)
    prefill_s = v["prompt_tokens"] / v["prefill_tokens_per_s"]
    return v["images"][0]["encode_ms"] / 1000, prefill_s, v["images"][0]["tokens"], v["prompt_tokens"]


class Llama:
    def __init__(self, model, mmproj, max_tokens, threads):
        quiet = llama_cpp.llama_log_callback(lambda level, text, data: None)
        self.quiet = quiet
        llama_cpp.llama_log_set(quiet, None)
        m.mtmd_log_set(quiet, None)
        m.mtmd_helper_log_set(quiet, None)
        self.llm = llama_cpp.Llama(model_path=model, n_ctx=2048, n_batch=2048, n_ubatch=2048, n_threads=threads,
                                   n_threads_batch=threads, verbose=False, type_k=1, type_v=1, flash_attn=False)
        p = m.mtmd_context_params_default()
        p.use_gpu = False
        p.n_threads = threads
        p.print_timings = False
        p.warmup = False
        p.image_max_tokens = max_tokens
        self.ctx = m.mtmd_init_from_file(mmproj.encode(), self.llm.model, p)
        assert self.ctx

    def run(self, image):
        bitmap = m.mtmd_helper_bitmap_init_from_file(self.ctx, image.encode(), False)
        chunks = m.mtmd_input_chunks_init()
        text = m.mtmd_input_text()
        data = PROMPT.encode()
        text.text, text.text_len, text.add_special, text.parse_special = data, len(data), True, True
        arr = (m.mtmd_bitmap_p_ctypes * 1)(bitmap)
        assert m.mtmd_tokenize(self.ctx, chunks, ctypes.byref(text), arr, 1) == 0
        self.llm.reset()
        self.llm._ctx.kv_cache_clear() if hasattr(self.llm._ctx, "kv_cache_clear") else None
        encode = prefill = 0.0
        n_img = 0
        for i in range(m.mtmd_input_chunks_size(chunks)):
            chunk = m.mtmd_input_chunks_get(chunks, i)
            if m.mtmd_input_chunk_get_type(chunk) == m.MTMD_INPUT_CHUNK_TYPE_TEXT:
                n = ctypes.c_size_t(0)
                ptr = m.mtmd_input_chunk_get_tokens_text(chunk, ctypes.byref(n))
                t = time.perf_counter()
                self.llm.eval([int(ptr[j]) for j in range(n.value)])
                prefill += time.perf_counter() - t
                continue
            n_img = m.mtmd_input_chunk_get_n_tokens(chunk)
            t = time.perf_counter()
            assert m.mtmd_encode_chunk(self.ctx, chunk) == 0
            encode += time.perf_counter() - t
            embd = m.mtmd_get_output_embd(self.ctx)
            new_n_past = llama_cpp.llama_pos(0)
            t = time.perf_counter()
            assert m.mtmd_helper_decode_image_chunk(self.ctx, self.llm._ctx.ctx, chunk, embd,
                                                    llama_cpp.llama_pos(self.llm.n_tokens), llama_cpp.llama_seq_id(0),
                                                    self.llm.n_batch, ctypes.byref(new_n_past),
                                                    ctypes.cast(None, m.mtmd_helper_post_decode_callback), None) == 0
            prefill += time.perf_counter() - t
            self.llm.n_tokens = new_n_past.value
        m.mtmd_input_chunks_free(chunks)
        m.mtmd_bitmap_free(bitmap)
        return encode, prefill, n_img, self.llm.n_tokens


def main():
    locus, model, mmproj, image, max_tokens, threads, runs = sys.argv[1:8]
    max_tokens, threads, runs = int(max_tokens), int(threads), int(runs)
    llama = Llama(model, mmproj, max_tokens, threads)
    rows = {"locus": [], "llama.cpp": []}
    for _ in range(runs):
        rows["locus"].append(run_locus(locus, model, mmproj, image, max_tokens, threads))
        rows["llama.cpp"].append(llama.run(image))
    med = {k: (statistics.median(r[0] for r in v), statistics.median(r[1] for r in v), v[0][2], v[0][3])
           for k, v in rows.items()}
    print(f"| implementation | soft tokens | prompt tokens | encode (ms) | prefill (s) | prefill tok/s |")
    print("|---|---:|---:|---:|---:|---:|")
    for k, (enc, pre, n_img, n_prompt) in med.items():
        print(f"| {k} | {n_img} | {n_prompt} | {enc * 1000:.0f} | {pre:.1f} | {n_prompt / pre:.1f} |")
    lc, ll = med["locus"], med["llama.cpp"]
    print(f"\nencode: llama.cpp / locus = {ll[0] / lc[0]:.2f}x; prefill: llama.cpp / locus = {ll[1] / lc[1]:.2f}x "
          f"(above 1: locus is faster)")


if __name__ == "__main__":
    main()
