#!/usr/bin/env bash
# cluster/slurm-down.sh DIR — stop what slurm-up.sh DIR started and remove DIR.
# TERM first; whatever still runs after 20 s gets KILL, so the next bring-up
# never meets a stale daemon.
set -u
DIR=$(realpath -m "${1:?usage: $0 DIR}")
pids=()
for name in slurmd slurmctld munged; do
  pid=$(cat "$DIR/run/$name.pid" 2>/dev/null) && [ -n "$pid" ] && pids+=("$pid")
done
[ ${#pids[@]} -gt 0 ] && kill "${pids[@]}" 2>/dev/null
for _ in $(seq 1 80); do
  alive=()
  for pid in "${pids[@]}"; do kill -0 "$pid" 2>/dev/null && alive+=("$pid"); done
  [ ${#alive[@]} -eq 0 ] && break
  sleep 0.25
done
for pid in "${pids[@]}"; do kill -9 "$pid" 2>/dev/null; done
rm -rf "$DIR"
