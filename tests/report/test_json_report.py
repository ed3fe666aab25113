"""JSON report: deterministic bytes, run metadata apart, valid against the published schemas."""

from __future__ import annotations

import functools
import importlib.util
import json
from pathlib import Path
from typing import Any

import jsonschema
import pytest

from appwarden.findings import RunInfo, ScanReport
from appwarden.report.json_report import (
    EVIDENCE_SCHEMA_FILE,
    EVIDENCE_SCHEMA_ID,
    SCAN_REPORT_SCHEMA_FILE,
    SCAN_REPORT_SCHEMA_ID,
    load_published_schema,
    render_json,
)

ROOT = Path(__file__).resolve().parents[2]
RUN = RunInfo(
    started_at="2026-11-29T07:00:00Z",
    finished_at="2026-11-29T07:00:02Z",
    duration_seconds=2.0,
    host="lab-1",
    input_path="/data/shop.apk",
)


@functools.cache
def _validator(name: str) -> jsonschema.Draft202012Validator:
    schema = load_published_schema(name)
    jsonschema.Draft202012Validator.check_schema(schema)
    return jsonschema.Draft202012Validator(schema, format_checker=jsonschema.Draft202012Validator.FORMAT_CHECKER)


def _keys_sorted(node: Any) -> bool:
    if isinstance(node, dict):
        return list(node) == sorted(node) and all(_keys_sorted(v) for v in node.values())
    if isinstance(node, list):
        return all(_keys_sorted(v) for v in node)
    return True


def test_same_report_gives_same_bytes_and_round_trips(handmade_report: ScanReport) -> None:
    first = render_json(handmade_report)
    again = render_json(ScanReport.model_validate_json(first))
    assert first == again
    assert first.endswith(b"\n")
    assert "<script>alert(1)</script>" in first.decode("utf-8")  # JSON keeps data as it is; escaping is HTML's job


def test_keys_are_sorted_and_findings_keep_engine_order(sdkdemo_report: ScanReport) -> None:
    document = json.loads(render_json(sdkdemo_report))
    assert _keys_sorted(document)
    assert [f["fingerprint"] for f in document["findings"]] == [f.fingerprint for f in sdkdemo_report.findings]


def test_run_metadata_only_when_given(handmade_report: ScanReport) -> None:
    plain = json.loads(render_json(handmade_report))
    with_run = json.loads(render_json(handmade_report, include_run=RUN))
    assert "run" not in plain
    assert with_run["run"]["host"] == "lab-1"
    assert with_run["run"]["duration_seconds"] == 2.0
    del with_run["run"]
    assert with_run == plain  # the run key is the only difference


def test_two_scans_of_one_apk_give_identical_json(examples_dir: Path) -> None:
    apk = examples_dir / "autostart.apk"
    if not apk.exists():
        pytest.skip("sample app autostart.apk is not built (run `make fixtures`)")
    from appwarden.pipeline import scan_apk

    assert render_json(scan_apk(apk)) == render_json(scan_apk(apk))


def test_published_schema_header() -> None:
    report_schema = load_published_schema(SCAN_REPORT_SCHEMA_FILE)
    evidence_schema = load_published_schema(EVIDENCE_SCHEMA_FILE)
    assert report_schema["$schema"] == "https://json-schema.org/draft/2020-12/schema"
    assert report_schema["$id"] == SCAN_REPORT_SCHEMA_ID
    assert report_schema["version"] == ScanReport.model_fields["schema_version"].default
    assert evidence_schema["$id"] == EVIDENCE_SCHEMA_ID


def test_real_reports_validate_against_published_schema(sample_reports: dict[str, ScanReport]) -> None:
    report_validator = _validator(SCAN_REPORT_SCHEMA_FILE)
    evidence_validator = _validator(EVIDENCE_SCHEMA_FILE)
    for name, report in sample_reports.items():
        document = json.loads(render_json(report, include_run=RUN))
        errors = [e.message for e in report_validator.iter_errors(document)]
        assert errors == [], name
        assert report.evidence is not None
        evidence_errors = [e.message for e in evidence_validator.iter_errors(document["evidence"])]
        assert evidence_errors == [], name


def test_handmade_report_validates(handmade_report: ScanReport) -> None:
    _validator(SCAN_REPORT_SCHEMA_FILE).validate(json.loads(render_json(handmade_report)))


def test_schema_rejects_what_the_model_rejects(handmade_report: ScanReport) -> None:
    validator = _validator(SCAN_REPORT_SCHEMA_FILE)
    document = json.loads(render_json(handmade_report))
    bad_severity = json.loads(json.dumps(document))
    bad_severity["findings"][0]["severity"] = "catastrophic"
    unknown_key = {**document, "surprise": 1}
    missing_app = {k: v for k, v in document.items() if k != "app"}
    for broken in (bad_severity, unknown_key, missing_app):
        assert not validator.is_valid(broken)


def test_shipped_schema_files_are_fresh() -> None:
    spec = importlib.util.spec_from_file_location("write_schemas", ROOT / "tools" / "write_schemas.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    for name, text in module.expected_files().items():
        shipped = (ROOT / "src" / "appwarden" / "report" / "schema" / name).read_text(encoding="utf-8")
        assert shipped == text, f"{name} is stale: run .venv/bin/python tools/write_schemas.py"
