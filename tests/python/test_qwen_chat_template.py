#!/usr/bin/env python3
"""fasrl's Qwen2.5-VL prompts against Qwen2.5-VL's own chat template
(tests/data/qwen2_5_vl_chat_template.jinja, as its processor ships it),
rendered with Jinja2: the generation prompt for an RGB + depth question, and
a whole SFT sequence with the assistant's answer. The processor expands each
<|image_pad|> to the image's merged-token count; so does this test."""
import json
import os
import subprocess
import sys

try:
    import jinja2
except ImportError:
    print("python3-jinja2 is not installed: skipping")
    sys.exit(77)

dump, root = sys.argv[1], sys.argv[2]
got = json.loads(subprocess.run([dump, os.path.join(root, "configs", "tokenizer.json")], check=True,
                                capture_output=True, text=True).stdout)
template = jinja2.Environment().from_string(open(os.path.join(root, "tests", "data", "qwen2_5_vl_chat_template.jinja")).read())
user = {"role": "user", "content": [{"type": "text", "text": "rgb: "}, {"type": "image"},
                                    {"type": "text", "text": "\ndepth: "}, {"type": "image"},
                                    {"type": "text", "text": "\n" + got["question"]}]}
expand = lambda s: s.replace("<|image_pad|>", "<|image_pad|>" * got["tokens_per_image"])  # noqa: E731
want_prompt = expand(template.render(messages=[user], add_generation_prompt=True))
want_sequence = expand(template.render(messages=[user, {"role": "assistant", "content": got["response"]}]))
assert got["prompt"] == want_prompt, (got["prompt"], want_prompt)
# fasrl's SFT sequence ends at <|im_end|>; the template adds the newline before the next turn.
assert got["sequence"] + "\n" == want_sequence, (got["sequence"], want_sequence)
print(f"chat template: fasrl's prompt and SFT sequence equal Qwen2.5-VL's template "
      f"({got['tokens_per_image']} image tokens per image, {len(want_prompt)} characters)")
