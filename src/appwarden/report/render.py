"""One entry point for every report format: what ``appwarden scan --report FMT`` calls."""

from __future__ import annotations

import json
import os
from collections.abc import Sequence
from pathlib import Path

from appwarden.errors import ConfigurationError
from appwarden.findings import RunInfo, ScanReport
from appwarden.report import i18n
from appwarden.report.html import render_html
from appwarden.report.json_report import render_json
from appwarden.report.sarif import render_sarif
from appwarden.report.xlsx import build_workbook

FORMATS: tuple[str, ...] = ("html", "json", "sarif", "xlsx")


def _single(report_or_reports: ScanReport | Sequence[ScanReport], fmt: str) -> ScanReport:
    if isinstance(report_or_reports, ScanReport):
        return report_or_reports
    reports = list(report_or_reports)
    if len(reports) != 1:
        raise ConfigurationError(
            f"the {fmt} report covers one app but {len(reports)} scan reports were given; "
            "write one file per app, or use the xlsx format for a summary across apps"
        )
    return reports[0]


def _temporary_sibling(target: Path) -> Path:
    return target.with_name(f".{target.name}.{os.getpid()}.tmp")


def _write_atomically(target: Path, payload: bytes) -> None:
    """Write ``payload`` to ``target`` via a sibling temporary file, so a reader never sees half a report.

    The temporary file is created with ``open`` (not ``mkstemp``) so that the report gets the
    permissions the user's umask gives, like any file the user writes.
    """
    tmp = _temporary_sibling(target)
    try:
        with open(tmp, "wb") as handle:
            handle.write(payload)
        os.replace(tmp, target)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise


def render(
    report_or_reports: ScanReport | Sequence[ScanReport],
    fmt: str,
    out_path: str | Path,
    lang: str = "zh",
    *,
    run: RunInfo | None = None,
) -> Path:
    """Write the report in ``fmt`` ("html", "json", "sarif" or "xlsx") to ``out_path``; return the path.

    xlsx takes a list of reports (a single report is accepted too); the other formats
    take one report (or a list of exactly one). ``lang`` ("zh" or "en") applies to
    HTML, XLSX and SARIF texts. Unknown formats, languages or an unwritable path raise
    ConfigurationError naming what to change.
    """
    if fmt not in FORMATS:
        raise ConfigurationError(f"unknown report format {fmt!r}; use one of: {', '.join(FORMATS)}")
    language = i18n.check_lang(lang)
    target = Path(out_path)
    try:
        target.parent.mkdir(parents=True, exist_ok=True)
        if fmt == "xlsx":
            reports = [report_or_reports] if isinstance(report_or_reports, ScanReport) else list(report_or_reports)
            workbook = build_workbook(reports, lang=language)
            tmp = _temporary_sibling(target)
            try:
                workbook.save(tmp)
                os.replace(tmp, target)
            except BaseException:
                tmp.unlink(missing_ok=True)
                raise
            return target
        report = _single(report_or_reports, fmt)
        if fmt == "json":
            payload = render_json(report, include_run=run)
        elif fmt == "html":
            payload = render_html(report, lang=language, run=run).encode("utf-8")
        else:
            sarif = render_sarif(report, lang=language)
            payload = (json.dumps(sarif, ensure_ascii=False, indent=2, sort_keys=True) + "\n").encode("utf-8")
        _write_atomically(target, payload)
    except OSError as exc:
        raise ConfigurationError(
            f"cannot write the {fmt} report to {target}: {exc.strerror or exc}; choose a writable --output path"
        ) from exc
    return target
