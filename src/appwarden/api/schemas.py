"""Request and response bodies of the REST API (the OpenAPI document is generated from them)."""

from __future__ import annotations

from datetime import date, datetime
from typing import Any, Generic, TypeVar

from pydantic import BaseModel, ConfigDict, Field

from appwarden.governance.models import Role
from appwarden.governance.stores import CatalogItem

T = TypeVar("T")


class Out(BaseModel):
    model_config = ConfigDict(from_attributes=True)


class Page(BaseModel, Generic[T]):
    items: list[T]
    total: int
    limit: int
    offset: int


class UserIn(BaseModel):
    name: str = Field(min_length=1, max_length=200)
    role: Role
    store_id: int | None = None
    operator_id: int | None = None


class UserCreated(BaseModel):
    id: int
    name: str
    role: Role
    token: str = Field(description="Shown once; only its hash is stored")


class Me(BaseModel):
    id: int
    name: str
    role: Role
    store_id: int | None
    operator_id: int | None


class OperatorIn(BaseModel):
    legal_name: str = Field(min_length=1, max_length=300)
    credit_code: str = Field(min_length=18, max_length=18, description="Unified social credit code (GB 32100-2015)")


class OperatorOut(Out):
    id: int
    legal_name: str
    credit_code: str
    offence_count: int
    badlisted: bool


class AppOut(Out):
    id: int
    package: str
    name: str | None
    app_type: str | None
    operator_id: int | None


class AppOperatorIn(BaseModel):
    operator_id: int


class CampaignIn(BaseModel):
    name: str = Field(min_length=1, max_length=300)
    scope: str | None = None
    focus: str | None = None
    starts_on: date | None = None
    ends_on: date | None = None
    deadline_workdays: int | None = Field(None, ge=1, le=120)


class CampaignOut(Out):
    id: int
    name: str
    scope: str | None
    focus: str | None
    starts_on: date | None
    ends_on: date | None
    deadline_workdays: int | None


class FindingOut(Out):
    rule_id: str
    also_rule_ids: list[str] = []
    title_zh: str
    title_en: str
    severity: str
    confidence: str
    technique: str
    focus_area: str | None
    owner: str
    sdk_vendor: str | None
    fingerprint: str
    basis: list[Any]


class ScanOut(Out):
    id: int
    status: str
    purpose: str
    apk_sha256: str
    apk_size: int
    app_version_id: int | None
    campaign_id: int | None
    listing_id: int | None
    engine_version: str | None
    catalog_version: str | None
    verdict: str | None
    max_severity: str | None
    error: str | None
    callback_status: str | None
    created_at: datetime
    finished_at: datetime | None


class ScanDetail(ScanOut):
    findings: list[FindingOut]


class CaseOpenIn(BaseModel):
    scan_id: int
    campaign_id: int | None = None
    reason: str = Field("", max_length=2000)


class CaseEventOut(Out):
    id: int
    from_state: str | None
    to_state: str
    actor: str
    at: datetime
    reason: str
    documents: list[Any]
    detail: dict[str, Any]


class CaseOut(Out):
    id: int
    state: str
    app_id: int
    app_version_id: int
    operator_id: int
    campaign_id: int | None
    scan_id: int
    retest_scan_id: int | None
    deadline: date | None
    opened_at: datetime
    updated_at: datetime
    row_version: int


class CaseDetail(CaseOut):
    events: list[CaseEventOut]


class CaseIdsIn(BaseModel):
    case_ids: list[int] = Field(min_length=1, max_length=1000)


class RetestIn(BaseModel):
    scan_id: int


class ReasonIn(BaseModel):
    reason: str = Field(min_length=1, max_length=2000)


class OptionalReasonIn(BaseModel):
    reason: str = Field("", max_length=2000)


class RetestOut(BaseModel):
    case: CaseOut
    fixed: list[str]
    still_present: list[str]
    new: list[str]
    passed: bool


class NoticeOut(Out):
    id: int
    number: str
    kind: str
    operator_id: int | None
    store_id: int | None
    sdk_vendor_id: int | None
    issued_at: datetime
    issued_by: str
    payload_sha256: str


class VendorNoticeIn(BaseModel):
    vendor_id: int


class StoreIn(BaseModel):
    code: str = Field(min_length=1, max_length=64)
    name: str = Field(min_length=1, max_length=200)
    webhook_url: str | None = Field(None, max_length=1000, pattern=r"^https?://")


class StoreOut(Out):
    id: int
    code: str
    name: str
    webhook_url: str | None


class ListingOut(Out):
    id: int
    store_id: int
    app_id: int | None
    app_version_id: int | None
    status: str
    listed_name: str | None
    category: str | None
    developer: str | None
    approved_at: datetime | None
    last_seen_at: datetime | None


class TakedownOrderOut(Out):
    id: int
    case_id: int
    store_id: int
    listing_id: int | None
    notice_id: int | None
    issued_at: datetime
    due_at: datetime
    acknowledged_at: datetime | None
    acknowledged_by: str | None
    removal_observed_at: datetime | None
    escalated_at: datetime | None


class SnapshotIn(BaseModel):
    taken_at: datetime
    items: list[CatalogItem] = Field(max_length=500_000)


class SnapshotOut(Out):
    id: int
    store_id: int
    taken_at: datetime
    uploaded_at: datetime


class BadListOut(Out):
    id: int
    operator_id: int
    case_id: int
    offence_number: int
    listed_at: datetime
    reason: str


class AuditEntryOut(Out):
    seq: int
    at: datetime
    actor: str
    action: str
    entity_type: str
    entity_id: str
    payload: str
    prev_hash: str
    hash: str


class AuditVerifyOut(BaseModel):
    ok: bool
    entries: int
    problems: list[str]


class TickOut(BaseModel):
    named: list[int]
    escalated_orders: list[int]
    conflicts: list[int]


class VendorOut(Out):
    id: int
    name: str
    name_zh: str | None
