"""Deadlines counted in working days, with a configurable holiday calendar.

China's calendar moves working days: public holidays fall on weekdays and some
weekends become make-up working days (调休). A :class:`WorkCalendar` therefore
takes both lists; weekdays are working days unless listed as holidays, weekend
days are not unless listed as extra working days.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import date, timedelta
from pathlib import Path

import yaml

from appwarden.config import Settings
from appwarden.errors import ConfigurationError


@dataclass(frozen=True)
class WorkCalendar:
    holidays: frozenset[date] = field(default_factory=frozenset)
    extra_workdays: frozenset[date] = field(default_factory=frozenset)

    def is_workday(self, day: date) -> bool:
        if day in self.extra_workdays:
            return True
        return day.weekday() < 5 and day not in self.holidays

    def add_workdays(self, start: date, workdays: int) -> date:
        """The date ``workdays`` working days after ``start`` (start itself not counted).

        A notice served on Friday with a 1-day deadline is due the next working day.
        """
        if workdays < 0:
            raise ValueError("workdays must not be negative")
        day = start
        remaining = workdays
        while remaining:
            day += timedelta(days=1)
            if self.is_workday(day):
                remaining -= 1
        return day

    def workdays_between(self, start: date, end: date) -> int:
        """Working days in (start, end]."""
        count, day = 0, start
        while day < end:
            day += timedelta(days=1)
            count += self.is_workday(day)
        return count


def _dates(values: Iterable[object], source: str) -> set[date]:
    out: set[date] = set()
    for v in values:
        if isinstance(v, date):
            out.add(v)
            continue
        try:
            out.add(date.fromisoformat(str(v)))
        except ValueError:
            raise ConfigurationError(f"holiday calendar {source}: {v!r} is not a YYYY-MM-DD date") from None
    return out


def load_calendar(settings: Settings) -> WorkCalendar:
    """The calendar from settings lists plus the optional YAML file they name."""
    holidays = set(settings.holidays)
    extra = set(settings.extra_workdays)
    if settings.holiday_calendar is not None:
        path = Path(settings.holiday_calendar)
        try:
            doc = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
        except (OSError, yaml.YAMLError) as exc:
            raise ConfigurationError(f"cannot read holiday calendar {path}", detail=str(exc)) from None
        if not isinstance(doc, dict):
            raise ConfigurationError(f"holiday calendar {path} must be a mapping with 'holidays' and 'extra_workdays'")
        holidays |= _dates(doc.get("holidays") or [], str(path))
        extra |= _dates(doc.get("extra_workdays") or [], str(path))
    return WorkCalendar(frozenset(holidays), frozenset(extra))
