"""Regenerate the published JSON Schemas in src/appwarden/report/schema/ from the pydantic models.

Run after changing src/appwarden/findings.py or src/appwarden/evidence/model.py:

    .venv/bin/python tools/write_schemas.py          # rewrite the files
    .venv/bin/python tools/write_schemas.py --check  # exit 1 when a file is stale

tests/report/test_json_report.py fails while the shipped files differ from the models.
"""

from __future__ import annotations

import sys
from pathlib import Path

from appwarden.report.json_report import (
    EVIDENCE_SCHEMA_FILE,
    SCAN_REPORT_SCHEMA_FILE,
    evidence_schema,
    scan_report_schema,
    schema_text,
)

SCHEMA_DIR = Path(__file__).resolve().parent.parent / "src" / "appwarden" / "report" / "schema"


def expected_files() -> dict[str, str]:
    """File name -> the text it must have."""
    return {
        SCAN_REPORT_SCHEMA_FILE: schema_text(scan_report_schema()),
        EVIDENCE_SCHEMA_FILE: schema_text(evidence_schema()),
    }


def main(argv: list[str]) -> int:
    check_only = "--check" in argv
    stale: list[str] = []
    for name, text in expected_files().items():
        path = SCHEMA_DIR / name
        current = path.read_text(encoding="utf-8") if path.exists() else None
        if current == text:
            continue
        stale.append(name)
        if not check_only:
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_text(text, encoding="utf-8")
            print(f"wrote {path}")
    if check_only and stale:
        print(f"stale schema files: {', '.join(stale)}; run tools/write_schemas.py", file=sys.stderr)
        return 1
    if not stale:
        print("schema files are up to date")
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
