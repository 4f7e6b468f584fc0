#!/usr/bin/env bash
# SIGTERM to fasrl-launch (local mpirun path) preempts the job: every rank
# checkpoints and the launcher exits 75 (requeue), not mpirun's 1. SIGTERM to
# a bare mpirun: Open MPI exits 1 whatever the ranks do, but the ranks still
# checkpoint and `fasrl status --exit-code` gives the job script 75.
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
"$FASRL" status "$TMP/run" --exit-code >"$TMP/status.log" && rc=0 || rc=$?
grep -q "latest attempt: preempted by signal" "$TMP/status.log" && [ "$rc" -eq 75 ] ||
  { echo "FAIL: status --exit-code after fasrl-launch gave $rc"; cat "$TMP/status.log"; exit 1; }
echo "launch_sigterm: SIGTERM to fasrl-launch -> preempted at $(cat "$TMP/run/checkpoints/latest"), exit 75"

# The same job resumed under a bare mpirun, which gets the SIGTERM itself.
before=$(cat "$TMP/run/checkpoints/latest")
mpirun --oversubscribe -np 2 "$FASRL" train --config "$ROOT/configs/moae_cr_tiny.yaml" \
  data.dataset="$TMP/data" run.dir="$TMP/run" train.steps=1000000 train.checkpoint_every=100 >"$TMP/bare.log" 2>&1 &
pid=$!
for _ in $(seq 1 600); do  # until a checkpoint after the resume
  [ "$(cat "$TMP/run/checkpoints/latest")" != "$before" ] && break
  sleep 0.2
done
[ "$(cat "$TMP/run/checkpoints/latest")" != "$before" ] || { echo "FAIL: no checkpoint after resuming"; tail -20 "$TMP/bare.log"; exit 1; }
"$FASRL" status "$TMP/run" --exit-code >"$TMP/status.log" && rc=0 || rc=$?
[ "$rc" -eq 1 ] && grep -q "has not ended" "$TMP/status.log" ||
  { echo "FAIL: a running job: status --exit-code gave $rc"; cat "$TMP/status.log"; exit 1; }
kill -TERM "$pid"
set +e
wait "$pid"
mpirun_rc=$?
"$FASRL" status "$TMP/run" --exit-code >"$TMP/status.log"
rc=$?
set -e
grep -q "preempted (signal 15) at step" "$TMP/bare.log" || { echo "FAIL: no preemption message"; tail -20 "$TMP/bare.log"; exit 1; }
grep -q "latest attempt: preempted by signal 15" "$TMP/status.log" && [ "$rc" -eq 75 ] ||
  { echo "FAIL: status --exit-code after SIGTERM to mpirun gave $rc"; cat "$TMP/status.log"; exit 1; }
echo "launch_sigterm: SIGTERM to a bare mpirun -> mpirun exit $mpirun_rc, preempted at $(cat "$TMP/run/checkpoints/latest"), status --exit-code 75"
