# ruff: noqa: SIM115, UP031  (one-off experiment scripts, kept as they were run)
import struct
import sys
from functools import partial

import numpy as np


def parse(path):
    b = open(path, "rb").read()
    p = 0

    def take(fmt: str):
        nonlocal p
        v = struct.unpack_from(fmt, b, p)[0]
        p += struct.calcsize(fmt)
        return v

    i32, u32, u64, f32 = (partial(take, f) for f in ("<i", "<I", "<Q", "<f"))

    assert b[:4] == b"E5S1"
    p = 4
    ver = u32()
    hdr = dict(
        ver=ver,
        H=i32(),
        NL=i32(),
        NH=i32(),
        FF=i32(),
        VOC=i32(),
        MAXP=i32(),
        TVS=i32(),
        eps=f32(),
        qk=i32(),
    )
    npcs = i32()
    bos, eos, pad, unk = i32(), i32(), i32(), i32()
    bloblen = u64()
    offs = np.frombuffer(b, np.uint32, npcs + 1, p)
    p += (npcs + 1) * 4
    scores = np.frombuffer(b, np.float32, npcs, p)
    p += npcs * 4
    blob = b[p : p + bloblen]
    p += bloblen
    pieces = [blob[offs[i] : offs[i + 1]].decode("utf-8", errors="surrogateescape") for i in range(npcs)]
    nnorm = i32()
    nmb = u32()
    nm = b[p : p + nmb]
    p += nmb
    norm = {}
    q = 0
    for _ in range(nnorm):
        cp = struct.unpack_from("<I", nm, q)[0]
        q += 4
        no = nm[q]
        q += 1
        outs = struct.unpack_from("<%dI" % no, nm, q)
        q += 4 * no
        norm[cp] = outs
    ndir = i32()
    tensors = {}
    for _ in range(ndir):
        nl = struct.unpack_from("<H", b, p)[0]
        p += 2
        name = b[p : p + nl].decode()
        p += nl
        dt = b[p]
        p += 1
        n = u32()
        off = u64()
        nbytes = u64()
        tensors[name] = (dt, n, off, nbytes)
    tok = dict(
        pieces=pieces,
        scores=np.array(scores),
        bos=bos,
        eos=eos,
        pad=pad,
        unk=unk,
        norm=norm,
    )
    return b, hdr, tok, tensors


def fp16(x):
    return x.view(np.float16).astype(np.float32)


def deq(b, off, nout, nin):
    nb = nin // 32
    raw = np.frombuffer(b, np.uint8, nout * nb * 18, off).reshape(nout, nb, 18)
    d = raw[:, :, :2].copy().view(np.float16).astype(np.float32)  # (nout,nb,1)
    qs = raw[:, :, 2:]
    lo = (qs & 0x0F).astype(np.float32) - 8
    hi = (qs >> 4).astype(np.float32) - 8
    w = np.concatenate([lo, hi], axis=2) * d  # (nout, nb, 32)
    return w.reshape(nout, nin)


if __name__ == "__main__":
    b, hdr, tok, tensors = parse(sys.argv[1])
    print(hdr)
    print(len(tok["pieces"]), tok["bos"], tok["eos"], tok["pad"], tok["unk"])
    print(tok["pieces"][:10], tok["scores"][:10])
    print("norm entries", len(tok["norm"]), list(tok["norm"].items())[:10])
    for k, v in list(tensors.items())[:25]:
        print(k, v)
    print(len(tensors))
