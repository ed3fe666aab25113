"""Test configuration; reusable helpers live in tests/support.py (import as `support`).

The database fixtures serve both the governance and the API tests: every test that
takes `database` runs on SQLite and on PostgreSQL (skipped, loudly, when no server
answers).
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from governance.govkit import Database, drop_test_schema, open_database, report_postgres
from support import EXAMPLES

# The policy encoder costs about 0.05 s a sentence and the suite classifies thousands: it runs with the n-gram
# model alone unless the environment says otherwise; tests/policy/test_encoder.py switches the encoder on.
os.environ.setdefault("APPWARDEN_POLICY_ENCODER", "off")


@pytest.fixture
def examples_dir() -> Path:
    return EXAMPLES


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def database(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Database]:
    yield from open_database(request.param, tmp_path)


@pytest.fixture
def sqlite_database(tmp_path: Path) -> Iterator[Database]:
    yield from open_database("sqlite", tmp_path)


def pytest_terminal_summary(terminalreporter: Any) -> None:
    report_postgres(terminalreporter)


def pytest_sessionfinish(session: pytest.Session, exitstatus: int) -> None:
    drop_test_schema()
