"""Time in one place: aware UTC instants for storage, Europe/Paris for everything a person reads.

Every "now" and "today" of the code comes from here, so that tests can move the clock
(`set_clock`, the `clock` fixture of tests/conftest.py) and the suite does not depend on the day
it runs.
"""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

PARIS = ZoneInfo("Europe/Paris")
_offset = timedelta(0)  # moved clock: real time + offset (time still flows)
_frozen: datetime | None = None  # stopped clock


def month_bounds(day: date) -> tuple[date, date]:
    """The first and the last day of `day`'s month (a month view, a monthly planning)."""
    first = day.replace(day=1)
    return first, (first + timedelta(days=32)).replace(day=1) - timedelta(days=1)


def now() -> datetime:
    if _frozen is not None:
        return _frozen
    return datetime.now(UTC) + _offset


def today() -> date:
    """Today in Paris: a booking deadline or an invoice date is a French calendar date."""
    return now().astimezone(PARIS).date()


def paris_instant(day: date, at: time = time(10, 0)) -> datetime:
    """`day` at `at` o'clock in Paris, as an aware UTC instant."""
    return datetime.combine(day, at, tzinfo=PARIS).astimezone(UTC)


def set_clock(instant: datetime | date | None, *, frozen: bool = False) -> None:
    """Tests only: make `now()` be `instant` (a date means 10:00 in Paris that day), flowing from
    there, or stopped when `frozen`; `None` puts the real clock back."""
    global _offset, _frozen
    if instant is None:
        _offset, _frozen = timedelta(0), None
        return
    if not isinstance(instant, datetime):
        instant = paris_instant(instant)
    if instant.tzinfo is None:
        raise ValueError("set_clock needs an aware datetime")
    _frozen = instant.astimezone(UTC) if frozen else None
    _offset = timedelta(0) if frozen else instant - datetime.now(UTC)


def to_paris(value: datetime) -> datetime:
    return value.astimezone(PARIS)


def check_year(year: int, field: str = "year") -> int:
    """A calendar year a person may ask about (invoices, attestations): `date(0, 1, 1)` would be a 500."""
    from core.errors import ValidationError

    if not 2000 <= year <= 2100:
        raise ValidationError("Année invalide.", code="INVALID_YEAR", field=field)
    return year
