#!/usr/bin/env bash
# Learner step figures on this machine, each a ratio from one run (SFT of the
# reasoning MLLM, mpirun -np 2, threads_per_rank 1):
#   1. overlapped gradient sync on vs off: target tokens/s (tiny MLLM)
#   2. activation checkpointing off vs on: peak RSS per rank and tokens/s
#      (tiny vision tower + a ~100M decoder: 768 wide, 12 layers)
#   3. ZeRO stage 0 / 1 / 2: peak RSS per rank, same ~400M decoder
#      (1024 wide, 24 layers, 4096 MLP), 2 steps each
#   bench/bench_learner.sh [build/bin/fasrl] [--quick|--zero]   (--quick: parts 1 and 2; --zero: part 3)
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
fasrl="${1:-$root/build/bin/fasrl}"
tmp="$(mktemp -d)"
trap 'rm -rf "$tmp"' EXIT
mpi=(mpirun --oversubscribe --allow-run-as-root -np 2)
common=(--config "$root/configs/sft_tiny.yaml" data.dataset="$tmp/qa" mllm.tokenizer="$root/configs/tokenizer.json"
        qa.knowledge_graph="$root/configs/fakg.yaml" run.threads_per_rank=1 train.mllm_eval.samples=1
        train.mllm_eval.max_new_tokens=2 train.checkpoint_every=0 train.eval_every=0 train.log_every=1)
"$fasrl" data synth --config "$root/configs/sft_tiny.yaml" synth.out_dir="$tmp/synth" synth.num_subjects=20 >/dev/null 2>&1
"$fasrl" data qa --config "$root/configs/sft_tiny.yaml" --dataset "$tmp/synth" --out "$tmp/qa" \
  qa.knowledge_graph="$root/configs/fakg.yaml" >/dev/null 2>&1

run() {  # name, overrides... ; prints "<tokens/s over the steps after the first> <peak host MB of rank 0>"
  local name=$1; shift
  "${mpi[@]}" "$fasrl" train "${common[@]}" run.dir="$tmp/$name" "$@" >"$tmp/$name.out" 2>&1 || {
    tail -20 "$tmp/$name.out"; exit 1; }
  /usr/bin/python3 - "$tmp/$name/metrics.jsonl" <<'PY'
import json, sys
rows = [json.loads(l) for l in open(sys.argv[1]) if '"loss"' in l]
rate = [r["target_tokens_per_s"] for r in rows[1:]] or [rows[0]["target_tokens_per_s"]]
print(f"{sum(rate) / len(rate):.0f} {max(r['peak_host_mb'] for r in rows):.0f}")
PY
}
ratio() { /usr/bin/python3 -c "print(f'{$1 / $2:.2f}')"; }

if [[ "${2:-}" != "--zero" ]]; then
echo "== 1. overlapped gradient sync, tiny MLLM, 40 steps"
read -r on _ < <(run overlap_on train.steps=40 comm.overlap_grad_sync=true)
read -r off _ < <(run overlap_off train.steps=40 comm.overlap_grad_sync=false)
echo "overlap on: $on target tokens/s; off: $off; on/off = $(ratio "$on" "$off")x"

big100=(mllm.decoder.hidden_size=768 mllm.decoder.intermediate_size=2048 mllm.decoder.num_hidden_layers=12
        mllm.decoder.num_attention_heads=12 mllm.decoder.num_key_value_heads=4 mllm.projector_hidden=768)
echo "== 2. activation checkpointing, ~100M decoder, 4 steps"
read -r r0 m0 < <(run ckpt_off train.steps=4 "${big100[@]}")
read -r r1 m1 < <(run ckpt_on train.steps=4 "${big100[@]}" train.activation_checkpointing=true)
echo "peak RSS per rank: $m0 MB kept, $m1 MB recomputed ($(ratio "$m1" "$m0")x); tokens/s $r0 vs $r1 ($(ratio "$r1" "$r0")x)"

fi
[[ "${2:-}" == "--quick" ]] && exit 0
big400=(mllm.decoder.hidden_size=1024 mllm.decoder.intermediate_size=4096 mllm.decoder.num_hidden_layers=24
        mllm.decoder.num_attention_heads=16 mllm.decoder.num_key_value_heads=4 mllm.projector_hidden=1024
        train.activation_checkpointing=true data.batch_size=2)
echo "== 3. ZeRO stages, ~400M decoder, 2 steps"
for stage in 0 1 2; do
  read -r _ m < <(run zero$stage train.steps=2 "${big400[@]}" train.zero_stage=$stage)
  eval "m$stage=$m"
  echo "stage $stage: peak RSS per rank $m MB"
done
echo "stage 1 / stage 0 = $(ratio "$m1" "$m0")x; stage 2 / stage 0 = $(ratio "$m2" "$m0")x"
