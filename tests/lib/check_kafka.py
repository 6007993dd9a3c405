#!/usr/bin/env python3
"""Check the output topics of a `newsdedup run`, as dumped by kcat -J.

DIR holds canonical.json, memberships.json, clusters.json, rejects.json: one
kcat -J envelope per line, read with isolation.level=read_committed.
Exits non-zero with a message on the first broken promise:
  - every expected uri has exactly one membership record, and no other uri has;
  - every cluster has exactly one canonical record (keyed by cluster id);
  - the last clusters record of each cluster counts exactly its members;
  - rejects: as many as expected, each with headers reason, error, topic,
    partition and offset, and the input bytes as value;
  - --story: the truth's biggest story (or the one named) is in one cluster;
  - --same-as DIR2: the final cluster records (id -> count) equal DIR2's.
Prints a one-line summary on success.
"""
import argparse
import collections
import json
import sys


def fail(msg):
    print("check_kafka: FAIL: " + msg)
    sys.exit(1)


def read(path):
    out = []
    with open(path, "rb") as f:
        for n, line in enumerate(f, 1):
            line = line.strip()
            if not line:
                continue
            try:
                out.append(json.loads(line))
            except ValueError as e:
                fail("%s line %d: %s" % (path, n, e))
    return out


def final_clusters(d):
    last = {}
    for m in read(d + "/clusters.json"):
        if m["key"] is None or m["payload"] is None:
            continue
        v = json.loads(m["payload"])
        if v["cluster"] != m["key"]:
            fail("clusters record keyed %s is about %s" % (m["key"], v["cluster"]))
        last[m["key"]] = v
    return last


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("dir")
    ap.add_argument("--uris", help="file of expected member uris, one per line (first field)")
    ap.add_argument("--truth", help="uri<TAB>story per line")
    ap.add_argument("--story", help="story name in the truth that must be one cluster")
    ap.add_argument("--rejects", type=int, help="expected number of rejects")
    ap.add_argument("--same-as", help="another dump whose final cluster counts must be equal")
    a = ap.parse_args()

    mem = read(a.dir + "/memberships.json")
    can = read(a.dir + "/canonical.json")
    rej = read(a.dir + "/rejects.json")

    per_uri = collections.Counter(m["key"] for m in mem)
    dups = [u for u, n in per_uri.items() if n != 1]
    if dups:
        fail("%d uris have more than one membership, e.g. %s" % (len(dups), dups[0]))
    cluster_of = {}
    for m in mem:
        v = json.loads(m["payload"])
        if v["id"] != m["key"]:
            fail("membership keyed %s is about %s" % (m["key"], v["id"]))
        cluster_of[v["id"]] = v["cluster"]
    if a.uris:
        want = set()
        with open(a.uris) as f:
            for line in f:
                if line.strip():
                    want.add(line.split("\t")[0].strip())
        got = set(per_uri)
        if want - got:
            fail("%d expected uris have no membership, e.g. %s" % (len(want - got),
                                                                  sorted(want - got)[0]))
        if got - want:
            fail("%d unexpected memberships, e.g. %s" % (len(got - want), sorted(got - want)[0]))

    members = collections.Counter(cluster_of.values())
    per_cluster = collections.Counter(m["key"] for m in can)
    bad = [c for c, n in per_cluster.items() if n != 1]
    if bad:
        fail("cluster %s has %d canonical records" % (bad[0], per_cluster[bad[0]]))
    if set(per_cluster) != set(members):
        fail("canonical clusters %d != membership clusters %d" % (len(per_cluster), len(members)))

    last = final_clusters(a.dir)
    if set(last) != set(members):
        fail("clusters topic has %d clusters, memberships %d" % (len(last), len(members)))
    for c, n in members.items():
        if last[c]["count"] != n:
            fail("cluster %s: last count %d, members %d" % (c, last[c]["count"], n))

    if a.rejects is not None and len(rej) != a.rejects:
        fail("%d rejects, expected %d" % (len(rej), a.rejects))
    for m in rej:
        h = m.get("headers") or []
        hd = dict(zip(h[0::2], h[1::2]))
        for k in ("reason", "error", "topic", "partition", "offset"):
            if k not in hd:
                fail("reject at %s/%s lacks header %s" % (m["partition"], m["offset"], k))
        if not hd["reason"] or not hd["topic"]:
            fail("reject with empty reason or topic: %r" % hd)
        int(hd["partition"]), int(hd["offset"])

    if a.truth:
        story_of = {}
        with open(a.truth) as f:
            for line in f:
                p = line.rstrip("\n").split("\t")
                if len(p) >= 2:
                    story_of[p[0]] = p[1]
        story = a.story or collections.Counter(story_of.values()).most_common(1)[0][0]
        cl = {cluster_of[u] for u, s in story_of.items() if s == story and u in cluster_of}
        n = sum(1 for s in story_of.values() if s == story)
        if len(cl) != 1:
            fail("story %s (%d copies) is split over %d clusters" % (story, n, len(cl)))

    if a.same_as:
        other = final_clusters(a.same_as)
        mine = {c: v["count"] for c, v in last.items()}
        theirs = {c: v["count"] for c, v in other.items()}
        if mine != theirs:
            diff = sorted(set(mine.items()) ^ set(theirs.items()))[:3]
            fail("final cluster counts differ from %s, e.g. %s" % (a.same_as, diff))

    print("check_kafka: ok: %d memberships, %d clusters, %d canonical, %d rejects" %
          (len(mem), len(members), len(can), len(rej)))


if __name__ == "__main__":
    main()
