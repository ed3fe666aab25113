# ruff: noqa: SIM115, UP031  (one-off experiment scripts, kept as they were run)
# Paired bootstrap (resampling test sentences, 1000x) of macro-F1 differences vs baseline, thresholds fixed.
import json
import sys

import numpy as np

sys.path.insert(0, "/tmp/ft")
from common import load, tune

tag = sys.argv[1] if len(sys.argv) > 1 else "ft"
d, texts, Y = load()
va, te = d["val"], d["test"]
Yt = Y[te].astype(bool)
Yv = Y[va]
bv, bt80, bt100 = (np.load(f"/tmp/ft/out/baseline_{n}.npy") for n in ("val", "test80", "test100"))
fv, ftt = np.load(f"/tmp/ft/out/{tag}/val_best.npy"), np.load(f"/tmp/ft/out/{tag}/test_best.npy")
preds = {}
th = tune(Yv, bv)
preds["baseline_80"] = bt80 >= th
preds["baseline_100"] = bt100 >= th
preds["finetuned"] = ftt >= tune(Yv, fv)
te_ = tune(Yv, (bv + fv) / 2)
preds["ens80"] = (bt80 + ftt) / 2 >= te_
preds["ens100"] = (bt100 + ftt) / 2 >= te_


def macro(P, ix):
    y = Yt[ix]
    p = P[ix]
    present = y.any(0)
    tp = (y & p).sum(0)
    fp = (~y & p).sum(0)
    fn = (y & ~p).sum(0)
    f = np.where(tp > 0, 2 * tp / np.maximum(2 * tp + fp + fn, 1), 0.0)
    return f[present].mean()


rng = np.random.default_rng(0)
n = len(te)
B = 1000
samples = [rng.integers(0, n, n) for _ in range(B)]
res = {}
for ref in ("baseline_80", "baseline_100"):
    for k in preds:
        if k.startswith("baseline"):
            continue
        diffs = np.array([macro(preds[k], s) - macro(preds[ref], s) for s in samples])
        res[f"{k} - {ref}"] = dict(
            point=float(macro(preds[k], np.arange(n)) - macro(preds[ref], np.arange(n))),
            ci95=[float(np.percentile(diffs, 2.5)), float(np.percentile(diffs, 97.5))],
            p_le0=float((diffs <= 0).mean()),
        )
for k, v in res.items():
    print("%-28s %+.4f  95%% CI [%+.4f, %+.4f]  P(diff<=0)=%.3f" % (k, v["point"], *v["ci95"], v["p_le0"]))
json.dump(res, open(f"/tmp/ft/out/bootstrap_{tag}.json", "w"), indent=1)
