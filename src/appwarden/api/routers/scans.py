"""Scan uploads (lab detection, developer self-check), listing reviews by stores, scan results."""

from __future__ import annotations

import json
from datetime import datetime
from typing import Any

from fastapi import APIRouter, Depends, File, Form, Header, UploadFile
from fastapi.responses import JSONResponse
from pydantic import ValidationError
from sqlalchemy import select
from sqlalchemy.orm import Session

from appwarden.api.auth import READERS, Principal, allow, ensure_operator, ensure_store
from appwarden.api.deps import (
    PageParams,
    ServiceContext,
    StoredUpload,
    commit,
    get_context,
    get_session,
    now,
    page_params,
    paginate,
    policy_suffix,
    remember,
    replay,
    request_fingerprint,
    store_upload,
)
from appwarden.api.schemas import Page, ScanDetail, ScanOut
from appwarden.governance import audit, jobs, stores
from appwarden.governance.errors import InvalidInput, NotFound
from appwarden.governance.models import Campaign, Listing, Role, Scan, ScanPurpose, ScanStatus

router = APIRouter()


def _scan_visible(session: Session, principal: Principal, scan: Scan) -> None:
    if principal.role is Role.STORE:
        listing = session.get(Listing, scan.listing_id) if scan.listing_id else None
        ensure_store(principal, listing.store_id if listing else None)
    elif principal.role is Role.DEVELOPER:
        ensure_operator(principal, scan.operator_id)


def _wake(ctx: ServiceContext) -> None:
    wake = ctx.extra.get("wake")
    if callable(wake):
        wake()


async def _store_policy(policy: UploadFile | None, ctx: ServiceContext) -> StoredUpload | None:
    if policy is None:
        return None
    return await store_upload(policy, ctx.settings, folder="policies", suffix=policy_suffix(policy.filename))


def _detail(scan: Scan) -> dict[str, Any]:
    return ScanDetail.model_validate(scan).model_dump(mode="json")


@router.post("/scans", response_model=ScanOut, status_code=202)
async def submit_scan(
    apk: UploadFile = File(..., description="The APK to scan"),
    policy: UploadFile | None = File(None, description="Privacy policy (HTML, MHTML, Markdown, text, PDF or DOCX)"),
    app_type: str | None = Form(None, max_length=64),
    campaign_id: int | None = Form(None),
    operator_name: str | None = Form(None, max_length=300),
    operator_credit_code: str | None = Form(None, max_length=18),
    idempotency_key: str | None = Header(None, alias="Idempotency-Key"),
    principal: Principal = Depends(allow(Role.REGULATOR, Role.LAB, Role.DEVELOPER)),
    session: Session = Depends(get_session),
    ctx: ServiceContext = Depends(get_context),
    at: datetime = Depends(now),
) -> JSONResponse:
    """Queue a detection scan; a developer's upload is a self-check of its own operator's app."""
    stored = await store_upload(apk, ctx.settings)
    policy_file = await _store_policy(policy, ctx)
    fingerprint = request_fingerprint(
        stored.sha256,
        policy_file.sha256 if policy_file else None,
        app_type,
        campaign_id,
        operator_name,
        operator_credit_code,
    )
    replayed = replay(session, principal, idempotency_key, "scans", fingerprint)
    if replayed is not None:
        return replayed
    operator_id = None
    if principal.role is Role.DEVELOPER:
        operator_id = principal.operator_id
    elif operator_credit_code:
        operator_id = stores.upsert_operator(
            session,
            legal_name=operator_name or operator_credit_code,
            credit_code=operator_credit_code,
            actor=principal.actor,
            now=at,
        ).id
    if campaign_id is not None and session.get(Campaign, campaign_id) is None:
        raise NotFound(f"campaign {campaign_id} does not exist")
    scan = Scan(
        status=ScanStatus.QUEUED.value,
        purpose=(ScanPurpose.SELF_CHECK if principal.role is Role.DEVELOPER else ScanPurpose.LAB).value,
        apk_sha256=stored.sha256,
        apk_size=stored.size,
        apk_path=stored.path,
        declared_app_type=app_type,
        policy_path=policy_file.path if policy_file else None,
        campaign_id=campaign_id,
        requested_by_id=principal.user_id,
        operator_id=operator_id,
        created_at=at,
    )
    session.add(scan)
    session.flush()
    audit.append(
        session,
        actor=principal.actor,
        action="scan.submit",
        entity_type="scan",
        entity_id=scan.id,
        payload={"apk_sha256": stored.sha256, "purpose": scan.purpose, "campaign_id": campaign_id},
        at=at,
    )
    body = ScanOut.model_validate(scan).model_dump(mode="json")
    remember(session, principal, idempotency_key, "scans", fingerprint, 202, body)
    commit(session)
    _wake(ctx)
    return JSONResponse(status_code=202, content=body)


@router.get("/scans", response_model=Page[ScanOut])
def list_scans(
    principal: Principal = Depends(allow(*READERS, Role.DEVELOPER)),
    session: Session = Depends(get_session),
    page: PageParams = Depends(page_params),
) -> dict[str, object]:
    query = select(Scan)
    if principal.role is Role.DEVELOPER:
        query = query.where(Scan.operator_id == principal.operator_id)
    return paginate(session, query.order_by(Scan.id), page)


@router.get("/scans/{scan_id}", response_model=ScanDetail)
def get_scan(
    scan_id: int,
    principal: Principal = Depends(allow(*READERS, Role.DEVELOPER, Role.STORE)),
    session: Session = Depends(get_session),
) -> dict[str, Any]:
    scan = jobs.get_scan(session, scan_id)
    _scan_visible(session, principal, scan)
    return _detail(scan)


@router.post("/stores/{store_id}/reviews", response_model=ScanOut, status_code=202)
async def submit_review(
    store_id: int,
    apk: UploadFile = File(...),
    policy: UploadFile | None = File(None, description="Privacy policy (HTML, MHTML, Markdown, text, PDF or DOCX)"),
    metadata: str = Form(..., max_length=60000, description="Listing metadata as JSON (ListingMetadata)"),
    callback_url: str | None = Form(None, max_length=1000, pattern=r"^https?://"),
    app_type: str | None = Form(None, max_length=64),
    idempotency_key: str | None = Header(None, alias="Idempotency-Key"),
    principal: Principal = Depends(allow(Role.STORE)),
    session: Session = Depends(get_session),
    ctx: ServiceContext = Depends(get_context),
    at: datetime = Depends(now),
) -> JSONResponse:
    """A store submits an app for listing review; the verdict comes by poll or callback."""
    ensure_store(principal, store_id)
    store = stores.get_store(session, store_id)
    try:
        listing_metadata = stores.ListingMetadata.model_validate(json.loads(metadata))
    except (ValueError, ValidationError) as exc:
        raise InvalidInput("listing metadata is not valid JSON of the expected shape", detail=str(exc)[:2000]) from None
    stored = await store_upload(apk, ctx.settings)
    policy_file = await _store_policy(policy, ctx)
    fingerprint = request_fingerprint(
        stored.sha256, policy_file.sha256 if policy_file else None, store_id, metadata, callback_url, app_type
    )
    replayed = replay(session, principal, idempotency_key, "reviews", fingerprint)
    if replayed is not None:
        return replayed
    scan = stores.submit_listing_review(
        session,
        store,
        apk_path=stored.path,
        apk_sha256=stored.sha256,
        apk_size=stored.size,
        metadata=listing_metadata,
        callback_url=callback_url,
        app_type=app_type,
        policy_path=policy_file.path if policy_file else None,
        requested_by_id=principal.user_id,
        actor=principal.actor,
        now=at,
    )
    body = ScanOut.model_validate(scan).model_dump(mode="json")
    remember(session, principal, idempotency_key, "reviews", fingerprint, 202, body)
    commit(session)
    _wake(ctx)
    return JSONResponse(status_code=202, content=body)


@router.get("/stores/{store_id}/reviews/{scan_id}")
def get_review(
    store_id: int,
    scan_id: int,
    principal: Principal = Depends(allow(Role.STORE, Role.REGULATOR, Role.AUDITOR)),
    session: Session = Depends(get_session),
) -> dict[str, Any]:
    """The review verdict: status, pass / fail and the findings under the unified rule catalog."""
    ensure_store(principal, store_id)
    scan = jobs.get_scan(session, scan_id)
    listing = session.get(Listing, scan.listing_id) if scan.listing_id else None
    if listing is None or listing.store_id != store_id:
        raise NotFound(f"scan {scan_id} is not a listing review of store {store_id}")
    return stores.review_verdict(scan)
