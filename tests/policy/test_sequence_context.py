"""Chapter read from the order of sentence rows (`classify.infer_sequence_chapters`, `classify_rows`)."""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from pathlib import Path

import numpy as np
from typer.testing import CliRunner

from appwarden.cli.policy import app
from appwarden.evidence.policy.classify import (
    CHAPTER_OF_CR,
    PC_IDS,
    SEQ_MIN_Z,
    classify_rows,
    classify_sentences,
    ids_increasing,
    infer_sequence_chapters,
    order_coherence,
)
from appwarden.evidence.policy.model import CR_IDS

runner = CliRunner()

# A sharing section as a policy writes it: the heading, then sentences. The third one ("keep it
# confidential") reads like a security measure (PC5) on its own; under this heading it is about sharing.
SHARING = [
    "四、我们如何共享、转让、公开披露您的个人信息",
    "我们会与授权合作伙伴共享您的设备信息，用于广告投放",
    "我们会要求其严格遵守保密义务",
    "事先获得您的明确授权或同意",
]
IDS = ["s1", "s2", "s3", "s4"]
SHUFFLE = [2, 0, 3, 1]


def test_ordered_rows_take_the_chapter_of_the_heading() -> None:
    got = classify_rows(SHARING, None, IDS)
    assert got.sequence is not None and got.sequence.coherent
    assert got.chapters == ["PC6"] * 4
    # The chapter is really used: each row is classified as if the chapter had been given with it.
    assert got.results == classify_sentences(SHARING, ["PC6"] * 4)


def test_the_same_rows_shuffled_are_read_from_text_alone() -> None:
    texts = [SHARING[i] for i in SHUFFLE]
    got = classify_rows(texts, None, [IDS[i] for i in SHUFFLE])
    assert got.sequence is not None and not got.sequence.coherent
    assert got.chapters == [None] * 4
    assert got.results == classify_sentences(texts)


def test_without_ids_a_small_file_is_not_trusted() -> None:
    # Four rows cannot show their order is coherent by themselves; nothing else says so.
    got = classify_rows(SHARING, None, None)
    assert got.chapters == [None] * 4


def test_an_explicit_chapter_wins() -> None:
    known: list[str | None] = [None, None, "PC7", None]
    # The pinned row keeps its chapter even against the heading above it (its neighbour below, pulled both
    # ways, may be left to text alone).
    assert classify_rows(SHARING, known, IDS).chapters[:3] == ["PC6", "PC6", "PC7"]
    shuffled = classify_rows([SHARING[i] for i in SHUFFLE], [known[i] for i in SHUFFLE], [IDS[i] for i in SHUFFLE])
    assert shuffled.chapters == ["PC7", None, None, None]


def test_context_off_reads_every_row_alone() -> None:
    got = classify_rows(SHARING, ["PC6", None, None, None], IDS, context=False)
    assert got.chapters == [None] * 4 and got.sequence is None
    assert got.results == classify_sentences(SHARING)


def _runs(chapters: list[str]) -> np.ndarray:
    """Text-only probabilities that point each row at its chapter (0.9 on the chapter's first label)."""
    proba = np.full((len(chapters), len(CR_IDS)), 0.01)
    for r, pc in enumerate(chapters):
        proba[r, CR_IDS.index(next(cr for cr in CR_IDS if CHAPTER_OF_CR[cr] == pc))] = 0.9
    return proba


def test_a_long_file_in_chapter_runs_is_coherent_and_its_shuffle_is_not() -> None:
    chapters = [pc for pc in PC_IDS for _ in range(20)]
    texts = ["x"] * len(chapters)
    ordered = infer_sequence_chapters(texts, _runs(chapters))
    assert ordered.coherent and ordered.z >= SEQ_MIN_Z
    assert ordered.chapters == chapters
    perm = np.random.default_rng(0).permutation(len(chapters))
    shuffled = infer_sequence_chapters(texts, _runs([chapters[i] for i in perm]), ids=[f"r{i}" for i in range(140)])
    # Increasing ids do not rescue a long file whose order the test can judge.
    assert not shuffled.coherent and shuffled.z < SEQ_MIN_Z
    assert shuffled.chapters == [None] * len(chapters)


def test_order_coherence() -> None:
    assert order_coherence([]) == (0.0, 0)
    assert order_coherence([3, 3, 3, 3]) == (0.0, 3)  # one chapter: order cannot be told
    z_runs, pairs = order_coherence([0] * 10 + [None] + [1] * 10)
    assert pairs == 19 and z_runs > SEQ_MIN_Z
    z_alternating, _ = order_coherence([0, 1] * 10)
    assert z_alternating < 0


def test_ids_increasing_uses_natural_order() -> None:
    assert ids_increasing(["s9", "s10", "s11"])
    assert ids_increasing([1, 2, 5])
    assert not ids_increasing(["s10", "s9"])
    assert not ids_increasing(["s1", "s1"])
    assert not ids_increasing(["s1", None])
    assert not ids_increasing(None)


def _write(path: Path, rows: Sequence[Mapping[str, object]]) -> None:
    path.write_text("\n".join(json.dumps(r, ensure_ascii=False) for r in rows) + "\n", encoding="utf-8")


def test_cli_uses_the_row_order(tmp_path: Path) -> None:
    ordered = [{"id": i, "text": t} for i, t in zip(IDS, SHARING, strict=True)]
    _write(tmp_path / "ordered.jsonl", ordered)
    _write(tmp_path / "shuffled.jsonl", [ordered[i] for i in SHUFFLE])
    pinned: list[dict[str, object]] = [dict(r) for r in ordered]
    pinned[2]["pc"] = "PC7"
    _write(tmp_path / "pinned.jsonl", pinned)
    used: dict[str, list[object]] = {}
    for name in ("ordered", "shuffled", "pinned"):
        out = tmp_path / f"{name}.out.jsonl"
        result = runner.invoke(app, ["classify", "--jsonl", str(tmp_path / f"{name}.jsonl"), "-o", str(out)])
        assert result.exit_code == 0, result.output
        used[name] = [json.loads(line)["chapter_used"] for line in out.read_text(encoding="utf-8").splitlines()]
    assert used["ordered"] == ["PC6"] * 4
    assert used["shuffled"] == [None] * 4
    assert used["pinned"][:3] == ["PC6", "PC6", "PC7"]
    out = tmp_path / "off.out.jsonl"
    result = runner.invoke(app, ["classify", "--jsonl", str(tmp_path / "pinned.jsonl"), "-o", str(out), "--no-context"])
    assert result.exit_code == 0, result.output
    assert [json.loads(line)["chapter_used"] for line in out.read_text(encoding="utf-8").splitlines()] == [None] * 4


def test_measurement_of_shuffled_rows_equals_text_alone() -> None:
    """evaluate --sequence: rows whose order is not coherent are scored exactly as the text-only CV."""
    from appwarden.evidence.policy.evaluate import Example, TrainConfig, cross_validate, sequence_evaluation

    words = {"PC2": "联系我们邮箱", "PC5": "收集您的位置信息", "PC6": "共享给合作伙伴", "PC7": "传输至境外"}
    label = {"PC2": "CR4", "PC5": "CR13", "PC6": "CR18", "PC7": "CR23"}
    examples = [
        Example(text=f"{words[pc]}{i}", chapter=pc, labels=frozenset({label[pc]}), group=f"g{pc}{i}", id=f"r{n}")
        for n, (pc, i) in enumerate((pc, i) for pc in words for i in range(15))
    ]
    cv = cross_validate(examples, TrainConfig(), k=3)
    in_order, shuffled, whole = sequence_evaluation(examples, cv)
    assert shuffled.coverage == 0.0 and shuffled.coherent_folds == 0
    assert shuffled.scores.macro_f1 == cv.plain.macro_f1
    # In order, four runs of one chapter are plainly coherent; the chapters read are the gold ones.
    assert whole.coherent_folds == 1 and whole.chapter_accuracy == 1.0
    assert in_order.sequences == 3
