"""French formatting through Babel: euros from cents, dates, months."""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal

from babel.dates import format_date, format_datetime
from babel.numbers import format_currency

from core.timeutil import PARIS

LOCALE = "fr_FR"


def euros(cents: int) -> str:
    """1320 -> '13,20 €'."""
    return format_currency(Decimal(cents) / 100, "EUR", locale=LOCALE)


def date_fr(value: date, fmt: str = "dd/MM/yyyy") -> str:
    return format_date(value, fmt, locale=LOCALE)


def date_long(value: date) -> str:
    """'mercredi 26 avril 2023'."""
    return format_date(value, "EEEE d MMMM yyyy", locale=LOCALE)


def month_year(value: date) -> str:
    return format_date(value, "MMMM yyyy", locale=LOCALE)


def datetime_fr(value: datetime) -> str:
    return format_datetime(value, "dd/MM/yyyy 'à' HH:mm", tzinfo=PARIS, locale=LOCALE)
