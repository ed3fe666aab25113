"""Notices: rectification notice, public notification list, takedown order, SDK vendor notice.

A notice is built once from the database into a typed document (:class:`NoticeDocument`),
frozen as the notice's ``payload`` with its SHA-256, and rendered from that same
document as HTML (Jinja2), PDF (reportlab, CJK-capable), XLSX (openpyxl) and CSV.
Re-rendering an old notice therefore reproduces what was issued, even after the
underlying records moved on.
"""

from __future__ import annotations

import csv
import hashlib
import io
import uuid
from collections.abc import Iterable, Sequence
from datetime import date, datetime
from pathlib import Path
from typing import Literal

from jinja2 import Environment, FileSystemLoader, select_autoescape
from pydantic import BaseModel, ConfigDict, Field
from sqlalchemy import select
from sqlalchemy.orm import Session

from appwarden.governance import audit
from appwarden.governance.errors import InvalidInput, NotFound
from appwarden.governance.models import (
    App,
    AppVersion,
    AppVersionSdk,
    Case,
    Finding,
    Listing,
    ListingStatus,
    Notice,
    NoticeKind,
    Operator,
    Scan,
    Sdk,
    SdkVendor,
    Store,
)

TEMPLATES_DIR = Path(__file__).parent / "templates"
NoticeFormat = Literal["html", "pdf", "xlsx", "csv", "json"]
FORMATS: tuple[NoticeFormat, ...] = ("html", "pdf", "xlsx", "csv", "json")
_PREFIX = {
    NoticeKind.RECTIFICATION: "RN",
    NoticeKind.PUBLIC_LIST: "PN",
    NoticeKind.TAKEDOWN: "TO",
    NoticeKind.SDK_VENDOR: "SV",
}
_TITLES = {
    NoticeKind.RECTIFICATION: ("整改通知", "Rectification notice"),
    NoticeKind.PUBLIC_LIST: ("侵害用户权益行为的APP通报名单", "Public notification list"),
    NoticeKind.TAKEDOWN: ("下架通知", "Takedown order"),
    NoticeKind.SDK_VENDOR: ("第三方SDK问题通知", "SDK vendor notice"),
}


class NoticeProblem(BaseModel):
    model_config = ConfigDict(frozen=True)
    rule_id: str
    also_rule_ids: tuple[str, ...] = ()
    title_zh: str
    title_en: str
    severity: str
    basis: str = Field(description="Legal basis as printed: document, clause and catalog ref")
    owner: str
    sdk_vendor: str | None = None


class NoticeRow(BaseModel):
    """One app as a notice lists it."""

    model_config = ConfigDict(frozen=True)
    case_id: int | None = None
    app_name: str | None
    package: str
    version: str
    apk_sha256: str
    operator: str
    credit_code: str
    stores: list[str] = Field(default_factory=list)
    sdks: list[str] = Field(default_factory=list)
    problems: list[NoticeProblem] = Field(default_factory=list)


class NoticeDocument(BaseModel):
    """The data a notice is rendered from, whatever the format."""

    model_config = ConfigDict(frozen=True)
    kind: NoticeKind
    number: str
    title_zh: str
    title_en: str
    issued_at: datetime
    issued_by: str
    addressee: str = Field(description="Operator, store or SDK vendor the notice is addressed to; 'public' for lists")
    deadline: date | None = None
    campaign: str | None = None
    instructions_zh: str = ""
    instructions_en: str = ""
    rows: list[NoticeRow] = Field(default_factory=list)

    def table(self) -> tuple[list[str], list[list[str]]]:
        """One flat row per (app, problem): the projection XLSX, CSV and the PDF table share."""
        header = [
            "应用名称 App",
            "包名 Package",
            "版本 Version",
            "运营者 Operator",
            "统一社会信用代码 Credit code",
            "应用商店 Stores",
            "涉及SDK SDKs",
            "规则 Rule",
            "问题 Problem",
            "依据 Basis",
            "归属 Owner",
        ]
        body: list[list[str]] = []
        for row in self.rows:
            common = [
                row.app_name or "",
                row.package,
                row.version,
                row.operator,
                row.credit_code,
                "; ".join(row.stores),
                "; ".join(row.sdks),
            ]
            if not row.problems:
                body.append([*common, "", "", "", ""])
            for p in row.problems:
                body.append(
                    [
                        *common,
                        " + ".join((p.rule_id, *p.also_rule_ids)),
                        f"{p.title_zh} / {p.title_en}",
                        p.basis,
                        p.owner,
                    ]
                )
        return header, body


# --- building -----------------------------------------------------------------------------------------------------


def _basis_text(basis: Iterable[object]) -> str:
    parts = []
    for b in basis:
        if isinstance(b, dict):
            text = " ".join(str(b[k]) for k in ("doc", "clause") if b.get(k))
            if b.get("ref"):
                text += f" [{b['ref']}]"
            parts.append(text)
    return "; ".join(parts)


def problems_of(findings: Iterable[Finding], owner: str | None = None) -> list[NoticeProblem]:
    """Notice lines for findings (info-level findings are not violations and are left out)."""
    return [
        NoticeProblem(
            rule_id=f.rule_id,
            also_rule_ids=tuple(f.also_rule_ids or ()),
            title_zh=f.title_zh,
            title_en=f.title_en,
            severity=f.severity,
            basis=_basis_text(f.basis),
            owner=f.owner,
            sdk_vendor=f.sdk_vendor,
        )
        for f in findings
        if f.severity != "info" and (owner is None or f.owner == owner)
    ]


def sdks_of(session: Session, app_version_id: int, findings: Iterable[Finding]) -> list[str]:
    names = set(
        session.scalars(
            select(Sdk.name)
            .join(AppVersionSdk, AppVersionSdk.sdk_id == Sdk.id)
            .where(AppVersionSdk.app_version_id == app_version_id)
        )
    )
    names |= {f.owner for f in findings if f.owner != "app"}
    return sorted(names)


def _version_label(version: AppVersion) -> str:
    if version.version_name and version.version_code is not None:
        return f"{version.version_name} ({version.version_code})"
    return version.version_name or (str(version.version_code) if version.version_code is not None else "?")


def case_row(session: Session, case: Case, *, store_names: Sequence[str] | None = None) -> NoticeRow:
    scan = session.get(Scan, case.retest_scan_id or case.scan_id)
    findings = list(scan.findings) if scan else []
    version = session.get(AppVersion, scan.app_version_id if scan and scan.app_version_id else case.app_version_id)
    assert version is not None
    if store_names is None:
        store_names = list(
            session.scalars(
                select(Store.name)
                .join(Listing, Listing.store_id == Store.id)
                .where(Listing.app_id == case.app_id, Listing.status != ListingStatus.REJECTED.value)
                .order_by(Store.name)
            )
        )
    return NoticeRow(
        case_id=case.id,
        app_name=case.app.name,
        package=case.app.package,
        version=_version_label(version),
        apk_sha256=version.apk_sha256,
        operator=case.operator.legal_name,
        credit_code=case.operator.credit_code,
        stores=list(store_names),
        sdks=sdks_of(session, version.id, findings),
        problems=problems_of(findings),
    )


def _issue(
    session: Session,
    *,
    kind: NoticeKind,
    actor: str,
    now: datetime,
    addressee: str,
    rows: list[NoticeRow],
    cases: Sequence[Case] = (),
    deadline: date | None = None,
    campaign: str | None = None,
    instructions: tuple[str, str] = ("", ""),
    operator_id: int | None = None,
    store_id: int | None = None,
    sdk_vendor_id: int | None = None,
) -> Notice:
    notice = Notice(
        # The number embeds the row id, known only after the insert: a unique placeholder until then.
        number=f"pending-{uuid.uuid4().hex}",
        kind=kind.value,
        operator_id=operator_id,
        store_id=store_id,
        sdk_vendor_id=sdk_vendor_id,
        issued_at=now,
        issued_by=actor,
        payload={},
        payload_sha256="",
    )
    notice.cases = list(cases)
    session.add(notice)
    session.flush()
    notice.number = f"{_PREFIX[kind]}-{now.year}-{notice.id:06d}"
    title_zh, title_en = _TITLES[kind]
    document = NoticeDocument(
        kind=kind,
        number=notice.number,
        title_zh=title_zh,
        title_en=title_en,
        issued_at=now,
        issued_by=actor,
        addressee=addressee,
        deadline=deadline,
        campaign=campaign,
        instructions_zh=instructions[0],
        instructions_en=instructions[1],
        rows=rows,
    )
    notice.payload = document.model_dump(mode="json")
    notice.payload_sha256 = hashlib.sha256(audit.canonical_json(notice.payload).encode("utf-8")).hexdigest()
    session.flush()
    audit.append(
        session,
        actor=actor,
        action="notice.issue",
        entity_type="notice",
        entity_id=notice.id,
        payload={
            "number": notice.number,
            "kind": kind.value,
            "payload_sha256": notice.payload_sha256,
            "cases": [c.id for c in cases],
        },
        at=now,
    )
    return notice


def issue_rectification_notice(
    session: Session, operator: Operator, cases: Sequence[Case], *, deadline: date, actor: str, now: datetime
) -> Notice:
    """One notice to one operator listing each app's problems and the rectification deadline."""
    campaigns = sorted({c.campaign.name for c in cases if c.campaign is not None})
    return _issue(
        session,
        kind=NoticeKind.RECTIFICATION,
        actor=actor,
        now=now,
        addressee=f"{operator.legal_name} ({operator.credit_code})",
        rows=[case_row(session, c) for c in cases],
        cases=cases,
        deadline=deadline,
        campaign=", ".join(campaigns) or None,
        instructions=(
            f"请于{deadline.isoformat()}前完成整改并提交新版本复测，逾期未整改的将予以通报。",
            f"Rectify the problems below and submit a new version for re-test by {deadline.isoformat()}; "
            "apps not rectified by then will be publicly named.",
        ),
        operator_id=operator.id,
    )


def issue_public_list(session: Session, cases: Sequence[Case], *, actor: str, now: datetime) -> Notice:
    """The public notification list for a batch of publicly named cases."""
    if not cases:
        raise InvalidInput("a public notification list needs at least one publicly named case")
    return _issue(
        session,
        kind=NoticeKind.PUBLIC_LIST,
        actor=actor,
        now=now,
        addressee="public",
        rows=[case_row(session, c) for c in cases],
        cases=cases,
        instructions=(
            "以下APP存在侵害用户权益行为，经责令整改逾期未整改或复测未通过，现予以通报。",
            "The apps below infringe users' rights and were not rectified in time or failed re-test; "
            "they are hereby publicly named.",
        ),
    )


def issue_takedown_notice(session: Session, case: Case, store: Store, *, actor: str, now: datetime) -> Notice:
    return _issue(
        session,
        kind=NoticeKind.TAKEDOWN,
        actor=actor,
        now=now,
        addressee=store.name,
        rows=[case_row(session, case, store_names=[store.name])],
        cases=[case],
        instructions=(
            "请立即下架下列APP并在本系统确认。",
            "Remove the app below from your store at once and acknowledge this order in appwarden.",
        ),
        store_id=store.id,
    )


def sdk_vendor_rows(session: Session, vendor: SdkVendor) -> list[NoticeRow]:
    """Apps embedding the vendor's SDKs, each with the findings attributed to those SDKs."""
    sdks = list(session.scalars(select(Sdk).where(Sdk.vendor_id == vendor.id)))
    keys = {s.sdk_key for s in sdks}
    rows: list[NoticeRow] = []
    versions = session.scalars(
        select(AppVersion)
        .join(AppVersionSdk, AppVersionSdk.app_version_id == AppVersion.id)
        .where(AppVersionSdk.sdk_id.in_([s.id for s in sdks]))
        .distinct()
        .order_by(AppVersion.id)
    )
    for version in versions:
        scan = session.scalars(
            select(Scan).where(Scan.app_version_id == version.id, Scan.status == "done").order_by(Scan.id.desc())
        ).first()
        findings = [f for f in (scan.findings if scan else []) if f.owner in keys]
        app = session.get(App, version.app_id)
        assert app is not None
        rows.append(
            NoticeRow(
                app_name=app.name,
                package=app.package,
                version=_version_label(version),
                apk_sha256=version.apk_sha256,
                operator=app.operator.legal_name if app.operator else "",
                credit_code=app.operator.credit_code if app.operator else "",
                sdks=sorted(set(sdks_of(session, version.id, findings)) & {s.name for s in sdks}),
                problems=problems_of(findings),
            )
        )
    return rows


def issue_sdk_vendor_notice(session: Session, vendor: SdkVendor, *, actor: str, now: datetime) -> Notice:
    rows = sdk_vendor_rows(session, vendor)
    if not rows:
        raise InvalidInput(f"no scanned app embeds an SDK of vendor {vendor.name!r}; nothing to notify")
    return _issue(
        session,
        kind=NoticeKind.SDK_VENDOR,
        actor=actor,
        now=now,
        addressee=vendor.name,
        rows=rows,
        instructions=(
            "贵单位SDK在下列APP中存在以下问题，请督促整改并更新SDK及其个人信息处理规则。",
            "Your SDKs cause the problems below in these apps; fix the SDK and update its PI disclosure.",
        ),
        sdk_vendor_id=vendor.id,
    )


# --- rendering ----------------------------------------------------------------------------------------------------


def load_document(notice: Notice) -> NoticeDocument:
    return NoticeDocument.model_validate(notice.payload)


def get_notice(session: Session, notice_id: int) -> Notice:
    notice = session.get(Notice, notice_id)
    if notice is None:
        raise NotFound(f"notice {notice_id} does not exist")
    return notice


_env = Environment(loader=FileSystemLoader(TEMPLATES_DIR), autoescape=select_autoescape(["html", "j2"]))


def render_html(doc: NoticeDocument) -> str:
    return _env.get_template("notice.html.j2").render(doc=doc, table=doc.table())


def render_csv(doc: NoticeDocument) -> bytes:
    header, body = doc.table()
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(["notice", doc.number, doc.title_zh, doc.title_en, doc.issued_at.isoformat()])
    writer.writerow(header)
    for row in body:
        # A cell starting with = + - @ would be a formula to a spreadsheet: defuse it.
        writer.writerow([("'" + c) if c[:1] in ("=", "+", "-", "@") else c for c in row])
    # BOM so spreadsheet programs read the Chinese text as UTF-8.
    return ("\ufeff" + out.getvalue()).encode("utf-8")


def render_xlsx(doc: NoticeDocument) -> bytes:
    from openpyxl import Workbook
    from openpyxl.styles import Font

    wb = Workbook()
    ws = wb.active
    assert ws is not None
    ws.title = doc.number[:31]
    ws.append([doc.title_zh, doc.title_en])
    ws.append(["编号 Number", doc.number])
    ws.append(["发文时间 Issued", doc.issued_at.isoformat()])
    ws.append(["对象 Addressee", doc.addressee])
    if doc.deadline:
        ws.append(["整改期限 Deadline", doc.deadline.isoformat()])
    ws.append([])
    header, body = doc.table()
    ws.append(header)
    for cell in ws[ws.max_row]:
        cell.font = Font(bold=True)
    for row in body:
        ws.append([("'" + c) if c[:1] in ("=", "+", "-", "@") else c for c in row])
    out = io.BytesIO()
    wb.save(out)
    return out.getvalue()


_CJK_TTF_CANDIDATES = (
    ("/usr/share/fonts/truetype/wqy/wqy-microhei.ttc", 0),
    ("/usr/share/fonts/truetype/wqy/wqy-zenhei.ttc", 0),
    ("/usr/share/fonts/opentype/noto/NotoSansCJK-Regular.ttc", 0),
)


def _pdf_font() -> str:
    """Register a CJK font: an embedded TrueType font when one is installed, else a CID font."""
    from reportlab.pdfbase import pdfmetrics
    from reportlab.pdfbase.cidfonts import UnicodeCIDFont
    from reportlab.pdfbase.ttfonts import TTFont

    if "AwCJK" in pdfmetrics.getRegisteredFontNames():
        return "AwCJK"
    for path, index in _CJK_TTF_CANDIDATES:
        if Path(path).is_file():
            try:
                pdfmetrics.registerFont(TTFont("AwCJK", path, subfontIndex=index))
                return "AwCJK"
            except Exception:
                continue
    # STSong-Light needs no font file; viewers supply the glyphs (Adobe's Asian font pack).
    if "STSong-Light" not in pdfmetrics.getRegisteredFontNames():
        pdfmetrics.registerFont(UnicodeCIDFont("STSong-Light"))
    return "STSong-Light"


def render_pdf(doc: NoticeDocument) -> bytes:
    from xml.sax.saxutils import escape

    from reportlab.lib import colors
    from reportlab.lib.pagesizes import A4, landscape
    from reportlab.lib.styles import ParagraphStyle
    from reportlab.lib.units import mm
    from reportlab.platypus import Paragraph, SimpleDocTemplate, Spacer, Table, TableStyle

    font = _pdf_font()
    title = ParagraphStyle("t", fontName=font, fontSize=16, leading=22, wordWrap="CJK")
    body = ParagraphStyle("b", fontName=font, fontSize=9, leading=13, wordWrap="CJK")
    cell = ParagraphStyle("c", fontName=font, fontSize=7, leading=9, wordWrap="CJK")
    out = io.BytesIO()
    pdf = SimpleDocTemplate(
        out,
        pagesize=landscape(A4),
        leftMargin=12 * mm,
        rightMargin=12 * mm,
        topMargin=12 * mm,
        bottomMargin=12 * mm,
        title=f"{doc.number} {doc.title_en}",
        author=doc.issued_by,
        invariant=1,
    )
    story: list[object] = [
        Paragraph(escape(f"{doc.title_zh} {doc.title_en}"), title),
        Paragraph(escape(f"编号 Number: {doc.number}    发文时间 Issued: {doc.issued_at.isoformat()}"), body),
        Paragraph(escape(f"对象 Addressee: {doc.addressee}"), body),
    ]
    if doc.deadline:
        story.append(Paragraph(escape(f"整改期限 Deadline: {doc.deadline.isoformat()}"), body))
    if doc.campaign:
        story.append(Paragraph(escape(f"专项整治 Campaign: {doc.campaign}"), body))
    story += [
        Paragraph(escape(doc.instructions_zh), body),
        Paragraph(escape(doc.instructions_en), body),
        Spacer(1, 4 * mm),
    ]
    header, rows = doc.table()
    data = [[Paragraph(escape(c), cell) for c in header]] + [[Paragraph(escape(c), cell) for c in r] for r in rows]
    widths = [22, 30, 16, 30, 26, 24, 24, 16, 50, 48, 20]
    table = Table(data, colWidths=[w * mm for w in widths], repeatRows=1)
    table.setStyle(
        TableStyle(
            [
                ("GRID", (0, 0), (-1, -1), 0.25, colors.grey),
                ("BACKGROUND", (0, 0), (-1, 0), colors.HexColor("#e8e8e8")),
                ("VALIGN", (0, 0), (-1, -1), "TOP"),
            ]
        )
    )
    story.append(table)
    pdf.build(story)
    return out.getvalue()


MEDIA_TYPES: dict[str, str] = {
    "html": "text/html; charset=utf-8",
    "pdf": "application/pdf",
    "xlsx": "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
    "csv": "text/csv; charset=utf-8",
    "json": "application/json",
}


def render(notice: Notice, fmt: str) -> bytes:
    """The notice in one of :data:`FORMATS`, always from its frozen payload."""
    doc = load_document(notice)
    if fmt == "html":
        return render_html(doc).encode("utf-8")
    if fmt == "pdf":
        return render_pdf(doc)
    if fmt == "xlsx":
        return render_xlsx(doc)
    if fmt == "csv":
        return render_csv(doc)
    if fmt == "json":
        return doc.model_dump_json(indent=2).encode("utf-8")
    raise InvalidInput(f"unknown notice format {fmt!r}", detail=f"use one of {', '.join(FORMATS)}")
