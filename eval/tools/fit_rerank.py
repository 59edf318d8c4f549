#!/usr/bin/env python3
"""Fits search.rerank by coordinate search for the best hit@1 (ties: MRR) on the tune files.

Input: `dangwutong eval --rank-features F.jsonl SET.jsonl` output (one line per re-scored head
candidate: id, gold, features). Usage: fit_rerank.py TUNE... [--test TEST...]
"""
import json, sys
from collections import defaultdict

KEYS = ["fused", "dense", "bm25", "coverage", "sentence_coverage", "type_match", "priority"]

def load(paths):
    qs = defaultdict(list)
    for p in paths:
        for line in open(p, encoding="utf-8"):
            if line.strip():
                r = json.loads(line)
                qs[(p, str(r["id"]))].append(([r["features"][k] for k in KEYS], r["gold"]))
    return [v for v in qs.values() if any(g for _, g in v)] , len(qs)

def metrics(qs, n_all, w):
    h1 = mrr = 0.0
    for cands in qs:
        ranked = sorted(cands, key=lambda c: -sum(a * b for a, b in zip(w, c[0])))
        for i, (_, g) in enumerate(ranked[:10]):
            if g:
                mrr += 1 / (i + 1)
                h1 += i == 0
                break
    return h1 / n_all, mrr / n_all

def main():
    args = sys.argv[1:]
    test = []
    if "--test" in args:
        i = args.index("--test")
        args, test = args[:i], args[i + 1:]
    tune, n_tune = load(args)
    w = [1.0, 0.0, 0.0, 0.0, 0.0, 0.0, 1.0]
    base = metrics(tune, n_tune, w)
    best = base
    steps = [2.0, 1.0, 0.5, 0.25, 0.1]
    for _ in range(4):
        for i in range(1, len(KEYS)):
            for s in steps:
                for sign in (1, -1):
                    cand = list(w)
                    cand[i] = round(cand[i] + sign * s, 3)
                    m = metrics(tune, n_tune, cand)
                    if m > best:
                        best, w = m, cand
    print(json.dumps(dict(zip(KEYS, w))))
    print("tune hit@1 %.3f mrr %.3f (defaults %.3f %.3f)" % (best[0], best[1], base[0], base[1]))
    if test:
        t, n_t = load(test)
        print("test hit@1 %.3f mrr %.3f (defaults %.3f %.3f)" % (*metrics(t, n_t, w), *metrics(t, n_t, [1.0, 0, 0, 0, 0, 0, 1.0])))

if __name__ == "__main__":
    main()
