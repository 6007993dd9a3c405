#!/usr/bin/env python3
"""datasketch_compare.py - a peer for nd-bench: datasketch's MinHash + MinHashLSH
run over the same ninjs feed and truth, with the same streaming rule (join the
best match above the threshold, else start a cluster) and the same pairwise
metrics. Prints articles/s (one core, line to decision) and P/R/F1/ARI.

    pip install datasketch
    python3 bench/peers/datasketch_compare.py --feed bench/demo/feed.jsonl \
        --truth bench/demo/truth.tsv [--threshold 0.5] [--shingle 3] [--perm 128]

This is a measuring aid, not part of the product.
"""
import argparse
import html
import json
import re
import sys
import time
import unicodedata
from collections import Counter

from datasketch import MinHash, MinHashLSH

TAG = re.compile(r"<[^>]+>")
WORD = re.compile(r"\w+", re.UNICODE)


def body_of(doc):
    """The body as nd_parser picks it: 1.x body_text, else body_html; 2.x/3.x
    the first text/plain body, else text/html, else the first."""
    if "body_text" in doc and isinstance(doc["body_text"], str):
        return doc["body_text"], False
    if "body_html" in doc and isinstance(doc["body_html"], str):
        return doc["body_html"], True
    bodies = doc.get("bodies")
    if isinstance(bodies, list) and bodies:
        def ctype(b):
            return (b.get("contentType") or b.get("contenttype") or "").lower()
        for want, is_html in (("text/plain", False), ("text/html", True)):
            for b in bodies:
                if isinstance(b, dict) and ctype(b) == want and isinstance(b.get("value"), str):
                    return b["value"], is_html
        b = bodies[0]
        if isinstance(b, dict) and isinstance(b.get("value"), str):
            return b["value"], "html" in ctype(b)
    return None, False


def tokens(text, is_html):
    if is_html:
        text = html.unescape(TAG.sub(" ", text))
    text = unicodedata.normalize("NFKC", text).casefold()
    return WORD.findall(text)


def pair_metrics(truth, pred):
    def c2(k):
        return k * (k - 1) // 2
    n = len(truth)
    tp = sum(c2(v) for v in Counter(zip(truth, pred)).values())
    tr = sum(c2(v) for v in Counter(truth).values())
    pr = sum(c2(v) for v in Counter(pred).values())
    p = tp / pr if pr else 1.0
    r = tp / tr if tr else 1.0
    f1 = 2 * p * r / (p + r) if p + r else 0.0
    allp = c2(n)
    exp = tr * pr / allp if allp else 0.0
    den = (tr + pr) / 2 - exp
    ari = (tp - exp) / den if den else 1.0
    return p, r, f1, ari


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--feed", required=True)
    ap.add_argument("--truth", required=True)
    ap.add_argument("--threshold", type=float, default=0.5)
    ap.add_argument("--shingle", type=int, default=3)
    ap.add_argument("--perm", type=int, default=128)
    a = ap.parse_args()

    truth = {}
    with open(a.truth, encoding="utf-8") as f:
        for line in f:
            uri, _, story = line.rstrip("\n").partition("\t")
            truth[uri] = story
    with open(a.feed, "rb") as f:
        lines = f.read().split(b"\n")
    if lines and lines[-1] == b"":
        lines.pop()

    lsh = MinHashLSH(threshold=a.threshold, num_perm=a.perm)
    sigs, cluster_of, seen = {}, {}, set()
    rejected = 0
    t0 = time.perf_counter()
    for i, line in enumerate(lines):
        try:
            doc = json.loads(line)
        except ValueError:
            rejected += 1
            continue
        if not isinstance(doc, dict) or not isinstance(doc.get("uri"), str) or not doc["uri"]:
            rejected += 1
            continue
        uri = doc["uri"]
        if uri in seen:
            continue
        body, is_html = body_of(doc)
        if body is None:
            rejected += 1
            continue
        toks = tokens(body, is_html)
        if not toks:
            rejected += 1
            continue
        k = a.shingle
        sh = {" ".join(toks[j:j + k]).encode() for j in range(max(1, len(toks) - k + 1))}
        m = MinHash(num_perm=a.perm)
        m.update_batch(list(sh))
        best, best_sim = None, a.threshold
        for cand in lsh.query(m):
            s = m.jaccard(sigs[cand])
            if s >= best_sim:
                best, best_sim = cand, s
        cluster_of[uri] = cluster_of[best] if best is not None else uri
        seen.add(uri)
        key = str(i)
        sigs[key] = m
        cluster_of[key] = cluster_of[uri]
        lsh.insert(key, m)
    secs = time.perf_counter() - t0

    scored = [u for u in seen if u in truth]
    p, r, f1, ari = pair_metrics([truth[u] for u in scored], [cluster_of[u] for u in scored])
    n = len(lines)
    mb = sum(len(x) + 1 for x in lines) / 1e6
    print(f"datasketch {sys.modules['datasketch'].__version__} MinHashLSH "
          f"(perm {a.perm}, shingle {a.shingle}, threshold {a.threshold})")
    print(f"{n} lines, {mb:.2f} MB, rejected {rejected}, accepted {len(seen)}, "
          f"clusters {len(set(cluster_of[u] for u in seen))}")
    print(f"articles/s {n / secs:.0f}  MB/s {mb / secs:.2f}  us/article {secs / n * 1e6:.1f}")
    print(f"precision {p:.4f}  recall {r:.4f}  F1 {f1:.4f}  ARI {ari:.4f}")


if __name__ == "__main__":
    main()
