#!/usr/bin/env bash
# The built-in default job: the whole fasrl pipeline at toy scale, about five
# minutes on 2 cores after the build.
#   synthetic faces -> MoAE-CR on 2 learners -> its test evaluation ->
#   knowledge-graph QA -> SFT of the reasoning MLLM on 2 learners -> GRPO with
#   2 learners + 1 rollout worker -> evaluation -> export of both models ->
#   fasrl infer on one test sample (rationale + answer), with plots of every run
# and a summary table. Outputs: runs/quickstart/ (runs, logs, exports) and
# data/quickstart/ (datasets); both are replaced on every run.
set -euo pipefail
cd "$(dirname "$0")/.."
FASRL=build/bin/fasrl
OUT=runs/quickstart
DATA=data/quickstart
[ -x "$FASRL" ] || { echo "quickstart: $FASRL not found: run bash scripts/setup.sh first" >&2; exit 1; }
[ "$(id -u)" -eq 0 ] && export OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1
rm -rf "$OUT" "$DATA"
mkdir -p "$OUT/logs"
MPI=(mpirun --oversubscribe -np)
PATHS=(mllm.tokenizer=configs/tokenizer.json qa.knowledge_graph=configs/fakg.yaml)
declare -a ROWS=()

stage() {  # name, command... : runs it into logs/NAME.log; a failure stops the job naming the stage
  local name=$1; shift
  local t0=$SECONDS
  printf '%-22s' "$name" >&2
  if ! "$@" >"$OUT/logs/$name.log" 2>&1; then
    echo "FAILED" >&2
    echo "quickstart: stage '$name' failed; the end of $OUT/logs/$name.log:" >&2
    tail -25 "$OUT/logs/$name.log" >&2
    exit 1
  fi
  STAGE_SECONDS=$((SECONDS - t0))
  echo "${STAGE_SECONDS} s" >&2
}
row() { ROWS+=("$(printf '| %-18s | %5s s | %-52s | %s |' "$1" "$STAGE_SECONDS" "$2" "$3")"); }
field() {  # key, file, which (first|last): a number from the JSON lines that have it
  grep -o "\"$1\": *[-0-9.e]*" "$2" | sed 's/.*: *//' | { [ "$3" = first ] && head -1 || tail -1; } | xargs printf '%.3f'
}
logline() { grep -m1 "$1" "$OUT/logs/$2.log" || true; }

echo "quickstart: the whole pipeline at toy scale (logs in $OUT/logs/)" >&2

# 1. Face anti-spoofing detector (MoAE-CR).
MOAE=(--config configs/moae_cr_tiny.yaml synth.out_dir=$DATA/faces data.dataset=$DATA/faces run.dir=$OUT/moae_cr)
stage "synth faces" $FASRL data synth "${MOAE[@]}"
row "synth faces" "$(logline 'wrote' 'synth faces' | cut -d' ' -f2-6)" "$DATA/faces"
stage "MoAE-CR train" "${MPI[@]}" 2 $FASRL train "${MOAE[@]}"
row "MoAE-CR train" "loss $(field loss $OUT/moae_cr/metrics.jsonl first) -> $(field loss $OUT/moae_cr/metrics.jsonl last) (2 learners)" \
    "$OUT/moae_cr/checkpoints"
stage "MoAE-CR eval" $FASRL eval "${MOAE[@]}"
row "MoAE-CR eval" "test ACER $(field acer $OUT/moae_cr/eval/report.json first), AUC $(field auc $OUT/moae_cr/eval/report.json first)" \
    "$OUT/moae_cr/eval/report.json"

# 2. Reasoning MLLM: QA data, SFT, GRPO.
SFT=(--config configs/sft_tiny.yaml synth.out_dir=$DATA/faces_qa data.dataset=$DATA/qa run.dir=$OUT/sft "${PATHS[@]}")
stage "synth QA" bash -c "$FASRL data synth ${SFT[*]} && $FASRL data qa ${SFT[*]} --dataset $DATA/faces_qa --out $DATA/qa"
row "synth QA" "$(logline 'QA items' 'synth QA' | cut -d' ' -f2-4)" "$DATA/qa"
# (eval_every = steps: a held-out evaluation before training and one at the end)
stage "SFT train" "${MPI[@]}" 2 $FASRL train "${SFT[@]}" train.eval_every=600
acc() { field "$1_accuracy" "$OUT/sft/metrics.jsonl" "$2"; }
row "SFT train" "loss $(field loss $OUT/sft/metrics.jsonl first) -> $(field loss $OUT/sft/metrics.jsonl last); held-out fine acc $(acc fine first) -> $(acc fine last)" \
    "$OUT/sft/checkpoints"
GRPO=(--config configs/grpo_tiny.yaml data.dataset=$DATA/qa run.dir=$OUT/grpo mllm.init_from=$OUT/sft/checkpoints/step-000600
      "${PATHS[@]}")
stage "GRPO train" "${MPI[@]}" 3 $FASRL train "${GRPO[@]}" train.eval_every=150
row "GRPO train" "held-out reward $(field mean_reward $OUT/grpo/metrics.jsonl first) -> $(field mean_reward $OUT/grpo/metrics.jsonl last)" \
    "$OUT/grpo/checkpoints"
stage "GRPO eval" $FASRL eval "${GRPO[@]}"
row "GRPO eval" "test ACER $(field acer $OUT/grpo/eval/report.json first), AUC $(field auc $OUT/grpo/eval/report.json first) (from P(attack))" \
    "$OUT/grpo/eval/report.json"

# Figures of the three runs (matplotlib): losses, rewards, evaluations, ROC/DET, APCER per attack type.
stage "plots" bash -c "$FASRL plot $OUT/moae_cr && $FASRL plot $OUT/sft && $FASRL plot $OUT/grpo"
row "plots" "$(ls $OUT/moae_cr/plots $OUT/sft/plots $OUT/grpo/plots | grep -c png) PNGs: losses, rewards, ROC/DET, APCER per type" \
    "$OUT/{moae_cr,sft,grpo}/plots"

# 3. Export both and ask the reasoning model about one test sample.
stage "export" bash -c "$FASRL export ${MOAE[*]} --out $OUT/export/moae_cr && $FASRL export ${GRPO[*]} --out $OUT/export/mllm"
row "export" "MoAE-CR (dev threshold) and MLLM (HF names)" "$OUT/export/{moae_cr,mllm}"
stage "sample images" /usr/bin/python3 scripts/sample_images.py "$DATA/qa" "$OUT/sample"
infer=($FASRL infer --model $OUT/export/mllm)
for m in rgb depth ir; do [ -f "$OUT/sample/$m.png" ] && infer+=(--$m "$OUT/sample/$m.png"); done
stage "infer" "${infer[@]}"
row "infer" "answer $(grep -o '"answer":"[a-z]*"' "$OUT/logs/infer.log" | cut -d'"' -f4) (truth: $(cat "$OUT/sample/label.txt"))" \
    "$OUT/logs/infer.log"

echo
echo "| stage              | time    | key figures                                          | outputs |"
echo "|--------------------|---------|------------------------------------------------------|---------|"
printf '%s\n' "${ROWS[@]}"
echo
echo "The reasoning model on $OUT/sample/ (fasrl infer):"
tail -1 "$OUT/logs/infer.log"
echo
echo "Curves: $OUT/*/plots/*.png, or live in TensorBoard: tensorboard --logdir $OUT (each run writes tb/ event files)."
echo "Next: docs/first-hour.md (your own images, your own SLURM cluster)."
