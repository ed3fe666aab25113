"""`appwarden policy analyse` and `appwarden policy classify`."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

from appwarden.cli.policy import app

DATA = Path(__file__).parent / "data"
runner = CliRunner()


def test_analyse_text_and_json() -> None:
    result = runner.invoke(app, ["analyse", str(DATA / "sample_policy.html")])
    assert result.exit_code == 0, result.output
    assert "杭州示例科技有限公司" in result.output and "covered:" in result.output
    result = runner.invoke(app, ["analyse", str(DATA / "sample_policy.html"), "--format", "json"])
    assert result.exit_code == 0
    data = json.loads(result.output)
    assert data["facts"]["operator_names"][0] == "杭州示例科技有限公司"


def test_analyse_refuses_an_empty_file_with_the_policy_exit_code(tmp_path: Path) -> None:
    empty = tmp_path / "empty.html"
    empty.write_bytes(b"")
    result = runner.invoke(app, ["analyse", str(empty)])
    assert result.exit_code == 3
    assert "empty" in result.output


def test_classify_jsonl(tmp_path: Path) -> None:
    src = tmp_path / "in.jsonl"
    rows = [
        {"id": "a", "text": "本政策更新日期:2024年3月1日", "cr": ["CR1"]},
        {"id": "b", "text": "获得您的单独同意", "pc": "PC7"},
        {"id": "c", "text": "若您是不满14周岁的未成年人,需取得监护人同意"},
    ]
    src.write_text("\n".join(json.dumps(r, ensure_ascii=False) for r in rows) + "\n", encoding="utf-8")
    out = tmp_path / "out.jsonl"
    result = runner.invoke(app, ["classify", "--jsonl", str(src), "-o", str(out)])
    assert result.exit_code == 0, result.output
    got = [json.loads(line) for line in out.read_text(encoding="utf-8").splitlines()]
    assert [g["id"] for g in got] == ["a", "b", "c"]
    assert got[0]["cr_gold"] == ["CR1"] and "CR1" in got[0]["labels"]
    assert "CR5" in got[2]["labels"]
    # "labels" is the predicted list (issue #4); "cr" repeats it for earlier users.
    assert all(g["cr"] == g["labels"] for g in got)
    assert got[1]["chapter_used"] == "PC7" and "CR24" in got[1]["labels"]
    assert set(got[1]["scores"]) == {f"CR{i}" for i in range(1, 27)}


def test_classify_jsonl_labels_are_sorted_and_gold_labels_kept(tmp_path: Path) -> None:
    src = tmp_path / "in.jsonl"
    rows = [
        {"id": "x1", "text": "我们会与授权合作伙伴共享您的设备信息，用于广告投放", "labels": ["CR22", "CR18"]},
        {"id": "x2", "text": "若您是不满14周岁的未成年人,需取得监护人同意"},
    ]
    src.write_text("\n".join(json.dumps(r, ensure_ascii=False) for r in rows) + "\n", encoding="utf-8")
    out = tmp_path / "out.jsonl"
    result = runner.invoke(app, ["classify", "--jsonl", str(src), "-o", str(out)])
    assert result.exit_code == 0, result.output
    got = [json.loads(line) for line in out.read_text(encoding="utf-8").splitlines()]
    assert got[0]["labels_gold"] == ["CR22", "CR18"] and "cr_gold" not in got[0]
    assert "labels_gold" not in got[1]
    order = [f"CR{i}" for i in range(1, 27)]
    for g in got:
        assert g["labels"] == sorted(g["labels"], key=order.index)
    assert {"CR18", "CR22"} <= set(got[0]["labels"])


def test_classify_keeps_good_rows_and_lists_bad_lines(tmp_path: Path) -> None:
    src = tmp_path / "bad.jsonl"
    lines = [
        json.dumps({"id": "a", "text": "本政策更新日期:2024年3月1日"}, ensure_ascii=False).encode("utf-8"),
        b"not json",
        json.dumps({"id": "b"}).encode(),
        b"",
        json.dumps({"id": "c", "text": "若您是不满14周岁的未成年人,需取得监护人同意"}, ensure_ascii=False).encode(
            "gb18030"
        ),
        b"\xff\xfe\x00garbage",
    ]
    src.write_bytes(b"\xef\xbb\xbf" + b"\n".join(lines) + b"\n")
    out = tmp_path / "o.jsonl"
    result = runner.invoke(app, ["classify", "--jsonl", str(src), "-o", str(out)])
    # Exit 3 says some input was unreadable, but nothing is lost: good rows are classified ...
    assert result.exit_code == 3
    got = [json.loads(line) for line in out.read_text(encoding="utf-8").splitlines()]
    assert [g["id"] for g in got] == ["a", "c"] and "CR5" in got[1]["labels"]
    # ... and the others are listed by line number with what is wrong.
    errors = [json.loads(line) for line in (tmp_path / "o.jsonl.errors.jsonl").read_text(encoding="utf-8").splitlines()]
    assert [(e["line"], e["error"].split(":")[0]) for e in errors] == [
        (2, "not valid JSON"),
        (3, "not a JSON object with a 'text' string"),
        (6, "not UTF-8 or GB18030 text"),
    ]
    assert errors[0]["raw"] == "not json"
    # A file with no readable line at all is refused as a whole.
    junk = tmp_path / "junk.jsonl"
    junk.write_bytes(b"not json\n[1, 2]\n")
    result = runner.invoke(app, ["classify", "--jsonl", str(junk), "-o", str(tmp_path / "j.jsonl")])
    assert result.exit_code == 3 and "no line holds" in result.output


def test_analyse_prints_the_outline_with_sentence_labels_and_the_findings_on_the_policy_alone(tmp_path: Path) -> None:
    policy = tmp_path / "p.html"
    policy.write_text(
        "<html><body><h1>示例隐私政策</h1><p>更新日期:2024年3月1日</p>"
        "<p>一、我们如何收集和使用您的个人信息</p><p>二、如何联系我们</p><p>三、其他</p>"
        "<h2>一、我们如何收集和使用您的个人信息</h2><p>为向您提供天气预报,我们会收集您的位置信息。</p>"
        "<h2>二、如何联系我们</h2><p>您可以发送邮件至 privacy@example.com 联系我们。</p>"
        "<h2>三、其他</h2><p>本政策的解释权归我们所有。</p></body></html>",
        encoding="utf-8",
    )
    result = runner.invoke(app, ["analyse", str(policy)])
    assert result.exit_code == 0, result.output
    lines = result.output.splitlines()
    assert "# 一、我们如何收集和使用您的个人信息" in lines
    # The contents list above the chapters is shown as such, not as more chapters.
    assert "· 二、如何联系我们" in lines and lines.count("# 二、如何联系我们") == 1
    located = next(line for line in lines if "位置信息" in line and "收集" in line)
    assert "CR13" in located.split()
    findings_at = next(i for i, line in enumerate(lines) if line.startswith("findings on the policy alone"))
    reported = "\n".join(lines[findings_at:])
    # No guardian-consent wording and no retention period: both are findings, each stating what is absent.
    assert "AW-POLICY-003" in reported and "CR14" in reported and "not found in the policy" in reported

    result = runner.invoke(app, ["analyse", str(policy), "--format", "json"])
    assert result.exit_code == 0
    data = json.loads(result.output)
    assert {f["rule_id"] for f in data["findings"]} >= {"AW-POLICY-003"}
    assert all(f["technique"] == "POLICY" for f in data["findings"])
    assert data["sections"] and data["sentences"][0]["is_heading"]


def test_classify_uses_the_encoder_unless_told_not_to(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from appwarden.evidence.policy import classify as classify_module
    from appwarden.evidence.policy.encoder import ENCODER_SWITCH, shipped_adapter_meta, shipped_encoder

    monkeypatch.delenv(ENCODER_SWITCH, raising=False)
    shipped_encoder.cache_clear()
    classify_module.shipped_classifier.cache_clear()
    try:
        src = tmp_path / "in.jsonl"
        src.write_text(json.dumps({"id": "a", "text": "我们会收集您的手机号码用于注册"}, ensure_ascii=False) + "\n")
        out = tmp_path / "out.jsonl"
        with_encoder = runner.invoke(app, ["classify", "--jsonl", str(src), "-o", str(out)])
        assert with_encoder.exit_code == 0, with_encoder.output
        adapters = shipped_adapter_meta()
        assert adapters is not None
        assert f"with cr-charlr-1+{adapters['version']} ->" in with_encoder.output
        alone = runner.invoke(app, ["classify", "--jsonl", str(src), "-o", str(out), "--no-encoder"])
        assert alone.exit_code == 0, alone.output
        assert "with cr-charlr-1 ->" in alone.output
    finally:
        shipped_encoder.cache_clear()
        classify_module.shipped_classifier.cache_clear()
