#!/usr/bin/env bash
# label: kafka-mock  timeout: 240
# `newsdedup run --at-least-once` over the embedded broker: outputs checked like the
# exactly-once run's; a full replay of the input (a new group, from the beginning) after a
# restart writes no new membership or canonical and leaves every count as it was. Also the
# Prometheus endpoint: /metrics answers with the pipeline's counters (the time spent
# deciding and committing among them), other paths 404, an
# idle pipeline does not spin, and SIGTERM ends the run with status 0.
set -euo pipefail
. "$(dirname "$0")/lib/kafka_test.sh"
fast+=(--log-interval 0)

mock_start -t wire.a:2 -t wire.b:2 -t dedup.canonical -t dedup.memberships -t dedup.clusters \
    -t dedup.rejects -t dedup.state
awk 'NR % 2 == 1' "$feed" | kcat -b "$bs" -P -t wire.a
awk 'NR % 2 == 0' "$feed" | kcat -b "$bs" -P -t wire.b
want_rejects=$("$NEWSDEDUP" dedup --in "$feed" --out-dir "$work/file" 2>&1 >/dev/null |
    sed -n 's/.* \([0-9]*\) rejects;.*/\1/p')

# 1. At-least-once run to the end: the same promises as exactly-once.
"$NEWSDEDUP" run "${fast[@]}" --at-least-once -b "$bs" -G alo1 --exit-at-end '^wire\.' \
    2>"$work/run1.err" || { cat "$work/run1.err"; fail "at-least-once run failed"; }
grep -q "at-least-once" "$work/run1.err" || fail "the run does not say it is at-least-once"
dump "$work/k1"
$check "$work/k1" --uris "$truth" --truth "$truth" --story russia-iran-agreement \
    --rejects "$want_rejects" || fail "outputs of the at-least-once run"
echo "ok   at-least-once run: outputs checked"

# 2. A replay of every input (new group: no committed offsets) after a restart: the state
# topic makes every article a redelivery, so no membership or canonical is written again
# and the final counts are unchanged.
"$NEWSDEDUP" run "${fast[@]}" --at-least-once -b "$bs" -G alo2 --exit-at-end '^wire\.' \
    2>"$work/run2.err" || { cat "$work/run2.err"; fail "replay run failed"; }
grep -q "restored 193 articles" "$work/run2.err" || { cat "$work/run2.err"; fail "no restore"; }
dump "$work/k2"
cmp -s "$work/k1/memberships.json" "$work/k2/memberships.json" || fail "the replay wrote memberships"
cmp -s "$work/k1/canonical.json" "$work/k2/canonical.json" || fail "the replay wrote canonicals"
$check "$work/k2" --uris "$truth" --same-as "$work/k1" || fail "counts changed by the replay"
echo "ok   full replay: no new membership or canonical, counts unchanged"

# 3. The metrics endpoint of a running pipeline, then SIGTERM.
port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
"$NEWSDEDUP" run "${fast[@]}" --at-least-once -b "$bs" -G alo3 --metrics-port "$port" \
    '^wire\.' 2>"$work/run3.err" &
run3=$!
pids+=($run3)
metrics() { python3 - "$port" "$1" <<'PY'
import sys, urllib.request, urllib.error
try:
    r = urllib.request.urlopen("http://127.0.0.1:%s%s" % (sys.argv[1], sys.argv[2]), timeout=5)
    print(r.status); print(r.read().decode())
except urllib.error.HTTPError as e:
    print(e.code)
except Exception as e:
    print("ERR", e)
PY
}
for _ in $(seq 60); do
    metrics /metrics >"$work/metrics.txt"
    grep -q '^newsdedup_consumed 208' "$work/metrics.txt" && break
    sleep 0.5
done
grep -q '^200' "$work/metrics.txt" || { cat "$work/metrics.txt"; fail "/metrics did not answer 200"; }
grep -q '^newsdedup_consumed 208' "$work/metrics.txt" || { cat "$work/metrics.txt"; fail "consumed"; }
grep -q '^newsdedup_rejects ' "$work/metrics.txt" || fail "no rejects counter"
grep -q '^newsdedup_clusters ' "$work/metrics.txt" || fail "no clusters counter"
# caught up with every partition: nothing is held back
grep -q '^newsdedup_held 0$' "$work/metrics.txt" || { grep held "$work/metrics.txt"; fail "held"; }
# Where the time went: both the deciding and the committing took some.
for t in decide commit; do
    awk -v n="newsdedup_${t}_seconds" '$1 == n && $2 > 0 {ok = 1} END {exit !ok}' \
        "$work/metrics.txt" || { grep "_seconds" "$work/metrics.txt"; fail "no ${t} time"; }
done
[ "$(metrics /nothing-here | head -n 1)" = 404 ] || fail "an unknown path did not answer 404"
# Caught up with nothing new to read, the pipeline sleeps in poll: it used to spin on
# an empty batch at the end of every partition (a core busy while idle).
cpu_ticks() { awk '{print $14 + $15}' "/proc/$1/stat"; }
t0=$(cpu_ticks "$run3")
sleep 3
idle=$(($(cpu_ticks "$run3") - t0))
echo "idle pipeline: $idle CPU ticks in 3 s (of $(getconf CLK_TCK)/s)"
[ "$idle" -le $(( $(getconf CLK_TCK) / 2 )) ] || fail "the idle pipeline used $idle CPU ticks in 3 s"
kill -TERM "$run3"
wait "$run3" || { tail -5 "$work/run3.err"; fail "SIGTERM did not end the run with status 0"; }
echo "ok   /metrics served the counters; idle without spinning; SIGTERM ended the run cleanly"
echo "1 passed, 0 failed"
