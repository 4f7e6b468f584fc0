#!/usr/bin/env bash
# Runs the whole test suite (unit, CLI, reference, multi-rank) on the build
# that scripts/setup.sh made.
set -euo pipefail
cd "$(dirname "$0")/../build"
[ "$(id -u)" -eq 0 ] && export OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1
ctest --output-on-failure -j"$(nproc)" "$@"
