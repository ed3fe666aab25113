"""Notices rendered from one frozen document as HTML, PDF (CJK), XLSX and CSV."""

from __future__ import annotations

import csv
import hashlib
import io
from datetime import timedelta
from pathlib import Path

from openpyxl import load_workbook
from pdfminer.high_level import extract_text

from appwarden.governance import audit, cases, jobs, notices, sdk_governance
from appwarden.governance.models import Notice, SdkVendor
from governance.govkit import CAL, T0, Database, credit_code, scanned, setup_case


def _rectification(database: Database, tmp_path: Path) -> int:
    with database.sessions() as s:
        case, _ = setup_case(s, tmp_path, stores_listing=1)
        (notice,) = cases.issue_notices(s, [case], actor="regulator:王", now=T0, calendar=CAL, default_workdays=5)
        s.commit()
        return notice.id


def test_html_and_payload(database: Database, tmp_path: Path) -> None:
    notice_id = _rectification(database, tmp_path)
    with database.sessions() as s:
        notice = notices.get_notice(s, notice_id)
        html = notices.render(notice, "html").decode("utf-8")
        assert "整改通知" in html and "示例科技有限公司" in html and "AW-SDK-001" in html
        assert "2026-03-09" in html and "TAF078.6 5.2.1 b) [R078.6-01]" in html
        assert "AW-INFO-1" not in html, "info findings are not violations"
        assert notice.payload_sha256 == hashlib.sha256(audit.canonical_json(notice.payload).encode()).hexdigest()
        # The document is frozen: renaming the operator later does not change the issued notice.
        notice.cases[0].operator.legal_name = "改名公司"
        s.flush()
        assert "示例科技有限公司" in notices.render(notice, "html").decode("utf-8")


def test_pdf_has_cjk_text(sqlite_database: Database, tmp_path: Path) -> None:
    notice_id = _rectification(sqlite_database, tmp_path)
    with sqlite_database.sessions() as s:
        pdf = notices.render(notices.get_notice(s, notice_id), "pdf")
    assert pdf.startswith(b"%PDF")
    text = extract_text(io.BytesIO(pdf))
    assert "整改通知" in text and "示例科技有限公司" in text and "AW-PERM-001" in text


def test_xlsx_and_csv(sqlite_database: Database, tmp_path: Path) -> None:
    with sqlite_database.sessions() as s:
        case, _ = setup_case(s, tmp_path, stores_listing=2)
        case.app.name = '=HYPERLINK("http://evil")<script>alert(1)</script>'
        cases.issue_notices(s, [case], actor="r", now=T0, calendar=CAL, default_workdays=1)
        cases.name_publicly(s, case, actor="r", reason="deadline", now=T0 + timedelta(days=3))
        public = notices.issue_public_list(s, [case], actor="r", now=T0 + timedelta(days=3))
        s.commit()
        xlsx = notices.render(public, "xlsx")
        raw_csv = notices.render(public, "csv")
        html = notices.render(public, "html").decode("utf-8")
    assert "<script>" not in html and "&lt;script&gt;" in html
    sheet = load_workbook(io.BytesIO(xlsx)).active
    assert sheet is not None
    values = [[c.value for c in row] for row in sheet.iter_rows()]
    header_row = next(i for i, row in enumerate(values) if row[0] == "应用名称 App")
    body = values[header_row + 1 :]
    assert len(body) == 2, "one row per violation"
    assert all(str(row[0]).startswith("'=") for row in body), "formulas are defused"
    assert body[0][5] == "Store 0; Store 1"
    rows = list(csv.reader(io.StringIO(raw_csv.decode("utf-8-sig"))))
    assert rows[1][0] == "应用名称 App" and rows[2][0].startswith("'=")
    assert {r[7] for r in rows[2:]} == {"AW-PERM-001", "AW-SDK-001"}


def test_sdk_vendor_notice(database: Database, tmp_path: Path) -> None:
    sdk_findings = [{"rule": "AW-SDK-001", "key": "init", "owner": "umeng", "vendor": "Umeng", "severity": "high"}]
    with database.sessions() as s:
        from appwarden.governance import stores

        operator = stores.upsert_operator(s, legal_name="甲公司", credit_code=credit_code(5), actor="t", now=T0)
        for package in ("com.a", "com.b"):
            scanned(s, tmp_path, package, findings=sdk_findings, operator=operator)
        scanned(s, tmp_path, "com.c", findings=[{"rule": "AW-PERM-001", "key": "x"}], operator=operator)
        s.commit()
        vendor = s.query(SdkVendor).filter_by(name="Umeng").one()
        profile = sdk_governance.vendor_profile(s, vendor)
        (sdk,) = profile["sdks"]
        assert sorted(a["package"] for a in sdk["apps"]) == ["com.a", "com.b"]
        assert sdk["findings"] == [{"rule_id": "AW-SDK-001", "severity": "high", "app_versions": 2}]
        notice = notices.issue_sdk_vendor_notice(s, vendor, actor="r", now=T0)
        s.commit()
        doc = notices.load_document(notice)
        assert doc.addressee == "Umeng" and sorted(r.package for r in doc.rows) == ["com.a", "com.b"]
        assert all(p.owner == "umeng" for r in doc.rows for p in r.problems)
        assert s.query(Notice).count() == 1
        _ = jobs


def test_a_problem_reported_under_several_standards_keeps_every_rule(sqlite_database: Database, tmp_path: Path) -> None:
    from appwarden.governance import stores
    from appwarden.governance.models import Finding

    merged = [{"rule": "AW-POLICY-004", "also": ["R078.2-05", "R077-CONTACT"], "key": "contact"}]
    with sqlite_database.sessions() as s:
        operator = stores.upsert_operator(
            s, legal_name="示例科技有限公司", credit_code=credit_code(3), actor="t", now=T0
        )
        scan = scanned(s, tmp_path, "com.merged", findings=merged, operator=operator)
        s.commit()
        stored = s.query(Finding).filter_by(scan_id=scan.id).one()
        assert stored.rule_id == "AW-POLICY-004" and stored.also_rule_ids == ["R078.2-05", "R077-CONTACT"]
        assert stores.review_verdict(scan)["findings"][0]["also_rule_ids"] == ["R078.2-05", "R077-CONTACT"]
        case = cases.open_case(s, scan, actor="lab:a", now=T0)
        (notice,) = cases.issue_notices(s, [case], actor="r", now=T0, calendar=CAL, default_workdays=5)
        s.commit()
        html = notices.render(notice, "html").decode("utf-8")
        raw_csv = notices.render(notice, "csv").decode("utf-8-sig")
    assert "AW-POLICY-004<br>+R078.2-05<br>+R077-CONTACT" in html
    rows = list(csv.reader(io.StringIO(raw_csv)))
    assert any("AW-POLICY-004 + R078.2-05 + R077-CONTACT" in row for row in rows)
