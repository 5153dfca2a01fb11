"""ALSH / PAJ use cases: the booking wizard, copy mode, planning, cancellation, waiting list,
staff processing, day lists and attendance, billing lines. Every function checks permissions
and writes inside a transaction. Capacity, deadlines, ownership and amounts are decided here.

No overbooking: each (unit, day) has a counter row; a place is taken by one conditional UPDATE
(`taken = taken + 1 WHERE taken < capacity`), which PostgreSQL serialises on the row lock and
re-checks after the lock, so concurrent requests for the last places never exceed the capacity.
"""

from __future__ import annotations

import logging
from collections import defaultdict
from dataclasses import dataclass, field
from datetime import date, timedelta
from typing import Any

from tortoise.exceptions import IntegrityError
from tortoise.expressions import F, Q, Subquery
from tortoise.transactions import in_transaction

from core import calendar
from core.compiled_query import CompiledQuery
from core.config import get_settings
from core.db import lock_rows
from core.errors import Conflict, Forbidden, NotFound, PortailError, ValidationError
from core.households.models import AuditLog, AuthorizedPerson, Child, Household
from core.mail.service import queue_mail
from core.permissions import Actor, require_confirmed, require_staff, require_user
from core.rgpd.rules import RetentionPolicy
from core.rgpd.walk import export_tables
from core.timeutil import month_bounds, now, today
from plugins.alsh_paj import rules
from plugins.alsh_paj.models import (
    AlshBooking,
    AlshBookingLine,
    AlshChildLink,
    AlshClosedDay,
    AlshDayCounter,
    AlshEstablishment,
    AlshLineEvent,
    AlshMode,
    AlshPeriod,
    AlshSequence,
    AlshUnit,
    LineState,
)

log = logging.getLogger(__name__)
PLUGIN = "alsh_paj"
NO_PLACE = "Aucune place disponible"
BILLABLE = (LineState.ACCEPTEE, LineState.DEMANDE_ANNULATION, LineState.ANNULEE)


def config() -> dict[str, Any]:
    """`[plugin.alsh_paj]` with defaults: waiting_list, unpaid_threshold_cents (0 = off),
    absence_justification_days, booking_sequence."""
    cfg = {"waiting_list": True, "unpaid_threshold_cents": 0, "absence_justification_days": 3,
           "check_prerequisites": True}
    cfg.update(get_settings().plugin_config(PLUGIN))
    return cfg


class PrerequisitesMissing(PortailError):
    code = "PREREQUISITES_MISSING"


@dataclass
class Selection:
    date: date
    unit_id: int


@dataclass
class PreparedLine:
    date: date
    unit: AlshUnit
    remaining: int  # places left before this request (the outcome may still change on submit)

    @property
    def expected_state(self) -> str:
        return "place_disponible" if self.remaining > 0 else "liste_attente"


@dataclass
class Prepared:
    child: Child
    period: AlshPeriod
    lines: list[PreparedLine]
    household_id: int
    units: dict[int, AlshUnit] = field(default_factory=dict)
    on_behalf: bool = False  # an agent books for the household (issue 14.1)
    override_reason: str = ""
    overrides: list[str] = field(default_factory=list)  # codes of the rules the agent passed


@dataclass
class DayInfo:
    date: date
    closed_label: str = ""
    units: list[tuple[AlshUnit, int]] = field(default_factory=list)  # (unit, remaining places)
    booked: list[AlshBookingLine] = field(default_factory=list)


# ---- access helpers -------------------------------------------------------------------------
def _family_household(actor: Actor) -> int:
    require_user(actor)
    if actor.household_id is None:
        raise NotFound("foyer")
    return actor.household_id


async def _booking_household(actor: Actor, household_id: int | None) -> int:
    """The household a booking is for: the caller's own (family), or `household_id` for an agent booking on a
    family's behalf (issue 14.1). A family naming a household is FORBIDDEN; a missing household NOT_FOUND.
    Which service the agent belongs to is checked against the period's establishment by the caller."""
    if household_id is None:
        return _family_household(actor)
    require_staff_of_alsh(actor)
    if not await Household.exists(id=household_id):
        raise NotFound("foyer")
    return household_id


async def _bookable_child(actor: Actor, child_id: int, household_id: int | None = None) -> Child:
    """A child of the booking household, or one linked to it (garde alternée). Others: NotFound."""
    household_id = await _booking_household(actor, household_id)
    child = await Child.get_or_none(id=child_id)
    if child is None:
        raise NotFound("enfant")
    if child.household_id != household_id and not await AlshChildLink.exists(  # type: ignore[attr-defined]
            child_id=child_id, household_id=household_id):
        raise NotFound("enfant")
    return child


async def _period(period_id: int) -> AlshPeriod:
    period = await AlshPeriod.get_or_none(id=period_id).select_related("mode__establishment")
    if period is None:
        raise NotFound("période")
    return period


def _staff_services(actor: Actor) -> set[str] | None:
    """None = every service (admin)."""
    require_staff(actor)
    return None if actor.is_admin else set(actor.services)


def _require_staff_of(actor: Actor, establishment: AlshEstablishment, what: str = "établissement") -> None:
    services = _staff_services(actor)
    if services is not None and establishment.service_code not in services:
        # An agent of another service does not learn that the object exists: the answer names the
        # object asked for, exactly like a missing one.
        raise NotFound(what)


async def _closed_days(establishment_id: int, start: date, end: date) -> dict[date, str]:
    rows = await AlshClosedDay.filter(establishment_id=establishment_id, date__gte=start, date__lte=end)
    closed = {r.date: r.label for r in rows}
    for day in calendar.public_holidays_between(start, end, calendar.community_subdivision()):
        closed.setdefault(day, "Férié")
    return closed


async def open_days(period: AlshPeriod) -> list[date]:
    closed = await _closed_days(period.mode.establishment_id, period.start_date, period.end_date)  # type: ignore[attr-defined]
    return rules.bookable_days(period.start_date, period.end_date, period.weekdays or [], closed,
                               calendar.community_subdivision())


async def ensure_counters(unit: AlshUnit, days: list[date]) -> None:
    """Create the missing (unit, day) counter rows (idempotent)."""
    existing = set(await AlshDayCounter.filter(unit_id=unit.id, date__in=days).values_list("date", flat=True))
    missing = [AlshDayCounter(unit_id=unit.id, date=d, capacity=unit.capacity, taken=0)
               for d in days if d not in existing]
    if missing:
        await AlshDayCounter.bulk_create(missing, ignore_conflicts=True)


async def _remaining(unit_ids: list[int], days: list[date], units: dict[int, AlshUnit]) -> dict[tuple[int, date], int]:
    rows = await AlshDayCounter.filter(unit_id__in=unit_ids, date__in=days)
    left = {(u, d): units[u].capacity for u in unit_ids for d in days}
    for r in rows:
        left[(r.unit_id, r.date)] = max(0, r.capacity - r.taken)  # type: ignore[attr-defined]
    return left


# ---- set-up (staff / demo / tests) ----------------------------------------------------------
async def create_unit(period: AlshPeriod, code: str, name: str, capacity: int, tariff: dict[str, Any] | None = None,
                      excludes: list[str] | None = None, requires: list[str] | None = None,
                      billing_label: str = "") -> AlshUnit:
    """Create a unit and its counter rows for every open day of the period."""
    if capacity < 0:
        raise ValidationError("La capacité doit être positive.", code="INVALID_CAPACITY", field="capacity")
    if tariff:
        from core.billing.rules import TariffConfigError, tariff_grid_from_config

        try:
            tariff_grid_from_config(tariff)
        except TariffConfigError as exc:
            raise ValidationError(str(exc), code="INVALID_TARIFF", field="tariff") from None
    unit = await AlshUnit.create(period=period, code=code, name=name, capacity=capacity, tariff=tariff or {},
                                 excludes=excludes or [], requires=requires or [], billing_label=billing_label)
    if not hasattr(period, "mode") or not isinstance(period.mode, AlshMode):
        period = await _period(period.id)
    await ensure_counters(unit, await open_days(period))
    return unit


async def link_child(actor: Actor, child_id: int, household_id: int) -> AlshChildLink:
    """Staff: allow another household to book for a child (garde alternée)."""
    require_staff_of_alsh(actor)
    child = await Child.get_or_none(id=child_id)
    other = await Household.get_or_none(id=household_id)
    if child is None:
        raise NotFound("enfant")
    if other is None:
        raise NotFound("foyer")
    if child.household_id == household_id:  # type: ignore[attr-defined]
        raise ValidationError("L'enfant appartient déjà à ce foyer.", code="SAME_HOUSEHOLD", field="householdId")
    link, _ = await AlshChildLink.get_or_create(child_id=child_id, household_id=household_id)
    return link


def require_staff_of_alsh(actor: Actor) -> None:
    services = _staff_services(actor)
    if services is not None and not (services & _alsh_service_codes()):
        raise Forbidden()


# ---- staff: establishments, modes, periods, units, closed days -------------------------------
def _alsh_service_codes() -> set[str]:
    """Services whose establishments this plugin runs: `[plugin.alsh_paj] services`, or by
    default every service of kind "alsh" or "paj"."""
    configured = config().get("services")
    if configured:
        return set(configured)
    return {s.code for s in get_settings().services if s.kind in ("alsh", "paj")}


async def _establishment_for_staff(actor: Actor, establishment_id: int) -> AlshEstablishment:
    establishment = await AlshEstablishment.get_or_none(id=establishment_id)
    if establishment is None:
        raise NotFound("établissement")
    _require_staff_of(actor, establishment)
    return establishment


async def create_establishment(actor: Actor, name: str, service_code: str, address: str = "") -> AlshEstablishment:
    if service_code not in _alsh_service_codes():
        raise ValidationError("Service inconnu.", code="UNKNOWN_SERVICE", field="serviceCode")
    require_staff(actor, service_code)
    if not name.strip():
        raise ValidationError("Le nom est obligatoire.", code="REQUIRED", field="name")
    return await AlshEstablishment.create(name=name.strip(), service_code=service_code, address=address)


async def create_mode(actor: Actor, establishment_id: int, name: str, kind: str = "mercredis") -> AlshMode:
    establishment = await _establishment_for_staff(actor, establishment_id)
    if not name.strip():
        raise ValidationError("Le nom est obligatoire.", code="REQUIRED", field="name")
    return await AlshMode.create(establishment=establishment, name=name.strip(), kind=kind)


@dataclass
class PeriodInput:
    mode_id: int
    name: str
    start_date: date
    end_date: date
    opens_at: Any
    closes_at: Any
    weekdays: list[int]
    cancel_days_before: int = 2
    cancel_time: str = "12:00"
    cancel_working_days: bool = False
    min_age: int = 3
    max_age: int = 12
    auto_accept: bool = False


async def create_period(actor: Actor, data: PeriodInput) -> AlshPeriod:
    mode = await AlshMode.get_or_none(id=data.mode_id).select_related("establishment")
    if mode is None:
        raise NotFound("mode d'accueil")
    _require_staff_of(actor, mode.establishment)
    _check_period(data)
    period = await AlshPeriod.create(mode=mode, name=data.name.strip() or "Période", start_date=data.start_date,
                                     end_date=data.end_date, weekdays=sorted(set(data.weekdays)),
                                     opens_at=data.opens_at, closes_at=data.closes_at,
                                     cancel_days_before=data.cancel_days_before, cancel_time=data.cancel_time,
                                     cancel_working_days=data.cancel_working_days, min_age=data.min_age,
                                     max_age=data.max_age, auto_accept=data.auto_accept)
    return await _period(period.id)


MAX_PERIOD_DAYS = 400  # a school year and its summer: a longer range is a typing error (and days × units rows)


def _check_period(data: PeriodInput) -> None:
    if data.end_date < data.start_date:
        raise ValidationError("La fin précède le début.", code="INVALID_RANGE", field="endDate")
    if (data.end_date - data.start_date).days > MAX_PERIOD_DAYS:
        raise ValidationError(f"Une période dure au plus {MAX_PERIOD_DAYS} jours.", code="INVALID_RANGE",
                              field="endDate")
    if data.closes_at <= data.opens_at:
        raise ValidationError("La fermeture des réservations précède leur ouverture.", code="INVALID_WINDOW",
                              field="closesAt")
    if not data.weekdays or any(w not in range(1, 8) for w in data.weekdays):
        raise ValidationError("Jours d'ouverture invalides (1 = lundi … 7 = dimanche).", code="INVALID_WEEKDAY",
                              field="weekdays")
    if data.min_age < 0 or data.max_age < data.min_age:
        raise ValidationError("Tranche d'âge invalide.", code="INVALID_AGE_RANGE", field="maxAge")
    try:
        rules.parse_hhmm(data.cancel_time)
    except ValueError:
        raise ValidationError("Heure limite invalide (HH:MM).", code="INVALID_TIME", field="cancelTime") from None
    if data.cancel_days_before < 0:
        raise ValidationError("Délai d'annulation invalide.", code="INVALID_DEADLINE", field="cancelDaysBefore")


# ---- staff: editing after creation (issue 14.2) ---------------------------------------------------
# Names, addresses, kinds, labels, tariffs, same-day rules, ages, windows and cancellation rules change
# nothing already booked (a tariff applies to the days billed after the change). What can take a booked
# day away — a period's dates or weekdays — is previewed (`dry_run`) and applied only with an explicit
# choice for the lines affected: KEEP them, or CANCEL them (place freed, never billed, family mailed).
KEEP, CANCEL = "keep", "cancel"


def _required_name(value: str | None, field_name: str = "name") -> str | None:
    if value is None:
        return None
    if not value.strip():
        raise ValidationError("Le nom est obligatoire.", code="REQUIRED", field=field_name)
    return value.strip()


async def update_establishment(actor: Actor, establishment_id: int, name: str | None = None,
                               address: str | None = None) -> AlshEstablishment:
    async with in_transaction():
        establishment = await _establishment_for_staff(actor, establishment_id)
        await lock_rows(AlshEstablishment, [establishment.id])
        before = {"name": establishment.name, "address": establishment.address}
        if name is not None:
            establishment.name = _required_name(name) or establishment.name
        if address is not None:
            establishment.address = address.strip()
        await establishment.save(update_fields=["name", "address"])
        await audit(actor, "alsh_establishment_updated", "alsh_establishment", establishment.id, None,
                    {"before": before, "after": {"name": establishment.name, "address": establishment.address}})
    return establishment


async def update_mode(actor: Actor, mode_id: int, name: str | None = None, kind: str | None = None) -> AlshMode:
    async with in_transaction():
        mode = await AlshMode.get_or_none(id=mode_id).select_related("establishment")
        if mode is None:
            raise NotFound("mode d'accueil")
        _require_staff_of(actor, mode.establishment, "mode d'accueil")
        before = {"name": mode.name, "kind": mode.kind}
        if name is not None:
            mode.name = _required_name(name) or mode.name
        if kind is not None:
            mode.kind = kind
        await mode.save(update_fields=["name", "kind"])
        await audit(actor, "alsh_mode_updated", "alsh_mode", mode.id, None,
                    {"before": before, "after": {"name": mode.name, "kind": mode.kind}})
    return mode


_UNSET: Any = object()


async def update_unit(actor: Actor, unit_id: int, *, name: str | None = None, billing_label: str | None = None,
                      tariff: Any = _UNSET, excludes: list[str] | None = None,
                      requires: list[str] | None = None) -> AlshUnit:
    """A unit's name, invoice label, tariff (for the days billed from now on) and same-day rules (for
    new requests). Lines already booked are kept as they are. Capacity: `set_capacity`."""
    async with in_transaction():
        unit = await AlshUnit.get_or_none(id=unit_id).select_related("period__mode__establishment")
        if unit is None:
            raise NotFound("prestation")
        _require_staff_of(actor, unit.period.mode.establishment, "prestation")
        await lock_rows(AlshUnit, [unit.id])
        before = {"name": unit.name, "billing_label": unit.billing_label, "tariff": unit.tariff,
                  "excludes": unit.excludes, "requires": unit.requires}
        if name is not None:
            unit.name = _required_name(name) or unit.name
        if billing_label is not None:
            unit.billing_label = billing_label.strip()
        if tariff is not _UNSET:
            if tariff:
                from core.billing.rules import TariffConfigError, tariff_grid_from_config

                try:
                    tariff_grid_from_config(tariff)
                except TariffConfigError as exc:
                    raise ValidationError(str(exc), code="INVALID_TARIFF", field="tariff") from None
            unit.tariff = tariff or {}
        if excludes is not None:
            unit.excludes = [c.strip().upper() for c in excludes if c.strip()]
        if requires is not None:
            unit.requires = [c.strip().upper() for c in requires if c.strip()]
        await unit.save(update_fields=["name", "billing_label", "tariff", "excludes", "requires"])
        await audit(actor, "alsh_unit_updated", "alsh_unit", unit.id, None, {"before": before, "after": {
            "name": unit.name, "billing_label": unit.billing_label, "tariff": unit.tariff,
            "excludes": unit.excludes, "requires": unit.requires}})
    return unit


@dataclass
class PeriodChange:
    period: AlshPeriod
    affected: list[AlshBookingLine]  # active lines from today on whose day the change takes away
    applied: bool
    choice: str | None


def _period_input_of(period: AlshPeriod, changes: dict[str, Any]) -> PeriodInput:
    current = PeriodInput(mode_id=period.mode.id, name=period.name, start_date=period.start_date,
                          end_date=period.end_date, opens_at=period.opens_at, closes_at=period.closes_at,
                          weekdays=list(period.weekdays or []), cancel_days_before=period.cancel_days_before,
                          cancel_time=period.cancel_time, cancel_working_days=period.cancel_working_days,
                          min_age=period.min_age, max_age=period.max_age, auto_accept=period.auto_accept)
    for key, value in changes.items():
        if value is not None:
            setattr(current, key, value)
    return current


async def update_period(actor: Actor, period_id: int, changes: dict[str, Any], choice: str | None = None,
                        dry_run: bool = False) -> PeriodChange:
    """Change a period (dates, weekdays = its opening days, window, ages, cancellation rule, name).

    The lines a change takes away (active, from today on, on a day no longer open) are returned; with
    `dry_run` nothing is written. Otherwise, if there are any, `choice` must say what they become: KEEP
    (booked as before, outside the new calendar) or CANCEL (cancelled in time: never billed, place freed,
    one mail per booking). Audited with the changes, the lines and the choice."""
    async with in_transaction():
        await lock_rows(AlshPeriod, [period_id])  # two changes of one period apply one after the other
        period = await _period(period_id)
        _require_staff_of(actor, period.mode.establishment, "période")
        data = _period_input_of(period, changes)
        _check_period(data)
        closed = await _closed_days(period.mode.establishment_id, data.start_date, data.end_date)  # type: ignore[attr-defined]
        open_after = set(rules.bookable_days(data.start_date, data.end_date, data.weekdays, closed,
                                             calendar.community_subdivision()))
        lines = await AlshBookingLine.filter(booking__period_id=period.id, state__in=LineState.ACTIVE,
                                             date__gte=today()) \
            .select_related("unit", "booking__child", "booking__period__mode__establishment").order_by("date", "id")
        affected = [ln for ln in lines if ln.date not in open_after]
        if dry_run:
            return PeriodChange(period, affected, False, choice)
        if affected and choice is None:
            raise Conflict(f"{len(affected)} réservation(s) tombent hors de la période modifiée : choisissez de "
                           "les conserver ou de les annuler.", code="AFFECTED_LINES_CHOICE_REQUIRED",
                           field="affectedLines", details={"affectedLineCount": len(affected)})
        before = {k: _jsonable(getattr(period, k)) for k in changes if changes[k] is not None}
        for key in ("name", "start_date", "end_date", "opens_at", "closes_at", "cancel_days_before", "cancel_time",
                    "cancel_working_days", "min_age", "max_age", "auto_accept"):
            setattr(period, key, getattr(data, key))
        period.name = data.name.strip() or period.name
        period.weekdays = sorted(set(data.weekdays))
        await period.save()
        units = await AlshUnit.filter(period_id=period.id)
        days = sorted(open_after)
        for unit in units:
            await ensure_counters(unit, days)
        if affected and choice == CANCEL:
            await _lock_lines([ln.id for ln in affected])
            by_booking: dict[int, list[AlshBookingLine]] = defaultdict(list)
            # waiting lines first: a place freed on a removed day must not promote one of them
            for ln in sorted(affected, key=lambda x: x.state != LineState.LISTE_ATTENTE):
                await _set_state(ln, LineState.ANNULEE, actor, "Jour retiré de la période par le service",
                                 cancelled_in_time=True)
                await _free(ln, actor)
                by_booking[ln.booking.id].append(ln)
            for booking_lines in by_booking.values():
                await _mail_booking(booking_lines[0].booking, "booking_changed",
                                    {"cancelled": booking_lines, "change": f"la période « {period.name} »"})
        await audit(actor, "alsh_period_updated", "alsh_period", period.id, None, {
            "before": before, "after": {k: _jsonable(getattr(period, k)) for k in before},
            "affected_lines": [ln.id for ln in affected], "choice": choice})
        return PeriodChange(await _period(period.id), affected, True, choice)


def _jsonable(value: Any) -> Any:
    return value.isoformat() if hasattr(value, "isoformat") else value


async def add_unit(actor: Actor, period_id: int, code: str, name: str, capacity: int,
                   tariff: dict[str, Any] | None, excludes: list[str], requires: list[str],
                   billing_label: str = "") -> AlshUnit:
    period = await _period(period_id)
    _require_staff_of(actor, period.mode.establishment)
    code = code.strip().upper()
    if not code or not name.strip():
        raise ValidationError("Code et nom sont obligatoires.", code="REQUIRED", field="code")
    duplicate = ValidationError("Ce code existe déjà pour la période.", code="DUPLICATE_CODE", field="code")
    if await AlshUnit.exists(period_id=period.id, code=code):
        raise duplicate
    try:
        async with in_transaction():
            return await create_unit(period, code, name.strip(), capacity, tariff, excludes, requires,
                                     billing_label)
    except IntegrityError:
        # Two requests with the same code passed the check above together: the unique (period, code)
        # refuses the second, which gets the same answer as if it had come after.
        raise duplicate from None


async def set_capacity(actor: Actor, unit_id: int, capacity: int) -> AlshUnit:
    """Change a unit's capacity; places opened go to the waiting lists at once."""
    unit = await AlshUnit.get_or_none(id=unit_id).select_related("period__mode__establishment")
    if unit is None:
        raise NotFound("prestation")
    _require_staff_of(actor, unit.period.mode.establishment)
    if capacity < 0:
        raise ValidationError("La capacité doit être positive.", code="INVALID_CAPACITY", field="capacity")
    async with in_transaction():
        unit.capacity = capacity
        await unit.save(update_fields=["capacity"])
        await AlshDayCounter.filter(unit_id=unit.id).update(capacity=capacity)
        days = await AlshBookingLine.filter(unit_id=unit.id, state=LineState.LISTE_ATTENTE,
                                            date__gte=today()).distinct().values_list("date", flat=True)
        for day in sorted(set(days)):
            while await _promote_waiting(unit.id, day, actor):
                pass
    return unit


async def add_closed_day(actor: Actor, establishment_id: int, day: date, label: str = "Fermé",
                         cancel_bookings: bool = False) -> AlshClosedDay:
    """Close a day. Its active lines are never left on a closed day nor cancelled silently: without
    `cancel_bookings` the closing is refused (DAY_HAS_BOOKINGS, with their count); with it they are
    cancelled in time (never billed, places freed) and each family is mailed. Under the row locks of the day's (unit, day) counters, the same locks a booking takes
    (`_lock_days`): a booking racing the closing is either seen here (DAY_HAS_BOOKINGS) or sees the
    closed day (DAY_NOT_BOOKABLE). Two closings of one establishment queue on its row."""
    establishment = await _establishment_for_staff(actor, establishment_id)
    async with in_transaction():
        await lock_rows(AlshEstablishment, [establishment.id])
        units = await AlshUnit.filter(period__mode__establishment_id=establishment.id, period__start_date__lte=day,
                                      period__end_date__gte=day)
        for unit in units:
            await ensure_counters(unit, [day])
        ids = await AlshDayCounter.filter(unit_id__in=[u.id for u in units] or [0], date=day) \
            .values_list("id", flat=True)
        await lock_rows(AlshDayCounter, list(ids))
        lines = await AlshBookingLine.filter(date=day, state__in=LineState.ACTIVE,
                                             booking__period__mode__establishment_id=establishment.id) \
            .select_related("unit", "booking").order_by("id")
        if lines and not cancel_bookings:
            raise Conflict("Des réservations existent ce jour-là : traitez-les ou annulez-les en fermant.",
                           code="DAY_HAS_BOOKINGS", field="date", details={"affectedLineCount": len(lines)})
        row, created = await AlshClosedDay.get_or_create(establishment=establishment, date=day,
                                                         defaults={"label": label or "Fermé"})
        if lines:
            await _lock_lines([ln.id for ln in lines])
            by_booking: dict[int, list[AlshBookingLine]] = defaultdict(list)
            # waiting lines first: a place freed that day must not promote one of them
            for ln in sorted(lines, key=lambda x: x.state != LineState.LISTE_ATTENTE):
                await _set_state(ln, LineState.ANNULEE, actor, f"Fermeture : {row.label}"[:300],
                                 cancelled_in_time=True)
                await _free(ln, actor)
                by_booking[ln.booking.id].append(ln)
            for booking_lines in by_booking.values():
                await _mail_booking(booking_lines[0].booking, "booking_changed",
                                    {"cancelled": booking_lines, "change": f"l'ouverture du {day:%d/%m/%Y} ({row.label})"})
        if created or lines:
            await audit(actor, "alsh_closed_day", "alsh_establishment", establishment.id, None,
                        {"date": day.isoformat(), "label": row.label, "cancelled_lines": [ln.id for ln in lines]})
    return row


# ---- family: wizard -------------------------------------------------------------------------
async def bookable_children(actor: Actor, household_id: int | None = None) -> list[tuple[Child, bool]]:
    """Children of the household, then children linked to it (flag True). An agent names the household."""
    household_id = await _booking_household(actor, household_id)
    own = await Child.filter(household_id=household_id).order_by("birth_date", "id")
    linked_ids = await AlshChildLink.filter(household_id=household_id).values_list("child_id", flat=True)
    linked = await Child.filter(id__in=list(linked_ids)).order_by("id") if linked_ids else []
    return [(c, False) for c in own] + [(c, True) for c in linked]


async def offers(actor: Actor, child_id: int, household_id: int | None = None) -> list[AlshPeriod]:
    """Periods open to this child now: booking window open, age within the period's range. For an agent
    booking on a family's behalf: the periods of the agent's services, window open or not (the agent may
    pass the window with a reason), past ones excluded."""
    child = await _bookable_child(actor, child_id, household_id)
    at = now()
    query = AlshPeriod.filter(opens_at__lte=at, closes_at__gt=at, end_date__gte=today())
    if household_id is not None:
        services = _staff_services(actor)
        query = AlshPeriod.all() if services is None else \
            AlshPeriod.filter(mode__establishment__service_code__in=list(services))
    periods = await query.select_related("mode__establishment").order_by("start_date", "id")
    return [p for p in periods if rules.age_allowed(child.birth_date, p.start_date, p.min_age, p.max_age)]


async def period_days(actor: Actor, child_id: int, period_id: int,
                      household_id: int | None = None) -> tuple[AlshPeriod, list[DayInfo]]:
    """The period's calendar for the child: open days, closed days with their label, places left
    per unit, and the child's existing lines."""
    child = await _bookable_child(actor, child_id, household_id)
    period = await _period(period_id)
    if household_id is not None:
        _require_staff_of(actor, period.mode.establishment, "période")
    closed = await _closed_days(period.mode.establishment_id, period.start_date, period.end_date)  # type: ignore[attr-defined]
    days = rules.bookable_days(period.start_date, period.end_date, period.weekdays or [], closed,
                               calendar.community_subdivision())
    units = {u.id: u for u in await AlshUnit.filter(period_id=period.id).order_by("id")}
    left = await _remaining(list(units), days, units)
    lines = await AlshBookingLine.filter(booking__child_id=child.id, booking__period_id=period.id) \
        .select_related("unit").order_by("date", "id")
    by_day: dict[date, list[AlshBookingLine]] = defaultdict(list)
    for line in lines:
        by_day[line.date].append(line)
    out = [DayInfo(date=d, units=[(u, left[(u.id, d)]) for u in units.values()], booked=by_day.get(d, []))
           for d in days]
    weekdays = set(period.weekdays or [1, 2, 3, 4, 5])
    out += [DayInfo(date=d, closed_label=label) for d, label in closed.items()
            if d.isoweekday() in weekdays]
    return period, sorted(out, key=lambda x: x.date)


async def check_prerequisites(child: Child, household_id: int, regie_code: str = "", *,
                              may_override: bool = False, overriding: bool = False) -> list[str]:
    """Email confirmed is checked by the caller; here: the child's file complete, the documents
    "alsh_paj" requires accepted (core households / documents services), and, when
    `unpaid_threshold_cents` is set, the booking household's unpaid balance at the régie.

    An agent booking for a family (`may_override`) may pass two of them with a reason (`overriding`):
    documents sent but still pending validation (nothing missing or refused), and the unpaid balance.
    Without a reason the error carries `overridable: true`. Returns the codes passed."""
    cfg = config()
    passed: list[str] = []
    missing: list[dict[str, str]] = []
    if cfg.get("check_prerequisites", True):
        try:
            from core.households.service import child_file_problems
        except ImportError:  # households service absent (older core): nothing to check
            child_file_problems = None
        if child_file_problems is not None:
            for problem in await child_file_problems(child.id) or []:
                missing.append({"kind": "child_file", "code": str(getattr(problem, "code", "CHILD_FILE")),
                                "label": str(getattr(problem, "message", problem))})
        try:
            from core.documents.service import missing_documents
        except ImportError:  # documents service absent (older core): nothing to check
            missing_documents = None
        if missing_documents is not None:
            for doc in await missing_documents(child.household_id, PLUGIN, child.id) or []:  # type: ignore[attr-defined]
                code = getattr(doc, "type_code", None) or getattr(doc, "code", None) or str(doc)
                label = getattr(doc, "label", None) or str(code)
                status = getattr(doc, "status", "missing")
                missing.append({"kind": "document", "code": str(code), "label": str(label), "status": str(status)})
    if missing:
        pending_only = all(m["kind"] == "document" and m.get("status") == "pending" for m in missing)
        if not (pending_only and may_override and overriding):
            details: dict[str, Any] = {"missing": missing}
            if pending_only and may_override:
                details["overridable"] = True
            raise PrerequisitesMissing(rules.prerequisites_message(missing), details=details)
        passed.append(PrerequisitesMissing.code)
    threshold = int(cfg.get("unpaid_threshold_cents") or 0)
    if threshold > 0 and regie_code:
        try:
            from core.billing.service import unpaid_invoices
        except ImportError:  # billing service absent (older core): no unpaid check
            return
        invoices = await unpaid_invoices(regie_code, [household_id]) or []
        due = sum(int(getattr(inv, "balance_cents", 0)) for inv in invoices)
        if due > threshold:
            if may_override and overriding:
                passed.append("UNPAID_BALANCE")
                return passed
            raise ValidationError("Votre solde impayé ne permet pas de nouvelle réservation : "
                                  "contactez le service.", code="UNPAID_BALANCE",
                                  details={"dueCents": due, "thresholdCents": threshold,
                                           **({"overridable": True} if may_override else {})})
    return passed


def _parse_selections(selections: list[Selection]) -> list[Selection]:
    if not selections:
        raise ValidationError("Choisissez au moins un jour.", code="EMPTY_SELECTION", field="selections")
    seen: set[tuple[date, int]] = set()
    out = []
    for s in selections:
        key = (s.date, int(s.unit_id))
        if key in seen:
            continue
        seen.add(key)
        out.append(Selection(date=s.date, unit_id=int(s.unit_id)))
    if len(out) > 400:
        raise ValidationError("Trop de jours demandés.", code="TOO_MANY_SELECTIONS", field="selections")
    return sorted(out, key=lambda s: (s.date, s.unit_id))


async def prepare(actor: Actor, child_id: int, period_id: int, selections: list[Selection],
                  *, child: Child | None = None, household_id: int | None = None,
                  override_reason: str | None = None) -> Prepared:
    """Every check of a booking, no write: the « Récapitulatif » and the first half of submit.

    With `household_id`, an agent of the establishment's service (or an admin) books on the family's
    behalf (issue 14.1): the same rules, but the agent may pass, with `override_reason` (audited), the
    booking window, documents pending validation, the unpaid balance and a past day (back-fill).
    Capacity, closed days, age, missing or refused documents and the same-day unit rules are never passed.
    A family giving an override reason is FORBIDDEN."""
    on_behalf = household_id is not None
    reason = (override_reason or "").strip()
    if override_reason is not None and not on_behalf:
        raise Forbidden("Seul un agent du service peut passer outre une règle de réservation.")
    require_confirmed(actor)
    booking_household = await _booking_household(actor, household_id)
    child = child or await _bookable_child(actor, child_id, household_id)
    period = await _period(period_id)
    if on_behalf:
        _require_staff_of(actor, period.mode.establishment, "période")
    overrides: list[str] = []

    def passable(error: PortailError) -> None:
        """A rule an agent may pass: with a reason it is recorded; without, the error says it could be."""
        if not on_behalf:
            raise error
        if not reason:
            error.details = {**error.details, "overridable": True}
            raise error
        if error.code not in overrides:
            overrides.append(error.code)

    if not rules.window_open(now(), period.opens_at, period.closes_at):
        passable(ValidationError("Les réservations de cette période ne sont pas ouvertes.",
                                 code="BOOKING_CLOSED", field="periodId"))
    if not rules.age_allowed(child.birth_date, period.start_date, period.min_age, period.max_age):
        raise ValidationError(f"Cette période accueille les enfants de {period.min_age} à {period.max_age} ans.",
                              code="AGE_NOT_ALLOWED", field="childId")
    service_cfg = get_settings().service(period.mode.establishment.service_code)
    overrides += await check_prerequisites(child, booking_household, service_cfg.regie if service_cfg else "",
                                           may_override=on_behalf, overriding=bool(reason))
    wanted = _parse_selections(selections)
    units = {u.id: u for u in await AlshUnit.filter(period_id=period.id)}
    days = set(await open_days(period))
    for s in wanted:
        if s.unit_id not in units:
            raise ValidationError("Prestation inconnue pour cette période.", code="UNKNOWN_UNIT",
                                  field="selections", details={"unitId": str(s.unit_id)})
        if s.date not in days:
            raise ValidationError(f"Le {s.date:%d/%m/%Y} n'est pas un jour d'ouverture de la période.",
                                  code="DAY_NOT_BOOKABLE", field="selections", details={"date": s.date.isoformat()})
        if s.date < today():
            passable(ValidationError("Ce jour est passé.", code="DAY_NOT_BOOKABLE", field="selections",
                                     details={"date": s.date.isoformat()}))
    await _check_against_existing(child.id, period.id, wanted, units)
    requested_days = {s.date for s in wanted}
    left = await _remaining(list(units), sorted(requested_days), units)
    lines = [PreparedLine(date=s.date, unit=units[s.unit_id], remaining=left[(s.unit_id, s.date)]) for s in wanted]
    return Prepared(child=child, period=period, lines=lines, household_id=booking_household, units=units,
                    on_behalf=on_behalf, override_reason=reason, overrides=overrides)


async def _check_against_existing(child_id: int, period_id: int, wanted: list[Selection],
                                  units: dict[int, AlshUnit]) -> None:
    """« Already booked » and the exclusive / required unit rules against the child's active lines.
    Run once in `prepare` (quick answer) and again in the write transaction under the child's lock,
    where it decides: a concurrent request for the same child waits, then sees the committed lines."""
    existing = await AlshBookingLine.filter(booking__child_id=child_id, booking__period_id=period_id,
                                            state__in=LineState.ACTIVE).values_list("date", "unit_id")
    existing_set = {(d, u) for d, u in existing}
    for s in wanted:
        if (s.date, s.unit_id) in existing_set:
            raise _already_booked(units[s.unit_id].name, s.date, s.unit_id)
    per_day: dict[date, set[int]] = defaultdict(set)
    for d, u in existing_set:
        per_day[d].add(u)
    for s in wanted:
        per_day[s.date].add(s.unit_id)
    unit_rules = {u.id: rules.UnitRule(u.id, u.code, u.name, tuple(u.excludes or ()), tuple(u.requires or ()))
                  for u in units.values()}
    requested_days = {s.date for s in wanted}
    problems = [p for p in rules.check_day_rules(dict(per_day), unit_rules) if p.date in requested_days]
    if problems:
        first = problems[0]
        raise ValidationError(f"{first.date:%d/%m/%Y} : {first.message}", code=first.code, field="selections",
                              details={"date": first.date.isoformat(), "unitId": str(first.unit_id),
                                       "problems": [{"date": p.date.isoformat(), "unitId": str(p.unit_id),
                                                     "code": p.code, "message": p.message} for p in problems]})


def _already_booked(unit_name: str, day: date | None = None, unit_id: int | None = None) -> ValidationError:
    if day is None:
        return ValidationError(f"{unit_name} est déjà réservé ce jour-là.", code="ALREADY_BOOKED", field="selections")
    return ValidationError(f"{unit_name} est déjà réservé le {day:%d/%m/%Y}.", code="ALREADY_BOOKED",
                           field="selections", details={"date": day.isoformat(), "unitId": str(unit_id)})


async def _lock_children(child_ids: list[int]) -> None:
    """Row locks on the children (PostgreSQL), always in id order: bookings of one child are
    decided one after the other, bookings of different children still run in parallel."""
    await lock_rows(Child, child_ids)


def _line_key(child_id: int, day: date, unit_id: int, state: str) -> str | None:
    return rules.active_key(child_id, day, unit_id) if state in LineState.ACTIVE else None


async def _next_number() -> int:
    """Community-wide booking number. Called outside the booking's transaction, in its own short
    one, so the sequence row is locked for two statements only (bookings run in parallel); a
    booking whose write then fails leaves a gap in the numbers, which is harmless."""
    if not await AlshSequence.exists(name="booking"):
        try:
            async with in_transaction():
                await AlshSequence.create(name="booking", value=0)
        except IntegrityError:
            pass
    async with in_transaction():
        await AlshSequence.filter(name="booking").update(value=F("value") + 1)
        row = await AlshSequence.get(name="booking")
        return row.value


async def _take_place(unit: AlshUnit, day: date) -> bool:
    """Atomically take one place of (unit, day); False when the day is full."""
    taken = await AlshDayCounter.filter(unit_id=unit.id, date=day, taken__lt=F("capacity")) \
        .update(taken=F("taken") + 1)
    if taken:
        return True
    if not await AlshDayCounter.exists(unit_id=unit.id, date=day):
        await ensure_counters(unit, [day])
        return await _take_place(unit, day)
    return False


async def _release_place(unit_id: int, day: date) -> None:
    await AlshDayCounter.filter(unit_id=unit_id, date=day, taken__gt=0).update(taken=F("taken") - 1)


async def _event(line: AlshBookingLine, from_state: str, to_state: str, actor: Actor | None, note: str = "") -> None:
    await AlshLineEvent.create(line=line, from_state=from_state, to_state=to_state,
                               actor_id=actor.user.id if actor and actor.user else None, note=note)


async def _set_state(line: AlshBookingLine, to_state: str, actor: Actor | None, note: str = "", **extra: Any) -> None:
    from_state = line.state
    line.state = to_state
    if to_state not in LineState.ACTIVE:
        extra["active_key"] = None  # the (child, day, unit) may be booked again
    for key, value in extra.items():
        setattr(line, key, value)
    await line.save(update_fields=["state", "updated_at", *extra.keys()])
    await _event(line, from_state, to_state, actor, note)


async def _mail_booking(booking: AlshBooking, template: str, extra: dict[str, Any] | None = None) -> None:
    """Mail about a booking to its household (and the account that made it, if different)."""
    await booking.fetch_related("household", "child", "created_by", "period__mode__establishment")
    lines = await AlshBookingLine.filter(booking_id=booking.id).select_related("unit").order_by("date", "unit_id")
    recipients = {booking.household.email} - {""}
    if booking.created_by is not None and booking.created_by.household_id is not None:  # type: ignore[attr-defined]
        recipients = {booking.created_by.email}  # the family account that booked
    if not recipients:  # booked by an agent for a household without its own address: its accounts
        from core.accounts.models import User

        recipients = set(await User.filter(household_id=booking.household_id).values_list("email", flat=True))  # type: ignore[attr-defined]
    context = {"booking": booking, "number": rules.booking_number(booking.number), "lines": lines,
               "period": booking.period, "mode": booking.period.mode,
               "establishment": booking.period.mode.establishment, "child": booking.child,
               "labels": STATE_LABELS, **(extra or {})}
    for to in sorted(recipients):
        await queue_mail(to, f"{PLUGIN}/mail/{template}", context, household_id=booking.household_id)  # type: ignore[attr-defined]


STATE_LABELS = {
    LineState.EN_ATTENTE: "En attente de traitement", LineState.ACCEPTEE: "Acceptée",
    LineState.REFUSEE: "Refusée", LineState.DEMANDE_ANNULATION: "Demande d'annulation",
    LineState.ANNULEE: "Annulée", LineState.EXPIREE: "Expirée", LineState.LISTE_ATTENTE: "Liste d'attente",
    "demande_annulation_expiree": "Demande d'annulation expirée",
}


async def _write_booking(actor: Actor, prepared: Prepared, number: int) -> AlshBooking:
    period = prepared.period
    waiting_list = bool(config().get("waiting_list", True))
    booking = await AlshBooking.create(number=number, household_id=prepared.household_id,
                                       child_id=prepared.child.id, period_id=period.id,
                                       created_by_id=actor.user.id if actor.user else None)
    child_id = prepared.child.id
    for p in prepared.lines:
        if await _take_place(p.unit, p.date):
            accepted = period.auto_accept or prepared.on_behalf  # the service itself books: no request to decide
            state, holds, reason = (LineState.ACCEPTEE if accepted else LineState.EN_ATTENTE), True, ""
        elif p.date < today():  # back-fill of a past day: no waiting list for a day gone
            raise Conflict(f"Aucune place disponible le {p.date:%d/%m/%Y}.", code="NO_PLACE_LEFT",
                           field="selections", details={"date": p.date.isoformat()})
        elif waiting_list:
            state, holds, reason = LineState.LISTE_ATTENTE, False, ""
        else:
            state, holds, reason = LineState.REFUSEE, False, NO_PLACE
        line = await AlshBookingLine.create(booking=booking, unit_id=p.unit.id, date=p.date, state=state,
                                            holds_place=holds, reason=reason,
                                            active_key=_line_key(child_id, p.date, p.unit.id, state))
        note = line.reason
        if prepared.on_behalf:
            note = "Réservé par le service" + (f" (dérogation : {prepared.override_reason})"
                                                if prepared.overrides else "")
        await _event(line, "", line.state, actor, note[:300])
    booking.period = period
    if prepared.on_behalf:
        await audit(actor, "alsh_booking_on_behalf", "alsh_booking", booking.id, prepared.household_id, {
            "child_id": child_id, "period_id": period.id, "lines": len(prepared.lines),
            "overrides": prepared.overrides, "reason": prepared.override_reason})
        await _mail_booking(booking, "booking_by_service")
    else:
        await _mail_booking(booking, "booking_received")
    return booking


async def audit(actor: Actor, action: str, entity: str, entity_id: int | None, household_id: int | None,
                detail: dict[str, Any]) -> None:
    """One line of core's audit log for a staff act of this plugin (who, what, when, why)."""
    await AuditLog.create(actor_id=actor.user.id if actor.user else None, action=action, entity=entity,
                          entity_id=entity_id, household_id=household_id, detail=detail)


async def submit(actor: Actor, child_id: int, period_id: int, selections: list[Selection], *,
                 household_id: int | None = None, override_reason: str | None = None) -> AlshBooking:
    """« Valider »: one numbered booking, one line per (day, unit), each with its own state. With
    `household_id`: an agent books on the family's behalf (see `prepare`)."""
    prepared = await prepare(actor, child_id, period_id, selections, household_id=household_id,
                             override_reason=override_reason)
    number = await _next_number()
    return (await _write_bookings(actor, [prepared], [number]))[0]


async def _write_bookings(actor: Actor, prepared: list[Prepared], numbers: list[int]) -> list[AlshBooking]:
    """The write transaction of submit / copy: lock the children, re-check what other requests
    may have booked since `prepare`, then take the places. The unique `active_key` is the last
    guard: a duplicate that still reaches the database is the same ALREADY_BOOKED."""
    try:
        async with in_transaction():
            await _lock_children([p.child.id for p in prepared])
            await _lock_days(prepared)
            for p in prepared:
                wanted = [Selection(line.date, line.unit.id) for line in p.lines]
                await _check_against_existing(p.child.id, p.period.id, wanted, p.units)
            return [await _write_booking(actor, p, n) for p, n in zip(prepared, numbers, strict=True)]
    except IntegrityError as exc:
        if "active_key" not in str(exc):
            raise
        raise _already_booked("Cette prestation") from None


async def _lock_days(prepared: list[Prepared]) -> None:
    """Row locks on the (unit, day) counters the bookings take, in id order, then the closed days read
    again under them. `add_closed_day` takes the same locks before it checks that the day has no line:
    either the day closed first and is seen here (DAY_NOT_BOOKABLE), or these lines are committed before
    its check and it refuses (DAY_HAS_BOOKINGS); never a closed day with children booked."""
    wanted: dict[int, tuple[AlshUnit, set[date]]] = {}
    for p in prepared:
        for line in p.lines:
            wanted.setdefault(line.unit.id, (line.unit, set()))[1].add(line.date)
    ids: list[int] = []
    for unit, days in wanted.values():
        await ensure_counters(unit, sorted(days))
        ids += await AlshDayCounter.filter(unit_id=unit.id, date__in=sorted(days)).values_list("id", flat=True)
    await lock_rows(AlshDayCounter, ids)
    for p in prepared:
        days = sorted({line.date for line in p.lines})
        closed = await AlshClosedDay.filter(establishment_id=p.period.mode.establishment_id,  # type: ignore[attr-defined]
                                            date__in=days).order_by("date").first()
        if closed is not None:
            raise ValidationError(f"Le {closed.date:%d/%m/%Y} n'est pas un jour d'ouverture de la période.",
                                  code="DAY_NOT_BOOKABLE", field="selections",
                                  details={"date": closed.date.isoformat()})


async def expand_copy(actor: Actor, child_id: int, period_id: int, selections: list[Selection],
                      start: date | None, end: date | None, weekdays: list[int] | None,
                      whole_period: bool = False) -> list[Selection]:
    """Mode recopie: the source selection repeated over a range / chosen weekdays / the period."""
    await _bookable_child(actor, child_id)
    period = await _period(period_id)
    source: dict[date, set[int]] = defaultdict(set)
    for s in _parse_selections(selections):
        source[s.date].add(int(s.unit_id))
    if whole_period or start is None or end is None:
        start, end = period.start_date, period.end_date
    if end < start:
        raise ValidationError("La date de fin précède la date de début.", code="INVALID_RANGE", field="rangeEnd")
    if weekdays and any(w not in range(1, 8) for w in weekdays):
        raise ValidationError("Jour de semaine invalide (1 = lundi … 7 = dimanche).", code="INVALID_WEEKDAY",
                              field="weekdays")
    expanded = rules.expand_copy(dict(source), start, end, weekdays, await open_days(period))
    from_day = today()
    return [Selection(d, u) for d in sorted(expanded) for u in sorted(expanded[d]) if d >= from_day]


async def submit_copy(actor: Actor, child_id: int, period_id: int, selections: list[Selection],
                      start: date | None, end: date | None, weekdays: list[int] | None,
                      target_child_ids: list[int], whole_period: bool = False) -> list[AlshBooking]:
    """Copy the selection and book it for each target child (default: the source child)."""
    expanded = await expand_copy(actor, child_id, period_id, selections, start, end, weekdays, whole_period)
    targets = list(dict.fromkeys(int(t) for t in (target_child_ids or [child_id])))
    prepared = [await prepare(actor, t, period_id, expanded) for t in targets]
    numbers = [await _next_number() for _ in prepared]
    return await _write_bookings(actor, prepared, numbers)


# ---- family: bookings, planning, cancellation -----------------------------------------------
async def _visible_booking(actor: Actor, booking_id: int) -> AlshBooking:
    booking = await AlshBooking.get_or_none(id=booking_id).select_related("period__mode__establishment", "child")
    if booking is None:
        raise NotFound("réservation")
    if actor.is_staff:
        _require_staff_of(actor, booking.period.mode.establishment, "réservation")
        return booking
    household_id = _family_household(actor)
    if booking.household_id != household_id and booking.child.household_id != household_id:  # type: ignore[attr-defined]
        raise NotFound("réservation")
    return booking


async def get_booking(actor: Actor, booking_id: int) -> tuple[AlshBooking, list[AlshBookingLine]]:
    booking = await _visible_booking(actor, booking_id)
    lines = await AlshBookingLine.filter(booking_id=booking.id).select_related("unit").order_by("date", "unit_id")
    return booking, lines


async def booking_history(actor: Actor, booking_id: int) -> list[AlshLineEvent]:
    booking = await _visible_booking(actor, booking_id)
    return await AlshLineEvent.filter(line__booking_id=booking.id).select_related("line__unit", "actor") \
        .order_by("at", "id")


@dataclass
class PlanningEntry:
    line: AlshBookingLine  # read without its unit
    booking: AlshBooking  # with its child, period, mode and establishment; shared by the booking's lines
    linked: bool  # booked from another account (garde alternée)
    unit_name: str
    waiting_rank: int | None  # rank on the day's waiting list (rules.waiting_ranks), None unless waiting


async def waiting_ranks(lines: list[AlshBookingLine]) -> dict[int, int]:
    """Rank on its waiting list of each waiting line among `lines`: one query for all of them."""
    waiting = [ln for ln in lines if ln.state == LineState.LISTE_ATTENTE]
    if not waiting:
        return {}
    rows = await AlshBookingLine.filter(
        state=LineState.LISTE_ATTENTE, unit_id__in=list({ln.unit_id for ln in waiting}),  # type: ignore[attr-defined]
        date__in=list({ln.date for ln in waiting})).order_by("id").values_list("id", "unit_id", "date")
    return rules.waiting_ranks(rows)


async def planning(actor: Actor, month: date, child_ids: list[int] | None = None, show_cancelled: bool = False,
                   show_linked: bool = False) -> list[PlanningEntry]:
    """Month view of the household's bookings: one query, whatever the number of lines."""
    household_id = _family_household(actor)
    first, last = month_bounds(month)
    if not (show_linked or show_cancelled or child_ids):  # the month view as it opens: compiled once
        lines = await _MONTH_LINES.all(household_id, first, last)
        ranks = rules.waiting_ranks(await _MONTH_WAITING.all(household_id, first, last)) \
            if any(ln.state == LineState.LISTE_ATTENTE for ln in lines) else {}
        return await _month_entries(lines, household_id, ranks)
    query = AlshBookingLine.filter(date__gte=first, date__lte=last)
    if show_linked:
        query = query.filter(Q(booking__household_id=household_id) | Q(booking__child__household_id=household_id))
    else:
        query = query.filter(booking__household_id=household_id)
    if not show_cancelled:
        query = query.exclude(state__in=[LineState.ANNULEE, LineState.REFUSEE])
    if child_ids:
        query = query.filter(booking__child_id__in=[int(c) for c in child_ids])
    lines = await query.annotate(unit_name=F("unit__name")).order_by("date", "booking__child_id", "unit_id")
    return await _month_entries(lines, household_id, await waiting_ranks(lines))


_MONTH_LINES = CompiledQuery(lambda household_id, first, last: AlshBookingLine.filter(
    date__gte=first, date__lte=last, booking__household_id=household_id)
    .exclude(state__in=[LineState.ANNULEE, LineState.REFUSEE])
    .annotate(unit_name=F("unit__name"))  # the unit's name only, not a unit (its tariff and rules) per line
    .order_by("date", "booking__child_id", "unit_id"))
# The waiting lists (every household's lines, in id order) of the units where the household waits in
# the month: enough to rank its own waiting lines (rules.waiting_ranks).
_MONTH_WAITING = CompiledQuery(lambda household_id, first, last: AlshBookingLine.filter(
    state=LineState.LISTE_ATTENTE, date__gte=first, date__lte=last,
    unit_id__in=Subquery(AlshBookingLine.filter(
        state=LineState.LISTE_ATTENTE, date__gte=first, date__lte=last, booking__household_id=household_id)
        .values("unit_id")))
    .order_by("id").values_list("id", "unit_id", "date"))
# What the month view shows of a booking.
_BOOKING_CONTEXT = ("child", "period__mode__establishment")
# The household's bookings of periods overlapping the month: a line lies in its period.
_MONTH_BOOKINGS = CompiledQuery(lambda household_id, first, last: AlshBooking.filter(
    household_id=household_id, period__start_date__lte=last, period__end_date__gte=first)
    .select_related(*_BOOKING_CONTEXT))


async def _month_entries(lines: list[AlshBookingLine], household_id: int,
                         ranks: dict[int, int]) -> list[PlanningEntry]:
    """The lines (read with their unit's name) with their booking (child, period, mode, establishment).
    A month holds dozens of lines of a few bookings: each booking is read once, not once per line."""
    if not lines:
        return []
    first, last = lines[0].date, lines[-1].date
    bookings = {b.id: b for b in await _MONTH_BOOKINGS.all(household_id, first, last)}
    missing_bookings = {ln.booking_id for ln in lines} - set(bookings)  # type: ignore[attr-defined]
    if missing_bookings:  # lines booked from another account (garde alternée), outside those periods
        bookings.update({b.id: b for b in await AlshBooking.filter(id__in=missing_bookings)
                         .select_related(*_BOOKING_CONTEXT)})
    return [PlanningEntry(line=line, booking=(booking := bookings[line.booking_id]),  # type: ignore[attr-defined]
                          linked=booking.household_id != household_id,  # type: ignore[attr-defined]
                          unit_name=line.unit_name, waiting_rank=ranks.get(line.id))  # type: ignore[attr-defined]
            for line in lines]


async def _promote_waiting(unit_id: int, day: date, actor: Actor | None) -> bool:
    """A place freed: the first of the waiting list for (unit, day) gets it, and is mailed."""
    waiting = await AlshBookingLine.filter(unit_id=unit_id, date=day, state=LineState.LISTE_ATTENTE) \
        .select_related("unit", "booking__period").order_by("id")
    for line in waiting:
        if not await _take_place(line.unit, day):
            return False
        # Conditional update: a concurrent release may have promoted the same line.
        state = LineState.ACCEPTEE
        won = await AlshBookingLine.filter(id=line.id, state=LineState.LISTE_ATTENTE) \
            .update(state=state, holds_place=True, updated_at=now())
        if not won:
            await _release_place(unit_id, day)
            continue
        await _event(line, LineState.LISTE_ATTENTE, state, actor, "Place libérée : sortie de la liste d'attente")
        booking = await AlshBooking.get(id=line.booking_id)  # type: ignore[attr-defined]
        await _mail_booking(booking, "waitlist_promoted", {"promoted": line})
        return True
    return False


async def _free(line: AlshBookingLine, actor: Actor | None) -> None:
    if line.holds_place:
        line.holds_place = False
        await line.save(update_fields=["holds_place", "updated_at"])
        await _release_place(line.unit_id, line.date)  # type: ignore[attr-defined]
        await _promote_waiting(line.unit_id, line.date, actor)  # type: ignore[attr-defined]


async def _lock_lines(ids: list[int]) -> None:
    """Row locks on the lines (PostgreSQL) so two decisions on one line cannot both apply."""
    await lock_rows(AlshBookingLine, ids)


async def cancel_lines(actor: Actor, line_ids: list[int]) -> list[AlshBookingLine]:
    """Free before the deadline (→ annulee, place freed); after it a request (→ demande_annulation)."""
    household_id = _family_household(actor)
    require_confirmed(actor)
    ids = [int(i) for i in line_ids]
    if not ids:
        raise ValidationError("Choisissez au moins une réservation.", code="EMPTY_SELECTION", field="lineIds")
    async with in_transaction():
        await _lock_lines(ids)
        lines = await AlshBookingLine.filter(id__in=ids, booking__household_id=household_id) \
            .select_related("booking__period", "unit")
        if len(lines) != len(set(ids)):
            raise NotFound("réservation")
        at = now()
        for line in lines:
            period = line.booking.period
            if line.state == LineState.LISTE_ATTENTE:
                await _set_state(line, LineState.ANNULEE, actor, "Retrait de la liste d'attente",
                                 cancelled_in_time=True)
                continue
            if line.state not in (LineState.EN_ATTENTE, LineState.ACCEPTEE):
                raise ValidationError("Cette réservation ne peut plus être annulée.", code="NOT_CANCELLABLE",
                                      field="lineIds", details={"lineId": str(line.id)})
            deadline = rules.cancellation_deadline(line.date, period.cancel_days_before, period.cancel_time,
                                                   period.cancel_working_days, calendar.community_subdivision())
            if at < deadline:
                await _set_state(line, LineState.ANNULEE, actor, "Annulation dans les délais",
                                 cancelled_in_time=True)
                await _free(line, actor)
            else:
                await _set_state(line, LineState.DEMANDE_ANNULATION, actor,
                                 f"Hors délai (limite {deadline:%d/%m/%Y %H:%M})")
        return lines


async def expire_past_requests(on: date | None = None) -> int:
    """Persist what the API already shows: undecided requests of past days become « expirée »
    (their place is released). For a nightly job; returns the number of lines expired."""
    on = on or today()
    count = 0
    async with in_transaction():
        stale = await AlshBookingLine.filter(date__lt=on, state__in=[LineState.EN_ATTENTE, LineState.LISTE_ATTENTE])
        for line in stale:
            held = line.holds_place
            await _set_state(line, LineState.EXPIREE, None, "Non traitée avant la date", holds_place=False)
            if held:
                await _release_place(line.unit_id, line.date)  # type: ignore[attr-defined]
            count += 1
    return count


# ---- staff ------------------------------------------------------------------------------------
def staff_requests_query(actor: Actor, establishment_id: int | None = None,
                         states: list[str] | None = None) -> Any:
    """Lines waiting for a decision in the agent's services, by date then id (a queryset to page)."""
    services = _staff_services(actor)
    query = AlshBookingLine.filter(state__in=states or [LineState.EN_ATTENTE, LineState.DEMANDE_ANNULATION])
    if services is not None:
        query = query.filter(booking__period__mode__establishment__service_code__in=list(services))
    if establishment_id is not None:
        query = query.filter(booking__period__mode__establishment_id=establishment_id)
    return query.select_related("unit", "booking__child", "booking__period__mode__establishment") \
        .order_by("date", "id")


@dataclass
class Decision:
    line_id: int
    action: str  # accept | refuse | accept_cancellation | refuse_cancellation
    reason: str = ""
    waive_billing: bool = False  # accept_cancellation only: the late-cancelled day is not billed


async def process(actor: Actor, decisions: list[Decision]) -> list[AlshBookingLine]:
    """Staff processing, line by line; each booking touched gets one mail with its result."""
    require_staff(actor)
    if not decisions:
        raise ValidationError("Aucune décision.", code="EMPTY_SELECTION", field="decisions")
    touched: dict[int, AlshBooking] = {}
    done: list[AlshBookingLine] = []
    async with in_transaction():
        for d in decisions:
            await _lock_lines([int(d.line_id)])
            line = await AlshBookingLine.get_or_none(id=int(d.line_id)) \
                .select_related("unit", "booking__period__mode__establishment")
            if line is None:
                raise NotFound("réservation")
            _require_staff_of(actor, line.booking.period.mode.establishment, "réservation")
            action = d.action
            if action == "accept":
                if line.state == LineState.LISTE_ATTENTE:
                    if not await _take_place(line.unit, line.date):
                        raise Conflict("Aucune place disponible ce jour-là.", code="NO_PLACE_LEFT", field="decisions")
                    line.holds_place = True
                    await _set_state(line, LineState.ACCEPTEE, actor, d.reason, holds_place=True)
                elif line.state == LineState.EN_ATTENTE:
                    await _set_state(line, LineState.ACCEPTEE, actor, d.reason)
                elif line.state == LineState.EXPIREE:
                    # back-fill (issue 14.3): the child came although nobody decided in time
                    if not await _take_place(line.unit, line.date):
                        raise Conflict("Aucune place disponible ce jour-là.", code="NO_PLACE_LEFT", field="decisions")
                    await _set_state(line, LineState.ACCEPTEE, actor, d.reason or "Régularisation",
                                     holds_place=True, active_key=_line_key(line.booking.child_id, line.date,  # type: ignore[attr-defined]
                                                                            line.unit.id, LineState.ACCEPTEE))
                else:
                    raise ValidationError("Cette ligne n'est pas en attente.", code="INVALID_STATE", field="decisions")
            elif action == "refuse":
                if line.state not in (LineState.EN_ATTENTE, LineState.LISTE_ATTENTE):
                    raise ValidationError("Cette ligne n'est pas en attente.", code="INVALID_STATE", field="decisions")
                reason = (d.reason or "").strip()
                if not reason:
                    raise ValidationError("Indiquez le motif du refus.", code="REASON_REQUIRED", field="decisions")
                await _set_state(line, LineState.REFUSEE, actor, reason, reason=reason[:300])
                await _free(line, actor)
            elif action in ("accept_cancellation", "refuse_cancellation"):
                if line.state != LineState.DEMANDE_ANNULATION:
                    raise ValidationError("Pas de demande d'annulation sur cette ligne.", code="INVALID_STATE",
                                          field="decisions")
                if action == "accept_cancellation":
                    # Accepted late: the place is freed, the day stays billed unless waived.
                    await _set_state(line, LineState.ANNULEE, actor, d.reason, cancelled_in_time=d.waive_billing)
                    await _free(line, actor)
                else:
                    await _set_state(line, LineState.ACCEPTEE, actor, d.reason)
            else:
                raise ValidationError("Action inconnue.", code="INVALID_ACTION", field="decisions")
            touched[line.booking.id] = line.booking
            done.append(line)
        for booking in touched.values():
            await _mail_booking(booking, "booking_processed")
    return done


@dataclass
class DayListEntry:
    line: AlshBookingLine
    child: Child
    collectors: list[AuthorizedPerson]


async def day_list(actor: Actor, establishment_id: int, day: date) -> tuple[AlshEstablishment, list[DayListEntry]]:
    """The day's children per unit with medical alerts and who may collect them (audited)."""
    establishment = await AlshEstablishment.get_or_none(id=establishment_id)
    if establishment is None:
        raise NotFound("établissement")
    _require_staff_of(actor, establishment)
    lines = await AlshBookingLine.filter(date=day, state__in=[LineState.ACCEPTEE, LineState.DEMANDE_ANNULATION],
                                         booking__period__mode__establishment_id=establishment_id) \
        .select_related("unit", "booking__child").order_by("unit_id", "booking__child__last_name",
                                                           "booking__child__first_name")
    child_ids = list({line.booking.child_id for line in lines})  # type: ignore[attr-defined]
    people = await AuthorizedPerson.filter(child_id__in=child_ids, may_collect=True).order_by("id") if child_ids else []
    by_child: dict[int, list[AuthorizedPerson]] = defaultdict(list)
    for p in people:
        by_child[p.child_id].append(p)  # type: ignore[attr-defined]
    if child_ids:
        await AuditLog.create(actor_id=actor.user.id if actor.user else None, action="alsh_day_list",
                              entity="alsh_establishment", entity_id=establishment_id,
                              detail={"date": day.isoformat(), "children": sorted(child_ids)})
    return establishment, [DayListEntry(line=line, child=line.booking.child,
                                        collectors=by_child.get(line.booking.child_id, []))  # type: ignore[attr-defined]
                           for line in lines]


async def mark_presence(actor: Actor, line_id: int, present: bool, justified: bool | None = None) -> AlshBookingLine:
    async with in_transaction():
        line = await AlshBookingLine.get_or_none(id=line_id).select_related("booking__period__mode__establishment")
        if line is None:
            raise NotFound("réservation")
        _require_staff_of(actor, line.booking.period.mode.establishment, "réservation")
        if line.state not in (LineState.ACCEPTEE, LineState.DEMANDE_ANNULATION):
            raise ValidationError("Seule une présence acceptée se pointe.", code="INVALID_STATE", field="lineId")
        if line.date > today():
            raise ValidationError("On ne pointe pas un jour à venir.", code="FUTURE_DAY", field="lineId")
        line.present = present
        line.absence_justified = bool(justified) and not present
        await line.save(update_fields=["present", "absence_justified", "updated_at"])
        await _event(line, line.state, line.state, actor, "Présent" if present else
                     ("Absence justifiée" if line.absence_justified else "Absent"))
        return line


# ---- need-to-know ----------------------------------------------------------------------------------
async def household_services(household_ids: list[int]) -> dict[int, set[str]]:
    """ALSH / PAJ services a household uses (core.permissions' need-to-know rule): those of its
    bookings, and of the bookings another household (garde alternée) made for one of its children."""
    used: dict[int, set[str]] = {}
    rows = await AlshBooking.filter(household_id__in=household_ids).distinct() \
        .values_list("household_id", "period__mode__establishment__service_code")
    rows += await AlshBooking.filter(child__household_id__in=household_ids).distinct() \
        .values_list("child__household_id", "period__mode__establishment__service_code")
    for hid, code in rows:
        used.setdefault(hid, set()).add(code)
    return used


# ---- billing, alerts, RGPD --------------------------------------------------------------------
async def invoice_lines(start: date, end: date, household_ids: list[int]) -> list[Any]:
    """Accepted units of [start, end], less justified absences and timely cancellations, priced
    by the household's QF bracket (no QF: maximum tariff). Four queries for the whole batch."""
    from core.billing.rules import tariff_grid_from_config, unit_price_cents
    from core.billing.types import InvoiceLineDraft
    from core.documents.models import Document, DocumentStatus

    if not household_ids:
        return []
    settings = get_settings()
    lines = await AlshBookingLine.filter(date__gte=start, date__lte=end, state__in=BILLABLE,
                                         booking__household_id__in=household_ids) \
        .select_related("unit", "booking__child", "booking__period__mode__establishment").order_by("date", "id")
    lines = [ln for ln in lines if not (ln.state == LineState.ANNULEE and ln.cancelled_in_time)]
    if not lines:
        return []
    qf = dict(await Household.filter(id__in=household_ids).values_list("id", "quotient_familial"))
    absent_children = list({ln.booking.child_id for ln in lines if ln.present is False})  # type: ignore[attr-defined]
    justif: dict[int, list[date]] = defaultdict(list)
    if absent_children:
        docs = await Document.filter(child_id__in=absent_children, type_code="justificatif_absence") \
            .exclude(status=DocumentStatus.REFUSED).values_list("child_id", "uploaded_at")
        for child_id, uploaded_at in docs:
            justif[child_id].append(uploaded_at.astimezone(rules.PARIS).date())
    days = int(config().get("absence_justification_days", 3))
    grids: dict[int, Any] = {}
    out = []
    for ln in lines:
        child = ln.booking.child
        if ln.present is False and (ln.absence_justified or any(
                rules.absence_justified_in_time(ln.date, up, days) for up in justif.get(child.id, []))):
            continue
        unit = ln.unit
        if unit.id not in grids:
            grids[unit.id] = tariff_grid_from_config(unit.tariff) if unit.tariff else None
        grid = grids[unit.id]
        household_id = ln.booking.household_id  # type: ignore[attr-defined]
        price = unit_price_cents(grid, qf.get(household_id)) if grid is not None else 0
        period = ln.booking.period
        est = period.mode.establishment
        service = settings.service(est.service_code)
        out.append(InvoiceLineDraft(
            household_id=household_id, regie_code=service.regie if service else "",
            source_key=f"alsh:line:{ln.id}",
            designation=f"{unit.billing_label or unit.name} ({ln.date:%d/%m/%Y})",
            quantity="1", unit_price_cents=price, amount_cents=price, child_id=child.id,
            establishment=f"{est.name} / {period.mode.name} / {period.name}", service_code=est.service_code,
            **tax_credit_of(unit.tariff or {}, price, period.mode.kind)))
    return out


def tax_credit_of(tariff: dict[str, Any], price_cents: int, mode_kind: str) -> dict[str, Any]:
    """How a booked unit counts for the tax credit for childcare (CGI 200 quater B).

    An accueil de loisirs is care outside the home of a child under six outside school hours
    (périscolaire, mercredis, vacances): eligible, the age being checked on the attestation. What is
    not care is excluded (BOFiP BOI-IR-RICI-300 § 140): the meal's part of the unit's price,
    `tariff.meal_cents` (e.g. a "journée avec repas" at 13.00 € with `meal_cents = 350`: 9.50 € of
    care), or the whole unit when `tariff.childcare = false` (an outing, a supplement). A unit with a
    meal must say its `meal_cents`: the invoice must distinguish care from food."""
    if tariff.get("childcare", True) is False:
        return {}
    try:
        meal = max(0, int(tariff.get("meal_cents") or 0))
    except (TypeError, ValueError):
        meal = 0
    nature = "Accueil de loisirs périscolaire" if mode_kind in ("mercredis", "periscolaire") else (
        "Accueil de loisirs extrascolaire" if mode_kind == "vacances" else "Accueil de loisirs")
    return {"childcare_tax_credit": True, "non_childcare_cents": min(meal, price_cents), "care_nature": nature}


async def alerts(household_id: int) -> list[Any]:
    from core.contributions import Alert

    counts = defaultdict(int)
    rows = await AlshBookingLine.filter(booking__household_id=household_id, date__gte=today(),
                                        state__in=[LineState.EN_ATTENTE, LineState.LISTE_ATTENTE]) \
        .values_list("state", flat=True)
    for state in rows:
        counts[state] += 1
    out = []
    if counts[LineState.EN_ATTENTE]:
        out.append(Alert(code="alsh_pending", count=counts[LineState.EN_ATTENTE],
                         message=f"{counts[LineState.EN_ATTENTE]} réservation(s) ALSH en attente de traitement"))
    if counts[LineState.LISTE_ATTENTE]:
        out.append(Alert(code="alsh_waiting_list", count=counts[LineState.LISTE_ATTENTE],
                         message=f"{counts[LineState.LISTE_ATTENTE]} réservation(s) ALSH en liste d'attente"))
    return out


async def rgpd_export(household_id: int) -> dict[str, Any]:
    bookings = await AlshBooking.filter(household_id=household_id).prefetch_related("lines__unit", "child", "period")
    return {"bookings": [{
        "number": rules.booking_number(b.number), "child": f"{b.child.first_name} {b.child.last_name}",
        "period": b.period.name, "created_at": b.created_at.isoformat(),
        "lines": [{"date": ln.date.isoformat(), "unit": ln.unit.name, "state": ln.state, "reason": ln.reason,
                   "present": ln.present} for ln in b.lines]} for b in bookings],
        "child_links": await AlshChildLink.filter(household_id=household_id).values("child_id", "created_at"),
        "tables": await export_tables("alsh_paj", household_id)}


async def rgpd_retention(policy: RetentionPolicy, today_: date, dry_run: bool) -> dict[str, int]:
    """Booking lines (with their history) past `activity_months` after their day, then the bookings
    left empty. The invoices keep what was billed."""
    cutoff = policy.cutoff_months(today_, policy.activity_months)
    old = AlshBookingLine.filter(date__lt=cutoff)
    touched = set(await old.values_list("booking_id", flat=True))
    young = set(await AlshBookingLine.filter(booking_id__in=list(touched) or [0], date__gte=cutoff)
                .values_list("booking_id", flat=True))
    emptied = sorted(touched - young)
    done = {"booking_lines": await old.count(), "bookings": len(emptied)}
    if dry_run:
        return done
    async with in_transaction():
        await AlshLineEvent.filter(line__date__lt=cutoff).delete()
        await old.delete()
        await AlshBooking.filter(id__in=emptied or [0]).delete()
    return done


async def rgpd_erase(household_id: int) -> None:
    """Future and unbilled requests go; past accepted days stay (they back invoices), with reasons
    and attendance notes cleared. Links of garde alternée go."""
    async with in_transaction():
        future = AlshBookingLine.filter(booking__household_id=household_id, date__gte=today())
        freed = await future.filter(holds_place=True)
        await AlshBookingLine.filter(id__in=await future.values_list("id", flat=True)).delete()
        for line in freed:
            await _release_place(line.unit_id, line.date)  # type: ignore[attr-defined]
            await _promote_waiting(line.unit_id, line.date, None)  # type: ignore[attr-defined]
        await AlshBookingLine.filter(booking__household_id=household_id).update(reason="")
        await AlshLineEvent.filter(line__booking__household_id=household_id).update(note="")
        empty = await AlshBooking.filter(household_id=household_id, lines__id__isnull=True).values_list("id", flat=True)
        await AlshBooking.filter(id__in=list(empty)).delete()
        await AlshChildLink.filter(household_id=household_id).delete()


# ---- demo -------------------------------------------------------------------------------------
# meal_cents: the meal's part of the price, left out of the tax-credit base (see tax_credit_of).
DEMO_TARIFF_DAY = {"method": "qf_brackets", "brackets": [[700, 850], [1100, 1100], ["max", 1300]], "meal_cents": 350}
DEMO_TARIFF_MORNING = {"method": "qf_brackets", "brackets": [[700, 400], [1100, 500], ["max", 650]]}


async def create_demo(today_: date) -> None:
    if await AlshEstablishment.exists(name="ALSH BRAUD ET ST LOUIS"):
        return
    est = await AlshEstablishment.create(name="ALSH BRAUD ET ST LOUIS", service_code="alsh",
                                         address="Place de la Mairie, 33820 BRAUD ET ST LOUIS")
    await AlshEstablishment.create(name="PAJ LATRESNE", service_code="jeunesse")
    mode = await AlshMode.create(establishment=est, name="MERCREDIS", kind="mercredis")
    await AlshMode.create(establishment=est, name="VACANCES", kind="vacances")
    start = today_ - timedelta(days=21)
    end = today_ + timedelta(days=56)
    at = now()
    period = await AlshPeriod.create(mode=mode, name="Mercredis", start_date=start, end_date=end, weekdays=[3],
                                     opens_at=at - timedelta(days=30), closes_at=at + timedelta(days=30),
                                     cancel_days_before=2, cancel_time="12:00", cancel_working_days=True,
                                     min_age=3, max_age=12, auto_accept=False)
    period.mode = mode
    mode.establishment = est
    day = await create_unit(period, "JOURNEE_REPAS", "MERCREDI JOURNEE AVEC REPAS", 24, DEMO_TARIFF_DAY,
                            excludes=["MATIN_SANS_REPAS"], billing_label="MERCREDIS JOURNEE AVEC REPAS")
    await create_unit(period, "MATIN_SANS_REPAS", "MERCREDI MATIN SANS REPAS", 12, DEMO_TARIFF_MORNING,
                      excludes=["JOURNEE_REPAS"], billing_label="MERCREDIS MATIN SANS REPAS")
    cce = await Household.get_or_none(name="CCE")
    junior = await Child.get_or_none(household=cce, first_name="Junior") if cce else None
    if junior is None:
        return
    days = [d for d in await open_days(period) if d >= today_][:3]
    user_id = await _demo_user_id(cce.id)
    booking = await AlshBooking.create(number=await _next_number(), household=cce, child=junior, period=period,
                                       created_by_id=user_id)
    for i, d in enumerate(days):
        await _take_place(day, d)
        line = await AlshBookingLine.create(booking=booking, unit=day, date=d, holds_place=True,
                                            state=LineState.ACCEPTEE if i == 0 else LineState.EN_ATTENTE,
                                            active_key=rules.active_key(junior.id, d, day.id))
        await AlshLineEvent.create(line=line, from_state="", to_state=line.state)


async def _demo_user_id(household_id: int) -> int | None:
    from core.accounts.models import User

    user = await User.filter(household_id=household_id).first()
    return user.id if user else None

