#!/usr/bin/env python3
"""Write a tiny random-weight Gemma 4 "unified" vision projector (mmproj)
GGUF, as llama.cpp's converter lays the real one out (projector type
gemma4uv, no transformer layers):

  v.patch_embd.weight     [V, 3*P*P]  (columns in llama.cpp's CHW order)
  v.patch_embd.bias       [V]
  v.patch_norm.1.{weight,bias} [3*P*P]  (LayerNorm before the projection)
  v.patch_norm.2.{weight,bias} [V]
  v.position_embd.weight  [2, POS, V]  (x rows, then y rows)
  v.patch_norm.3.{weight,bias} [V]     (after the positions)
  mm.input_projection.weight [TEXT, V] (after an RMSNorm without scale)

where P = patch_size * 3 (the 3 x 3 merge happens in the patch itself).

usage: scripts/make-tiny-gemma4-mmproj.py OUT.gguf

Environment: TINY_HIDDEN (the text model's width, 64 as the tiny model's),
TINY_VISION (V, 48: not the text width, so a swapped matrix shows),
TINY_PATCH (patch_size before the merge, 4: 12-pixel patches), TINY_POS
(position rows per axis, 1120 as the real model), TINY_SEED, TINY_F16
(1: matrices and position rows in F16, as llama.cpp's converter writes a
real projector; norms and biases stay F32), TINY_AUDIO (1: an audio part
too, gemma4ua: mm.a.input_projection.weight [TEXT, 640] after an RMSNorm
without scale over each 640-sample frame).
"""
import os
import sys

import numpy as np
import gguf


def env(name, default):
    return int(os.environ.get(name, default))


TEXT = env("TINY_HIDDEN", 64)
V = env("TINY_VISION", 48)
PATCH = env("TINY_PATCH", 4)
POS = env("TINY_POS", 1120)
SEED = env("TINY_SEED", 4321)


def main():
    out = sys.argv[1]
    rng = np.random.default_rng(SEED)
    p = PATCH * 3
    w = gguf.GGUFWriter(out, "clip")
    w.add_name("tiny-gemma4-unified-mmproj")
    audio = os.environ.get("TINY_AUDIO") == "1"
    # One projector type for the file; a file with both parts names each.
    w.add_string("clip.vision.projector_type" if audio else "clip.projector_type", "gemma4uv")
    w.add_bool("clip.has_vision_encoder", True)
    w.add_bool("clip.has_audio_encoder", audio)
    if audio:
        w.add_string("clip.audio.projector_type", "gemma4ua")
        w.add_uint32("clip.audio.embedding_length", 640)
        w.add_uint32("clip.audio.feed_forward_length", 0)
        w.add_uint32("clip.audio.block_count", 0)
        w.add_uint32("clip.audio.attention.head_count", 0)
        w.add_uint32("clip.audio.projection_dim", TEXT)
        w.add_float32("clip.audio.attention.layer_norm_epsilon", 1e-6)
        w.add_uint32("clip.audio.num_mel_bins", 640)
    w.add_uint32("clip.vision.embedding_length", V)
    w.add_uint32("clip.vision.feed_forward_length", 0)
    w.add_uint32("clip.vision.block_count", 0)
    w.add_uint32("clip.vision.attention.head_count", 0)
    w.add_uint32("clip.vision.projection_dim", TEXT)
    w.add_float32("clip.vision.attention.layer_norm_epsilon", 1e-6)
    w.add_uint32("clip.vision.image_size", 224)
    w.add_uint32("clip.vision.patch_size", PATCH)
    w.add_array("clip.vision.image_mean", [0.0, 0.0, 0.0])
    w.add_array("clip.vision.image_std", [1.0, 1.0, 1.0])
    w.add_uint32("general.file_type", 1 if os.environ.get("TINY_F16") == "1" else 0)

    half = os.environ.get("TINY_F16") == "1"

    def f32(name, shape, scale=1.0, offset=0.0):
        data = (rng.standard_normal(shape) * scale + offset).astype(np.float32)
        if half and len(shape) > 1:
            data = data.astype(np.float16)
        w.add_tensor(name, data)

    n_in = 3 * p * p
    f32("v.patch_norm.1.weight", (n_in,), 0.1, 1.0)
    f32("v.patch_norm.1.bias", (n_in,), 0.1)
    f32("v.patch_embd.weight", (V, n_in), 1.0 / np.sqrt(n_in))
    f32("v.patch_embd.bias", (V,), 0.1)
    f32("v.patch_norm.2.weight", (V,), 0.1, 1.0)
    f32("v.patch_norm.2.bias", (V,), 0.1)
    f32("v.position_embd.weight", (2, POS, V), 0.5)
    f32("v.patch_norm.3.weight", (V,), 0.1, 1.0)
    f32("v.patch_norm.3.bias", (V,), 0.1)
    f32("mm.input_projection.weight", (TEXT, V), 1.0 / np.sqrt(V))
    if audio:
        f32("mm.a.input_projection.weight", (TEXT, 640), 1.0 / np.sqrt(640))

    w.write_header_to_file()
    w.write_kv_data_to_file()
    w.write_tensors_to_file()
    w.close()


if __name__ == "__main__":
    main()
