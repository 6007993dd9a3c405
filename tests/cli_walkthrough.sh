#!/usr/bin/env bash
# label: kafka-mock  timeout: 240
# The README's kcat walk-through, run exactly as written (extracted between the
# walkthrough markers), then its outputs checked.
set -euo pipefail
: "${NEWSDEDUP:?set by ctest}"
src=${ND_SOURCE_DIR:-$(cd "$(dirname "$0")/.." && pwd)}
command -v kcat >/dev/null || { echo "SKIP: kcat not installed"; exit 0; }
work=$(mktemp -d /tmp/nd_walk.XXXXXX)
trap 'kill $(jobs -p) 2>/dev/null || true; rm -rf "$work"' EXIT
# A tree that looks like a built clone: the binary at build/cli/, the demo feed.
mkdir -p "$work/build/cli" "$work/bench/demo"
ln -s "$NEWSDEDUP" "$work/build/cli/newsdedup"
cp "$src/bench/demo/feed.jsonl" "$work/bench/demo/"
sed -n '/<!-- walkthrough:begin -->/,/<!-- walkthrough:end -->/p' "$src/README.md" \
    | sed '1,2d;$d' | sed '$d' >"$work/walk.sh"
[ -s "$work/walk.sh" ] || { echo "no walk-through found in README.md"; exit 1; }
(cd "$work" && timeout 180 bash -e walk.sh >walk.out 2>&1) \
    || { cat "$work/walk.out"; echo "0 passed, 1 failed"; exit 1; }
m=$(wc -l <"$work/memberships.txt")
c=$(cut -d' ' -f1 "$work/canonical.txt" | sort -u | wc -l)
k=$(cut -d' ' -f1 "$work/clusters.txt" | sort -u | wc -l)
r=$(wc -l <"$work/rejects.txt")
echo "memberships $m, canonical clusters $c, clusters $k, rejects $r"
[ "$m" = 193 ] && [ "$c" = 42 ] && [ "$k" = 42 ] && [ "$r" = 6 ] \
    || { cat "$work/walk.out"; echo "0 passed, 1 failed"; exit 1; }
grep -q 'reason=' "$work/rejects.txt" || { echo "rejects lack their headers"; exit 1; }
echo "1 passed, 0 failed"
