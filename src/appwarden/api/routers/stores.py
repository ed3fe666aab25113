"""Stores over HTTP: registry, listings, takedown feed and acknowledgement, snapshots, monitoring."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from fastapi import APIRouter, Depends, Query
from sqlalchemy import select
from sqlalchemy.orm import Session

from appwarden.api.auth import READERS, Principal, allow, ensure_store
from appwarden.api.deps import PageParams, commit, get_session, now, page_params, paginate
from appwarden.api.schemas import ListingOut, Page, SnapshotIn, SnapshotOut, StoreIn, StoreOut, TakedownOrderOut
from appwarden.governance import cases, stores
from appwarden.governance.models import CatalogSnapshot, Listing, Role, Store, TakedownOrder

router = APIRouter()


@router.post("/stores", response_model=StoreOut, status_code=201)
def create_store(
    body: StoreIn,
    principal: Principal = Depends(allow(Role.REGULATOR)),
    session: Session = Depends(get_session),
    at: datetime = Depends(now),
) -> Store:
    store = stores.create_store(
        session, code=body.code, name=body.name, webhook_url=body.webhook_url, actor=principal.actor, now=at
    )
    commit(session)
    return store


@router.get("/stores", response_model=Page[StoreOut])
def list_stores(
    principal: Principal = Depends(allow(*READERS, Role.STORE)),
    session: Session = Depends(get_session),
    page: PageParams = Depends(page_params),
) -> dict[str, object]:
    query = select(Store)
    if principal.role is Role.STORE:
        query = query.where(Store.id == principal.store_id)
    return paginate(session, query.order_by(Store.id), page)


@router.get("/stores/{store_id}/listings", response_model=Page[ListingOut])
def list_listings(
    store_id: int,
    principal: Principal = Depends(allow(*READERS, Role.STORE)),
    session: Session = Depends(get_session),
    page: PageParams = Depends(page_params),
) -> dict[str, object]:
    ensure_store(principal, store_id)
    stores.get_store(session, store_id)
    return paginate(session, select(Listing).where(Listing.store_id == store_id).order_by(Listing.id), page)


@router.get("/stores/{store_id}/takedown-orders", response_model=Page[TakedownOrderOut])
def takedown_feed(
    store_id: int,
    pending: bool = Query(False, description="Only orders not yet acknowledged"),
    principal: Principal = Depends(allow(Role.REGULATOR, Role.AUDITOR, Role.STORE)),
    session: Session = Depends(get_session),
    page: PageParams = Depends(page_params),
) -> dict[str, object]:
    ensure_store(principal, store_id)
    stores.get_store(session, store_id)
    query = select(TakedownOrder).where(TakedownOrder.store_id == store_id)
    if pending:
        query = query.where(TakedownOrder.acknowledged_at.is_(None))
    return paginate(session, query.order_by(TakedownOrder.id), page)


@router.post("/takedown-orders/{order_id}/ack", response_model=TakedownOrderOut)
def acknowledge(
    order_id: int,
    principal: Principal = Depends(allow(Role.STORE)),
    session: Session = Depends(get_session),
    at: datetime = Depends(now),
) -> TakedownOrder:
    """The store confirms the app is removed; the case moves on once every store has."""
    order = stores.get_order(session, order_id)
    ensure_store(principal, order.store_id)
    cases.acknowledge_order(session, order, actor=principal.actor, now=at)
    commit(session)
    return order


@router.post("/stores/{store_id}/catalog-snapshots", response_model=SnapshotOut, status_code=201)
def upload_snapshot(
    store_id: int,
    body: SnapshotIn,
    principal: Principal = Depends(allow(Role.STORE)),
    session: Session = Depends(get_session),
    at: datetime = Depends(now),
) -> CatalogSnapshot:
    ensure_store(principal, store_id)
    store = stores.get_store(session, store_id)
    taken_at = cases.as_utc(body.taken_at)
    snapshot = stores.upload_snapshot(session, store, body.items, taken_at=taken_at, actor=principal.actor, now=at)
    commit(session)
    return snapshot


@router.get("/stores/{store_id}/monitoring")
def monitoring(
    store_id: int,
    principal: Principal = Depends(allow(Role.REGULATOR, Role.AUDITOR, Role.STORE)),
    session: Session = Depends(get_session),
) -> dict[str, Any]:
    """Apps under takedown still listed, and apps the store approved that later failed detection."""
    ensure_store(principal, store_id)
    return stores.monitor(session, stores.get_store(session, store_id)).as_dict()


@router.get("/stores/{store_id}/compliance")
def compliance(
    store_id: int,
    principal: Principal = Depends(allow(Role.REGULATOR, Role.AUDITOR, Role.STORE)),
    session: Session = Depends(get_session),
    at: datetime = Depends(now),
) -> dict[str, Any]:
    ensure_store(principal, store_id)
    return stores.compliance_summary(session, stores.get_store(session, store_id), now=at)
