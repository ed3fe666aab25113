"""Without --policy, a scan reads the privacy policy the APK bundles."""

from __future__ import annotations

import zipfile
from pathlib import Path

import pytest

from appwarden.evidence.model import BundledPolicy
from appwarden.evidence.policy_signals import main_privacy_policy
from appwarden.pipeline import scan_apk

DATA = Path(__file__).parent / "data"


def doc(path: str, size: int = 100, title: str | None = None) -> BundledPolicy:
    return BundledPolicy(path=path, size=size, sha256="0" * 64, media_type="text/html", title=title)


def test_the_privacy_policy_is_chosen_over_agreements_children_and_translations() -> None:
    agreement = doc("assets/user_agreement.html", 9000, "用户协议")
    assert main_privacy_policy([agreement, doc("res/raw/terms.txt", 5000)]) is None
    main = doc("assets/privacy_policy.html", 3000)
    children = doc("assets/children_privacy.html", 8000)
    english = doc("assets/privacy_en.html", 7000)
    assert main_privacy_policy([agreement, children, english, main]) == main
    # A policy known by its title only, when none is named as one.
    titled = doc("assets/web/index.html", 4000, "某某App隐私政策")
    assert main_privacy_policy([agreement, titled]) == titled
    # Several general policies: the larger, then the path, whatever the input order.
    short = doc("res/raw/yinsi.txt", 1000)
    assert main_privacy_policy([short, main]) == main == main_privacy_policy([main, short])


def _sample(examples_dir: Path) -> Path:
    apk = examples_dir / "policy.apk"
    if not apk.exists():
        pytest.skip("sample app policy.apk is not built (run `make fixtures`)")
    return apk


def test_scan_without_policy_reads_the_bundled_one(examples_dir: Path) -> None:
    apk = _sample(examples_dir)
    report = scan_apk(apk, include_evidence=False)
    assert report.policy is not None and report.policy["source"] == "policy.apk!/assets/privacy_policy.html"
    policy_rules = {f.rule_id for f in report.findings if f.technique == "POLICY"}
    # The sample reads contacts that its policy never declares, and the policy has no security measures.
    assert "AW-POLICY-002" in policy_rules and "AW-SAG-013" in policy_rules
    # A policy given on the command line wins over the bundled one.
    given = scan_apk(apk, policy_path=DATA / "sample_policy.html", include_evidence=False)
    assert given.policy is not None and given.policy["source"] == "sample_policy.html"


def test_an_unreadable_bundled_policy_is_a_warning_not_a_failure(examples_dir: Path, tmp_path: Path) -> None:
    apk = _sample(examples_dir)
    broken = tmp_path / "broken.apk"
    with zipfile.ZipFile(apk) as src, zipfile.ZipFile(broken, "w", zipfile.ZIP_DEFLATED) as out:
        for info in src.infolist():
            data = src.read(info)
            if info.filename == "assets/privacy_policy.html":
                data = bytes(range(256)) * 16  # binary, not a document
            out.writestr(info.filename, data)
    report = scan_apk(broken)
    assert report.policy is None
    assert report.evidence is not None
    (warning,) = [w for w in report.evidence.warnings if w.code == "bundled_policy_unreadable"]
    assert warning.where == "assets/privacy_policy.html" and "binary" in warning.message.lower()
    assert "AW-POLICY-002" in report.not_implemented


def test_demo_shows_the_bundled_policy_outline_and_the_scan_s_policy_findings(examples_dir: Path) -> None:
    import io

    from rich.console import Console

    from appwarden.cli.policy import demo_policy_section

    apk = _sample(examples_dir)
    report = scan_apk(apk)
    buffer = io.StringIO()
    demo_policy_section([apk], {apk.name: report}, Console(file=buffer, width=200))
    printed = buffer.getvalue()
    assert "source: policy.apk!/assets/privacy_policy.html" in printed
    assert "# 一、我们收集的个人信息" in printed
    policy_rules = [f.rule_id for f in report.findings if f.technique == "POLICY"]
    assert f"POLICY findings: {len(policy_rules)}" in printed and "AW-POLICY-002" in printed
    # An app whose scan read no policy prints nothing.
    buffer = io.StringIO()
    demo_policy_section([apk], {}, Console(file=buffer, width=200))
    assert buffer.getvalue() == ""
