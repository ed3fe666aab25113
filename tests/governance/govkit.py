"""Test kit for governance: databases on SQLite and PostgreSQL, fake APKs and a fake scanner.

The fake scanner is a test double injected through the executor interface: its
"APK" is a small JSON document naming the package, version, SDKs and findings, so
governance logic can be tested without the real pipeline. End-to-end tests use
the real ``appwarden.pipeline.scan_apk`` on the built sample apps.
"""

from __future__ import annotations

import hashlib
import json
import os
import sys
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import Engine, create_engine, text
from sqlalchemy.orm import Session, sessionmaker

from appwarden.config import Settings, load_settings
from appwarden.evidence.model import Evidence, Identity, SdkMatch
from appwarden.findings import AppTypeDecision, Finding, LegalBasis, ScanReport
from appwarden.governance import cases, db, jobs, stores
from appwarden.governance.models import Listing, ListingStatus, Scan, Store, uscc_check_char
from appwarden.governance.workdays import WorkCalendar

PG_URL = os.environ.get("APPWARDEN_TEST_PG_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/test")
_pg_state: dict[str, bool] = {}


def pg_available() -> bool:
    if "ok" not in _pg_state:
        try:
            engine = create_engine(PG_URL, connect_args={"connect_timeout": 3})
            with engine.connect() as conn:
                conn.execute(text("select 1"))
            engine.dispose()
            _pg_state["ok"] = True
        except Exception as exc:
            _pg_state["ok"] = False
            print(
                f"\n!!!!! PostgreSQL is NOT reachable at {PG_URL} ({type(exc).__name__}): "
                "PostgreSQL governance tests are SKIPPED !!!!!\n",
                file=sys.stderr,
            )
    return _pg_state["ok"]


_summary_printed: list[bool] = []


def report_postgres(terminalreporter: Any) -> None:
    """End-of-run banner when the PostgreSQL half of the suite could not run (printed once)."""
    if _summary_printed:
        return
    _summary_printed.append(True)
    if not pg_available():
        terminalreporter.write_sep(
            "!", f"PostgreSQL NOT reachable at {PG_URL}: governance/API PostgreSQL tests were SKIPPED", red=True
        )


@dataclass
class Database:
    kind: str
    settings: Settings
    sessions: sessionmaker[Session]


_templates: dict[str, Any] = {}


def _sqlite_template() -> Path:
    """A migrated SQLite file made once per test run; each test gets a copy (migrations are slow)."""
    if "sqlite" not in _templates:
        import tempfile

        home = Path(tempfile.mkdtemp(prefix="aw-gov-template-"))
        engine = db.make_engine(load_settings({}, home=home))
        db.upgrade(engine)
        engine.dispose()
        _templates["sqlite"] = home / "appwarden.db"
    path: Path = _templates["sqlite"]
    return path


def _pg_schema() -> str:
    """One migrated PostgreSQL schema per test run (unique name, so parallel runs do not collide)."""
    if "postgres" not in _templates:
        import atexit

        schema = f"aw_t_{os.getpid()}_{uuid.uuid4().hex[:8]}"
        engine = db.make_engine(load_settings({}, database_url=PG_URL, database_schema=schema))
        db.upgrade(engine)
        engine.dispose()
        _templates["postgres"] = schema

        atexit.register(drop_test_schema)  # fallback; pytest_sessionfinish normally drops it first
    schema_name: str = _templates["postgres"]
    return schema_name


def drop_test_schema() -> None:
    """Remove this run's PostgreSQL schema (called at session end; xdist workers skip atexit)."""
    schema = _templates.pop("postgres", None)
    if schema:
        cleanup = create_engine(PG_URL)
        db.drop_schema(cleanup, schema)
        cleanup.dispose()


def _truncate_all(engine: Engine) -> None:
    from appwarden.governance.audit import GENESIS_HASH, HEAD_ID
    from appwarden.governance.models import Base

    # DELETE, not TRUNCATE: on a couple of rows per table it is several times faster.
    with engine.begin() as conn:
        for table in reversed(Base.metadata.sorted_tables):
            conn.execute(table.delete())
        conn.execute(
            text("INSERT INTO audit_head (id, seq, hash) VALUES (:id, 0, :h)"), {"id": HEAD_ID, "h": GENESIS_HASH}
        )


def open_database(kind: str, tmp_path: Path, **overrides: Any) -> Iterator[Database]:
    """A migrated, empty database of ``kind`` ('sqlite' or 'postgres')."""
    if kind == "postgres":
        if not pg_available():
            pytest.skip(f"PostgreSQL not reachable at {PG_URL}")
        settings = load_settings({}, home=tmp_path, database_url=PG_URL, database_schema=_pg_schema(), **overrides)
        engine = db.make_engine(settings)
        _truncate_all(engine)
    else:
        import shutil

        tmp_path.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(_sqlite_template(), tmp_path / "appwarden.db")
        settings = load_settings({}, home=tmp_path, **overrides)
        engine = db.make_engine(settings)
    try:
        yield Database(kind, settings, db.make_sessionmaker(engine))
    finally:
        engine.dispose()


def credit_code(seed: int) -> str:
    """A valid unified social credit code (GB 32100-2015 check digit) for test operators."""
    body = f"91110000{seed:09d}"
    return body + uscc_check_char(body)


def fake_apk(
    directory: Path,
    package: str,
    *,
    version_code: int = 1,
    findings: list[dict[str, Any]] | None = None,
    sdks: list[dict[str, str]] | None = None,
) -> Path:
    """Write a fake APK document the fake scanner understands; findings: {rule, also, key, severity, owner, vendor}."""
    doc = {
        "package": package,
        "version_code": version_code,
        "findings": findings or [],
        "sdks": sdks or [],
    }
    path = directory / f"{package}-{version_code}-{uuid.uuid4().hex[:6]}.apk"
    path.write_text(json.dumps(doc), encoding="utf-8")
    return path


def fake_scan_apk(
    path: str | Path, *, app_type: str | None = None, policy_path: str | None = None, include_evidence: bool = True
) -> ScanReport:
    raw = Path(path).read_bytes()
    doc = json.loads(raw)
    identity = Identity(
        package=doc["package"],
        version_name=f"1.{doc['version_code']}",
        version_code=doc["version_code"],
        label=doc["package"].rsplit(".", 1)[-1],
        apk_sha256=hashlib.sha256(raw).hexdigest(),
        apk_size=len(raw),
    )
    findings = []
    for f in doc["findings"]:
        owner = f.get("owner", "app")
        findings.append(
            Finding(
                rule_id=f["rule"],
                also_rule_ids=f.get("also", []),
                title_zh=f"问题 {f['rule']}",
                title_en=f"Problem {f['rule']}",
                severity=f.get("severity", "high"),
                confidence="high",
                technique="STATIC",
                focus_area=f.get("focus"),
                basis=[LegalBasis(doc="TAF078.6", clause="5.2.1 b)", ref="R078.6-01")],
                message_zh="消息",
                message_en="message",
                owner=owner,
                sdk_vendor=f.get("vendor"),
                fingerprint=Finding.make_fingerprint(f["rule"], owner, f.get("key", "")),
            )
        )
    if policy_path is not None:
        # Lets tests see that the policy document reached the scanner.
        text_value = Path(policy_path).read_text(encoding="utf-8", errors="replace")[:40]
        findings.append(
            Finding(
                rule_id="AW-POLICY-SEEN",
                title_zh="已读取隐私政策",
                title_en=f"Policy read: {Path(policy_path).suffix} {text_value}",
                severity="info",
                confidence="high",
                technique="POLICY",
                basis=[],
                message_zh="",
                message_en="",
                fingerprint=Finding.make_fingerprint("AW-POLICY-SEEN", "app"),
            )
        )
    evidence = Evidence(
        engine_version="test",
        identity=identity,
        sdks=[SdkMatch(id=s["id"], name=s["name"], vendor=s.get("vendor")) for s in doc["sdks"]],
    )
    return ScanReport(
        engine_version="test-engine",
        catalog_version="test-catalog",
        app=identity,
        app_type=AppTypeDecision(decided=app_type, reason="declared" if app_type else "not decided"),
        findings=findings,
        evidence=evidence if include_evidence else None,
    )


def failing_scan_apk(path: str | Path, **_kwargs: Any) -> ScanReport:
    from appwarden.errors import HostileApkError

    raise HostileApkError("entry count 70000 exceeds the limit of 65535")


def at(text_value: str) -> datetime:
    return datetime.fromisoformat(text_value).astimezone(UTC)


# --- building records directly (no executor) ---------------------------------------------------------------------

T0 = at("2026-03-02T09:00:00+08:00")  # a Monday
CAL = WorkCalendar()
FINDINGS = [
    {"rule": "AW-PERM-001", "key": "CAMERA", "severity": "medium"},
    {"rule": "AW-SDK-001", "key": "init", "owner": "umeng", "vendor": "Umeng", "severity": "high"},
    {"rule": "AW-INFO-1", "key": "x", "severity": "info"},
]


def scanned(
    session: Session,
    tmp_path: Path,
    package: str,
    *,
    version_code: int = 1,
    findings: list[dict[str, Any]] | None = None,
    operator: Any = None,
) -> Any:
    """A finished scan of a fake APK, recorded as the pump would record it."""
    apk = fake_apk(tmp_path, package, version_code=version_code, findings=FINDINGS if findings is None else findings)
    report = fake_scan_apk(apk)
    scan = Scan(apk_sha256=report.app.apk_sha256, apk_path=str(apk), operator_id=operator.id if operator else None)
    scan.created_at = T0
    session.add(scan)
    session.flush()
    return jobs.record_report(session, scan, report, now=T0)


def setup_case(session: Session, tmp_path: Path, package: str = "com.example.app", stores_listing: int = 2) -> Any:
    """An operator, a scanned app listed in ``stores_listing`` stores, and its detected case."""
    operator = stores.upsert_operator(
        session, legal_name="示例科技有限公司", credit_code=credit_code(1), actor="t", now=T0
    )
    scan = scanned(session, tmp_path, package, operator=operator)
    for i in range(stores_listing):
        store = Store(code=f"s{i}", name=f"Store {i}", created_at=T0)
        session.add(store)
        session.flush()
        session.add(
            Listing(store_id=store.id, app_id=scan.app_version.app_id, status=ListingStatus.LISTED.value, created_at=T0)
        )
    case = cases.open_case(session, scan, actor="lab:a", now=T0)
    session.commit()
    return case, scan
