"""One typed settings object for the whole programme, read from ``APPWARDEN_*`` variables.

pydantic-settings is not a dependency, so :func:`load_settings` maps environment
variables onto the :class:`Settings` model by field name
(``APPWARDEN_DATABASE_URL`` -> ``database_url``). List-valued fields take a
comma-separated value. Invalid values raise :class:`ConfigurationError` naming the
variable, never a pydantic traceback.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from datetime import date
from pathlib import Path
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from appwarden.errors import ConfigurationError

ENV_PREFIX = "APPWARDEN_"


class Settings(BaseModel):
    """Deployment shape and programme parameters (see DESIGN.md §4)."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    home: Path = Field(Path(".appwarden"), description="Folder for the default SQLite file and stored APKs")
    database_url: str | None = Field(
        None, description="SQLAlchemy URL; default sqlite file under home. PostgreSQL: postgresql+psycopg://..."
    )
    database_schema: str | None = Field(
        None, description="PostgreSQL schema to use (search_path); lets parallel runs share one database"
    )
    storage_dir: Path | None = Field(None, description="Where uploaded APKs are kept; default home/apks")
    max_upload_bytes: int = Field(200 * 1024 * 1024, ge=1024, description="Largest APK accepted over the API")
    max_json_bytes: int = Field(8 * 1024 * 1024, ge=1024, description="Largest JSON body (catalog snapshots)")
    default_deadline_workdays: int = Field(10, ge=1, le=120, description="Rectification deadline in working days")
    holidays: list[date] = Field(default_factory=list, description="Public holidays (not working days)")
    extra_workdays: list[date] = Field(
        default_factory=list, description="Weekend days that are working days (make-up days around holidays)"
    )
    holiday_calendar: Path | None = Field(
        None, description="YAML file with 'holidays' and 'extra_workdays' lists, merged with the two lists above"
    )
    takedown_ack_hours: float = Field(48.0, gt=0, description="Hours a store has to acknowledge a takedown order")
    executor: Literal["local", "queue"] = Field(
        "local", description="local: process pool inside the server; queue: scans wait for `appwarden worker`"
    )
    executor_workers: int = Field(2, ge=1, le=64)
    scanner: str = Field("appwarden.pipeline:scan_apk", description="Import path of the scan function")
    fetch_linked_policies: bool = Field(
        False,
        description="When a scan has no uploaded or bundled policy, fetch the policy page the app links "
        "(public addresses only, size and time limits; the server needs outbound HTTP)",
    )
    webhook_timeout_seconds: float = Field(5.0, gt=0, le=60)
    tick_interval_seconds: float = Field(
        300.0,
        ge=0,
        description="How often the server's background loop and `appwarden worker` do what `appwarden tick` does "
        "(name overdue cases, escalate late takedown orders); 0: never (run `appwarden tick` from cron instead)",
    )
    page_size_max: int = Field(200, ge=1, le=10000)
    host: str = "127.0.0.1"
    port: int = Field(8000, ge=0, le=65535)

    def resolved_database_url(self) -> str:
        """The configured URL, or a SQLite file inside ``home`` (the embedded default)."""
        if self.database_url:
            return self.database_url
        return f"sqlite:///{(self.home / 'appwarden.db').resolve()}"

    def resolved_storage_dir(self) -> Path:
        return self.storage_dir if self.storage_dir is not None else self.home / "apks"


_LIST_FIELDS = {"holidays", "extra_workdays"}


def load_settings(environ: Mapping[str, str] | None = None, **overrides: object) -> Settings:
    """Settings from ``APPWARDEN_*`` variables (``environ`` defaults to ``os.environ``) plus overrides."""
    env = os.environ if environ is None else environ
    raw: dict[str, object] = {}
    for name in Settings.model_fields:
        value = env.get(ENV_PREFIX + name.upper())
        if value is None or value == "":
            continue
        raw[name] = [v.strip() for v in value.split(",") if v.strip()] if name in _LIST_FIELDS else value
    raw.update({k: v for k, v in overrides.items() if v is not None})
    try:
        return Settings.model_validate(raw)
    except ValidationError as exc:
        problems = "; ".join(
            f"{ENV_PREFIX}{'.'.join(str(p) for p in err['loc']).upper()}: {err['msg']}" for err in exc.errors()
        )
        raise ConfigurationError("invalid appwarden settings", detail=problems) from None
