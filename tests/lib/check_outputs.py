#!/usr/bin/env python3
"""Check the four outputs of a newsdedup run against its input (and truth).

Used by the CLI and Kafka end-to-end tests. Exits non-zero with a message on
the first broken promise:
  - every good input uri has exactly one membership; rejects are exactly the
    bad lines (in order, with the expected reason codes when given);
  - every cluster has exactly one canonical record, whose document is the
    input document unchanged; canonical uri's membership is not a duplicate;
  - the last cluster record of each cluster counts exactly its members, and
    its distinct sources;
  - against the truth (uri -> story): pairwise precision/recall/F1 at least
    --min-f1, and the biggest story's copies in one cluster.
"""
import argparse
import collections
import itertools
import json
import sys


def fail(msg):
    print("check_outputs: FAIL: " + msg)
    sys.exit(1)


def read_jsonl(path):
    out = []
    with open(path, "rb") as f:
        for n, line in enumerate(f, 1):
            try:
                out.append(json.loads(line))
            except ValueError as e:
                fail("%s line %d is not JSON: %s" % (path, n, e))
    return out


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--input", required=True, help="the JSON Lines input")
    ap.add_argument("--truth", help="uri<TAB>story per line")
    ap.add_argument("--reasons", help="lines of '<line number> <reason>' that must be rejected so")
    ap.add_argument("--out", required=True, help="directory of the four outputs")
    ap.add_argument("--min-f1", type=float, default=0.95)
    a = ap.parse_args()

    good, bad_lines, docs, sources = [], [], {}, {}
    with open(a.input, "rb") as f:
        for n, raw in enumerate(f.read().split(b"\n")[:-1], 1):
            try:
                d = json.loads(raw.decode("utf-8"))
                uri = d.get("uri") if isinstance(d, dict) else None
            except (ValueError, UnicodeDecodeError, RecursionError):
                d, uri = None, None
            good.append((n, uri, d))
    mem = read_jsonl(a.out + "/memberships.jsonl")
    can = read_jsonl(a.out + "/canonical.jsonl")
    clu = read_jsonl(a.out + "/clusters.jsonl")
    rej = read_jsonl(a.out + "/rejects.jsonl")

    rejected_lines = {r["offset"] for r in rej}
    if len(rejected_lines) != len(rej):
        fail("a line was rejected twice")
    if a.reasons:
        reason_at = {r["offset"]: r["reason"] for r in rej}
        for line in open(a.reasons):
            if line.strip():
                n, want = line.split()
                if reason_at.get(int(n)) != want:
                    fail("line %s rejected as %s, expected %s" % (n, reason_at.get(int(n)), want))
    for r in rej:
        for k in ("reason", "error", "origin", "offset", "input"):
            if k not in r:
                fail("reject record lacks %r: %s" % (k, r))

    # Good inputs: parsed documents whose line was not rejected.
    uris = []
    for n, uri, d in good:
        if n in rejected_lines:
            continue
        if uri is None:
            fail("line %d was neither rejected nor a document with a uri" % n)
        if uri not in docs:
            uris.append(uri)
            docs[uri] = d
    by_uri = collections.Counter(m["id"] for m in mem)
    dup = [u for u, c in by_uri.items() if c > 1]
    if dup:
        fail("%d uris have more than one membership, e.g. %s" % (len(dup), dup[0]))
    missing = [u for u in uris if u not in by_uri]
    if missing:
        fail("%d good articles have no membership, e.g. %s" % (len(missing), missing[0]))
    extra = [u for u in by_uri if u not in docs]
    if extra:
        fail("membership for an unknown uri %s" % extra[0])
    cluster_of = {m["id"]: m["cluster"] for m in mem}

    # Canonicals: one per cluster, document unchanged, not a duplicate.
    can_by_cluster = collections.Counter(c["cluster"] for c in can)
    clusters = set(cluster_of.values())
    if set(can_by_cluster) != clusters:
        fail("canonical records cover %d clusters, memberships %d"
             % (len(can_by_cluster), len(clusters)))
    for c in can:
        if c["document"] != docs.get(c["uri"]):
            fail("canonical document of %s differs from its input" % c["uri"])
        if cluster_of.get(c["uri"]) != c["cluster"]:
            fail("canonical %s is not a member of its cluster" % c["uri"])
    twice = [k for k, v in can_by_cluster.items() if v > 1]
    firsts = {m["id"]: m for m in mem}
    for c in can:
        if can_by_cluster[c["cluster"]] == 1 and firsts[c["uri"]]["duplicate"]:
            fail("canonical %s is marked duplicate" % c["uri"])

    # Cluster counts: the last record per cluster matches the memberships.
    last = {}
    for r in clu:
        last[r["cluster"]] = r
    members = collections.defaultdict(list)
    for u, c in cluster_of.items():
        members[c].append(u)
    for c, us in members.items():
        if c not in last:
            fail("cluster %s has no count record" % c)
        if last[c]["count"] != len(us):
            fail("cluster %s counts %d, has %d members" % (c, last[c]["count"], len(us)))
        srcs = {m["source"] for m in mem if m["cluster"] == c and m["source"]}
        if last[c]["sources"] != len(srcs):
            fail("cluster %s counts %d sources, members have %d"
                 % (c, last[c]["sources"], len(srcs)))

    summary = "%d memberships, %d clusters, %d canonical, %d rejects" % (
        len(mem), len(clusters), len(can), len(rej))
    if a.truth:
        story = {}
        for line in open(a.truth, encoding="utf-8"):
            if line.strip():
                u, s = line.rstrip("\n").split("\t")[:2]
                story[u] = s
        tp = fp = fn = 0
        by_story = collections.defaultdict(list)
        for u in uris:
            if u in story:
                by_story[story[u]].append(u)
        for x, y in itertools.combinations([u for u in uris if u in story], 2):
            same_t = story[x] == story[y]
            same_c = cluster_of[x] == cluster_of[y]
            tp += same_t and same_c
            fp += same_c and not same_t
            fn += same_t and not same_c
        p = tp / (tp + fp) if tp + fp else 1.0
        r = tp / (tp + fn) if tp + fn else 1.0
        f1 = 2 * p * r / (p + r) if p + r else 0.0
        biggest = max(by_story.values(), key=len)
        if len({cluster_of[u] for u in biggest}) != 1:
            fail("the biggest story's %d copies are in %d clusters"
                 % (len(biggest), len({cluster_of[u] for u in biggest})))
        if f1 < a.min_f1:
            fail("pairwise F1 %.4f (P %.4f R %.4f) below %.2f" % (f1, p, r, a.min_f1))
        summary += "; pairwise P %.4f R %.4f F1 %.4f; biggest story %d copies in one cluster" % (
            p, r, f1, len(biggest))
    print("check_outputs: ok: " + summary)


if __name__ == "__main__":
    main()
