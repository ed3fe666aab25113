"""Executors and recording: the process pool with an injected scanner, the pump, the queue worker."""

from __future__ import annotations

import time
from pathlib import Path

import pytest
from sqlalchemy import select

from appwarden.governance import audit, jobs
from appwarden.governance.errors import InvalidInput
from appwarden.governance.models import AppVersionSdk, Finding, Scan, Sdk
from governance.govkit import FINDINGS, T0, Database, failing_scan_apk, fake_apk, fake_scan_apk


def _queue(database: Database, apk: Path) -> int:
    with database.sessions() as s:
        scan = Scan(apk_sha256="0" * 64, apk_path=str(apk), created_at=T0)
        s.add(scan)
        s.commit()
        return scan.id


def _pump_until_done(database: Database, executor: jobs.ScanExecutor, scan_id: int, timeout: float = 60) -> Scan:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        jobs.pump(database.sessions, executor)
        with database.sessions() as s:
            scan = s.get(Scan, scan_id)
            assert scan is not None
            if scan.status in ("done", "failed"):
                return scan
        time.sleep(0.05)
    raise AssertionError("scan did not finish")


def test_local_process_executor_runs_an_injected_scanner(sqlite_database: Database, tmp_path: Path) -> None:
    sdks = [{"id": "umeng", "name": "Umeng Analytics", "vendor": "Umeng"}]
    apk = fake_apk(tmp_path, "com.example.pool", findings=FINDINGS, sdks=sdks)
    executor = jobs.LocalProcessExecutor(fake_scan_apk, workers=1)
    try:
        scan_id = _queue(sqlite_database, apk)
        scan = _pump_until_done(sqlite_database, executor, scan_id)
    finally:
        executor.shutdown()
    assert scan.status == "done" and scan.verdict == "fail" and scan.max_severity == "high"
    assert scan.engine_version == "test-engine" and scan.catalog_version == "test-catalog"
    with sqlite_database.sessions() as s:
        assert s.scalar(select(Finding.rule_id).where(Finding.owner == "umeng")) == "AW-SDK-001"
        sdk = s.scalars(select(Sdk)).one()
        assert sdk.vendor is not None and sdk.vendor.name == "Umeng"
        assert s.scalars(select(AppVersionSdk)).one().sdk_id == sdk.id
        assert audit.verify(s).ok


def test_scanner_errors_become_failed_scans(sqlite_database: Database, tmp_path: Path) -> None:
    executor = jobs.ThreadExecutor(failing_scan_apk, workers=1)
    try:
        scan = _pump_until_done(sqlite_database, executor, _queue(sqlite_database, tmp_path / "x.apk"))
    finally:
        executor.shutdown()
    assert scan.status == "failed" and "HostileApkError" in (scan.error or "")


def test_lost_jobs_are_requeued(sqlite_database: Database, tmp_path: Path) -> None:
    scan_id = _queue(sqlite_database, fake_apk(tmp_path, "com.lost"))
    with sqlite_database.sessions() as s:
        scan = s.get(Scan, scan_id)
        assert scan is not None
        scan.status, scan.job_handle = "running", "from-a-previous-process"
        s.commit()
    executor = jobs.ThreadExecutor(fake_scan_apk)
    try:
        scan = _pump_until_done(sqlite_database, executor, scan_id)
    finally:
        executor.shutdown()
    assert scan.status == "done"


def test_queue_worker(database: Database, tmp_path: Path) -> None:
    ids = [_queue(database, fake_apk(tmp_path, f"com.q{n}", findings=FINDINGS[:1])) for n in range(3)]
    assert jobs.run_queued_inline(database.sessions, fake_scan_apk) == 3
    assert jobs.run_queued_inline(database.sessions, fake_scan_apk) == 0
    with database.sessions() as s:
        assert [s.get(Scan, i).status for i in ids] == ["done"] * 3  # type: ignore[union-attr]


def test_record_report_is_idempotent(sqlite_database: Database, tmp_path: Path) -> None:
    apk = fake_apk(tmp_path, "com.twice", findings=FINDINGS)
    with sqlite_database.sessions() as s:
        scan = Scan(apk_sha256="0" * 64, apk_path=str(apk), created_at=T0)
        s.add(scan)
        s.flush()
        report = fake_scan_apk(apk)
        jobs.record_report(s, scan, report, now=T0)
        jobs.record_report(s, scan, report, now=T0)
        s.commit()
        assert len(scan.findings) == 3


def test_unknown_scanner_path() -> None:
    with pytest.raises(InvalidInput, match="cannot be imported"):
        jobs.resolve_scanner("appwarden.nowhere:scan")


def test_the_fetch_linked_policy_setting_reaches_the_scanner(sqlite_database: Database, tmp_path: Path) -> None:
    seen: list[bool] = []

    def scanner(path: str | Path, **options: object) -> object:
        seen.append(bool(options.pop("fetch_linked_policy", False)))
        return fake_scan_apk(path, **options)  # type: ignore[arg-type]

    apk = fake_apk(tmp_path, "com.example.linked", findings=FINDINGS)
    for fetch in (False, True):
        executor = jobs.ThreadExecutor(scanner, workers=1, fetch_linked_policy=fetch)
        try:
            assert _pump_until_done(sqlite_database, executor, _queue(sqlite_database, apk)).status == "done"
        finally:
            executor.shutdown()
    _queue(sqlite_database, apk)
    assert jobs.run_queued_inline(sqlite_database.sessions, scanner, fetch_linked_policy=True) == 1
    assert seen == [False, True, True]
    # Off by default: a deployment opts in because fetching needs outbound HTTP.
    from appwarden.config import load_settings

    assert load_settings({}).fetch_linked_policies is False
    assert load_settings({"APPWARDEN_FETCH_LINKED_POLICIES": "1"}).fetch_linked_policies is True
