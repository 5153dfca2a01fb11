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


def check_year(year: int, field: str = "year") -> int:
    """A calendar year a person may ask about (invoices, attestations): `date(0, 1, 1)` would be a 500."""
    from core.errors import ValidationError

    if not 2000 <= year <= 2100:
        raise ValidationError("Année invalide.", code="INVALID_YEAR", field=field)
    return year
