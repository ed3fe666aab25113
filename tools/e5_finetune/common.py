# ruff: noqa: SIM115, UP031  (one-off experiment scripts, kept as they were run)
import json

import numpy as np

CR = ["CR%d" % i for i in range(1, 27)]


def load():
    d = json.load(open("/tmp/ft/data.json"))
    ex = d["examples"]
    texts = [e["text"] for e in ex]
    Y = np.array([[c in e["labels"] for c in CR] for e in ex], dtype=np.int8)
    return d, texts, Y


GRID = np.round(np.arange(0.05, 0.95 + 1e-9, 0.025), 4)


def f1(y, p):
    tp = int((y & p).sum())
    fp = int((~y & p).sum())
    fn = int((y & ~p).sum())
    return 0.0 if tp == 0 else 2 * tp / (2 * tp + fp + fn)


def tune(Yv, Pv):
    th = np.full(Yv.shape[1], 0.5)
    for j in range(Yv.shape[1]):
        y = Yv[:, j].astype(bool)
        if not y.any():
            continue
        best = -1
        for t in GRID:
            s = f1(y, Pv[:, j] >= t)
            if s > best + 1e-12:
                best, th[j] = s, t
    return th


def evaluate(Yt, Pt, th):
    per = {}
    for j, c in enumerate(CR):
        y = Yt[:, j].astype(bool)
        if y.any():
            per[c] = f1(y, Pt[:, j] >= th[j])
    return float(np.mean(list(per.values()))), per


def macro_val(Yv, Pv, th):
    return evaluate(Yv, Pv, th)[0]
