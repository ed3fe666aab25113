"""Programme statistics: the funnel tested -> ordered to rectify -> publicly named -> taken down.

Counted per campaign and period, overall or broken down by problem (focus area,
else rule id), by store (where the app is listed) or by SDK vendor (whose SDK the
findings are attributed to). A case counts at a stage when its event history shows
the transition into that stage inside the period, so figures never depend on
where a case stands today.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable
from datetime import datetime
from typing import Literal

from pydantic import BaseModel
from sqlalchemy import select
from sqlalchemy.orm import Session

from appwarden.governance.models import Case, CaseEvent, CaseState, Listing, Scan, ScanStatus, Store

Dimension = Literal["total", "problem", "store", "sdk_vendor"]
DIMENSIONS: tuple[Dimension, ...] = ("total", "problem", "store", "sdk_vendor")
_STAGES = {
    CaseState.NOTICE_ISSUED.value: "ordered_to_rectify",
    CaseState.PUBLICLY_NAMED.value: "publicly_named",
    CaseState.REMOVAL_CONFIRMED.value: "taken_down",
}


class FunnelRow(BaseModel):
    key: str
    tested: int = 0
    ordered_to_rectify: int = 0
    publicly_named: int = 0
    taken_down: int = 0


def _in_period(at: datetime | None, start: datetime | None, end: datetime | None) -> bool:
    if at is None:
        return False
    return (start is None or at >= start) and (end is None or at < end)


def funnel(
    session: Session,
    *,
    by: Dimension = "total",
    campaign_id: int | None = None,
    start: datetime | None = None,
    end: datetime | None = None,
) -> list[FunnelRow]:
    """Funnel rows sorted by key; ``tested`` counts distinct app versions with a finished scan."""
    stores_by_app: dict[int, set[str]] = defaultdict(set)
    for app_id, store_name in session.execute(
        select(Listing.app_id, Store.name).join(Store, Store.id == Listing.store_id).where(Listing.app_id.is_not(None))
    ):
        if app_id is not None:
            stores_by_app[app_id].add(store_name)

    def keys_of_scan(scan: Scan) -> set[str]:
        violations = [f for f in scan.findings if f.severity != "info"]
        if by == "total":
            return {"total"}
        if by == "problem":
            return {f.focus_area or f.rule_id for f in violations}
        if by == "sdk_vendor":
            return {f.sdk_vendor for f in violations if f.sdk_vendor}
        app_id = scan.app_version.app_id if scan.app_version else None
        return set(stores_by_app.get(app_id, set())) if app_id is not None else set()

    rows: dict[str, FunnelRow] = {}

    def bump(keys: set[str], field: str, counted: set[tuple[str, object]], unit: object) -> None:
        for key in keys:
            if (key, unit) in counted:
                continue
            counted.add((key, unit))
            row = rows.setdefault(key, FunnelRow(key=key))
            setattr(row, field, getattr(row, field) + 1)

    scans = select(Scan).where(Scan.status == ScanStatus.DONE.value)
    if campaign_id is not None:
        scans = scans.where(Scan.campaign_id == campaign_id)
    tested: set[tuple[str, object]] = set()
    for scan in session.scalars(scans):
        if _in_period(scan.finished_at, start, end):
            bump(keys_of_scan(scan), "tested", tested, scan.app_version_id)

    case_query = select(Case)
    if campaign_id is not None:
        case_query = case_query.where(Case.campaign_id == campaign_id)
    stage_counted: dict[str, set[tuple[str, object]]] = defaultdict(set)
    for case in session.scalars(case_query):
        keys = keys_of_scan(case.scan)
        for event in session.scalars(select(CaseEvent).where(CaseEvent.case_id == case.id)):
            stage = _STAGES.get(event.to_state)
            if stage and _in_period(event.at, start, end):
                bump(keys, stage, stage_counted[stage], case.id)
    return [rows[k] for k in sorted(rows)]


def funnel_all(session: Session, **filters: object) -> dict[str, list[FunnelRow]]:
    """Every dimension at once (what `appwarden stats` prints)."""
    run: Callable[..., list[FunnelRow]] = funnel
    return {d: run(session, by=d, **filters) for d in DIMENSIONS}
