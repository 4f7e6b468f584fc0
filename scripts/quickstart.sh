#!/usr/bin/env bash
# The built-in default job (configs/quickstart.yaml): synthesise a multimodal
# face-attack dataset, verify it, show its protocol splits, then read it with
# the distributed loader on 2 ranks under mpirun.
set -euo pipefail
cd "$(dirname "$0")/.."
FASRL=build/bin/fasrl
CONFIG=configs/quickstart.yaml
[ "$(id -u)" -eq 0 ] && export OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1

$FASRL data synth --config $CONFIG "$@"
$FASRL data verify data/synth --deep
$FASRL data inspect data/synth
mpirun --oversubscribe -np 2 $FASRL data iterate --config $CONFIG run.threads_per_rank=1 "$@"
echo "quickstart: effective config in runs/quickstart/config.json"
