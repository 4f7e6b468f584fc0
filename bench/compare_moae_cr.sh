#!/usr/bin/env bash
# MoAE-CR (MoAE + CE + DM + CDM) versus plain CLIP fine-tuning (no MoAE, CE
# only) on synthetic P1 with the tiny config, several seeds, 2 ranks each.
# usage: bench/compare_moae_cr.sh [seeds] [subjects]
set -euo pipefail
cd "$(dirname "$0")/.."
SEEDS=${1:-3} SUBJECTS=${2:-60}
FASRL=build/bin/fasrl CONFIG=configs/moae_cr_tiny.yaml
TMP=$(mktemp -d); trap 'rm -rf "$TMP"' EXIT
[ "$(id -u)" -eq 0 ] && export OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1
$FASRL data synth --config $CONFIG synth.out_dir="$TMP/data" synth.num_subjects="$SUBJECTS" > /dev/null
printf "%-10s %5s %8s %8s %8s %8s\n" variant seed ACER HTER AUC EER
for variant in moae_cr clip_ce; do
  for seed in $(seq 1 "$SEEDS"); do
    extra=()
    [ $variant = clip_ce ] && extra=(train.moae_cr.loss=ce model.vision.moae.enabled=false)
    mpirun --oversubscribe -np 2 $FASRL train --config $CONFIG data.dataset="$TMP/data" run.dir="$TMP/$variant-$seed" \
      run.seed="$seed" run.threads_per_rank=1 "${extra[@]}" > /dev/null 2>&1
    /usr/bin/python3 -c "import json,sys; r=json.load(open('$TMP/$variant-$seed/eval/report.json')); print('%-10s %5s %8.3f %8.3f %8.3f %8.3f' % ('$variant', $seed, r['acer'], r['hter'], r['auc'], r['eer']))"
  done
done
