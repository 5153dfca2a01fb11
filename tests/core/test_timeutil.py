"""`core.timeutil.month_bounds`: the month views' first and last day, leap years and December included."""

from __future__ import annotations

from datetime import date

from core.timeutil import month_bounds


def test_month_bounds():
    assert month_bounds(date(2026, 11, 24)) == (date(2026, 11, 1), date(2026, 11, 30))
    assert month_bounds(date(2028, 2, 29)) == (date(2028, 2, 1), date(2028, 2, 29))
    assert month_bounds(date(2027, 2, 1)) == (date(2027, 2, 1), date(2027, 2, 28))
    assert month_bounds(date(2026, 12, 31)) == (date(2026, 12, 1), date(2026, 12, 31))
