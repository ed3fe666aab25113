"""pipeline.evaluate / scan_apk: the report records versions, app type and timings stay outside it."""

from __future__ import annotations

import importlib.util
from pathlib import Path

import pytest

from appwarden import ENGINE_VERSION
from appwarden.errors import ConfigurationError, PolicyDocumentError
from appwarden.findings import ScanReport
from appwarden.pipeline import evaluate, read_bundled_policy, read_policy, scan_apk
from support import example_apk


def test_evaluate_records_versions_type_and_timings(ef) -> None:
    ev = ef.evidence(label="Calculator", permissions=[ef.permission("READ_CONTACTS", ["contacts"])])
    timings: dict[str, float] = {}
    report = evaluate(ev, timings=timings)
    assert report.engine_version == ENGINE_VERSION and "+" in report.catalog_version
    assert report.app_type.decided == "utility_tools"
    assert any(f.rule_id == "AW-MIN-002" for f in report.findings)
    assert report.evidence == ev
    assert set(timings) == {"app_type_seconds", "engine_seconds"}
    assert ScanReport.model_validate_json(report.model_dump_json()) == report
    assert evaluate(ev, include_evidence=False).evidence is None


def test_declared_type_overrides_and_bad_type_fails_before_reading(ef, tmp_path: Path) -> None:
    ev = ef.evidence(label="Calculator", permissions=[ef.permission("READ_CONTACTS", ["contacts"])])
    report = evaluate(ev, "online_shopping")
    assert report.app_type.decided == "online_shopping"
    assert not any(f.rule_id == "AW-MIN-002" for f in report.findings)
    with pytest.raises(ConfigurationError, match="unknown app type"):
        scan_apk(tmp_path / "does-not-exist.apk", app_type="nonsense")


def test_unreadable_policy_is_a_policy_error(tmp_path: Path) -> None:
    with pytest.raises(PolicyDocumentError, match="cannot read policy file"):
        read_policy(tmp_path / "missing.html")


@pytest.mark.skipif(
    importlib.util.find_spec("appwarden.evidence.extract") is None, reason="evidence extractor not built yet"
)
def test_scan_apk_flashlight_sample_end_to_end() -> None:
    """The bundled flashlight sample (label 手电筒) is judged as a tool app that needs no PI."""
    apk = example_apk("policy")
    timings: dict[str, float] = {}
    report = scan_apk(apk, timings=timings)
    assert report.app_type.decided == "utility_tools"
    assert "extract_seconds" in timings and "engine_seconds" in timings
    assert any(f.rule_id == "AW-MIN-002" for f in report.findings)
    assert report.evidence is not None
    # The sample bundles its privacy policy: without --policy the scan reads that one.
    assert "policy_seconds" in timings and report.policy is not None
    bundled, _ = read_bundled_policy(apk, report.evidence)
    # Re-judging the stored evidence (with the same policy) gives the same bytes: the rule stage is deterministic.
    assert evaluate(report.evidence, policy=bundled).model_dump_json() == report.model_dump_json()
