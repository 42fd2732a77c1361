#!/usr/bin/env python3
"""Record llama.cpp's view of a GGUF model as test fixtures for locus.

For each prompt: the token ids llama.cpp produces (BOS + text, special tokens
parsed), the top-k logits at every position under teacher forcing, and the
greedy continuation. Also token ids for a set of tokenizer probe strings.
llama.cpp comes from the llama-cpp-python sdist built as scripts/build-llama-cpp
does; nothing here is locus's code.

usage: scripts/ref-llama-cpp.py MODEL.gguf OUT.json
"""
import json
import sys

import llama_cpp
import numpy as np

TOP_K = 8
GREEDY_TOKENS = 32

PROMPTS = [
    # code
    "def fibonacci(n):\n    \"\"\"Return the n-th Fibonacci number.\"\"\"\n    if n < 2:\n        return n\n"
    "    return fibonacci(n - 1) + fibonacci(n - 2)\n\n\ndef main():\n    for i in range(10):\n"
    "        print(i, fibonacci(i))\n",
    "fn parse_config(path: &Path) -> Result<Config, Error> {\n    let text = std::fs::read_to_string(path)?;\n"
    "    let config: Config = toml::from_str(&text)?;\n    if config.threads == 0 {\n"
    "        return Err(Error::Invalid(\"threads must be positive\".into()));\n    }\n    Ok(config)\n}\n",
    "#include <stdio.h>\n#include <stdlib.h>\n\nstruct node {\n    int value;\n    struct node *next;\n};\n\n"
    "static struct node *push(struct node *head, int value) {\n    struct node *n = malloc(sizeof *n);\n",
    # prose
    "The history of the printing press begins in the fifteenth century, when Johannes Gutenberg "
    "combined movable metal type, oil-based ink and a wooden press adapted from wine making. "
    "Within fifty years, presses had spread to more than two hundred cities across Europe. Books that "
    "had taken a scribe a year to copy could now be produced by the hundred in weeks, and the price of "
    "a printed page fell so far that pamphlets, almanacs and broadsheets reached readers who had never "
    "owned a book. Scholars of the period argue that",
    "To make a simple loaf of bread, you need flour, water, salt and yeast. First, mix the yeast "
    "with warm water and let it rest for ten minutes until it foams. Then add the flour and the salt, "
    "and knead the dough on a floured surface for about ten minutes, until it is smooth and springs back "
    "when you press it with a finger. Put the dough in a lightly oiled bowl, cover it with a damp cloth "
    "and leave it somewhere warm until it has doubled in size, which usually takes",
    # chat-formatted
    "<start_of_turn>user\nHere is a function from our code base:\n\ndef merge(a, b):\n    out = dict(a)\n"
    "    for k, v in b.items():\n        out[k] = out.get(k, 0) + v\n    return out\n\n"
    "Explain what it does in two sentences.<end_of_turn>\n<start_of_turn>model\n",
]

# Longer than the model's sliding window (512), so the windowed layers matter.
LONG = "".join(
    f"def handler_{i}(request, db):\n"
    f"    \"\"\"Handle request kind {i}: validate, load the record, update it and log.\"\"\"\n"
    f"    if not request.user.is_authenticated:\n        raise PermissionError('login required for kind {i}')\n"
    f"    record = db.fetch('items', request.params['id'])\n"
    f"    record.count = record.count + {i}\n    db.save(record)\n"
    f"    log.info('handled kind %d for %s', {i}, request.user.name)\n    return record\n\n\n"
    for i in range(12)
)
PROMPTS.append(LONG)

PROBES = [
    "fn main() {\n    println!(\"hello\");\n}",
    "    indented    with   runs of    spaces\t\tand tabs",
    "\n\n\nthree newlines then text\r\nand a CRLF",
    "Unicode: café, naïve, 日本語のテキスト, emoji 🦀🚀, Ελληνικά, русский",
    "<start_of_turn>user\nhi<end_of_turn>",
    "x = a_b+c*d/e%f^g&h|i~j!k@l#m$n;",
    "   leading spaces and trailing   ",
    "snake_case camelCase PascalCase SCREAMING_CASE kebab-case",
    "0123456789 3.14159 1e-10 0xDEADBEEF",
    "",
]


def main():
    model_path, out_path = sys.argv[1], sys.argv[2]
    llm = llama_cpp.Llama(model_path=model_path, n_ctx=2048, n_batch=512, logits_all=True,
                          n_threads=2, verbose=False, seed=0, type_k=1, type_v=1, flash_attn=False)  # f16 KV: llama.cpp's default and locus's
    cases = []
    for prompt in PROMPTS:
        ids = llm.tokenize(prompt.encode(), add_bos=True, special=True)
        llm.reset()
        llm.eval(ids)
        top = []
        for pos in range(len(ids)):
            row = np.asarray(llm.scores[pos])
            part = np.argpartition(-row, TOP_K)[:TOP_K]
            order = part[np.argsort(-row[part])]
            top.append([[int(t), round(float(row[t]), 4)] for t in order])
        llm.reset()
        greedy = []
        for tok in llm.generate(ids, temp=0.0, top_k=1, top_p=1.0, min_p=0.0, repeat_penalty=1.0):
            if tok == llm.token_eos() or len(greedy) >= GREEDY_TOKENS:
                break
            greedy.append(int(tok))
        cases.append({"prompt": prompt, "tokens": [int(t) for t in ids], "top_logits": top, "greedy": greedy})
    probes = [{"text": t, "tokens": [int(x) for x in llm.tokenize(t.encode(), add_bos=False, special=True)]}
              for t in PROBES]
    out = {
        "generator": "scripts/ref-llama-cpp.py with llama-cpp-python " + llama_cpp.__version__,
        "model_sha256_prefix": None,
        "top_k": TOP_K,
        "cases": cases,
        "tokenizer_probes": probes,
    }
    with open(out_path, "w") as f:
        json.dump(out, f, indent=1, ensure_ascii=False)
        f.write("\n")


if __name__ == "__main__":
    main()
