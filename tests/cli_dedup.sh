#!/usr/bin/env bash
# label: unit  timeout: 300
# End-to-end test of `newsdedup dedup` on the bundled demo feed plus bad lines of
# every kind: outputs, rejects, truth clusters, determinism across threads and
# kernels, snapshot split-run equality. Checks are in tests/lib/check_outputs.py.
set -euo pipefail
: "${NEWSDEDUP:?set by ctest}"
src=${ND_SOURCE_DIR:-$(cd "$(dirname "$0")/.." && pwd)}
feed=$src/bench/demo/feed.jsonl
truth=$src/bench/demo/truth.tsv
work=$(mktemp -d /tmp/nd_cli_dedup.XXXXXX)
trap 'rm -rf "$work"' EXIT

# Bad inputs, one per line, each with the reason it must be rejected for.
python3 - "$work/bad.jsonl" "$work/bad-reasons.txt" <<'PY'
import sys, json
bad = [
    (b"", "empty"),
    (b"   ", "empty"),
    (b"this is not json", "bad_json"),
    (b'{"uri": "urn:x:1", "body_text": "unterminated', "bad_json"),
    (b'["an", "array"]', "not_object"),
    (b'{"headline": "No uri here", "body_text": "Some words about nothing at all."}', "missing_uri"),
    (b'{"uri": "urn:x:notext", "headline": "Only a headline"}', "missing_text"),
    (b'{"uri": 12345, "body_text": "A number for a uri is wrong."}', "wrong_type"),
    (b'{"uri": "urn:x:badutf8", "body_text": "bad \xff\xfe bytes here"}', "bad_utf8"),
    (b'{"uri": "urn:x:deep", "a": ' + b'[' * 5000 + b']' * 5000 + b', "body_text": "deep"}', "too_deep"),
    (b'{"uri": "urn:x:big", "body_text": "' + b'word ' * 20000 + b'"}', "too_large"),
    (b'{"uri": "urn:x:time", "body_text": "Some text here.", "versioncreated": "yesterday"}', "bad_time"),
]
with open(sys.argv[1], "wb") as f:
    for line, _ in bad:
        f.write(line + b"\n")
with open(sys.argv[2], "w") as f:
    for _, reason in bad:
        f.write(reason + "\n")
PY

# The feed with the bad lines spread through it.
# (The demo feed has bad lines of its own; the expected reasons name line numbers.)
python3 - "$feed" "$work/bad.jsonl" "$work/bad-reasons.txt" "$work/input.jsonl" <<'PY'
import sys
good = open(sys.argv[1], "rb").read().splitlines()
bad = open(sys.argv[2], "rb").read().split(b"\n")[:-1]
reasons = open(sys.argv[3]).read().split()
out, at, step = [], [], max(1, len(good) // (len(bad) + 1))
for i, line in enumerate(good):
    out.append(line)
    if bad and i % step == step - 1:
        out.append(bad.pop(0))
        at.append(len(out))
for line in bad:
    out.append(line)
    at.append(len(out))
open(sys.argv[4], "wb").write(b"\n".join(out) + b"\n")
with open(sys.argv[3], "w") as f:
    for n, r in zip(at, reasons):
        f.write("%d %s\n" % (n, r))
PY

run() { "$NEWSDEDUP" dedup --in "$work/input.jsonl" --max-doc-bytes 65536 "$@" 2>>"$work/stderr"; }

run --out-dir "$work/out1"
python3 "$src/tests/lib/check_outputs.py" --input "$work/input.jsonl" --truth "$truth" \
  --reasons "$work/bad-reasons.txt" --out "$work/out1"

# Same input, same order: same clusters with 2 threads and with the scalar kernel.
run --out-dir "$work/out2" --threads 2
run --out-dir "$work/out3" --kernel scalar
for f in memberships canonical clusters rejects; do
  cmp "$work/out1/$f.jsonl" "$work/out2/$f.jsonl"
  cmp "$work/out1/$f.jsonl" "$work/out3/$f.jsonl"
done

# A run split in two around a snapshot decides like one run.
n=$(wc -l <"$work/input.jsonl")
head -n $((n / 2)) "$work/input.jsonl" >"$work/a.jsonl"
tail -n +$((n / 2 + 1)) "$work/input.jsonl" >"$work/b.jsonl"
"$NEWSDEDUP" dedup --in "$work/a.jsonl" --max-doc-bytes 65536 --out-dir "$work/s1" \
  --save-snapshot "$work/snap" 2>>"$work/stderr"
"$NEWSDEDUP" dedup --in - --max-doc-bytes 65536 --out-dir "$work/s2" \
  --load-snapshot "$work/snap" <"$work/b.jsonl" 2>>"$work/stderr"
cat "$work/s1/memberships.jsonl" "$work/s2/memberships.jsonl" | cmp - "$work/out1/memberships.jsonl"

# A corrupt snapshot is refused with a clear error, not a crash.
printf 'not a snapshot' >"$work/bad.snap"
if "$NEWSDEDUP" dedup --in "$work/b.jsonl" --out-dir "$work/s3" --load-snapshot "$work/bad.snap" \
    2>"$work/err.txt"; then
  echo "a foreign snapshot was accepted"; exit 1
fi
grep -qi snapshot "$work/err.txt"

# Usage errors exit 2 with a message; --help lists every option with its default.
if "$NEWSDEDUP" dedup --out-dir "$work/x" 2>/dev/null; then echo "missing --in accepted"; exit 1; fi
set +e
"$NEWSDEDUP" dedup --in "$work/a.jsonl" --out-dir "$work/x" --no-such-option 2>"$work/err.txt"
rc=$?
set -e
[ "$rc" -eq 2 ] || { echo "an unknown option exited $rc, not 2"; exit 1; }
# getopt's message names the command as typed, then says where to look
grep -q "^newsdedup dedup: unrecognized option '--no-such-option'" "$work/err.txt" ||
  { echo "unknown option message:"; cat "$work/err.txt"; exit 1; }
grep -q "^Try 'newsdedup dedup --help'" "$work/err.txt"
"$NEWSDEDUP" dedup --help | grep -q -- "--window DUR.*(default: 72h)"
echo "1 passed, 0 failed"
