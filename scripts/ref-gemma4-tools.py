#!/usr/bin/env python3
"""Render conversations with tools through Gemma 4's reference chat template
and tokenize them with llama.cpp on the tiny Gemma 4: the golden file that
tests/gemma4_tools.rs holds locus's rendering to.

The template is llama.cpp's `models/templates/google-gemma-4-31B-it.jinja`
(in the llama-cpp-python 0.3.36 sdist under vendor/llama.cpp/). Messages go
through llama.cpp's own preparation first (common/parsers/gemma4.cpp): the
`tool` messages after an assistant's calls become its `tool_responses` (a
result that parses as JSON is passed as that value), the next assistant
message's text joins that turn, and a prompt the template leaves at
`<turn|>\\n` gets `<|turn>model\\n`.

usage: scripts/ref-gemma4-tools.py TEMPLATE.jinja CASES.json MODEL.gguf OUT.json
(CASES.json is what the test writes to target/gemma4-tools-cases.json.)
"""
import json
import sys

import jinja2
import llama_cpp


def openai_messages(msgs):
    out = []
    for m in msgs:
        o = {"role": m["role"], "content": m["content"]}
        if m.get("tool_calls"):
            o["tool_calls"] = [{"id": c["id"], "type": "function",
                                "function": {"name": c["name"], "arguments": c["arguments"]}}
                               for c in m["tool_calls"]]
        if m.get("tool_call_id"):
            o["tool_call_id"] = m["tool_call_id"]
        if m.get("name"):
            o["name"] = m["name"]
        out.append(o)
    return out


def fold_tool_responses(msgs):
    """llama.cpp's workaround::convert_tool_responses_gemma4."""
    out, i = [], 0
    while i < len(msgs):
        m = msgs[i]
        if m["role"] != "assistant" or not m.get("tool_calls"):
            out.append(m)
            i += 1
            continue
        calls, responses, content = list(m["tool_calls"]), [], None
        i += 1
        while i < len(msgs) and msgs[i]["role"] == "tool":
            body = msgs[i].get("content")
            try:
                resp = json.loads(body)
            except (TypeError, ValueError):
                resp = body
            idx = len(responses)
            name = calls[idx]["function"]["name"] if idx < len(calls) else ""
            responses.append({"name": name or msgs[i].get("tool_call_id", ""), "response": resp})
            i += 1
        if i < len(msgs) and msgs[i]["role"] == "assistant" and not msgs[i].get("tool_calls") \
                and msgs[i].get("content"):
            content = msgs[i]["content"]
            i += 1
        folded = {"role": "assistant", "tool_calls": calls}
        if responses:
            folded["tool_responses"] = responses
        if content is not None:
            folded["content"] = content
        out.append(folded)
    return out


def main():
    template_path, cases_path, model_path, out_path = sys.argv[1:5]
    env = jinja2.Environment(loader=jinja2.BaseLoader(), trim_blocks=True, lstrip_blocks=True,
                             extensions=["jinja2.ext.loopcontrols"])
    template = env.from_string(open(template_path).read())
    llm = llama_cpp.Llama(model_path=model_path, vocab_only=True, verbose=False)
    cases = json.load(open(cases_path))
    outputs = []
    for case in cases:
        tools = [{"type": "function", "function": t} for t in case["tools"]]
        msgs = fold_tool_responses(openai_messages(case["messages"]))
        text = template.render(messages=msgs, tools=tools or None, bos_token="<bos>",
                               add_generation_prompt=True, enable_thinking=case["thinking"])
        if text.endswith("<turn|>\n"):
            text += "<|turn>model\n"
        tokens = [int(t) for t in llm.tokenize(text.encode(), add_bos=False, special=True)]
        outputs.append({"text": text, "tokens": tokens})
    with open(out_path, "w") as f:
        json.dump({"generator": "scripts/ref-gemma4-tools.py with jinja2 " + jinja2.__version__
                   + " and llama-cpp-python " + llama_cpp.__version__,
                   "cases": cases, "outputs": outputs}, f, indent=1, ensure_ascii=False)
        f.write("\n")


if __name__ == "__main__":
    main()
