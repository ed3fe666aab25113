# ruff: noqa: SIM115  (one-off experiment scripts, kept as they were run)
# Dump normalised examples + the project's grouped split (fold 0 = test) to /tmp/ft/data.json
import hashlib
import json
import sys

sys.path.insert(0, "/work/main/src")
from pathlib import Path

from appwarden.evidence.policy.evaluate import grouped_folds, load_examples

ex = load_examples(Path("/work/shared/policy/viodroid_dev.jsonl"))
folds = grouped_folds(ex, k=5, seed=13)
K = int(sys.argv[1]) if len(sys.argv) > 1 else 0
test = sorted(int(i) for i in folds[K])
trainall = sorted(int(i) for k, f in enumerate(folds) if k != K for i in f)
# validation: ~20% of training groups, deterministic via md5 of group name
groups = sorted({ex[i].group for i in trainall})


def h(g):
    return int(hashlib.md5(("val13:" + g).encode()).hexdigest(), 16) % 1000


valg = {g for g in groups if h(g) < 200}
val = [i for i in trainall if ex[i].group in valg]
tr = [i for i in trainall if ex[i].group not in valg]
out = dict(
    examples=[
        dict(
            text=e.text,
            chapter=e.chapter,
            labels=sorted(e.labels),
            group=e.group,
            id=e.id,
        )
        for e in ex
    ],
    test=test,
    train=tr,
    val=val,
    trainall=trainall,
)
json.dump(out, open("/tmp/ft/data.json", "w"), ensure_ascii=False)
print(
    len(ex),
    len(test),
    len(tr),
    len(val),
    len(trainall),
    "groups",
    len(groups),
    len(valg),
)
assert not ({ex[i].group for i in test} & set(groups))
