#!/usr/bin/env bash
# Rebuilds the default tokenizer (configs/tokenizer.json): a byte-level BPE
# trained on the QA text of a fixed synthetic dataset. Deterministic, so
# tests/CMakeLists.txt can check that the shipped file is what this makes.
#   scripts/make_default_tokenizer.sh [FASRL_BINARY] [OUT_JSON]
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
fasrl="${1:-$root/build/bin/fasrl}"
out="${2:-$root/configs/tokenizer.json}"
work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT
"$fasrl" data synth synth.out_dir="$work/synth" synth.num_subjects=40 synth.samples_per_subject=8 \
  synth.image_size=16 synth.missing_modality_prob=0.3 synth.seed=7 >/dev/null
"$fasrl" data qa --dataset "$work/synth" --out "$work/qa" qa.knowledge_graph="$root/configs/fakg.yaml" \
  qa.paths_per_sample=4 qa.seed=7 >/dev/null
"$fasrl" tokenizer train --dataset "$work/qa" --out "$out" --vocab-size 1024
