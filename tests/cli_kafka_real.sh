#!/usr/bin/env bash
# label: kafka-real  timeout: 600
# `newsdedup run` against a real Apache Kafka broker (KRaft, scripts/kafka-real.sh):
#  - an uninterrupted exactly-once run, as the reference;
#  - the same input run again in another group, SIGKILLed in the middle of the
#    feed several times and restarted; afterwards every input article has
#    exactly one membership (read_committed), each cluster one canonical
#    record, and the final cluster counts equal the reference's;
#  - outputs are stored zstd-compressed by default, as -X compression.type says
#    otherwise;
#  - a second instance in the same group fences the first, which exits;
#  - compaction of dedup.clusters keeps the latest record per cluster.
set -euo pipefail
: "${NEWSDEDUP:?set by ctest}"
src=${ND_SOURCE_DIR:-$(cd "$(dirname "$0")/.." && pwd)}
feed=$src/bench/demo/feed.jsonl
truth=$src/bench/demo/truth.tsv
check="python3 $src/tests/lib/check_kafka.py"
kr=$src/scripts/kafka-real.sh
command -v kcat >/dev/null || { echo "SKIP: kcat not installed"; exit 0; }
work=$(mktemp -d /tmp/nd_kafka_real.XXXXXX)
pids=()
cleanup() {
    for p in "${pids[@]}"; do kill -KILL "$p" 2>/dev/null || true; done
    wait 2>/dev/null || true
    bash "$kr" stop "$work/kafka" >/dev/null 2>&1 || true
    rm -rf "$work"
}
trap cleanup EXIT
fail() { echo "FAIL: $*"; exit 1; }

t0=$(date +%s)
rc=0
bs=$(bash "$kr" start "$work/kafka") || rc=$?
if [ $rc = 3 ]; then
    echo "SKIP: java or mvn missing and not installable (scripts/install-deps.sh)"
    exit 0
fi
[ $rc = 0 ] || fail "the real broker did not start"
echo "ok   Apache Kafka at $bs (started in $(($(date +%s) - t0)) s)"

# Topics: the input on one partition (so every run sees one order), and the
# clusters topic compacted with tiny segments so the cleaner acts at once.
bash "$kr" topics "$work/kafka" --create --topic wire.k --partitions 1 >/dev/null
bash "$kr" topics "$work/kafka" --create --topic dedup.clusters --partitions 1 \
    --config cleanup.policy=compact --config segment.ms=100 \
    --config min.cleanable.dirty.ratio=0.001 --config delete.retention.ms=100 >/dev/null

# The input: the demo feed three times over (the copies under new uris), and
# bad messages; the expected member uris.
python3 - "$feed" "$truth" "$work/in.jsonl" "$work/uris.txt" <<'PY'
import json, sys
feed, truth, out, uris = sys.argv[1:]
lines = open(feed, "rb").read().split(b"\n")
good = [l.split("\t")[0] for l in open(truth) if l.strip()]
with open(out, "wb") as f, open(uris, "w") as u:
    for r in range(3):
        for l in lines:
            if not l.strip():
                continue
            if r:
                try:
                    d = json.loads(l)
                    d["uri"] = d["uri"] + "#copy%d" % r
                    l = json.dumps(d).encode()
                except Exception:
                    pass
            f.write(l + b"\n")
        f.write(b"not json %d\n" % r)
        for g in good:
            u.write(g + ("#copy%d" % r if r else "") + "\n")
PY
kcat -b "$bs" -P -t wire.k <"$work/in.jsonl"
n_in=$(wc -l <"$work/in.jsonl")

ref_topics=(--canonical-topic ref.canonical --memberships-topic ref.memberships
            --clusters-topic ref.clusters --rejects-topic ref.rejects --state-topic ref.state)
dump() { # dump DIR PREFIX
    mkdir -p "$1"
    for t in canonical memberships clusters rejects; do
        kcat -b "$bs" -C -t "$2.$t" -e -q -J -X isolation.level=read_committed >"$1/$t.json"
    done
}

# 1. The reference: one uninterrupted run.
t1=$(date +%s%N)
"$NEWSDEDUP" run -b "$bs" -G ref --exit-at-end --batch-size 5 --log-interval 0 "${ref_topics[@]}" \
    wire.k >/dev/null 2>"$work/ref.err" || { cat "$work/ref.err"; fail "reference run failed"; }
echo "ok   reference run: $(grep -o 'done: .*' "$work/ref.err") ($((($(date +%s%N) - t1) / 1000000)) ms)"
# Its closing time line: the transactions' commits took some of the run.
grep 'time: ' "$work/ref.err" | grep -Eq 'committing (0\.0[1-9]|0\.[1-9]|[1-9])' \
    || { cat "$work/ref.err"; fail "no commit time in the closing lines"; }
dump "$work/ref" ref
want_rejects=$(grep -o '[0-9]* rejects' "$work/ref.err" | tail -1 | cut -d' ' -f1)
$check "$work/ref" --uris "$work/uris.txt" --truth "$truth" --story russia-iran-agreement \
    --rejects "$want_rejects" || fail "reference outputs"
# codecs TOPIC: the distinct codecs of the topic's data batches (transaction
# markers are control batches, never compressed).
codecs() {
    bash "$kr" batches "$work/kafka" "$1" | grep 'isControl: false' \
        | grep -o 'compresscodec: [a-z0-9]*' | cut -d' ' -f2 | sort -u | tr '\n' ' '
}
for t in memberships clusters canonical state; do
    c=$(codecs ref.$t)
    [ "$c" = "zstd " ] || fail "ref.$t holds batches of codec(s) '$c', want zstd (the default)"
done
echo "ok   outputs and state stored zstd-compressed (the producer's default)"

# 2. The same input, SIGKILLed mid-feed several times, then run to the end.
mid=0
for i in 1 2 3 4 5; do
    "$NEWSDEDUP" run -b "$bs" -G killed --batch-size 5 --log-interval 0 \
        -X compression.type=lz4 wire.k >/dev/null 2>"$work/kill$i.err" &
    p=$!
    pids+=($p)
    # Kill once it is deciding (after the restore and the group join).
    for _ in $(seq 100); do
        grep -q "transactional.id" "$work/kill$i.err" 2>/dev/null && break
        sleep 0.1
    done
    sleep "0.$((RANDOM % 6 + 2))"
    if kill -0 "$p" 2>/dev/null; then
        kill -KILL "$p"
        mid=$((mid + 1))
    fi
    wait "$p" 2>/dev/null || true
    grep -o "restored [0-9]* articles" "$work/kill$i.err" | sed "s/^/     run $i: /" || true
done
[ $mid -ge 3 ] || fail "only $mid of 5 runs were killed mid-feed"
"$NEWSDEDUP" run -b "$bs" -G killed --exit-at-end --batch-size 5 --log-interval 0 \
    -X compression.type=lz4 wire.k >/dev/null 2>"$work/final.err" \
    || { cat "$work/final.err"; fail "final run failed"; }
dump "$work/killed" dedup
$check "$work/killed" --uris "$work/uris.txt" --truth "$truth" --story russia-iran-agreement \
    --same-as "$work/ref" || fail "outputs after $mid kills differ from the reference"
echo "ok   killed $mid times mid-feed, restarted: exactly one membership per article," \
    "one canonical per cluster, final counts equal to the uninterrupted run"
c=$(codecs dedup.memberships)
[ "$c" = "lz4 " ] || fail "-X compression.type=lz4: dedup.memberships holds codec(s) '$c'"
echo "ok   -X compression.type=lz4 overrides the default (state restored from lz4 records)"

# 3. A second instance in the same group fences the first.
"$NEWSDEDUP" run -b "$bs" -G killed --log-interval 0 wire.k >/dev/null 2>"$work/a.err" &
a=$!
pids+=($a)
for _ in $(seq 100); do grep -q "transactional.id" "$work/a.err" && break; sleep 0.1; done
sleep 1
"$NEWSDEDUP" run -b "$bs" -G killed --log-interval 0 wire.k >/dev/null 2>"$work/b.err" &
b=$!
pids+=($b)
for _ in $(seq 100); do grep -q "transactional.id" "$work/b.err" && break; sleep 0.1; done
echo '{"uri":"urn:test:late","body_text":"A late story about a lighthouse keeper who retired after forty years of service."}' \
    | kcat -b "$bs" -P -t wire.k
a_rc=""
for _ in $(seq 200); do
    if ! kill -0 "$a" 2>/dev/null; then
        a_rc=0
        wait "$a" || a_rc=$?
        break
    fi
    sleep 0.1
done
[ -n "$a_rc" ] || fail "the first instance still runs beside the second"
[ "$a_rc" != 0 ] || fail "the fenced instance exited 0"
grep -q "took over" "$work/a.err" || { cat "$work/a.err"; fail "the fenced instance did not say why"; }
for _ in $(seq 100); do
    n=$(kcat -b "$bs" -C -t dedup.memberships -e -q -X isolation.level=read_committed -f '%k\n' \
        | grep -c '^urn:test:late$' || true)
    [ "$n" = 0 ] || break
    sleep 0.1
done
kill -TERM "$b"
b_rc=0
wait "$b" || b_rc=$?
[ "$b_rc" = 0 ] || fail "the second instance exited $b_rc on SIGTERM"
[ "$n" = 1 ] || fail "the late article has $n memberships"
echo "ok   second instance fenced the first (exit $a_rc: $(grep -o 'Broker: [^(]*' "$work/a.err" | head -1)), decided the late article once"

# 4. Compaction of dedup.clusters keeps the latest record per cluster.
dump "$work/before" dedup
python3 - "$work/before/clusters.json" "$work/latest.json" <<'PY'
import json, sys
last = {}
for l in open(sys.argv[1]):
    m = json.loads(l)
    last[m["key"]] = m["payload"]
json.dump(last, open(sys.argv[2], "w"))
print("     dedup.clusters: %d records readable for %d clusters (the cleaner may have run)" %
      (sum(1 for _ in open(sys.argv[1])), len(last)))
PY
compacted=0
for _ in $(seq 60); do
    sleep 0.5
    # A record after segment.ms rolls the segment, so the cleaner can take it.
    echo "roll" | kcat -b "$bs" -P -t dedup.clusters -k "zz-roll"
    kcat -b "$bs" -C -t dedup.clusters -e -q -J -X isolation.level=read_committed \
        >"$work/after.json"
    if python3 - "$work/after.json" "$work/latest.json" <<'PY'
import collections, json, sys
latest = json.load(open(sys.argv[2]))
msgs = [json.loads(l) for l in open(sys.argv[1])]
msgs = [m for m in msgs if m["key"] != "zz-roll"]
per = collections.Counter(m["key"] for m in msgs)
if any(n != 1 for n in per.values()):
    sys.exit(1)
last = {m["key"]: m["payload"] for m in msgs}
if last != latest:
    print("FAIL: compaction kept something else than the latest record per cluster")
    sys.exit(2)
PY
    then
        compacted=1
        break
    elif [ $? = 2 ]; then
        fail "compaction lost the latest records"
    fi
done
[ $compacted = 1 ] || fail "dedup.clusters was not compacted to one record per cluster in 30 s"
produced=$(grep -c . "$work/killed/memberships.json") # one clusters record each
[ "$produced" -gt "$(grep -c . "$work/after.json")" ] || fail "nothing to compact"
echo "ok   compaction: $produced clusters records produced; the topic holds exactly the latest of each cluster"
echo "total $(($(date +%s) - t0)) s"
echo "1 passed, 0 failed"
