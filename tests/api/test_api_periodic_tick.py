"""The server's background loop does what `appwarden tick` does, so deadlines pass by themselves."""

from __future__ import annotations

from datetime import datetime
from pathlib import Path

from sqlalchemy import create_engine

from appwarden.api.app import ScanPump
from appwarden.api.deps import ServiceContext
from appwarden.governance import cases
from governance.govkit import CAL, T0, Database, at, setup_case


def _pump(database: Database, now: list[datetime], interval: float) -> ScanPump:
    settings = database.settings.model_copy(update={"tick_interval_seconds": interval})
    ctx = ServiceContext(
        settings=settings,
        engine=create_engine("sqlite://"),  # unused by the tick; sessions carry the real database
        sessions=database.sessions,
        executor=None,
        clock=lambda: now[0],
        calendar=CAL,
    )
    return ScanPump(ctx)


def test_background_tick_names_an_overdue_case_once_its_interval_has_passed(database: Database, tmp_path: Path) -> None:
    with database.sessions() as s:
        case, _ = setup_case(s, tmp_path)
        cases.issue_notices(s, [case], actor="regulator:r", now=T0, calendar=CAL, default_workdays=5)
        s.commit()
        case_id = case.id
    now = [at("2026-03-09T23:00:00+08:00")]  # the deadline day: not yet overdue
    pump = _pump(database, now, interval=60.0)
    first = pump.tick_if_due(1000.0)
    assert first is not None and first.named == []
    now[0] = at("2026-03-10T00:30:00+08:00")
    assert pump.tick_if_due(1030.0) is None, "not again before the interval has passed"
    second = pump.tick_if_due(1061.0)
    assert second is not None and second.named == [case_id]
    with database.sessions() as s:
        assert cases.get_case(s, case_id).state == "publicly_named"


def test_background_tick_can_be_switched_off(database: Database, tmp_path: Path) -> None:
    pump = _pump(database, [T0], interval=0.0)
    assert pump.tick_if_due(10_000.0) is None
