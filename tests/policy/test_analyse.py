"""End to end: a policy document to a PolicyAnalysis, with the shipped classifier (numpy only)."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from appwarden.errors import PolicyDocumentError
from appwarden.evidence.policy.analyse import analyse_policy, analyse_policy_file
from appwarden.evidence.policy.classify import chapter_of_headings, classify_sentences, rule_labels

DATA = Path(__file__).parent / "data"


@pytest.fixture(scope="module")
def sample():
    return analyse_policy_file(DATA / "sample_policy.html")


def test_sample_policy_structure_and_facts(sample) -> None:
    assert sample.format == "html" and sample.encoding == "utf-8"
    assert sample.title == "示例天气隐私政策"
    assert [s.heading for s in sample.sections if s.level == 1][:2] == [
        "一、我们如何收集和使用您的个人信息",
        "二、我们如何共享、转让、公开披露您的个人信息",
    ]
    facts = sample.facts
    assert facts.operator == "杭州示例科技有限公司"
    assert {"email", "phone", "address"} <= {c.kind for c in facts.contacts}
    assert {d.kind for d in facts.dates} >= {"updated", "effective"}
    assert {"location", "mobile_phone_number", "android_id"} <= facts.declared_pi_types
    ids = {s.sdk_id for s in facts.sdks}
    assert any(i and i.startswith("umeng") for i in ids)
    jpush = next(s for s in facts.sdks if s.name == "极光推送SDK")
    assert jpush.purpose is None


def test_sample_policy_disclosures(sample) -> None:
    for cr in ("CR1", "CR4", "CR5", "CR10", "CR13", "CR14", "CR15"):
        assert sample.covered(cr), cr
    assert not sample.covered("CR23")  # nothing about cross-border transfer
    quoted = sample.covering_sentences("CR5")
    assert any("监护人" in s.text for s in quoted)
    # Every labelled sentence carries its section path.
    minors = next(s for s in sample.sentences if "监护人" in s.text)
    assert minors.section_path == ["五、未成年人个人信息保护"]


def test_traditional_chinese_gbk_page_reads_the_same() -> None:
    html = (DATA / "sample_policy.html").read_text(encoding="utf-8")
    simplified = analyse_policy(html.encode("utf-8"), filename="a.html")
    import opencc

    traditional = opencc.OpenCC("s2t").convert(html).replace('charset="utf-8"', 'charset="gb2312"')
    big5 = analyse_policy(traditional.encode("big5", errors="replace"), filename="b.html")
    assert big5.facts.operator == simplified.facts.operator
    assert [c.label for c in big5.coverage] == [c.label for c in simplified.coverage] or len(big5.coverage) >= len(
        simplified.coverage
    ) - 2


def test_rules_and_chapter_cues() -> None:
    assert "CR1" in rule_labels("本政策更新日期:2024年3月1日")
    assert "CR4" in rule_labels("如有疑问请发送邮件至 privacy@example.com")
    assert chapter_of_headings(["六、个人信息跨境传输"]) == "PC7"
    assert chapter_of_headings(["五、未成年人个人信息保护"]) == "PC3"
    assert chapter_of_headings(["七、如何联系我们"]) == "PC2"
    assert chapter_of_headings(["其他"]) is None


def test_heading_context_changes_the_reading_of_a_short_item() -> None:
    plain, cross_border = classify_sentences(["获得您的单独同意"] * 2, [None, "PC7"])
    assert "CR24" in {lb for lb, _ in cross_border.labels}
    assert cross_border.scores[23] > plain.scores[23]


def test_inference_does_not_import_scikit_learn() -> None:
    code = (
        "import sys; from appwarden.evidence.policy.classify import classify_sentences;"
        "classify_sentences(['我们会收集您的手机号码用于注册']);"
        "print(any(m.startswith('sklearn') for m in sys.modules))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "False"


def test_bad_documents_raise_policy_document_error(tmp_path: Path) -> None:
    with pytest.raises(PolicyDocumentError, match=r"privacy-policy\.html"):
        analyse_policy(b"", filename="privacy-policy.html")
    with pytest.raises(PolicyDocumentError):
        analyse_policy(bytes(range(256)) * 100)
    with pytest.raises(PolicyDocumentError):
        analyse_policy_file(tmp_path / "missing.html")


def test_analysis_is_json_serialisable_and_deterministic(sample) -> None:
    again = analyse_policy_file(DATA / "sample_policy.html")
    assert again.model_dump_json() == sample.model_dump_json()
    summary = json.loads(json.dumps(sample.summary()))
    assert summary["operator"] == "杭州示例科技有限公司"


def test_policy_bundled_in_the_sample_apk(examples_dir: Path) -> None:
    import zipfile

    apk = examples_dir / "policy.apk"
    if not apk.exists():
        pytest.skip("sample app policy.apk is not built (run `make fixtures`)")
    with zipfile.ZipFile(apk) as zf:
        data = zf.read("assets/privacy_policy.html")
    analysis = analyse_policy(data, filename="assets/privacy_policy.html")
    assert analysis.facts.operator == "示例光源科技(北京)有限公司"
    assert [s.sdk_id for s in analysis.facts.sdks] == ["umeng-analytics"]
    assert analysis.facts.sdks[0].vendor == "友盟同欣(北京)科技有限公司"
    declared = analysis.facts.declared_pi_types
    assert "android_id" in declared
    assert "contacts" not in declared  # the app reads contacts that the policy never declares
    assert not analysis.covered("CR15")  # the policy says nothing about security measures


def test_sentences_keep_their_published_wording_for_quotes() -> None:
    from appwarden.rules.checks.policy_common import sentence_ref

    text = "一、我們如何收集資訊\n我們會收集您的位置資訊（ＧＰＳ），用於天氣預報。如您有疑問，請聯繫我們。\n二、其他\n本政策自2024年1月1日起生效。"
    analysis = analyse_policy(text.encode("big5", "replace"), filename="policy.txt")
    by_text = {s.text: s for s in analysis.sentences}
    gps = next(s for s in analysis.sentences if "位置" in s.text)
    # Rules read the normalised form; the quote is the policy's own words, verbatim.
    assert "(" in gps.text and "资讯" in gps.text
    assert gps.original_text == "我們會收集您的位置資訊（ＧＰＳ），用於天氣預報。"
    ref = sentence_ref(analysis, gps)
    assert "我們會收集您的位置資訊（ＧＰＳ）" in ref.summary
    assert ref.data["text"] == gps.original_text and ref.data["normalised_text"] == gps.text
    # A sentence the normalisation leaves as it is carries no second copy.
    assert by_text["本政策自2024年1月1日起生效。"].original_text is None


def test_findings_show_section_names_as_a_traditional_policy_writes_them() -> None:
    from appwarden.rules.checks.policy_common import sentence_ref

    html = (
        "<h1>隱私權政策</h1><h2>一、我們如何收集您的個人資料</h2><p>我們會收集您的手機號碼，用於註冊帳號。</p>"
        "<h2>二、聯絡我們</h2><p>如有疑問，請寄信至 privacy@example.com。</p>"
    )
    policy = analyse_policy(html, filename="p.html")
    contact = next(s for s in policy.sentences if "privacy@example.com" in s.text)
    # What was judged is Simplified; what is shown is the document's own wording.
    assert contact.section_path == ["二、联络我们"]
    assert policy.shown_path(contact.section_path) == ["二、聯絡我們"]
    ref = sentence_ref(policy, contact)
    assert ref.summary.startswith("[二、聯絡我們] “如有疑問")
    assert ref.data["section_path"] == ["二、联络我们"]
