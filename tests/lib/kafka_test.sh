# kafka_test.sh - what the Kafka shell tests share; source it after `set -euo pipefail`.
# Sets src, feed, truth, check, work (a fresh temporary folder, removed at exit), pids
# (background processes killed at exit) and fast (run options for the mock's slow group
# rebalances); defines fail, mock_start and dump.
: "${NEWSDEDUP:?set by ctest}"
src=${ND_SOURCE_DIR:-$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)}
feed=$src/bench/demo/feed.jsonl
truth=$src/bench/demo/truth.tsv
check="python3 $src/tests/lib/check_kafka.py"
command -v kcat >/dev/null || { echo "SKIP: kcat not installed"; exit 0; }
work=$(mktemp -d "/tmp/nd_$(basename "$0" .sh).XXXXXX")
pids=()
kafka_test_cleanup() {
    for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done
    wait 2>/dev/null || true
    rm -rf "$work"
}
trap kafka_test_cleanup EXIT
fail() { echo "FAIL: $*"; echo "0 passed, 1 failed"; exit 1; }
# The mock's group rebalances wait session.timeout.ms: keep it short in tests.
fast=(-X session.timeout.ms=3000 -X heartbeat.interval.ms=300)

# mock_start ARGS...: start `newsdedup broker ARGS` and set bs to the bootstrap list it
# prints first.
mock_start() {
    "$NEWSDEDUP" broker "$@" >"$work/broker.out" 2>"$work/broker.err" &
    pids+=($!)
    for _ in $(seq 100); do [ -s "$work/broker.out" ] && break; sleep 0.1; done
    bs=$(head -n 1 "$work/broker.out")
    [[ $bs == 127.0.0.1:* ]] || fail "first line of broker output is not a bootstrap list: '$bs'"
}

# dump DIR [kcat options...]: the four output topics as kcat -J lines in DIR.
dump() {
    local dir=$1
    shift
    mkdir -p "$dir"
    for t in canonical memberships clusters rejects; do
        kcat -b "$bs" -C -t "dedup.$t" -e -q -J "$@" >"$dir/$t.json"
    done
}
