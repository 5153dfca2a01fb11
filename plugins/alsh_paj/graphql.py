"""GraphQL of ALSH / PAJ: thin types and resolvers over plugins.alsh_paj.service."""

from __future__ import annotations

from datetime import date, datetime

import strawberry
from strawberry.scalars import JSON
from strawberry.types import Info

from core.contributions import GraphQLContribution
from core.graphql_support import actor, parse_id
from core.timeutil import today
from plugins.alsh_paj import rules, service
from plugins.alsh_paj.models import (
    AlshBooking,
    AlshBookingLine,
    AlshEstablishment,
    AlshLineEvent,
    AlshPeriod,
    AlshUnit,
)


def _id(value: int) -> strawberry.ID:
    return strawberry.ID(str(value))




@strawberry.type
class AlshChild:
    id: strawberry.ID
    first_name: str
    last_name: str
    birth_date: date | None
    age: int | None
    marker: str
    linked: bool = strawberry.field(description="Child of another household, bookable through a garde alternée link.")


@strawberry.type
class AlshUnitType:
    id: strawberry.ID
    code: str
    name: str
    capacity: int

    @classmethod
    def of(cls, u: AlshUnit) -> AlshUnitType:
        return cls(id=_id(u.id), code=u.code, name=u.name, capacity=u.capacity)


@strawberry.type
class AlshPeriodType:
    id: strawberry.ID
    name: str
    establishment_id: strawberry.ID
    establishment: str
    mode: str
    start_date: date
    end_date: date
    opens_at: datetime
    closes_at: datetime
    min_age: int
    max_age: int
    auto_accept: bool
    cancellation_rule: str

    @classmethod
    def of(cls, p: AlshPeriod) -> AlshPeriodType:
        rule = f"{p.cancel_days_before} jour(s) {'ouvré(s) ' if p.cancel_working_days else ''}avant à {p.cancel_time}"
        return cls(id=_id(p.id), name=p.name, establishment_id=_id(p.mode.establishment.id),
                   establishment=p.mode.establishment.name, mode=p.mode.name, start_date=p.start_date,
                   end_date=p.end_date, opens_at=p.opens_at, closes_at=p.closes_at, min_age=p.min_age,
                   max_age=p.max_age, auto_accept=p.auto_accept, cancellation_rule=rule)


@strawberry.type
class AlshLine:
    id: strawberry.ID
    date: date
    unit_id: strawberry.ID
    unit: str
    state: str = strawberry.field(description="en_attente, acceptee, refusee, demande_annulation, annulee, "
                                  "liste_attente, expiree, demande_annulation_expiree")
    state_label: str
    reason: str
    waiting_rank: int | None
    present: bool | None
    absence_justified: bool

    @classmethod
    def of(cls, ln: AlshBookingLine, rank: int | None = None) -> AlshLine:
        state = rules.effective_state(ln.state, ln.date, today())
        return cls(id=_id(ln.id), date=ln.date, unit_id=_id(ln.unit_id), unit=ln.unit.name,  # type: ignore[attr-defined]
                   state=state, state_label=service.STATE_LABELS.get(state, state), reason=ln.reason,
                   waiting_rank=rank if state == "liste_attente" else None, present=ln.present,
                   absence_justified=ln.absence_justified)


@strawberry.type
class AlshUnitPlaces:
    unit: AlshUnitType
    remaining: int


@strawberry.type
class AlshDay:
    date: date
    open: bool
    closed_label: str
    units: list[AlshUnitPlaces]
    booked: list[AlshLine]


@strawberry.type
class AlshSummaryLine:
    date: date
    unit: AlshUnitType
    remaining: int
    expected_state: str


@strawberry.type
class AlshSummary:
    child: str
    period: AlshPeriodType
    lines: list[AlshSummaryLine]


@strawberry.type
class AlshEvent:
    at: datetime
    line_id: strawberry.ID
    date: date
    unit: str
    from_state: str
    to_state: str
    by: str
    note: str

    @classmethod
    def of(cls, e: AlshLineEvent) -> AlshEvent:
        by = e.actor.full_name or e.actor.email if e.actor else "Système"
        return cls(at=e.at, line_id=_id(e.line.id), date=e.line.date, unit=e.line.unit.name,
                   from_state=e.from_state, to_state=e.to_state, by=by, note=e.note)


async def _ranks(lines: list[AlshBookingLine]) -> dict[int, int]:
    """Rank on the waiting list of each waiting line: one query for all of them."""
    waiting = [ln for ln in lines if ln.state == "liste_attente"]
    if not waiting:
        return {}
    rows = await AlshBookingLine.filter(
        state="liste_attente", unit_id__in=list({ln.unit_id for ln in waiting}),  # type: ignore[attr-defined]
        date__in=list({ln.date for ln in waiting})).order_by("id").values_list("id", "unit_id", "date")
    counters: dict[tuple[int, date], int] = {}
    ranks: dict[int, int] = {}
    for line_id, unit_id, day in rows:
        counters[(unit_id, day)] = counters.get((unit_id, day), 0) + 1
        ranks[line_id] = counters[(unit_id, day)]
    return ranks


@strawberry.type
class AlshBookingType:
    id: strawberry.ID
    number: str
    child_id: strawberry.ID
    period: AlshPeriodType
    created_at: datetime
    lines: list[AlshLine]

    @classmethod
    async def of(cls, b: AlshBooking, lines: list[AlshBookingLine] | None = None) -> AlshBookingType:
        if lines is None:
            lines = await AlshBookingLine.filter(booking_id=b.id).select_related("unit").order_by("date", "unit_id")
        if not isinstance(b.period, AlshPeriod) or not hasattr(b.period.mode, "establishment"):
            await b.fetch_related("period__mode__establishment")
        ranks = await _ranks(lines)
        return cls(id=_id(b.id), number=rules.booking_number(b.number), child_id=_id(b.child_id),  # type: ignore[attr-defined]
                   period=AlshPeriodType.of(b.period), created_at=b.created_at,
                   lines=[AlshLine.of(ln, ranks.get(ln.id)) for ln in lines])


@strawberry.type
class AlshPlanningEntry:
    line: AlshLine
    booking_id: strawberry.ID
    booking_number: str
    child_id: strawberry.ID
    child_name: str
    marker: str
    establishment: str
    mode: str
    period: str
    linked_to_other_account: bool


@strawberry.type
class AlshCollector:
    first_name: str
    last_name: str
    relation: str
    phone_mobile: str


@strawberry.type
class AlshDayChild:
    line_id: strawberry.ID
    unit: str
    child_id: strawberry.ID
    first_name: str
    last_name: str
    has_pai: bool
    allergies: str
    present: bool | None
    absence_justified: bool
    may_collect: list[AlshCollector]


@strawberry.type
class AlshStaffLine:
    line: AlshLine
    booking_number: str
    child_name: str
    establishment: str
    period: str


@strawberry.type
class AlshEstablishmentType:
    id: strawberry.ID
    name: str
    service_code: str


@strawberry.input
class AlshSelectionInput:
    date: date
    unit_id: strawberry.ID


@strawberry.input
class AlshCopyInput:
    child_id: strawberry.ID
    period_id: strawberry.ID
    selections: list[AlshSelectionInput]
    range_start: date | None = None
    range_end: date | None = None
    weekdays: list[int] | None = strawberry.field(default=None, description="ISO weekdays, 1 = lundi.")
    whole_period: bool = False
    target_child_ids: list[strawberry.ID] = strawberry.field(default_factory=list)


@strawberry.input
class AlshDecisionInput:
    line_id: strawberry.ID
    action: str = strawberry.field(description="accept | refuse | accept_cancellation | refuse_cancellation")
    reason: str = ""
    waive_billing: bool = False


@strawberry.input
class AlshPeriodInput:
    mode_id: strawberry.ID
    name: str
    start_date: date
    end_date: date
    opens_at: datetime
    closes_at: datetime
    weekdays: list[int] = strawberry.field(description="ISO weekdays the period is open, 3 = mercredi.")
    # Defaults come from the service's PeriodInput: one place decides them.
    cancel_days_before: int = service.PeriodInput.cancel_days_before
    cancel_time: str = service.PeriodInput.cancel_time
    cancel_working_days: bool = service.PeriodInput.cancel_working_days
    min_age: int = service.PeriodInput.min_age
    max_age: int = service.PeriodInput.max_age
    auto_accept: bool = service.PeriodInput.auto_accept


@strawberry.input
class AlshUnitInput:
    period_id: strawberry.ID
    code: str
    name: str
    capacity: int
    tariff: JSON | None = strawberry.field(default=None, description="Grid as in core.billing.rules."
                                           "tariff_grid_from_config, e.g. {method: \"flat\", flat_cents: 800}; "
                                           "meal_cents: the meal's part of the price (left out of the "
                                           "childcare tax credit), childcare: false for an outing")
    excludes: list[str] = strawberry.field(default_factory=list)
    requires: list[str] = strawberry.field(default_factory=list)
    billing_label: str = ""


@strawberry.type
class AlshSelection:
    date: date
    unit_id: strawberry.ID


def _selections(items: list[AlshSelectionInput]) -> list[service.Selection]:
    return [service.Selection(date=s.date, unit_id=parse_id(s.unit_id, "selections")) for s in items]


def _marker(first_name: str) -> str:
    return (first_name[:1] or "?").upper()


@strawberry.type
class AlshQuery:
    @strawberry.field(description="Étape 1: the children the family may book for, with their age.")
    async def alsh_children(self, info: Info) -> list[AlshChild]:
        on = today()
        return [AlshChild(id=_id(c.id), first_name=c.first_name, last_name=c.last_name, birth_date=c.birth_date,
                          age=rules.age_on(c.birth_date, on) if c.birth_date else None,
                          marker=_marker(c.first_name), linked=linked)
                for c, linked in await service.bookable_children(actor(info))]

    @strawberry.field(description="Étape 2: establishments / modes / periods open to the child (age, window).")
    async def alsh_offers(self, info: Info, child_id: strawberry.ID) -> list[AlshPeriodType]:
        return [AlshPeriodType.of(p) for p in await service.offers(actor(info), parse_id(child_id, "childId"))]

    @strawberry.field(description="Étape 3: the period's days with places left per unit and the child's lines.")
    async def alsh_period_days(self, info: Info, child_id: strawberry.ID, period_id: strawberry.ID) -> list[AlshDay]:
        _, days = await service.period_days(actor(info), parse_id(child_id, "childId"), parse_id(period_id, "periodId"))
        return [AlshDay(date=d.date, open=not d.closed_label, closed_label=d.closed_label,
                        units=[AlshUnitPlaces(unit=AlshUnitType.of(u), remaining=r) for u, r in d.units],
                        booked=[AlshLine.of(ln) for ln in d.booked]) for d in days]

    @strawberry.field(description="Étape 4, « Récapitulatif »: validates the selection without writing.")
    async def alsh_booking_summary(self, info: Info, child_id: strawberry.ID, period_id: strawberry.ID,
                                   selections: list[AlshSelectionInput]) -> AlshSummary:
        p = await service.prepare(actor(info), parse_id(child_id, "childId"), parse_id(period_id, "periodId"),
                                  _selections(selections))
        return AlshSummary(child=f"{p.child.first_name} {p.child.last_name}", period=AlshPeriodType.of(p.period),
                           lines=[AlshSummaryLine(date=ln.date, unit=AlshUnitType.of(ln.unit), remaining=ln.remaining,
                                                  expected_state=ln.expected_state) for ln in p.lines])

    @strawberry.field(description="Mode recopie: the selection repeated over a range, weekdays or the period.")
    async def alsh_copy_preview(self, info: Info, input: AlshCopyInput) -> list[AlshSelection]:
        out = await service.expand_copy(actor(info), parse_id(input.child_id, "childId"),
                                        parse_id(input.period_id, "periodId"), _selections(input.selections),
                                        input.range_start, input.range_end, input.weekdays, input.whole_period)
        return [AlshSelection(date=s.date, unit_id=_id(s.unit_id)) for s in out]

    @strawberry.field
    async def alsh_booking(self, info: Info, id: strawberry.ID) -> AlshBookingType:
        booking, lines = await service.get_booking(actor(info), parse_id(id, "id"))
        return await AlshBookingType.of(booking, lines)

    @strawberry.field(description="« Historique »: state changes of the booking's lines, who and when.")
    async def alsh_booking_history(self, info: Info, id: strawberry.ID) -> list[AlshEvent]:
        return [AlshEvent.of(e) for e in await service.booking_history(actor(info), parse_id(id, "id"))]

    @strawberry.field(description="« Mon planning »: the month's bookings of the household.")
    async def alsh_planning(self, info: Info, month: date, child_ids: list[strawberry.ID] | None = None,
                            show_cancelled: bool = False, show_linked: bool = False) -> list[AlshPlanningEntry]:
        entries = await service.planning(actor(info), month, [parse_id(c, "childIds") for c in child_ids or []],
                                         show_cancelled, show_linked)
        ranks = await _ranks([e.line for e in entries])
        out = []
        for e in entries:
            b = e.line.booking
            out.append(AlshPlanningEntry(
                line=AlshLine.of(e.line, ranks.get(e.line.id)), booking_id=_id(b.id),
                booking_number=rules.booking_number(b.number), child_id=_id(b.child.id),
                child_name=f"{b.child.first_name} {b.child.last_name}", marker=_marker(b.child.first_name),
                establishment=b.period.mode.establishment.name, mode=b.period.mode.name, period=b.period.name,
                linked_to_other_account=e.linked))
        return out

    @strawberry.field(description="Staff: lines waiting for a decision (default: en_attente, demande_annulation).")
    async def alsh_requests(self, info: Info, establishment_id: strawberry.ID | None = None,
                            states: list[str] | None = None) -> list[AlshStaffLine]:
        lines = await service.staff_requests(actor(info), parse_id(establishment_id, "establishmentId")
                                             if establishment_id else None, states)
        ranks = await _ranks(lines)
        return [AlshStaffLine(line=AlshLine.of(ln, ranks.get(ln.id)), booking_number=rules.booking_number(ln.booking.number),
                              child_name=f"{ln.booking.child.first_name} {ln.booking.child.last_name}",
                              establishment=ln.booking.period.mode.establishment.name, period=ln.booking.period.name)
                for ln in lines]

    @strawberry.field(description="Staff: the day's children per unit, medical alerts and who may collect them.")
    async def alsh_day_list(self, info: Info, establishment_id: strawberry.ID, date: date) -> list[AlshDayChild]:
        _, entries = await service.day_list(actor(info), parse_id(establishment_id, "establishmentId"), date)
        return [AlshDayChild(line_id=_id(e.line.id), unit=e.line.unit.name, child_id=_id(e.child.id),
                             first_name=e.child.first_name, last_name=e.child.last_name, has_pai=e.child.has_pai,
                             allergies=e.child.allergies, present=e.line.present,
                             absence_justified=e.line.absence_justified,
                             may_collect=[AlshCollector(first_name=p.first_name, last_name=p.last_name,
                                                        relation=p.relation, phone_mobile=p.phone_mobile)
                                          for p in e.collectors]) for e in entries]

    @strawberry.field(description="Staff: establishments of the agent's services.")
    async def alsh_establishments(self, info: Info) -> list[AlshEstablishmentType]:
        services = service._staff_services(actor(info))
        query = AlshEstablishment.all().order_by("name")
        if services is not None:
            query = query.filter(service_code__in=list(services))
        return [AlshEstablishmentType(id=_id(e.id), name=e.name, service_code=e.service_code) for e in await query]


@strawberry.type
class AlshMutation:
    @strawberry.mutation(description="« Valider »: a numbered booking, one line per (day, unit).")
    async def submit_alsh_booking(self, info: Info, child_id: strawberry.ID, period_id: strawberry.ID,
                                  selections: list[AlshSelectionInput]) -> AlshBookingType:
        booking = await service.submit(actor(info), parse_id(child_id, "childId"), parse_id(period_id, "periodId"),
                                       _selections(selections))
        return await AlshBookingType.of(booking)

    @strawberry.mutation(description="Mode recopie: book the repeated selection for each target child.")
    async def submit_alsh_copy(self, info: Info, input: AlshCopyInput) -> list[AlshBookingType]:
        bookings = await service.submit_copy(
            actor(info), parse_id(input.child_id, "childId"), parse_id(input.period_id, "periodId"),
            _selections(input.selections), input.range_start, input.range_end, input.weekdays,
            [parse_id(t, "targetChildIds") for t in input.target_child_ids], input.whole_period)
        return [await AlshBookingType.of(b) for b in bookings]

    @strawberry.mutation(description="Cancel lines: free before the deadline, a request to the service after it.")
    async def cancel_alsh_lines(self, info: Info, line_ids: list[strawberry.ID]) -> list[AlshLine]:
        lines = await service.cancel_lines(actor(info), [parse_id(i, "lineIds") for i in line_ids])
        return [AlshLine.of(ln) for ln in lines]

    @strawberry.mutation(description="Staff: accept / refuse lines (with reason), decide cancellation requests.")
    async def process_alsh_lines(self, info: Info, decisions: list[AlshDecisionInput]) -> list[AlshLine]:
        lines = await service.process(actor(info), [
            service.Decision(line_id=parse_id(d.line_id, "decisions"), action=d.action, reason=d.reason,
                             waive_billing=d.waive_billing) for d in decisions])
        return [AlshLine.of(ln) for ln in lines]

    @strawberry.mutation(description="Staff: mark presence or absence (justified absences are not billed).")
    async def mark_alsh_presence(self, info: Info, line_id: strawberry.ID, present: bool,
                                 justified: bool = False) -> AlshLine:
        line = await service.mark_presence(actor(info), parse_id(line_id, "lineId"), present, justified)
        await line.fetch_related("unit")
        return AlshLine.of(line)

    @strawberry.mutation(description="Staff: let another household book for a child (garde alternée).")
    async def link_alsh_child(self, info: Info, child_id: strawberry.ID, household_id: strawberry.ID) -> bool:
        await service.link_child(actor(info), parse_id(child_id, "childId"), parse_id(household_id, "householdId"))
        return True


@strawberry.type
class AlshAdminMutation:
    @strawberry.mutation(description="Staff: a new establishment (ALSH / PAJ) of one of the agent's services.")
    async def create_alsh_establishment(self, info: Info, name: str, service_code: str,
                                        address: str = "") -> AlshEstablishmentType:
        e = await service.create_establishment(actor(info), name, service_code, address)
        return AlshEstablishmentType(id=_id(e.id), name=e.name, service_code=e.service_code)

    @strawberry.mutation(description="Staff: a mode d'accueil (MERCREDIS, VACANCES, périscolaire…).")
    async def create_alsh_mode(self, info: Info, establishment_id: strawberry.ID, name: str,
                               kind: str = "mercredis") -> strawberry.ID:
        mode = await service.create_mode(actor(info), parse_id(establishment_id, "establishmentId"), name, kind)
        return _id(mode.id)

    @strawberry.mutation(description="Staff: a bookable period with its window and cancellation rule.")
    async def create_alsh_period(self, info: Info, input: AlshPeriodInput) -> AlshPeriodType:
        period = await service.create_period(actor(info), service.PeriodInput(
            mode_id=parse_id(input.mode_id, "modeId"), name=input.name, start_date=input.start_date,
            end_date=input.end_date, opens_at=input.opens_at, closes_at=input.closes_at, weekdays=input.weekdays,
            cancel_days_before=input.cancel_days_before, cancel_time=input.cancel_time,
            cancel_working_days=input.cancel_working_days, min_age=input.min_age, max_age=input.max_age,
            auto_accept=input.auto_accept))
        return AlshPeriodType.of(period)

    @strawberry.mutation(description="Staff: a unit bookable per day, with capacity, tariff and rules.")
    async def create_alsh_unit(self, info: Info, input: AlshUnitInput) -> AlshUnitType:
        unit = await service.add_unit(actor(info), parse_id(input.period_id, "periodId"), input.code, input.name,
                                      input.capacity, input.tariff, list(input.excludes), list(input.requires),
                                      input.billing_label)
        return AlshUnitType.of(unit)

    @strawberry.mutation(description="Staff: change a unit's capacity (new places go to the waiting lists).")
    async def set_alsh_unit_capacity(self, info: Info, unit_id: strawberry.ID, capacity: int) -> AlshUnitType:
        return AlshUnitType.of(await service.set_capacity(actor(info), parse_id(unit_id, "unitId"), capacity))

    @strawberry.mutation(description="Staff: close an establishment on a day (public holidays are automatic).")
    async def add_alsh_closed_day(self, info: Info, establishment_id: strawberry.ID, date: date,
                                  label: str = "Fermé") -> bool:
        await service.add_closed_day(actor(info), parse_id(establishment_id, "establishmentId"), date, label)
        return True




@strawberry.type
class AlshAllMutation(AlshMutation, AlshAdminMutation):
    pass


contribution = GraphQLContribution(query=AlshQuery, mutation=AlshAllMutation)
