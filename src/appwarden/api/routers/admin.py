"""Users, operators, apps, campaigns, the bad list and the clock."""

from __future__ import annotations

from datetime import datetime

from fastapi import APIRouter, Depends
from sqlalchemy import select
from sqlalchemy.orm import Session

from appwarden.api.auth import ALL_ROLES, READERS, Principal, allow, create_user, ensure_operator
from appwarden.api.deps import PageParams, commit, get_session, now, page_params, paginate
from appwarden.api.schemas import (
    AppOperatorIn,
    AppOut,
    BadListOut,
    CampaignIn,
    CampaignOut,
    Me,
    OperatorIn,
    OperatorOut,
    Page,
    TickOut,
    UserCreated,
    UserIn,
)
from appwarden.governance import audit, cases, stores
from appwarden.governance.errors import AlreadyExists, NotFound
from appwarden.governance.models import App, BadListEntry, Campaign, Listing, Operator, Role

router = APIRouter()


@router.post("/users", response_model=UserCreated, status_code=201)
def create_user_endpoint(
    body: UserIn,
    principal: Principal = Depends(allow(Role.REGULATOR)),
    session: Session = Depends(get_session),
    at: datetime = Depends(now),
) -> UserCreated:
    user, token = create_user(
        session,
        name=body.name,
        role=body.role,
        store_id=body.store_id,
        operator_id=body.operator_id,
        actor=principal.actor,
        now=at,
    )
    commit(session)
    return UserCreated(id=user.id, name=user.name, role=body.role, token=token)


@router.get("/me", response_model=Me)
def me(principal: Principal = Depends(allow(*ALL_ROLES))) -> Me:
    return Me(
        id=principal.user_id,
        name=principal.name,
        role=principal.role,
        store_id=principal.store_id,
        operator_id=principal.operator_id,
    )


@router.post("/operators", response_model=OperatorOut, status_code=201)
def create_operator(
    body: OperatorIn,
    principal: Principal = Depends(allow(Role.REGULATOR, Role.LAB)),
    session: Session = Depends(get_session),
    at: datetime = Depends(now),
) -> Operator:
    operator = stores.upsert_operator(
        session, legal_name=body.legal_name, credit_code=body.credit_code, actor=principal.actor, now=at
    )
    commit(session)
    return operator


@router.get("/operators", response_model=Page[OperatorOut])
def list_operators(
    principal: Principal = Depends(allow(*READERS, Role.DEVELOPER)),
    session: Session = Depends(get_session),
    page: PageParams = Depends(page_params),
) -> dict[str, object]:
    query = select(Operator)
    if principal.role is Role.DEVELOPER:
        query = query.where(Operator.id == principal.operator_id)
    return paginate(session, query.order_by(Operator.id), page)


@router.get("/operators/{operator_id}", response_model=OperatorOut)
def get_operator(
    operator_id: int,
    principal: Principal = Depends(allow(*READERS, Role.DEVELOPER)),
    session: Session = Depends(get_session),
) -> Operator:
    ensure_operator(principal, operator_id)
    operator = session.get(Operator, operator_id)
    if operator is None:
        raise NotFound(f"operator {operator_id} does not exist")
    return operator


@router.get("/apps", response_model=Page[AppOut])
def list_apps(
    principal: Principal = Depends(allow(*ALL_ROLES)),
    session: Session = Depends(get_session),
    page: PageParams = Depends(page_params),
) -> dict[str, object]:
    query = select(App)
    if principal.role is Role.DEVELOPER:
        query = query.where(App.operator_id == principal.operator_id)
    elif principal.role is Role.STORE:
        query = query.where(App.id.in_(select(Listing.app_id).where(Listing.store_id == principal.store_id)))
    return paginate(session, query.order_by(App.id), page)


@router.get("/apps/{app_id}", response_model=AppOut)
def get_app(
    app_id: int,
    principal: Principal = Depends(allow(*READERS, Role.DEVELOPER)),
    session: Session = Depends(get_session),
) -> App:
    app = cases.app_of(session, app_id)
    ensure_operator(principal, app.operator_id)
    return app


@router.put("/apps/{app_id}/operator", response_model=AppOut)
def link_operator(
    app_id: int,
    body: AppOperatorIn,
    principal: Principal = Depends(allow(Role.REGULATOR, Role.LAB)),
    session: Session = Depends(get_session),
    at: datetime = Depends(now),
) -> App:
    app = cases.app_of(session, app_id)
    if session.get(Operator, body.operator_id) is None:
        raise NotFound(f"operator {body.operator_id} does not exist")
    app.operator_id = body.operator_id
    audit.append(
        session,
        actor=principal.actor,
        action="app.link_operator",
        entity_type="app",
        entity_id=app.id,
        payload={"operator_id": body.operator_id},
        at=at,
    )
    commit(session)
    return app


@router.post("/campaigns", response_model=CampaignOut, status_code=201)
def create_campaign(
    body: CampaignIn,
    principal: Principal = Depends(allow(Role.REGULATOR)),
    session: Session = Depends(get_session),
    at: datetime = Depends(now),
) -> Campaign:
    if session.scalars(select(Campaign).where(Campaign.name == body.name)).first() is not None:
        raise AlreadyExists(f"campaign {body.name!r} already exists")
    campaign = Campaign(**body.model_dump(), created_at=at)
    session.add(campaign)
    session.flush()
    audit.append(
        session,
        actor=principal.actor,
        action="campaign.create",
        entity_type="campaign",
        entity_id=campaign.id,
        payload=body.model_dump(mode="json"),
        at=at,
    )
    commit(session)
    return campaign


@router.get("/campaigns", response_model=Page[CampaignOut])
def list_campaigns(
    principal: Principal = Depends(allow(*READERS)),
    session: Session = Depends(get_session),
    page: PageParams = Depends(page_params),
) -> dict[str, object]:
    return paginate(session, select(Campaign).order_by(Campaign.id), page)


@router.get("/bad-list", response_model=Page[BadListOut])
def bad_list(
    principal: Principal = Depends(allow(*ALL_ROLES)),
    session: Session = Depends(get_session),
    page: PageParams = Depends(page_params),
) -> dict[str, object]:
    query = select(BadListEntry)
    if principal.role is Role.DEVELOPER:
        query = query.where(BadListEntry.operator_id == principal.operator_id)
    return paginate(session, query.order_by(BadListEntry.id), page)


@router.post("/tick", response_model=TickOut)
def tick(
    principal: Principal = Depends(allow(Role.REGULATOR)),
    session: Session = Depends(get_session),
    at: datetime = Depends(now),
) -> TickOut:
    result = cases.tick(session, now=at)
    return TickOut(named=result.named, escalated_orders=result.escalated_orders, conflicts=result.conflicts)
