#!/usr/bin/env python3
"""Grid-searches the curated-pair match weights (faq.*) on `qa eval --features` output.

Each feature line is one (question, pair): positive (this pair is the expected one), should (the
question has an expected pair), dense, lexical, answer, cited, type_conflict. The decision is
the top-scoring pair, accepted when its score >= threshold. Picks the weights and threshold with
the best recall among those whose precision (right pairs among accepted) is >= --min-precision
on the tune files; reports the same weights on --test files.
Usage: fit_faq.py TUNE.jsonl... [--test TEST.jsonl...] [--min-precision 0.97]
"""
import itertools, json, sys
from collections import defaultdict

def load(paths):
    qs = defaultdict(list)
    for p in paths:
        for line in open(p, encoding="utf-8"):
            if line.strip():
                r = json.loads(line)
                qs[(p, str(r["id"]))].append(r)
    return list(qs.values())

def evaluate(questions, w, t):
    acc_right = acc = should_n = wrong = 0
    for rows in questions:
        should = rows[0]["should"]
        should_n += should
        best = max(rows, key=lambda r: w[0] * r["dense"] + w[1] * r["lexical"] + w[2] * r["answer"] + w[3] * r.get("cited", 0) - w[4] * r.get("type_conflict", 0))
        s = w[0] * best["dense"] + w[1] * best["lexical"] + w[2] * best["answer"] + w[3] * best.get("cited", 0) - w[4] * best.get("type_conflict", 0)
        if s >= t:
            acc += 1
            if best["positive"]:
                acc_right += 1
            else:
                wrong += 1
    precision = acc_right / acc if acc else 1.0
    recall = acc_right / max(should_n, 1)
    return precision, recall, wrong

def main():
    args = sys.argv[1:]
    minp = 0.97
    if "--min-precision" in args:
        i = args.index("--min-precision")
        minp = float(args[i + 1])
        args = args[:i] + args[i + 2:]
    test = []
    if "--test" in args:
        i = args.index("--test")
        args, test = args[:i], args[i + 1:]
    tune = load(args)
    best = None
    grid = itertools.product([0.6, 0.7, 0.8], [0.0, 0.05, 0.1], [0.0, 0.1, 0.15, 0.2], [0.0, 0.05, 0.1, 0.15, 0.2], [0.0, 0.1, 0.2, 0.3])
    for w in grid:
        for t in [x / 100 for x in range(55, 96)]:
            p, r, wrong = evaluate(tune, w, t)
            if p >= minp and (best is None or (r, p, -t) > (best[0], best[1], -best[3])):
                best = (r, p, w, t)
    if best is None:
        print("no setting reaches the precision floor")
        return
    r, p, w, t = best
    print(json.dumps({"dense_weight": w[0], "lexical_weight": w[1], "answer_weight": w[2], "cited_weight": w[3], "type_conflict_penalty": w[4], "threshold": t}))
    print("tune: precision %.3f recall %.3f" % (p, r))
    if test:
        p, r, wrong = evaluate(load(test), w, t)
        print("test: precision %.3f recall %.3f wrong %d" % (p, r, wrong))
    cur = (0.8, 0.05, 0.15, 0.0, 0.1)
    print("current defaults (0.78) tune: precision %.3f recall %.3f wrong %d" % evaluate(tune, cur, 0.78))
    if test:
        print("current defaults (0.78) test: precision %.3f recall %.3f wrong %d" % evaluate(load(test), cur, 0.78))

if __name__ == "__main__":
    main()
