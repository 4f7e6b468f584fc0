#!/usr/bin/env bash
# Configures tests/arrows (a module whose header includes a forbidden module)
# and expects cmake to fail naming the file and the arrow; then checks that
# the same project with the include removed configures.
set -u
here="$(cd "$(dirname "$0")" && pwd)"
tmp="$(mktemp -d)"; trap 'rm -rf "$tmp"' EXIT
cp -r "$here/." "$tmp/src"
out="$(cmake -S "$tmp/src" -B "$tmp/build" -DFASRL_CMAKE_DIR="$1" 2>&1)" && { echo "configured despite the forbidden include"; exit 1; }
echo "$out" | tr -s " \n" "  " | grep -q "reasoning/probe.h includes 'models/', but module 'reasoning' may not use 'models'" \
  || { echo "$out"; echo "wrong or missing message"; exit 1; }
sed -i '/models\/tokenizer.h/d' "$tmp/src/reasoning/probe.h"
cmake -S "$tmp/src" -B "$tmp/build2" -DFASRL_CMAKE_DIR="$1" >/dev/null 2>&1 || { echo "the allowed project failed to configure"; exit 1; }
echo "forbidden header-only include rejected; allowed one accepted"
