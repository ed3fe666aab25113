# ruff: noqa: SIM115, UP031  (one-off experiment scripts, kept as they were run)
# 1:1 average of baseline LR probs and fine-tuned probs; thresholds tuned on validation; test-fold macro-F1. Writes out/summary.json
import json
import sys

import numpy as np

sys.path.insert(0, "/tmp/ft")
from common import CR, evaluate, load, tune

tag = sys.argv[1] if len(sys.argv) > 1 else "ft"
d, texts, Y = load()
va, te = d["val"], d["test"]
b = json.load(open("/tmp/ft/out/baseline.json"))
ft = json.load(open(f"/tmp/ft/out/{tag}/log.json"))
bv, bt80, bt100 = (np.load(f"/tmp/ft/out/baseline_{n}.npy") for n in ("val", "test80", "test100"))
fv, ft_t = (
    np.load(f"/tmp/ft/out/{tag}/val_best.npy"),
    np.load(f"/tmp/ft/out/{tag}/test_best.npy"),
)
ev, et80, et100 = (bv + fv) / 2, (bt80 + ft_t) / 2, (bt100 + ft_t) / 2
th = tune(Y[va], ev)
m80, per80 = evaluate(Y[te], et80, th)
m100, per100 = evaluate(Y[te], et100, th)
S = {
    "baseline_80": (b["macro80"], b["per80"]),
    "baseline_100": (b["macro100"], b["per100"]),
    "finetuned": (ft["best"]["test_macro"], ft["best"]["per"]),
    "ensemble(LR80+FT)": (m80, per80),
    "ensemble(LR100+FT)": (m100, per100),
}
print("labels present in test fold:", len(per80))
print("%-20s %7s " % ("model", "macro") + " ".join("%6s" % c for c in CR[17:]))
for k, (m, per) in S.items():
    print("%-20s %7.4f " % (k, m) + " ".join("{:6.3f}".format(per.get(c, float("nan"))) for c in CR[17:]))
print(
    "FT best epoch",
    ft["best"]["epoch"],
    "epochs:",
    [
        (
            e["epoch"],
            round(e["train_secs"]),
            round(e["val_macro"], 4),
            round(e["test_macro"], 4),
        )
        for e in ft["epochs"]
    ],
)
json.dump(
    {k: dict(macro=m, per=per) for k, (m, per) in S.items()},
    open(f"/tmp/ft/out/summary_{tag}.json", "w"),
    indent=1,
)
