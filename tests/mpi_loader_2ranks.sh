#!/bin/sh
# Two ranks under mpirun: each reads its own half of the P1 train split.
set -e
MPIRUN=$1 FASRL=$2 TMP=$3
rm -rf "$TMP" && mkdir -p "$TMP"
"$FASRL" data synth synth.out_dir="$TMP/ds" synth.num_subjects=6 synth.samples_per_subject=10 synth.image_size=32 >/dev/null
# --allow-run-as-root: CI containers run as root; --oversubscribe: 2-core machines.
"$MPIRUN" --allow-run-as-root --oversubscribe -np 2 \
  "$FASRL" data iterate data.dataset="$TMP/ds" data.batch_size=4 run.threads_per_rank=1 run.dir="$TMP/run" > "$TMP/out.txt"
cat "$TMP/out.txt"
# Each rank reads floor(split / 2) samples of the split that `inspect` counts.
total=$("$FASRL" data inspect "$TMP/ds" | awk '$1 == "P1/train" {print $2}')
half=$((total / 2))
grep -q "\[rank 0/2\] P1/train: .* $half samples" "$TMP/out.txt"
grep -q "\[rank 1/2\] P1/train: .* $half samples" "$TMP/out.txt"
