"""`appwarden scan APP --trace FILE` runs the DYNAMIC rules on the app's recorded trace."""

from __future__ import annotations

import json
from pathlib import Path

from typer.testing import CliRunner

from appwarden.cli import app
from dynamic.tracekit import SDK_STACK, TraceBuilder
from support import example_apk

SDKDEMO = "com.appwarden.sample.sdkdemo"


def _scan(*args: str | Path) -> tuple[int, str]:
    result = CliRunner().invoke(app, ["scan", *map(str, args)])
    return result.exit_code, result.output


def test_pre_consent_collection_in_the_trace_becomes_a_dynamic_finding(tmp_path: Path) -> None:
    apk = example_apk("sdkdemo")
    trace = tmp_path / "trace.jsonl"
    trace.write_bytes(
        TraceBuilder(package=SDKDEMO, version_code=302)
        .start(0)
        .call(800, stack=SDK_STACK)
        .consent(5000, "agree")
        .jsonl()
    )
    out = tmp_path / "report.json"
    code, output = _scan(apk, "--trace", trace, "--format", "json", "-o", out)
    assert code == 0, output
    report = json.loads(out.read_text(encoding="utf-8"))
    dynamic = [f for f in report["findings"] if f["technique"] == "DYNAMIC"]
    assert dynamic, "a collection 800 ms before consent must be found"
    assert any(e["kind"] == "trace_event" for f in dynamic for e in f["evidence"])


def test_without_collection_before_consent_there_is_no_pre_consent_finding(tmp_path: Path) -> None:
    apk = example_apk("sdkdemo")
    trace = tmp_path / "trace.jsonl"
    trace.write_bytes(TraceBuilder(package=SDKDEMO, version_code=302).start(0).consent(500, "agree").jsonl())
    out = tmp_path / "report.json"
    code, output = _scan(apk, "--trace", trace, "--format", "json", "-o", out)
    assert code == 0, output
    report = json.loads(out.read_text(encoding="utf-8"))
    assert not [f for f in report["findings"] if f["technique"] == "DYNAMIC"]


def test_a_trace_of_another_app_is_refused(tmp_path: Path) -> None:
    apk = example_apk("sdkdemo")
    trace = tmp_path / "trace.jsonl"
    trace.write_bytes(TraceBuilder(package="com.other.app").start(0).jsonl())
    code, output = _scan(apk, "--trace", trace)
    assert code != 0
    assert "com.other.app" in output
