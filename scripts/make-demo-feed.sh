#!/usr/bin/env bash
# Regenerate the committed demo feed from the demo stories:
#   bench/demo/stories/*.txt  ->  bench/demo/feed.jsonl + bench/demo/truth.tsv
# Usage: scripts/make-demo-feed.sh [path/to/nd-corpus]
# (or: cmake --build build --target demo-feed). The seed is fixed, so the
# output is the same bytes every time; commit both files after a change.
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
corpus="${1:-$root/build/bench/nd-corpus}"
[ -x "$corpus" ] || { echo "make-demo-feed: $corpus not built" >&2; exit 1; }
"$corpus" --stories "$root/bench/demo/stories" --seed 20260302 \
  --copies russia-iran-agreement=14 --max-copies 6 --bad 6 \
  --out "$root/bench/demo/feed.jsonl" --truth "$root/bench/demo/truth.tsv"
