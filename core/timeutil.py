"""Time in one place: aware UTC instants for storage, Europe/Paris for everything a person reads."""

from __future__ import annotations

from datetime import UTC, date, datetime
from zoneinfo import ZoneInfo

PARIS = ZoneInfo("Europe/Paris")


def now() -> datetime:
    return datetime.now(UTC)


def today() -> date:
    """Today in Paris: a booking deadline or an invoice date is a French calendar date."""
    return datetime.now(PARIS).date()


def to_paris(value: datetime) -> datetime:
    return value.astimezone(PARIS)
