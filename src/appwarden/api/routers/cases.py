"""The case chain over HTTP: open, notice, re-test, name, takedown, bad list."""

from __future__ import annotations

from datetime import datetime

from fastapi import APIRouter, Depends, Query
from sqlalchemy import select
from sqlalchemy.orm import Session

from appwarden.api.auth import READERS, Principal, allow, ensure_operator
from appwarden.api.deps import PageParams, ServiceContext, commit, get_context, get_session, now, page_params, paginate
from appwarden.api.schemas import (
    BadListOut,
    CaseDetail,
    CaseIdsIn,
    CaseOpenIn,
    CaseOut,
    NoticeOut,
    OptionalReasonIn,
    Page,
    ReasonIn,
    RetestIn,
    RetestOut,
    TakedownOrderOut,
)
from appwarden.governance import cases, jobs
from appwarden.governance.errors import NotFound
from appwarden.governance.models import BadListEntry, Campaign, Case, CaseState, Notice, Role, TakedownOrder

router = APIRouter(prefix="/cases")


@router.post("", response_model=CaseOut, status_code=201)
def open_case(
    body: CaseOpenIn,
    principal: Principal = Depends(allow(Role.REGULATOR, Role.LAB)),
    session: Session = Depends(get_session),
    at: datetime = Depends(now),
) -> Case:
    scan = jobs.get_scan(session, body.scan_id)
    campaign = session.get(Campaign, body.campaign_id) if body.campaign_id is not None else None
    if body.campaign_id is not None and campaign is None:
        raise NotFound(f"campaign {body.campaign_id} does not exist")
    case = cases.open_case(session, scan, actor=principal.actor, now=at, campaign=campaign, reason=body.reason)
    commit(session)
    return case


@router.get("", response_model=Page[CaseOut])
def list_cases(
    state: CaseState | None = Query(None),
    campaign_id: int | None = Query(None),
    principal: Principal = Depends(allow(*READERS, Role.DEVELOPER)),
    session: Session = Depends(get_session),
    page: PageParams = Depends(page_params),
) -> dict[str, object]:
    query = select(Case)
    if state is not None:
        query = query.where(Case.state == state.value)
    if campaign_id is not None:
        query = query.where(Case.campaign_id == campaign_id)
    if principal.role is Role.DEVELOPER:
        query = query.where(Case.operator_id == principal.operator_id)
    return paginate(session, query.order_by(Case.id), page)


@router.get("/{case_id}", response_model=CaseDetail)
def get_case(
    case_id: int,
    principal: Principal = Depends(allow(*READERS, Role.DEVELOPER)),
    session: Session = Depends(get_session),
) -> Case:
    case = cases.get_case(session, case_id)
    ensure_operator(principal, case.operator_id)
    return case


@router.post("/notices", response_model=list[NoticeOut], status_code=201)
def issue_notices(
    body: CaseIdsIn,
    principal: Principal = Depends(allow(Role.REGULATOR)),
    session: Session = Depends(get_session),
    ctx: ServiceContext = Depends(get_context),
    at: datetime = Depends(now),
) -> list[Notice]:
    """Rectification notices, one per operator, for detected cases; each case gets its deadline."""
    selected = [cases.get_case(session, i) for i in dict.fromkeys(body.case_ids)]
    issued = cases.issue_notices(
        session,
        selected,
        actor=principal.actor,
        now=at,
        calendar=ctx.calendar,
        default_workdays=ctx.settings.default_deadline_workdays,
    )
    commit(session)
    return issued


@router.post("/{case_id}/retest", response_model=RetestOut)
def record_retest(
    case_id: int,
    body: RetestIn,
    principal: Principal = Depends(allow(Role.REGULATOR, Role.LAB)),
    session: Session = Depends(get_session),
    at: datetime = Depends(now),
) -> RetestOut:
    case = cases.get_case(session, case_id)
    comparison = cases.record_retest(session, case, jobs.get_scan(session, body.scan_id), actor=principal.actor, now=at)
    commit(session)
    return RetestOut(case=CaseOut.model_validate(case), **comparison.as_dict())


@router.post("/{case_id}/name", response_model=CaseOut)
def name_publicly(
    case_id: int,
    body: ReasonIn,
    principal: Principal = Depends(allow(Role.REGULATOR)),
    session: Session = Depends(get_session),
    at: datetime = Depends(now),
) -> Case:
    case = cases.get_case(session, case_id)
    cases.name_publicly(session, case, actor=principal.actor, reason=body.reason, now=at)
    commit(session)
    return case


@router.post("/{case_id}/takedown", response_model=list[TakedownOrderOut], status_code=201)
def order_takedown(
    case_id: int,
    body: OptionalReasonIn,
    principal: Principal = Depends(allow(Role.REGULATOR)),
    session: Session = Depends(get_session),
    ctx: ServiceContext = Depends(get_context),
    at: datetime = Depends(now),
) -> list[TakedownOrder]:
    case = cases.get_case(session, case_id)
    orders = cases.order_takedown(
        session, case, actor=principal.actor, now=at, ack_hours=ctx.settings.takedown_ack_hours, reason=body.reason
    )
    commit(session)
    return orders


@router.post("/{case_id}/badlist", response_model=BadListOut, status_code=201)
def badlist(
    case_id: int,
    body: ReasonIn,
    principal: Principal = Depends(allow(Role.REGULATOR)),
    session: Session = Depends(get_session),
    at: datetime = Depends(now),
) -> BadListEntry:
    case = cases.get_case(session, case_id)
    entry = cases.badlist_operator(session, case, actor=principal.actor, reason=body.reason, now=at)
    commit(session)
    return entry
