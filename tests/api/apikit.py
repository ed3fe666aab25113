"""API test kit: a live server on 127.0.0.1 with a free port, users and tokens, a webhook receiver."""

from __future__ import annotations

import json
import socket
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import httpx
import uvicorn
from fastapi import FastAPI

from appwarden.api.app import create_app
from appwarden.api.auth import create_user
from appwarden.governance.jobs import ScanExecutor
from appwarden.governance.models import Role
from governance.govkit import Database, at


class MutableClock:
    """The server's clock, moved by the test (e.g. past a rectification deadline)."""

    def __init__(self, now: datetime) -> None:
        self.now = now

    def __call__(self) -> datetime:
        return self.now


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
        return port


@dataclass
class LiveServer:
    base_url: str
    app: FastAPI
    clock: MutableClock
    tokens: dict[str, str] = field(default_factory=dict)

    def client(self, who: str | None = None, **kwargs: Any) -> httpx.Client:
        headers = {"Authorization": f"Bearer {self.tokens[who]}"} if who else {}
        return httpx.Client(base_url=self.base_url + "/api/v1", headers=headers, timeout=60, **kwargs)


def run_server(app: FastAPI) -> Iterator[str]:
    port = free_port()
    config = uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning", lifespan="on")
    server = uvicorn.Server(config)
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 30
    while not server.started:
        if time.monotonic() > deadline or not thread.is_alive():
            raise RuntimeError("the API server did not start")
        time.sleep(0.02)
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        thread.join(timeout=30)


def live_server(
    database: Database, executor: ScanExecutor | None, start: str = "2026-03-02T09:00:00+08:00"
) -> Iterator[LiveServer]:
    clock = MutableClock(at(start))
    app = create_app(database.settings, executor=executor, clock=clock, migrate=False)
    with database.sessions() as s:
        tokens = {}
        for role in (Role.REGULATOR, Role.LAB, Role.AUDITOR):
            _, tokens[role.value] = create_user(s, name=f"{role.value}-1", role=role, actor="setup", now=clock())
        s.commit()
    for base_url in run_server(app):
        yield LiveServer(base_url, app, clock, tokens)


def add_user(
    database: Database, name: str, role: Role, *, store_id: int | None = None, operator_id: int | None = None
) -> str:
    with database.sessions() as s:
        _, token = create_user(
            s,
            name=name,
            role=role,
            store_id=store_id,
            operator_id=operator_id,
            actor="setup",
            now=at("2026-03-01T00:00:00+00:00"),
        )
        s.commit()
    return token


class WebhookReceiver:
    """A local HTTP server recording the JSON bodies stores would receive."""

    def __init__(self) -> None:
        self.received: list[dict[str, Any]] = []
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                length = int(self.headers.get("content-length", "0"))
                receiver.received.append(json.loads(self.rfile.read(length)))
                self.send_response(204)
                self.end_headers()

            def log_message(self, format: str, *args: Any) -> None:
                return

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/verdict"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    def __enter__(self) -> WebhookReceiver:
        self.thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.server.shutdown()
        self.server.server_close()

    def wait_for(self, count: int, timeout: float = 60) -> list[dict[str, Any]]:
        deadline = time.monotonic() + timeout
        while len(self.received) < count and time.monotonic() < deadline:
            time.sleep(0.05)
        return self.received


def wait_scan(client: httpx.Client, path: str, timeout: float = 120) -> dict[str, Any]:
    """Poll a scan (or review) until it is done or failed."""
    deadline = time.monotonic() + timeout
    while True:
        body: dict[str, Any] = client.get(path).json()
        if body.get("status") in ("done", "failed"):
            return body
        if time.monotonic() > deadline:
            raise AssertionError(f"scan at {path} still {body.get('status')} after {timeout}s")
        time.sleep(0.1)
