"""Shared French calendar: public holidays by subdivision and school holidays by zone.

One place for every plugin (crèche planning and prorata, ALSH bookable days and deadlines…), so
that a community of Alsace-Moselle gets its two extra holidays everywhere at once.

Sources:
  - Public holidays: Code du travail art. L3133-1 (the eleven national days); Alsace-Moselle adds
    Good Friday (where there is a Protestant temple or mixed church, kept for the whole territory by
    local custom) and 26 December: Code du travail art. L3134-13 (« droit local »). Both come from
    the maintained `holidays` package (subdivisions "57" Moselle and "6AE" Collectivité européenne
    d'Alsace, which covers the Bas-Rhin "67" and the Haut-Rhin "68").
  - School holidays: calendar of the Ministère de l'Éducation nationale by zone A / B / C, as
    shipped in the same package (category "school"); the package carries the published years only.
"""

from __future__ import annotations

from datetime import date
from functools import lru_cache

import holidays

# Département (or former name) -> the `holidays` package's subdivision code.
SUBDIVISION_ALIASES = {
    "57": "57", "moselle": "57",
    "67": "6AE", "68": "6AE", "6ae": "6AE", "alsace": "6AE", "bas-rhin": "6AE", "haut-rhin": "6AE",
}
SCHOOL_ZONES = ("A", "B", "C")


class CalendarError(ValueError):
    """A subdivision or zone the calendar does not know (raised at start-up from the config)."""


def normalize_subdivision(value: str | None) -> str | None:
    """"" / None: metropolitan France without local holidays; "57", "67", "68" (or "6AE",
    "Moselle", "Alsace") for Alsace-Moselle; overseas codes ("971"…) as the package knows them."""
    if value is None or not str(value).strip():
        return None
    raw = str(value).strip()
    code = SUBDIVISION_ALIASES.get(raw.lower(), raw)
    if code not in holidays.France.subdivisions:
        raise CalendarError(f"Subdivision inconnue pour les jours fériés : « {value} » "
                            "(ex. 57, 67, 68, 971…; vide pour la métropole).")
    return code


def normalize_zone(value: str | None) -> str | None:
    if value is None or not str(value).strip():
        return None
    zone = str(value).strip().upper().removeprefix("ZONE ").strip()
    if zone not in SCHOOL_ZONES:
        raise CalendarError(f"Zone de vacances scolaires inconnue : « {value} » (A, B ou C).")
    return zone


@lru_cache(maxsize=64)
def _public(year: int, subdivision: str | None) -> dict[date, str]:
    return dict(holidays.country_holidays("FR", subdiv=subdivision, years=year, language="fr"))


@lru_cache(maxsize=64)
def _school(year: int, zone: str) -> dict[date, str]:
    return dict(holidays.country_holidays("FR", subdiv=f"Zone {zone}", categories=("school",), years=year,
                                          language="fr"))


def public_holidays(year: int, subdivision: str | None = None) -> dict[date, str]:
    """Every public holiday of `year` (date -> French name) in the subdivision."""
    return dict(_public(year, normalize_subdivision(subdivision)))


def public_holiday(day: date, subdivision: str | None = None) -> str | None:
    """Name of the public holiday on `day`, or None."""
    return _public(day.year, normalize_subdivision(subdivision)).get(day)


def public_holidays_between(start: date, end: date, subdivision: str | None = None) -> set[date]:
    sub = normalize_subdivision(subdivision)
    return {d for y in range(start.year, end.year + 1) for d in _public(y, sub) if start <= d <= end}


def is_working_day(day: date, subdivision: str | None = None) -> bool:
    """Monday to Friday and not a public holiday."""
    return day.isoweekday() <= 5 and public_holiday(day, subdivision) is None


def school_holiday(day: date, zone: str | None) -> str | None:
    """Name of the school holiday period covering `day` in the zone, or None (no zone: None)."""
    z = normalize_zone(zone)
    return _school(day.year, z).get(day) if z else None


def school_holidays_between(start: date, end: date, zone: str | None) -> set[date]:
    """Every day of [start, end] inside a school holiday period of the zone (no zone: none)."""
    z = normalize_zone(zone)
    if not z:
        return set()
    return {d for y in range(start.year, end.year + 1) for d in _school(y, z) if start <= d <= end}


def community_subdivision() -> str | None:
    """The configured `[community] holiday_subdivision` (normalised)."""
    from core.config import get_settings

    return normalize_subdivision(get_settings().community.holiday_subdivision)


def community_school_zone() -> str | None:
    """The configured `[community] school_zone` (A, B or C), or None."""
    from core.config import get_settings

    return normalize_zone(get_settings().community.school_zone)
