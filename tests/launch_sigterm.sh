#!/usr/bin/env bash
# SIGTERM to fasrl-launch (local mpirun path) preempts the job: every rank
# checkpoints and the launcher exits 75 (requeue), not mpirun's 1.
#   tests/launch_sigterm.sh ROOT FASRL
set -euo pipefail
ROOT=$1 FASRL=$2
TMP=$(mktemp -d)
trap 'rm -rf "$TMP"' EXIT
"$FASRL" data synth --config "$ROOT/configs/moae_cr_tiny.yaml" synth.out_dir="$TMP/data" >/dev/null
"$ROOT/launch/fasrl-launch" -n 2 --threads 1 --fasrl "$FASRL" -- train --config "$ROOT/configs/moae_cr_tiny.yaml" \
  data.dataset="$TMP/data" run.dir="$TMP/run" train.steps=1000000 train.checkpoint_every=100 >"$TMP/out.log" 2>&1 &
pid=$!
for _ in $(seq 1 600); do  # until the first checkpoint: the job is training
  [ -e "$TMP/run/checkpoints/latest" ] && break
  sleep 0.2
done
[ -e "$TMP/run/checkpoints/latest" ] || { echo "FAIL: no checkpoint after 120 s"; tail -20 "$TMP/out.log"; exit 1; }
kill -TERM "$pid"
set +e
wait "$pid"
rc=$?
set -e
grep -q "preempted (signal" "$TMP/out.log" || { echo "FAIL: no preemption message"; tail -20 "$TMP/out.log"; exit 1; }
[ "$rc" -eq 75 ] || { echo "FAIL: fasrl-launch exited $rc, expected 75"; tail -20 "$TMP/out.log"; exit 1; }
echo "launch_sigterm: SIGTERM to fasrl-launch -> preempted at $(cat "$TMP/run/checkpoints/latest"), exit 75"
