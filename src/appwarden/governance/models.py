"""Persistent governance records (SQLAlchemy 2, typed ORM).

One table per concept of DESIGN.md §3. Enumerations are stored as short strings
checked in code (cases.py, stores.py) so that adding a state is a code change and a
small migration, not a database type change. Every timestamp is stored in UTC and
read back timezone-aware, on SQLite as on PostgreSQL.
"""

from __future__ import annotations

import enum
import re
from datetime import UTC, date, datetime
from typing import Any

from sqlalchemy import (
    JSON,
    Boolean,
    Column,
    Date,
    DateTime,
    Dialect,
    ForeignKey,
    Index,
    Integer,
    MetaData,
    String,
    Table,
    Text,
    TypeDecorator,
    UniqueConstraint,
    text,
)
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column, relationship

from appwarden.governance.errors import InvalidInput


class UTCDateTime(TypeDecorator[datetime]):
    """Aware datetimes in, aware UTC datetimes out; stored naive-UTC so SQLite keeps order."""

    impl = DateTime
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise InvalidInput("timestamps must be timezone-aware", detail=str(value))
        return value.astimezone(UTC).replace(tzinfo=None)

    def process_result_value(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


def utcnow() -> datetime:
    return datetime.now(UTC)


NAMING = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING)
    type_annotation_map = {datetime: UTCDateTime(), dict[str, Any]: JSON, list[Any]: JSON}  # noqa: RUF012


# --- enumerations ---------------------------------------------------------------------------------------------


class Role(enum.StrEnum):
    REGULATOR = "regulator"
    LAB = "lab"
    STORE = "store"
    DEVELOPER = "developer"
    AUDITOR = "auditor"


class CaseState(enum.StrEnum):
    DETECTED = "detected"
    NOTICE_ISSUED = "notice_issued"
    CLOSED = "closed"
    PUBLICLY_NAMED = "publicly_named"
    TAKEDOWN_ORDERED = "takedown_ordered"
    REMOVAL_CONFIRMED = "removal_confirmed"
    OPERATOR_BADLISTED = "operator_badlisted"


class ScanStatus(enum.StrEnum):
    QUEUED = "queued"
    RUNNING = "running"
    DONE = "done"
    FAILED = "failed"


class ScanPurpose(enum.StrEnum):
    LAB = "lab"
    LISTING_REVIEW = "listing_review"
    SELF_CHECK = "self_check"
    RETEST = "retest"


class ListingStatus(enum.StrEnum):
    UNDER_REVIEW = "under_review"
    REJECTED = "rejected"
    LISTED = "listed"
    REMOVED = "removed"


class NoticeKind(enum.StrEnum):
    RECTIFICATION = "rectification_notice"
    PUBLIC_LIST = "public_notice"
    TAKEDOWN = "takedown_order"
    SDK_VENDOR = "sdk_vendor_notice"


# --- unified social credit code (GB 32100-2015) -----------------------------------------------------------------

_USCC_ALPHABET = "0123456789ABCDEFGHJKLMNPQRTUWXY"
_USCC_WEIGHTS = (1, 3, 9, 27, 19, 26, 16, 17, 20, 29, 25, 13, 8, 24, 10, 30, 28)
_USCC_SHAPE = re.compile(r"^[0-9A-HJ-NPQRTUWXY]{2}\d{6}[0-9A-HJ-NPQRTUWXY]{10}$")


def uscc_check_char(first17: str) -> str:
    """The 18th character of a unified social credit code, per GB 32100-2015 (mod 31)."""
    total = sum(_USCC_ALPHABET.index(c) * w for c, w in zip(first17, _USCC_WEIGHTS, strict=True))
    return _USCC_ALPHABET[(31 - total % 31) % 31]


def validate_credit_code(code: str) -> str:
    """Normalise and check a unified social credit code; raise InvalidInput saying what is wrong."""
    normalised = code.strip().upper()
    if len(normalised) != 18:
        raise InvalidInput(f"a unified social credit code has 18 characters, got {len(normalised)}", detail=code)
    if not _USCC_SHAPE.match(normalised):
        raise InvalidInput(
            "unified social credit code has characters outside GB 32100-2015 (no I, O, S, V, Z)", detail=code
        )
    expected = uscc_check_char(normalised[:17])
    if normalised[17] != expected:
        raise InvalidInput(
            f"unified social credit code check digit is {normalised[17]!r}, expected {expected!r}", detail=code
        )
    return normalised


# --- parties ----------------------------------------------------------------------------------------------------


class Operator(Base):
    """The legal entity that operates apps; carries the bad-list state."""

    __tablename__ = "operators"
    id: Mapped[int] = mapped_column(primary_key=True)
    legal_name: Mapped[str] = mapped_column(String(300))
    credit_code: Mapped[str] = mapped_column(String(18), unique=True)
    offence_count: Mapped[int] = mapped_column(Integer, default=0)
    badlisted: Mapped[bool] = mapped_column(Boolean, default=False)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    apps: Mapped[list[App]] = relationship(back_populates="operator")


class App(Base):
    __tablename__ = "apps"
    id: Mapped[int] = mapped_column(primary_key=True)
    package: Mapped[str] = mapped_column(String(255), unique=True)
    name: Mapped[str | None] = mapped_column(String(300))
    app_type: Mapped[str | None] = mapped_column(String(64))
    operator_id: Mapped[int | None] = mapped_column(ForeignKey("operators.id"), index=True)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    operator: Mapped[Operator | None] = relationship(back_populates="apps")
    versions: Mapped[list[AppVersion]] = relationship(back_populates="app", order_by="AppVersion.id")


class AppVersion(Base):
    __tablename__ = "app_versions"
    id: Mapped[int] = mapped_column(primary_key=True)
    app_id: Mapped[int] = mapped_column(ForeignKey("apps.id"), index=True)
    version_name: Mapped[str | None] = mapped_column(String(100))
    version_code: Mapped[int | None] = mapped_column(Integer)
    apk_sha256: Mapped[str] = mapped_column(String(64), unique=True)
    apk_size: Mapped[int] = mapped_column(Integer, default=0)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    app: Mapped[App] = relationship(back_populates="versions")


class Store(Base):
    __tablename__ = "stores"
    id: Mapped[int] = mapped_column(primary_key=True)
    code: Mapped[str] = mapped_column(String(64), unique=True)
    name: Mapped[str] = mapped_column(String(200))
    webhook_url: Mapped[str | None] = mapped_column(String(1000))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class Listing(Base):
    """An app as a store lists it (store x app; the version is the latest reviewed or seen)."""

    __tablename__ = "listings"
    __table_args__ = (UniqueConstraint("store_id", "app_id"),)
    id: Mapped[int] = mapped_column(primary_key=True)
    store_id: Mapped[int] = mapped_column(ForeignKey("stores.id"), index=True)
    app_id: Mapped[int | None] = mapped_column(ForeignKey("apps.id"), index=True)
    app_version_id: Mapped[int | None] = mapped_column(ForeignKey("app_versions.id"))
    status: Mapped[str] = mapped_column(String(32), default=ListingStatus.UNDER_REVIEW.value)
    listed_name: Mapped[str | None] = mapped_column(String(300))
    category: Mapped[str | None] = mapped_column(String(100))
    developer: Mapped[str | None] = mapped_column(String(300))
    description: Mapped[str | None] = mapped_column(Text)
    approved_at: Mapped[datetime | None] = mapped_column()
    last_seen_at: Mapped[datetime | None] = mapped_column()
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    store: Mapped[Store] = relationship()
    app: Mapped[App | None] = relationship()


class Campaign(Base):
    """A special rectification drive: scope, focus, period and its own deadline rule."""

    __tablename__ = "campaigns"
    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(300), unique=True)
    scope: Mapped[str | None] = mapped_column(Text)
    focus: Mapped[str | None] = mapped_column(Text)
    starts_on: Mapped[date | None] = mapped_column(Date)
    ends_on: Mapped[date | None] = mapped_column(Date)
    deadline_workdays: Mapped[int | None] = mapped_column(Integer)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


# --- scans and findings -----------------------------------------------------------------------------------------


class Scan(Base):
    """One detection run: an APK x engine version x rule-catalog version -> findings."""

    __tablename__ = "scans"
    id: Mapped[int] = mapped_column(primary_key=True)
    status: Mapped[str] = mapped_column(String(16), default=ScanStatus.QUEUED.value, index=True)
    purpose: Mapped[str] = mapped_column(String(32), default=ScanPurpose.LAB.value)
    apk_sha256: Mapped[str] = mapped_column(String(64), index=True)
    apk_size: Mapped[int] = mapped_column(Integer, default=0)
    apk_path: Mapped[str] = mapped_column(String(1000))
    declared_app_type: Mapped[str | None] = mapped_column(String(64))
    policy_path: Mapped[str | None] = mapped_column(String(1000))
    app_version_id: Mapped[int | None] = mapped_column(ForeignKey("app_versions.id"), index=True)
    campaign_id: Mapped[int | None] = mapped_column(ForeignKey("campaigns.id"), index=True)
    listing_id: Mapped[int | None] = mapped_column(ForeignKey("listings.id"), index=True)
    requested_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    operator_id: Mapped[int | None] = mapped_column(ForeignKey("operators.id"))
    callback_url: Mapped[str | None] = mapped_column(String(1000))
    callback_status: Mapped[str | None] = mapped_column(String(200))
    job_handle: Mapped[str | None] = mapped_column(String(200))
    engine_version: Mapped[str | None] = mapped_column(String(50))
    catalog_version: Mapped[str | None] = mapped_column(String(50))
    app_type: Mapped[str | None] = mapped_column(String(64))
    verdict: Mapped[str | None] = mapped_column(String(16))
    max_severity: Mapped[str | None] = mapped_column(String(16))
    error: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    started_at: Mapped[datetime | None] = mapped_column()
    finished_at: Mapped[datetime | None] = mapped_column()
    findings: Mapped[list[Finding]] = relationship(back_populates="scan", order_by="Finding.id")
    app_version: Mapped[AppVersion | None] = relationship()


class Finding(Base):
    """A finding as the scan reported it; governance stores it and never re-derives it."""

    __tablename__ = "findings"
    id: Mapped[int] = mapped_column(primary_key=True)
    scan_id: Mapped[int] = mapped_column(ForeignKey("scans.id"), index=True)
    rule_id: Mapped[str] = mapped_column(String(64), index=True)
    #: Rules of other standards that report the same problem (the report merges them into one finding).
    also_rule_ids: Mapped[list[Any]] = mapped_column(default=list, server_default="[]")
    title_zh: Mapped[str] = mapped_column(Text)
    title_en: Mapped[str] = mapped_column(Text)
    severity: Mapped[str] = mapped_column(String(16))
    confidence: Mapped[str] = mapped_column(String(16))
    technique: Mapped[str] = mapped_column(String(16))
    focus_area: Mapped[str | None] = mapped_column(String(64))
    owner: Mapped[str] = mapped_column(String(200), default="app", index=True)
    sdk_vendor: Mapped[str | None] = mapped_column(String(300))
    fingerprint: Mapped[str] = mapped_column(String(64), index=True)
    basis: Mapped[list[Any]] = mapped_column(default=list)
    message_zh: Mapped[str] = mapped_column(Text, default="")
    message_en: Mapped[str] = mapped_column(Text, default="")
    scan: Mapped[Scan] = relationship(back_populates="findings")


class SdkVendor(Base):
    __tablename__ = "sdk_vendors"
    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(300), unique=True)
    name_zh: Mapped[str | None] = mapped_column(String(300))


class Sdk(Base):
    """A catalogued third-party SDK (id as the SDK catalog names it) and its vendor."""

    __tablename__ = "sdks"
    id: Mapped[int] = mapped_column(primary_key=True)
    sdk_key: Mapped[str] = mapped_column(String(200), unique=True)
    name: Mapped[str] = mapped_column(String(300))
    vendor_id: Mapped[int | None] = mapped_column(ForeignKey("sdk_vendors.id"), index=True)
    vendor: Mapped[SdkVendor | None] = relationship()


class AppVersionSdk(Base):
    """An SDK found embedded in an app version."""

    __tablename__ = "app_version_sdks"
    __table_args__ = (UniqueConstraint("app_version_id", "sdk_id"),)
    id: Mapped[int] = mapped_column(primary_key=True)
    app_version_id: Mapped[int] = mapped_column(ForeignKey("app_versions.id"), index=True)
    sdk_id: Mapped[int] = mapped_column(ForeignKey("sdks.id"), index=True)
    scan_id: Mapped[int] = mapped_column(ForeignKey("scans.id"))


# --- the case chain ---------------------------------------------------------------------------------------------


class Case(Base):
    """One rectification case: an app version's findings on their way to closed or to the bad list."""

    __tablename__ = "cases"
    id: Mapped[int] = mapped_column(primary_key=True)
    state: Mapped[str] = mapped_column(String(32), default=CaseState.DETECTED.value, index=True)
    app_id: Mapped[int] = mapped_column(ForeignKey("apps.id"), index=True)
    app_version_id: Mapped[int] = mapped_column(ForeignKey("app_versions.id"))
    operator_id: Mapped[int] = mapped_column(ForeignKey("operators.id"), index=True)
    campaign_id: Mapped[int | None] = mapped_column(ForeignKey("campaigns.id"), index=True)
    scan_id: Mapped[int] = mapped_column(ForeignKey("scans.id"))
    retest_scan_id: Mapped[int | None] = mapped_column(ForeignKey("scans.id"))
    deadline: Mapped[date | None] = mapped_column(Date)
    opened_at: Mapped[datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow)
    # Optimistic concurrency: every UPDATE checks and bumps it, so of two concurrent
    # transitions exactly one matches and the other raises StaleDataError.
    row_version: Mapped[int] = mapped_column(Integer, default=1)
    __mapper_args__ = {"version_id_col": row_version}  # noqa: RUF012

    app: Mapped[App] = relationship()
    app_version: Mapped[AppVersion] = relationship()
    operator: Mapped[Operator] = relationship()
    campaign: Mapped[Campaign | None] = relationship()
    scan: Mapped[Scan] = relationship(foreign_keys=[scan_id])
    retest_scan: Mapped[Scan | None] = relationship(foreign_keys=[retest_scan_id])
    events: Mapped[list[CaseEvent]] = relationship(back_populates="case", order_by="CaseEvent.id")


class CaseEvent(Base):
    """One transition: who, when, why, and the documents it produced."""

    __tablename__ = "case_events"
    id: Mapped[int] = mapped_column(primary_key=True)
    case_id: Mapped[int] = mapped_column(ForeignKey("cases.id"), index=True)
    from_state: Mapped[str | None] = mapped_column(String(32))
    to_state: Mapped[str] = mapped_column(String(32))
    actor: Mapped[str] = mapped_column(String(200))
    at: Mapped[datetime] = mapped_column()
    reason: Mapped[str] = mapped_column(Text)
    documents: Mapped[list[Any]] = mapped_column(default=list)
    detail: Mapped[dict[str, Any]] = mapped_column(default=dict)
    case: Mapped[Case] = relationship(back_populates="events")


notice_cases = Table(
    "notice_cases",
    Base.metadata,
    Column("notice_id", ForeignKey("notices.id"), primary_key=True),
    Column("case_id", ForeignKey("cases.id"), primary_key=True),
)


class Notice(Base):
    """A document issued by the regulator; ``payload`` freezes the data it was rendered from."""

    __tablename__ = "notices"
    id: Mapped[int] = mapped_column(primary_key=True)
    number: Mapped[str] = mapped_column(String(64), unique=True)
    kind: Mapped[str] = mapped_column(String(32), index=True)
    operator_id: Mapped[int | None] = mapped_column(ForeignKey("operators.id"), index=True)
    store_id: Mapped[int | None] = mapped_column(ForeignKey("stores.id"), index=True)
    sdk_vendor_id: Mapped[int | None] = mapped_column(ForeignKey("sdk_vendors.id"), index=True)
    issued_at: Mapped[datetime] = mapped_column()
    issued_by: Mapped[str] = mapped_column(String(200))
    payload: Mapped[dict[str, Any]] = mapped_column(default=dict)
    payload_sha256: Mapped[str] = mapped_column(String(64))
    cases: Mapped[list[Case]] = relationship(secondary=notice_cases)


class TakedownOrder(Base):
    __tablename__ = "takedown_orders"
    __table_args__ = (UniqueConstraint("case_id", "store_id"),)
    id: Mapped[int] = mapped_column(primary_key=True)
    case_id: Mapped[int] = mapped_column(ForeignKey("cases.id"), index=True)
    store_id: Mapped[int] = mapped_column(ForeignKey("stores.id"), index=True)
    listing_id: Mapped[int | None] = mapped_column(ForeignKey("listings.id"))
    notice_id: Mapped[int | None] = mapped_column(ForeignKey("notices.id"))
    issued_at: Mapped[datetime] = mapped_column()
    due_at: Mapped[datetime] = mapped_column()
    acknowledged_at: Mapped[datetime | None] = mapped_column()
    acknowledged_by: Mapped[str | None] = mapped_column(String(200))
    removal_observed_at: Mapped[datetime | None] = mapped_column()
    escalated_at: Mapped[datetime | None] = mapped_column()
    case: Mapped[Case] = relationship()
    store: Mapped[Store] = relationship()


class BadListEntry(Base):
    __tablename__ = "bad_list_entries"
    id: Mapped[int] = mapped_column(primary_key=True)
    operator_id: Mapped[int] = mapped_column(ForeignKey("operators.id"), index=True)
    case_id: Mapped[int] = mapped_column(ForeignKey("cases.id"), unique=True)
    offence_number: Mapped[int] = mapped_column(Integer)
    listed_at: Mapped[datetime] = mapped_column()
    reason: Mapped[str] = mapped_column(Text)


class CatalogSnapshot(Base):
    """The list of apps a store says it lists at one moment."""

    __tablename__ = "catalog_snapshots"
    id: Mapped[int] = mapped_column(primary_key=True)
    store_id: Mapped[int] = mapped_column(ForeignKey("stores.id"), index=True)
    taken_at: Mapped[datetime] = mapped_column()
    uploaded_at: Mapped[datetime] = mapped_column(default=utcnow)
    entries: Mapped[list[CatalogEntry]] = relationship(back_populates="snapshot", order_by="CatalogEntry.id")


class CatalogEntry(Base):
    __tablename__ = "catalog_entries"
    id: Mapped[int] = mapped_column(primary_key=True)
    snapshot_id: Mapped[int] = mapped_column(ForeignKey("catalog_snapshots.id"), index=True)
    package: Mapped[str] = mapped_column(String(255), index=True)
    version_code: Mapped[int | None] = mapped_column(Integer)
    apk_sha256: Mapped[str | None] = mapped_column(String(64))
    snapshot: Mapped[CatalogSnapshot] = relationship(back_populates="entries")


# --- access -----------------------------------------------------------------------------------------------------


class User(Base):
    __tablename__ = "users"
    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(200), unique=True)
    role: Mapped[str] = mapped_column(String(16))
    store_id: Mapped[int | None] = mapped_column(ForeignKey("stores.id"))
    operator_id: Mapped[int | None] = mapped_column(ForeignKey("operators.id"))
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class ApiToken(Base):
    """A bearer token; only its SHA-256 is stored, so a database leak does not leak tokens."""

    __tablename__ = "api_tokens"
    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id"), index=True)
    token_sha256: Mapped[str] = mapped_column(String(64), unique=True)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    revoked_at: Mapped[datetime | None] = mapped_column()
    user: Mapped[User] = relationship()


class IdempotencyRecord(Base):
    """The response to an upload, replayed when the same Idempotency-Key is sent again."""

    __tablename__ = "idempotency_records"
    __table_args__ = (UniqueConstraint("user_id", "key"),)
    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id"))
    key: Mapped[str] = mapped_column(String(200))
    endpoint: Mapped[str] = mapped_column(String(200))
    request_sha256: Mapped[str] = mapped_column(String(64))
    status_code: Mapped[int] = mapped_column(Integer)
    response: Mapped[dict[str, Any]] = mapped_column(default=dict)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


# --- audit ------------------------------------------------------------------------------------------------------


class AuditEntry(Base):
    """One append-only audit record, chained to its predecessor by ``prev_hash``."""

    __tablename__ = "audit_log"
    seq: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=False)
    at: Mapped[datetime] = mapped_column()
    actor: Mapped[str] = mapped_column(String(200))
    action: Mapped[str] = mapped_column(String(100), index=True)
    entity_type: Mapped[str] = mapped_column(String(64))
    entity_id: Mapped[str] = mapped_column(String(64))
    payload: Mapped[str] = mapped_column(Text, doc="Canonical JSON, hashed byte for byte")
    prev_hash: Mapped[str] = mapped_column(String(64))
    hash: Mapped[str] = mapped_column(String(64), unique=True)


class AuditHead(Base):
    """The chain's current end; lets verify notice a deleted last entry and serialises appends."""

    __tablename__ = "audit_head"
    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=False)
    seq: Mapped[int] = mapped_column(Integer)
    hash: Mapped[str] = mapped_column(String(64))


Index("ix_findings_scan_fingerprint", Finding.scan_id, Finding.fingerprint)
_ACTIVE_CASE = text("state NOT IN ('closed', 'operator_badlisted')")
Index("uq_cases_active_app", Case.app_id, unique=True, postgresql_where=_ACTIVE_CASE, sqlite_where=_ACTIVE_CASE)
