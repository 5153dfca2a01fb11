"""Pure rules of ALSH / PAJ bookings (no I/O): ages, bookable days, cancellation deadline,
exclusion / requirement rules between units, copy mode (recopie).

Worked examples (tested in tests/alsh_paj/test_rules.py):
- Age: a child born 2017-05-10 is 5 on 2023-05-09 and 6 on 2023-05-10.
- Deadline "2 days before at 12:00": the Wednesday 26/04/2023 may be cancelled freely until
  Monday 24/04/2023 12:00 (Paris). Counting working days only, Wednesday 10/05/2023 closes on
  Friday 05/05/2023 12:00 (Tuesday 9, then Monday 8 May is a public holiday, weekend skipped).
- Exclusion: MERCREDI JOURNEE AVEC REPAS excludes MERCREDI MATIN SANS REPAS the same day.
- Requirement: REPAS requires one of MATIN / JOURNEE the same day.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta

from core import calendar
from core.timeutil import PARIS

WEEKDAY_NAMES = {1: "lundi", 2: "mardi", 3: "mercredi", 4: "jeudi", 5: "vendredi", 6: "samedi", 7: "dimanche"}


def public_holiday(day: date, subdivision: str | None = None) -> str | None:
    """Name of the public holiday on `day` in the community's subdivision (core/calendar.py), or None."""
    return calendar.public_holiday(day, subdivision)


def is_working_day(day: date, subdivision: str | None = None) -> bool:
    return calendar.is_working_day(day, subdivision)


def waiting_ranks(waiting: Iterable[tuple[int, int, date]]) -> dict[int, int]:
    """Rank (1-based) of each waiting line on its (unit, day) list, from the waiting lines as
    (line id, unit id, day) in id order: first come, first served (the order places are given in)."""
    counters: dict[tuple[int, date], int] = {}
    ranks: dict[int, int] = {}
    for line_id, unit_id, day in waiting:
        counters[(unit_id, day)] = counters.get((unit_id, day), 0) + 1
        ranks[line_id] = counters[(unit_id, day)]
    return ranks


def age_on(birth_date: date, on: date) -> int:
    """Age in whole years on `on`."""
    years = on.year - birth_date.year
    if (on.month, on.day) < (birth_date.month, birth_date.day):
        years -= 1
    return years


def age_allowed(birth_date: date | None, on: date, min_age: int, max_age: int) -> bool:
    """min_age <= age <= max_age on `on` (a child without birth date is never allowed)."""
    if birth_date is None:
        return False
    return min_age <= age_on(birth_date, on) <= max_age


def window_open(at: datetime, opens_at: datetime, closes_at: datetime) -> bool:
    return opens_at <= at < closes_at


def parse_hhmm(value: str) -> time:
    hours, _, minutes = (value or "00:00").partition(":")
    return time(int(hours), int(minutes or 0))


def cancellation_deadline(day: date, days_before: int, at: str, working_days: bool = False,
                          subdivision: str | None = None) -> datetime:
    """Instant (aware, Europe/Paris) until which a booking of `day` may be cancelled freely."""
    current = day
    remaining = max(0, days_before)
    while remaining > 0:
        current -= timedelta(days=1)
        if not working_days or is_working_day(current, subdivision):
            remaining -= 1
    return datetime.combine(current, parse_hhmm(at), tzinfo=PARIS)


def bookable_days(start: date, end: date, weekdays: Iterable[int], closed: Iterable[date],
                  subdivision: str | None = None) -> list[date]:
    """Days of [start, end] on the period's weekdays, minus closed days and public holidays."""
    wanted = set(weekdays) or {1, 2, 3, 4, 5}
    closed_set = set(closed)
    out: list[date] = []
    current = start
    while current <= end:
        if current.isoweekday() in wanted and current not in closed_set and public_holiday(current, subdivision) is None:
            out.append(current)
        current += timedelta(days=1)
    return out


@dataclass(frozen=True)
class UnitRule:
    """The rule-relevant part of a unit."""

    id: int
    code: str
    name: str
    excludes: tuple[str, ...] = ()
    requires: tuple[str, ...] = ()


@dataclass(frozen=True)
class Problem:
    date: date
    unit_id: int
    code: str
    message: str


def check_day_rules(selection: dict[date, set[int]], units: dict[int, UnitRule]) -> list[Problem]:
    """Exclusion and requirement problems of the selection (units chosen per day).

    `selection` holds, for each day, every unit the child will have (already booked + requested).
    """
    problems: list[Problem] = []
    for day in sorted(selection):
        chosen = selection[day]
        codes = {units[u].code for u in chosen if u in units}
        for unit_id in sorted(chosen):
            unit = units.get(unit_id)
            if unit is None:
                continue
            clash = [c for c in unit.excludes if c in codes and c != unit.code]
            if clash:
                other = next(u.name for u in units.values() if u.code == clash[0])
                problems.append(Problem(day, unit_id, "UNIT_EXCLUDED",
                                        f"{unit.name} et {other} ne peuvent pas être réservés le même jour."))
            if unit.requires and not (set(unit.requires) & codes):
                needed = " ou ".join(u.name for u in units.values() if u.code in unit.requires) or \
                    ", ".join(unit.requires)
                problems.append(Problem(day, unit_id, "UNIT_REQUIRES",
                                        f"{unit.name} nécessite aussi {needed} le même jour."))
    return problems


def expand_copy(source: dict[date, set[int]], start: date, end: date, weekdays: Iterable[int] | None,
                open_days: Iterable[date]) -> dict[date, set[int]]:
    """Mode recopie: repeat the units chosen on each source weekday over [start, end].

    Each target day receives the units of the source day with the same weekday (the last source
    day of that weekday wins); `weekdays` (ISO numbers) restricts the copy, None = every weekday
    that has a source; only the period's open days are kept. The source days themselves are kept
    only inside [start, end]: a family who copies a Wednesday onto the next month's Wednesdays asked
    for those, not for the source day again (issue 14, point 7).
    """
    by_weekday: dict[int, set[int]] = {}
    for day in sorted(source):
        by_weekday[day.isoweekday()] = set(source[day])
    allowed = set(weekdays) if weekdays else set(by_weekday)
    out: dict[date, set[int]] = {}
    for day in open_days:
        if start <= day <= end and day.isoweekday() in allowed and day.isoweekday() in by_weekday:
            out[day] = set(by_weekday[day.isoweekday()])
    for day, units in source.items():
        if start <= day <= end:
            out.setdefault(day, set()).update(units)
    return out


def prerequisites_message(missing: Sequence[Mapping[str, str]]) -> str:
    """The French message of PREREQUISITES_MISSING, saying what the family must still do.

    Documents must be *validated* by the service (an agent reviews the carnet de santé before the
    first booking), so a document sent but not yet reviewed still blocks: the message says so
    rather than asking the family to send it again (issue 14, point 7).
    Worked example: [{"kind": "document", "label": "Carnet de santé", "status": "pending"},
    {"kind": "document", "label": "Attestation d'assurance", "status": "missing"}] ->
    "Pour accéder aux réservations, ... validés par le service. À transmettre : Attestation
    d'assurance. Transmis, en attente de validation : Carnet de santé."
    """
    groups: dict[str, list[str]] = {"child_file": [], "to_send": [], "pending": []}
    for m in missing:
        if m.get("kind") != "document":
            groups["child_file"].append(m["label"])
        elif m.get("status") == "pending":
            groups["pending"].append(m["label"])
        elif m.get("status") == "refused":
            groups["to_send"].append(f"{m['label']} (refusé, à transmettre de nouveau)")
        else:
            groups["to_send"].append(m["label"])
    parts = ["Pour accéder aux réservations, le dossier de l'enfant doit être complet et les documents "
             "demandés validés par le service."]
    for key, title in (("child_file", "À compléter"), ("to_send", "À transmettre"),
                       ("pending", "Transmis, en attente de validation")):
        if groups[key]:
            parts.append(f"{title} : {', '.join(groups[key])}.")
    return " ".join(parts)


def effective_state(state: str, day: date, on: date) -> str:
    """What the family sees: a request nobody decided before its day has expired.

    en_attente / liste_attente on a past day -> "expiree"; demande_annulation on a past day ->
    "demande_annulation_expiree" (the day stays accepted, hence billed). Other states unchanged.
    """
    if day < on:
        if state in ("en_attente", "liste_attente"):
            return "expiree"
        if state == "demande_annulation":
            return "demande_annulation_expiree"
    return state


def active_key(child_id: int, day: date, unit_id: int) -> str:
    """The unique key of an active line: (child 7, 2026-12-02, unit 3) -> "7:2026-12-02:3"."""
    return f"{child_id}:{day.isoformat()}:{unit_id}"


def booking_number(value: int) -> str:
    """5 -> '00005'."""
    return f"{value:05d}"


def absence_justified_in_time(absence_day: date, uploaded_on: date, days: int = 3) -> bool:
    """A justificatif sent on the day of the absence or within `days` days after it (the guide
    says 3: absent Wednesday 10/05, a certificate sent Saturday 13/05 counts, Sunday 14/05 does not)."""
    return absence_day <= uploaded_on <= absence_day + timedelta(days=days)
