#!/usr/bin/env bash
# End-to-end on a real single-host SLURM (cluster/slurm-up.sh): submit the tiny
# MoAE-CR job with sbatch, have it preempted mid-run (SIGTERM at step 10, the
# test hook), and check that the job requeued itself, resumed from its
# checkpoint and finished with a checkpoint and an eval report.
# usage: slurm_e2e.sh SOURCE_DIR FASRL_BIN     (exit 77 = skipped: no SLURM here)
set -euo pipefail
SRC=$1 FASRL=$2
command -v slurmctld >/dev/null && command -v munged >/dev/null || { echo "slurm-wlm/munge not installed: skip"; exit 77; }
[ "$(id -u)" -eq 0 ] || { echo "needs root to run slurmd: skip"; exit 77; }
TMP=$(mktemp -d)
trap '"$SRC/cluster/slurm-down.sh" "$TMP/slurm"; rm -rf "$TMP"' EXIT
SLURM_UP_PORT=$((20000 + RANDOM % 20000)) "$SRC/cluster/slurm-up.sh" "$TMP/slurm"
source "$TMP/slurm/env"
"$FASRL" data synth --config "$SRC/configs/moae_cr_tiny.yaml" synth.out_dir="$TMP/data" synth.num_subjects=12 >/dev/null
cd "$SRC"
set +e
FASRL="$FASRL" CONFIG=configs/moae_cr_tiny.yaml timeout 500 sbatch --wait --output="$TMP/job.out" \
  launch/sbatch/single_node.sbatch data.dataset="$TMP/data" run.dir="$TMP/run" train.steps=30 train.signal_at_step=10
rc=$?
set -e
grep -v '^I' "$TMP/job.out" || true
[ $rc -eq 0 ] || { echo "FAIL: sbatch --wait exited $rc"; exit 1; }
grep -q "preempted (signal 15) at step 9" "$TMP/job.out" || { echo "FAIL: no preemption"; exit 1; }
grep -q "fasrl job .* (restart 1)" "$TMP/job.out" || { echo "FAIL: job was not requeued"; exit 1; }
grep -q "resuming from .*step-000009" "$TMP/job.out" || { echo "FAIL: requeued job did not resume"; exit 1; }
grep -q "trained 30 steps" "$TMP/job.out" || { echo "FAIL: training did not finish"; exit 1; }
[ -f "$TMP/run/checkpoints/step-000030/manifest.json" ] || { echo "FAIL: no final checkpoint"; exit 1; }
/usr/bin/python3 -c "import json; r = json.load(open('$TMP/run/eval/report.json')); assert 0 <= r['acer'] <= 1 and r['num_live'] > 0, r"
# Job records without slurmdbd: the job completion log has the finished job.
grep -q "JobState=COMPLETED" "$TMP/slurm/log/jobcomp.log" || { echo "FAIL: no COMPLETED record in jobcomp.log"; cat "$TMP/slurm/log/jobcomp.log" 2>/dev/null; exit 1; }
echo "slurm e2e: sbatch job preempted at step 9, requeued, resumed, finished 30 steps with checkpoint and report; recorded in jobcomp.log"
