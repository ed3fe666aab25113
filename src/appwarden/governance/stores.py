"""App stores as gatekeepers: listing review, takedown feed, catalog snapshots, monitoring.

A store submits an APK with its listing metadata; the scan runs as a job and the
verdict (pass / fail with findings under the unified rule catalog) is both pollable
and, when the store gave a webhook URL, posted back to it. Stores acknowledge the
takedown orders in their feed; catalog snapshots let monitoring see apps still
listed under a takedown and apps a store approved that later failed detection.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import httpx
from pydantic import BaseModel, Field
from sqlalchemy import func, select
from sqlalchemy.orm import Session, sessionmaker

from appwarden.governance import audit, cases
from appwarden.governance.errors import AlreadyExists, InvalidInput, NotFound
from appwarden.governance.models import (
    App,
    Case,
    CatalogEntry,
    CatalogSnapshot,
    Listing,
    ListingStatus,
    Operator,
    Scan,
    ScanPurpose,
    ScanStatus,
    Store,
    TakedownOrder,
    utcnow,
    validate_credit_code,
)

_CODE_CHARS = set("abcdefghijklmnopqrstuvwxyz0123456789-_")


class ListingMetadata(BaseModel):
    """What the store shows for the app; the operator is the legal entity behind the developer account."""

    name: str = Field(min_length=1, max_length=300)
    category: str | None = Field(None, max_length=100)
    developer: str = Field(min_length=1, max_length=300)
    description: str | None = Field(None, max_length=20000)
    operator_name: str = Field(min_length=1, max_length=300)
    operator_credit_code: str = Field(min_length=18, max_length=18)


class CatalogItem(BaseModel):
    package: str = Field(min_length=1, max_length=255, pattern=r"^[A-Za-z0-9_.]+$")
    version_code: int | None = Field(None, ge=0)
    apk_sha256: str | None = Field(None, pattern=r"^[0-9a-f]{64}$")


def get_store(session: Session, store_id: int) -> Store:
    store = session.get(Store, store_id)
    if store is None:
        raise NotFound(f"store {store_id} does not exist")
    return store


def create_store(
    session: Session, *, code: str, name: str, webhook_url: str | None, actor: str, now: datetime
) -> Store:
    if not code or not set(code) <= _CODE_CHARS:
        raise InvalidInput("a store code is lowercase letters, digits, '-' and '_'", detail=code)
    if session.scalars(select(Store).where(Store.code == code)).first() is not None:
        raise AlreadyExists(f"store {code!r} already exists")
    store = Store(code=code, name=name, webhook_url=webhook_url, created_at=now)
    session.add(store)
    session.flush()
    audit.append(
        session,
        actor=actor,
        action="store.create",
        entity_type="store",
        entity_id=store.id,
        payload={"code": code},
        at=now,
    )
    return store


def upsert_operator(session: Session, *, legal_name: str, credit_code: str, actor: str, now: datetime) -> Operator:
    """The operator with this credit code, created if new (the code's check digit is verified)."""
    code = validate_credit_code(credit_code)
    operator = session.scalars(select(Operator).where(Operator.credit_code == code)).first()
    if operator is None:
        operator = Operator(legal_name=legal_name, credit_code=code, created_at=now)
        session.add(operator)
        session.flush()
        audit.append(
            session,
            actor=actor,
            action="operator.create",
            entity_type="operator",
            entity_id=operator.id,
            payload={"legal_name": legal_name, "credit_code": code},
            at=now,
        )
    return operator


# --- listing review -----------------------------------------------------------------------------------------------


def submit_listing_review(
    session: Session,
    store: Store,
    *,
    apk_path: str,
    apk_sha256: str,
    apk_size: int,
    metadata: ListingMetadata,
    callback_url: str | None,
    app_type: str | None,
    requested_by_id: int | None,
    actor: str,
    now: datetime,
    policy_path: str | None = None,
) -> Scan:
    """Queue the scan of a store's submission; the listing stays under review until the verdict."""
    callback = checked_callback(store, callback_url)
    operator = upsert_operator(
        session, legal_name=metadata.operator_name, credit_code=metadata.operator_credit_code, actor=actor, now=now
    )
    listing = Listing(
        store_id=store.id,
        status=ListingStatus.UNDER_REVIEW.value,
        listed_name=metadata.name,
        category=metadata.category,
        developer=metadata.developer,
        description=metadata.description,
        created_at=now,
    )
    session.add(listing)
    session.flush()
    scan = Scan(
        status=ScanStatus.QUEUED.value,
        purpose=ScanPurpose.LISTING_REVIEW.value,
        apk_sha256=apk_sha256,
        apk_size=apk_size,
        apk_path=apk_path,
        declared_app_type=app_type,
        policy_path=policy_path,
        listing_id=listing.id,
        requested_by_id=requested_by_id,
        operator_id=operator.id,
        callback_url=callback,
        created_at=now,
    )
    session.add(scan)
    session.flush()
    audit.append(
        session,
        actor=actor,
        action="listing_review.submit",
        entity_type="scan",
        entity_id=scan.id,
        payload={"store_id": store.id, "apk_sha256": apk_sha256, "listing_id": listing.id, "name": metadata.name},
        at=now,
    )
    return scan


def _origin(url: str) -> tuple[str, str, int | None]:
    parsed = httpx.URL(url)
    return parsed.scheme, parsed.host, parsed.port


def checked_callback(store: Store, callback_url: str | None) -> str | None:
    """The URL to post the verdict to: the store's registered webhook, or a URL on its origin.

    The server must not become a way for a store to reach arbitrary (internal) addresses,
    so a per-submission callback has to share scheme, host and port with the webhook the
    regulator registered for the store.
    """
    if not callback_url:
        return store.webhook_url
    if not store.webhook_url:
        raise InvalidInput(
            "this store has no registered webhook, so no callback URL is accepted",
            detail="ask the regulator to register the store's webhook URL, or poll for the verdict",
        )
    try:
        same_origin = _origin(callback_url) == _origin(store.webhook_url)
    except httpx.InvalidURL:
        same_origin = False
    if not same_origin:
        raise InvalidInput(
            "the callback URL must be on the store's registered webhook origin", detail=callback_url[:300]
        )
    return callback_url


def on_scan_recorded(session: Session, scan: Scan, *, now: datetime) -> None:
    """Carry a finished review scan's verdict to its listing and schedule the store's callback."""
    if scan.listing_id is None:
        return
    listing = session.get(Listing, scan.listing_id)
    if listing is None:
        return
    if scan.status == ScanStatus.DONE.value and scan.app_version is not None:
        app_id = scan.app_version.app_id
        existing = session.scalars(
            select(Listing).where(
                Listing.store_id == listing.store_id, Listing.app_id == app_id, Listing.id != listing.id
            )
        ).first()
        if existing is not None:
            # A resubmission of an app the store already lists: keep one listing per store and app.
            for attr in ("listed_name", "category", "developer", "description"):
                setattr(existing, attr, getattr(listing, attr))
            scan.listing_id = existing.id
            session.flush()
            session.delete(listing)
            listing = existing
        listing.app_id = app_id
        listing.app_version_id = scan.app_version_id
        if scan.verdict == "pass":
            listing.status = ListingStatus.LISTED.value
            listing.approved_at = now
        else:
            listing.status = ListingStatus.REJECTED.value
    elif scan.status == ScanStatus.FAILED.value:
        listing.status = ListingStatus.REJECTED.value
    if scan.callback_url:
        scan.callback_status = "pending"
    session.flush()


def review_verdict(scan: Scan) -> dict[str, Any]:
    """The verdict a store receives, by poll or callback."""
    return {
        "scan_id": scan.id,
        "listing_id": scan.listing_id,
        "status": scan.status,
        "verdict": scan.verdict,
        "apk_sha256": scan.apk_sha256,
        "package": scan.app_version.app.package if scan.app_version else None,
        "engine_version": scan.engine_version,
        "catalog_version": scan.catalog_version,
        "error": scan.error,
        "findings": [
            {
                "rule_id": f.rule_id,
                "also_rule_ids": list(f.also_rule_ids or []),
                "title_zh": f.title_zh,
                "title_en": f.title_en,
                "severity": f.severity,
                "owner": f.owner,
                "basis": f.basis,
                "fingerprint": f.fingerprint,
            }
            for f in scan.findings
        ],
    }


def deliver_callbacks(factory: sessionmaker[Session], *, timeout: float) -> list[int]:
    """POST pending verdicts to the stores' webhook URLs; a failed delivery is recorded, not retried forever."""
    delivered = []
    with factory() as session:
        pending = list(session.scalars(select(Scan).where(Scan.callback_status == "pending").order_by(Scan.id)))
        for scan in pending:
            assert scan.callback_url is not None
            try:
                response = httpx.post(scan.callback_url, json=review_verdict(scan), timeout=timeout)
                scan.callback_status = f"delivered {response.status_code}"
            except httpx.HTTPError as exc:
                scan.callback_status = f"failed: {type(exc).__name__}"
            session.commit()
            delivered.append(scan.id)
    return delivered


# --- takedown feed ------------------------------------------------------------------------------------------------


def takedown_feed(session: Session, store: Store, *, pending_only: bool = False) -> Sequence[TakedownOrder]:
    query = select(TakedownOrder).where(TakedownOrder.store_id == store.id).order_by(TakedownOrder.id)
    if pending_only:
        query = query.where(TakedownOrder.acknowledged_at.is_(None))
    return list(session.scalars(query))


def get_order(session: Session, order_id: int) -> TakedownOrder:
    order = session.get(TakedownOrder, order_id)
    if order is None:
        raise NotFound(f"takedown order {order_id} does not exist")
    return order


# --- catalog snapshots and monitoring -----------------------------------------------------------------------------


def upload_snapshot(
    session: Session, store: Store, items: Sequence[CatalogItem], *, taken_at: datetime, actor: str, now: datetime
) -> CatalogSnapshot:
    """Record what a store lists now; orders whose app is gone count as removal observed."""
    snapshot = CatalogSnapshot(store_id=store.id, taken_at=taken_at, uploaded_at=now)
    session.add(snapshot)
    session.flush()
    session.add_all(
        CatalogEntry(snapshot_id=snapshot.id, package=i.package, version_code=i.version_code, apk_sha256=i.apk_sha256)
        for i in items
    )
    packages = {i.package for i in items}
    session.flush()
    audit.append(
        session,
        actor=actor,
        action="catalog.snapshot",
        entity_type="catalog_snapshot",
        entity_id=snapshot.id,
        payload={"store_id": store.id, "entries": len(packages), "taken_at": taken_at.isoformat()},
        at=now,
    )
    # The snapshot is the store's word on what it lists: known apps in it are listed there,
    # listed apps missing from it are gone.
    listings = {
        listing.app.package: listing
        for listing in session.scalars(select(Listing).where(Listing.store_id == store.id, Listing.app_id.is_not(None)))
        if listing.app is not None
    }
    for package in packages:
        listing = listings.get(package)
        if listing is None:
            app = session.scalars(select(App).where(App.package == package)).first()
            if app is None:
                continue
            listing = Listing(store_id=store.id, app_id=app.id, status=ListingStatus.LISTED.value, created_at=now)
            session.add(listing)
        else:
            listing.status = ListingStatus.LISTED.value
        listing.last_seen_at = taken_at
    for package, listing in listings.items():
        if package not in packages and listing.status == ListingStatus.LISTED.value:
            listing.status = ListingStatus.REMOVED.value
    session.flush()
    open_orders = session.scalars(
        select(TakedownOrder).where(
            TakedownOrder.store_id == store.id,
            TakedownOrder.acknowledged_at.is_(None),
            TakedownOrder.removal_observed_at.is_(None),
        )
    )
    for order in list(open_orders):
        if order.case.app.package not in packages:
            cases.observe_removal(session, order, now=now, source=f"catalog snapshot {snapshot.id}")
    return snapshot


def latest_snapshot(session: Session, store: Store) -> CatalogSnapshot | None:
    return session.scalars(
        select(CatalogSnapshot).where(CatalogSnapshot.store_id == store.id).order_by(CatalogSnapshot.id.desc())
    ).first()


@dataclass
class MonitoringReport:
    store_id: int
    snapshot_id: int | None
    still_listed_under_takedown: list[dict[str, Any]]
    approved_then_failed: list[dict[str, Any]]

    def as_dict(self) -> dict[str, Any]:
        return {
            "store_id": self.store_id,
            "snapshot_id": self.snapshot_id,
            "still_listed_under_takedown": self.still_listed_under_takedown,
            "approved_then_failed": self.approved_then_failed,
        }


def monitor(session: Session, store: Store) -> MonitoringReport:
    """Apps under takedown still in the latest snapshot; apps this store approved that later failed."""
    snapshot = latest_snapshot(session, store)
    listed = {e.package for e in snapshot.entries} if snapshot else set()
    still = []
    for order in takedown_feed(session, store):
        package = order.case.app.package
        if package in listed:
            still.append(
                {
                    "order_id": order.id,
                    "case_id": order.case_id,
                    "package": package,
                    "acknowledged": order.acknowledged_at is not None,
                }
            )
    failed_later = []
    approved = session.scalars(
        select(Listing).where(
            Listing.store_id == store.id, Listing.approved_at.is_not(None), Listing.app_id.is_not(None)
        )
    )
    for listing in approved:
        assert listing.approved_at is not None
        later_fail = session.scalars(
            select(Scan)
            .join(Scan.app_version)
            .where(
                Scan.status == ScanStatus.DONE.value,
                Scan.verdict == "fail",
                Scan.finished_at > listing.approved_at,
                Scan.app_version.has(app_id=listing.app_id),
            )
            .order_by(Scan.id)
        ).first()
        open_case = session.scalars(select(Case).where(Case.app_id == listing.app_id)).first()
        if later_fail is not None or open_case is not None:
            failed_later.append(
                {
                    "listing_id": listing.id,
                    "package": listing.app.package if listing.app else None,
                    "approved_at": listing.approved_at.isoformat(),
                    "failing_scan_id": later_fail.id if later_fail else None,
                    "case_id": open_case.id if open_case else None,
                }
            )
    return MonitoringReport(store.id, snapshot.id if snapshot else None, still, failed_later)


def compliance_summary(session: Session, store: Store, *, now: datetime | None = None) -> dict[str, Any]:
    """Per-store figures: reviews, takedown acknowledgement, what monitoring flags."""
    now = now or utcnow()
    orders = takedown_feed(session, store)
    acked = [o for o in orders if o.acknowledged_at is not None]
    on_time = [o for o in acked if o.acknowledged_at is not None and o.acknowledged_at <= o.due_at]
    overdue = [o for o in orders if o.acknowledged_at is None and o.removal_observed_at is None and o.due_at < now]
    hours = [(o.acknowledged_at - o.issued_at).total_seconds() / 3600 for o in acked if o.acknowledged_at]
    reviews = dict(
        session.execute(
            select(Scan.verdict, func.count())
            .join(Listing, Listing.id == Scan.listing_id)
            .where(Listing.store_id == store.id, Scan.purpose == ScanPurpose.LISTING_REVIEW.value)
            .group_by(Scan.verdict)
        ).all()
    )
    report = monitor(session, store)
    return {
        "store_id": store.id,
        "store": store.name,
        "listings": session.scalar(select(func.count()).select_from(Listing).where(Listing.store_id == store.id)),
        "reviews": {"pass": reviews.get("pass", 0), "fail": reviews.get("fail", 0), "pending": reviews.get(None, 0)},
        "takedown_orders": len(orders),
        "acknowledged": len(acked),
        "acknowledged_on_time": len(on_time),
        "overdue": len(overdue),
        "escalated": sum(1 for o in orders if o.escalated_at is not None),
        "mean_ack_hours": round(sum(hours) / len(hours), 2) if hours else None,
        "still_listed_under_takedown": len(report.still_listed_under_takedown),
        "approved_then_failed": len(report.approved_then_failed),
    }
