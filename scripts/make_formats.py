#!/usr/bin/env python3
"""Requantize a GGUF into other formats with llama.cpp's own quantizer
(llama_model_quantize, from the llama-cpp-python build).

usage: .venv-llama/bin/python scripts/make_formats.py SRC.gguf OUTDIR [FORMAT ...]
FORMAT is a llama.cpp file type name (default: Q4_0 Q4_1 Q5_1 Q2_K Q3_K_M
IQ4_NL IQ4_XS). Writes OUTDIR/<src stem>-<format>.gguf, skipping files that
exist. Prints each output path.
"""
import os, sys

import llama_cpp

FTYPES = {"Q4_0": 2, "Q4_1": 3, "Q8_0": 7, "Q5_0": 8, "Q5_1": 9, "Q2_K": 10, "Q2_K_S": 21, "Q3_K_S": 11,
          "Q3_K_M": 12, "Q3_K_L": 13, "Q4_K_S": 14, "Q4_K_M": 15, "Q5_K_M": 17, "Q6_K": 18,
          "IQ4_NL": 25, "IQ4_XS": 30, "BF16": 32, "F16": 1}

src, out = sys.argv[1], sys.argv[2]
names = sys.argv[3:] or ["Q4_0", "Q4_1", "Q5_1", "Q2_K", "Q3_K_M", "IQ4_NL", "IQ4_XS"]
os.makedirs(out, exist_ok=True)
stem = os.path.basename(src).rsplit(".", 1)[0]
for name in names:
    dst = os.path.join(out, f"{stem}-{name.lower()}.gguf")
    if not os.path.exists(dst):
        p = llama_cpp.llama_model_quantize_default_params()
        p.ftype = FTYPES[name]
        p.allow_requantize = True
        p.nthread = os.cpu_count() or 2
        tmp = dst + ".tmp"
        rc = llama_cpp.llama_model_quantize(src.encode(), tmp.encode(), p)
        if rc != 0:
            raise SystemExit(f"quantizing to {name} failed ({rc})")
        os.replace(tmp, dst)
    print(dst)
