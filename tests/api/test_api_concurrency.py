"""Concurrent transitions of one case over HTTP: exactly one lands, the others get 409."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from pathlib import Path

import pytest

from api.apikit import LiveServer, live_server
from appwarden.governance import cases
from appwarden.governance.models import Case
from governance.govkit import CAL, T0, Database, setup_case


@pytest.fixture
def server(database: Database) -> Iterator[LiveServer]:
    yield from live_server(database, None)


def test_racing_requests(server: LiveServer, database: Database, tmp_path: Path) -> None:
    with database.sessions() as s:
        case, _ = setup_case(s, tmp_path, stores_listing=1)
        cases.issue_notices(s, [case], actor="r", now=T0, calendar=CAL, default_workdays=1)
        s.commit()
        case_id = case.id
    barrier = threading.Barrier(4)
    results: list[tuple[int, str | None]] = []
    lock = threading.Lock()

    def race(n: int) -> None:
        with server.client("regulator") as client:
            barrier.wait()
            r = client.post(f"/cases/{case_id}/name", json={"reason": f"attempt {n}"})
            code = r.json().get("error", {}).get("code") if r.status_code != 200 else None
        with lock:
            results.append((r.status_code, code))

    threads = [threading.Thread(target=race, args=(n,)) for n in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=60)
    assert sorted(status for status, _ in results) == [200, 409, 409, 409], results
    assert {code for status, code in results if status == 409} <= {"conflict", "invalid_transition"}
    with database.sessions() as s:
        final = s.get(Case, case_id)
        assert final is not None and [e.to_state for e in final.events].count("publicly_named") == 1
