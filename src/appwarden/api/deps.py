"""What routers receive by injection: the service context, a session, the clock, pages, uploads."""

from __future__ import annotations

import hashlib
import os
import tempfile
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any

from fastapi import Query, Request, UploadFile
from fastapi.encoders import jsonable_encoder
from fastapi.responses import JSONResponse
from sqlalchemy import Engine, Select, func, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session, sessionmaker
from sqlalchemy.orm.exc import StaleDataError

from appwarden.api.auth import Principal
from appwarden.config import Settings
from appwarden.governance.errors import ConcurrentModification, GovernanceError, PayloadTooLarge
from appwarden.governance.jobs import ScanExecutor
from appwarden.governance.models import IdempotencyRecord
from appwarden.governance.workdays import WorkCalendar

Clock = Callable[[], datetime]


@dataclass
class ServiceContext:
    settings: Settings
    engine: Engine
    sessions: sessionmaker[Session]
    executor: ScanExecutor | None
    clock: Clock
    calendar: WorkCalendar
    extra: dict[str, Any] = field(default_factory=dict)


def context_of(request: Request) -> ServiceContext:
    ctx: ServiceContext = request.app.state.ctx
    return ctx


@contextmanager
def session_of(request: Request) -> Iterator[Session]:
    session = context_of(request).sessions()
    try:
        yield session
    finally:
        session.close()


def get_session(request: Request) -> Iterator[Session]:
    with session_of(request) as session:
        yield session


def get_context(request: Request) -> ServiceContext:
    return context_of(request)


def now(request: Request) -> datetime:
    return context_of(request).clock()


def commit(session: Session) -> None:
    """Commit, turning a lost optimistic race into a conflict the client can act on."""
    try:
        session.commit()
    except StaleDataError:
        session.rollback()
        raise ConcurrentModification("the record was changed by someone else; reload and retry") from None
    except IntegrityError as exc:
        session.rollback()
        raise ConcurrentModification("the change conflicts with existing records", detail=str(exc.orig)[:300]) from None


@dataclass(frozen=True)
class PageParams:
    limit: int
    offset: int


def page_params(request: Request, limit: int = Query(50, ge=1), offset: int = Query(0, ge=0)) -> PageParams:
    return PageParams(min(limit, context_of(request).settings.page_size_max), offset)


def paginate(session: Session, query: Select[Any], page: PageParams) -> dict[str, Any]:
    """Run a select with limit/offset; the page carries the total count."""
    total = session.scalar(select(func.count()).select_from(query.order_by(None).subquery())) or 0
    items = list(session.scalars(query.limit(page.limit).offset(page.offset)))
    return {"items": items, "total": total, "limit": page.limit, "offset": page.offset}


# --- uploads ------------------------------------------------------------------------------------------------------

_CHUNK = 1024 * 1024


@dataclass(frozen=True)
class StoredUpload:
    path: str
    sha256: str
    size: int


POLICY_SUFFIXES = frozenset({".txt", ".html", ".htm", ".mhtml", ".mht", ".pdf", ".docx", ".md"})


def policy_suffix(filename: str | None) -> str:
    """The policy file's extension (the policy reader picks its parser by it); text when unknown."""
    suffix = Path(filename or "").suffix.lower()
    return suffix if suffix in POLICY_SUFFIXES else ".txt"


async def store_upload(
    upload: UploadFile, settings: Settings, *, folder: str = "", suffix: str = ".apk"
) -> StoredUpload:
    """Copy an upload into content-addressed storage, refusing it once it passes the size limit."""
    directory = settings.resolved_storage_dir() / folder if folder else settings.resolved_storage_dir()
    directory.mkdir(parents=True, exist_ok=True)
    digest, size = hashlib.sha256(), 0
    fd, tmp_name = tempfile.mkstemp(dir=directory, suffix=".part")
    try:
        with os.fdopen(fd, "wb") as out:
            while chunk := await upload.read(_CHUNK):
                size += len(chunk)
                if size > settings.max_upload_bytes:
                    raise PayloadTooLarge(
                        f"the upload exceeds the limit of {settings.max_upload_bytes} bytes",
                        detail="APPWARDEN_MAX_UPLOAD_BYTES sets the limit",
                    )
                digest.update(chunk)
                out.write(chunk)
        if size == 0:
            from appwarden.governance.errors import InvalidInput

            raise InvalidInput("the uploaded file is empty")
        sha = digest.hexdigest()
        final = directory / sha[:2] / f"{sha}{suffix}"
        final.parent.mkdir(parents=True, exist_ok=True)
        os.replace(tmp_name, final)
        return StoredUpload(str(final.resolve()), sha, size)
    finally:
        if os.path.exists(tmp_name):
            os.unlink(tmp_name)


# --- idempotency --------------------------------------------------------------------------------------------------


class IdempotencyMismatch(GovernanceError):
    code = "idempotency_mismatch"


def request_fingerprint(*parts: object) -> str:
    return hashlib.sha256("\x1f".join(str(p) for p in parts).encode("utf-8")).hexdigest()


def replay(
    session: Session, principal: Principal, key: str | None, endpoint: str, fingerprint: str
) -> JSONResponse | None:
    """The stored response for a repeated Idempotency-Key, or None when the key is new."""
    if not key:
        return None
    if len(key) > 200:
        from appwarden.governance.errors import InvalidInput

        raise InvalidInput("Idempotency-Key is longer than 200 characters")
    record = session.scalars(
        select(IdempotencyRecord).where(IdempotencyRecord.user_id == principal.user_id, IdempotencyRecord.key == key)
    ).first()
    if record is None:
        return None
    if record.endpoint != endpoint or record.request_sha256 != fingerprint:
        raise IdempotencyMismatch(
            "this Idempotency-Key was already used for a different request", detail="use a new key for a new upload"
        )
    return JSONResponse(status_code=record.status_code, content=record.response, headers={"Idempotent-Replay": "true"})


def remember(
    session: Session,
    principal: Principal,
    key: str | None,
    endpoint: str,
    fingerprint: str,
    status_code: int,
    body: Any,
) -> None:
    if key:
        session.add(
            IdempotencyRecord(
                user_id=principal.user_id,
                key=key,
                endpoint=endpoint,
                request_sha256=fingerprint,
                status_code=status_code,
                response=jsonable_encoder(body),
            )
        )
