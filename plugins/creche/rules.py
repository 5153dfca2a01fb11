"""Pure crèche rules: PSU fees, mensualisation, planning statuses, absences, proration, bill lines.

No I/O here: the service loads rows and hands plain values to these functions.

Barème source (PSU, accueil collectif):
  - CNAF lettre circulaire n° 2019-005 du 5 juin 2019 (barème national des participations familiales),
    taux d'effort for collective care reaching their final values on 1 January 2022
    (0,0619 % / 0,0516 % / 0,0413 % / 0,0310 % / 0,0206 %), confirmed by the CNAF 2022 letter
    that kept them unchanged afterwards.
  - Plafond de ressources: 6 000 €/month from 2022, raised to 7 000 €/month on 1 September 2024
    (CNAF, FNAS 2024 budget) and to 8 500 €/month on 1 September 2025 (2025 PSU reform).
  - Plancher de ressources: revalued each 1 January (RSA socle for one person, minus the forfait
    logement): 712,33 € (2023), 765,77 € (2024), 801,00 € (2025).
A community can override every value through `[plugin.creche]` (see `Config.from_dict`).
"""

from __future__ import annotations

import calendar
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import date, timedelta
from decimal import ROUND_HALF_UP, Decimal
from typing import Any

CENT = Decimal("0.01")

# ---- PSU data, per period of validity (start inclusive, end inclusive or None) ------------------
# Monthly resources, in cents. Keep old periods: a contract or a bill of a past period uses them.
PLAFONDS: tuple[tuple[date, date | None, int], ...] = (
    (date(2022, 1, 1), date(2024, 8, 31), 600_000),
    (date(2024, 9, 1), date(2025, 8, 31), 700_000),
    (date(2025, 9, 1), None, 850_000),
)
# The 2026 plancher was not yet known when this was written: 2025's value is carried forward
# (`plancher_2026` in [plugin.creche] or a new row here once the CNAF publishes it).
PLANCHERS: tuple[tuple[date, date | None, int], ...] = (
    (date(2023, 1, 1), date(2023, 12, 31), 71_233),
    (date(2024, 1, 1), date(2024, 12, 31), 76_577),
    (date(2025, 1, 1), None, 80_100),
)
# Taux d'effort (hourly, fraction of monthly resources), collective care, by dependent children.
TAUX_EFFORT_COLLECTIF: tuple[tuple[int, Decimal], ...] = (
    (1, Decimal("0.000619")),
    (2, Decimal("0.000516")),
    (3, Decimal("0.000413")),
    (4, Decimal("0.000310")),  # 4 to 7 children
    (8, Decimal("0.000206")),  # 8 children and more
)

WEEKDAYS_FR = ("Lundi", "Mardi", "Mercredi", "Jeudi", "Vendredi", "Samedi", "Dimanche")


class RuleError(ValueError):
    """Bad input detected by a rule: the service turns it into a ValidationError."""

    def __init__(self, message: str, code: str, field: str | None = None) -> None:
        super().__init__(message)
        self.message, self.code, self.field = message, code, field


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
    plafonds: tuple[tuple[date, date | None, int], ...] = PLAFONDS
    planchers: tuple[tuple[date, date | None, int], ...] = PLANCHERS

    @classmethod
    def from_dict(cls, raw: dict[str, Any]) -> Config:
        kwargs: dict[str, Any] = {}
        for name in ("cancellation_delay_days", "carence_days", "overtime_rounding_minutes",
                     "overtime_tolerance_minutes", "slot_minutes", "default_capacity",
                     "default_weeks_per_year"):
            if name in raw:
                kwargs[name] = int(raw[name])
        if "default_opening" in raw:
            kwargs["default_opening"] = tuple(raw["default_opening"])
        for name in ("plafonds", "planchers"):
            if name in raw:  # [{start="2026-01-01", end="", cents=81000}, …]
                kwargs[name] = tuple(
                    (date.fromisoformat(r["start"]), date.fromisoformat(r["end"]) if r.get("end") else None,
                     int(r["cents"])) for r in raw[name])
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


def children_for_rate(dependent_children: int, has_aeeh: bool) -> int:
    """A child with AEEH in the household counts as one more dependent child (CNAF)."""
    return max(1, dependent_children) + (1 if has_aeeh else 0)


def taux_effort(children: int) -> Decimal:
    rate = TAUX_EFFORT_COLLECTIF[0][1]
    for threshold, value in TAUX_EFFORT_COLLECTIF:
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


def hourly_fee_cents(annual_cents: int | None, dependent_children: int, has_aeeh: bool, on: date,
                     config: Config = Config()) -> int:
    """PSU hourly fee in cents, rounded to the cent (ROUND_HALF_UP)."""
    monthly = Decimal(monthly_resources_cents(annual_cents, on, config))
    rate = taux_effort(children_for_rate(dependent_children, has_aeeh))
    return int((monthly * rate).quantize(Decimal(1), rounding=ROUND_HALF_UP))


# ---- schedule and mensualisation ----------------------------------------------------------------------
Schedule = dict[int, tuple[int, int]]  # weekday (0 = Monday) -> (arrival, departure) in minutes


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
    ILLNESS = "maladie"
    HOSPITALISATION = "hospitalisation"
    CLOSURE = "fermeture"
    OTHER = "autre"
    ALL = (ILLNESS, HOSPITALISATION, CLOSURE, OTHER)


def check_period(start_day: date, end_day: date, start_time: int, end_time: int) -> None:
    if end_day < start_day or (end_day == start_day and end_time <= start_time):
        raise RuleError("La fin de l'absence doit suivre son début.", "INVALID_PERIOD", "toDate")


def absence_kind(start_day: date, today: date, config: Config = Config()) -> str:
    """Reported at least `cancellation_delay_days` before the first day: an annulation (not billed
    for occasional care, and the day is freed). Later: an absence report (« signaler une absence »)."""
    return "cancellation" if (start_day - today).days >= config.cancellation_delay_days else "absence"


def deductible_days(motive: str, has_certificate: bool, start_day: date, end_day: date,
                    config: Config = Config()) -> set[date]:
    """Calendar days of an absence whose hours are deducted from the mensualised fee (CNAF):
    hospitalisation (from day 1), illness with a medical certificate beyond the carence days
    (the first `carence_days` calendar days stay billed), closure of the crèche. Nothing else."""
    days = {start_day + timedelta(days=i) for i in range((end_day - start_day).days + 1)}
    if motive in (Motive.HOSPITALISATION, Motive.CLOSURE):
        return days
    if motive == Motive.ILLNESS and has_certificate:
        first_deducted = start_day + timedelta(days=config.carence_days)
        return {d for d in days if d >= first_deducted}
    return set()


def deduction_reason(motive: str, has_certificate: bool, start_day: date, end_day: date,
                     config: Config = Config()) -> str:
    """Why a validated absence is (or is not) deducted from the monthly fee, in the family's words.
    Mirrors `deductible_days`: hospitalisation and closure from day 1, illness with a certificate
    after `carence_days` calendar days, anything else stays billed."""
    if motive == Motive.HOSPITALISATION:
        return "Hospitalisation : les heures sont déduites dès le premier jour."
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
    open_days: set[date]  # days the crèche is open this month
    attendance: dict[date, tuple[int, int]] = field(default_factory=dict)
    deducted_days: set[date] = field(default_factory=set)  # validated deductible absence days


def contract_month_lines(m: MonthInput, config: Config = Config()) -> list[BillLine]:
    days = month_days(m.year, m.month)
    covered = [d for d in days if d >= m.contract_start and (m.contract_end is None or d <= m.contract_end)]
    open_covered = [d for d in covered if d in m.open_days]
    label = f"{m.month:02d}/{m.year}"
    lines: list[BillLine] = []
    fee = prorated_fee_cents(m.monthly_fee_cents, len(m.open_days), len(open_covered))
    if fee:
        partial = len(open_covered) < len(m.open_days)
        designation = f"Mensualisation {label}" + (
            f" (prorata {len(open_covered)}/{len(m.open_days)} jours d'ouverture)" if partial else "")
        lines.append(BillLine("fee", designation, Decimal(1), fee, fee))
    extra = 0
    for d in covered:
        if d in m.attendance:
            arrival, departure = m.attendance[d]
            extra += round_up(overtime_minutes(m.schedule.get(d.weekday()), arrival, departure),
                              config.overtime_rounding_minutes)
    if extra:
        hours = (Decimal(extra) / 60).quantize(CENT)
        amount = int((hours * m.hourly_fee_cents).quantize(Decimal(1), rounding=ROUND_HALF_UP))
        lines.append(BillLine("overtime", f"Dépassements {label}", hours, m.hourly_fee_cents, amount))
    minutes = sum(m.schedule[d.weekday()][1] - m.schedule[d.weekday()][0]
                  for d in open_covered if d in m.deducted_days and d.weekday() in m.schedule)
    if minutes:
        hours = (Decimal(minutes) / 60).quantize(CENT)
        amount = int((hours * m.hourly_fee_cents).quantize(Decimal(1), rounding=ROUND_HALF_UP))
        lines.append(BillLine("deduction", f"Déductions absences {label}", hours, -m.hourly_fee_cents, -amount))
    return lines
