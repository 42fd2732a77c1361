#!/usr/bin/env python3
"""Record the samples llama.cpp's mtmd hears in recordings: for each audio
file, the 16 kHz mono waveform its helper decodes (miniaudio's decoder:
format conversion, channels averaged, linear resampling with its low-pass
filter), as mtmd_helper_bitmap_init_from_file gives it to the projector.

usage: scripts/ref-audio.py MODEL.gguf MMPROJ.gguf OUT.json AUDIO...

The projector must have an audio part (mtmd asks it for the sample rate).
"""
import ctypes
import json
import sys

import llama_cpp
from llama_cpp import mtmd_cpp as m


def main():
    model_path, mmproj, out_path = sys.argv[1], sys.argv[2], sys.argv[3]
    llama_cpp.llama_backend_init()
    quiet = llama_cpp.llama_log_callback(lambda level, text, data: None)
    llama_cpp.llama_log_set(quiet, None)
    m.mtmd_log_set(quiet, None)
    m.mtmd_helper_log_set(quiet, None)
    model = llama_cpp.llama_model_load_from_file(model_path.encode(), llama_cpp.llama_model_default_params())
    assert model, model_path
    params = m.mtmd_context_params_default()
    params.use_gpu = False
    params.n_threads = 1
    params.print_timings = False
    params.warmup = False
    ctx = m.mtmd_init_from_file(mmproj.encode(), model, params)
    assert ctx, mmproj
    rate = m.mtmd_get_audio_sample_rate(ctx)
    records = []
    for path in sys.argv[4:]:
        bitmap = m.mtmd_helper_bitmap_init_from_file(ctx, path.encode(), False)
        assert bitmap, path
        assert m.mtmd_bitmap_is_audio(bitmap), path
        n = m.mtmd_bitmap_get_n_bytes(bitmap) // 4
        data = ctypes.cast(m.mtmd_bitmap_get_data(bitmap), ctypes.POINTER(ctypes.c_float))
        # repr of a float32 as a Python float is exact: compared bit for bit.
        records.append({"audio": path, "samples": [float(data[i]) for i in range(n)]})
        m.mtmd_bitmap_free(bitmap)
    with open(out_path, "w") as f:
        json.dump({"generator": "scripts/ref-audio.py with llama-cpp-python " + llama_cpp.__version__,
                   "rate": rate, "recordings": records}, f)
        f.write("\n")


if __name__ == "__main__":
    main()
