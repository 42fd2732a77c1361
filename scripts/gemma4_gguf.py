"""What the generated Gemma 4 GGUFs share (scripts/make-tiny-gemma4.py, the
toy models the tests run, and scripts/make-gemma4-12b-shaped.py, the
benchmark's random-weight file with the real 12B's shapes): the vocabulary
and the metadata llama.cpp and locus read for the architecture."""

ARCH = "gemma4"
# SentencePiece token types as the GGUF stores them.
NORMAL, UNKNOWN, CONTROL, USER_DEFINED, BYTE = 1, 2, 3, 4, 6


# The image and audio markers of the real vocabulary: begin, soft-token
# placeholder, end.
MEDIA = ["<|image>", "<|image|>", "<image|>", "<|audio>", "<|audio|>", "<audio|>"]


def vocab(size=None, media=False):
    """The tiny vocabulary (controls, the chat and tool-calling tokens, bytes,
    characters and a few merges; with `media`, the image and audio markers
    after them, so the other tokens keep their ids), padded with plain
    tokens up to `size`."""
    tokens, types = [], []

    def add(t, ty):
        tokens.append(t)
        types.append(ty)
    for t in ["<pad>", "<eos>", "<bos>"]:
        add(t, CONTROL)
    add("<unk>", UNKNOWN)
    for t in ["<|turn>", "<turn|>", "<|think|>"]:
        add(t, CONTROL)
    # Tool calling's tokens, as in the real vocabulary.
    for t in ["<|tool>", "<tool|>", "<|tool_call>", "<tool_call|>", "<|tool_response>", "<tool_response|>", '<|"|>']:
        add(t, CONTROL)
    for t in ["<|channel>", "<channel|>"]:
        add(t, USER_DEFINED)
    for b in range(256):
        add(f"<0x{b:02X}>", BYTE)
    chars = list("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789.,:;()[]{}=+-*/_'\"!?<>#") + ["▁", "\n", "\n\n"]
    for c in chars:
        add(c, NORMAL)
    merges = [("t", "h"), ("th", "e"), ("▁", "the"), ("i", "n"), ("▁", "in"), ("e", "r"), ("▁", "t"),
              ("o", "n"), ("▁", "a"), ("r", "e"), ("▁", "s"), ("e", "s"), ("f", "n"), ("▁", "fn")]
    for l, r in merges:
        add(l + r, NORMAL)
    if media:
        for t in MEDIA:
            add(t, CONTROL)
    if size is not None:
        for i in range(size - len(tokens)):
            add(f"<unused{i}>", USER_DEFINED)
    return tokens, types, [f"{l} {r}" for l, r in merges]


def sliding(n_layer):
    """Which layers attend through the sliding window: five of every six."""
    return [(i % 6) != 5 for i in range(n_layer)]


def add_metadata(w, *, name, n_layer, hidden, ffn, n_head, kv_swa, kv_full, hd_swa, hd_full, window,
                 context, file_type, vocab_size=None, media=False):
    """The architecture's keys and the tokenizer, on a gguf.GGUFWriter."""
    swa = sliding(n_layer)
    w.add_name(name)
    w.add_uint32(f"{ARCH}.block_count", n_layer)
    w.add_uint32(f"{ARCH}.context_length", context)
    w.add_uint32(f"{ARCH}.embedding_length", hidden)
    w.add_uint32(f"{ARCH}.feed_forward_length", ffn)
    w.add_uint32(f"{ARCH}.attention.head_count", n_head)
    w.add_array(f"{ARCH}.attention.head_count_kv", [kv_swa if s else kv_full for s in swa])
    w.add_uint32(f"{ARCH}.attention.key_length", hd_full)
    w.add_uint32(f"{ARCH}.attention.value_length", hd_full)
    w.add_uint32(f"{ARCH}.attention.key_length_swa", hd_swa)
    w.add_uint32(f"{ARCH}.attention.value_length_swa", hd_swa)
    w.add_uint32(f"{ARCH}.attention.sliding_window", window)
    w.add_array(f"{ARCH}.attention.sliding_window_pattern", swa)
    w.add_float32(f"{ARCH}.attention.layer_norm_rms_epsilon", 1e-6)
    w.add_float32(f"{ARCH}.rope.freq_base", 1_000_000.0)
    w.add_float32(f"{ARCH}.rope.freq_base_swa", 10_000.0)
    w.add_uint32(f"{ARCH}.rope.dimension_count", hd_full)
    w.add_uint32(f"{ARCH}.rope.dimension_count_swa", hd_swa)
    w.add_float32(f"{ARCH}.final_logit_softcapping", 30.0)
    w.add_uint32(f"{ARCH}.attention.shared_kv_layers", 0)
    w.add_uint32(f"{ARCH}.embedding_length_per_layer_input", 0)
    w.add_uint32("general.file_type", file_type)

    tokens, types, merges = vocab(vocab_size, media)
    w.add_string("tokenizer.ggml.model", "gemma4")
    w.add_array("tokenizer.ggml.tokens", tokens)
    w.add_array("tokenizer.ggml.scores", [0.0] * len(tokens))
    w.add_array("tokenizer.ggml.token_type", types)
    w.add_array("tokenizer.ggml.merges", merges)
    w.add_uint32("tokenizer.ggml.bos_token_id", 2)
    w.add_uint32("tokenizer.ggml.eos_token_id", 1)
    w.add_uint32("tokenizer.ggml.unknown_token_id", 3)
    w.add_uint32("tokenizer.ggml.padding_token_id", 0)
    w.add_bool("tokenizer.ggml.add_bos_token", True)
    w.add_bool("tokenizer.ggml.add_space_prefix", False)
    return swa, len(tokens)
