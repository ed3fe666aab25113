"""The FastAPI application factory.

``create_app`` wires settings, database, executor and clock into one
:class:`ServiceContext`; routers stay thin and take what they need by injection.
With the local executor a background thread (the scan pump) dispatches queued
scans, records finished ones and delivers store callbacks; with the ``queue``
executor scans wait for ``appwarden worker`` processes instead.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from fastapi import FastAPI

from appwarden import __version__
from appwarden.api import errors
from appwarden.api.deps import Clock, ServiceContext
from appwarden.api.limits import BodyLimitMiddleware
from appwarden.api.routers import admin, cases, notices, oversight, policies, scans, stores
from appwarden.config import Settings, load_settings
from appwarden.governance import db, jobs
from appwarden.governance.cases import TickResult
from appwarden.governance.cases import tick as tick_cases
from appwarden.governance.jobs import LocalProcessExecutor, ScanExecutor
from appwarden.governance.models import utcnow
from appwarden.governance.stores import deliver_callbacks
from appwarden.governance.workdays import load_calendar

log = logging.getLogger("appwarden.api")
API_PREFIX = "/api/v1"
PUMP_INTERVAL_SECONDS = 0.25


class ScanPump:
    """Background loop: dispatch queued scans, record finished ones, post verdicts to stores."""

    def __init__(self, ctx: ServiceContext) -> None:
        self._ctx = ctx
        self._stop = threading.Event()
        self._wake = threading.Event()
        self._thread = threading.Thread(target=self._run, name="scan-pump", daemon=True)
        self._next_tick = 0.0

    def start(self) -> None:
        self._thread.start()

    def wake(self) -> None:
        self._wake.set()

    def stop(self) -> None:
        self._stop.set()
        self._wake.set()
        self._thread.join(timeout=10)

    def run_once(self) -> None:
        assert self._ctx.executor is not None
        jobs.pump(self._ctx.sessions, self._ctx.executor, clock=self._ctx.clock)
        deliver_callbacks(self._ctx.sessions, timeout=self._ctx.settings.webhook_timeout_seconds)
        self.tick_if_due(time.monotonic())

    def tick_if_due(self, monotonic_now: float) -> TickResult | None:
        """The periodic `appwarden tick`: deadlines pass even when nobody runs the command."""
        interval = self._ctx.settings.tick_interval_seconds
        if interval <= 0 or monotonic_now < self._next_tick:
            return None
        self._next_tick = monotonic_now + interval
        with db.session_scope(self._ctx.sessions) as session:
            return tick_cases(session, now=self._ctx.clock())

    def _run(self) -> None:
        while not self._stop.is_set():
            try:
                self.run_once()
            except Exception:  # the pump must survive one bad round (database restart, bad report)
                log.exception("scan pump round failed")
            self._wake.wait(PUMP_INTERVAL_SECONDS)
            self._wake.clear()


def create_app(
    settings: Settings | None = None,
    *,
    executor: ScanExecutor | None = None,
    clock: Clock | None = None,
    migrate: bool = True,
    run_pump: bool = True,
) -> FastAPI:
    """The API for ``settings`` (default: from APPWARDEN_* variables)."""
    settings = settings or load_settings()
    engine = db.make_engine(settings)
    if migrate:
        db.upgrade(engine)
    if executor is None and settings.executor == "local":
        executor = LocalProcessExecutor(
            settings.scanner, workers=settings.executor_workers, fetch_linked_policy=settings.fetch_linked_policies
        )
    ctx = ServiceContext(
        settings=settings,
        engine=engine,
        sessions=db.make_sessionmaker(engine),
        executor=executor,
        clock=clock or utcnow,
        calendar=load_calendar(settings),
    )
    pump = ScanPump(ctx) if executor is not None and run_pump else None
    if pump is not None:
        ctx.extra["wake"] = pump.wake
        ctx.extra["pump"] = pump

    @asynccontextmanager
    async def lifespan(_app: FastAPI) -> AsyncIterator[None]:
        if pump is not None:
            pump.start()
        try:
            yield
        finally:
            if pump is not None:
                pump.stop()
            if ctx.executor is not None:
                ctx.executor.shutdown()
            engine.dispose()

    app = FastAPI(
        title="appwarden governance API",
        version=__version__,
        description="Scans, cases, notices, stores and statistics of the app personal-information programme.",
        lifespan=lifespan,
    )
    app.state.ctx = ctx
    errors.install(app)
    app.add_middleware(
        BodyLimitMiddleware, max_upload_bytes=settings.max_upload_bytes, max_json_bytes=settings.max_json_bytes
    )
    for module in (admin, scans, policies, cases, notices, stores, oversight):
        app.include_router(module.router, prefix=API_PREFIX)

    @app.get("/health", tags=["public"])
    def health() -> dict[str, str]:
        return {"status": "ok", "version": __version__}

    return app
