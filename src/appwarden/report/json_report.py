"""The JSON report and its published JSON Schema.

The JSON form of a ``ScanReport`` is the archival artefact: the same APK scanned
by the same engine and catalog gives the same bytes. Object keys are sorted
(their order carries no meaning), lists keep the order the engine gave them
(findings are already sorted), and nothing time-dependent is in it. Run metadata
(times, host, input path) goes under a separate top-level ``"run"`` key, and only
when the caller asks for it, so a diff of two reports shows real changes only.

The JSON Schemas (draft 2020-12) are generated from the pydantic models and
shipped in ``report/schema/``; ``tools/write_schemas.py`` rewrites them and a
test fails when the shipped files are stale.
"""

from __future__ import annotations

import json
from importlib import resources
from pathlib import Path
from typing import Any

from appwarden.evidence.model import EVIDENCE_SCHEMA_VERSION, Evidence
from appwarden.findings import REPORT_SCHEMA_VERSION, RunInfo, ScanReport

JSON_SCHEMA_DIALECT = "https://json-schema.org/draft/2020-12/schema"
#: Stable identifiers of the published schemas. They are names, not fetched addresses:
#: validators resolve them from the shipped files, never from the network.
SCAN_REPORT_SCHEMA_ID = f"urn:appwarden:schema:scan-report:{REPORT_SCHEMA_VERSION}"
EVIDENCE_SCHEMA_ID = f"urn:appwarden:schema:evidence:{EVIDENCE_SCHEMA_VERSION}"

SCAN_REPORT_SCHEMA_FILE = "scan-report.schema.json"
EVIDENCE_SCHEMA_FILE = "evidence.schema.json"


def report_document(report: ScanReport, *, include_run: RunInfo | None = None) -> dict[str, Any]:
    """The JSON-ready dict of ``report``, with ``"run"`` added only when ``include_run`` is given."""
    document: dict[str, Any] = report.model_dump(mode="json")
    if include_run is not None:
        document["run"] = include_run.model_dump(mode="json")
    return document


def render_json(report: ScanReport, *, include_run: RunInfo | None = None) -> bytes:
    """UTF-8 JSON of ``report``: sorted keys, two-space indent, trailing newline.

    Deterministic: equal reports give equal bytes. ``include_run`` adds the
    non-deterministic run metadata under the top-level ``"run"`` key.
    """
    text = json.dumps(
        report_document(report, include_run=include_run),
        ensure_ascii=False,
        sort_keys=True,
        indent=2,
        allow_nan=False,
    )
    return (text + "\n").encode("utf-8")


def _with_header(schema: dict[str, Any], schema_id: str, title: str, version: str) -> dict[str, Any]:
    header: dict[str, Any] = {
        "$schema": JSON_SCHEMA_DIALECT,
        "$id": schema_id,
        "title": title,
        "version": version,
    }
    # The header first so that the file reads top-down; the body keeps pydantic's order.
    return {**header, **{k: v for k, v in schema.items() if k not in header}}


def scan_report_schema() -> dict[str, Any]:
    """JSON Schema (draft 2020-12) of the document ``render_json`` writes, optional ``run`` included."""
    schema = ScanReport.model_json_schema(mode="serialization")
    run_schema = RunInfo.model_json_schema(mode="serialization")
    defs: dict[str, Any] = schema.setdefault("$defs", {})
    defs["RunInfo"] = run_schema
    schema["properties"]["run"] = {
        "$ref": "#/$defs/RunInfo",
        "description": "Run metadata (not deterministic); present only when the producer adds it",
    }
    schema["description"] = (
        "appwarden scan report: app identity, app-type decision, findings with legal basis and evidence."
    )
    return _with_header(schema, SCAN_REPORT_SCHEMA_ID, "appwarden scan report", REPORT_SCHEMA_VERSION)


def evidence_schema() -> dict[str, Any]:
    """JSON Schema (draft 2020-12) of the evidence document (``Evidence.model_dump_json``)."""
    schema = Evidence.model_json_schema(mode="serialization")
    schema["description"] = "appwarden evidence: immutable facts about one app version, without judgement."
    return _with_header(schema, EVIDENCE_SCHEMA_ID, "appwarden evidence", EVIDENCE_SCHEMA_VERSION)


def schema_text(schema: dict[str, Any]) -> str:
    """The canonical text of a schema file (what ``tools/write_schemas.py`` writes)."""
    return json.dumps(schema, ensure_ascii=False, indent=2, sort_keys=False) + "\n"


def published_schema_path(name: str) -> Path:
    """Path of a shipped schema file (``SCAN_REPORT_SCHEMA_FILE`` or ``EVIDENCE_SCHEMA_FILE``)."""
    return Path(str(resources.files("appwarden.report") / "schema" / name))


def load_published_schema(name: str) -> dict[str, Any]:
    """The shipped schema file ``name`` parsed (validators use it; nothing is fetched)."""
    loaded: dict[str, Any] = json.loads(published_schema_path(name).read_text(encoding="utf-8"))
    return loaded
