"""aider's repo map for each question, as aider builds it for a chat message
(run with the Python of a venv that has aider-chat installed).

The identifiers and file names a message mentions are found with aider's
own rules (base_coder.get_ident_mentions, get_file_mentions,
get_ident_filename_matches, copied below because they are methods of a
Coder that needs a model to construct); the map is aider's RepoMap with the
budget as map_tokens and no multiplier. Tokens are counted with locus's
estimate (the same counter the locus side uses), so budgets compare.

stdin: {"root": DIR, "budgets": [N...], "questions": [TEXT...]}
stdout: {"maps": {"N": [{"text": MAP, "seconds": S}, ...]}}
"""

import json
import os
import re
import subprocess
import sys
import time
from collections import defaultdict
from pathlib import Path

from aider.io import InputOutput
from aider.repomap import RepoMap


def estimate(text):
    """locus's EstimateCounter: a token per 4 bytes of a word, one per other char, one per space run."""
    tokens, word, in_space = 0, 0, False
    for c in text:
        if c.isalnum() or c == "_":
            word += len(c.encode())
            in_space = False
            continue
        tokens += (word + 3) // 4
        word = 0
        if c.isspace():
            if not in_space:
                tokens += 1
            in_space = True
        else:
            tokens += 1
            in_space = False
    return tokens + (word + 3) // 4


class Counter:
    def token_count(self, text):
        return estimate(text)


def ident_mentions(text):
    return set(re.split(r"\W+", text))


def ident_filename_matches(idents, files):
    all_fnames = defaultdict(set)
    for fname in files:
        base = Path(fname).stem.lower()
        if len(base) >= 5:
            all_fnames[base].add(fname)
    matches = set()
    for ident in idents:
        if len(ident) >= 5:
            matches.update(all_fnames[ident.lower()])
    return matches


def file_mentions(content, files):
    words = set(w.rstrip(",.!;:?").strip("\"'`*_") for w in content.split())
    mentioned = set()
    by_base = {}
    for rel in files:
        if rel in words:
            mentioned.add(rel)
        base = os.path.basename(rel)
        if "." in base or "_" in base or "-" in base:
            by_base.setdefault(base, []).append(rel)
    for base, rels in by_base.items():
        if len(rels) == 1 and base in words:
            mentioned.add(rels[0])
    return mentioned


def main():
    # aider prints progress on stdout: the answer goes to the real one at the end.
    out_stream, sys.stdout = sys.stdout, sys.stderr
    job = json.load(sys.stdin)
    root = job["root"]
    files = subprocess.run(
        ["git", "-C", root, "ls-files"], capture_output=True, text=True, check=True
    ).stdout.split()
    abs_files = [os.path.join(root, f) for f in files]
    io = InputOutput(pretty=False, yes=True)
    out = {}
    for budget in job["budgets"]:
        rm = RepoMap(map_tokens=budget, root=root, main_model=Counter(), io=io,
                     max_context_window=None, map_mul_no_files=1, refresh="always")
        maps = []
        for q in job["questions"]:
            start = time.perf_counter()
            idents = ident_mentions(q)
            fnames = file_mentions(q, files) | ident_filename_matches(idents, files)
            text = rm.get_repo_map(set(), set(abs_files), mentioned_fnames=fnames,
                                   mentioned_idents=idents) or ""
            maps.append({"text": text, "seconds": time.perf_counter() - start})
        out[str(budget)] = maps
    json.dump({"maps": out}, out_stream)


if __name__ == "__main__":
    main()
