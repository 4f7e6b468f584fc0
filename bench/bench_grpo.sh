#!/usr/bin/env bash
# GRPO throughput with 2 learners + 1 rollout worker (mpirun -np 3, same ranks,
# same run): max_staleness 0 (on-policy, rollout waits for each update) vs 1
# (rollout generates the next batch while learners train). Then the weight
# sync cost per update for the tiny model and for a ~25M-parameter decoder.
#   bench/bench_grpo.sh [build/bin/fasrl]
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
fasrl="${1:-$root/build/bin/fasrl}"
tmp="$(mktemp -d)"
trap 'rm -rf "$tmp"' EXIT
mpi=(mpirun --oversubscribe --allow-run-as-root -np 3)
common=(--config "$root/configs/grpo_tiny.yaml" data.dataset="$tmp/qa" mllm.tokenizer="$root/configs/tokenizer.json"
        qa.knowledge_graph="$root/configs/fakg.yaml" "mllm.init_from=''" run.threads_per_rank=1
        train.mllm_eval.samples=2 train.mllm_eval.max_new_tokens=4 train.checkpoint_every=0 train.log_every=1000)
"$fasrl" data synth --config "$root/configs/sft_tiny.yaml" synth.out_dir="$tmp/synth" synth.num_subjects=20 >/dev/null
"$fasrl" data qa --config "$root/configs/sft_tiny.yaml" --dataset "$tmp/synth" --out "$tmp/qa" \
  qa.knowledge_graph="$root/configs/fakg.yaml" >/dev/null

run() {  # name, overrides...
  local name=$1; shift
  "${mpi[@]}" "$fasrl" train "${common[@]}" run.dir="$tmp/$name" "$@" 2>"$tmp/$name.err" | grep "GRPO steps" || {
    tail -20 "$tmp/$name.err"; exit 1; }
  grep -o "rollout worker 0: .*" "$tmp/$name.err" || true
}
echo "== samples/s, tiny MLLM (random init: every completion runs to max_new_tokens=48), 30 steps"
a=$(run k0 train.steps=30 train.grpo.max_new_tokens=48 train.grpo.max_staleness=0); echo "max_staleness 0: $a"
b=$(run k1 train.steps=30 train.grpo.max_new_tokens=48 train.grpo.max_staleness=1); echo "max_staleness 1: $b"
sa=$(echo "$a" | grep -o '): [0-9.]* samples/s' | grep -o '[0-9.]*' | head -1)
sb=$(echo "$b" | grep -o '): [0-9.]* samples/s' | grep -o '[0-9.]*' | head -1)
python3 -c "print(f'staleness 1 / staleness 0 = {$sb / $sa:.2f}x ({$sb:.1f} vs {$sa:.1f} samples/s)')"
echo "== weight sync per update vs bytes (learner 0: pack + post the sends; worker: copy into the parameters)"
echo "tiny: $(run sync_tiny train.steps=5 train.grpo.max_new_tokens=4)"
echo "25M decoder: $(run sync_big train.steps=5 train.grpo.max_new_tokens=4 mllm.decoder.hidden_size=512 \
  mllm.decoder.intermediate_size=1536 mllm.decoder.num_hidden_layers=8 mllm.decoder.num_attention_heads=8 \
  mllm.decoder.num_key_value_heads=2 mllm.projector_hidden=512)"
