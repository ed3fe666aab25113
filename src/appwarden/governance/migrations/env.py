"""Alembic environment: runs on the engine handed over by appwarden.governance.db.upgrade."""

from __future__ import annotations

from alembic import context
from sqlalchemy import Engine

from appwarden.governance.models import Base

config = context.config
target_metadata = Base.metadata


def run_migrations_online() -> None:
    engine = config.attributes.get("engine")
    if not isinstance(engine, Engine):
        raise RuntimeError("run migrations with `appwarden db upgrade` (appwarden.governance.db.upgrade)")
    with engine.connect() as connection:
        context.configure(
            connection=connection,
            target_metadata=target_metadata,
            render_as_batch=connection.dialect.name == "sqlite",
            compare_type=True,
        )
        with context.begin_transaction():
            context.run_migrations()


run_migrations_online()
