"""`make eval` with the encoder: stored out-of-fold probabilities, checked against the data and the folds,
averaged with the n-gram model's and scored with thresholds tuned on the other folds."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from appwarden.evidence.policy.evaluate import (
    EncoderOof,
    Example,
    Scores,
    TrainConfig,
    cross_validate,
    data_sha256,
    encoder_reading,
    ensemble_evaluation,
    format_ensemble,
    grouped_folds,
    load_encoder_oof,
    sequence_evaluation,
)
from appwarden.evidence.policy.model import CR_IDS

WORDS = {"PC2": "联系我们邮箱", "PC5": "收集您的位置信息", "PC6": "共享给合作伙伴", "PC7": "传输至境外"}
LABEL = {"PC2": "CR4", "PC5": "CR13", "PC6": "CR18", "PC7": "CR23"}


def _examples() -> list[Example]:
    easy = [
        Example(text=f"{WORDS[pc]}{i}", chapter=pc, labels=frozenset({LABEL[pc]}), group=f"g{pc}{i}", id=f"r{n}")
        for n, (pc, i) in enumerate((pc, i) for pc in WORDS for i in range(15))
    ]
    # The same words labelled one way or the other: no text model can tell these apart.
    hard = [
        Example(
            text=f"同意条款{i}",
            chapter=None,
            labels=frozenset({"CR19" if i % 2 else "CR24"}),
            group=f"h{i}",
            id=f"h{i}",
        )
        for i in range(12)
    ]
    return easy + hard


def _perfect(scores: Scores) -> bool:
    """Every label that occurs is found exactly (labels absent from the data count as 0 in macro-F1)."""
    present = [v[2] for v in scores.per_label.values() if v[3] > 0]
    return bool(present) and all(f == 1.0 for f in present)


def _write_oof(path: Path, data: Path, proba: np.ndarray, fold: np.ndarray, sha: str | None = None) -> None:
    meta = {"version": "test", "data": data.name, "data_sha256": sha or data_sha256(data)}
    np.savez_compressed(
        path, proba=proba.astype(np.float16), fold=fold.astype(np.int8), meta=np.array(json.dumps(meta))
    )


def _data_and_folds(tmp_path: Path) -> tuple[list[Example], Path, list[np.ndarray], np.ndarray]:
    """The examples, a stand-in data file, 3 grouped folds and each row's fold."""
    examples = _examples()
    data = tmp_path / "dev.jsonl"
    data.write_text("rows\n")
    folds = grouped_folds(examples, 3)
    fold = np.zeros(len(examples), dtype=np.int64)
    for k, f in enumerate(folds):
        fold[f] = k
    return examples, data, folds, fold


def test_stored_probabilities_must_match_the_data_and_the_folds(tmp_path: Path) -> None:
    examples, data, folds, fold = _data_and_folds(tmp_path)
    proba = np.random.default_rng(1).random((len(examples), len(CR_IDS)))
    oof = tmp_path / "oof.npz"
    assert "not found" in str(load_encoder_oof(data, folds, oof))
    _write_oof(oof, data, proba, fold, sha="0" * 64)
    assert "other data" in str(load_encoder_oof(data, folds, oof))
    _write_oof(oof, data, proba, (fold + 1) % 3)
    assert "other folds" in str(load_encoder_oof(data, folds, oof))
    _write_oof(oof, data, proba, fold)
    loaded = load_encoder_oof(data, folds, oof)
    assert isinstance(loaded, EncoderOof)
    assert np.allclose(loaded.proba, proba, atol=1e-3)


@pytest.fixture(scope="module")
def cv_and_y() -> tuple[list[Example], object, np.ndarray]:
    examples = _examples()
    cv = cross_validate(examples, TrainConfig(), k=3)
    y = np.array([[cr in e.labels for cr in CR_IDS] for e in examples], dtype=np.float32)
    return examples, cv, y


def test_an_encoder_that_knows_the_answer_lifts_the_ensemble(
    cv_and_y: tuple[list[Example], object, np.ndarray],
) -> None:
    examples, cv, y = cv_and_y
    fold = np.zeros(len(examples), dtype=np.int64)
    oracle = EncoderOof(y, fold, {})
    # Weighted over half, the oracle decides every row (positives >= 0.6, negatives <= 0.4).
    result = ensemble_evaluation(examples, cv, oracle, weight=0.6)  # type: ignore[arg-type]
    assert _perfect(result.plain) and _perfect(result.context)
    assert not _perfect(result.ngram_plain)
    # Weight 0 is the n-gram model alone, scored the same way.
    alone = ensemble_evaluation(examples, cv, oracle, weight=0.0)  # type: ignore[arg-type]
    assert alone.plain.macro_f1 == alone.ngram_plain.macro_f1
    # The n-gram column is tuned as cross_validate tunes it (nested): the same figures.
    assert alone.ngram_context.macro_f1 == cv.context.macro_f1  # type: ignore[attr-defined]
    assert alone.ngram_plain.macro_f1 == cv.plain.macro_f1  # type: ignore[attr-defined]
    assert "macro-F1 with chapter" in format_ensemble(result)


def test_an_uninformative_encoder_does_not_help(cv_and_y: tuple[list[Example], object, np.ndarray]) -> None:
    examples, cv, y = cv_and_y
    noise = EncoderOof(np.random.default_rng(3).random(y.shape).astype(np.float32), np.zeros(len(y)), {})
    result = ensemble_evaluation(examples, cv, noise)  # type: ignore[arg-type]
    assert result.plain.macro_f1 <= result.ngram_plain.macro_f1 + 1e-9


def test_row_order_with_the_encoder(cv_and_y: tuple[list[Example], object, np.ndarray]) -> None:
    examples, cv, y = cv_and_y
    oracle = EncoderOof(y, np.zeros(len(y)), {})
    ensemble = ensemble_evaluation(examples, cv, oracle, weight=0.6)  # type: ignore[arg-type]
    in_order, shuffled, whole = sequence_evaluation(examples, cv, encoder=oracle, weight=0.6)  # type: ignore[arg-type]
    # Shuffled rows are read from their text alone: exactly the ensemble's text-only score.
    assert shuffled.coverage == 0.0 and shuffled.scores.macro_f1 == ensemble.plain.macro_f1
    # The chapter runs are read (the unlabelled-chapter rows at the end are not those runs).
    assert whole.coherent_folds == 1 and whole.chapter_accuracy > 0.9
    assert _perfect(in_order.scores) and _perfect(whole.scores)


VARIANTS = [None, "PC1", "PC2", "PC3", "PC4", "PC5", "PC6", "PC7"]


def _chapter_aware(y: np.ndarray, examples: list[Example]) -> EncoderOof:
    """Knows the answer only when told the row's true chapter; without it, or in another, it says nothing."""
    proba = np.full((len(y), len(VARIANTS), y.shape[1]), 0.5, dtype=np.float32)
    for i, e in enumerate(examples):
        if e.chapter is not None:
            proba[i, VARIANTS.index(e.chapter)] = y[i]
    return EncoderOof(proba, np.zeros(len(y), dtype=np.int64), {"variants": VARIANTS})


def test_a_chapter_aware_encoder_is_read_in_each_rows_chapter(
    cv_and_y: tuple[list[Example], object, np.ndarray],
) -> None:
    examples, cv, y = cv_and_y
    oof = _chapter_aware(y, examples)
    assert oof.chapter_aware
    first = examples[0]
    assert np.array_equal(oof.for_chapters([first.chapter], [0])[0], y[0])
    assert np.all(oof.plain() == 0.5)
    assert np.all(oof.for_chapters(["PC3"], [0]) == 0.5)
    with pytest.raises(ValueError):
        oof.for_chapters([None], [0, 1])
    result = ensemble_evaluation(examples, cv, oof, weight=0.6)  # type: ignore[arg-type]
    # Told the gold chapter it decides every chaptered row; the text-only column gets nothing from it.
    easy = [e for e in examples if e.chapter is not None]
    assert all(result.context.per_label[LABEL[pc]][2] == 1.0 for pc in {e.chapter for e in easy if e.chapter})
    assert result.plain.macro_f1 <= result.ngram_plain.macro_f1 + 1e-9
    # Along the row order it is read in the inferred chapter: the chapter runs come out right.
    whole = sequence_evaluation(examples, cv, encoder=oof, weight=0.6)[2]  # type: ignore[arg-type]
    assert all(whole.scores.per_label[LABEL[pc]][2] == 1.0 for pc in WORDS)


def test_stored_chapter_variants_must_be_named(tmp_path: Path) -> None:
    examples, data, folds, fold = _data_and_folds(tmp_path)
    proba = np.random.default_rng(2).random((len(examples), len(VARIANTS), len(CR_IDS)))
    oof = tmp_path / "oof.npz"
    _write_oof(oof, data, proba, fold)
    assert "variants" in str(load_encoder_oof(data, folds, oof))
    meta = {"version": "test", "data": data.name, "data_sha256": data_sha256(data), "variants": VARIANTS}
    np.savez_compressed(oof, proba=proba.astype(np.float16), fold=fold.astype(np.int8), meta=np.array(json.dumps(meta)))
    loaded = load_encoder_oof(data, folds, oof)
    assert isinstance(loaded, EncoderOof) and loaded.chapter_aware
    assert np.allclose(loaded.for_chapters(["PC7"], [4]), proba[4, 7], atol=1e-3)


def test_a_row_without_chapter_is_read_in_the_chapter_its_text_points_to() -> None:
    labels = len(CR_IDS)
    proba = np.zeros((2, len(VARIANTS), labels), dtype=np.float32)
    proba[:, VARIANTS.index("PC7")] = 0.9  # the PC7 reading, recognisable
    oof = EncoderOof(proba, np.zeros(2, dtype=np.int64), {"variants": VARIANTS})
    ngram = np.zeros((2, labels), dtype=np.float32)
    ngram[0, CR_IDS.index("CR23")] = 1.0  # row 0's text points to PC7 (cross-border); row 1's to nothing
    got = encoder_reading(oof, ngram, [None, None], weight=0.4, own_chapter_min=0.5)
    assert np.all(got[0] == proba[0, VARIANTS.index("PC7")]) and np.all(got[1] == proba[1, 0])
    # Off, or a known chapter: read without, or in that chapter.
    assert np.all(encoder_reading(oof, ngram, [None, None], 0.4, None) == proba[:, 0])
    assert np.all(encoder_reading(oof, ngram, ["PC2", None], 0.4, 0.5)[0] == proba[0, VARIANTS.index("PC2")])
