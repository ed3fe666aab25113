"""Credit codes, settings, timestamps and the migrations matching the models."""

from __future__ import annotations

from datetime import datetime
from pathlib import Path

import pytest
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext

from appwarden.config import load_settings
from appwarden.errors import ConfigurationError
from appwarden.governance import db
from appwarden.governance.errors import InvalidInput
from appwarden.governance.models import Base, Operator, validate_credit_code
from governance.govkit import Database, credit_code


@pytest.mark.parametrize(
    "code", ["91350100M000100Y43", "9144030071526726XG", "914403001922038216", "91110108551385082q"]
)
def test_real_credit_codes_validate(code: str) -> None:
    assert validate_credit_code(code) == code.upper()


@pytest.mark.parametrize(
    ("code", "message"),
    [
        ("91350100M000100Y44", "check digit"),
        ("91350100M000100Y4", "18 characters"),
        ("9135010OM000100Y43", "outside GB 32100"),
        ("91350100M0001I0Y43", "outside GB 32100"),
    ],
)
def test_bad_credit_codes_are_refused(code: str, message: str) -> None:
    with pytest.raises(InvalidInput, match=message):
        validate_credit_code(code)


def test_generated_codes_are_valid() -> None:
    assert all(validate_credit_code(credit_code(n)) for n in range(50))


def test_settings_from_environment(tmp_path: Path) -> None:
    settings = load_settings({"APPWARDEN_HOME": str(tmp_path), "APPWARDEN_DEFAULT_DEADLINE_WORKDAYS": "7"})
    assert settings.default_deadline_workdays == 7
    assert settings.resolved_database_url() == f"sqlite:///{(tmp_path / 'appwarden.db').resolve()}"
    with pytest.raises(ConfigurationError, match="APPWARDEN_DEFAULT_DEADLINE_WORKDAYS"):
        load_settings({"APPWARDEN_DEFAULT_DEADLINE_WORKDAYS": "many"})
    with pytest.raises(ConfigurationError, match="unsupported database"):
        db.make_engine(load_settings({"APPWARDEN_DATABASE_URL": "mysql://x/y"}))
    with pytest.raises(ConfigurationError, match="lowercase identifier"):
        db.make_engine(
            load_settings(
                {"APPWARDEN_DATABASE_URL": "postgresql+psycopg://u@h/d", "APPWARDEN_DATABASE_SCHEMA": "x;drop"}
            )
        )


def test_migrations_match_models(database: Database) -> None:
    engine = database.sessions.kw["bind"]
    with engine.connect() as conn:
        diff = compare_metadata(MigrationContext.configure(conn), Base.metadata)
    assert diff == []
    assert db.current_revision(engine) == "0002"


def test_naive_timestamps_are_refused(database: Database) -> None:
    with database.sessions() as s:
        s.add(Operator(legal_name="x", credit_code=credit_code(9), created_at=datetime(2026, 1, 1)))
        with pytest.raises(Exception, match="timezone-aware"):
            s.flush()


def test_timestamps_come_back_aware_utc(database: Database) -> None:
    from governance.govkit import at

    with database.sessions() as s:
        s.add(Operator(legal_name="x", credit_code=credit_code(8), created_at=at("2026-01-01T08:00:00+08:00")))
        s.commit()
    with database.sessions() as s:
        op = s.query(Operator).one()
        assert op.created_at.utcoffset() is not None
        assert op.created_at.isoformat() == "2026-01-01T00:00:00+00:00"


def test_migrations_downgrade_and_upgrade_again(tmp_path: Path) -> None:
    from sqlalchemy import inspect

    engine = db.make_engine(load_settings({}, home=tmp_path))
    try:
        db.upgrade(engine)
        db.upgrade(engine)  # idempotent
        from alembic import command

        command.downgrade(db.alembic_config(engine), "base")
        assert set(inspect(engine).get_table_names()) <= {"alembic_version"}
        db.upgrade(engine)
        assert "cases" in inspect(engine).get_table_names()
    finally:
        engine.dispose()
