"""Statistics, SDK vendors and the audit log: read-mostly oversight endpoints."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from fastapi import APIRouter, Depends, Query
from sqlalchemy import select
from sqlalchemy.orm import Session

from appwarden.api.auth import READERS, Principal, allow
from appwarden.api.deps import PageParams, get_session, page_params, paginate
from appwarden.api.schemas import AuditEntryOut, AuditVerifyOut, Page, VendorOut
from appwarden.governance import audit, cases, sdk_governance, stats
from appwarden.governance.models import AuditEntry, Role, SdkVendor

router = APIRouter()


@router.get("/stats/funnel", response_model=list[stats.FunnelRow])
def funnel(
    by: stats.Dimension = Query("total"),
    campaign_id: int | None = Query(None),
    start: datetime | None = Query(None, description="Period start (inclusive), with timezone"),
    end: datetime | None = Query(None, description="Period end (exclusive), with timezone"),
    principal: Principal = Depends(allow(*READERS)),
    session: Session = Depends(get_session),
) -> list[stats.FunnelRow]:
    """tested -> ordered to rectify -> publicly named -> taken down, overall or by problem, store or SDK vendor."""
    return stats.funnel(
        session,
        by=by,
        campaign_id=campaign_id,
        start=cases.as_utc(start) if start else None,
        end=cases.as_utc(end) if end else None,
    )


@router.get("/sdk-vendors", response_model=Page[VendorOut])
def list_vendors(
    principal: Principal = Depends(allow(*READERS)),
    session: Session = Depends(get_session),
    page: PageParams = Depends(page_params),
) -> dict[str, object]:
    return paginate(session, select(SdkVendor).order_by(SdkVendor.id), page)


@router.get("/sdk-vendors/{vendor_id}")
def vendor_profile(
    vendor_id: int,
    principal: Principal = Depends(allow(*READERS)),
    session: Session = Depends(get_session),
) -> dict[str, Any]:
    """The vendor's SDKs, the apps embedding each and the findings each causes."""
    return sdk_governance.vendor_profile(session, sdk_governance.get_vendor(session, vendor_id))


@router.get("/audit", response_model=Page[AuditEntryOut])
def audit_log(
    action: str | None = Query(None, max_length=100),
    principal: Principal = Depends(allow(Role.REGULATOR, Role.AUDITOR)),
    session: Session = Depends(get_session),
    page: PageParams = Depends(page_params),
) -> dict[str, object]:
    query = select(AuditEntry)
    if action:
        query = query.where(AuditEntry.action == action)
    return paginate(session, query.order_by(AuditEntry.seq), page)


@router.get("/audit/verify", response_model=AuditVerifyOut)
def audit_verify(
    principal: Principal = Depends(allow(Role.REGULATOR, Role.AUDITOR)),
    session: Session = Depends(get_session),
) -> AuditVerifyOut:
    result = audit.verify(session)
    return AuditVerifyOut(ok=result.ok, entries=result.entries, problems=result.problems)
