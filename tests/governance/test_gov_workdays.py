"""Working-day deadlines with holidays and make-up working days."""

from __future__ import annotations

from datetime import date
from pathlib import Path

import pytest

from appwarden.config import load_settings
from appwarden.errors import ConfigurationError
from appwarden.governance.workdays import WorkCalendar, load_calendar


def test_weekends_are_skipped() -> None:
    cal = WorkCalendar()
    assert cal.add_workdays(date(2026, 3, 6), 1) == date(2026, 3, 9)  # Friday + 1 -> Monday
    assert cal.add_workdays(date(2026, 3, 2), 5) == date(2026, 3, 9)
    assert cal.add_workdays(date(2026, 3, 2), 0) == date(2026, 3, 2)


def test_holidays_and_makeup_days() -> None:
    # National Day week 2026: Oct 1-7 off, Sunday Sep 27 and Saturday Oct 10 are working days.
    holidays = frozenset(date(2026, 10, d) for d in range(1, 8))
    extra = frozenset({date(2026, 9, 27), date(2026, 10, 10)})
    cal = WorkCalendar(holidays, extra)
    assert cal.is_workday(date(2026, 9, 27)) and not cal.is_workday(date(2026, 10, 1))
    assert cal.add_workdays(date(2026, 9, 25), 1) == date(2026, 9, 27)
    assert cal.add_workdays(date(2026, 9, 30), 1) == date(2026, 10, 8)
    assert cal.add_workdays(date(2026, 10, 9), 1) == date(2026, 10, 10)
    assert cal.workdays_between(date(2026, 9, 30), date(2026, 10, 10)) == 3


def test_negative_is_refused() -> None:
    with pytest.raises(ValueError):
        WorkCalendar().add_workdays(date(2026, 1, 1), -1)


def test_calendar_from_settings_and_file(tmp_path: Path) -> None:
    path = tmp_path / "cal.yaml"
    path.write_text("holidays: [2026-05-01, 2026-05-04]\nextra_workdays: ['2026-05-09']\n", encoding="utf-8")
    settings = load_settings({"APPWARDEN_HOLIDAYS": "2026-05-05", "APPWARDEN_HOLIDAY_CALENDAR": str(path)})
    cal = load_calendar(settings)
    assert cal.holidays == {date(2026, 5, 1), date(2026, 5, 4), date(2026, 5, 5)}
    assert cal.is_workday(date(2026, 5, 9))


def test_bad_calendar_file(tmp_path: Path) -> None:
    path = tmp_path / "cal.yaml"
    path.write_text("holidays: [not-a-date]\n", encoding="utf-8")
    with pytest.raises(ConfigurationError, match="not-a-date"):
        load_calendar(load_settings({"APPWARDEN_HOLIDAY_CALENDAR": str(path)}))
    with pytest.raises(ConfigurationError, match="cannot read"):
        load_calendar(load_settings({"APPWARDEN_HOLIDAY_CALENDAR": str(tmp_path / "missing.yaml")}))
