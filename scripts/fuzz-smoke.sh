#!/usr/bin/env bash
# fuzz-smoke.sh BUILD_DIR [SECONDS]: run every libFuzzer harness built in
# BUILD_DIR/tests/fuzz for SECONDS (default 20) each, seeded from
# tests/fuzz/corpus/<harness>/. New inputs and crash artifacts go to a
# temporary folder, never into the committed corpus. Fails on the first
# harness that crashes, leaks or trips a sanitizer.
set -euo pipefail

build=${1:?usage: fuzz-smoke.sh BUILD_DIR [SECONDS]}
secs=${2:-20}
src=$(cd "$(dirname "$0")/.." && pwd)
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

found=0
for bin in "$build"/tests/fuzz/fuzz_*; do
  [ -x "$bin" ] || continue
  name=$(basename "$bin")
  found=$((found + 1))
  mkdir -p "$work/$name"
  seeds=()
  [ -d "$src/tests/fuzz/corpus/$name" ] && seeds=("$src/tests/fuzz/corpus/$name")
  echo "fuzz-smoke: $name for ${secs}s"
  if ! "$bin" -max_total_time="$secs" -timeout=10 -rss_limit_mb=2048 -max_len=65536 \
      -print_final_stats=1 -artifact_prefix="$work/$name/" "$work/$name" "${seeds[@]}" \
      >"$work/$name.log" 2>&1; then
    tail -n 60 "$work/$name.log"
    mkdir -p "$build/fuzz-artifacts"
    cp "$work/$name"/crash-* "$work/$name"/leak-* "$work/$name"/timeout-* \
       "$build/fuzz-artifacts/" 2>/dev/null || true
    echo "fuzz-smoke: $name FAILED (artifacts in $build/fuzz-artifacts)" >&2
    exit 1
  fi
  grep -E '^stat::number_of_executed_units|^stat::peak_rss_mb' "$work/$name.log" || true
done
if [ "$found" -eq 0 ]; then
  echo "fuzz-smoke: no fuzz_* binaries in $build/tests/fuzz (build target fuzz_targets)" >&2
  exit 1
fi
echo "fuzz-smoke: $found harnesses passed"
