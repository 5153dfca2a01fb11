"""Pure crèche rules: PSU fees, mensualisation, planning statuses, absences, proration, bill lines.

No I/O here: the service loads rows and hands plain values to these functions.

Barème national des participations familiales (PSU), each value below cites its source:
  - CNAF lettre circulaire n° 2019-005 du 5 juin 2019: taux d'effort per number of dependent
    children, raised each year until their final values of 1 January 2022, one table for collective
    care and micro-crèches (the micro-crèche barème is aligned on the collective one by that circular)
    and one for « accueil familial et parental »; plafond de ressources reaching 6 000 €/month in 2022.
  - Plafond raised to 7 000 €/month on 1 September 2024 (CNAF, budget FNAS 2024; caf45-partenaires.fr
    « EAJE PSU – Evolution du montant plafond des participations au 1er septembre 2024 ») and to
    8 500 €/month on 1 September 2025 « pour tous les contrats, y compris ceux en cours »
    (caf.fr/professionnels/actualites/le-plafond-de-ressources-mensuelles-en-hausse-pour-les-eaje-
    au-1er-septembre-2025, 15 May 2025).
  - Plancher de ressources, revalued each 1 January: the RSA socle for a single person with one child
    (× 1.5) minus the forfait logement, at the RSA of the previous April. 712,33 € (2022), 754,16 €
    (2023), 765,77 € (2024), 801,00 € (2025), 814,62 € (2026; 646,52 × 1,5 − 155,16, as published by
    communities applying it, e.g. suresnes.fr « Tarifs et aides – petite enfance »).
The fee of a month uses the barème in force that month and the family's resources in force that
month: a contract is never frozen at its start (see `fee_periods`).
A community can override every table through `[plugin.creche]` (see `Config.from_dict`).
"""

from __future__ import annotations

import calendar
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import date, timedelta
from decimal import ROUND_HALF_UP, Decimal
from typing import Any

from core import calendar as fr_calendar
from core import formatting

CENT = Decimal("0.01")

# ---- PSU data, per period of validity (start inclusive, end inclusive or None) ------------------
# Monthly resources, in cents. Keep old periods: a bill of a past month uses them.
PLAFONDS: tuple[tuple[date, date | None, int], ...] = (
    (date(2022, 1, 1), date(2024, 8, 31), 600_000),  # LC CNAF 2019-005
    (date(2024, 9, 1), date(2025, 8, 31), 700_000),  # CNAF, FNAS 2024
    (date(2025, 9, 1), None, 850_000),  # caf.fr, 15/05/2025: all contracts, ongoing ones included
)
PLANCHERS: tuple[tuple[date, date | None, int], ...] = (
    (date(2022, 1, 1), date(2022, 12, 31), 71_233),  # the old code's « 2023 » value was 2022's
    (date(2023, 1, 1), date(2023, 12, 31), 75_416),  # 598,54 × 1,5 − 143,65 (RSA of July 2022)
    (date(2024, 1, 1), date(2024, 12, 31), 76_577),  # 607,75 × 1,5 − 145,86
    (date(2025, 1, 1), date(2025, 12, 31), 80_100),  # 635,71 × 1,5 − 152,57
    (date(2026, 1, 1), None, 81_462),  # 646,52 × 1,5 − 155,16
)


class Kind:
    """Establishment kinds: the taux d'effort table differs (LC CNAF 2019-005)."""

    COLLECTIF = "collectif"
    MICRO = "micro_creche"
    FAMILIAL = "familial"
    PARENTAL = "parental"
    ALL = (COLLECTIF, MICRO, FAMILIAL, PARENTAL)
    LABELS = {COLLECTIF: "accueil collectif", MICRO: "micro-crèche", FAMILIAL: "crèche familiale",
              PARENTAL: "crèche parentale"}


def barème_group(kind: str) -> str:
    """Micro-crèches use the collective table since 1 September 2019, parental the familial one."""
    return "familial" if kind in (Kind.FAMILIAL, Kind.PARENTAL) else "collectif"


Rates = tuple[tuple[int, Decimal], ...]  # (from this number of children, hourly rate)
# Taux d'effort (hourly, fraction of monthly resources) by dependent children, final values of
# LC CNAF 2019-005 on 1 January 2022 (unchanged since, the 2024 and 2025 reforms moved the plafond only).
TAUX_EFFORT: tuple[tuple[str, date, date | None, Rates], ...] = (
    ("collectif", date(2022, 1, 1), None, (
        (1, Decimal("0.000619")), (2, Decimal("0.000516")), (3, Decimal("0.000413")),
        (4, Decimal("0.000310")),  # 4 to 7 children
        (8, Decimal("0.000206")),  # 8 children and more
    )),
    ("familial", date(2022, 1, 1), None, (
        (1, Decimal("0.000516")), (2, Decimal("0.000413")),
        (3, Decimal("0.000310")),  # 3 to 5 children
        (6, Decimal("0.000206")),  # 6 children and more
    )),
)
TAUX_EFFORT_COLLECTIF: Rates = TAUX_EFFORT[0][3]

WEEKDAYS_FR = ("Lundi", "Mardi", "Mercredi", "Jeudi", "Vendredi", "Samedi", "Dimanche")


class RuleError(ValueError):
    """Bad input detected by a rule: the service turns it into a ValidationError."""

    def __init__(self, message: str, code: str, field: str | None = None) -> None:
        super().__init__(message)
        self.message, self.code, self.field = message, code, field


@dataclass(frozen=True)
class EstablishmentConfig:
    """`[plugin.creche.establishments.<service code>]`: the kind of the crèche, and the fixed hourly
    fee its manager sets each year for emergency care when resources are unknown (see `emergency_fee`)."""

    kind: str = Kind.COLLECTIF
    emergency_hourly_cents: int | None = None


@dataclass(frozen=True)
class Config:
    """Plugin settings: defaults here, overridden by the `[plugin.creche]` TOML table."""

    cancellation_delay_days: int = 2  # an absence reported at least N days ahead is a cancellation
    carence_days: int = 3  # illness with certificate: the first N calendar days are not deducted
    overtime_rounding_minutes: int = 30  # dépassement billed by the started half hour
    overtime_tolerance_minutes: int = 0  # minutes allowed before a day becomes "Majoration"
    slot_minutes: int = 30  # capacity checked per time slot
    default_capacity: int = 20
    default_opening: tuple[str, str] = ("07:30", "18:30")
    default_weeks_per_year: int = 45
    staff_backfill_days: int = 92  # staff record attendance, absences, bookings, starts up to N days back
    plafonds: tuple[tuple[date, date | None, int], ...] = PLAFONDS
    planchers: tuple[tuple[date, date | None, int], ...] = PLANCHERS
    taux_effort: tuple[tuple[str, date, date | None, Rates], ...] = TAUX_EFFORT
    establishments: dict[str, EstablishmentConfig] = field(default_factory=dict)

    def establishment(self, code: str) -> EstablishmentConfig:
        return self.establishments.get(code, EstablishmentConfig())

    @classmethod
    def from_dict(cls, raw: dict[str, Any]) -> Config:
        kwargs: dict[str, Any] = {}
        for name in ("cancellation_delay_days", "carence_days", "overtime_rounding_minutes",
                     "overtime_tolerance_minutes", "slot_minutes", "default_capacity",
                     "default_weeks_per_year", "staff_backfill_days"):
            if name in raw:
                kwargs[name] = int(raw[name])
        if "default_opening" in raw:
            kwargs["default_opening"] = tuple(raw["default_opening"])
        for name in ("plafonds", "planchers"):
            if name in raw:  # [{start="2026-01-01", end="", cents=81000}, …]
                kwargs[name] = tuple(
                    (date.fromisoformat(r["start"]), date.fromisoformat(r["end"]) if r.get("end") else None,
                     int(r["cents"])) for r in raw[name])
        if "taux_effort" in raw:  # [{table="familial", start="2027-01-01", rates=[[1, "0.000520"], …]}, …]
            rows = []
            for r in raw["taux_effort"]:
                if r["table"] not in ("collectif", "familial"):
                    raise ValueError(f"[plugin.creche] taux_effort: table « {r['table']} » (collectif | familial)")
                rates = tuple(sorted((int(n), Decimal(str(v))) for n, v in r["rates"]))
                rows.append((r["table"], date.fromisoformat(r["start"]),
                             date.fromisoformat(r["end"]) if r.get("end") else None, rates))
            # the defaults stay for the dates the override does not cover
            kwargs["taux_effort"] = TAUX_EFFORT + tuple(rows)
        if "establishments" in raw:  # {creche_x = {kind="micro_creche", emergency_hourly_cents=180}}
            ests = {}
            for code, e in raw["establishments"].items():
                kind = e.get("kind", Kind.COLLECTIF)
                if kind not in Kind.ALL:
                    raise ValueError(f"[plugin.creche.establishments.{code}] kind « {kind} » "
                                     f"({' | '.join(Kind.ALL)})")
                fixed = e.get("emergency_hourly_cents")
                ests[code] = EstablishmentConfig(kind=kind, emergency_hourly_cents=int(fixed) if fixed is not None else None)
            kwargs["establishments"] = ests
        return cls(**kwargs)


# ---- time helpers --------------------------------------------------------------------------------
def parse_hhmm(value: str, field: str = "time") -> int:
    """"09:15" -> 555 minutes after midnight."""
    try:
        hours, minutes = value.strip().split(":")[:2]
        h, m = int(hours), int(minutes)
    except (ValueError, AttributeError):
        raise RuleError(f"Heure invalide : « {value} » (format HH:MM).", "INVALID_TIME", field) from None
    if not (0 <= h <= 23 and 0 <= m <= 59):
        raise RuleError(f"Heure invalide : « {value} ».", "INVALID_TIME", field)
    return h * 60 + m


def fmt_hhmm(minutes: int) -> str:
    return f"{minutes // 60:02d}:{minutes % 60:02d}"


def month_days(year: int, month: int) -> list[date]:
    return [date(year, month, d) for d in range(1, calendar.monthrange(year, month)[1] + 1)]


def parse_month(value: str) -> tuple[int, int]:
    try:
        year, month = (int(x) for x in value.split("-"))
        date(year, month, 1)
    except ValueError:
        raise RuleError("Mois invalide (format AAAA-MM).", "INVALID_MONTH", "month") from None
    return year, month


# ---- PSU fees --------------------------------------------------------------------------------------
def _for_date(table: Iterable[tuple[date, date | None, int]], on: date) -> int:
    found = None
    for start, end, value in table:
        if start <= on and (end is None or on <= end):
            found = value
    if found is None:  # before the first period: the oldest value
        found = min(table, key=lambda r: r[0])[2]
    return found


def plafond_cents(on: date, config: Config = Config()) -> int:
    return _for_date(config.plafonds, on)


def plancher_cents(on: date, config: Config = Config()) -> int:
    return _for_date(config.planchers, on)


def rates_at(on: date, kind: str = Kind.COLLECTIF, config: Config = Config()) -> Rates:
    """The taux d'effort table of the establishment kind in force on `on` (the latest row wins)."""
    group, found = barème_group(kind), None
    for table, start, end, rates in config.taux_effort:
        if table == group and start <= on and (end is None or on <= end):
            found = rates
    if found is None:
        found = min((r for r in config.taux_effort if r[0] == group), key=lambda r: r[1])[3]
    return found


def children_for_rate(dependent_children: int, aeeh_children: int = 0) -> int:
    """Children counted for the taux d'effort. Each dependent child receiving the AEEH moves the family
    to the next lower rate, « autant de fois qu'il y a d'enfants à charge en situation de handicap dans
    le foyer », even when that child is not the one in care (LC CNAF 2019-005, barème national).
    Two children, both with AEEH: 2 + 2 = the four-children rate."""
    return max(1, dependent_children) + max(0, int(aeeh_children))


def taux_effort(children: int, on: date | None = None, kind: str = Kind.COLLECTIF,
                config: Config = Config()) -> Decimal:
    table = rates_at(on or date(9999, 12, 31), kind, config)  # no date: the latest table
    rate = table[0][1]
    for threshold, value in table:
        if children >= threshold:
            rate = value
    return rate


def monthly_resources_cents(annual_cents: int | None, on: date, config: Config = Config()) -> int:
    """Annual N-2 resources / 12 bounded by plancher and plafond. Unknown resources: plafond
    (the guide: « si ces informations ne sont pas transmises, c'est le tarif maximum »)."""
    if annual_cents is None:
        return plafond_cents(on, config)
    monthly = (Decimal(annual_cents) / 12).quantize(Decimal(1), rounding=ROUND_HALF_UP)
    return int(min(max(monthly, plancher_cents(on, config)), plafond_cents(on, config)))


def hourly_fee_cents(annual_cents: int | None, dependent_children: int, aeeh_children: int, on: date,
                     config: Config = Config(), kind: str = Kind.COLLECTIF) -> int:
    """PSU hourly fee in cents on `on`, rounded to the cent (ROUND_HALF_UP)."""
    monthly = Decimal(monthly_resources_cents(annual_cents, on, config))
    rate = taux_effort(children_for_rate(dependent_children, aeeh_children), on, kind, config)
    return int((monthly * rate).quantize(Decimal(1), rounding=ROUND_HALF_UP))


def emergency_fee_cents(dependent_children: int, aeeh_children: int, on: date, config: Config = Config(),
                        kind: str = Kind.COLLECTIF, fixed_cents: int | None = None) -> int:
    """Accueil d'urgence when the family's resources are not known: the fixed fee the manager sets each
    year (the total of the previous year's participations familiales divided by the hours billed), or,
    when none is set, the fee at the plancher de ressources (LC CNAF 2014-009, kept by LC 2019-005:
    « en cas d'accueil d'urgence, si les ressources ne sont pas connues, le gestionnaire applique le
    tarif plancher ou un tarif fixe défini annuellement »). Never the plafond used for a family that
    refuses to give its resources."""
    if fixed_cents is not None:
        return fixed_cents
    rate = taux_effort(children_for_rate(dependent_children, aeeh_children), on, kind, config)
    return int((Decimal(plancher_cents(on, config)) * rate).quantize(Decimal(1), rounding=ROUND_HALF_UP))


@dataclass(frozen=True)
class ResourcesAt:
    """The family's resources in force from `start` (January update, new avis d'imposition, CAF data)."""

    start: date
    annual_cents: int | None
    dependent_children: int
    aeeh_children: int = 0
    reason: str = ""


@dataclass(frozen=True)
class FeePeriod:
    """A stretch of a contract with one fee, and why it starts (audit and the family's information)."""

    start: date
    end: date | None
    resources_monthly_cents: int
    children_for_rate: int
    taux: Decimal
    hourly_fee_cents: int
    monthly_fee_cents: int
    reasons: tuple[str, ...]


def _euros(cents: int) -> str:
    return formatting.euros(cents)


def barème_changes(kind: str = Kind.COLLECTIF, config: Config = Config()) -> list[tuple[date, str]]:
    """Dates where a barème value changes, with the family's words for it."""
    out = [(start, f"Plafond de ressources CNAF porté à {_euros(cents)} par mois au {start.strftime('%d/%m/%Y')}")
           for start, _end, cents in config.plafonds]
    out += [(start, f"Plancher de ressources CNAF {start.year} : {_euros(cents)} par mois")
            for start, _end, cents in config.planchers]
    out += [(start, f"Taux d'effort CNAF en vigueur au {start.strftime('%d/%m/%Y')}")
            for table, start, _end, _rates in config.taux_effort if table == barème_group(kind)]
    return sorted(out)


def resources_on(history: list[ResourcesAt], on: date) -> ResourcesAt:
    """The record in force on `on` (the latest start not after it; before any: the oldest)."""
    ordered = sorted(history, key=lambda r: r.start)
    found = ordered[0]
    for r in ordered:
        if r.start <= on:
            found = r
    return found


def fee_periods(start: date, end: date | None, history: list[ResourcesAt], hours_per_week: Decimal,
                weeks_per_year: int, kind: str = Kind.COLLECTIF, config: Config = Config()) -> list[FeePeriod]:
    """The contract's fee, period by period: it is revised on each change of barème (plafond, plancher,
    taux) and of the family's resources, from the date of the change (caf.fr, plafond of 1 September 2025:
    « pour tous les contrats, y compris ceux en cours »). A change that leaves the fee unchanged does not
    open a new period. `history` must hold at least one record."""
    if not history:
        raise ValueError("fee_periods needs the family's resources")
    candidates: dict[date, list[str]] = {start: ["Début du contrat"]}
    for on, why in barème_changes(kind, config):
        if start < on and (end is None or on <= end):
            candidates.setdefault(on, []).append(why)
    for r in history:
        if start < r.start and (end is None or r.start <= end):
            candidates.setdefault(r.start, []).append(r.reason or "Mise à jour de vos ressources")
    periods: list[FeePeriod] = []
    for on in sorted(candidates):
        res = resources_on(history, on)
        children = children_for_rate(res.dependent_children, res.aeeh_children)
        hourly = hourly_fee_cents(res.annual_cents, res.dependent_children, res.aeeh_children, on, config, kind)
        period = FeePeriod(start=on, end=None, resources_monthly_cents=monthly_resources_cents(res.annual_cents, on, config),
                           children_for_rate=children, taux=taux_effort(children, on, kind, config),
                           hourly_fee_cents=hourly,
                           monthly_fee_cents=monthly_fee_cents(hourly, hours_per_week, weeks_per_year),
                           reasons=tuple(candidates[on]))
        if periods and periods[-1].hourly_fee_cents == period.hourly_fee_cents:
            continue  # nothing to revise
        if periods:
            prev = periods[-1]
            periods[-1] = FeePeriod(prev.start, on - timedelta(days=1), prev.resources_monthly_cents,
                                    prev.children_for_rate, prev.taux, prev.hourly_fee_cents, prev.monthly_fee_cents,
                                    prev.reasons)
        periods.append(period)
    if end is not None:
        last = periods[-1]
        periods[-1] = FeePeriod(last.start, end, last.resources_monthly_cents, last.children_for_rate, last.taux,
                                last.hourly_fee_cents, last.monthly_fee_cents, last.reasons)
    return periods


def fee_on(periods: list[FeePeriod], on: date) -> FeePeriod:
    found = periods[0]
    for p in periods:
        if p.start <= on:
            found = p
    return found


# ---- schedule and mensualisation ----------------------------------------------------------------------
Schedule = dict[int, tuple[int, int]]  # weekday (0 = Monday) -> (arrival, departure) in minutes


# The database and these rules number weekdays like Python (`date.weekday()`: 0 = Monday); the API speaks
# ISO 8601 (1 = Monday … 7 = Sunday, docs/graphql.md). These two functions are the only crossing point.
def weekday_from_iso(iso_weekday: int, field: str = "weekday") -> int:
    """ISO weekday (1 = Monday … 7 = Sunday) -> stored weekday (0 = Monday); INVALID_WEEKDAY otherwise."""
    if isinstance(iso_weekday, bool) or not isinstance(iso_weekday, int) or not 1 <= iso_weekday <= 7:
        raise RuleError("Jour de la semaine invalide (1 = lundi … 7 = dimanche).", "INVALID_WEEKDAY", field)
    return iso_weekday - 1


def weekday_to_iso(weekday: int) -> int:
    """Stored weekday (0 = Monday) -> ISO weekday (1 = Monday … 7 = Sunday)."""
    return int(weekday) + 1


def normalize_schedule(items: Iterable[tuple[int, str, str]]) -> Schedule:
    schedule: Schedule = {}
    for weekday, arrival, departure in items:
        if not 0 <= weekday <= 6:
            raise RuleError("Jour de la semaine invalide (0 = lundi … 6 = dimanche).", "INVALID_WEEKDAY", "schedule")
        a, d = parse_hhmm(arrival, "schedule"), parse_hhmm(departure, "schedule")
        if d <= a:
            raise RuleError(f"{WEEKDAYS_FR[weekday]} : l'heure de départ doit suivre l'heure d'arrivée.",
                            "INVALID_PERIOD", "schedule")
        schedule[weekday] = (a, d)
    if not schedule:
        raise RuleError("Le planning hebdomadaire est vide.", "EMPTY_SCHEDULE", "schedule")
    return schedule


def schedule_to_json(schedule: Schedule) -> dict[str, list[str]]:
    return {str(k): [fmt_hhmm(a), fmt_hhmm(d)] for k, (a, d) in sorted(schedule.items())}


def schedule_from_json(raw: dict[str, Any]) -> Schedule:
    return {int(k): (parse_hhmm(v[0]), parse_hhmm(v[1])) for k, v in (raw or {}).items()}


def weekly_hours(schedule: Schedule) -> Decimal:
    return (Decimal(sum(d - a for a, d in schedule.values())) / 60).quantize(CENT, rounding=ROUND_HALF_UP)


def monthly_hours(hours_per_week: Decimal, weeks_per_year: int) -> Decimal:
    """Mensualisation: hours per week × weeks per year / 12."""
    return (Decimal(hours_per_week) * weeks_per_year / 12).quantize(CENT, rounding=ROUND_HALF_UP)


def monthly_fee_cents(hourly_cents: int, hours_per_week: Decimal, weeks_per_year: int) -> int:
    """Monthly fee = hourly fee × hours per week × weeks per year / 12, rounded to the cent."""
    return int((Decimal(hourly_cents) * Decimal(hours_per_week) * weeks_per_year / 12)
               .quantize(Decimal(1), rounding=ROUND_HALF_UP))


# ---- opening hours and capacity ------------------------------------------------------------------
def is_open(day: date, opening: dict[int, tuple[int, int]], closures: set[date]) -> bool:
    return day.weekday() in opening and day not in closures


def closures_with_holidays(closures: set[date], start: date, end: date, subdivision: str | None) -> set[date]:
    """The crèche's closure days plus the public holidays of the community's subdivision
    (core/calendar.py): a holiday is a closure for the planning, the prorata and occasional care."""
    return set(closures) | fr_calendar.public_holidays_between(start, end, subdivision)


def open_days(year: int, month: int, opening: dict[int, tuple[int, int]], closures: set[date],
              subdivision: str | None) -> set[date]:
    days = month_days(year, month)
    shut = closures_with_holidays(closures, days[0], days[-1], subdivision)
    return {d for d in days if is_open(d, opening, shut)}


def check_within_opening(day: date, start: int, end: int, opening: dict[int, tuple[int, int]],
                         closures: set[date]) -> None:
    if end <= start:
        raise RuleError("L'heure de fin doit suivre l'heure de début.", "INVALID_PERIOD", "endTime")
    if not is_open(day, opening, closures):
        raise RuleError("La crèche est fermée ce jour-là.", "OUTSIDE_OPENING_HOURS", "day")
    o_start, o_end = opening[day.weekday()]
    if start < o_start or end > o_end:
        raise RuleError(f"La crèche est ouverte de {fmt_hhmm(o_start)} à {fmt_hhmm(o_end)}.",
                        "OUTSIDE_OPENING_HOURS", "startTime")


def slots(start: int, end: int, slot_minutes: int) -> list[int]:
    first = start - start % slot_minutes
    return list(range(first, end, slot_minutes))


def slot_occupancy(intervals: Iterable[tuple[int, int]], slot_minutes: int) -> dict[int, int]:
    """Children present per slot (a child counts in every slot its interval touches)."""
    counts: dict[int, int] = {}
    for start, end in intervals:
        for s in slots(start, end, slot_minutes):
            counts[s] = counts.get(s, 0) + 1
    return counts


def has_room(intervals: Iterable[tuple[int, int]], start: int, end: int, capacity: int, slot_minutes: int) -> bool:
    counts = slot_occupancy(intervals, slot_minutes)
    return all(counts.get(s, 0) < capacity for s in slots(start, end, slot_minutes))


# ---- absences ---------------------------------------------------------------------------------------------
class Motive:
    """Absence motives. Deducted from the mensualised fee (LC CNAF 2014-009, « déductions admises »,
    kept by LC 2019-005): closure of the crèche, hospitalisation of the child, éviction by the crèche's
    doctor (all from the first day), illness with a medical certificate after a carence of three
    calendar days. Nothing else."""

    ILLNESS = "maladie"
    HOSPITALISATION = "hospitalisation"
    EVICTION = "eviction"  # éviction prononcée par le médecin de la crèche
    CLOSURE = "fermeture"
    OTHER = "autre"
    ALL = (ILLNESS, HOSPITALISATION, EVICTION, CLOSURE, OTHER)


def check_period(start_day: date, end_day: date, start_time: int, end_time: int) -> None:
    if end_day < start_day or (end_day == start_day and end_time <= start_time):
        raise RuleError("La fin de l'absence doit suivre son début.", "INVALID_PERIOD", "toDate")


def absence_kind(start_day: date, today: date, config: Config = Config()) -> str:
    """Reported at least `cancellation_delay_days` before the first day: an annulation (not billed
    for occasional care, and the day is freed). Later: an absence report (« signaler une absence »)."""
    return "cancellation" if (start_day - today).days >= config.cancellation_delay_days else "absence"


def deductible_days(motive: str, has_certificate: bool, start_day: date, end_day: date,
                    config: Config = Config()) -> set[date]:
    """Calendar days of an absence whose hours are deducted from the mensualised fee (see `Motive`):
    hospitalisation, éviction by the crèche's doctor and closure from day 1, illness with a medical
    certificate beyond the carence days (the first `carence_days` calendar days stay billed)."""
    days = {start_day + timedelta(days=i) for i in range((end_day - start_day).days + 1)}
    if motive in (Motive.HOSPITALISATION, Motive.EVICTION, Motive.CLOSURE):
        return days
    if motive == Motive.ILLNESS and has_certificate:
        first_deducted = start_day + timedelta(days=config.carence_days)
        return {d for d in days if d >= first_deducted}
    return set()


def deduction_reason(motive: str, has_certificate: bool, start_day: date, end_day: date,
                     config: Config = Config()) -> str:
    """Why a validated absence is (or is not) deducted from the monthly fee, in the family's words.
    Mirrors `deductible_days`: hospitalisation, éviction and closure from day 1, illness with a certificate
    after `carence_days` calendar days, anything else stays billed."""
    if motive == Motive.HOSPITALISATION:
        return "Hospitalisation : les heures sont déduites dès le premier jour."
    if motive == Motive.EVICTION:
        return "Éviction par le médecin de la crèche : les heures sont déduites dès le premier jour."
    if motive == Motive.CLOSURE:
        return "Fermeture de la crèche : les heures ne vous sont pas facturées."
    if motive == Motive.ILLNESS and has_certificate:
        first = start_day + timedelta(days=config.carence_days)
        if first > end_day:
            return (f"Maladie avec certificat médical : l'absence ne dépasse pas les {config.carence_days} jours "
                    "de carence, elle reste facturée.")
        return (f"Maladie avec certificat médical : après {config.carence_days} jours de carence, les heures "
                f"sont déduites à partir du {first.strftime('%d/%m/%Y')}.")
    if motive == Motive.ILLNESS:
        return ("Maladie sans certificat médical : l'absence reste facturée. Déposez le certificat "
                "pour qu'elle soit déduite au-delà des jours de carence.")
    return "Absence pour convenance personnelle : elle reste facturée selon votre contrat."


# ---- attendance -----------------------------------------------------------------------------------------------
def round_up(minutes: int, step: int) -> int:
    return 0 if minutes <= 0 else -(-minutes // step) * step


def overtime_minutes(planned: tuple[int, int] | None, arrival: int, departure: int) -> int:
    """Minutes outside the contract's hours that day (the whole stay on a non-contract day)."""
    if planned is None:
        return max(0, departure - arrival)
    p_start, p_end = planned
    return max(0, p_start - arrival) + max(0, departure - p_end)


class DayStatus:
    RESERVEE = "RESERVEE"
    PRESENT = "PRESENT"
    ABSENCE = "ABSENCE"
    ABSENCE_EXCUSEE = "ABSENCE_EXCUSEE"
    ANNULEE = "ANNULEE"
    SORTIE = "SORTIE"
    LISTE_ATTENTE = "SUR_LISTE_D_ATTENTE"
    NON_INSCRIT = "NON_INSCRIT"
    A_VALIDER = "A_VALIDER"
    MAJORATION = "MAJORATION"
    LABELS = {RESERVEE: "Réservée", PRESENT: "Présent", ABSENCE: "Absence", ABSENCE_EXCUSEE: "Absence excusée",
              ANNULEE: "Annulée", SORTIE: "Sortie", LISTE_ATTENTE: "Sur liste d'attente",
              NON_INSCRIT: "Non inscrit", A_VALIDER: "À valider", MAJORATION: "Majoration"}


@dataclass(frozen=True)
class DayFacts:
    """What is known about one child on one day, for `day_status`."""

    day: date
    today: date
    open: bool
    planned: tuple[int, int] | None = None  # contract hours that weekday (None: not a contract day)
    contract_ended_before: bool = False  # a contract of the child ended before this day
    attendance: tuple[int, int | None] | None = None
    absence: str | None = None  # "cancellation" | "absence" | "excused"
    occasional: tuple[str, int, int] | None = None  # (status, start, end)
    waiting: bool = False


def day_status(f: DayFacts, config: Config = Config()) -> str | None:
    """The guide's legend for one day; None when the crèche is closed and nothing happened."""
    if f.attendance is not None:
        arrival, departure = f.attendance
        planned = f.planned or ((f.occasional[1], f.occasional[2]) if f.occasional else None)
        extra = overtime_minutes(planned, arrival, departure if departure is not None else arrival)
        return DayStatus.MAJORATION if extra > config.overtime_tolerance_minutes else DayStatus.PRESENT
    if f.absence == "cancellation":
        return DayStatus.ANNULEE
    if f.absence == "excused":
        return DayStatus.ABSENCE_EXCUSEE
    if f.absence == "absence":
        return DayStatus.ABSENCE
    if f.planned is not None and f.open:
        return DayStatus.ABSENCE if f.day < f.today else DayStatus.RESERVEE
    if f.occasional is not None:
        status = f.occasional[0]
        if status == "pending":
            return DayStatus.A_VALIDER
        if status == "accepted":
            return DayStatus.ABSENCE if f.day < f.today else DayStatus.RESERVEE
    if not f.open:
        return None
    if f.contract_ended_before:
        return DayStatus.SORTIE
    if f.waiting:
        return DayStatus.LISTE_ATTENTE
    return DayStatus.NON_INSCRIT


# ---- monthly bill ---------------------------------------------------------------------------------------------
def prorated_fee_cents(monthly_fee: int, open_days_in_month: int, open_days_covered: int) -> int:
    """First / last partial month: fee × open days covered by the contract / open days of the month."""
    if open_days_in_month <= 0 or open_days_covered >= open_days_in_month:
        return monthly_fee if open_days_covered else 0
    return int((Decimal(monthly_fee) * open_days_covered / open_days_in_month)
               .quantize(Decimal(1), rounding=ROUND_HALF_UP))


@dataclass(frozen=True)
class BillLine:
    kind: str  # fee | overtime | deduction | occasional
    designation: str
    quantity: Decimal
    unit_price_cents: int
    amount_cents: int
    key: str = ""  # unique within the contract's month (the first line of a kind: the kind itself)


@dataclass
class MonthInput:
    """One contract's month, as plain values."""

    year: int
    month: int
    monthly_fee_cents: int
    hourly_fee_cents: int
    contract_start: date
    contract_end: date | None
    schedule: Schedule
    open_days: set[date]  # days the crèche is open this month (closures and public holidays removed)
    attendance: dict[date, tuple[int, int]] = field(default_factory=dict)
    deducted_days: set[date] = field(default_factory=set)  # validated deductible absence days
    # The contract's fee periods (`fee_periods`); empty: the contract's own fee for the whole month.
    periods: list[FeePeriod] = field(default_factory=list)


def _fees_of(m: MonthInput, day: date) -> tuple[int, int, date]:
    """(monthly fee, hourly fee, period start) in force on `day`."""
    if not m.periods:
        return m.monthly_fee_cents, m.hourly_fee_cents, m.contract_start
    p = fee_on(m.periods, day)
    return p.monthly_fee_cents, p.hourly_fee_cents, p.start


def _hours_lines(kind: str, label: str, minutes_by_fee: dict[int, int]) -> list[BillLine]:
    lines = []
    for i, (hourly, minutes) in enumerate(sorted(minutes_by_fee.items())):
        if not minutes:
            continue
        hours = (Decimal(minutes) / 60).quantize(CENT)
        amount = int((hours * hourly).quantize(Decimal(1), rounding=ROUND_HALF_UP))
        sign = -1 if kind == "deduction" else 1
        suffix = f" (tarif {_euros(hourly)}/h)" if len(minutes_by_fee) > 1 else ""
        lines.append(BillLine(kind, f"{label}{suffix}", hours, sign * hourly, sign * amount,
                              key=kind if i == 0 else f"{kind}:{hourly}"))
    return lines


def contract_month_lines(m: MonthInput, config: Config = Config()) -> list[BillLine]:
    """The month's lines: the mensualised fee of each fee period in force during the month (prorated by
    open days when a period or the contract covers part of it), dépassements and deductions at the
    hourly fee in force on their day."""
    days = month_days(m.year, m.month)
    covered = [d for d in days if d >= m.contract_start and (m.contract_end is None or d <= m.contract_end)]
    open_covered = [d for d in covered if d in m.open_days]
    label = f"{m.month:02d}/{m.year}"
    lines: list[BillLine] = []
    segments: dict[date, tuple[int, list[date]]] = {}
    for d in open_covered:
        monthly, _hourly, since = _fees_of(m, d)
        segments.setdefault(since, (monthly, []))[1].append(d)
    for i, (since, (monthly, seg_days)) in enumerate(sorted(segments.items())):
        fee = prorated_fee_cents(monthly, len(m.open_days), len(seg_days))
        if not fee:
            continue
        designation = f"Mensualisation {label}"
        if len(segments) > 1:
            designation += f" du {seg_days[0].strftime('%d/%m')} au {seg_days[-1].strftime('%d/%m')}"
        if len(seg_days) < len(m.open_days):
            designation += f" (prorata {len(seg_days)}/{len(m.open_days)} jours d'ouverture)"
        lines.append(BillLine("fee", designation, Decimal(1), fee, fee, key="fee" if i == 0 else f"fee:{since}"))
    extra: dict[int, int] = {}
    for d in covered:
        if d in m.attendance:
            arrival, departure = m.attendance[d]
            minutes = round_up(overtime_minutes(m.schedule.get(d.weekday()), arrival, departure),
                               config.overtime_rounding_minutes)
            if minutes:
                hourly = _fees_of(m, d)[1]
                extra[hourly] = extra.get(hourly, 0) + minutes
    lines += _hours_lines("overtime", f"Dépassements {label}", extra)
    deducted: dict[int, int] = {}
    for d in open_covered:
        if d in m.deducted_days and d.weekday() in m.schedule:
            hourly = _fees_of(m, d)[1]
            deducted[hourly] = deducted.get(hourly, 0) + m.schedule[d.weekday()][1] - m.schedule[d.weekday()][0]
    lines += _hours_lines("deduction", f"Déductions absences {label}", deducted)
    return lines
