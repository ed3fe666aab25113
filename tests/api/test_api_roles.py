"""The role matrix: every endpoint x every role, generated from the app's routes.

A route without a role policy fails this test, so a new endpoint cannot escape it.
Denied roles get 403 role_not_allowed before the body is even validated; allowed
roles never do (they may still get 404, 422 or a scope 403 on records not theirs).
"""

from __future__ import annotations

import re
from collections.abc import Iterator

import httpx
import pytest
from fastapi.routing import APIRoute, iter_route_contexts

from api.apikit import MutableClock, run_server
from appwarden.api.app import create_app
from appwarden.api.auth import RolePolicy, create_user
from appwarden.governance import stores
from appwarden.governance.models import Role
from governance.govkit import Database, at, credit_code

PUBLIC = {"/health", "/openapi.json", "/docs", "/docs/oauth2-redirect", "/redoc"}


def policy_of(route: APIRoute) -> RolePolicy | None:
    pending = list(route.dependant.dependencies)
    while pending:
        dep = pending.pop()
        if isinstance(dep.call, RolePolicy):
            return dep.call
        pending.extend(dep.dependencies)
    return None


@pytest.fixture
def matrix_client(sqlite_database: Database) -> Iterator[tuple[httpx.Client, dict[Role, str]]]:
    clock = MutableClock(at("2026-03-02T09:00:00+00:00"))
    app = create_app(sqlite_database.settings, executor=None, clock=clock, migrate=False)
    tokens: dict[Role, str] = {}
    with sqlite_database.sessions() as s:
        store = stores.create_store(s, code="s1", name="S1", webhook_url=None, actor="t", now=clock())
        operator = stores.upsert_operator(s, legal_name="O", credit_code=credit_code(1), actor="t", now=clock())
        for role in Role:
            _, tokens[role] = create_user(
                s,
                name=role.value,
                role=role,
                store_id=store.id if role is Role.STORE else None,
                operator_id=operator.id if role is Role.DEVELOPER else None,
                actor="t",
                now=clock(),
            )
        s.commit()
    for base_url in run_server(app):
        with httpx.Client(base_url=base_url, timeout=30) as client:
            client.app_under_test = app  # type: ignore[attr-defined]
            yield client, tokens


def concrete(path: str) -> str:
    return re.sub(r"\{fmt\}", "pdf", re.sub(r"\{[a-z_]+\}", "1", path))


def api_routes(app) -> list[tuple[str, str, APIRoute]]:  # type: ignore[no-untyped-def]
    """Every (method, full path, route) the app serves, included routers flattened."""
    out = []
    for context in iter_route_contexts(app.routes):
        route = context.original_route
        if isinstance(route, APIRoute) and context.path not in PUBLIC:
            for method in sorted(context.methods or ()):
                out.append((method, context.path, route))
    return out


def test_every_route_declares_roles(matrix_client) -> None:  # type: ignore[no-untyped-def]
    client, _ = matrix_client
    routes = api_routes(client.app_under_test)
    assert len(routes) >= 35
    missing = [f"{m} {p}" for m, p, r in routes if policy_of(r) is None]
    assert missing == [], f"routes without a role policy: {missing}"


def test_role_matrix(matrix_client) -> None:  # type: ignore[no-untyped-def]
    client, tokens = matrix_client
    checked = 0
    for method, path, route in api_routes(client.app_under_test):
        policy = policy_of(route)
        assert policy is not None
        url = "/" + concrete(path).lstrip("/")
        no_token = client.request(method, url)
        assert no_token.status_code == 401, f"{method} {path} without a token: {no_token.status_code}"
        assert no_token.json()["error"]["code"] == "unauthenticated"
        for role, token in tokens.items():
            response = client.request(method, url, headers={"Authorization": f"Bearer {token}"}, json={})
            code = (
                response.json().get("error", {}).get("code")
                if response.headers.get("content-type", "").startswith("application/json")
                and isinstance(response.json(), dict)
                else None
            )
            if role in policy.roles:
                assert code != "role_not_allowed", f"{role.value} should be allowed {method} {path}"
                assert response.status_code != 401
                assert response.status_code < 500, f"{method} {path} as {role.value}: {response.text}"
            else:
                assert response.status_code == 403 and code == "role_not_allowed", (
                    f"{role.value} must be refused {method} {path}, got {response.status_code} {response.text[:200]}"
                )
            checked += 1
    assert checked >= 35 * len(Role)


def test_auditor_only_reads(matrix_client) -> None:  # type: ignore[no-untyped-def]
    client, _ = matrix_client
    for method, path, route in api_routes(client.app_under_test):
        policy = policy_of(route)
        assert policy is not None
        if method != "GET":
            assert Role.AUDITOR not in policy.roles, f"auditor may write through {method} {path}"


def test_bad_tokens(matrix_client) -> None:  # type: ignore[no-untyped-def]
    client, _ = matrix_client
    for header in ("Bearer nope", "Basic abc", "Bearer", "Token aw_x"):
        r = client.get("/api/v1/me", headers={"Authorization": header})
        assert r.status_code == 401 and r.headers["www-authenticate"] == "Bearer"
        assert set(r.json()["error"]) == {"code", "message", "detail"}


def test_scopes(matrix_client, sqlite_database: Database) -> None:  # type: ignore[no-untyped-def]
    client, tokens = matrix_client
    store_h = {"Authorization": f"Bearer {tokens[Role.STORE]}"}
    dev_h = {"Authorization": f"Bearer {tokens[Role.DEVELOPER]}"}
    assert client.get("/api/v1/stores/1/listings", headers=store_h).status_code == 200
    assert client.get("/api/v1/stores/2/listings", headers=store_h).json()["error"]["code"] == "forbidden"
    assert client.get("/api/v1/stores", headers=store_h).json()["total"] == 1
    assert client.get("/api/v1/operators/1", headers=dev_h).status_code == 200
    assert client.get("/api/v1/operators/2", headers=dev_h).status_code == 403
