"""Training and honest measurement of the CR1–CR26 sentence classifier.

``python -m appwarden.evidence.policy.evaluate`` runs grouped 5-fold
cross-validation on the development data (near-duplicate groups never straddle
a split), retraining inside every fold, and prints per-CR precision, recall and
F1 and the macro-F1, twice: with the chapter context the sentence sits in, and
from the sentence text alone. Thresholds for fold k are tuned on predictions for
the other folds made by models that never saw fold k (nested).

With ``--sequence`` it also measures the chapter read from the order of the rows
(``classify.infer_sequence_chapters``): each fold's rows, in file order, are a
held-out file with gaps; their chapters are inferred from that sequence alone
(never from the gold ``pc``), then classified by the fold's model. The same rows
shuffled show what happens when the order says nothing.

The fine-tuned encoder (encoder.py) is measured from its out-of-fold probabilities on the same folds,
stored by tools/train_policy_encoder.py in model_data/policy_cr_encoder_oof.npz (fine-tuning it five
times takes over an hour and needs torch): averaged with the n-gram model's out-of-fold probabilities,
thresholds for fold k tuned on the other folds' averages. Those came from models that saw fold k, so the
n-gram model is scored the same way beside it, and the gain is read between those two rows.

Training needs scikit-learn (a test/dev dependency); run-time inference does not.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import math
import sys
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from importlib import resources
from pathlib import Path
from typing import Any

import numpy as np

from appwarden.evidence.policy.classify import (
    CUE_NAMES,
    PC_IDS,
    CrModel,
    char_ngrams,
    encoder_chapters,
    ensemble_average,
    infer_sequence_chapters,
    negates_sensitive_collection,
    rule_labels,
    stack_features,
    thresholds_per_row,
)
from appwarden.evidence.policy.encoder import shipped_adapter_meta
from appwarden.evidence.policy.model import CR_IDS
from appwarden.evidence.policy.normalize import normalize_sentence

DEFAULT_DATA = Path("/work/shared/policy/viodroid_dev.jsonl")
MODEL_VERSION = "cr-charlr-1"
ENCODER_OOF_FILE = "policy_cr_encoder_oof.npz"
#: The encoder's share of the average when no shipped adapters say otherwise.
DEFAULT_ENSEMBLE_WEIGHT = 0.4


@dataclass(frozen=True)
class Example:
    text: str  # normalised
    chapter: str | None
    labels: frozenset[str]
    group: str
    id: str = ""


@dataclass(frozen=True)
class TrainConfig:
    c: float = 30.0
    chapter_weight: float = 1.0
    min_df: int = 2
    class_weight: str | None = "balanced"
    #: Second stage over first-stage logits x chapter (see classify.stack_features); 0 disables it.
    #: Off by default: in grouped CV it gave +0.005 macro-F1 with the chapter and -0.011 without.
    stack_c: float = 0.0


def load_examples(path: Path) -> list[Example]:
    """Development sentences, normalised as the classifier sees them."""
    out: list[Example] = []
    with path.open(encoding="utf-8") as fh:
        for line in fh:
            if not line.strip():
                continue
            row = json.loads(line)
            out.append(
                Example(
                    text=normalize_sentence(row["text"]),
                    chapter=row.get("pc") if row.get("pc") in PC_IDS else None,
                    labels=frozenset(row.get("cr") or []),
                    group=str(row.get("group") or row["id"]),
                    id=str(row.get("id") or ""),
                )
            )
    return out


def _vocabulary(texts: Sequence[str], min_df: int) -> tuple[dict[str, int], np.ndarray]:
    df: dict[str, int] = {}
    for t in texts:
        for g in char_ngrams(t):
            df[g] = df.get(g, 0) + 1
    terms = sorted(g for g, n in df.items() if n >= min_df and "\n" not in g)
    n_docs = len(texts)
    idf = np.array([math.log((1 + n_docs) / (1 + df[g])) + 1.0 for g in terms], dtype=np.float32)
    return {g: i for i, g in enumerate(terms)}, idf


def _matrix(model: CrModel, texts: Sequence[str], chapters: Sequence[str | None]) -> Any:
    from scipy.sparse import csr_matrix

    indptr = [0]
    indices: list[int] = []
    data: list[float] = []
    for t, c in zip(texts, chapters, strict=True):
        idx, val = model.sparse_row(t, c)
        indices.extend(idx)
        data.extend(val)
        indptr.append(len(indices))
    return csr_matrix((data, indices, indptr), shape=(len(texts), model.n_features), dtype=np.float64)


def fit(examples: Sequence[Example], config: TrainConfig) -> CrModel:
    """Train one logistic regression per label on ``examples``, each seen with and without its chapter.

    Thresholds are left at 0.5; ``tune_thresholds`` sets them.
    """
    from sklearn.linear_model import LogisticRegression

    vocab, idf = _vocabulary([e.text for e in examples], config.min_df)
    n_labels = len(CR_IDS)
    shell = CrModel(
        version=MODEL_VERSION,
        vocabulary=vocab,
        idf=idf,
        coef=np.zeros((len(vocab) + len(PC_IDS) + len(CUE_NAMES), n_labels), dtype=np.float32),
        intercept=np.zeros(n_labels, dtype=np.float32),
        thresholds_context=np.full(n_labels, 0.5, dtype=np.float32),
        thresholds_plain=np.full(n_labels, 0.5, dtype=np.float32),
        chapter_weight=config.chapter_weight,
        labels=CR_IDS,
    )
    # Each sentence twice: with its chapter (analysis of a full policy knows the heading) and without
    # (a lone sentence), so one model serves both and learns what the text alone says.
    texts = [e.text for e in examples] * 2
    chapters = [e.chapter for e in examples] + [None] * len(examples)
    x = _matrix(shell, texts, chapters)
    y = np.array([[cr in e.labels for cr in CR_IDS] for e in examples] * 2, dtype=np.int8)
    coef = np.zeros_like(shell.coef)
    intercept = np.zeros(n_labels, dtype=np.float32)
    for j in range(n_labels):
        if y[:, j].min() == y[:, j].max():
            intercept[j] = 10.0 if y[0, j] else -10.0
            continue
        # Dual liblinear: many more features than sentences, where the dual problem converges fastest.
        lr = LogisticRegression(
            C=config.c, max_iter=3000, class_weight=config.class_weight, solver="liblinear", dual=True
        )
        lr.fit(x, y[:, j])
        coef[:, j] = lr.coef_[0]
        intercept[j] = lr.intercept_[0]
    return CrModel(
        version=MODEL_VERSION,
        vocabulary=vocab,
        idf=idf,
        coef=coef,
        intercept=intercept,
        thresholds_context=shell.thresholds_context,
        thresholds_plain=shell.thresholds_plain,
        chapter_weight=config.chapter_weight,
        labels=CR_IDS,
    )


def fit_stack(
    proba_context: np.ndarray, proba_plain: np.ndarray, chapters: Sequence[str | None], y: np.ndarray, c: float
) -> tuple[np.ndarray, np.ndarray]:
    """Second-stage weights from first-stage out-of-fold probabilities (rows with and without chapter)."""
    from sklearn.linear_model import LogisticRegression

    x = np.vstack([stack_features(proba_context, chapters), stack_features(proba_plain, [None] * len(chapters))])
    yy = np.vstack([y, y])
    coef = np.zeros((x.shape[1], y.shape[1]))
    intercept = np.zeros(y.shape[1])
    for j in range(y.shape[1]):
        if yy[:, j].min() == yy[:, j].max():
            intercept[j] = 10.0 if yy[0, j] else -10.0
            continue
        lr = LogisticRegression(C=c, max_iter=2000, solver="liblinear")
        lr.fit(x, yy[:, j])
        coef[:, j] = lr.coef_[0]
        intercept[j] = lr.intercept_[0]
    return coef, intercept


def apply_stack(
    proba: np.ndarray, chapters: Sequence[str | None], coef: np.ndarray, intercept: np.ndarray
) -> np.ndarray:
    z = stack_features(proba, chapters) @ coef + intercept
    return (1.0 / (1.0 + np.exp(-np.clip(z, -30, 30)))).astype(np.float32)


def predict(model: CrModel, examples: Sequence[Example], *, with_chapter: bool) -> np.ndarray:
    chapters = [e.chapter if with_chapter else None for e in examples]
    return model.predict_proba([e.text for e in examples], chapters)


def apply_rules(examples: Sequence[Example], decided: np.ndarray) -> np.ndarray:
    """Add the labels the pattern rules decide, and drop CR16 from negations (as the run-time classifier does)."""
    out = decided.copy()
    cr16 = CR_IDS.index("CR16")
    for i, e in enumerate(examples):
        for label in rule_labels(e.text):
            out[i, CR_IDS.index(label)] = True
        if negates_sensitive_collection(e.text):
            out[i, cr16] = False
    return out


_GRID = np.round(np.arange(0.05, 0.96, 0.025), 3)


def tune_thresholds(y: np.ndarray, proba: np.ndarray) -> np.ndarray:
    """Per-label threshold maximising F1 on (y, proba); 0.5 where a label never occurs."""
    out = np.full(y.shape[1], 0.5, dtype=np.float32)
    for j in range(y.shape[1]):
        if not y[:, j].any():
            continue
        best = (-1.0, 0.5)
        for th in _GRID:
            f = _f1(y[:, j], proba[:, j] >= th)
            # Ties go to the threshold closest to 0.5: less tuned to this sample.
            if f > best[0] + 1e-9 or (abs(f - best[0]) <= 1e-9 and abs(th - 0.5) < abs(best[1] - 0.5)):
                best = (f, float(th))
        out[j] = best[1]
    return out


def _f1(y: np.ndarray, p: np.ndarray) -> float:
    tp = float(np.sum(y & p))
    fp = float(np.sum(~y & p))
    fn = float(np.sum(y & ~p))
    return 0.0 if tp == 0 else 2 * tp / (2 * tp + fp + fn)


def grouped_folds(examples: Sequence[Example], k: int = 5, seed: int = 13) -> list[np.ndarray]:
    """Fold index arrays; a group is always wholly in one fold. Groups are shuffled, then balanced by size."""
    groups: dict[str, list[int]] = {}
    for i, e in enumerate(examples):
        groups.setdefault(e.group, []).append(i)
    rng = np.random.default_rng(seed)
    keys = list(groups)
    rng.shuffle(keys)
    keys.sort(key=lambda g: -len(groups[g]))  # stable: large groups spread first, ties stay shuffled
    folds: list[list[int]] = [[] for _ in range(k)]
    for g in keys:
        smallest = min(range(k), key=lambda f: len(folds[f]))
        folds[smallest].extend(groups[g])
    return [np.array(sorted(f)) for f in folds]


@dataclass(frozen=True)
class Scores:
    per_label: dict[str, tuple[float, float, float, int]]  # precision, recall, f1, support

    @property
    def macro_f1(self) -> float:
        return float(np.mean([v[2] for v in self.per_label.values()]))


def score(y: np.ndarray, decided: np.ndarray) -> Scores:
    per: dict[str, tuple[float, float, float, int]] = {}
    for j, cr in enumerate(CR_IDS):
        tp = float(np.sum(y[:, j] & decided[:, j]))
        fp = float(np.sum(~y[:, j] & decided[:, j]))
        fn = float(np.sum(y[:, j] & ~decided[:, j]))
        p = tp / (tp + fp) if tp + fp else 0.0
        r = tp / (tp + fn) if tp + fn else 0.0
        f = 2 * p * r / (p + r) if p + r else 0.0
        per[cr] = (p, r, f, int(tp + fn))
    return Scores(per)


@dataclass(frozen=True)
class LabelAgreement:
    """How far the gold labels of near-duplicate sentences agree: a ceiling for any text classifier."""

    sentences: int
    exact: float  # share of (sentence, other member) pairs with the same label set
    per_label: dict[str, float]  # F1 of "a group member's labels" as a prediction of each sentence's

    @property
    def macro_f1(self) -> float:
        return float(np.mean(list(self.per_label.values()))) if self.per_label else 0.0


def group_label_agreement(examples: Sequence[Example], max_group: int = 50) -> LabelAgreement:
    """Each sentence's labels predicted by every other member of its near-duplicate group.

    Pairs are weighted so that each sentence counts once. Groups larger than ``max_group`` are left
    out: the grouping chains by similarity, and one very large group joins unrelated sentences.
    Labels no grouped sentence has are left out of the macro average.
    """
    groups: dict[str, list[Example]] = {}
    for e in examples:
        groups.setdefault(e.group, []).append(e)
    tp = dict.fromkeys(CR_IDS, 0.0)
    fp = dict.fromkeys(CR_IDS, 0.0)
    fn = dict.fromkeys(CR_IDS, 0.0)
    pairs = same = 0.0
    counted = 0
    for members in groups.values():
        if not 2 <= len(members) <= max_group:
            continue
        counted += len(members)
        weight = 1.0 / (len(members) - 1)
        for a in members:
            for b in members:
                if a is b:
                    continue
                pairs += weight
                same += weight * (a.labels == b.labels)
                for cr in a.labels | b.labels:
                    if cr not in tp:
                        continue
                    if cr in a.labels and cr in b.labels:
                        tp[cr] += weight
                    elif cr in b.labels:
                        fp[cr] += weight
                    else:
                        fn[cr] += weight
    per_label = {cr: 2 * tp[cr] / (2 * tp[cr] + fp[cr] + fn[cr]) for cr in CR_IDS if tp[cr] + fp[cr] + fn[cr] > 0}
    return LabelAgreement(sentences=counted, exact=same / pairs if pairs else 0.0, per_label=per_label)


@dataclass(frozen=True)
class CvResult:
    context: Scores
    plain: Scores
    oof_context: np.ndarray  # final out-of-fold probabilities (after the second stage when enabled)
    oof_plain: np.ndarray
    stage1_context: np.ndarray  # first-stage out-of-fold probabilities
    stage1_plain: np.ndarray
    #: Per fold: test indexes, the model that never saw them, and the thresholds applied to them.
    folds: list[np.ndarray] = field(default_factory=list)
    models: list[CrModel] = field(default_factory=list)
    thresholds_context: list[np.ndarray] = field(default_factory=list)
    thresholds_plain: list[np.ndarray] = field(default_factory=list)
    #: Per fold k (second stage off): predictions for the other folds by models that never saw fold k,
    #: on which fold k's thresholds were tuned.
    inner_context: list[np.ndarray] = field(default_factory=list)
    inner_plain: list[np.ndarray] = field(default_factory=list)


def cross_validate(examples: Sequence[Example], config: TrainConfig, k: int = 5) -> CvResult:
    """Grouped k-fold CV: out-of-fold probabilities, per-fold thresholds, scores.

    Without the second stage the thresholds are nested: those applied to fold k are tuned on
    predictions for the other folds made by models that never saw fold k (for each pair of folds a
    model trained on the remaining k-2 folds predicts both). With the second stage on, they are tuned on
    the other folds' out-of-fold predictions (slightly optimistic: those models saw fold k).
    """
    y = np.array([[cr in e.labels for cr in CR_IDS] for e in examples], dtype=bool)
    folds = grouped_folds(examples, k)
    oof_ctx = np.zeros(y.shape, dtype=np.float32)
    oof_pln = np.zeros(y.shape, dtype=np.float32)
    models: list[CrModel] = []
    th_ctx: list[np.ndarray] = []
    th_pln: list[np.ndarray] = []

    def fit_without(excluded: Sequence[int]) -> CrModel:
        mask = np.ones(len(examples), dtype=bool)
        for f in excluded:
            mask[folds[f]] = False
        return fit([examples[int(i)] for i in np.flatnonzero(mask)], config)

    for f, test_idx in enumerate(folds):
        model = fit_without([f])
        models.append(model)
        test = [examples[int(i)] for i in test_idx]
        oof_ctx[test_idx] = predict(model, test, with_chapter=True)
        oof_pln[test_idx] = predict(model, test, with_chapter=False)
    stage1_ctx, stage1_pln = oof_ctx, oof_pln
    dec_ctx = np.zeros(y.shape, dtype=bool)
    dec_pln = np.zeros(y.shape, dtype=bool)
    if config.stack_c > 0:
        # Second stage, itself cross-validated over the same folds on the first stage's out-of-fold output.
        chapters = [e.chapter for e in examples]
        oof_ctx = np.zeros_like(stage1_ctx)
        oof_pln = np.zeros_like(stage1_pln)
        for test_idx in folds:
            train = np.ones(len(examples), dtype=bool)
            train[test_idx] = False
            tr = np.flatnonzero(train)
            coef, intercept = fit_stack(
                stage1_ctx[tr], stage1_pln[tr], [chapters[int(i)] for i in tr], y[tr], config.stack_c
            )
            test_chapters = [chapters[int(i)] for i in test_idx]
            oof_ctx[test_idx] = apply_stack(stage1_ctx[test_idx], test_chapters, coef, intercept)
            oof_pln[test_idx] = apply_stack(stage1_pln[test_idx], [None] * len(test_idx), coef, intercept)
        for test_idx in folds:
            other = np.ones(len(examples), dtype=bool)
            other[test_idx] = False
            th_ctx.append(tune_thresholds(y[other], oof_ctx[other]))
            th_pln.append(tune_thresholds(y[other], oof_pln[other]))
            dec_ctx[test_idx] = oof_ctx[test_idx] >= th_ctx[-1]
            dec_pln[test_idx] = oof_pln[test_idx] >= th_pln[-1]
    else:
        inner_ctx = {f: np.zeros(y.shape, dtype=np.float32) for f in range(k)}
        inner_pln = {f: np.zeros(y.shape, dtype=np.float32) for f in range(k)}
        for a in range(k):
            for b in range(a + 1, k):
                model = fit_without([a, b])
                # The model saw neither a nor b: its predictions for b serve fold a's thresholds, and back.
                for tuned, held in ((a, b), (b, a)):
                    held_out = [examples[int(i)] for i in folds[held]]
                    inner_ctx[tuned][folds[held]] = predict(model, held_out, with_chapter=True)
                    inner_pln[tuned][folds[held]] = predict(model, held_out, with_chapter=False)
        for f, test_idx in enumerate(folds):
            other = np.ones(len(examples), dtype=bool)
            other[test_idx] = False
            th_ctx.append(tune_thresholds(y[other], inner_ctx[f][other]))
            th_pln.append(tune_thresholds(y[other], inner_pln[f][other]))
            dec_ctx[test_idx] = oof_ctx[test_idx] >= th_ctx[-1]
            dec_pln[test_idx] = oof_pln[test_idx] >= th_pln[-1]
    dec_ctx = apply_rules(examples, dec_ctx)
    dec_pln = apply_rules(examples, dec_pln)
    inner: tuple[list[np.ndarray], list[np.ndarray]] = ([], [])
    if config.stack_c <= 0:
        inner = ([inner_ctx[f] for f in range(k)], [inner_pln[f] for f in range(k)])
    return CvResult(
        score(y, dec_ctx),
        score(y, dec_pln),
        oof_ctx,
        oof_pln,
        stage1_ctx,
        stage1_pln,
        folds=list(folds),
        models=models,
        thresholds_context=th_ctx,
        thresholds_plain=th_pln,
        inner_context=inner[0],
        inner_plain=inner[1],
    )


# --------------------------------------------------------------------------- the encoder ensemble


@dataclass(frozen=True)
class EncoderOof:
    #: Out-of-fold probabilities of the fine-tuned encoder: (n, labels) for one that reads the text alone,
    #: (n, variants, labels) for a chapter-aware one, each row read without chapter and in each chapter
    #: (``meta["variants"]``: null, "PC1", ...).
    proba: np.ndarray
    fold: np.ndarray  # (n,) the fold each row was predicted in
    meta: dict[str, Any]

    @property
    def chapter_aware(self) -> bool:
        return self.proba.ndim == 3

    def for_chapters(self, chapters: Sequence[str | None], rows: Sequence[int] | None = None) -> np.ndarray:
        """Probabilities of ``rows`` (all by default), each read in its chapter (None: without one)."""
        index = np.arange(len(self.fold)) if rows is None else np.asarray(rows, dtype=np.int64)
        if len(chapters) != len(index):
            raise ValueError(f"{len(chapters)} chapters for {len(index)} rows")
        if not self.chapter_aware:
            return self.proba[index]
        variants: list[str | None] = list(self.meta["variants"])
        picked = [variants.index(c if c in variants else None) for c in chapters]
        return self.proba[index, picked]

    def plain(self) -> np.ndarray:
        return self.for_chapters([None] * len(self.fold))


def data_sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def load_encoder_oof(data: Path, folds: Sequence[np.ndarray], path: Path | None = None) -> EncoderOof | str:
    """The stored encoder out-of-fold probabilities, or why they cannot be used for ``data`` and ``folds``."""
    if path is None:
        ref = resources.files("appwarden.evidence.policy").joinpath("model_data").joinpath(ENCODER_OOF_FILE)
        path = Path(str(ref))
    if not path.is_file():
        return f"{path.name} not found (tools/train_policy_encoder.py folds writes it)"
    with np.load(path, allow_pickle=False) as z:
        meta = json.loads(str(z["meta"]))
        oof = EncoderOof(z["proba"].astype(np.float32), z["fold"].astype(np.int64), meta)
    if meta.get("data_sha256") != data_sha256(data):
        return f"{path.name} was computed on other data than {data.name}"
    expected = np.zeros(len(oof.fold), dtype=np.int64)
    for k, f in enumerate(folds):
        expected[f] = k
    if len(oof.fold) != sum(len(f) for f in folds) or not np.array_equal(expected, oof.fold):
        return f"{path.name} was computed on other folds"
    if oof.chapter_aware and len(meta.get("variants", ())) != oof.proba.shape[1]:
        return f"{path.name} does not say which chapter each of its variants is"
    return oof


def encoder_reading(
    encoder: EncoderOof,
    ngram: np.ndarray,
    chapters: Sequence[str | None],
    weight: float,
    own_chapter_min: float | None = None,
) -> np.ndarray:
    """The encoder's probabilities as run time reads them (``PolicyClassifier.predict_proba``).

    A row is read in its chapter; a row without one, in the chapter its own text points to when
    ``own_chapter_min`` is set (guessed from ``ngram``, the n-gram model's text-only probabilities,
    averaged with the encoder's chapterless reading), else without chapter.
    """
    if not encoder.chapter_aware:
        return encoder.plain()
    return encoder.for_chapters(encoder_chapters(chapters, ngram, encoder.plain(), weight, own_chapter_min))


def oof_tuned_scores(
    examples: Sequence[Example],
    folds: Sequence[np.ndarray],
    proba: np.ndarray,
    tuning: Sequence[np.ndarray] | None = None,
) -> Scores:
    """Decide fold k with thresholds tuned on the other folds; add the rules.

    The thresholds come from ``tuning[k]`` (predictions for the other folds) when given, else from the
    other folds' rows of ``proba`` (out-of-fold predictions by models that saw fold k).
    """
    y = np.array([[cr in e.labels for cr in CR_IDS] for e in examples], dtype=bool)
    decided = np.zeros(y.shape, dtype=bool)
    for k, test_idx in enumerate(folds):
        other = np.ones(len(examples), dtype=bool)
        other[test_idx] = False
        source = proba if tuning is None else tuning[k]
        decided[test_idx] = proba[test_idx] >= tune_thresholds(y[other], source[other])
    return score(y, apply_rules(examples, decided))


@dataclass(frozen=True)
class EnsembleScores:
    weight: float
    ngram_context: Scores
    ngram_plain: Scores
    context: Scores
    plain: Scores


def ensemble_evaluation(
    examples: Sequence[Example],
    cv: CvResult,
    encoder: EncoderOof,
    weight: float = DEFAULT_ENSEMBLE_WEIGHT,
    own_chapter_min: float | None = None,
) -> EnsembleScores:
    """The n-gram model alone and averaged with the encoder, thresholds tuned as the n-gram CV tunes them.

    Fold k's thresholds are tuned on the other folds' predictions: the n-gram part from models that never
    saw fold k (as in ``cross_validate``) when those were kept, the encoder part from its out-of-fold
    probabilities (its models saw fold k: five fine-tunings are all there is). The n-gram model alone is
    scored the same way, so the two columns differ only by the encoder.
    """
    w = weight
    encoded_ctx = encoder.for_chapters([e.chapter for e in examples])
    none: list[str | None] = [None] * len(examples)

    def mixed_ctx(ngram: np.ndarray) -> np.ndarray:
        return ensemble_average(ngram, encoded_ctx, w)

    def mixed_pln(ngram: np.ndarray) -> np.ndarray:
        # The chapter a row's own text points to is guessed from the n-gram probabilities at hand.
        return ensemble_average(ngram, encoder_reading(encoder, ngram, none, w, own_chapter_min), w)

    inner_ctx = cv.inner_context or None
    inner_pln = cv.inner_plain or None
    return EnsembleScores(
        weight,
        oof_tuned_scores(examples, cv.folds, cv.oof_context, inner_ctx),
        oof_tuned_scores(examples, cv.folds, cv.oof_plain, inner_pln),
        oof_tuned_scores(
            examples, cv.folds, mixed_ctx(cv.oof_context), [mixed_ctx(p) for p in inner_ctx] if inner_ctx else None
        ),
        oof_tuned_scores(
            examples, cv.folds, mixed_pln(cv.oof_plain), [mixed_pln(p) for p in inner_pln] if inner_pln else None
        ),
    )


def format_ensemble(result: EnsembleScores) -> str:
    lines = [
        f"n-gram model + fine-tuned encoder (weight {result.weight}); fold k's thresholds tuned on the other "
        "folds (n-gram part nested, encoder part out-of-fold):",
        f"{'label':<6} {'n-gram ch.':>10} {'ens. ch.':>9} {'n-gram text':>11} {'ens. text':>9} {'n':>5}",
    ]
    for cr in result.context.per_label:
        lines.append(
            f"{cr:<6} {result.ngram_context.per_label[cr][2]:10.3f} {result.context.per_label[cr][2]:9.3f} "
            f"{result.ngram_plain.per_label[cr][2]:11.3f} {result.plain.per_label[cr][2]:9.3f} "
            f"{result.context.per_label[cr][3]:5d}"
        )
    lines.append(
        f"macro-F1 with chapter {result.ngram_context.macro_f1:.4f} -> {result.context.macro_f1:.4f}, "
        f"text only {result.ngram_plain.macro_f1:.4f} -> {result.plain.macro_f1:.4f}"
    )
    return "\n".join(lines)


# --------------------------------------------------------------------------- chapter from the row sequence


@dataclass(frozen=True)
class SequenceScores:
    """Macro-F1 with chapters inferred from a row order, and how good those chapters were."""

    name: str
    scores: Scores
    coverage: float  # share of rows given an inferred chapter
    chapter_accuracy: float  # among them, share equal to the gold ``pc``
    coherent_folds: int  # sequences judged coherent (out of ``sequences``)
    sequences: int
    z: list[float]  # order-coherence statistic of each sequence


def _sequence_scores(
    name: str,
    examples: Sequence[Example],
    cv: CvResult,
    orders: Sequence[np.ndarray],
    encoder: EncoderOof | None = None,
    weight: float = DEFAULT_ENSEMBLE_WEIGHT,
    own_chapter_min: float | None = None,
) -> SequenceScores:
    """Infer chapters along each order (indexes into ``examples``), classify every row with its fold's model.

    Rows with an inferred chapter are decided with their fold's chapter thresholds, the others with its
    text-only thresholds; the pattern rules are added as at run time. With ``encoder`` its out-of-fold
    probabilities are averaged in everywhere (chapter inference included), with the ensemble's
    thresholds tuned on the other folds' out-of-fold averages.
    """
    y = np.array([[cr in e.labels for cr in CR_IDS] for e in examples], dtype=bool)
    encoded_pln = encoder.plain() if encoder is not None else None
    encoded_gold = encoder.for_chapters([e.chapter for e in examples]) if encoder is not None else None
    # Chapters are inferred from both models' text-only reading.
    plain = cv.stage1_plain if encoded_pln is None else ensemble_average(cv.stage1_plain, encoded_pln, weight)
    none: list[str | None] = [None] * len(examples)
    # Rows left without chapter are read as run time reads them (in their own text's chapter, when set).
    unplaced = (
        plain
        if encoder is None
        else ensemble_average(
            cv.stage1_plain, encoder_reading(encoder, cv.stage1_plain, none, weight, own_chapter_min), weight
        )
    )
    chapters: list[str | None] = [None] * len(examples)
    z: list[float] = []
    coherent = 0
    for order in orders:
        idx = [int(i) for i in order]
        seq = infer_sequence_chapters(
            [examples[i].text for i in idx], plain[idx], ids=[examples[i].id or None for i in idx]
        )
        z.append(round(seq.z, 1))
        coherent += seq.coherent
        for i, c in zip(idx, seq.chapters, strict=True):
            chapters[i] = c
    decided = np.zeros(y.shape, dtype=bool)
    for f, test_idx in enumerate(cv.folds):
        rows = [int(i) for i in test_idx]
        proba = unplaced[rows].copy()
        with_ch = [r for r, i in enumerate(rows) if chapters[i] is not None]
        if with_ch:
            context = cv.models[f].predict_proba(
                [examples[rows[r]].text for r in with_ch], [chapters[rows[r]] for r in with_ch]
            )
            if encoder is not None:
                # A chapter-aware encoder reads the row in the inferred chapter, as at run time.
                read_in = [chapters[rows[r]] for r in with_ch]
                context = ensemble_average(context, encoder.for_chapters(read_in, [rows[r] for r in with_ch]), weight)
            proba[with_ch] = context
        if encoded_pln is None or encoded_gold is None:
            th_ctx, th_pln = cv.thresholds_context[f], cv.thresholds_plain[f]
        else:
            other = np.ones(len(examples), dtype=bool)
            other[test_idx] = False
            ctx_source = cv.inner_context[f] if cv.inner_context else cv.oof_context
            pln_source = cv.inner_plain[f] if cv.inner_plain else cv.stage1_plain
            th_ctx = tune_thresholds(y[other], ensemble_average(ctx_source[other], encoded_gold[other], weight))
            pln_encoded = encoder_reading(encoder, pln_source, none, weight, own_chapter_min)  # type: ignore[arg-type]
            th_pln = tune_thresholds(y[other], ensemble_average(pln_source[other], pln_encoded[other], weight))
        th = thresholds_per_row(th_ctx, th_pln, [chapters[i] for i in rows])
        decided[rows] = proba >= th
    decided = apply_rules(examples, decided)
    given = [i for i, c in enumerate(chapters) if c is not None]
    accuracy = float(np.mean([chapters[i] == examples[i].chapter for i in given])) if given else 0.0
    return SequenceScores(name, score(y, decided), len(given) / len(examples), accuracy, coherent, len(orders), z)


def sequence_evaluation(
    examples: Sequence[Example],
    cv: CvResult,
    seed: int = 7,
    encoder: EncoderOof | None = None,
    weight: float = DEFAULT_ENSEMBLE_WEIGHT,
    own_chapter_min: float | None = None,
) -> list[SequenceScores]:
    """Chapter from row order, measured three ways on the grouped-CV folds (see the module docstring).

    1. each fold's rows in file order: a held-out file with gaps (the real held-out 40 % is denser);
    2. the same rows shuffled: the order says nothing, the result must not fall below text alone;
    3. the whole development file in order, every row predicted by its own fold's model (denser, like the
       real held-out file; neighbours' text-only probabilities come from models that saw the row, a small
       leak the per-fold figure does not have).
    """
    if not cv.models or not cv.thresholds_context:
        raise ValueError("cross_validate did not keep its fold models")
    rng = np.random.default_rng(seed)
    return [
        _sequence_scores("fold rows in file order", examples, cv, cv.folds, encoder, weight, own_chapter_min),
        _sequence_scores(
            "fold rows shuffled",
            examples,
            cv,
            [rng.permutation(f) for f in cv.folds],
            encoder,
            weight,
            own_chapter_min,
        ),
        _sequence_scores(
            "whole file in order", examples, cv, [np.arange(len(examples))], encoder, weight, own_chapter_min
        ),
    ]


def format_sequence(results: Sequence[SequenceScores], context: Scores, plain: Scores) -> str:
    lines = [
        "chapter inferred from the row order (never from gold pc), fold models, nested thresholds:",
        f"{'rows':<26} {'macro-F1':>8} {'coverage':>8} {'ch.acc':>7} {'coherent':>8}  z per sequence",
    ]
    for r in results:
        lines.append(
            f"{r.name:<26} {r.scores.macro_f1:8.4f} {r.coverage:8.3f} {r.chapter_accuracy:7.3f} "
            f"{r.coherent_folds:>4}/{r.sequences:<3}  {r.z}"
        )
    lines.append(f"{'(gold chapter)':<26} {context.macro_f1:8.4f}")
    lines.append(f"{'(text alone)':<26} {plain.macro_f1:8.4f}")
    return "\n".join(lines)


def format_scores(title: str, scores: Scores) -> str:
    lines = [title, f"{'label':<6} {'P':>6} {'R':>6} {'F1':>6} {'n':>5}"]
    for cr, (p, r, f, n) in scores.per_label.items():
        lines.append(f"{cr:<6} {p:6.3f} {r:6.3f} {f:6.3f} {n:5d}")
    lines.append(f"macro-F1 {scores.macro_f1:.4f}")
    return "\n".join(lines)


def print_recorded() -> int:
    """Print the grouped-CV figures recorded for the shipped model; 2 when they are missing."""
    ref = resources.files("appwarden.evidence.policy").joinpath("model_data").joinpath("metrics.json")
    try:
        metrics = json.loads(ref.read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        print(f"no recorded metrics for the shipped model: {exc}", file=sys.stderr)
        return 2
    print(f"shipped model {metrics['model_version']} ({metrics['cv']}):")
    print(f"{'label':<6} {'F1 chapter':>10} {'F1 text':>8} {'n':>5}")
    for cr in CR_IDS:
        ctx = metrics["per_label_with_chapter"][cr]
        pln = metrics["per_label_text_only"][cr]
        print(f"{cr:<6} {ctx[2]:10.3f} {pln[2]:8.3f} {ctx[3]:5d}")
    print(
        f"macro-F1 with chapter {metrics['macro_f1_with_chapter']:.4f}, text only {metrics['macro_f1_text_only']:.4f}"
    )
    ensemble = metrics.get("ensemble")
    if ensemble:
        print(
            f"with the fine-tuned encoder {ensemble['encoder_version']} (weight {ensemble['weight']}; {ensemble['cv']}): "
            f"macro-F1 with chapter {ensemble['macro_f1_with_chapter']:.4f}, "
            f"text only {ensemble['macro_f1_text_only']:.4f}"
        )
    return 0


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="Grouped 5-fold CV of the policy CR classifier")
    parser.add_argument("--data", type=Path, default=DEFAULT_DATA)
    parser.add_argument("--c", type=float, default=TrainConfig.c)
    parser.add_argument("--chapter-weight", type=float, default=TrainConfig.chapter_weight)
    parser.add_argument("--stack-c", type=float, default=TrainConfig.stack_c, help="0 disables the second stage")
    parser.add_argument("--folds", type=int, default=5)
    parser.add_argument("--json", type=Path, help="also write the scores as JSON here")
    parser.add_argument(
        "--sequence",
        action="store_true",
        help="also measure the chapter inferred from the order of each fold's rows (and shuffled)",
    )
    parser.add_argument(
        "--label-agreement",
        action="store_true",
        help="print how far the gold labels of near-duplicate sentences agree (no training) and stop",
    )
    parser.add_argument(
        "--encoder-oof",
        type=Path,
        help="out-of-fold probabilities of another fine-tuned encoder to measure (default: the shipped one's)",
    )
    parser.add_argument(
        "--recorded",
        action="store_true",
        help="print the figures recorded for the shipped model (model_data/metrics.json) without retraining",
    )
    args = parser.parse_args(argv)
    if args.recorded:
        return print_recorded()
    if not args.data.exists():
        print(f"development data not found: {args.data}", file=sys.stderr)
        return 2
    examples = load_examples(args.data)
    if args.label_agreement:
        agreement = group_label_agreement(examples)
        print(
            f"{agreement.sentences} sentences in near-duplicate groups of 2-50: label sets equal for "
            f"{agreement.exact:.1%} of pairs; a group member's labels as the prediction: macro-F1 "
            f"{agreement.macro_f1:.3f}"
        )
        print("  ".join(f"{cr} {f:.2f}" for cr, f in agreement.per_label.items()))
        return 0
    config = TrainConfig(c=args.c, chapter_weight=args.chapter_weight, stack_c=args.stack_c)
    if args.sequence and config.stack_c > 0:
        print("--sequence measures the first-stage model only; use --stack-c 0", file=sys.stderr)
        return 2
    started = time.monotonic()
    result = cross_validate(examples, config, args.folds)
    print(f"{len(examples)} sentences, grouped {args.folds}-fold CV, {time.monotonic() - started:.0f} s")
    print(format_scores("with section context (chapter known):", result.context))
    print()
    print(format_scores("sentence text alone:", result.plain))
    print()
    sequence = sequence_evaluation(examples, result) if args.sequence else []
    if sequence:
        print(format_sequence(sequence, result.context, result.plain))
        print()
    ensemble: EnsembleScores | None = None
    encoder = (
        load_encoder_oof(args.data, result.folds, args.encoder_oof) if args.folds == 5 else "the encoder used 5 folds"
    )
    if isinstance(encoder, EncoderOof):
        meta = shipped_adapter_meta() or {}
        weight = float(meta.get("ensemble_weight", DEFAULT_ENSEMBLE_WEIGHT))  # type: ignore[arg-type]
        own = meta.get("own_chapter_min_score")
        own_chapter_min = None if own is None else float(own)  # type: ignore[arg-type]
        ensemble = ensemble_evaluation(examples, result, encoder, weight, own_chapter_min)
        print(format_ensemble(ensemble))
        if args.sequence:
            print()
            print(
                "with the encoder, "
                + format_sequence(
                    sequence_evaluation(
                        examples, result, encoder=encoder, weight=weight, own_chapter_min=own_chapter_min
                    ),
                    ensemble.context,
                    ensemble.plain,
                )
            )
    else:
        print(f"encoder ensemble not measured: {encoder}")
    print()
    print_recorded()
    if args.json:
        report: dict[str, Any] = {
            "config": config.__dict__,
            "context": result.context.per_label,
            "context_macro_f1": result.context.macro_f1,
            "plain": result.plain.per_label,
            "plain_macro_f1": result.plain.macro_f1,
        }
        if ensemble is not None:
            report["ensemble"] = {
                "weight": ensemble.weight,
                "ngram_context_macro_f1": ensemble.ngram_context.macro_f1,
                "ngram_plain_macro_f1": ensemble.ngram_plain.macro_f1,
                "context_macro_f1": ensemble.context.macro_f1,
                "plain_macro_f1": ensemble.plain.macro_f1,
                "context": ensemble.context.per_label,
                "plain": ensemble.plain.per_label,
            }
        if sequence:
            report["sequence"] = {
                r.name: {
                    "macro_f1": r.scores.macro_f1,
                    "per_label": r.scores.per_label,
                    "coverage": r.coverage,
                    "chapter_accuracy": r.chapter_accuracy,
                    "coherent": f"{r.coherent_folds}/{r.sequences}",
                    "z": r.z,
                }
                for r in sequence
            }
        args.json.write_text(json.dumps(report, indent=1))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
