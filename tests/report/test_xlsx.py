"""XLSX summary across apps, read back with openpyxl."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import openpyxl
import pytest

from appwarden.findings import ScanReport
from appwarden.report import i18n
from appwarden.report.xlsx import SHEET_TITLES, render_xlsx


def _rows(sheet: openpyxl.worksheet.worksheet.Worksheet) -> list[dict[str, object]]:
    values = list(sheet.iter_rows(values_only=True))
    header = [str(h) for h in values[0]]
    assert len(set(header)) == len(header), f"duplicate column titles in {sheet.title}: {header}"
    return [dict(zip(header, row, strict=True)) for row in values[1:]]


@pytest.mark.parametrize("lang", ["zh", "en"])
def test_three_sheets_with_frozen_header_filter_and_widths(
    sample_reports: dict[str, ScanReport], tmp_path: Path, lang: str
) -> None:
    reports = list(sample_reports.values())
    path = tmp_path / "summary.xlsx"
    render_xlsx(reports, path, lang=lang)
    workbook = openpyxl.load_workbook(path)
    assert workbook.sheetnames == list(SHEET_TITLES[lang])
    for sheet in workbook.worksheets:
        assert sheet.freeze_panes == "A2"
        assert sheet.auto_filter.ref == f"A1:{sheet.cell(1, sheet.max_column).column_letter}{sheet.max_row}"
        assert all(sheet.column_dimensions[c.column_letter].width >= 7 for c in sheet[1])
        assert all(c.font.bold for c in sheet[1])
    labels = i18n.LABELS[lang]

    apps = _rows(workbook.worksheets[0])
    assert [a[labels["package"]] for a in apps] == [r.app.package for r in reports]
    for row, report in zip(apps, reports, strict=True):
        assert row[labels["apk_sha256"]] == report.app.apk_sha256
        assert row[labels["total"]] == len(report.findings)
        worst = report.max_severity()
        assert row[labels["max_severity"]] == (i18n.severity_label(worst, lang) if worst else None)  # type: ignore[arg-type]
        high = i18n.severity_label("high", lang)  # type: ignore[arg-type]
        assert row[high] == sum(1 for f in report.findings if f.severity == "high")

    findings = _rows(workbook.worksheets[1])
    assert len(findings) == sum(len(r.findings) for r in reports)
    sdk_findings = [f for f in findings if f[labels["sdk_vendor"]]]
    assert sdk_findings, "the sample apps have SDK findings"
    assert all(f[labels["owner"]] != labels["app_owner"] for f in sdk_findings)
    assert all(f[labels["basis"]] for f in findings)

    sdks = _rows(workbook.worksheets[2])
    by_id = {s[labels["sdk_id"]]: s for s in sdks}
    umeng = by_id["umeng-analytics"]
    embedding = sorted(
        r.app.package for r in reports if r.evidence and any(s.id == "umeng-analytics" for s in r.evidence.sdks)
    )
    assert umeng[labels["app_count"]] == len(embedding)
    assert str(umeng[labels["app_list"]]).split(", ") == embedding
    assert umeng[labels["vendor"]]


def test_hostile_cell_text_stays_text(report_builder: Callable[..., ScanReport], tmp_path: Path) -> None:
    formula = '=HYPERLINK("http://evil.example","click")'
    reports = [
        report_builder(formula, package="com.example.a"),
        report_builder("bad\x00\x07label", package="com.example.b"),
    ]
    path = tmp_path / "hostile.xlsx"
    render_xlsx(reports, path, lang="en")
    sheet = openpyxl.load_workbook(path).worksheets[0]
    label_column = [c.value for c in sheet[1]].index(i18n.LABELS["en"]["app_label"]) + 1
    first = sheet.cell(2, label_column)
    assert first.value == formula and first.data_type == "s"
    assert sheet.cell(3, label_column).value == "badlabel"


def test_reports_without_evidence_still_list_sdks_from_findings(
    report_builder: Callable[..., ScanReport], tmp_path: Path
) -> None:
    report = report_builder("Shop")
    assert report.evidence is None
    path = tmp_path / "no-evidence.xlsx"
    render_xlsx([report], path, lang="en")
    sdks = _rows(openpyxl.load_workbook(path).worksheets[2])
    labels = i18n.LABELS["en"]
    assert {s[labels["sdk_id"]] for s in sdks} == {"umeng-analytics", "jpush"}
    assert {s[labels["sdk_id"]]: s[labels["findings_count"]] for s in sdks} == {"umeng-analytics": 2, "jpush": 1}


def test_empty_list_gives_header_only_workbook(tmp_path: Path) -> None:
    path = tmp_path / "empty.xlsx"
    render_xlsx([], path)
    workbook = openpyxl.load_workbook(path)
    assert [s.max_row for s in workbook.worksheets] == [1, 1, 1]
