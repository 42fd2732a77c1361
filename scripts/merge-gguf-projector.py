#!/usr/bin/env python3
"""One GGUF holding a model and its vision/audio projector's tensors: the
single-file layout Ollama's blobs and some merged conversions use, where
`v.*` and `mm.*` sit beside the text weights and no mmproj file exists.

usage: merge-gguf-projector.py MODEL.gguf MMPROJ.gguf OUT.gguf

With MERGE_ENCODER=1 it adds one vision encoder block's norm
(`v.blk.0.ln1.weight`), as a model whose vision tower has layers (which
locus does not run) would carry.

The output keeps the model's metadata only (no `clip.*` keys: locus must
infer the projector's patch size from its tensors and take the model's
norm epsilon), then the model's tensors, then the projector's. Runs with
the gguf package (the llama.cpp virtualenv has it).
"""
import os
import sys

import numpy as np

from gguf import GGUFReader, GGUFValueType, GGUFWriter


def main(model_path, mmproj_path, out_path):
    model = GGUFReader(model_path)
    proj = GGUFReader(mmproj_path)
    arch = model.fields["general.architecture"].contents()
    w = GGUFWriter(out_path, arch)
    for name, field in model.fields.items():
        if name.startswith("GGUF.") or name == "general.architecture":
            continue
        vtype = field.types[0]
        sub = field.types[1] if vtype == GGUFValueType.ARRAY else None
        w.add_key_value(name, field.contents(), vtype, sub_type=sub)
    for reader in (model, proj):
        for t in reader.tensors:
            if reader is proj and not t.name.startswith(("v.", "mm.")):
                continue
            w.add_tensor(t.name, t.data, raw_dtype=t.tensor_type)
    if os.environ.get("MERGE_ENCODER"):
        w.add_tensor("v.blk.0.ln1.weight", np.ones(48, dtype=np.float32))
    w.write_header_to_file()
    w.write_kv_data_to_file()
    w.write_tensors_to_file()
    w.close()


if __name__ == "__main__":
    if len(sys.argv) != 4:
        sys.exit(__doc__)
    main(*sys.argv[1:])
