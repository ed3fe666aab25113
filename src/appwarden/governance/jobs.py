"""Scan jobs: the executor interface, the embedded process-pool executor, and recording results.

:class:`ScanExecutor` is the seam for a distributed engine: ``submit`` hands over a
:class:`ScanRequest` and returns an opaque handle, ``poll`` says how the job stands.
Executors move only JSON text across the process boundary; the scan report is
parsed and stored here, in the governance process, by :func:`record_report`.
Governance stores findings as the scanner reported them and never re-derives them.
"""

from __future__ import annotations

import dataclasses
import importlib
import multiprocessing
import threading
import traceback
import uuid
from collections.abc import Callable
from concurrent.futures import Future, ProcessPoolExecutor, ThreadPoolExecutor
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Literal, Protocol

from sqlalchemy import select, update
from sqlalchemy.orm import Session, sessionmaker

from appwarden.allocator import map_large_blocks
from appwarden.findings import ScanReport
from appwarden.governance import audit
from appwarden.governance.errors import InvalidInput, NotFound
from appwarden.governance.models import (
    App,
    AppVersion,
    AppVersionSdk,
    Finding,
    Scan,
    ScanPurpose,
    ScanStatus,
    Sdk,
    SdkVendor,
    utcnow,
)

ScannerRef = str | Callable[..., ScanReport]
JobStatus = Literal["queued", "running", "done", "failed", "unknown"]


@dataclass(frozen=True)
class ScanRequest:
    apk_path: str
    app_type: str | None = None
    policy_path: str | None = None
    #: With no policy uploaded or bundled, fetch the policy page the app links (a deployment setting).
    fetch_linked_policy: bool = False


@dataclass(frozen=True)
class JobState:
    status: JobStatus
    report_json: str | None = None
    error: str | None = None


class ScanExecutor(Protocol):
    """Where scans run. Implementations must be safe to call from several threads."""

    def submit(self, request: ScanRequest) -> str: ...

    def poll(self, handle: str) -> JobState: ...

    def shutdown(self) -> None: ...


def resolve_scanner(ref: ScannerRef) -> Callable[..., ScanReport]:
    if callable(ref):
        return ref
    module_name, _, attr = ref.partition(":")
    try:
        scanner: Callable[..., ScanReport] = getattr(importlib.import_module(module_name), attr)
        return scanner
    except (ImportError, AttributeError) as exc:
        raise InvalidInput(f"scanner {ref!r} cannot be imported", detail=str(exc)) from None


def run_scan(scanner: ScannerRef, request: ScanRequest) -> str:
    """Run one scan and return the report as JSON (what crosses the process boundary)."""
    scan_apk = resolve_scanner(scanner)
    # Passed only when set, so a scanner that does not know the option (a test double) still runs.
    options: dict[str, bool] = {"fetch_linked_policy": True} if request.fetch_linked_policy else {}
    report = scan_apk(
        Path(request.apk_path),
        app_type=request.app_type,
        policy_path=request.policy_path,
        include_evidence=True,
        **options,
    )
    return report.model_dump_json()


def _state_of(future: Future[str]) -> JobState:
    if not future.done():
        return JobState("running")
    exc = future.exception()
    if exc is not None:
        message = getattr(exc, "message", None) or str(exc) or type(exc).__name__
        return JobState("failed", error=f"{type(exc).__name__}: {message}")
    return JobState("done", report_json=future.result())


class _FutureExecutor:
    def __init__(
        self, pool: ProcessPoolExecutor | ThreadPoolExecutor, scanner: ScannerRef, *, fetch_linked_policy: bool = False
    ) -> None:
        self._pool = pool
        self._scanner = scanner
        self._fetch_linked_policy = fetch_linked_policy
        self._futures: dict[str, Future[str]] = {}
        self._lock = threading.Lock()

    def submit(self, request: ScanRequest) -> str:
        handle = uuid.uuid4().hex
        if self._fetch_linked_policy:
            request = dataclasses.replace(request, fetch_linked_policy=True)
        future = self._pool.submit(run_scan, self._scanner, request)
        with self._lock:
            self._futures[handle] = future
        return handle

    def poll(self, handle: str) -> JobState:
        with self._lock:
            future = self._futures.get(handle)
        if future is None:
            return JobState("unknown", error="this executor does not know the job (restarted?)")
        state = _state_of(future)
        if state.status in ("done", "failed"):
            with self._lock:
                self._futures.pop(handle, None)
        return state

    def shutdown(self) -> None:
        self._pool.shutdown(wait=False, cancel_futures=True)


class LocalProcessExecutor(_FutureExecutor):
    """The embedded default: scans in a local process pool, so a hostile APK cannot take the server down."""

    def __init__(self, scanner: ScannerRef, workers: int = 2, *, fetch_linked_policy: bool = False) -> None:
        # spawn, not fork: the server process has threads (uvicorn, DB pool) that fork would copy mid-state.
        pool = ProcessPoolExecutor(
            max_workers=workers, mp_context=multiprocessing.get_context("spawn"), initializer=map_large_blocks
        )
        super().__init__(pool, scanner, fetch_linked_policy=fetch_linked_policy)


class ThreadExecutor(_FutureExecutor):
    """Scans in threads of this process: for tests and single-user tools."""

    def __init__(self, scanner: ScannerRef, workers: int = 2, *, fetch_linked_policy: bool = False) -> None:
        super().__init__(
            ThreadPoolExecutor(max_workers=workers, thread_name_prefix="scan"),
            scanner,
            fetch_linked_policy=fetch_linked_policy,
        )


# --- recording ----------------------------------------------------------------------------------------------------


def get_scan(session: Session, scan_id: int) -> Scan:
    scan = session.get(Scan, scan_id)
    if scan is None:
        raise NotFound(f"scan {scan_id} does not exist")
    return scan


def _sdk_vendor(session: Session, name: str | None, name_zh: str | None = None) -> SdkVendor | None:
    if not name:
        return None
    vendor = session.scalars(select(SdkVendor).where(SdkVendor.name == name)).first()
    if vendor is None:
        vendor = SdkVendor(name=name, name_zh=name_zh)
        session.add(vendor)
        session.flush()
    return vendor


def _sdk(session: Session, key: str, name: str, vendor: SdkVendor | None) -> Sdk:
    sdk = session.scalars(select(Sdk).where(Sdk.sdk_key == key)).first()
    if sdk is None:
        sdk = Sdk(sdk_key=key, name=name, vendor_id=vendor.id if vendor else None)
        session.add(sdk)
        session.flush()
    elif sdk.vendor_id is None and vendor is not None:
        sdk.vendor_id = vendor.id
    return sdk


def record_report(session: Session, scan: Scan, report: ScanReport, *, now: datetime | None = None) -> Scan:
    """Store a finished scan: app, version, SDKs embedded, findings, verdict. Idempotent per scan."""
    now = now or utcnow()
    if scan.status == ScanStatus.DONE.value:
        return scan
    identity = report.app
    # A developer's self-check must not claim a package for its operator; labs and stores
    # (which verify the developer's identity) may link the operator.
    operator_id = scan.operator_id if scan.purpose != ScanPurpose.SELF_CHECK.value else None
    app = session.scalars(select(App).where(App.package == identity.package)).first()
    if app is None:
        app = App(package=identity.package, name=identity.label_zh or identity.label, operator_id=operator_id)
        session.add(app)
        session.flush()
    elif app.operator_id is None and operator_id is not None:
        app.operator_id = operator_id
    if report.app_type.decided and not app.app_type:
        app.app_type = report.app_type.decided
    sha = identity.apk_sha256 or scan.apk_sha256
    version = session.scalars(select(AppVersion).where(AppVersion.apk_sha256 == sha)).first()
    if version is None:
        version = AppVersion(
            app_id=app.id,
            version_name=identity.version_name,
            version_code=identity.version_code,
            apk_sha256=sha,
            apk_size=identity.apk_size or scan.apk_size,
        )
        session.add(version)
        session.flush()
    scan.app_version_id = version.id
    for f in report.findings:
        session.add(
            Finding(
                scan_id=scan.id,
                rule_id=f.rule_id,
                also_rule_ids=list(f.also_rule_ids),
                title_zh=f.title_zh,
                title_en=f.title_en,
                severity=f.severity,
                confidence=f.confidence,
                technique=f.technique,
                focus_area=f.focus_area,
                owner=f.owner,
                sdk_vendor=f.sdk_vendor,
                fingerprint=f.fingerprint,
                basis=[b.model_dump(mode="json", exclude_none=True) for b in f.basis],
                message_zh=f.message_zh,
                message_en=f.message_en,
            )
        )
    embedded: dict[str, Sdk] = {}
    if report.evidence is not None:
        for match in report.evidence.sdks:
            embedded[match.id] = _sdk(
                session, match.id, match.name, _sdk_vendor(session, match.vendor, match.vendor_zh)
            )
    for f in report.findings:
        if f.owner != "app" and f.owner not in embedded:
            embedded[f.owner] = _sdk(session, f.owner, f.owner, _sdk_vendor(session, f.sdk_vendor))
    known = set(session.scalars(select(AppVersionSdk.sdk_id).where(AppVersionSdk.app_version_id == version.id)))
    for sdk in embedded.values():
        if sdk.id not in known:
            session.add(AppVersionSdk(app_version_id=version.id, sdk_id=sdk.id, scan_id=scan.id))
            known.add(sdk.id)
    violations = [f for f in report.findings if f.severity != "info"]
    scan.status = ScanStatus.DONE.value
    scan.engine_version = report.engine_version
    scan.catalog_version = report.catalog_version
    scan.app_type = report.app_type.decided
    scan.max_severity = report.max_severity()
    scan.verdict = "fail" if violations else "pass"
    scan.finished_at = now
    session.flush()
    audit.append(
        session,
        actor="system",
        action="scan.complete",
        entity_type="scan",
        entity_id=scan.id,
        payload={
            "apk_sha256": sha,
            "package": identity.package,
            "engine_version": report.engine_version,
            "catalog_version": report.catalog_version,
            "verdict": scan.verdict,
            "fingerprints": sorted(f.fingerprint for f in report.findings),
        },
        at=now,
    )
    from appwarden.governance import stores  # stores builds on jobs; import late to keep the layering one-way

    stores.on_scan_recorded(session, scan, now=now)
    return scan


def record_failure(session: Session, scan: Scan, error: str, *, now: datetime | None = None) -> None:
    now = now or utcnow()
    scan.status = ScanStatus.FAILED.value
    scan.error = error[:4000]
    scan.finished_at = now
    session.flush()
    audit.append(
        session,
        actor="system",
        action="scan.fail",
        entity_type="scan",
        entity_id=scan.id,
        payload={"error": scan.error},
        at=now,
    )
    from appwarden.governance import stores

    stores.on_scan_recorded(session, scan, now=now)


def dispatch(session: Session, scan: Scan, executor: ScanExecutor, *, now: datetime | None = None) -> None:
    """Hand a queued scan to the executor."""
    scan.job_handle = executor.submit(
        ScanRequest(apk_path=scan.apk_path, app_type=scan.declared_app_type, policy_path=scan.policy_path)
    )
    scan.status = ScanStatus.RUNNING.value
    scan.started_at = now or utcnow()
    session.flush()


def refresh(session: Session, scan: Scan, executor: ScanExecutor, *, now: datetime | None = None) -> bool:
    """Poll a running scan and record its outcome; True when the scan changed state."""
    if scan.status != ScanStatus.RUNNING.value or not scan.job_handle:
        return False
    state = executor.poll(scan.job_handle)
    if state.status == "done" and state.report_json is not None:
        try:
            report = ScanReport.model_validate_json(state.report_json)
        except ValueError as exc:
            record_failure(session, scan, f"the scanner returned a report that does not validate: {exc}", now=now)
            return True
        record_report(session, scan, report, now=now)
        return True
    if state.status == "failed":
        record_failure(session, scan, state.error or "scan failed", now=now)
        return True
    if state.status == "unknown":
        # The executor lost the job (restart): queue it again rather than leave it hanging.
        scan.status, scan.job_handle = ScanStatus.QUEUED.value, None
        session.flush()
        return True
    return False


def pump(
    factory: sessionmaker[Session],
    executor: ScanExecutor,
    *,
    dispatch_queued: bool = True,
    clock: Callable[[], datetime] = utcnow,
) -> list[int]:
    """One round: dispatch queued scans, record finished ones. Returns ids of scans that changed.

    ``clock`` stamps what is recorded (the service's clock, injectable in tests).
    """
    changed: list[int] = []
    with factory() as session:
        if dispatch_queued:
            for scan in list(
                session.scalars(select(Scan).where(Scan.status == ScanStatus.QUEUED.value).order_by(Scan.id))
            ):
                claimed = session.execute(
                    update(Scan)
                    .where(Scan.id == scan.id, Scan.status == ScanStatus.QUEUED.value)
                    .values(status=ScanStatus.RUNNING.value)
                )
                if claimed.rowcount == 1:  # type: ignore[attr-defined]
                    session.refresh(scan)
                    dispatch(session, scan, executor, now=clock())
                    changed.append(scan.id)
            session.commit()
        running = list(session.scalars(select(Scan.id).where(Scan.status == ScanStatus.RUNNING.value)))
    for scan_id in running:
        with factory() as session:
            running_scan = session.get(Scan, scan_id)
            if running_scan is not None and refresh(session, running_scan, executor, now=clock()):
                session.commit()
                changed.append(scan_id)
    return changed


def run_queued_inline(
    factory: sessionmaker[Session],
    scanner: ScannerRef,
    *,
    limit: int | None = None,
    fetch_linked_policy: bool = False,
) -> int:
    """The `appwarden worker` loop body: claim queued scans one by one and run them here."""
    done = 0
    while limit is None or done < limit:
        with factory() as session:
            scan_id = session.scalars(
                select(Scan.id).where(Scan.status == ScanStatus.QUEUED.value).order_by(Scan.id).limit(1)
            ).first()
            if scan_id is None:
                return done
            claimed = session.execute(
                update(Scan)
                .where(Scan.id == scan_id, Scan.status == ScanStatus.QUEUED.value)
                .values(status=ScanStatus.RUNNING.value, started_at=utcnow(), job_handle="worker")
            )
            session.commit()
            if claimed.rowcount != 1:  # type: ignore[attr-defined]
                continue
            claimed_scan = get_scan(session, scan_id)
            request = ScanRequest(
                apk_path=claimed_scan.apk_path,
                app_type=claimed_scan.declared_app_type,
                policy_path=claimed_scan.policy_path,
                fetch_linked_policy=fetch_linked_policy,
            )
            try:
                report = ScanReport.model_validate_json(run_scan(scanner, request))
            except Exception as exc:
                record_failure(session, claimed_scan, f"{type(exc).__name__}: {exc}\n{traceback.format_exc(limit=3)}")
            else:
                record_report(session, claimed_scan, report)
            session.commit()
            done += 1
    return done
