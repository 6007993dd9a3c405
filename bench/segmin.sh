#!/bin/sh
# segmin.sh: compare nd-bench builds on a shared, noisy machine.
#
#   bench/segmin.sh FEED TRUTH ROUNDS NDBENCH...
#
# Runs each nd-bench binary ROUNDS times, alternating them (A B C A B C ...),
# with --repeat 2 --no-baseline --segments, so that every build meets the
# same bursts of load. Then, per build, each 1024-line segment's least time
# over all its passes, summed: the time of a pass in which no segment was
# disturbed. Prints per build that figure as articles/s, with its ratio to
# the first build, and the best whole pass; then the same minima taken per
# stage (parse+normalise, sign, add: --stage-segments), in microseconds per
# line, which resolve a change to one stage better. Extra nd-bench options may be
# given in ND_BENCH_OPTS (e.g. "--kernel scalar").
set -eu
if [ $# -lt 4 ]; then
    echo "usage: $0 FEED TRUTH ROUNDS NDBENCH..." >&2
    exit 2
fi
feed=$1
truth=$2
rounds=$3
shift 3
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
lines=$(wc -l <"$feed")
r=0
while [ "$r" -lt "$rounds" ]; do
    k=0
    for b in "$@"; do
        # shellcheck disable=SC2086
        "$b" --feed "$feed" --truth "$truth" --repeat 2 --no-baseline \
            --segments "$tmp/seg.$k" --stage-segments "$tmp/stage.$k" ${ND_BENCH_OPTS:-} |
            awk '/^engine \(near/ {print $3}' >>"$tmp/pass.$k"
        k=$((k + 1))
    done
    r=$((r + 1))
done
k=0
base=
for b in "$@"; do
    best=$(sort -n "$tmp/pass.$k" | tail -1)
    aps=$(awk -v n="$lines" '
        { for (g = 1; g <= NF; g++) if (NR == 1 || $g < m[g]) m[g] = $g; nf = NF }
        END { for (g = 1; g <= nf; g++) s += m[g]; printf "%.0f", n / s }' "$tmp/seg.$k")
    [ -n "$base" ] || base=$aps
    printf '%-40s segment minima %8s articles/s (%.3fx)   best pass %s (%d passes)\n' \
        "$b" "$aps" "$(echo "$aps $base" | awk '{print $1 / $2}')" "$best" "$((2 * rounds))"
    # the same minima per stage (three lines a pass: parse, sign, add)
    awk -v n="$lines" '
        { k = (NR - 1) % 3
          for (g = 1; g <= NF; g++) if (NR <= 3 || $g < m[k, g]) m[k, g] = $g; nf = NF }
        END { for (k = 0; k < 3; k++) { s[k] = 0; for (g = 1; g <= nf; g++) s[k] += m[k, g] }
              printf "%-40s   per stage, us/line: parse %.3f  sign %.3f  add %.3f\n", "",
                  1e6 * s[0] / n, 1e6 * s[1] / n, 1e6 * s[2] / n }' "$tmp/stage.$k"
    k=$((k + 1))
done
