"""Sentence classifier for disclosure types CR1–CR26, with inference in numpy only.

Features (the same code builds them for training and at run time):

- character n-grams (1–4) of the normalised sentence, sublinear TF-IDF, L2-normalised;
- the policy chapter (PC1–PC7) the sentence sits in, when known: from the
  section heading it sits under (``chapter_of_headings``), or given with the
  sentence. Headings carry much of the meaning of short list items
  ("获得您的单独同意" is CR24 only under a cross-border heading);
- lexicon cues (PI-type terms, dates, e-mail/phone patterns), see ``cue_features``.

One logistic-regression model per label; per-label thresholds were tuned by
grouped cross-validation (tools/train_policy_model.py). Rules then add labels
where a pattern is unambiguous (a dated "更新/生效" sentence is CR1).
The weights ship as ``model_data/policy_cr_model.npz``; scikit-learn is needed
only to train.
"""

from __future__ import annotations

import json
import math
import os
import re
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass
from functools import cached_property, lru_cache
from importlib import resources
from typing import Any

import numpy as np

from appwarden.errors import ConfigurationError
from appwarden.evidence.policy.model import CR_IDS
from appwarden.evidence.policy.normalize import normalize_sentence

NGRAM_RANGE = (1, 4)
PC_IDS: tuple[str, ...] = tuple(f"PC{i}" for i in range(1, 8))
MODEL_FILE = "policy_cr_model.npz"
#: Longest sentence the classifier reads (characters); a longer "sentence" is a run-on paragraph.
MAX_SENTENCE_CHARS = 600


def char_ngrams(text: str) -> Counter[str]:
    """Counts of character n-grams (1–4) of an already normalised sentence."""
    n_lo, n_hi = NGRAM_RANGE
    length = len(text)
    return Counter(text[i : i + n] for n in range(n_lo, n_hi + 1) for i in range(length - n + 1))


# --------------------------------------------------------------------------- chapter from headings

#: Heading keywords -> chapter, checked in order (most specific first).
_CHAPTER_CUES: tuple[tuple[str, str], ...] = (
    ("PC7", r"跨境|出境|境外|国际传输|跨国|全球范围转移|cross-border|transfer.*abroad"),
    ("PC3", r"未成年|儿童|未满|14周岁|十四周岁|minor|child"),
    ("PC6", r"共享|转让|公开披露|委托处理|第三方|合作方|sdk|对外提供|披露"),
    ("PC2", r"联系我们|如何联系|联系方式|我们是谁|关于我们|运营者|contact"),
    ("PC1", r"更新|变更|修订|适用范围|适用于|生效|本政策如何|本指引如何更新|update"),
    (
        "PC4",
        r"您的权利|你的权利|用户权利|管理您的|管理你的|访问|更正|删除|注销|撤回|撤销|个性化|退出|投诉|right",
    ),
    (
        "PC5",
        r"收集|使用|存储|保存|保护|安全|cookie|同类技术|权限|敏感|保留|期限|collect|use|security|storage",
    ),
)
_CHAPTER_RES = tuple((pc, re.compile(rx, re.I)) for pc, rx in _CHAPTER_CUES)


def chapter_of_headings(path: Sequence[str]) -> str | None:
    """The policy chapter (PC1–PC7) a section path belongs to, innermost heading that says so first."""
    for heading in reversed(path):
        h = normalize_sentence(heading)
        for pc, rx in _CHAPTER_RES:
            if rx.search(h):
                return pc
    return None


# --------------------------------------------------------------------------- cue features

_CUE_PATTERNS: tuple[tuple[str, re.Pattern[str]], ...] = (
    ("date", re.compile(r"(19|20)\d{2}\s*[年./-]\s*\d{1,2}\s*[月./-]\s*\d{1,2}")),
    ("email", re.compile(r"[\w.+-]+@[\w-]+(\.[\w-]+)+")),
    ("phone", re.compile(r"(?<!\d)(400|800|95\d{3}|1[3-9]\d{9}|0\d{2,3}-?\d{7,8})(?!\d)")),
    ("company", re.compile(r"有限公司|有限责任公司|股份公司|集团")),
    ("minor", re.compile(r"未成年|儿童|14周岁|十四周岁|监护人|未满")),
    ("crossborder", re.compile(r"跨境|出境|境外|境内")),
    ("sdk", re.compile(r"sdk|第三方|合作方|合作伙伴")),
)


def cue_features(text: str) -> list[float]:
    """Binary pattern cues of a normalised sentence (order: ``CUE_NAMES``)."""
    return [1.0 if rx.search(text) else 0.0 for _, rx in _CUE_PATTERNS]


CUE_NAMES: tuple[str, ...] = tuple(name for name, _ in _CUE_PATTERNS)


# --------------------------------------------------------------------------- the model


@dataclass(frozen=True)
class CrModel:
    """Shipped classifier: vocabulary, idf, weights and per-label thresholds."""

    version: str
    vocabulary: dict[str, int]
    idf: np.ndarray  # (n_terms,)
    coef: np.ndarray  # (n_features, n_labels); features = terms, chapters, cues
    intercept: np.ndarray  # (n_labels,)
    thresholds_context: np.ndarray  # (n_labels,) used when the chapter is known
    thresholds_plain: np.ndarray  # (n_labels,) used when it is not
    chapter_weight: float
    labels: tuple[str, ...]
    #: Second stage (optional): per label, a logistic regression over all first-stage logits, the chapter,
    #: and chapter x logit interactions (``stack_features``); shape (n_stack_features, n_labels).
    stack_coef: np.ndarray | None = None
    stack_intercept: np.ndarray | None = None

    @property
    def n_terms(self) -> int:
        return len(self.vocabulary)

    def sparse_row(self, text: str, chapter: str | None) -> tuple[list[int], list[float]]:
        """Feature indexes and values of one normalised sentence (terms TF-IDF, chapter, cues)."""
        grams = char_ngrams(text[:MAX_SENTENCE_CHARS])
        vocabulary = self.vocabulary
        idf = self._idf_list
        idx: list[int] = []
        val: list[float] = []
        for g, count in grams.items():
            j = vocabulary.get(g)
            if j is not None:
                idx.append(j)
                val.append((1.0 + math.log(count)) * idf[j])
        norm = math.sqrt(sum(v * v for v in val)) or 1.0
        val = [v / norm for v in val]
        n_terms = len(idf)
        if chapter in PC_IDS:
            idx.append(n_terms + PC_IDS.index(chapter))
            val.append(self.chapter_weight)
        for k, cue in enumerate(cue_features(text)):
            if cue:
                idx.append(n_terms + len(PC_IDS) + k)
                val.append(cue)
        return idx, val

    @cached_property
    def _idf_list(self) -> list[float]:
        # Python floats: per-term lookups in a loop are several times faster than numpy scalar indexing.
        return [float(x) for x in self.idf]

    @property
    def n_features(self) -> int:
        return self.n_terms + len(PC_IDS) + len(CUE_NAMES)

    def predict_proba(self, sentences: Sequence[str], chapters: Sequence[str | None]) -> np.ndarray:
        """Probabilities (n_sentences, n_labels) for normalised sentences."""
        out = np.zeros((len(sentences), len(self.labels)), dtype=np.float32)
        for r, (text, chapter) in enumerate(zip(sentences, chapters, strict=True)):
            idx, val = self.sparse_row(text, chapter)
            z = self.intercept.copy()
            if idx:
                z += np.asarray(val, dtype=np.float32) @ self.coef[idx]
            out[r] = 1.0 / (1.0 + np.exp(-np.clip(z, -30, 30)))
        if self.stack_coef is None or self.stack_intercept is None:
            return out
        z2 = stack_features(out, chapters) @ self.stack_coef + self.stack_intercept
        return (1.0 / (1.0 + np.exp(-np.clip(z2, -30, 30)))).astype(np.float32)

    def thresholds_for(self, chapters: Sequence[str | None]) -> np.ndarray:
        return np.stack([self.thresholds_context if c in PC_IDS else self.thresholds_plain for c in chapters])


def stack_features(proba: np.ndarray, chapters: Sequence[str | None]) -> np.ndarray:
    """Second-stage features: first-stage logits, chapter one-hot, and the logits again in the chapter's block.

    The interaction block lets the second stage read the same first-stage evidence differently per
    chapter ("单独同意" is CR24 under a cross-border heading, CR19 under a sharing one) and learn
    which labels go together.
    """
    n, k = proba.shape
    p = np.clip(proba.astype(np.float64), 1e-4, 1 - 1e-4)
    logits = np.log(p / (1 - p)) / 5.0  # scaled to about [-2, 2] so the regulariser treats blocks alike
    out = np.zeros((n, k + len(PC_IDS) + k * len(PC_IDS)), dtype=np.float64)
    out[:, :k] = logits
    for r, chapter in enumerate(chapters):
        if chapter in PC_IDS:
            c = PC_IDS.index(chapter)
            out[r, k + c] = 1.0
            start = k + len(PC_IDS) + c * k
            out[r, start : start + k] = logits[r]
    return out


def save_model(path: str, model: CrModel) -> None:
    """Write ``model`` as a compressed npz (vocabulary as one newline-joined string)."""
    terms = sorted(model.vocabulary, key=model.vocabulary.__getitem__)
    if any("\n" in t for t in terms):
        raise ValueError("vocabulary terms must not contain newlines")
    meta = {
        "version": model.version,
        "labels": list(model.labels),
        "chapter_weight": model.chapter_weight,
        "ngram_range": list(NGRAM_RANGE),
        "chapters": list(PC_IDS),
        "cues": list(CUE_NAMES),
    }
    arrays: dict[str, Any] = {}
    if model.stack_coef is not None and model.stack_intercept is not None:
        arrays = {"stack_coef": model.stack_coef.astype(np.float32), "stack_intercept": model.stack_intercept}
    np.savez_compressed(
        path,
        meta=np.array(json.dumps(meta)),
        terms=np.array("\n".join(terms)),
        idf=model.idf.astype(np.float32),
        coef=model.coef.astype(np.float16),
        intercept=model.intercept.astype(np.float32),
        thresholds_context=model.thresholds_context.astype(np.float32),
        thresholds_plain=model.thresholds_plain.astype(np.float32),
        **arrays,
    )


def load_model_file(path: str | os.PathLike[str]) -> CrModel:
    with np.load(path, allow_pickle=False) as z:
        meta = json.loads(str(z["meta"]))
        if tuple(meta["cues"]) != CUE_NAMES or tuple(meta["chapters"]) != PC_IDS:
            raise ConfigurationError(
                "the policy model file does not match this version of appwarden",
                detail="retrain it with tools/train_policy_model.py",
            )
        terms = str(z["terms"]).split("\n")
        return CrModel(
            version=str(meta["version"]),
            vocabulary={t: i for i, t in enumerate(terms)},
            idf=z["idf"].astype(np.float32),
            coef=z["coef"].astype(np.float32),
            intercept=z["intercept"].astype(np.float32),
            thresholds_context=z["thresholds_context"].astype(np.float32),
            thresholds_plain=z["thresholds_plain"].astype(np.float32),
            chapter_weight=float(meta["chapter_weight"]),
            labels=tuple(meta["labels"]),
            stack_coef=z["stack_coef"].astype(np.float64) if "stack_coef" in z.files else None,
            stack_intercept=z["stack_intercept"].astype(np.float64) if "stack_intercept" in z.files else None,
        )


@lru_cache(maxsize=1)
def shipped_model() -> CrModel:
    """The classifier shipped in ``model_data`` (loaded once)."""
    ref = resources.files("appwarden.evidence.policy").joinpath("model_data").joinpath(MODEL_FILE)
    try:
        with resources.as_file(ref) as path:
            return load_model_file(path)
    except FileNotFoundError as exc:
        raise ConfigurationError(
            "the policy classifier model is missing",
            detail=f"expected model_data/{MODEL_FILE}; run tools/train_policy_model.py",
        ) from exc


# --------------------------------------------------------------------------- rules

_RULES: tuple[tuple[str, re.Pattern[str]], ...] = (
    # A dated statement about the policy's update or entry into force.
    (
        "CR1",
        re.compile(
            r"(更新|生效|发布|修订|版本)(日期|时间)?\s*[:：为于是]?\s*(19|20)\d{2}\s*年\s*\d{1,2}\s*月"
            r"|(19|20)\d{2}\s*年\s*\d{1,2}\s*月\s*\d{1,2}\s*日\s*(更新|生效|起生效|发布|修订|正式生效)"
            r"|(更新|生效)(日期|时间)\s*[:：]\s*(19|20)\d{2}[-./]\d{1,2}[-./]\d{1,2}"
        ),
    ),
    # An e-mail address or service phone number given as a way to reach the operator.
    (
        "CR4",
        re.compile(
            r"(联系|客服|邮箱|邮件|电话|热线|致电|发送至|反馈).{0,30}"
            r"([\w.+-]+@[\w-]+(\.[\w-]+)+|(?<!\d)(400|800)[- ]?\d{3,4}[- ]?\d{3,4}|(?<!\d)1[3-9]\d{9}(?!\d))"
        ),
    ),
)


def rule_labels(text: str) -> set[str]:
    """Labels a pattern decides on its own for a normalised sentence."""
    return {label for label, rx in _RULES if rx.search(text)}


@dataclass(frozen=True)
class Classified:
    labels: list[tuple[str, float]]  # (label, probability), labels over threshold or set by a rule
    scores: tuple[float, ...]  # probability of every label, in model label order


def classify_sentences(
    sentences: Sequence[str], chapters: Sequence[str | None] | None = None, *, model: CrModel | None = None
) -> list[Classified]:
    """Disclosure types of each raw sentence (normalised here); ``chapters`` are PC ids or None."""
    m = model or shipped_model()
    # Cut before normalising: Traditional->Simplified conversion of a megabyte "sentence" takes minutes,
    # and the model reads only MAX_SENTENCE_CHARS of it anyway (slack for the spaces normalising removes).
    norm = [normalize_sentence(s[: MAX_SENTENCE_CHARS * 4]) for s in sentences]
    chs: list[str | None] = list(chapters) if chapters is not None else [None] * len(norm)
    proba = m.predict_proba(norm, chs)
    if not norm:
        return []
    thresholds = m.thresholds_for(chs)
    out: list[Classified] = []
    for i, text in enumerate(norm):
        chosen = {m.labels[j]: float(proba[i, j]) for j in range(len(m.labels)) if proba[i, j] >= thresholds[i, j]}
        for label in rule_labels(text):
            chosen.setdefault(label, float(proba[i, m.labels.index(label)]))
        out.append(
            Classified(
                labels=sorted(chosen.items(), key=lambda kv: CR_IDS.index(kv[0])),
                scores=tuple(float(p) for p in proba[i]),
            )
        )
    return out
