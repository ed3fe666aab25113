"""Notices over HTTP: issue the public list and vendor notices, list, download in every format."""

from __future__ import annotations

from datetime import datetime
from typing import Literal

from fastapi import APIRouter, Depends, Query
from fastapi.responses import Response
from sqlalchemy import select
from sqlalchemy.orm import Session

from appwarden.api.auth import READERS, Principal, allow, ensure_operator, ensure_store
from appwarden.api.deps import PageParams, commit, get_session, now, page_params, paginate
from appwarden.api.schemas import CaseIdsIn, NoticeOut, Page, VendorNoticeIn
from appwarden.governance import cases, notices, sdk_governance
from appwarden.governance.errors import InvalidTransition
from appwarden.governance.models import CaseState, Notice, NoticeKind, Role

router = APIRouter(prefix="/notices")
_PUBLIC_KINDS = (NoticeKind.PUBLIC_LIST.value,)


def _visible(principal: Principal, notice: Notice) -> None:
    if notice.kind in _PUBLIC_KINDS:
        return
    if principal.role is Role.STORE:
        ensure_store(principal, notice.store_id)
    elif principal.role is Role.DEVELOPER:
        ensure_operator(principal, notice.operator_id)


@router.post("/public-list", response_model=NoticeOut, status_code=201)
def issue_public_list(
    body: CaseIdsIn,
    principal: Principal = Depends(allow(Role.REGULATOR)),
    session: Session = Depends(get_session),
    at: datetime = Depends(now),
) -> Notice:
    """The public notification list for a batch of publicly named (or further escalated) cases."""
    selected = [cases.get_case(session, i) for i in dict.fromkeys(body.case_ids)]
    named_or_later = {
        CaseState.PUBLICLY_NAMED.value,
        CaseState.TAKEDOWN_ORDERED.value,
        CaseState.REMOVAL_CONFIRMED.value,
        CaseState.OPERATOR_BADLISTED.value,
    }
    for case in selected:
        if case.state not in named_or_later:
            raise InvalidTransition(f"case {case.id} is {case.state}; only publicly named cases go on the public list")
    notice = notices.issue_public_list(session, selected, actor=principal.actor, now=at)
    commit(session)
    return notice


@router.post("/sdk-vendor", response_model=NoticeOut, status_code=201)
def issue_vendor_notice(
    body: VendorNoticeIn,
    principal: Principal = Depends(allow(Role.REGULATOR)),
    session: Session = Depends(get_session),
    at: datetime = Depends(now),
) -> Notice:
    vendor = sdk_governance.get_vendor(session, body.vendor_id)
    notice = notices.issue_sdk_vendor_notice(session, vendor, actor=principal.actor, now=at)
    commit(session)
    return notice


@router.get("", response_model=Page[NoticeOut])
def list_notices(
    kind: NoticeKind | None = Query(None),
    principal: Principal = Depends(allow(*READERS, Role.STORE, Role.DEVELOPER)),
    session: Session = Depends(get_session),
    page: PageParams = Depends(page_params),
) -> dict[str, object]:
    query = select(Notice)
    if kind is not None:
        query = query.where(Notice.kind == kind.value)
    if principal.role is Role.STORE:
        query = query.where((Notice.store_id == principal.store_id) | Notice.kind.in_(_PUBLIC_KINDS))
    elif principal.role is Role.DEVELOPER:
        query = query.where((Notice.operator_id == principal.operator_id) | Notice.kind.in_(_PUBLIC_KINDS))
    return paginate(session, query.order_by(Notice.id), page)


@router.get("/{notice_id}", response_model=NoticeOut)
def get_notice(
    notice_id: int,
    principal: Principal = Depends(allow(*READERS, Role.STORE, Role.DEVELOPER)),
    session: Session = Depends(get_session),
) -> Notice:
    notice = notices.get_notice(session, notice_id)
    _visible(principal, notice)
    return notice


@router.get("/{notice_id}/document/{fmt}", response_class=Response)
def render_notice(
    notice_id: int,
    fmt: Literal["html", "pdf", "xlsx", "csv", "json"],
    principal: Principal = Depends(allow(*READERS, Role.STORE, Role.DEVELOPER)),
    session: Session = Depends(get_session),
) -> Response:
    """The notice rendered from its frozen data as HTML, PDF, XLSX, CSV or JSON."""
    notice = notices.get_notice(session, notice_id)
    _visible(principal, notice)
    body = notices.render(notice, fmt)
    filename = f"{notice.number}.{fmt}"
    return Response(
        content=body,
        media_type=notices.MEDIA_TYPES[fmt],
        headers={
            "Content-Disposition": f'attachment; filename="{filename}"',
            "X-Payload-SHA256": notice.payload_sha256,
        },
    )
