"""The CR1–CR26 sentence classifier: features, model file, shipped model, honest measurement."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from appwarden.errors import ConfigurationError
from appwarden.evidence.policy.classify import (
    CUE_NAMES,
    PC_IDS,
    CrModel,
    char_ngrams,
    classify_sentences,
    load_model_file,
    save_model,
    shipped_model,
)
from appwarden.evidence.policy.evaluate import Example, group_label_agreement, grouped_folds, tune_thresholds
from appwarden.evidence.policy.model import CR_IDS

MODEL_DATA = Path(__file__).parents[2] / "src" / "appwarden" / "evidence" / "policy" / "model_data"


def _tiny_model() -> CrModel:
    """A hand-made model: '境外' and the PC7 chapter push CR23."""
    vocabulary = {"境": 0, "外": 1, "境外": 2, "收集": 3}
    n_terms = len(vocabulary)
    coef = np.zeros((n_terms + len(PC_IDS) + len(CUE_NAMES), len(CR_IDS)), dtype=np.float32)
    coef[2, CR_IDS.index("CR23")] = 4.0
    coef[n_terms + PC_IDS.index("PC7"), CR_IDS.index("CR23")] = 4.0
    return CrModel(
        version="test",
        vocabulary=vocabulary,
        idf=np.ones(n_terms, dtype=np.float32),
        coef=coef,
        intercept=np.full(len(CR_IDS), -3.0, dtype=np.float32),
        thresholds_context=np.full(len(CR_IDS), 0.5, dtype=np.float32),
        thresholds_plain=np.full(len(CR_IDS), 0.5, dtype=np.float32),
        chapter_weight=1.0,
        labels=CR_IDS,
    )


def test_char_ngrams_cover_one_to_four_characters() -> None:
    grams = char_ngrams("个人信息")
    assert grams["个"] == 1 and grams["个人信息"] == 1
    assert max(len(g) for g in grams) == 4
    assert char_ngrams("") == {}


def test_text_block_is_l2_normalised_and_chapter_is_one_hot() -> None:
    model = _tiny_model()
    idx, val = model.sparse_row("境外", "PC7")
    text = [v for i, v in zip(idx, val, strict=True) if i < model.n_terms]
    assert sum(v * v for v in text) == pytest.approx(1.0, abs=1e-6)
    assert (model.n_terms + PC_IDS.index("PC7"), 1.0) in list(zip(idx, val, strict=True))
    idx, _ = model.sparse_row("境外", None)
    assert not [i for i in idx if model.n_terms <= i < model.n_terms + len(PC_IDS)]


def test_known_chapter_raises_the_labels_it_supports() -> None:
    model = _tiny_model()
    p = model.predict_proba(["境外", "境外"], ["PC7", None])
    cr23 = CR_IDS.index("CR23")
    assert p[0, cr23] > p[1, cr23]


def test_model_file_round_trip(tmp_path: Path) -> None:
    model = _tiny_model()
    path = tmp_path / "m.npz"
    save_model(str(path), model)
    loaded = load_model_file(path)
    assert loaded.vocabulary == model.vocabulary
    np.testing.assert_allclose(
        loaded.predict_proba(["境外", "收集"], [None, "PC5"]),
        model.predict_proba(["境外", "收集"], [None, "PC5"]),
        atol=1e-3,
    )


def test_model_file_with_other_cues_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "old.npz"
    save_model(str(path), _tiny_model())
    with np.load(path) as z:
        arrays = {k: z[k] for k in z.files}
    meta = json.loads(str(arrays["meta"]))
    meta["cues"] = ["date"]
    arrays["meta"] = np.array(json.dumps(meta))
    np.savez_compressed(path, **arrays)
    with pytest.raises(ConfigurationError, match="does not match"):
        load_model_file(path)


def test_shipped_model_is_small_and_matches_its_recorded_metrics() -> None:
    assert (MODEL_DATA / "policy_cr_model.npz").stat().st_size < 10_000_000
    model = shipped_model()
    metrics = json.loads((MODEL_DATA / "metrics.json").read_text(encoding="utf-8"))
    assert metrics["model_version"] == model.version
    assert metrics["vocabulary_terms"] == model.n_terms
    assert set(metrics["per_label_text_only"]) == set(CR_IDS)
    macro = sum(v[2] for v in metrics["per_label_text_only"].values()) / len(CR_IDS)
    assert macro == pytest.approx(metrics["macro_f1_text_only"], abs=1e-3)


@pytest.mark.parametrize(
    ("sentence", "label"),
    [
        ("如您对本隐私政策有任何疑问，请发送邮件至 privacy@example.com 与我们联系", "CR4"),
        ("若您是未满14周岁的未成年人，在使用我们的服务前，应当取得您的父母或其他监护人的同意", "CR5"),
        ("我们会采取加密技术、访问控制等安全措施保护您的个人信息", "CR15"),
        ("我们仅在为您提供服务所必需的期限内保留您的个人信息", "CR14"),
    ],
)
def test_shipped_model_on_plain_sentences_without_chapter(sentence: str, label: str) -> None:
    (result,) = classify_sentences([sentence])
    assert label in [cr for cr, _ in result.labels]


def test_hostile_sentences_are_classified_not_refused() -> None:
    results = classify_sentences(["收集" * 200_000, "", "\x00\x01\n\t", "𠀀" * 5000])
    assert len(results) == 4
    assert all(len(r.scores) == len(CR_IDS) for r in results)


def test_grouped_folds_keep_groups_whole() -> None:
    examples = [Example(text=str(i), chapter=None, labels=frozenset(), group=f"g{i // 3}") for i in range(60)]
    folds = grouped_folds(examples, 5)
    assert sorted(int(i) for f in folds for i in f) == list(range(60))
    for fold in folds:
        groups = {examples[int(i)].group for i in fold}
        assert {i for i, e in enumerate(examples) if e.group in groups} == {int(i) for i in fold}


def test_label_agreement_of_near_duplicates() -> None:
    def ex(group: str, *labels: str) -> Example:
        return Example(text=group, chapter=None, labels=frozenset(labels), group=group)

    # g1 agrees; in g2 one of three members lacks CR20; g3 is a singleton and g4 too large: both left out.
    examples = [
        ex("g1", "CR1"),
        ex("g1", "CR1"),
        ex("g2", "CR18", "CR20"),
        ex("g2", "CR18", "CR20"),
        ex("g2", "CR18"),
        ex("g3", "CR5"),
        *[ex("g4", "CR9" if i % 2 else "CR10") for i in range(4)],
    ]
    agreement = group_label_agreement(examples, max_group=3)
    assert agreement.sentences == 5
    assert set(agreement.per_label) == {"CR1", "CR18", "CR20"}
    assert agreement.per_label["CR1"] == 1.0 and agreement.per_label["CR18"] == 1.0
    # CR20 in g2, pairs weighted 1/2 so each sentence counts once: the two labelled members predict
    # each other (tp 2 x 0.5) and the unlabelled one (fp 2 x 0.5); it predicts them (fn 2 x 0.5).
    assert agreement.per_label["CR20"] == pytest.approx(2 * 1.0 / (2 * 1.0 + 1.0 + 1.0))
    # Pairs with equal label sets: g1 2 of 2, g2 the two labelled members' mutual half-weights (1 of 3).
    assert agreement.exact == pytest.approx((2 + 1) / 5)


def test_thresholds_maximise_f1_on_their_sample() -> None:
    y = np.array([[True], [True], [False], [False]])
    proba = np.array([[0.9], [0.3], [0.2], [0.1]], dtype=np.float32)
    (th,) = tune_thresholds(y, proba)
    assert 0.2 < th <= 0.3


def labels(text: str) -> set[str]:
    """The labels the pattern rules alone give a sentence as written."""
    from appwarden.evidence.policy.classify import rule_labels
    from appwarden.evidence.policy.normalize import normalize_sentence

    return rule_labels(normalize_sentence(text))


def test_pattern_rules_for_withdrawal_personalisation_off_and_incident_notice() -> None:
    assert "CR8" in labels("您可以在设置中撤回您对我们的授权。")
    assert "CR9" in labels("您可以在“设置-隐私”中关闭个性化推荐。")
    assert "CR17" in labels("发生个人信息安全事件后,我们将及时通过推送、公告等方式告知您。")
    # Near misses: consent given, not withdrawn; personalisation described, not switched off.
    assert not labels("我们会在获得您的同意后收集位置信息。") & {"CR8", "CR9", "CR17"}
    assert "CR9" not in labels("我们会向您展示个性化推荐内容。")


def test_pattern_rule_for_how_policy_changes_are_announced() -> None:
    assert "CR7" in labels("本政策更新后,我们会在应用内以公告的形式通知您。")
    assert "CR7" in labels("更新后我们会在App首页弹窗提示。")
    assert "CR7" in labels("任何变更都会在我们的应用程序中公布。")
    # The policy changing, with no word on how users hear of it; an update of the app itself.
    assert "CR7" not in labels("本政策可能会随业务发展而调整。")
    assert "CR7" not in labels("我们会定期更新应用版本以修复安全漏洞。")


def test_pattern_rule_for_consent_to_a_transfer_abroad() -> None:
    assert "CR24" in labels("如确需向境外传输您的个人信息,我们会事先征得您的同意。")
    assert "CR24" in labels("如需跨境传输,我们将会单独征得您的授权同意。")
    # Stored in China, with no word on consent; consent for sharing at home.
    assert "CR24" not in labels("您的个人信息存储于中华人民共和国境内。")
    assert "CR24" not in labels("我们向合作方提供您的信息前会征得您的同意。")


def test_a_negated_sensitive_pi_sentence_is_no_cr16() -> None:
    from appwarden.evidence.policy.classify import negates_sensitive_collection

    for text in ("我们不会收集您的敏感个人信息。", "本应用不会申请任何敏感权限。", "我们不会主动收集您的敏感信息。"):
        assert negates_sensitive_collection(text), text
        assert "CR16" not in {label for label, _ in classify_sentences([text])[0].labels}, text
    # A condition under which it is collected is a notice; "不限于" is no negation of collecting.
    assert not negates_sensitive_collection("除非获得您的单独同意，我们不会收集您的敏感个人信息。")
    assert not negates_sensitive_collection("包括但不限于处理目的和敏感个人信息的种类。")
    assert "CR16" in {label for label, _ in classify_sentences(["精确位置、身份证号码属于个人敏感信息。"])[0].labels}
