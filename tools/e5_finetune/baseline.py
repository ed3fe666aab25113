# ruff: noqa: SIM115  (one-off experiment scripts, kept as they were run)
# Char n-gram TF-IDF + per-label LR baseline. Writes probabilities to /tmp/ft/out/baseline_*.npy
import json
import os
import time

import numpy as np
from common import CR, evaluate, load, tune
from sklearn.feature_extraction.text import TfidfVectorizer
from sklearn.linear_model import LogisticRegression

os.makedirs("/tmp/ft/out", exist_ok=True)
d, texts, Y = load()
tr, va, te, ta = d["train"], d["val"], d["test"], d["trainall"]


def fitpred(train_idx, pred_sets):
    vec = TfidfVectorizer(analyzer="char", ngram_range=(1, 4), min_df=2, sublinear_tf=True)
    X = vec.fit_transform([texts[i] for i in train_idx])
    Xs = [vec.transform([texts[i] for i in s]) for s in pred_sets]
    P = [np.zeros((len(s), len(CR))) for s in pred_sets]
    for j in range(len(CR)):
        y = Y[train_idx, j]
        if y.min() == y.max():
            for p in P:
                p[:, j] = float(y[0])
            continue
        lr = LogisticRegression(C=30, class_weight="balanced", solver="liblinear", max_iter=3000).fit(X, y)
        for p, x in zip(P, Xs, strict=False):
            p[:, j] = lr.predict_proba(x)[:, 1]
    return P


t0 = time.time()
Pv, Pt = fitpred(tr, [va, te])
th = tune(Y[va], Pv)
m80, per80 = evaluate(Y[te], Pt, th)
(Pt100,) = fitpred(ta, [te])
m100, per100 = evaluate(Y[te], Pt100, th)
np.save("/tmp/ft/out/baseline_val.npy", Pv)
np.save("/tmp/ft/out/baseline_test80.npy", Pt)
np.save("/tmp/ft/out/baseline_test100.npy", Pt100)
np.save("/tmp/ft/out/baseline_th.npy", th)
res = dict(
    macro80=m80,
    macro100=m100,
    per80=per80,
    per100=per100,
    n_labels_test=len(per80),
    val_macro=evaluate(Y[va], Pv, th)[0],
    secs=time.time() - t0,
)
json.dump(res, open("/tmp/ft/out/baseline.json", "w"), indent=1)
print(json.dumps(res, indent=1))
