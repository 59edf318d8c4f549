#!/usr/bin/env python3
"""Fits the refusal model (assistant.confidence) by class-balanced logistic regression.

Input: feature files written by `dangwutong eval --answers --features F.jsonl SET.jsonl`
(one JSON line per question: refuse, dense, coverage, agree, known, type_match).
Usage: fit_refusal.py TUNE_FEATURES... [--test TEST_FEATURES...]
Prints the weights (config keys of assistant.confidence) and, for tune and test, the share of
out-of-scope questions refused and in-scope questions answered at confidence 0.5.
"""
import json, math, sys

KEYS = ["dense", "coverage", "agree", "known", "type_match", "sentence_coverage"]

def load(paths):
    rows = []
    for p in paths:
        for line in open(p, encoding="utf-8"):
            if line.strip():
                r = json.loads(line)
                rows.append(([float(r.get(k, 0.0)) for k in KEYS], 1.0 if r["refuse"] else 0.0))
    return rows

def fit(rows, l2=0.01, steps=20000, lr=0.5):
    # Standardise for stable gradient descent, then map back to raw-feature weights.
    n = len(rows)
    mu = [sum(x[i] for x, _ in rows) / n for i in range(len(KEYS))]
    sd = [max(1e-6, math.sqrt(sum((x[i] - mu[i]) ** 2 for x, _ in rows) / n)) for i in range(len(KEYS))]
    pos = sum(1 for _, y in rows if y == 0.0)  # answerable = positive class for confidence
    neg = n - pos
    wpos, wneg = n / (2 * max(pos, 1)), n / (2 * max(neg, 1))
    w = [0.0] * len(KEYS)
    b = 0.0
    for _ in range(steps):
        gw = [0.0] * len(KEYS)
        gb = 0.0
        for x, y in rows:
            t = 1.0 - y  # 1 = should answer
            z = b + sum(wi * (xi - m) / s for wi, xi, m, s in zip(w, x, mu, sd))
            p = 1 / (1 + math.exp(-max(-30, min(30, z))))
            c = (wpos if t == 1.0 else wneg) * (p - t)
            gb += c
            for i in range(len(KEYS)):
                gw[i] += c * (x[i] - mu[i]) / sd[i]
        b -= lr * gb / n
        for i in range(len(KEYS)):
            w[i] -= lr * (gw[i] / n + l2 * w[i])
    raw = [wi / s for wi, s in zip(w, sd)]
    bias = b - sum(wi * m / s for wi, m, s in zip(w, mu, sd))
    return bias, raw

def rates(rows, bias, raw, t=0.5):
    refused_oos, n_oos, answered_in, n_in = 0, 0, 0, 0
    for x, y in rows:
        z = bias + sum(a * b for a, b in zip(raw, x))
        conf = 1 / (1 + math.exp(-max(-30, min(30, z))))
        if y == 1.0:
            n_oos += 1
            refused_oos += conf < t
        else:
            n_in += 1
            answered_in += conf >= t
    return refused_oos / max(n_oos, 1), answered_in / max(n_in, 1), n_oos, n_in

def main():
    args = sys.argv[1:]
    test = []
    if "--test" in args:
        i = args.index("--test")
        args, test = args[:i], args[i + 1:]
    tune = load(args)
    bias, raw = fit(tune)
    print(json.dumps({"bias": round(bias, 3), **{k: round(v, 3) for k, v in zip(KEYS, raw)}}, ensure_ascii=False))
    print("tune: refused %.3f answered %.3f (oos %d, in %d)" % rates(tune, bias, raw))
    if test:
        print("test: refused %.3f answered %.3f (oos %d, in %d)" % rates(load(test), bias, raw))

if __name__ == "__main__":
    main()
