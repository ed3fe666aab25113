"""The XLSX summary across many apps: what a lab hands over after a batch test.

Three sheets: apps (identity, worst severity, counts by severity), findings (one
row per finding, with its basis and the responsible SDK and vendor) and SDKs
(each SDK across the apps that embed it). Every sheet has a frozen header row,
an autofilter and set column widths.

Cell text comes from the APKs (labels, class names), so it is written as plain
strings only: a value starting with ``=`` is never a formula, and characters that
XML 1.0 cannot hold are dropped rather than failing the whole workbook.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from openpyxl import Workbook
from openpyxl.cell.cell import ILLEGAL_CHARACTERS_RE
from openpyxl.styles import Alignment, Font, PatternFill
from openpyxl.utils import get_column_letter
from openpyxl.worksheet.worksheet import Worksheet

from appwarden.evidence.model import APP_OWNER
from appwarden.findings import SEVERITY_ORDER, ScanReport
from appwarden.report import i18n
from appwarden.report.i18n import Lang

SEVERITIES: tuple[str, ...] = tuple(sorted(SEVERITY_ORDER, key=lambda s: -SEVERITY_ORDER[s]))
#: Excel's limit for the text of one cell.
MAX_CELL_CHARS = 32767

SHEET_TITLES: dict[str, tuple[str, str, str]] = {
    "zh": ("应用", "问题", "SDK"),
    "en": ("Apps", "Findings", "SDKs"),
}

_HEADER_FONT = Font(bold=True, color="FFFFFF")
_HEADER_FILL = PatternFill("solid", fgColor="37474F")


def cell_text(value: str) -> str:
    """``value`` made safe for a cell: XML-illegal characters dropped, cut to Excel's limit."""
    cleaned = ILLEGAL_CHARACTERS_RE.sub("", value)
    return cleaned if len(cleaned) <= MAX_CELL_CHARS else cleaned[: MAX_CELL_CHARS - 1] + "…"


def _write_row(sheet: Worksheet, values: Sequence[Any]) -> None:
    sheet.append([cell_text(v) if isinstance(v, str) else v for v in values])
    for cell in sheet[sheet.max_row]:
        if isinstance(cell.value, str):
            # openpyxl turns any string starting with "=" into a formula; app data must stay text.
            cell.data_type = "s"


def _finish(sheet: Worksheet, headers: Sequence[str], widths: Sequence[int]) -> None:
    assert len(headers) == len(widths), "one width per column"
    for column, width in enumerate(widths, start=1):
        cell = sheet.cell(row=1, column=column)
        cell.font = _HEADER_FONT
        cell.fill = _HEADER_FILL
        cell.alignment = Alignment(vertical="center", wrap_text=True)
        sheet.column_dimensions[get_column_letter(column)].width = width
    sheet.freeze_panes = "A2"
    sheet.auto_filter.ref = f"A1:{get_column_letter(len(headers))}{max(sheet.max_row, 1)}"


def _label(report: ScanReport, lang: Lang) -> str:
    app = report.app
    return ((app.label_zh or app.label) if lang == "zh" else (app.label or app.label_zh)) or ""


@dataclass
class _SdkAcrossApps:
    sdk_id: str
    name: str
    vendor: str
    categories: set[str] = field(default_factory=set)
    apps: set[str] = field(default_factory=set)
    initialised_in: set[str] = field(default_factory=set)
    reaches_pi: set[str] = field(default_factory=set)
    finding_count: int = 0


def _sdks_across(reports: Sequence[ScanReport], lang: Lang) -> list[_SdkAcrossApps]:
    """Each SDK with the apps that embed it: from the evidence, or from findings when evidence was left out."""
    sdks: dict[str, _SdkAcrossApps] = {}
    for report in reports:
        app_key = report.app.package
        if report.evidence is not None:
            for s in report.evidence.sdks:
                name = (s.name_zh or s.name) if lang == "zh" else s.name
                vendor = ((s.vendor_zh or s.vendor) if lang == "zh" else (s.vendor or s.vendor_zh)) or ""
                entry = sdks.setdefault(s.id, _SdkAcrossApps(s.id, name, vendor))
                entry.apps.add(app_key)
                entry.categories.update(s.categories)
                entry.reaches_pi.update(s.reaches_pi)
                if s.initialised:
                    entry.initialised_in.add(app_key)
        for f in report.findings:
            if f.owner == APP_OWNER:
                continue
            entry = sdks.setdefault(f.owner, _SdkAcrossApps(f.owner, f.owner, f.sdk_vendor or ""))
            entry.apps.add(app_key)
            entry.finding_count += 1
    return sorted(sdks.values(), key=lambda s: (-len(s.apps), s.sdk_id))


def build_workbook(reports: Sequence[ScanReport], *, lang: str = "zh") -> Workbook:
    """The summary workbook of ``reports`` (in the given order) with labels in ``lang``."""
    language = i18n.check_lang(lang)
    L = i18n.LABELS[language]
    apps_title, findings_title, sdks_title = SHEET_TITLES[language]
    workbook = Workbook()
    apps = workbook.active
    assert apps is not None  # a new Workbook always has one sheet
    apps.title = apps_title

    severity_names = [i18n.severity_label(s, language) for s in SEVERITIES]
    app_headers = [
        L["package"],
        L["version"],
        L["version_code"],
        L["app_label"],
        L["apk_sha256"],
        L["signer_sha256"],
        L["decided_type"],
        L["max_severity"],
        *severity_names,
        L["total"],
        L["undecided_count"],
        L["engine_version"],
        L["catalog_version"],
    ]
    _write_row(apps, app_headers)
    for report in reports:
        app = report.app
        worst = report.max_severity()
        counts = [sum(1 for f in report.findings if f.severity == s) for s in SEVERITIES]
        _write_row(
            apps,
            [
                app.package,
                app.version_name or "",
                app.version_code,
                _label(report, language),
                app.apk_sha256,
                ", ".join(sorted({s.sha256 for s in app.signers})),
                report.app_type.decided or "",
                i18n.severity_label(worst, language) if worst else "",
                *counts,
                len(report.findings),
                len(report.undecided),
                report.engine_version,
                report.catalog_version,
            ],
        )
    _finish(apps, app_headers, [34, 12, 10, 22, 66, 66, 20, 10, *([7] * len(SEVERITIES)), 8, 10, 10, 22])

    findings = workbook.create_sheet(findings_title)
    finding_headers = [
        L["package"],
        L["version"],
        L["app_label"],
        L["rule_id"],
        L["title"],
        L["severity"],
        L["confidence"],
        L["technique"],
        L["focus_area"],
        L["basis"],
        L["owner"],
        L["sdk_vendor"],
        L["message"],
        L["fingerprint"],
    ]
    _write_row(findings, finding_headers)
    zh = language == "zh"
    for report in reports:
        for f in report.findings:
            basis = "; ".join(
                " ".join(p for p in (b.doc, b.clause, f"[{b.ref}]" if b.ref else None) if p) for b in f.basis
            )
            _write_row(
                findings,
                [
                    report.app.package,
                    report.app.version_name or "",
                    _label(report, language),
                    f.rule_id,
                    f.title_zh if zh else f.title_en,
                    i18n.severity_label(f.severity, language),
                    i18n.confidence_label(f.confidence, language),
                    i18n.technique_label(f.technique, language),
                    i18n.focus_area_label(f.focus_area, language),
                    basis,
                    L["app_owner"] if f.owner == APP_OWNER else f.owner,
                    f.sdk_vendor or "",
                    f.message_zh if zh else f.message_en,
                    f.fingerprint,
                ],
            )
    _finish(findings, finding_headers, [34, 10, 20, 16, 44, 8, 8, 14, 22, 50, 20, 30, 80, 26])

    sdks = workbook.create_sheet(sdks_title)
    sdk_headers = [
        L["sdk_id"],
        L["sdk_name"],
        L["vendor"],
        L["categories"],
        L["app_count"],
        L["initialised_in"],
        L["findings_count"],
        L["reaches_pi"],
        L["app_list"],
    ]
    _write_row(sdks, sdk_headers)
    for s in _sdks_across(reports, language):
        _write_row(
            sdks,
            [
                s.sdk_id,
                s.name,
                s.vendor,
                ", ".join(sorted(s.categories)),
                len(s.apps),
                len(s.initialised_in),
                s.finding_count,
                ", ".join(i18n.pi_type_label(p, language) for p in sorted(s.reaches_pi)),
                ", ".join(sorted(s.apps)),
            ],
        )
    _finish(sdks, sdk_headers, [24, 30, 34, 18, 8, 10, 8, 40, 60])
    return workbook


def render_xlsx(reports: Sequence[ScanReport], path: str | Path, *, lang: str = "zh") -> None:
    """Write the summary workbook of ``reports`` to ``path`` (parent folders are created)."""
    target = Path(path)
    workbook = build_workbook(reports, lang=lang)
    target.parent.mkdir(parents=True, exist_ok=True)
    workbook.save(target)
