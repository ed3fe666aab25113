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
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from functools import cached_property, lru_cache
from importlib import resources
from itertools import pairwise
from typing import Any

import numpy as np

from appwarden.errors import ConfigurationError
from appwarden.evidence.policy.encoder import EncoderClassifier, shipped_encoder
from appwarden.evidence.policy.english import english_labels, is_english
from appwarden.evidence.policy.model import CR_IDS
from appwarden.evidence.policy.normalize import normalize_sentence
from appwarden.evidence.policy.segment import heading_style

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
    ("PC6", r"共享|转让|公开披露|委托处理|第三方|合作方|sdk|对外提供|披露|\bshar(?:e|ing)\b|disclos|third[- ]part"),
    ("PC2", r"联系我们|如何联系|联系方式|我们是谁|关于我们|运营者|contact|who we are|about us"),
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
        return thresholds_per_row(self.thresholds_context, self.thresholds_plain, chapters)


def thresholds_per_row(context: np.ndarray, plain: np.ndarray, chapters: Sequence[str | None]) -> np.ndarray:
    """(rows, labels): the chapter set for rows read with a chapter, the text-only set for the others."""
    return np.stack([context if c in PC_IDS else plain for c in chapters])


def ensemble_average(ngram: np.ndarray, encoded: np.ndarray, weight: float) -> np.ndarray:
    """The n-gram and encoder probabilities averaged, ``weight`` the encoder's share: one formula for run
    time, make eval and the training tool, so what is measured is what runs."""
    return (1.0 - weight) * ngram + weight * encoded


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
    # How to withdraw consent, to turn personalised display off, and that security incidents are notified:
    # wordings real policies use that the n-gram model misses when phrased unlike the training sentences.
    # On the development sentences: precision 0.87 / 1.0 / 1.0, +0.025 / +0.008 / +0.014 F1 of the label.
    ("CR8", re.compile(r"(撤回|撤销)[^。]{0,10}(同意|授权)")),
    ("CR9", re.compile(r"(关闭|退出|拒绝|停止)[^。]{0,12}(个性化|定向|精准)[^。]{0,6}(推荐|推送|广告|展示)")),
    ("CR17", re.compile(r"(个人信息|数据)[^。]{0,6}(安全事件|泄露)[^。]{0,40}(告知|通知|推送|公告)")),
    # Consent for a transfer abroad: "向境外传输用户信息的, 我们会事先征得您的同意", "如需跨境传输, 将单独征得您的授权".
    (
        "CR24",
        re.compile(
            r"(境外|跨境|出境)[^。]{0,20}(传输|提供|转移)[^。]{0,20}(同意|授权)"
            r"|(传输|提供|转移)[^。]{0,10}(境外|跨境|出境)[^。]{0,20}(同意|授权)"
        ),
    ),
    # How changes are announced, also without "重大": "更新后我们会在应用内公告", "任何变更都会在应用程序中公布".
    (
        "CR7",
        re.compile(
            r"(政策|协议|条款)[^。]{0,20}(更新|变更|修改|调整)[^。]{0,30}(公告|公布|通知|告知|推送|弹窗|提示|发布)"
            r"|(更新|变更|修改)(后|时)[^。]{0,20}(公告|公布|通知|告知|推送|弹窗|提示)"
            r"|(变更|更新|修改)[^。]{0,12}(会|将)[^。]{0,10}(应用|app|网站|程序)[^。]{0,6}(公告|公布|通知|发布)"
        ),
    ),
)


#: "我们不会收集您的敏感个人信息", "本应用不会申请任何敏感权限": no notice of collecting sensitive PI (CR16);
#: but "除非获得您的单独同意, 我们不会收集…敏感…" says when it is collected, and stays a notice.
_NEGATED_SENSITIVE = re.compile(
    r"(?:不会|不|无需|并不|从不|没有|未|绝不)(?:会|再|主动|直接|额外|曾|需要|要)*"
    r"(?:收集|获取|申请|使用|处理|调用|涉及)[^。;；]{0,12}敏感"
)
_CONDITION = re.compile(r"除非|除[^。]{0,20}外|同意|授权|允许")


def negates_sensitive_collection(text: str) -> bool:
    """The sentence says sensitive PI is not collected (without a condition under which it is)."""
    return bool(_NEGATED_SENSITIVE.search(text)) and not _CONDITION.search(text)


def rule_labels(text: str) -> set[str]:
    """Labels a pattern decides on its own for a normalised sentence (English ones: english.py)."""
    return {label for label, rx in _RULES if rx.search(text)} | english_labels(text)


@dataclass(frozen=True)
class Classified:
    labels: list[tuple[str, float]]  # (label, probability), labels over threshold or set by a rule
    scores: tuple[float, ...]  # probability of every label, in model label order


@dataclass(frozen=True)
class PolicyClassifier:
    """The n-gram model, and the fine-tuned encoder when installed: their probabilities averaged.

    The encoder's probabilities of a sentence without chapter (``text_proba``) are computed once. A
    chapter-aware encoder then reads a row again with its chapter's name: the chapter it was given, or,
    for a row without one, the chapter its own text points to (``encoder_chapters``); each (chapter,
    sentence) is remembered. The average has its own thresholds, tuned on the two models' out-of-fold
    probabilities for the same readings (tools/train_policy_encoder.py).
    """

    ngram: CrModel
    encoder: EncoderClassifier | None = None

    @property
    def labels(self) -> tuple[str, ...]:
        return self.ngram.labels

    @property
    def version(self) -> str:
        return f"{self.ngram.version}+{self.encoder.version}" if self.encoder else self.ngram.version

    def text_proba(self, norm: Sequence[str]) -> np.ndarray | None:
        """Encoder probabilities without chapter (zeros for rows only the English patterns read), or None."""
        return None if self.encoder is None else _encoder_proba(self.encoder, norm, [None] * len(norm))

    def plain_proba(self, norm: Sequence[str], text_proba: np.ndarray | None = None) -> np.ndarray:
        """Both models reading the text alone (what the chapters are inferred from)."""
        proba = self.ngram.predict_proba(norm, [None] * len(norm))
        if self.encoder is None:
            return proba
        encoded = _encoder_proba(self.encoder, norm, [None] * len(norm)) if text_proba is None else text_proba
        return ensemble_average(proba, encoded, self.encoder.ensemble_weight).astype(np.float32)

    def predict_proba(
        self, norm: Sequence[str], chapters: Sequence[str | None], text_proba: np.ndarray | None = None
    ) -> np.ndarray:
        """Averaged probabilities; ``text_proba`` (from ``text_proba``) saves reading chapterless rows again."""
        proba = self.ngram.predict_proba(norm, chapters)
        if self.encoder is None:
            return proba
        w = self.encoder.ensemble_weight
        if not self.encoder.chapter_aware:
            encoded = _encoder_proba(self.encoder, norm, chapters) if text_proba is None else text_proba
            return ensemble_average(proba, encoded, w).astype(np.float32)
        encoded = _encoder_proba(self.encoder, norm, [None] * len(norm)) if text_proba is None else text_proba.copy()
        read_in = encoder_chapters(chapters, proba, encoded, w, self.encoder.own_chapter_min_score, self.labels)
        rows = [i for i, c in enumerate(read_in) if c is not None]
        if rows:
            encoded[rows] = _encoder_proba(self.encoder, [norm[i] for i in rows], [read_in[i] for i in rows])
        return ensemble_average(proba, encoded, w).astype(np.float32)

    def thresholds_for(self, chapters: Sequence[str | None]) -> np.ndarray:
        if self.encoder is None:
            return self.ngram.thresholds_for(chapters)
        return thresholds_per_row(self.encoder.thresholds_context, self.encoder.thresholds_plain, chapters)


_ENCODER_CACHE: dict[tuple[str, str | None, str], np.ndarray] = {}
_ENCODER_CACHE_ROWS = 50_000


def _encoder_proba(encoder: EncoderClassifier, norm: Sequence[str], chapters: Sequence[str | None]) -> np.ndarray:
    out = np.zeros((len(norm), len(encoder.labels)), dtype=np.float32)
    rows = [i for i, text in enumerate(norm) if _for_the_model(text)]
    if rows:
        keys = [(chapters[i] if encoder.chapter_aware else None, norm[i][:MAX_SENTENCE_CHARS]) for i in rows]
        out[rows] = _cached_encoder_proba(encoder, keys)
    return out


def _cached_encoder_proba(encoder: EncoderClassifier, keys: Sequence[tuple[str | None, str]]) -> np.ndarray:
    """Encoder probabilities of (chapter, sentence), remembered: policies repeat boilerplate, re-analysis is common."""
    missing = sorted({k for k in keys if (encoder.version, *k) not in _ENCODER_CACHE}, key=lambda k: (k[0] or "", k[1]))
    if missing:
        if len(_ENCODER_CACHE) + len(missing) > _ENCODER_CACHE_ROWS:
            _ENCODER_CACHE.clear()
        computed = encoder.predict_proba([t for _, t in missing], [c for c, _ in missing])
        for (chapter, text), row in zip(missing, computed, strict=True):
            _ENCODER_CACHE[(encoder.version, chapter, text)] = row
    return np.stack([_ENCODER_CACHE[(encoder.version, *k)] for k in keys])


@lru_cache(maxsize=1)
def shipped_classifier() -> PolicyClassifier:
    """The shipped n-gram model with the fine-tuned encoder when its base weights are installed."""
    model = shipped_model()
    encoder = shipped_encoder()
    if encoder is not None and encoder.ngram_version != model.version:
        raise ConfigurationError(
            "the policy encoder was tuned with another n-gram model",
            detail=f"encoder expects {encoder.ngram_version}, model_data holds {model.version}; "
            "rerun tools/train_policy_encoder.py",
        )
    return PolicyClassifier(model, encoder)


def _as_classifier(model: CrModel | PolicyClassifier | None) -> PolicyClassifier:
    if model is None:
        return shipped_classifier()
    return model if isinstance(model, PolicyClassifier) else PolicyClassifier(model)


def classify_sentences(
    sentences: Sequence[str],
    chapters: Sequence[str | None] | None = None,
    *,
    model: CrModel | PolicyClassifier | None = None,
) -> list[Classified]:
    """Disclosure types of each raw sentence (normalised here); ``chapters`` are PC ids or None.

    ``model`` defaults to the shipped classifier (with the encoder when installed); a bare ``CrModel``
    classifies with the n-gram model alone.
    """
    m = _as_classifier(model)
    norm = _normalise_all(sentences)
    chs: list[str | None] = list(chapters) if chapters is not None else [None] * len(norm)
    return _decide(m, norm, chs, m.predict_proba(norm, chs))


def _normalise_all(sentences: Sequence[str]) -> list[str]:
    # Cut before normalising: Traditional->Simplified conversion of a megabyte "sentence" takes minutes,
    # and the model reads only MAX_SENTENCE_CHARS of it anyway (slack for the spaces normalising removes).
    return [normalize_sentence(s[: MAX_SENTENCE_CHARS * 4]) for s in sentences]


_HAN = re.compile(r"[\u3400-\u9fff\uf900-\ufaff]")
#: A line that is only a web address (perhaps with a short Latin caption before it).
_NOT_FOR_THE_MODEL = re.compile(r"^[a-z0-9 .,:;()'\-]{0,60}(?:https?://|www\.)\S+\s*$", re.I)


def _for_the_model(text: str) -> bool:
    """English sentences and bare web addresses are left to the English patterns.

    The models learnt Chinese wording; the n-gram one reads a lone URL as a contact line (CR4).
    """
    return not (_NOT_FOR_THE_MODEL.search(text) or (is_english(text) and not _HAN.search(text)))


def _decide(m: PolicyClassifier, norm: Sequence[str], chs: Sequence[str | None], proba: np.ndarray) -> list[Classified]:
    """Labels over the threshold (chapter or text-only set, per row) plus the rule labels."""
    if not norm:
        return []
    thresholds = m.thresholds_for(chs)
    out: list[Classified] = []
    for i, text in enumerate(norm):
        if not _for_the_model(text):
            chosen: dict[str, float] = {}
        else:
            chosen = {m.labels[j]: float(proba[i, j]) for j in range(len(m.labels)) if proba[i, j] >= thresholds[i, j]}
        for label in rule_labels(text):
            chosen.setdefault(label, float(proba[i, m.labels.index(label)]))
        if negates_sensitive_collection(text):
            chosen.pop("CR16", None)
        out.append(
            Classified(
                labels=sorted(chosen.items(), key=lambda kv: CR_IDS.index(kv[0])),
                scores=tuple(float(p) for p in proba[i]),
            )
        )
    return out


# --------------------------------------------------------------------------- chapter from the row sequence
#
# A JSONL file of sentences often comes in document order (the VioDroid-Finder files do: a policy's
# sentences follow one another, mostly in runs of one chapter, with heading rows among them). Reading the
# rows in order, as a lab reader does, tells the chapter of a sentence that its text alone leaves open.
# A small hidden Markov model over the chapters does that reading: each row's evidence is what the
# text-only classifier says about it (its best label per chapter), the chapter keywords of the text, and a
# heading row's chapter; neighbouring rows tend to share a chapter. It is used only when the file's order is
# shown to be coherent, so a shuffled file, or a handful of unrelated sentences, is classified from the text
# alone, exactly as without it. Parameters were chosen by grouped CV on the development data
# (``python -m appwarden.evidence.policy.evaluate --sequence``; see DATA_CARD.md): macro-F1 moved by at most
# +-0.003 over a grid around them.

#: Chapter of every disclosure type (labels.json: PC1 = CR1-CR2, PC2 = CR3-CR4, ..., PC7 = CR23-CR26).
CHAPTER_OF_CR: dict[str, str] = {
    cr: pc
    for pc, crs in (
        ("PC1", range(1, 3)),
        ("PC2", range(3, 5)),
        ("PC3", range(5, 6)),
        ("PC4", range(6, 11)),
        ("PC5", range(11, 18)),
        ("PC6", range(18, 23)),
        ("PC7", range(23, 27)),
    )
    for cr in (f"CR{i}" for i in crs)
}
#: Sharpness of the text evidence: a row's weight for chapter c is exp(beta * best probability among c's labels).
SEQ_BETA = 4.0
#: Log-weight added to the chapter the text's own keywords name (``chapter_of_headings`` on the sentence).
SEQ_KEYWORD_BONUS = 1.0
#: Log-weight added to the chapter a heading row names (numbered, title-like, with chapter keywords).
SEQ_HEADING_BONUS = 2.0
#: Probability that the next row stays in the same chapter.
SEQ_STAY = 0.85
#: A row gets the inferred chapter only when the posterior is at least this; otherwise text-only thresholds.
SEQ_MIN_POSTERIOR = 0.8
#: Rows whose best text-only chapter score is below this do not count in the order test.
SEQ_GUESS_MIN_SCORE = 0.5
#: The order is coherent when neighbouring text-only chapter guesses agree this many standard deviations
#: above what a random order gives (shuffled dev folds: mean 0.0, sd 0.7, max 2.0 over 200 shuffles;
#: in document order 19-27).
SEQ_MIN_Z = 4.0
#: Below this many neighbouring guess pairs the test has no power; then increasing ids and a heading row decide.
SEQ_SMALL_PAIRS = 20
# Explicit chapters (a row's "pc") count as near-certain evidence.
_KNOWN_LOG_WEIGHT = 12.0


@dataclass(frozen=True)
class SequenceChapters:
    """Chapters read from the order of the rows."""

    chapters: list[str | None]  # per row: the chapter to classify with (None: text alone)
    coherent: bool  # whether the order was judged coherent (if not, only known chapters are given)
    z: float  # agreement of neighbouring text-only chapter guesses, in sd above a random order
    pairs: int  # neighbouring guess pairs the test counted
    reason: str


def chapter_scores(proba_plain: np.ndarray, labels: Sequence[str] = CR_IDS) -> np.ndarray:
    """Per row and chapter (n, 7): the highest text-only probability among the chapter's labels."""
    out = np.zeros((proba_plain.shape[0], len(PC_IDS)), dtype=np.float64)
    for c, pc in enumerate(PC_IDS):
        cols = [j for j, lb in enumerate(labels) if CHAPTER_OF_CR.get(lb) == pc]
        if cols and proba_plain.shape[0]:
            out[:, c] = proba_plain[:, cols].max(axis=1)
    return out


def own_chapters(proba_plain: np.ndarray, min_score: float, labels: Sequence[str] = CR_IDS) -> list[str | None]:
    """The chapter each row's own text points to (its most probable label's chapter), None below ``min_score``."""
    scores = chapter_scores(proba_plain, labels)
    return [PC_IDS[int(row.argmax())] if row.max() >= min_score else None for row in scores]


def encoder_chapters(
    chapters: Sequence[str | None],
    ngram: np.ndarray,
    encoded_plain: np.ndarray,
    weight: float,
    own_chapter_min: float | None,
    labels: Sequence[str] = CR_IDS,
) -> list[str | None]:
    """The chapter a chapter-aware encoder reads each row in: its own, else (``own_chapter_min`` set) the one
    its text points to in both models' text-only average (``ngram`` holds such rows' text-only probabilities).
    One rule for run time, make eval and the training tool."""
    read_in = list(chapters)
    if own_chapter_min is None:
        return read_in
    rows = [i for i, c in enumerate(read_in) if c is None]
    guessed = own_chapters(ensemble_average(ngram[rows], encoded_plain[rows], weight), own_chapter_min, labels)
    for i, c in zip(rows, guessed, strict=True):
        read_in[i] = c
    return read_in


def order_coherence(guesses: Sequence[int | None]) -> tuple[float, int]:
    """(z, pairs): how far neighbouring chapter guesses agree more often than in a random order.

    ``guesses`` are chapter indexes, None for rows without a confident guess (skipped). Under a random
    permutation two neighbours agree with probability sum n_c (n_c - 1) / (n (n - 1)).
    """
    g = [x for x in guesses if x is not None]
    pairs = len(g) - 1
    if pairs < 1:
        return 0.0, max(pairs, 0)
    agree = sum(1 for a, b in pairwise(g) if a == b)
    n = len(g)
    counts = Counter(g)
    expected = sum(k * (k - 1) for k in counts.values()) / (n * (n - 1))
    if expected >= 1.0:  # one chapter only: the order cannot be told from a shuffle
        return 0.0, pairs
    z = (agree - pairs * expected) / math.sqrt(pairs * expected * (1.0 - expected)) if expected > 0 else 0.0
    return float(z), pairs


def _natural_key(s: str) -> tuple[tuple[int, int | str], ...]:
    return tuple((0, int(t)) if t.isdigit() else (1, t) for t in re.findall(r"\d+|\D+", s))


def ids_increasing(ids: Sequence[object] | None) -> bool:
    """Whether every row has an id and the ids strictly increase (natural order: "s9" < "s10")."""
    if not ids or any(i is None or isinstance(i, bool) for i in ids):
        return False
    keys = [_natural_key(str(i)) for i in ids]
    return all(a < b for a, b in pairwise(keys))


def _heading_chapter(norm: str) -> str | None:
    return chapter_of_headings([norm]) if heading_style(norm) else None


def _forward_backward(weights: np.ndarray, stay: float) -> np.ndarray:
    """Posterior chapter probabilities (n, k) of a chain with per-row evidence ``weights``."""
    n, k = weights.shape
    trans = np.full((k, k), (1.0 - stay) / (k - 1))
    np.fill_diagonal(trans, stay)
    fwd = np.zeros((n, k))
    bwd = np.ones((n, k))
    fwd[0] = weights[0] / weights[0].sum()
    for t in range(1, n):
        fwd[t] = weights[t] * (fwd[t - 1] @ trans)
        fwd[t] /= fwd[t].sum()
    for t in range(n - 2, -1, -1):
        bwd[t] = trans @ (weights[t + 1] * bwd[t + 1])
        bwd[t] /= bwd[t].sum()
    post = fwd * bwd
    return post / post.sum(axis=1, keepdims=True)


def infer_sequence_chapters(
    norm_texts: Sequence[str],
    proba_plain: np.ndarray,
    *,
    labels: Sequence[str] = CR_IDS,
    ids: Sequence[object] | None = None,
    known: Sequence[str | None] | None = None,
) -> SequenceChapters:
    """Chapter of each row from the order of the rows (normalised texts, text-only probabilities).

    Known chapters (a row's explicit "pc") are kept as they are and also inform their neighbours. When
    the order is not shown to be coherent, only the known chapters are returned.
    """
    n = len(norm_texts)
    known_list: list[str | None] = list(known) if known is not None else [None] * n
    if n == 0:
        return SequenceChapters([], False, 0.0, 0, "no rows")
    scores = chapter_scores(proba_plain, labels)
    guesses: list[int | None] = []
    for r in range(n):
        kc = known_list[r]
        if kc in PC_IDS:
            guesses.append(PC_IDS.index(kc))
        else:
            guesses.append(int(scores[r].argmax()) if scores[r].max() >= SEQ_GUESS_MIN_SCORE else None)
    z, pairs = order_coherence(guesses)
    headings = [_heading_chapter(t) for t in norm_texts]
    if z >= SEQ_MIN_Z:
        reason = f"neighbouring rows agree on their chapter {z:.1f} sd above a random order"
    elif pairs < SEQ_SMALL_PAIRS and n >= 3 and ids_increasing(ids) and any(headings):
        reason = "few rows, ids in increasing order and a chapter heading among them"
    else:
        reason = f"order not shown coherent (z={z:.1f} over {pairs} pairs): text alone"
        return SequenceChapters(list(known_list), False, z, pairs, reason)
    logw = SEQ_BETA * scores
    for r, text in enumerate(norm_texts):
        kc = known_list[r]
        if kc in PC_IDS:
            logw[r, PC_IDS.index(kc)] += _KNOWN_LOG_WEIGHT
            continue
        kw = chapter_of_headings([text])
        if kw is not None:
            logw[r, PC_IDS.index(kw)] += SEQ_KEYWORD_BONUS
        if headings[r] is not None:
            logw[r, PC_IDS.index(headings[r])] += SEQ_HEADING_BONUS
    weights = np.exp(logw - logw.max(axis=1, keepdims=True))
    post = _forward_backward(weights, SEQ_STAY)
    chapters: list[str | None] = []
    for r in range(n):
        kc = known_list[r]
        if kc in PC_IDS:
            chapters.append(kc)
        else:
            best = int(post[r].argmax())
            chapters.append(PC_IDS[best] if post[r, best] >= SEQ_MIN_POSTERIOR else None)
    return SequenceChapters(chapters, True, z, pairs, reason)


def row_chapter(row: Mapping[str, Any]) -> str | None:
    """A row's explicit chapter: its "pc", else the chapter its "section_path"/"section"/"heading" names."""
    pc = row.get("pc")
    if isinstance(pc, str) and pc in PC_IDS:
        return pc
    path = row.get("section_path") or row.get("section") or row.get("heading")
    if isinstance(path, str):
        path = [path]
    if isinstance(path, list) and path:
        return chapter_of_headings([str(p) for p in path])
    return None


@dataclass(frozen=True)
class RowsClassified:
    results: list[Classified]
    chapters: list[str | None]  # the chapter each row was classified with (None: text alone)
    sequence: SequenceChapters | None  # None when context was off


def classify_rows(
    texts: Sequence[str],
    known: Sequence[str | None] | None = None,
    ids: Sequence[object] | None = None,
    *,
    context: bool = True,
    model: CrModel | PolicyClassifier | None = None,
) -> RowsClassified:
    """Classify rows of a sentence file, reading the chapter from the row order when it is coherent.

    ``known`` are explicit chapters (``row_chapter``), which win; ``ids`` the rows' ids (their increasing
    order is evidence of document order in a small file). With ``context`` off every row is text alone.
    """
    m = _as_classifier(model)
    norm = _normalise_all(texts)
    plain: list[str | None] = [None] * len(norm)
    text_proba = m.text_proba(norm)
    if not context:
        return RowsClassified(_decide(m, norm, plain, m.predict_proba(norm, plain, text_proba)), plain, None)
    # The chapters are inferred from every row's text-only reading; then each row is read in its chapter.
    seq = infer_sequence_chapters(norm, m.plain_proba(norm, text_proba), labels=m.labels, ids=ids, known=known)
    proba = m.predict_proba(norm, seq.chapters, text_proba)
    return RowsClassified(_decide(m, norm, seq.chapters, proba), list(seq.chapters), seq)
