# ruff: noqa: SIM115, E741, E402  (one-off experiment scripts, kept as they were run)
# Tokenize all dataset texts ("query: "+text) with the Python port and compare to the C engine's tok_content (tokdump)
import json
import subprocess
import sys
import time

sys.path.insert(0, "/tmp/ft")
from e5torch import BIN, Tokenizer
from readbin import parse

d = json.load(open("/tmp/ft/data.json"))
texts = [e["text"] for e in d["examples"]]
assert not any("\n" in t for t in texts)
t0 = time.time()
_, hdr, tok, _ = parse(BIN)
tk = Tokenizer(tok)
print("tok load", time.time() - t0)
t0 = time.time()
py = [tk.encode(t) for t in texts]
print("py tokenize secs", time.time() - t0)
c = subprocess.run(
    ["/tmp/ft/tokdump", BIN], input="\n".join(texts) + "\n", capture_output=True, text=True
).stdout.splitlines()
c = [[int(x) for x in l.split()] for l in c]
mism = [i for i in range(len(texts)) if py[i] != c[i]]
print("texts", len(texts), "mismatches", len(mism), mism[:10])
lens = sorted(len(p) for p in py)
import numpy as np

print(
    "token length pct50/90/95/99/max",
    [lens[int(q * (len(lens) - 1))] for q in (0.5, 0.9, 0.95, 0.99, 1.0)],
    "mean",
    np.mean(lens),
)
json.dump(py, open("/tmp/ft/out/token_ids.json", "w"))
