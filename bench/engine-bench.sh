#!/usr/bin/env bash
# The "Engine throughput and quality" figures of docs/BENCHMARKS.md, end to end:
# generate the feeds with nd-corpus, then run nd-bench on each.
#   bench/engine-bench.sh [BUILD_DIR] [OUT_DIR]
# Needs ../shared/data (Reuters-21578) for feeds (b) and (c); (a) is the
# committed demo feed. Takes about a minute on 2 cores.
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
build="${1:-$root/build}"
out="${2:-$build/bench-feeds}"
shared="${ND_SHARED_DIR:-$root/../shared}"
corpus="$build/bench/nd-corpus"
bench="$build/bench/nd-bench"
mkdir -p "$out"

echo "== (a) demo feed"
"$bench" --feed "$root/bench/demo/feed.jsonl" --truth "$root/bench/demo/truth.tsv" --repeat 20

if [ ! -d "$shared/data/reuters21578" ]; then
  echo "engine-bench: no $shared/data/reuters21578; skipping the Reuters feeds" >&2
  exit 0
fi
echo "== (b) Reuters-21578 syndication feed"
"$corpus" --reuters "$shared/data/reuters21578" --limit 3000 --seed 42 --bad 20 \
  --out "$out/reuters.jsonl" --truth "$out/reuters.tsv"
"$bench" --feed "$out/reuters.jsonl" --truth "$out/reuters.tsv" --repeat 5

echo "== (c) 4 KB articles (Reuters stories padded to 4096 bytes, two replicas)"
"$corpus" --reuters "$shared/data/reuters21578" --limit 2000 --min-bytes 4096 --scale 2 \
  --seed 43 --out "$out/r4k.jsonl" --truth "$out/r4k.tsv"
"$bench" --feed "$out/r4k.jsonl" --truth "$out/r4k.tsv" --repeat 5
"$bench" --feed "$out/r4k.jsonl" --truth "$out/r4k.tsv" --repeat 3 --kernel scalar --no-baseline \
  | sed -n '2p;4,7p;9,12p'
