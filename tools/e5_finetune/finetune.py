# ruff: noqa: SIM115, E402  (one-off experiment scripts, kept as they were run)
# Fine-tune dequantised e5-small (pruned embeddings) + linear head on CR1..CR26 (multi-label, BCE).
import argparse
import json
import math
import os
import random
import sys
import time

import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F

sys.path.insert(0, "/tmp/ft")
from common import CR, evaluate, tune
from common import load as load_data
from e5torch import batchify, load

ap = argparse.ArgumentParser()
ap.add_argument("--epochs", type=int, default=5)
ap.add_argument("--bs", type=int, default=16)
ap.add_argument("--lr", type=float, default=5e-5)
ap.add_argument("--head_lr", type=float, default=1e-3)
ap.add_argument("--max_len", type=int, default=128)
ap.add_argument("--tag", default="ft")
ap.add_argument("--max_steps", type=int, default=0)
ap.add_argument("--seed", type=int, default=13)
args = ap.parse_args()
torch.set_num_threads(2)
torch.manual_seed(args.seed)
random.seed(args.seed)
np.random.seed(args.seed)
OUT = f"/tmp/ft/out/{args.tag}"
os.makedirs(OUT, exist_ok=True)
d, texts, Y = load_data()
ids_all = json.load(open("/tmp/ft/out/token_ids.json"))  # "query: "+text, verified == engine tokenisation
ids_all = [[*s[: args.max_len - 1], s[-1]] if len(s) > args.max_len else s for s in ids_all]  # keep </s>
keep = sorted({t for s in ids_all for t in s} | {0, 1, 2, 3})
enc, tk, remap, hdr = load(keep_ids=keep)
seqs = [[remap[t] for t in s] for s in ids_all]
PAD = remap[1]


class Clf(nn.Module):
    def __init__(s, enc):
        super().__init__()
        s.enc = enc
        s.drop = nn.Dropout(0.1)
        s.head = nn.Linear(384, len(CR))

    def forward(s, ids, mask):
        h = s.enc(ids, mask)
        m = mask.unsqueeze(-1).float()
        return s.head(s.drop((h * m).sum(1) / m.sum(1)))


# dropout inside the encoder (HF e5 config: hidden & attention dropout 0.1)
import e5torch


def layer_fwd(s, x, mask):
    B, L, H = x.shape
    hd = H // s.NH
    q = s.q(x).view(B, L, s.NH, hd).transpose(1, 2)
    k = s.k(x).view(B, L, s.NH, hd).transpose(1, 2)
    v = s.v(x).view(B, L, s.NH, hd).transpose(1, 2)
    ctx = F.scaled_dot_product_attention(
        q, k, v, attn_mask=mask[:, None, None, :], dropout_p=0.1 if s.training else 0.0
    )
    ctx = ctx.transpose(1, 2).reshape(B, L, H)
    x = s.aln(x + F.dropout(s.ao(ctx), 0.1, s.training))
    return s.oln(x + F.dropout(s.fo(F.gelu(s.fi(x))), 0.1, s.training))


e5torch.Layer.forward = layer_fwd
model = Clf(enc)
nparam = sum(p.numel() for p in model.parameters())
nemb = model.enc.word.weight.numel()
print(
    f"params total {nparam:,} (word-emb {nemb:,}, kept vocab {len(keep)}); non-emb {nparam - nemb:,}",
    flush=True,
)

tr, va, te = d["train"], d["val"], d["test"]
Ytr = torch.tensor(Y[tr], dtype=torch.float32)
pos = Ytr.sum(0)
neg = len(tr) - pos
pos_weight = torch.clamp((neg / pos.clamp(min=1)).sqrt(), 1.0, 10.0)


def batches_train():
    # length-bucketed shuffled batches: shuffle, chunk into pools of 50 batches, sort each pool by length
    idx = list(range(len(tr)))
    random.shuffle(idx)
    out = []
    pool = args.bs * 50
    for p in range(0, len(idx), pool):
        chunk = sorted(idx[p : p + pool], key=lambda i: len(seqs[tr[i]]))
        out += [chunk[j : j + args.bs] for j in range(0, len(chunk), args.bs)]
    random.shuffle(out)
    return out


def predict(ix, bs=32):
    model.eval()
    order = sorted(range(len(ix)), key=lambda i: len(seqs[ix[i]]))
    P = np.zeros((len(ix), len(CR)), np.float32)
    with torch.no_grad():
        for j in range(0, len(order), bs):
            b = order[j : j + bs]
            ids, mask = batchify([seqs[ix[i]] for i in b], PAD)
            P[b] = torch.sigmoid(model(ids, mask)).numpy()
    return P


steps_per_epoch = math.ceil(len(tr) / args.bs)
total = steps_per_epoch * args.epochs
warm = int(0.1 * total)
head_params = list(model.head.parameters())
opt = torch.optim.AdamW(
    [
        {
            "params": [p for n, p in model.named_parameters() if not n.startswith("head.")],
            "lr": args.lr,
        },
        {"params": head_params, "lr": args.head_lr},
    ],
    weight_decay=0.01,
)
base = [args.lr, args.head_lr]


def set_lr(step):
    f = step / max(1, warm) if step < warm else max(0.0, (total - step) / max(1, total - warm))
    for g, b in zip(opt.param_groups, base, strict=False):
        g["lr"] = b * f


log = dict(
    args=vars(args),
    params_total=nparam,
    params_word_emb=nemb,
    kept_vocab=len(keep),
    epochs=[],
)
best = -1
step = 0
for ep in range(1, args.epochs + 1):
    model.train()
    t0 = time.time()
    tl = 0
    nb = 0
    for b in batches_train():
        ids, mask = batchify([seqs[tr[i]] for i in b], PAD)
        y = Ytr[b]
        set_lr(step)
        loss = F.binary_cross_entropy_with_logits(model(ids, mask), y, pos_weight=pos_weight)
        opt.zero_grad()
        loss.backward()
        torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
        opt.step()
        step += 1
        nb += 1
        tl += loss.item()
        if nb % 20 == 0:
            print(
                f"ep{ep} step {nb}/{steps_per_epoch} loss {tl / nb:.4f} {time.time() - t0:.0f}s",
                flush=True,
            )
        if args.max_steps and nb >= args.max_steps:
            break
    et = time.time() - t0
    t1 = time.time()
    Pv = predict(va)
    Pt = predict(te)
    pt = time.time() - t1
    th = tune(Y[va], Pv)
    vm = evaluate(Y[va], Pv, th)[0]
    tm, per = evaluate(Y[te], Pt, th)
    rec = dict(
        epoch=ep,
        train_secs=et,
        predict_secs=pt,
        loss=tl / nb,
        val_macro=vm,
        test_macro=tm,
    )
    log["epochs"].append(rec)
    print(json.dumps(rec), flush=True)
    np.save(f"{OUT}/val_ep{ep}.npy", Pv)
    np.save(f"{OUT}/test_ep{ep}.npy", Pt)
    if vm > best:
        best = vm
        log["best"] = dict(epoch=ep, val_macro=vm, test_macro=tm, per=per, th=th.tolist())
        np.save(f"{OUT}/val_best.npy", Pv)
        np.save(f"{OUT}/test_best.npy", Pt)
        torch.save(model.state_dict(), f"{OUT}/best.pt")
    json.dump(log, open(f"{OUT}/log.json", "w"), indent=1)
    if args.max_steps:
        break
# inference speed: test fold, batch 32, 2 threads, data order (unsorted) and length-sorted
model.eval()
sp = {}
for name, order in (
    ("file_order", te),
    ("length_sorted", sorted(te, key=lambda i: len(seqs[i]))),
):
    t0 = time.time()
    with torch.no_grad():
        for j in range(0, len(order), 32):
            ids, mask = batchify([seqs[i] for i in order[j : j + 32]], PAD)
            model(ids, mask)
    sp[name] = len(order) / (time.time() - t0)
log["inference_sent_per_s_bs32_2threads"] = sp
print("inference", sp, flush=True)
json.dump(log, open(f"{OUT}/log.json", "w"), indent=1)
