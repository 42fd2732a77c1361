"""Speculative decoding with prompt lookup on an edit reply, locus vs
llama.cpp, same GGUF, same prompt, same threads, greedy, in one run.

The prompt is an edit request on real code no one here wrote (the first 160
lines of this machine's CPython textwrap.py, as locus's context shows a
file) with the reply begun at a SEARCH block, so what the model writes next
mostly copies the file, as an edit's SEARCH/REPLACE blocks do. Four
programs, each warmed up once, then LOCUS_BENCH_RUNS (default 3) timed runs
taken in turns: locus plain, locus --draft lookup, llama.cpp plain,
llama.cpp with its prompt lookup drafter (llama-cpp-python's
LlamaPromptLookupDecoding, which verifies drafts with llama.cpp's batched
decode). Prints medians and ratios as a Markdown table.

usage: bench_draft.py MODEL THREADS [--locus BIN] [--tokens N] [--draft-max K]
"""
import json, os, statistics, subprocess, sys, sysconfig, time
import llama_cpp
from llama_cpp.llama_speculative import LlamaPromptLookupDecoding

args = sys.argv[1:]
model, threads = args[0], int(args[1])
opt = lambda name, default: args[args.index(name) + 1] if name in args else default
locus_bin = opt("--locus", "target/release/locus")
N = int(opt("--tokens", "200"))
K = int(opt("--draft-max", "8"))
RUNS = int(os.environ.get("LOCUS_BENCH_RUNS", "3"))

path = os.path.join(sysconfig.get_paths()["stdlib"], "textwrap.py")
lines = open(path).read().splitlines(keepends=True)
body, quoted = "".join(lines[:160]), "".join(lines[60:100])
prompt = (f"# File: textwrap.py\n```python\n{body}```\n\n"
          "Change the TextWrapper docstring's first line to say 'Object for wrapping and filling text.'\n\n"
          "Reply with SEARCH/REPLACE blocks.\n\ntextwrap.py\n```python\n<<<<<<< SEARCH\n"
          f"{quoted}=======\n")

def locus(draft):
    out = subprocess.run([locus_bin, "generate", "--model", model, "--raw", "--prompt", prompt,
                          "--max-tokens", str(N), "--threads", str(threads), "--json",
                          "--draft", draft, "--draft-max", str(K)],
                         check=True, capture_output=True, text=True).stdout
    v = json.loads(out)
    return {"tok_s": v["decode_tokens_per_s"], "n": v["generated_tokens"], "text": v["text"],
            "drafted": v["drafted_tokens"], "accepted": v["accepted_tokens"]}

plain = llama_cpp.Llama(model_path=model, n_ctx=4096, n_batch=512, n_threads=threads, verbose=False)
# logits_all=True: llama-cpp-python 0.3.36 sizes its logits buffer from this
# argument, not from the draft model that implies it (else it fails).
lookup = llama_cpp.Llama(model_path=model, n_ctx=4096, n_batch=512, n_threads=threads, verbose=False,
                         logits_all=True, draft_model=LlamaPromptLookupDecoding(max_ngram_size=4, num_pred_tokens=K))

def llama(llm):
    ids = llm.tokenize(prompt.encode(), add_bos=True, special=True)
    llm.reset()
    first, n, out = None, 0, []
    for tok in llm.generate(ids, temp=0.0, top_k=1, top_p=1.0, min_p=0.0, repeat_penalty=1.0):
        if first is None:
            first = time.perf_counter()
        out.append(tok)
        n += 1
        if n >= N:
            break
    end = time.perf_counter()
    return {"tok_s": (n - 1) / (end - first), "n": n,
            "text": llm.detokenize(out).decode(errors="replace")}

progs = {"locus": lambda: locus("none"), "locus lookup": lambda: locus("lookup"),
         "llama.cpp": lambda: llama(plain), "llama.cpp lookup": lambda: llama(lookup)}
for f in progs.values():
    f()
runs = {k: [] for k in progs}
for _ in range(RUNS):
    for k, f in progs.items():
        runs[k].append(f())
med = {k: statistics.median(r["tok_s"] for r in v) for k, v in runs.items()}
last = {k: v[-1] for k, v in runs.items()}
same = last["locus"]["text"] == last["locus lookup"]["text"]
print(f"edit reply of {N} tokens, prompt {len(prompt)} chars (textwrap.py), draft max {K}, "
      f"{threads} threads, median of {RUNS}\n")
print("| program | decode tok/s | vs its plain decoding | vs llama.cpp lookup |")
print("|---|---|---|---|")
for k in progs:
    base = med["locus"] if k.startswith("locus") else med["llama.cpp"]
    print(f"| {k} | {med[k]:.1f} | {med[k] / base:.2f}x | {med[k] / med['llama.cpp lookup']:.2f}x |")
ll = last["locus lookup"]
print(f"\nlocus lookup: {ll['drafted']} drafted, {ll['accepted']} kept; "
      f"reply identical to plain decoding: {same}")
