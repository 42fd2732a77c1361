"""Local runtime speed, locus vs llama.cpp, same GGUF, same prompt (~1000
tokens of code), same thread count, greedy, in one run; prints both (the
median of LOCUS_BENCH_RUNS runs each, default 3, taken in turns) and the
ratios as a Markdown table. Called by scripts/bench-runtime (CPU) and
scripts/bench-runtime-gpu (CUDA, on a GPU machine).

usage: bench_runtime.py MODEL THREADS [--locus BIN] [--gpu] [--no-followup]
LOCUS_BENCH_FUNCTIONS (default 14: about 1,000 tokens) sets the prompt's
length, LOCUS_BENCH_TOKENS (default 64) how many tokens are generated.
llama.cpp runs in this process, so its peak RSS is this process's (the
Python interpreter's ~0.05 GiB included); each locus run is a process of
its own and reports its own.
"""
import json, os, resource, subprocess, sys, time
import llama_cpp

args = sys.argv[1:]
model, threads = args[0], int(args[1])
locus_bin = args[args.index("--locus") + 1] if "--locus" in args else "target/release/locus"
gpu = "--gpu" in args
followup = "--no-followup" not in args
body = "".join(
    f"def handler_{i}(request, db):\n    record = db.fetch('items', request.params['id'])\n"
    f"    if record is None:\n        raise KeyError('no item %s' % request.params['id'])\n"
    f"    record.count += {i}\n    db.save(record)\n    return record\n\n"
    for i in range(int(os.environ.get("LOCUS_BENCH_FUNCTIONS", "14"))))
prompt = body + "def handler_summary(request, db):\n"
follow = body + "def handler_cleanup(request, db):\n"
N = int(os.environ.get("LOCUS_BENCH_TOKENS", "64"))

def locus(p, extra=()):
    out = subprocess.run([locus_bin, "generate", "--model", model, "--raw", "--prompt", p,
                          "--max-tokens", str(N), "--threads", str(threads), "--json", *extra],
                         check=True, capture_output=True, text=True).stdout
    return json.loads(out)

def locus_followup():
    # Two requests in one process: the second shares everything but its last line.
    out = subprocess.run(["cargo", "bench", "--quiet", "--bench", "runtime_followup", "--", model, str(threads)],
                         check=True, capture_output=True, text=True).stdout
    return json.loads(out.strip().splitlines()[-1])

llm = llama_cpp.Llama(model_path=model, n_ctx=4096, n_batch=512, n_threads=threads, verbose=False,
                      n_gpu_layers=-1 if gpu else 0)

def llama(p, reset=True):
    ids = llm.tokenize(p.encode(), add_bos=True, special=True)
    if reset:
        llm.reset()
    t0 = time.perf_counter()
    n = 0
    first = None
    for tok in llm.generate(ids, temp=0.0, top_k=1, top_p=1.0, min_p=0.0, repeat_penalty=1.0, reset=reset):
        if first is None:
            first = time.perf_counter()
        n += 1
        if n >= N:
            break
    end = time.perf_counter()
    ttft = first - t0
    return {"prompt_tokens": len(ids), "ttft_ms": ttft * 1000, "prefill_tokens_per_s": len(ids) / ttft,
            "decode_tokens_per_s": (n - 1) / (end - first)}

# Each program warmed up once, then RUNS timed runs taken in turns (llama.cpp,
# locus, llama.cpp, ...) so that a slow spell of a shared machine falls on
# both; the table has each program's median run and the ratio of medians.
RUNS = int(os.environ.get("LOCUS_BENCH_RUNS", "3"))
llama(prompt)
locus(prompt)  # page cache; on a GPU, kernel loading
ls_, os_ = [], []
for _ in range(RUNS):
    ls_.append(llama(prompt))
    os_.append(locus(prompt))
lf = llama(follow, reset=False)

def median(runs):
    keys = ("prefill_tokens_per_s", "decode_tokens_per_s", "ttft_ms")
    out = dict(runs[0])
    for k in keys:
        out[k] = sorted(r[k] for r in runs)[len(runs) // 2]
    return out

l, o = median(ls_), median(os_)
of = locus_followup() if followup else None
with open("/proc/cpuinfo") as f:
    cpu = next(line.split(":", 1)[1].strip() for line in f if line.startswith("model name"))
where = "GPU " + subprocess.run(["nvidia-smi", "--query-gpu=name", "--format=csv,noheader"],
                                 capture_output=True, text=True).stdout.strip() + ", " if gpu else ""
print(f"machine: {where}{cpu}; threads {threads}; model {os.path.basename(model)}; prompt {l['prompt_tokens']} tokens; {N} generated")
print()
print("| | prefill tok/s | decode tok/s | TTFT ms | TTFT follow-up ms (prefix cache) | peak RSS MiB |")
print("| --- | --- | --- | --- | --- | --- |")
llama_rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024
print(f"| llama.cpp | {l['prefill_tokens_per_s']:.0f} | {l['decode_tokens_per_s']:.1f} | {l['ttft_ms']:.0f} | {lf['ttft_ms']:.0f} | {llama_rss/2**20:.0f} |")
cached = f"{of['ttft_ms_cached']:.0f}" if of else ""
print(f"| locus | {o['prefill_tokens_per_s']:.0f} | {o['decode_tokens_per_s']:.1f} | {o['ttft_ms']:.0f} | {cached} | {o['peak_rss_bytes']/2**20:.0f} |")
print(f"| ratio locus/llama.cpp (speed, medians) | {o['prefill_tokens_per_s']/l['prefill_tokens_per_s']:.2f}x | {o['decode_tokens_per_s']/l['decode_tokens_per_s']:.2f}x | | | |")
print()
print(f"runs ({RUNS} each, in turns), prefill / decode tok/s: llama.cpp "
      + ", ".join(f"{r['prefill_tokens_per_s']:.0f}/{r['decode_tokens_per_s']:.1f}" for r in ls_)
      + "; locus " + ", ".join(f"{r['prefill_tokens_per_s']:.0f}/{r['decode_tokens_per_s']:.1f}" for r in os_))
if of:
    print()
    print(f"locus follow-up: {of['reused_prefix_tokens']} of {of['prompt_tokens']} prompt tokens reused; "
          f"TTFT {of['ttft_ms_cached']:.0f} ms vs {of['ttft_ms_cold']:.0f} ms cold ({of['speedup']:.1f}x)")
