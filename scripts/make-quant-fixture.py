#!/usr/bin/env python3
"""Write tests/fixtures/ggml-quants.bin: for each weight format locus runs,
weights quantized by ggml's own
quantizer (ggml_quantize_chunk), ggml's dequantization of them (the type's
to_float) and ggml's dot products with two activation rows (the CPU
backend's vec_dot after its own activation quantization), through ctypes on
the libggml that scripts/build-llama-cpp built.

usage: .venv-llama/bin/python scripts/make-quant-fixture.py [OUT]

Layout, little-endian: u32 count; then per format: u32 ggml type id,
u32 rows, u32 cols, u32 tokens, u32 weight bytes, the weight bytes,
rows*cols f32 (dequantized), tokens*cols f32 (activations), tokens*rows
f32 (ggml's dot products, token-major).
"""
import ctypes, glob, math, os, struct, sys

import llama_cpp

lib_dir = os.path.join(os.path.dirname(llama_cpp.__file__), "lib")


def load(name):
    for p in sorted(glob.glob(os.path.join(lib_dir, f"lib{name}.so*"))):
        return ctypes.CDLL(p, mode=ctypes.RTLD_GLOBAL)
    raise SystemExit(f"lib{name}.so not found in {lib_dir}")


base = load("ggml-base")
cpu = load("ggml-cpu")

TO_FLOAT = ctypes.CFUNCTYPE(None, ctypes.c_void_p, ctypes.POINTER(ctypes.c_float), ctypes.c_int64)
FROM_FLOAT = ctypes.CFUNCTYPE(None, ctypes.POINTER(ctypes.c_float), ctypes.c_void_p, ctypes.c_int64)
VEC_DOT = ctypes.CFUNCTYPE(None, ctypes.c_int, ctypes.POINTER(ctypes.c_float), ctypes.c_size_t,
                           ctypes.c_void_p, ctypes.c_size_t, ctypes.c_void_p, ctypes.c_size_t, ctypes.c_int)


class Traits(ctypes.Structure):
    _fields_ = [("type_name", ctypes.c_char_p), ("blck_size", ctypes.c_int64),
                ("blck_size_interleave", ctypes.c_int64), ("type_size", ctypes.c_size_t),
                ("is_quantized", ctypes.c_bool), ("to_float", TO_FLOAT), ("from_float_ref", FROM_FLOAT)]


class CpuTraits(ctypes.Structure):
    _fields_ = [("from_float", FROM_FLOAT), ("vec_dot", VEC_DOT), ("vec_dot_type", ctypes.c_int),
                ("nrows", ctypes.c_int64)]


base.ggml_get_type_traits.restype = ctypes.POINTER(Traits)
cpu.ggml_get_type_traits_cpu.restype = ctypes.POINTER(CpuTraits)
base.ggml_quantize_chunk.restype = ctypes.c_size_t
base.ggml_quantize_chunk.argtypes = [ctypes.c_int, ctypes.POINTER(ctypes.c_float), ctypes.c_void_p,
                                     ctypes.c_int64, ctypes.c_int64, ctypes.c_int64, ctypes.c_void_p]
base.ggml_row_size.restype = ctypes.c_size_t
base.ggml_row_size.argtypes = [ctypes.c_int, ctypes.c_int64]
if hasattr(cpu, "ggml_cpu_init"):
    cpu.ggml_cpu_init()

# Q4_0, Q4_1, Q5_1, Q2_K, Q3_K, IQ4_NL, IQ4_XS, then the formats candle can
# quantize too (Q5_0, Q8_0, Q4_K, Q5_K, Q6_K, F16, BF16), so the kernels'
# own crate checks every kernel set without candle (scripts/test-aarch64).
TYPES = [2, 3, 7, 10, 11, 20, 23, 6, 8, 12, 13, 14, 1, 30]
ROWS, COLS, TOKENS = 4, 512, 2


def values(n, seed):
    s = seed
    out = []
    for i in range(n):
        s = (s * 6364136223846793005 + 1442695040888963407) % (1 << 64)
        v = ((s >> 33) / float(1 << 31)) * 2.0 - 1.0
        out.append(v * 6.0 if i % 97 == 0 else v)
    return out


def floats(v):
    return (ctypes.c_float * len(v))(*v)


out_path = sys.argv[1] if len(sys.argv) > 1 else "tests/fixtures/ggml-quants.bin"
blob = bytearray(struct.pack("<I", len(TYPES)))
for t in TYPES:
    w = floats(values(ROWS * COLS, 7 + t))
    row_bytes = base.ggml_row_size(t, COLS)
    q = (ctypes.c_uint8 * (row_bytes * ROWS))()
    n = base.ggml_quantize_chunk(t, w, q, 0, ROWS, COLS, None)
    assert n == row_bytes * ROWS, (t, n)
    deq = (ctypes.c_float * (ROWS * COLS))()
    base.ggml_get_type_traits(t).contents.to_float(q, deq, ROWS * COLS)
    ct = cpu.ggml_get_type_traits_cpu(t).contents
    vt = ct.vec_dot_type
    x = values(TOKENS * COLS, 100 + t)
    dots = []
    for k in range(TOKENS):
        xq = (ctypes.c_uint8 * base.ggml_row_size(vt, COLS))()
        cpu.ggml_get_type_traits_cpu(vt).contents.from_float(floats(x[k * COLS:(k + 1) * COLS]), xq, COLS)
        for r in range(ROWS):
            s = ctypes.c_float()
            wr = ctypes.cast(ctypes.addressof(q) + r * row_bytes, ctypes.c_void_p)
            ct.vec_dot(COLS, ctypes.byref(s), 0, wr, 0, xq, 0, 1)
            dots.append(s.value)
    assert all(math.isfinite(v) for v in dots)
    name = base.ggml_get_type_traits(t).contents.type_name.decode()
    print(f"{name}: {len(q)} bytes, dots {dots[:2]}")
    blob += struct.pack("<5I", t, ROWS, COLS, TOKENS, len(q)) + bytes(q)
    blob += struct.pack(f"<{ROWS * COLS}f", *deq)
    blob += struct.pack(f"<{TOKENS * COLS}f", *x)
    blob += struct.pack(f"<{TOKENS * ROWS}f", *dots)
with open(out_path, "wb") as f:
    f.write(blob)
print(f"wrote {out_path} ({len(blob)} bytes)")
