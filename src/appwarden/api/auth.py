"""Bearer-token authentication and role policies.

Tokens are random strings shown once; only their SHA-256 is stored. Each endpoint
declares the roles allowed to call it with :func:`allow`; the returned dependency
carries its roles so tests can build the full endpoint x role matrix from the
app's routes. Scope rules (a store sees only its own records, a developer only its
operator's apps) are checked by the ``ensure_*`` helpers on the loaded records.
"""

from __future__ import annotations

import hashlib
import secrets
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime

from fastapi import Request
from sqlalchemy import select
from sqlalchemy.orm import Session

from appwarden.governance import audit
from appwarden.governance.errors import AuthenticationRequired, InvalidInput, PermissionDenied
from appwarden.governance.models import ApiToken, Role, User

TOKEN_PREFIX = "aw_"


class RoleNotAllowed(PermissionDenied):
    code = "role_not_allowed"


@dataclass(frozen=True)
class Principal:
    user_id: int
    name: str
    role: Role
    store_id: int | None = None
    operator_id: int | None = None

    @property
    def actor(self) -> str:
        return f"{self.role.value}:{self.name}"


def hash_token(token: str) -> str:
    return hashlib.sha256(token.encode("utf-8")).hexdigest()


def create_user(
    session: Session,
    *,
    name: str,
    role: Role,
    store_id: int | None = None,
    operator_id: int | None = None,
    actor: str,
    now: datetime,
) -> tuple[User, str]:
    """A user with a fresh token (returned in clear once, stored hashed)."""
    if role is Role.STORE and store_id is None:
        raise InvalidInput("a store user needs the store it acts for (store_id)")
    if role is Role.DEVELOPER and operator_id is None:
        raise InvalidInput("a developer user needs the operator whose apps it may see (operator_id)")
    if session.scalars(select(User).where(User.name == name)).first() is not None:
        from appwarden.governance.errors import AlreadyExists

        raise AlreadyExists(f"user {name!r} already exists")
    user = User(name=name, role=role.value, store_id=store_id, operator_id=operator_id, created_at=now)
    session.add(user)
    session.flush()
    token = TOKEN_PREFIX + secrets.token_urlsafe(32)
    session.add(ApiToken(user_id=user.id, token_sha256=hash_token(token), created_at=now))
    session.flush()
    audit.append(
        session,
        actor=actor,
        action="user.create",
        entity_type="user",
        entity_id=user.id,
        payload={"name": name, "role": role.value, "store_id": store_id, "operator_id": operator_id},
        at=now,
    )
    return user, token


def principal_for_token(session: Session, token: str) -> Principal:
    row = session.scalars(select(ApiToken).where(ApiToken.token_sha256 == hash_token(token))).first()
    if row is None or row.revoked_at is not None or not row.user.active:
        raise AuthenticationRequired("the bearer token is unknown or revoked")
    user = row.user
    return Principal(user.id, user.name, Role(user.role), user.store_id, user.operator_id)


class RolePolicy:
    """A dependency admitting only the given roles; ``roles`` is read by the role-matrix test."""

    def __init__(self, roles: frozenset[Role]) -> None:
        self.roles = roles

    def __call__(self, request: Request) -> Principal:
        from appwarden.api.deps import session_of

        header = request.headers.get("authorization", "")
        scheme, _, token = header.partition(" ")
        if scheme.lower() != "bearer" or not token.strip():
            raise AuthenticationRequired("send 'Authorization: Bearer <token>'")
        with session_of(request) as session:
            principal = principal_for_token(session, token.strip())
        if principal.role not in self.roles:
            raise RoleNotAllowed(
                f"role {principal.role.value} may not call {request.method} {request.url.path}",
                detail="allowed roles: " + ", ".join(sorted(r.value for r in self.roles)),
            )
        request.state.principal = principal
        return principal


def allow(*roles: Role) -> Callable[[Request], Principal]:
    return RolePolicy(frozenset(roles))


ALL_ROLES = tuple(Role)
READERS = (Role.REGULATOR, Role.LAB, Role.AUDITOR)


def ensure_store(principal: Principal, store_id: int | None) -> None:
    """A store user may only act on its own store's records."""
    if principal.role is Role.STORE and principal.store_id != store_id:
        raise PermissionDenied("a store may only see and act on its own listings and orders")


def ensure_operator(principal: Principal, operator_id: int | None) -> None:
    """A developer user may only see its own operator's apps."""
    if principal.role is Role.DEVELOPER and principal.operator_id != operator_id:
        raise PermissionDenied("a developer may only see its own apps")
