"""Worked examples of the shared calendar (core/calendar.py)."""

from __future__ import annotations

from datetime import date

import pytest

from core import calendar


def test_public_holidays_metropole_and_alsace_moselle():
    # Code du travail L3133-1: 11 national days. Alsace-Moselle (L3134-13) adds Good Friday and 26 December.
    assert len(calendar.public_holidays(2025)) == 11
    assert calendar.public_holiday(date(2025, 5, 8)) == "Fête de la Victoire"
    assert calendar.public_holiday(date(2025, 4, 18)) is None
    for sub in ("57", "67", "68", "Moselle"):
        assert calendar.public_holiday(date(2025, 4, 18), sub) == "Vendredi saint"
        assert calendar.public_holiday(date(2025, 12, 26), sub) is not None
        assert len(calendar.public_holidays(2025, sub)) == 13
    assert calendar.public_holidays_between(date(2025, 12, 20), date(2026, 1, 5), "67") == {
        date(2025, 12, 25), date(2025, 12, 26), date(2026, 1, 1)}
    assert not calendar.is_working_day(date(2025, 4, 18), "57") and calendar.is_working_day(date(2025, 4, 18))


def test_school_holidays_by_zone():
    # Éducation nationale calendar 2024-2025: zone B winter holidays 08/02 -> 24/02/2025, zone A 22/02 -> 10/03.
    assert calendar.school_holiday(date(2025, 2, 10), "B") is not None
    assert calendar.school_holiday(date(2025, 2, 10), "A") is None
    assert calendar.school_holiday(date(2025, 2, 10), None) is None


def test_unknown_subdivision_or_zone_is_refused():
    with pytest.raises(calendar.CalendarError):
        calendar.normalize_subdivision("99")
    with pytest.raises(calendar.CalendarError):
        calendar.normalize_zone("D")
    assert calendar.normalize_subdivision("") is None and calendar.normalize_zone("zone c") == "C"
