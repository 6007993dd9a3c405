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
# given in ND_BENCH_OPTS (e.g. "--kernel scalar"). With ND_NEIGHBOUR_MB=64,
# bench_neighbour (beside the first nd-bench, or ND_NEIGHBOUR_BIN) streams over
# that many MB on CPU 1 for the whole comparison and the builds run on CPU 0:
# a noisy neighbour that is the same in every round.
#
# With ND_ADD_ONLY=PASSES, each round runs `nd-bench --add-only PASSES` of each
# build instead (the add stage alone, over articles parsed and signed once),
# and prints per build the least of its rounds' add segment minima (us a
# line), every round's figure, and its decision digests: builds that change
# only how the add runs must give one digest each, the same one.
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
neighbour=
pin=
trap 'rm -rf "$tmp"; [ -z "$neighbour" ] || kill "$neighbour" 2>/dev/null' EXIT
if [ -n "${ND_NEIGHBOUR_MB:-}" ]; then
    taskset -c 1 "${ND_NEIGHBOUR_BIN:-$(dirname "$1")/bench_neighbour}" "$ND_NEIGHBOUR_MB" &
    neighbour=$!
    pin="taskset -c 0"
fi
lines=$(wc -l <"$feed")
r=0
while [ "$r" -lt "$rounds" ]; do
    k=0
    for b in "$@"; do
        if [ -n "${ND_ADD_ONLY:-}" ]; then
            $pin "$b" --feed "$feed" --truth "$truth" --add-only "$ND_ADD_ONLY" |
                grep '^add-only:' >>"$tmp/add.$k"
        else
            # shellcheck disable=SC2086
            $pin "$b" --feed "$feed" --truth "$truth" --repeat 2 --no-baseline \
                --segments "$tmp/seg.$k" --stage-segments "$tmp/stage.$k" ${ND_BENCH_OPTS:-} |
                awk '/^engine \(near/ {print $3}' >>"$tmp/pass.$k"
        fi
        k=$((k + 1))
    done
    r=$((r + 1))
done
if [ -n "${ND_ADD_ONLY:-}" ]; then
    k=0
    for b in "$@"; do
        # add-only: N lines, P passes: segment minima X us/line, best pass Y
        # us/line; decisions D (...)
        awk -v b="$b" '
            { for (i = 1; i <= NF; i++) {
                  if ($i == "minima") v = $(i + 1)
                  if ($i == "decisions") d[$(i + 1)] = 1 }
              if (NR == 1 || v < m) m = v
              s = s " " v }
            END { n = 0; for (x in d) { n++; dg = x }
                  printf "%-40s add alone: least %.3f us/line, digests %d (%s); rounds:%s\n",
                      b, m, n, dg, s }' "$tmp/add.$k"
        k=$((k + 1))
    done
    exit 0
fi
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
