"""The format dispatcher the CLI calls: ``render.render(report_or_reports, fmt, path, lang=...)``."""

from __future__ import annotations

import json
import os
from pathlib import Path

import openpyxl
import pytest
from selectolax.lexbor import LexborHTMLParser

from appwarden.errors import ConfigurationError
from appwarden.findings import ScanReport
from appwarden.report import render
from appwarden.report.json_report import render_json


def test_each_format_is_written(handmade_report: ScanReport, tmp_path: Path) -> None:
    out = tmp_path / "nested" / "dir"
    assert render.render(handmade_report, "json", out / "r.json", lang="zh") == out / "r.json"
    assert (out / "r.json").read_bytes() == render_json(handmade_report)

    render.render(handmade_report, "html", out / "r.html", lang="en")
    tree = LexborHTMLParser((out / "r.html").read_text(encoding="utf-8"))
    root = tree.css_first("html")
    assert root is not None and root.attributes["lang"] == "en"

    render.render([handmade_report], "sarif", out / "r.sarif", lang="en")
    sarif = json.loads((out / "r.sarif").read_text(encoding="utf-8"))
    assert sarif["version"] == "2.1.0" and len(sarif["runs"][0]["results"]) == len(handmade_report.findings)

    render.render([handmade_report, handmade_report], "xlsx", out / "r.xlsx", lang="zh")
    assert openpyxl.load_workbook(out / "r.xlsx").worksheets[0].max_row == 3
    render.render(handmade_report, "xlsx", out / "one.xlsx", lang="en")  # a single report is accepted too
    assert openpyxl.load_workbook(out / "one.xlsx").worksheets[0].max_row == 2
    assert sorted(p.name for p in out.iterdir()) == ["one.xlsx", "r.html", "r.json", "r.sarif", "r.xlsx"]


def test_cli_report_formats_are_all_supported() -> None:
    from appwarden.cli.scan import ReportFormat

    assert {f.value for f in ReportFormat} == set(render.FORMATS)


@pytest.mark.parametrize(
    ("fmt", "lang", "message"),
    [("pdf", "zh", "unknown report format 'pdf'"), ("html", "de", "unsupported report language 'de'")],
)
def test_bad_format_or_language_is_refused(
    handmade_report: ScanReport, tmp_path: Path, fmt: str, lang: str, message: str
) -> None:
    with pytest.raises(ConfigurationError, match=message):
        render.render(handmade_report, fmt, tmp_path / "x", lang=lang)
    assert not (tmp_path / "x").exists()


def test_many_reports_for_a_one_app_format_is_refused(handmade_report: ScanReport, tmp_path: Path) -> None:
    with pytest.raises(ConfigurationError, match="xlsx"):
        render.render([handmade_report, handmade_report], "html", tmp_path / "x.html")


def test_unwritable_target_is_a_user_error(handmade_report: ScanReport, tmp_path: Path) -> None:
    blocker = tmp_path / "file"
    blocker.write_text("not a folder")
    with pytest.raises(ConfigurationError, match="cannot write the json report"):
        render.render(handmade_report, "json", blocker / "r.json")


def test_reports_get_the_umask_permissions(handmade_report: ScanReport, tmp_path: Path) -> None:
    umask = os.umask(0o022)
    try:
        for fmt in render.FORMATS:
            path = render.render(handmade_report, fmt, tmp_path / f"r.{fmt}")
            assert path.stat().st_mode & 0o777 == 0o644, fmt
    finally:
        os.umask(umask)
    assert sorted(p.name for p in tmp_path.iterdir()) == sorted(f"r.{fmt}" for fmt in render.FORMATS)
