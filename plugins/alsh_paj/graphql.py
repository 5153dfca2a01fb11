"""GraphQL of ALSH / PAJ: thin types and resolvers over plugins.alsh_paj.service.

Names, formats and pages follow docs/graphql.md: every type starts with `AlshPaj`, queries with
`alshPaj`, mutations are `<verb>AlshPaj<Noun>`; closed sets are `LabelledEnum`s; weekdays are ISO
(1 = Monday); months are `YearMonth`; growing lists are `Page`s.
"""

from __future__ import annotations

from datetime import date, datetime
from typing import Annotated

import strawberry
from strawberry.types import Info

from core.config import get_settings
from core.contributions import GraphQLContribution
from core.errors import ValidationError
from core.graphql_support import (
    DEFAULT_PAGE_SIZE,
    LabelledEnum,
    Limit,
    Offset,
    Page,
    YearMonth,
    actor,
    graphql_enum,
    page_of,
    paginate,
    parse_id,
)
from core.timeutil import today
from plugins.alsh_paj import rules, service
from plugins.alsh_paj.models import (
    AlshBooking,
    AlshBookingLine,
    AlshClosedDay,
    AlshEstablishment,
    AlshLineEvent,
    AlshMode,
    AlshPeriod,
    AlshUnit,
)

FAMILY = "Family (a confirmed account of the household, or of a household linked to the child)."
STAFF = "Staff: an agent of the establishment's service, or an admin."
AUTH = "UNAUTHENTICATED, INVALID_ID"


def _id(value: int) -> strawberry.ID:
    return strawberry.ID(str(value))


def _arg(description: str) -> object:
    return strawberry.argument(description=description)


# ---- enums -------------------------------------------------------------------------------------------

class AlshPajLineState(LabelledEnum):
    PENDING = ("en_attente", "En attente de traitement", "Asked by the family, waiting for the service's decision; "
               "the place is held.")
    ACCEPTED = ("acceptee", "Acceptée", "Accepted: the child is expected and the day is billed.")
    REFUSED = ("refusee", "Refusée", "Refused by the service (`reason` says why) or full with the waiting list off.")
    CANCELLATION_REQUESTED = ("demande_annulation", "Demande d'annulation",
                              "The family asked to cancel after the deadline; the service decides. Still held.")
    CANCELLED = ("annulee", "Annulée", "Cancelled; billed only when cancelled late and not waived.")
    WAITING_LIST = ("liste_attente", "Liste d'attente", "The day was full: on the waiting list (`waitingRank`); "
                    "accepted automatically when a place is freed.")
    EXPIRED = ("expiree", "Expirée", "A request nobody decided before its day: nothing is billed.")
    CANCELLATION_REQUEST_EXPIRED = ("demande_annulation_expiree", "Demande d'annulation expirée",
                                    "A late cancellation request nobody decided before the day: the day stays "
                                    "accepted, hence billed.")


graphql_enum(AlshPajLineState, description="State of one booked (day, unit) line, as the family sees it.")


class AlshPajExpectedOutcome(LabelledEnum):
    PLACE_AVAILABLE = ("place_disponible", "Place disponible", "A place is left now: the line will be pending "
                       "(or accepted when the period accepts automatically).")
    WAITING_LIST = ("liste_attente", "Liste d'attente", "The day is full now: the line will go on the waiting "
                    "list (or be refused when the community has no waiting list).")


graphql_enum(AlshPajExpectedOutcome, description="What the « Récapitulatif » expects for a line if submitted now.")


class AlshPajDecisionAction(LabelledEnum):
    ACCEPT = ("accept", "Accepter", "Accept a pending or waiting-list line (a waiting line needs a free place).")
    REFUSE = ("refuse", "Refuser", "Refuse a pending or waiting-list line; `reason` is required and shown "
              "to the family.")
    ACCEPT_CANCELLATION = ("accept_cancellation", "Accepter l'annulation",
                           "Accept a late cancellation request: the place is freed; the day stays billed "
                           "unless `waiveBilling`.")
    REFUSE_CANCELLATION = ("refuse_cancellation", "Refuser l'annulation",
                           "Refuse a late cancellation request: the line is accepted again.")


graphql_enum(AlshPajDecisionAction, description="A staff decision on one booking line.")


class AlshPajModeKind(LabelledEnum):
    WEDNESDAYS = ("mercredis", "Mercredis", "Wednesdays during the school term (périscolaire for the tax credit).")
    HOLIDAYS = ("vacances", "Vacances", "School holidays (extrascolaire).")
    AFTER_SCHOOL = ("periscolaire", "Périscolaire", "Before / after school (matin, soir).")
    MEALS = ("restauration", "Restauration", "School meals.")


graphql_enum(AlshPajModeKind, description="Kind of a mode d'accueil; decides the care nature on invoices.")


class AlshPajEstablishmentKind(LabelledEnum):
    ALSH = ("alsh", "ALSH", "Accueil de loisirs sans hébergement (children).")
    PAJ = ("paj", "PAJ", "Point accueil jeunes (teenagers).")


graphql_enum(AlshPajEstablishmentKind, description="Kind of an establishment, from the kind of its service.")


class AlshPajTariffMethod(LabelledEnum):
    FLAT = ("flat", "Forfait", "One price (`flatCents`).")
    QF_BRACKETS = ("qf_brackets", "Tranches de QF", "A price per quotient familial bracket (`brackets`); no QF "
                   "known: the last bracket.")
    TAUX_EFFORT = ("taux_effort", "Taux d'effort", "QF × `rate`, bounded by `floorCents` / `ceilingCents`.")
    DEGRESSIVE = ("degressive", "Dégressif", "A price per child rank in the household (`degressiveCents`).")


graphql_enum(AlshPajTariffMethod, description="How a unit's price is computed from the household.")


class AlshPajPresence(LabelledEnum):
    NOT_MARKED = ("not_marked", "Non pointé", "Not marked yet (output only).")
    PRESENT = ("present", "Présent", "The child came.")
    ABSENT = ("absent", "Absent", "The child did not come: billed unless justified in time.")
    JUSTIFIED_ABSENCE = ("justified", "Absence justifiée", "Absent with a justification: not billed.")


graphql_enum(AlshPajPresence, description="Attendance of a child on an accepted line.")


class AlshPajAffectedLinesChoice(LabelledEnum):
    KEEP = ("keep", "Conserver", "The lines stay booked as they are (outside the new calendar), billed as before.")
    CANCEL = ("cancel", "Annuler", "The lines are cancelled in time (never billed), their places freed, and each "
              "family is mailed the list.")


graphql_enum(AlshPajAffectedLinesChoice, description="What becomes of the booked lines a change takes away.")


def _presence(line: AlshBookingLine) -> AlshPajPresence:
    if line.present is None:
        return AlshPajPresence.NOT_MARKED
    if line.present:
        return AlshPajPresence.PRESENT
    return AlshPajPresence.JUSTIFIED_ABSENCE if line.absence_justified else AlshPajPresence.ABSENT


def _state(value: str) -> AlshPajLineState:
    return AlshPajLineState(value)


def _establishment_kind(service_code: str) -> AlshPajEstablishmentKind:
    configured = get_settings().service(service_code)
    return AlshPajEstablishmentKind.PAJ if configured is not None and configured.kind == "paj" \
        else AlshPajEstablishmentKind.ALSH


def _mode_kind(value: str) -> AlshPajModeKind:
    try:
        return AlshPajModeKind(value)
    except ValueError:
        return AlshPajModeKind.WEDNESDAYS


# ---- types -------------------------------------------------------------------------------------------

@strawberry.type(description="A child the caller may book for: of the household, or linked to it (garde alternée).")
class AlshPajChild:
    id: strawberry.ID = strawberry.field(description="The child's id (core `Child`).")
    first_name: str = strawberry.field(description="First name.")
    last_name: str = strawberry.field(description="Last name.")
    birth_date: date | None = strawberry.field(description="Birth date; null when unknown (then nothing is bookable).")
    age: int | None = strawberry.field(description="Age in whole years today; null without a birth date.")
    marker: str = strawberry.field(description="One capital letter marking the child on the planning.")
    is_linked: bool = strawberry.field(description="True for a child of another household, bookable through a "
                                       "garde alternée link.")


@strawberry.type(description="What is booked on a day (MERCREDI JOURNEE AVEC REPAS…), with its daily capacity.")
class AlshPajUnit:
    id: strawberry.ID = strawberry.field(description="The unit's id.")
    code: str = strawberry.field(description="Code, unique in its period, upper case (JOURNEE_REPAS).")
    name: str = strawberry.field(description="Name shown to families.")
    capacity: int = strawberry.field(description="Places per open day.")
    tariff_method: AlshPajTariffMethod | None = strawberry.field(
        description="How its price is computed; null when the unit is free.")
    excludes: list[str] = strawberry.field(description="Codes of units of the period that cannot be booked the same "
                                           "day. Not paginated: a few codes.")
    requires: list[str] = strawberry.field(description="Codes of units of which one must be booked the same day. "
                                           "Not paginated: a few codes.")

    @classmethod
    def of(cls, u: AlshUnit) -> AlshPajUnit:
        method = (u.tariff or {}).get("method")
        return cls(id=_id(u.id), code=u.code, name=u.name, capacity=u.capacity,
                   tariff_method=AlshPajTariffMethod(method) if method else None,
                   excludes=list(u.excludes or []), requires=list(u.requires or []))


@strawberry.type(description="A bookable period of a mode d'accueil: dates, booking window, ages, cancellation rule.")
class AlshPajPeriod:
    id: strawberry.ID = strawberry.field(description="The period's id.")
    name: str = strawberry.field(description="Name shown to families (« Mercredis Avril Mai »).")
    establishment_id: strawberry.ID = strawberry.field(description="Id of its establishment.")
    establishment: str = strawberry.field(description="Name of its establishment.")
    mode_id: strawberry.ID = strawberry.field(description="Id of its mode d'accueil.")
    mode: str = strawberry.field(description="Name of its mode d'accueil (MERCREDIS).")
    start_date: date = strawberry.field(description="First day (Europe/Paris).")
    end_date: date = strawberry.field(description="Last day, included.")
    weekdays: list[int] = strawberry.field(description="ISO weekdays it is open (1 = Monday … 7 = Sunday). "
                                           "Not paginated: at most 7.")
    opens_at: datetime = strawberry.field(description="When families may start booking.")
    closes_at: datetime = strawberry.field(description="When family booking closes (staff may pass it).")
    min_age: int = strawberry.field(description="Youngest age accepted, in years on the first day.")
    max_age: int = strawberry.field(description="Oldest age accepted, in years on the first day.")
    auto_accept: bool = strawberry.field(description="True: a line with a place is accepted at once.")
    cancellation_rule: str = strawberry.field(description="The free-cancellation deadline in French "
                                              "(« 2 jour(s) ouvré(s) avant à 12:00 »).")

    @classmethod
    def of(cls, p: AlshPeriod) -> AlshPajPeriod:
        rule = f"{p.cancel_days_before} jour(s) {'ouvré(s) ' if p.cancel_working_days else ''}avant à {p.cancel_time}"
        return cls(id=_id(p.id), name=p.name, establishment_id=_id(p.mode.establishment.id),
                   establishment=p.mode.establishment.name, mode_id=_id(p.mode.id), mode=p.mode.name,
                   start_date=p.start_date, end_date=p.end_date, weekdays=list(p.weekdays or []),
                   opens_at=p.opens_at, closes_at=p.closes_at, min_age=p.min_age,
                   max_age=p.max_age, auto_accept=p.auto_accept, cancellation_rule=rule)


@strawberry.type(description="One (day, unit) of a booking with its own state and attendance.")
class AlshPajLine:
    id: strawberry.ID = strawberry.field(description="The line's id (for cancel, decisions, presence).")
    date: date = strawberry.field(description="The booked day.")
    unit_id: strawberry.ID = strawberry.field(description="Id of the booked unit.")
    unit: str = strawberry.field(description="Name of the booked unit.")
    state: AlshPajLineState = strawberry.field(description="State as the family sees it (past undecided "
                                               "requests show as expired).")
    state_label: str = strawberry.field(description="French label of `state` (« Acceptée »).")
    reason: str = strawberry.field(description="Reason of a refusal, shown to the family; may be empty.")
    waiting_rank: int | None = strawberry.field(description="1-based rank on the day's waiting list; null unless "
                                                "WAITING_LIST.")
    presence: AlshPajPresence = strawberry.field(description="Attendance marked by the staff.")
    presence_label: str = strawberry.field(description="French label of `presence`.")

    @classmethod
    def of(cls, ln: AlshBookingLine, rank: int | None = None, unit_name: str | None = None,
           on: date | None = None) -> AlshPajLine:
        """`unit_name` when the line was read without its unit (the month view), else `ln.unit`'s;
        `on`: today, when the caller shows many lines."""
        state = _state(rules.effective_state(ln.state, ln.date, on or today()))
        presence = _presence(ln)
        return cls(id=_id(ln.id), date=ln.date, unit_id=_id(ln.unit_id),  # type: ignore[attr-defined]
                   unit=unit_name if unit_name is not None else ln.unit.name,
                   state=state, state_label=state.label, reason=ln.reason,
                   waiting_rank=rank if state is AlshPajLineState.WAITING_LIST else None,
                   presence=presence, presence_label=presence.label)


@strawberry.type(description="Places left for one unit on one day.")
class AlshPajUnitPlaces:
    unit: AlshPajUnit = strawberry.field(description="The unit.")
    remaining: int = strawberry.field(description="Places left now (0: a new line goes on the waiting list).")


@strawberry.type(description="One day of a period's calendar for a child: open or closed, places, the child's lines.")
class AlshPajDay:
    date: date = strawberry.field(description="The day.")
    is_open: bool = strawberry.field(description="False on a closed day or public holiday (`closedLabel` says why).")
    closed_label: str = strawberry.field(description="Why it is closed (« Férié », « Fermeture »); empty when open.")
    units: list[AlshPajUnitPlaces] = strawberry.field(description="Places left per unit; empty on a closed day. "
                                                      "Not paginated: the period's few units.")
    booked: list[AlshPajLine] = strawberry.field(description="The child's lines that day. Not paginated: a few units.")


@strawberry.type(description="One line of the « Récapitulatif »: what would be asked, and the places left now.")
class AlshPajSummaryLine:
    date: date = strawberry.field(description="The day.")
    unit: AlshPajUnit = strawberry.field(description="The unit.")
    remaining: int = strawberry.field(description="Places left now (may change before submit).")
    expected_outcome: AlshPajExpectedOutcome = strawberry.field(description="What submitting now would give.")
    expected_outcome_label: str = strawberry.field(description="French label of `expectedOutcome`.")


@strawberry.type(description="The « Récapitulatif » of a selection: every check passed, nothing written.")
class AlshPajSummary:
    child: str = strawberry.field(description="The child's full name.")
    period: AlshPajPeriod = strawberry.field(description="The period.")
    lines: list[AlshPajSummaryLine] = strawberry.field(description="One per (day, unit), by day. Not paginated: "
                                                       "at most 400 selections.")


@strawberry.type(description="A state change of a booking line: who and when (the « Historique »).")
class AlshPajLineEvent:
    at: datetime = strawberry.field(description="When.")
    line_id: strawberry.ID = strawberry.field(description="The line's id.")
    date: date = strawberry.field(description="The line's day.")
    unit: str = strawberry.field(description="The line's unit name.")
    from_state: AlshPajLineState | None = strawberry.field(description="State before; null at creation.")
    to_state: AlshPajLineState = strawberry.field(description="State after (equal to `fromState` for a presence "
                                                  "mark).")
    to_state_label: str = strawberry.field(description="French label of `toState`.")
    by: str = strawberry.field(description="Who: the account's full name (or e-mail), « Système » for automatic "
                               "changes.")
    note: str = strawberry.field(description="A note (reason, deadline, presence), may be empty.")

    @classmethod
    def of(cls, e: AlshLineEvent) -> AlshPajLineEvent:
        by = e.actor.full_name or e.actor.email if e.actor else "Système"
        to_state = _state(e.to_state)
        return cls(at=e.at, line_id=_id(e.line.id), date=e.line.date, unit=e.line.unit.name,
                   from_state=_state(e.from_state) if e.from_state else None, to_state=to_state,
                   to_state_label=to_state.label, by=by, note=e.note)


@strawberry.type(description="A numbered booking (« Réservation n°00005 ») of one child for one period.")
class AlshPajBooking:
    id: strawberry.ID = strawberry.field(description="The booking's id.")
    number: str = strawberry.field(description="Community-wide number, 5 digits (« 00005 »).")
    child_id: strawberry.ID = strawberry.field(description="Id of the child.")
    household_id: strawberry.ID = strawberry.field(description="Id of the household that booked (and is billed).")
    period: AlshPajPeriod = strawberry.field(description="The period.")
    created_at: datetime = strawberry.field(description="When it was submitted.")
    lines: list[AlshPajLine] = strawberry.field(description="Its lines by day then unit. Not paginated: one period "
                                                "of one child.")

    @classmethod
    async def of(cls, b: AlshBooking, lines: list[AlshBookingLine] | None = None) -> AlshPajBooking:
        if lines is None:
            lines = await AlshBookingLine.filter(booking_id=b.id).select_related("unit").order_by("date", "unit_id")
        if not isinstance(b.period, AlshPeriod) or not hasattr(b.period.mode, "establishment"):
            await b.fetch_related("period__mode__establishment")
        ranks = await service.waiting_ranks(lines)
        return cls(id=_id(b.id), number=rules.booking_number(b.number), child_id=_id(b.child_id),  # type: ignore[attr-defined]
                   household_id=_id(b.household_id),  # type: ignore[attr-defined]
                   period=AlshPajPeriod.of(b.period), created_at=b.created_at,
                   lines=[AlshPajLine.of(ln, ranks.get(ln.id)) for ln in lines])


@strawberry.type(description="One line of « Mon planning » with its booking, child and place.")
class AlshPajPlanningEntry:
    line: AlshPajLine = strawberry.field(description="The line.")
    booking_id: strawberry.ID = strawberry.field(description="Id of its booking.")
    booking_number: str = strawberry.field(description="Number of its booking (« 00005 »).")
    child_id: strawberry.ID = strawberry.field(description="Id of the child.")
    child_name: str = strawberry.field(description="The child's full name.")
    marker: str = strawberry.field(description="The child's one-letter marker.")
    establishment: str = strawberry.field(description="Establishment name.")
    mode: str = strawberry.field(description="Mode d'accueil name.")
    period: str = strawberry.field(description="Period name.")
    is_booked_by_other_account: bool = strawberry.field(description="True when another household booked it "
                                                        "(garde alternée); it cannot cancel it.")


@strawberry.type(description="A person the child may leave with.")
class AlshPajCollector:
    first_name: str = strawberry.field(description="First name.")
    last_name: str = strawberry.field(description="Last name.")
    relation: str = strawberry.field(description="Relation to the child (free text: « grand-mère »).")
    phone_mobile: str = strawberry.field(description="Mobile phone as entered.")


@strawberry.type(description="A child expected on a day, for the staff's day list (medical alerts, who collects).")
class AlshPajDayChild:
    line_id: strawberry.ID = strawberry.field(description="The line's id (for `markAlshPajPresence`).")
    unit: str = strawberry.field(description="Unit name.")
    child_id: strawberry.ID = strawberry.field(description="The child's id.")
    first_name: str = strawberry.field(description="First name.")
    last_name: str = strawberry.field(description="Last name.")
    has_pai: bool = strawberry.field(description="True when the child has a PAI (projet d'accueil individualisé).")
    allergies: str = strawberry.field(description="Allergies as entered by the family (medical data, audited read).")
    presence: AlshPajPresence = strawberry.field(description="Attendance marked so far.")
    presence_label: str = strawberry.field(description="French label of `presence`.")
    may_collect: list[AlshPajCollector] = strawberry.field(description="Who may collect the child. Not paginated: "
                                                           "a few people.")


@strawberry.type(description="A line waiting for a staff decision, with its booking and child.")
class AlshPajRequest:
    line: AlshPajLine = strawberry.field(description="The line.")
    booking_id: strawberry.ID = strawberry.field(description="Id of its booking.")
    booking_number: str = strawberry.field(description="Number of its booking.")
    child_name: str = strawberry.field(description="The child's full name.")
    household_id: strawberry.ID = strawberry.field(description="Id of the booking household.")
    establishment: str = strawberry.field(description="Establishment name.")
    period: str = strawberry.field(description="Period name.")

    @classmethod
    def of(cls, ln: AlshBookingLine, rank: int | None = None) -> AlshPajRequest:
        b = ln.booking
        return cls(line=AlshPajLine.of(ln, rank), booking_id=_id(b.id), booking_number=rules.booking_number(b.number),
                   child_name=f"{b.child.first_name} {b.child.last_name}",
                   household_id=_id(b.household_id),  # type: ignore[attr-defined]
                   establishment=b.period.mode.establishment.name, period=b.period.name)


@strawberry.type(description="An ALSH or PAJ run by one service of the community.")
class AlshPajEstablishment:
    id: strawberry.ID = strawberry.field(description="The establishment's id.")
    name: str = strawberry.field(description="Name (« ALSH BRAUD ET ST LOUIS »).")
    service_code: str = strawberry.field(description="Code of the service running it (its agents manage it).")
    address: str = strawberry.field(description="Postal address, may be empty.")
    kind: AlshPajEstablishmentKind = strawberry.field(description="ALSH or PAJ, from its service's kind.")
    kind_label: str = strawberry.field(description="French label of `kind`.")

    @classmethod
    def of(cls, e: AlshEstablishment) -> AlshPajEstablishment:
        kind = _establishment_kind(e.service_code)
        return cls(id=_id(e.id), name=e.name, service_code=e.service_code, address=e.address, kind=kind,
                   kind_label=kind.label)


@strawberry.type(description="A mode d'accueil of an establishment (MERCREDIS, VACANCES…).")
class AlshPajMode:
    id: strawberry.ID = strawberry.field(description="The mode's id.")
    establishment_id: strawberry.ID = strawberry.field(description="Id of its establishment.")
    name: str = strawberry.field(description="Name shown to families.")
    kind: AlshPajModeKind = strawberry.field(description="Kind (decides the care nature on invoices).")
    kind_label: str = strawberry.field(description="French label of `kind`.")

    @classmethod
    def of(cls, m: AlshMode) -> AlshPajMode:
        kind = _mode_kind(m.kind)
        return cls(id=_id(m.id), establishment_id=_id(m.establishment_id), name=m.name,  # type: ignore[attr-defined]
                   kind=kind, kind_label=kind.label)


@strawberry.type(description="A day an establishment is closed (public holidays need none).")
class AlshPajClosedDay:
    id: strawberry.ID = strawberry.field(description="The closed day's id.")
    establishment_id: strawberry.ID = strawberry.field(description="Id of the establishment.")
    date: date = strawberry.field(description="The day.")
    label: str = strawberry.field(description="Shown to families on the calendar (« Fermeture »).")

    @classmethod
    def of(cls, row: AlshClosedDay) -> AlshPajClosedDay:
        return cls(id=_id(row.id), establishment_id=_id(row.establishment_id),  # type: ignore[attr-defined]
                   date=row.date, label=row.label)


@strawberry.type(description="A garde alternée link: another household may book for the child (and is billed).")
class AlshPajChildLink:
    id: strawberry.ID = strawberry.field(description="The link's id.")
    child_id: strawberry.ID = strawberry.field(description="The child's id.")
    household_id: strawberry.ID = strawberry.field(description="The household allowed to book.")
    created_at: datetime = strawberry.field(description="When it was made.")


@strawberry.type(description="One (day, unit) of a copied selection.")
class AlshPajSelection:
    date: date = strawberry.field(description="The day.")
    unit_id: strawberry.ID = strawberry.field(description="The unit's id.")


# ---- inputs ------------------------------------------------------------------------------------------

@strawberry.input(description="One (day, unit) chosen in the wizard.")
class AlshPajSelectionInput:
    date: date = strawberry.field(description="An open day of the period, today or later.")
    unit_id: strawberry.ID = strawberry.field(description="A unit of the period.")


@strawberry.input(description="Mode recopie: a source selection repeated over a range, weekdays or the whole period.")
class AlshPajCopyInput:
    child_id: strawberry.ID = strawberry.field(description="The source child.")
    period_id: strawberry.ID = strawberry.field(description="The period.")
    selections: list[AlshPajSelectionInput] = strawberry.field(description="The source days and units.")
    range_start: date | None = strawberry.field(default=None, description="First day of the range (with "
                                                "`rangeEnd`); default: the period's start.")
    range_end: date | None = strawberry.field(default=None, description="Last day of the range, included.")
    weekdays: list[int] | None = strawberry.field(default=None, description="ISO weekdays to copy to (1 = Monday "
                                                  "… 7 = Sunday); default: the source days' weekdays.")
    whole_period: bool = strawberry.field(default=False, description="True: the whole period, ignoring the range.")
    target_child_ids: list[strawberry.ID] = strawberry.field(default_factory=list, description=(
        "Children to book it for (default: the source child)."))


@strawberry.input(description="A staff decision on one line.")
class AlshPajDecisionInput:
    line_id: strawberry.ID = strawberry.field(description="The line's id.")
    action: AlshPajDecisionAction = strawberry.field(description="What to do.")
    reason: str = strawberry.field(default="", description="Required to REFUSE (shown to the family, 300 "
                                   "characters kept); a note otherwise.")
    waive_billing: bool = strawberry.field(default=False, description="ACCEPT_CANCELLATION only: the late-cancelled "
                                           "day is not billed.")


@strawberry.input(description="A new bookable period.")
class AlshPajPeriodInput:
    mode_id: strawberry.ID = strawberry.field(description="The mode d'accueil.")
    name: str = strawberry.field(description="Name shown to families.")
    start_date: date = strawberry.field(description="First day.")
    end_date: date = strawberry.field(description="Last day, included; not before `startDate`.")
    opens_at: datetime = strawberry.field(description="When family booking opens.")
    closes_at: datetime = strawberry.field(description="When family booking closes; after `opensAt`.")
    weekdays: list[int] = strawberry.field(description="ISO weekdays the period is open (1 = Monday … 7 = Sunday; "
                                           "3 = Wednesday).")
    # Defaults come from the service's PeriodInput: one place decides them.
    cancel_days_before: int = strawberry.field(default=service.PeriodInput.cancel_days_before, description=(
        "Free cancellation until this many days before the day (≥ 0)."))
    cancel_time: str = strawberry.field(default=service.PeriodInput.cancel_time, description=(
        "… at this time, `HH:MM` Europe/Paris."))
    cancel_working_days: bool = strawberry.field(default=service.PeriodInput.cancel_working_days, description=(
        "True: count working days only (weekends and public holidays skipped)."))
    min_age: int = strawberry.field(default=service.PeriodInput.min_age, description="Youngest age, years.")
    max_age: int = strawberry.field(default=service.PeriodInput.max_age, description="Oldest age, years.")
    auto_accept: bool = strawberry.field(default=service.PeriodInput.auto_accept, description=(
        "True: a line with a place is accepted at once."))


@strawberry.input(description="One bracket of a QF tariff.")
class AlshPajTariffBracketInput:
    qf_max: int | None = strawberry.field(default=None, description="Upper QF bound, included; null for the last "
                                          "bracket (no ceiling).")
    price_cents: int = strawberry.field(description="Price of a unit in this bracket, euro cents.")


@strawberry.input(description="A unit's tariff (core billing tariff grid).")
class AlshPajTariffInput:
    method: AlshPajTariffMethod = strawberry.field(description="How the price is computed.")
    flat_cents: int = strawberry.field(default=0, description="FLAT: the price, euro cents.")
    brackets: list[AlshPajTariffBracketInput] = strawberry.field(default_factory=list, description=(
        "QF_BRACKETS: brackets by increasing `qfMax`, the last without a ceiling."))
    rate: str = strawberry.field(default="0", description="TAUX_EFFORT: the rate, a decimal (`0.000619`).")
    floor_cents: int = strawberry.field(default=0, description="TAUX_EFFORT: minimum price, euro cents.")
    ceiling_cents: int = strawberry.field(default=0, description="TAUX_EFFORT: maximum price, euro cents.")
    degressive_cents: list[int] = strawberry.field(default_factory=list, description=(
        "DEGRESSIVE: price per child rank, euro cents."))
    meal_cents: int = strawberry.field(default=0, description="The meal's part of the price, euro cents (left out "
                                       "of the childcare tax credit).")
    is_childcare: bool = strawberry.field(default=True, description="False for an outing or supplement: not "
                                          "childcare for the tax credit.")

    def as_config(self) -> dict:
        out: dict = {"method": self.method.value}
        if self.method is AlshPajTariffMethod.FLAT:
            out["flat_cents"] = self.flat_cents
        if self.brackets:
            out["brackets"] = [[b.qf_max if b.qf_max is not None else "max", b.price_cents] for b in self.brackets]
        if self.method is AlshPajTariffMethod.TAUX_EFFORT:
            out.update(rate=self.rate, floor_cents=self.floor_cents, ceiling_cents=self.ceiling_cents)
        if self.degressive_cents:
            out["degressive_cents"] = list(self.degressive_cents)
        if self.meal_cents:
            out["meal_cents"] = self.meal_cents
        if not self.is_childcare:
            out["childcare"] = False
        return out


@strawberry.input(description="A new unit of a period.")
class AlshPajUnitInput:
    period_id: strawberry.ID = strawberry.field(description="The period.")
    code: str = strawberry.field(description="Code, unique in the period (stored upper case).")
    name: str = strawberry.field(description="Name shown to families.")
    capacity: int = strawberry.field(description="Places per open day, ≥ 0.")
    tariff: AlshPajTariffInput | None = strawberry.field(default=None, description="Price; null: free.")
    excludes: list[str] = strawberry.field(default_factory=list, description="Codes of units that cannot be booked "
                                           "the same day.")
    requires: list[str] = strawberry.field(default_factory=list, description="Codes of units of which one must be "
                                           "booked the same day.")
    billing_label: str = strawberry.field(default="", description="Invoice line label; default: the name.")


def _selections(items: list[AlshPajSelectionInput]) -> list[service.Selection]:
    return [service.Selection(date=s.date, unit_id=parse_id(s.unit_id, "selections")) for s in items]


def _marker(first_name: str) -> str:
    return (first_name[:1] or "?").upper()


def _presence_arg(presence: AlshPajPresence) -> tuple[bool, bool]:
    if presence is AlshPajPresence.NOT_MARKED:
        raise ValidationError("Indiquez présent, absent ou absence justifiée.", code="INVALID_PRESENCE",
                              field="presence")
    return presence is AlshPajPresence.PRESENT, presence is AlshPajPresence.JUSTIFIED_ABSENCE


ChildId = Annotated[strawberry.ID, _arg("The child's id.")]
OnBehalf = Annotated[strawberry.ID | None, _arg(
    "Staff only: the household an agent of the period's service (or an admin) books for, at the desk or on "
    "the phone; null for the caller's own household. A family giving it: FORBIDDEN.")]
OverrideReason = Annotated[str | None, _arg(
    "Staff only, with `householdId`: why a rule an agent may pass is passed (booking window closed, documents "
    "pending validation, unpaid balance, a past day for back-fill); audited. Without it such a rule answers "
    "its error with `extensions.overridable: true`. Capacity, closed days, age and missing documents are never "
    "passed. A family giving it: FORBIDDEN.")]
ON_BEHALF = (" With `householdId`: an agent of the period's service or an admin, for that household; lines with a "
             "place are accepted at once and the family is mailed.")
PeriodId = Annotated[strawberry.ID, _arg("The period's id.")]
EstablishmentId = Annotated[strawberry.ID, _arg("The establishment's id.")]


@strawberry.type
class AlshQuery:
    @strawberry.field(description=f"Wizard step 1: the children the family may book for, with their age. {FAMILY} "
                      "Not paginated: the household's children. Errors: UNAUTHENTICATED, NOT_FOUND, FORBIDDEN (a family naming "
                      "a household).")
    async def alsh_paj_children(self, info: Info, household_id: OnBehalf = None) -> list[AlshPajChild] | None:
        on = today()
        return [AlshPajChild(id=_id(c.id), first_name=c.first_name, last_name=c.last_name, birth_date=c.birth_date,
                             age=rules.age_on(c.birth_date, on) if c.birth_date else None,
                             marker=_marker(c.first_name), is_linked=linked)
                for c, linked in await service.bookable_children(
                    actor(info), parse_id(household_id, "householdId") if household_id else None)]

    @strawberry.field(description=f"Wizard step 2: the periods open to the child now (booking window, age), by start "
                      f"date. {FAMILY} Not paginated: the few periods open at one time. Errors: {AUTH}, NOT_FOUND.")
    async def alsh_paj_offers(self, info: Info, child_id: ChildId, household_id: OnBehalf = None,
                              ) -> list[AlshPajPeriod] | None:
        return [AlshPajPeriod.of(p) for p in await service.offers(
            actor(info), parse_id(child_id, "childId"), parse_id(household_id, "householdId") if household_id else None)]

    @strawberry.field(description=f"Wizard step 3: the period's days with places left per unit and the child's "
                      f"lines, by date. {FAMILY} Not paginated: the days of one period. Errors: {AUTH}, NOT_FOUND.")
    async def alsh_paj_period_days(self, info: Info, child_id: ChildId, period_id: PeriodId,
                                   household_id: OnBehalf = None) -> list[AlshPajDay] | None:
        _, days = await service.period_days(actor(info), parse_id(child_id, "childId"), parse_id(period_id, "periodId"),
                                            parse_id(household_id, "householdId") if household_id else None)
        return [AlshPajDay(date=d.date, is_open=not d.closed_label, closed_label=d.closed_label,
                           units=[AlshPajUnitPlaces(unit=AlshPajUnit.of(u), remaining=r) for u, r in d.units],
                           booked=[AlshPajLine.of(ln) for ln in d.booked]) for d in days]

    @strawberry.field(description=(
        f"Wizard step 4, « Récapitulatif »: every check of `submitAlshPajBooking`, nothing written. {FAMILY} "
        f"Errors: {AUTH}, EMAIL_NOT_CONFIRMED, NOT_FOUND, BOOKING_CLOSED, AGE_NOT_ALLOWED, PREREQUISITES_MISSING, "
        "UNPAID_BALANCE, EMPTY_SELECTION, TOO_MANY_SELECTIONS, UNKNOWN_UNIT, DAY_NOT_BOOKABLE, ALREADY_BOOKED, "
        f"UNIT_EXCLUDED, UNIT_REQUIRES, FORBIDDEN.{ON_BEHALF}"))
    async def alsh_paj_booking_summary(
            self, info: Info, child_id: ChildId, period_id: PeriodId,
            selections: Annotated[list[AlshPajSelectionInput], _arg("The chosen (day, unit) pairs.")],
            household_id: OnBehalf = None, override_reason: OverrideReason = None,
    ) -> AlshPajSummary | None:
        p = await service.prepare(actor(info), parse_id(child_id, "childId"), parse_id(period_id, "periodId"),
                                  _selections(selections),
                                  household_id=parse_id(household_id, "householdId") if household_id else None,
                                  override_reason=override_reason)
        lines = []
        for ln in p.lines:
            outcome = AlshPajExpectedOutcome(ln.expected_state)
            lines.append(AlshPajSummaryLine(date=ln.date, unit=AlshPajUnit.of(ln.unit), remaining=ln.remaining,
                                            expected_outcome=outcome, expected_outcome_label=outcome.label))
        return AlshPajSummary(child=f"{p.child.first_name} {p.child.last_name}", period=AlshPajPeriod.of(p.period),
                              lines=lines)

    @strawberry.field(description=(
        f"Mode recopie: the selection repeated over a range, weekdays or the period, from today on, by date. "
        f"{FAMILY} Not paginated: the days of one period. Errors: {AUTH}, NOT_FOUND, EMPTY_SELECTION, "
        "TOO_MANY_SELECTIONS, INVALID_RANGE, INVALID_WEEKDAY."))
    async def alsh_paj_copy_preview(self, info: Info, input: Annotated[AlshPajCopyInput, _arg("What to copy.")],
                                    ) -> list[AlshPajSelection] | None:
        out = await service.expand_copy(actor(info), parse_id(input.child_id, "childId"),
                                        parse_id(input.period_id, "periodId"), _selections(input.selections),
                                        input.range_start, input.range_end, input.weekdays, input.whole_period)
        return [AlshPajSelection(date=s.date, unit_id=_id(s.unit_id)) for s in out]

    @strawberry.field(description=f"One booking with its lines. {FAMILY} Or {STAFF} Errors: {AUTH}, NOT_FOUND.")
    async def alsh_paj_booking(self, info: Info, id: Annotated[strawberry.ID, _arg("The booking's id.")],
                               ) -> AlshPajBooking | None:
        booking, lines = await service.get_booking(actor(info), parse_id(id, "id"))
        return await AlshPajBooking.of(booking, lines)

    @strawberry.field(description=(
        f"« Historique »: the state changes of the booking's lines, oldest first. {FAMILY} Or {STAFF} "
        f"Errors: {AUTH}, NOT_FOUND, INVALID_PAGE."))
    async def alsh_paj_booking_history(self, info: Info, id: Annotated[strawberry.ID, _arg("The booking's id.")],
                                       limit: Limit = DEFAULT_PAGE_SIZE, offset: Offset = 0,
                                       ) -> Page[AlshPajLineEvent] | None:
        events = await service.booking_history(actor(info), parse_id(id, "id"))
        page = page_of(events, limit, offset)
        return Page(items=[AlshPajLineEvent.of(e) for e in page.items], total=page.total, limit=limit, offset=offset)

    @strawberry.field(description=(
        f"« Mon planning »: the month's lines of the household, by date, child, unit. {FAMILY} Not paginated: one "
        f"month of one household. Errors: {AUTH}, NOT_FOUND."))
    async def alsh_paj_planning(
            self, info: Info, month: Annotated[YearMonth, _arg("The month shown, `YYYY-MM`.")],
            child_ids: Annotated[list[strawberry.ID] | None, _arg("Only these children; default: all.")] = None,
            show_cancelled: Annotated[bool, _arg("Also cancelled and refused lines.")] = False,
            show_linked: Annotated[bool, _arg("Also lines another household booked for the household's children "
                                              "(garde alternée).")] = False,
    ) -> list[AlshPajPlanningEntry] | None:
        entries = await service.planning(actor(info), month, [parse_id(c, "childIds") for c in child_ids or []],
                                         show_cancelled, show_linked)
        on, of_booking = today(), {}  # what each booking shows, worked out once for its lines
        out = []
        for e in entries:
            b = e.booking
            shown = of_booking.get(b.id)
            if shown is None:
                shown = of_booking[b.id] = dict(
                    booking_id=_id(b.id), booking_number=rules.booking_number(b.number), child_id=_id(b.child.id),
                    child_name=f"{b.child.first_name} {b.child.last_name}", marker=_marker(b.child.first_name),
                    establishment=b.period.mode.establishment.name, mode=b.period.mode.name, period=b.period.name,
                    is_booked_by_other_account=e.linked)
            out.append(AlshPajPlanningEntry(line=AlshPajLine.of(e.line, e.waiting_rank, e.unit_name, on), **shown))
        return out

    @strawberry.field(description=(
        f"Staff: lines waiting for a decision in the agent's services, by date then id (default states: PENDING, "
        f"CANCELLATION_REQUESTED). {STAFF} Errors: {AUTH}, FORBIDDEN, INVALID_PAGE."))
    async def alsh_paj_requests(
            self, info: Info,
            establishment_id: Annotated[strawberry.ID | None, _arg("Only this establishment.")] = None,
            states: Annotated[list[AlshPajLineState] | None, _arg("Only lines in these stored states.")] = None,
            limit: Limit = DEFAULT_PAGE_SIZE, offset: Offset = 0,
    ) -> Page[AlshPajRequest] | None:
        query = service.staff_requests_query(
            actor(info), parse_id(establishment_id, "establishmentId") if establishment_id else None,
            [s.value for s in states] if states else None)
        page = await paginate(query, limit, offset)
        ranks = await service.waiting_ranks(page.items)
        return Page(items=[AlshPajRequest.of(ln, ranks.get(ln.id)) for ln in page.items], total=page.total,
                    limit=limit, offset=offset)

    @strawberry.field(description=(
        f"Staff: the day's accepted children by unit then name, with medical alerts and who may collect them "
        f"(the read is audited). {STAFF} Errors: {AUTH}, FORBIDDEN, NOT_FOUND, INVALID_PAGE."))
    async def alsh_paj_day_list(self, info: Info, establishment_id: EstablishmentId,
                                date: Annotated[date, _arg("The day.")],
                                limit: Limit = DEFAULT_PAGE_SIZE, offset: Offset = 0) -> Page[AlshPajDayChild] | None:
        _, entries = await service.day_list(actor(info), parse_id(establishment_id, "establishmentId"), date)
        page = page_of(entries, limit, offset)
        items = []
        for e in page.items:
            presence = _presence(e.line)
            items.append(AlshPajDayChild(
                line_id=_id(e.line.id), unit=e.line.unit.name, child_id=_id(e.child.id),
                first_name=e.child.first_name, last_name=e.child.last_name, has_pai=e.child.has_pai,
                allergies=e.child.allergies, presence=presence, presence_label=presence.label,
                may_collect=[AlshPajCollector(first_name=p.first_name, last_name=p.last_name, relation=p.relation,
                                              phone_mobile=p.phone_mobile) for p in e.collectors]))
        return Page(items=items, total=page.total, limit=limit, offset=offset)

    @strawberry.field(description=(
        f"Staff: establishments of the agent's services (all for an admin), by name. {STAFF} Not paginated: the "
        "community's few establishments. Errors: UNAUTHENTICATED, FORBIDDEN."))
    async def alsh_paj_establishments(self, info: Info) -> list[AlshPajEstablishment] | None:
        services = service._staff_services(actor(info))
        query = AlshEstablishment.all().order_by("name")
        if services is not None:
            query = query.filter(service_code__in=list(services))
        return [AlshPajEstablishment.of(e) for e in await query]


@strawberry.type
class AlshMutation:
    @strawberry.mutation(description=(
        f"« Valider »: a numbered booking, one line per (day, unit), each with its state; the family is mailed. "
        f"{FAMILY} Errors: {AUTH}, EMAIL_NOT_CONFIRMED, NOT_FOUND, BOOKING_CLOSED, AGE_NOT_ALLOWED, "
        "PREREQUISITES_MISSING, UNPAID_BALANCE, EMPTY_SELECTION, TOO_MANY_SELECTIONS, UNKNOWN_UNIT, "
        "DAY_NOT_BOOKABLE, ALREADY_BOOKED, UNIT_EXCLUDED, UNIT_REQUIRES, NO_PLACE_LEFT (a past day, full), "
        f"FORBIDDEN.{ON_BEHALF}"))
    async def submit_alsh_paj_booking(
            self, info: Info, child_id: ChildId, period_id: PeriodId,
            selections: Annotated[list[AlshPajSelectionInput], _arg("The chosen (day, unit) pairs.")],
            household_id: OnBehalf = None, override_reason: OverrideReason = None,
    ) -> AlshPajBooking | None:
        booking = await service.submit(actor(info), parse_id(child_id, "childId"), parse_id(period_id, "periodId"),
                                       _selections(selections),
                                       household_id=parse_id(household_id, "householdId") if household_id else None,
                                       override_reason=override_reason)
        return await AlshPajBooking.of(booking)

    @strawberry.mutation(description=(
        f"Mode recopie: book the repeated selection for each target child (one booking each, all or none). "
        f"{FAMILY} Errors: as `submitAlshPajBooking`, and INVALID_RANGE, INVALID_WEEKDAY."))
    async def submit_alsh_paj_copy(self, info: Info, input: Annotated[AlshPajCopyInput, _arg("What to copy.")],
                                   ) -> list[AlshPajBooking] | None:
        bookings = await service.submit_copy(
            actor(info), parse_id(input.child_id, "childId"), parse_id(input.period_id, "periodId"),
            _selections(input.selections), input.range_start, input.range_end, input.weekdays,
            [parse_id(t, "targetChildIds") for t in input.target_child_ids], input.whole_period)
        return [await AlshPajBooking.of(b) for b in bookings]

    @strawberry.mutation(description=(
        f"Cancel lines: free before the deadline (CANCELLED, place freed), a request to the service after it "
        f"(CANCELLATION_REQUESTED); a waiting-list line leaves the list. {FAMILY} Errors: {AUTH}, "
        "EMAIL_NOT_CONFIRMED, NOT_FOUND, EMPTY_SELECTION, NOT_CANCELLABLE."))
    async def cancel_alsh_paj_lines(self, info: Info,
                                    line_ids: Annotated[list[strawberry.ID], _arg("The lines' ids.")],
                                    ) -> list[AlshPajLine] | None:
        lines = await service.cancel_lines(actor(info), [parse_id(i, "lineIds") for i in line_ids])
        return [AlshPajLine.of(ln) for ln in lines]

    @strawberry.mutation(description=(
        f"Staff: accept / refuse lines (with a reason), decide cancellation requests; each booking touched gets one "
        f"mail. All or none. {STAFF} Errors: {AUTH}, FORBIDDEN, NOT_FOUND, EMPTY_SELECTION, INVALID_STATE, "
        "REASON_REQUIRED, NO_PLACE_LEFT."))
    async def process_alsh_paj_lines(
            self, info: Info, decisions: Annotated[list[AlshPajDecisionInput], _arg("One decision per line.")],
    ) -> list[AlshPajLine] | None:
        lines = await service.process(actor(info), [
            service.Decision(line_id=parse_id(d.line_id, "decisions"), action=d.action.value, reason=d.reason,
                             waive_billing=d.waive_billing) for d in decisions])
        return [AlshPajLine.of(ln) for ln in lines]

    @strawberry.mutation(description=(
        f"Staff: mark presence or absence on an accepted line, today or a past day (justified absences are not "
        f"billed). {STAFF} Errors: {AUTH}, FORBIDDEN, NOT_FOUND, INVALID_STATE, FUTURE_DAY, INVALID_PRESENCE."))
    async def mark_alsh_paj_presence(
            self, info: Info, line_id: Annotated[strawberry.ID, _arg("The line's id.")],
            presence: Annotated[AlshPajPresence, _arg("PRESENT, ABSENT or JUSTIFIED_ABSENCE.")],
    ) -> AlshPajLine | None:
        present, justified = _presence_arg(presence)
        line = await service.mark_presence(actor(info), parse_id(line_id, "lineId"), present, justified)
        await line.fetch_related("unit")
        return AlshPajLine.of(line)

    @strawberry.mutation(description=(
        f"Staff: let another household book for a child (garde alternée); idempotent. {STAFF} "
        f"Errors: {AUTH}, FORBIDDEN, NOT_FOUND, SAME_HOUSEHOLD."))
    async def link_alsh_paj_child(self, info: Info, child_id: ChildId,
                                  household_id: Annotated[strawberry.ID, _arg("The household allowed to book.")],
                                  ) -> AlshPajChildLink | None:
        link = await service.link_child(actor(info), parse_id(child_id, "childId"),
                                        parse_id(household_id, "householdId"))
        return AlshPajChildLink(id=_id(link.id), child_id=_id(link.child_id),  # type: ignore[attr-defined]
                                household_id=_id(link.household_id),  # type: ignore[attr-defined]
                                created_at=link.created_at)


@strawberry.type
class AlshAdminMutation:
    @strawberry.mutation(description=(
        f"Staff: a new establishment (ALSH / PAJ) of one of the agent's services. {STAFF} "
        "Errors: UNAUTHENTICATED, FORBIDDEN, UNKNOWN_SERVICE, REQUIRED."))
    async def create_alsh_paj_establishment(
            self, info: Info, name: Annotated[str, _arg("Name.")],
            service_code: Annotated[str, _arg("Code of a service of kind alsh or paj.")],
            address: Annotated[str, _arg("Postal address.")] = "",
    ) -> AlshPajEstablishment | None:
        return AlshPajEstablishment.of(await service.create_establishment(actor(info), name, service_code, address))

    @strawberry.mutation(description=(
        f"Staff: a new mode d'accueil of an establishment. {STAFF} Errors: {AUTH}, FORBIDDEN, NOT_FOUND, REQUIRED."))
    async def create_alsh_paj_mode(self, info: Info, establishment_id: EstablishmentId,
                                   name: Annotated[str, _arg("Name shown to families (MERCREDIS).")],
                                   kind: Annotated[AlshPajModeKind, _arg("Kind.")] = AlshPajModeKind.WEDNESDAYS,
                                   ) -> AlshPajMode | None:
        mode = await service.create_mode(actor(info), parse_id(establishment_id, "establishmentId"), name, kind.value)
        return AlshPajMode.of(mode)

    @strawberry.mutation(description=(
        f"Staff: a bookable period with its window and cancellation rule. {STAFF} Errors: {AUTH}, FORBIDDEN, "
        "NOT_FOUND, INVALID_RANGE, INVALID_WINDOW, INVALID_WEEKDAY, INVALID_AGE_RANGE, INVALID_TIME, "
        "INVALID_DEADLINE."))
    async def create_alsh_paj_period(self, info: Info, input: Annotated[AlshPajPeriodInput, _arg("The period.")],
                                     ) -> AlshPajPeriod | None:
        period = await service.create_period(actor(info), service.PeriodInput(
            mode_id=parse_id(input.mode_id, "modeId"), name=input.name, start_date=input.start_date,
            end_date=input.end_date, opens_at=input.opens_at, closes_at=input.closes_at, weekdays=input.weekdays,
            cancel_days_before=input.cancel_days_before, cancel_time=input.cancel_time,
            cancel_working_days=input.cancel_working_days, min_age=input.min_age, max_age=input.max_age,
            auto_accept=input.auto_accept))
        return AlshPajPeriod.of(period)

    @strawberry.mutation(description=(
        f"Staff: a unit bookable per day, with capacity, tariff and same-day rules. {STAFF} Errors: {AUTH}, "
        "FORBIDDEN, NOT_FOUND, REQUIRED, DUPLICATE_CODE, INVALID_CAPACITY, INVALID_TARIFF."))
    async def create_alsh_paj_unit(self, info: Info, input: Annotated[AlshPajUnitInput, _arg("The unit.")],
                                   ) -> AlshPajUnit | None:
        unit = await service.add_unit(actor(info), parse_id(input.period_id, "periodId"), input.code, input.name,
                                      input.capacity, input.tariff.as_config() if input.tariff else None,
                                      list(input.excludes), list(input.requires), input.billing_label)
        return AlshPajUnit.of(unit)

    @strawberry.mutation(description=(
        f"Staff: change a unit's capacity; places opened go to the waiting lists at once (mailed), lines already "
        f"held are kept when it shrinks. {STAFF} Errors: {AUTH}, FORBIDDEN, NOT_FOUND, INVALID_CAPACITY."))
    async def set_alsh_paj_unit_capacity(self, info: Info,
                                         unit_id: Annotated[strawberry.ID, _arg("The unit's id.")],
                                         capacity: Annotated[int, _arg("Places per open day, ≥ 0.")],
                                         ) -> AlshPajUnit | None:
        return AlshPajUnit.of(await service.set_capacity(actor(info), parse_id(unit_id, "unitId"), capacity))

    @strawberry.mutation(description=(
        f"Staff: close an establishment on a day (public holidays are automatic); audited. Active lines that day "
        f"are never left nor cancelled silently: refused (DAY_HAS_BOOKINGS, `extensions.affectedLineCount`) unless "
        f"`cancelBookings`, which cancels them in time (never billed, places freed) and mails each family. {STAFF} "
        f"Errors: {AUTH}, FORBIDDEN, NOT_FOUND, DAY_HAS_BOOKINGS."))
    async def add_alsh_paj_closed_day(self, info: Info, establishment_id: EstablishmentId,
                                      date: Annotated[date, _arg("The day.")],
                                      label: Annotated[str, _arg("Shown to families.")] = "Fermé",
                                      cancel_bookings: Annotated[bool, _arg(
                                          "True: cancel the day's active lines (families mailed).")] = False,
                                      ) -> AlshPajClosedDay | None:
        row = await service.add_closed_day(actor(info), parse_id(establishment_id, "establishmentId"), date, label,
                                           cancel_bookings)
        return AlshPajClosedDay.of(row)


@strawberry.input(description="Changes to a period; a null or missing field keeps its value.")
class AlshPajPeriodUpdateInput:
    name: str | None = strawberry.field(default=None, description="Name shown to families.")
    start_date: date | None = strawberry.field(default=None, description="First day.")
    end_date: date | None = strawberry.field(default=None, description="Last day, included.")
    opens_at: datetime | None = strawberry.field(default=None, description="When family booking opens.")
    closes_at: datetime | None = strawberry.field(default=None, description="When family booking closes.")
    weekdays: list[int] | None = strawberry.field(default=None, description="ISO weekdays it is open (1 = Monday "
                                                  "… 7 = Sunday): its opening days.")
    cancel_days_before: int | None = strawberry.field(default=None, description="Free cancellation until this "
                                                      "many days before (applies to cancellations from now on).")
    cancel_time: str | None = strawberry.field(default=None, description="… at this time, `HH:MM`.")
    cancel_working_days: bool | None = strawberry.field(default=None, description="Count working days only.")
    min_age: int | None = strawberry.field(default=None, description="Youngest age for new bookings, years.")
    max_age: int | None = strawberry.field(default=None, description="Oldest age for new bookings, years.")
    auto_accept: bool | None = strawberry.field(default=None, description="Accept new lines with a place at once.")


@strawberry.input(description="Changes to a unit; a missing field keeps its value. Lines already booked are kept.")
class AlshPajUnitUpdateInput:
    name: str | None = strawberry.field(default=None, description="Name shown to families.")
    billing_label: str | None = strawberry.field(default=None, description="Invoice line label.")
    tariff: AlshPajTariffInput | None = strawberry.field(default=strawberry.UNSET, description=(
        "New price for the days billed from now on; null: free; missing: unchanged."))
    excludes: list[str] | None = strawberry.field(default=None, description="Codes of units that cannot be booked "
                                                  "the same day (checked on new requests).")
    requires: list[str] | None = strawberry.field(default=None, description="Codes of units of which one must be "
                                                  "booked the same day (checked on new requests).")


@strawberry.type(description="The outcome (or, with `dryRun`, the preview) of a period change.")
class AlshPajPeriodChangePayload:
    period: AlshPajPeriod = strawberry.field(description="The period, changed unless `dryRun`.")
    affected_lines: list[AlshPajRequest] = strawberry.field(description=(
        "Active lines from today on whose day the change takes away, by date. Not paginated: one period's "
        "lines on the days removed."))
    is_applied: bool = strawberry.field(description="False for a dry run (nothing written).")
    choice: AlshPajAffectedLinesChoice | None = strawberry.field(description="What became of the affected lines.")


@strawberry.type
class AlshEditMutation:
    @strawberry.mutation(description=(
        f"Staff: rename an establishment or change its address; audited. {STAFF} "
        f"Errors: {AUTH}, FORBIDDEN, NOT_FOUND, REQUIRED."))
    async def update_alsh_paj_establishment(
            self, info: Info, id: Annotated[strawberry.ID, _arg("The establishment's id.")],
            name: Annotated[str | None, _arg("New name; null keeps it.")] = None,
            address: Annotated[str | None, _arg("New address; null keeps it.")] = None,
    ) -> AlshPajEstablishment | None:
        return AlshPajEstablishment.of(await service.update_establishment(actor(info), parse_id(id, "id"), name,
                                                                          address))

    @strawberry.mutation(description=(
        f"Staff: rename a mode d'accueil or change its kind (for the days billed from now on); audited. {STAFF} "
        f"Errors: {AUTH}, FORBIDDEN, NOT_FOUND, REQUIRED."))
    async def update_alsh_paj_mode(self, info: Info, id: Annotated[strawberry.ID, _arg("The mode's id.")],
                                   name: Annotated[str | None, _arg("New name; null keeps it.")] = None,
                                   kind: Annotated[AlshPajModeKind | None, _arg("New kind; null keeps it.")] = None,
                                   ) -> AlshPajMode | None:
        mode = await service.update_mode(actor(info), parse_id(id, "id"), name, kind.value if kind else None)
        return AlshPajMode.of(mode)

    @strawberry.mutation(description=(
        f"Staff: change a unit's name, invoice label, tariff or same-day rules; lines already booked are kept; "
        f"audited. Capacity: `setAlshPajUnitCapacity`. {STAFF} Errors: {AUTH}, FORBIDDEN, NOT_FOUND, REQUIRED, "
        "INVALID_TARIFF."))
    async def update_alsh_paj_unit(self, info: Info, id: Annotated[strawberry.ID, _arg("The unit's id.")],
                                   input: Annotated[AlshPajUnitUpdateInput, _arg("The changes.")],
                                   ) -> AlshPajUnit | None:
        tariff = service._UNSET if input.tariff is strawberry.UNSET else (
            input.tariff.as_config() if input.tariff else None)
        unit = await service.update_unit(actor(info), parse_id(id, "id"), name=input.name,
                                         billing_label=input.billing_label, tariff=tariff,
                                         excludes=input.excludes, requires=input.requires)
        return AlshPajUnit.of(unit)

    @strawberry.mutation(description=(
        f"Staff: change a period (dates, opening weekdays, booking window, ages, cancellation rule). Lines booked on "
        f"days the change takes away are listed; ask first with `dryRun: true` (nothing written), then apply with "
        f"`affectedLines: KEEP` or `CANCEL` (cancelled in time, places freed, families mailed). Never silent: "
        f"with affected lines and no choice the change is refused. Audited. {STAFF} Errors: {AUTH}, FORBIDDEN, "
        "NOT_FOUND, AFFECTED_LINES_CHOICE_REQUIRED, INVALID_RANGE, INVALID_WINDOW, INVALID_WEEKDAY, "
        "INVALID_AGE_RANGE, INVALID_TIME, INVALID_DEADLINE."))
    async def update_alsh_paj_period(
            self, info: Info, id: Annotated[strawberry.ID, _arg("The period's id.")],
            input: Annotated[AlshPajPeriodUpdateInput, _arg("The changes.")],
            affected_lines: Annotated[AlshPajAffectedLinesChoice | None, _arg(
                "What the lines on removed days become; required when there are any.")] = None,
            dry_run: Annotated[bool, _arg("True: only list the affected lines, change nothing.")] = False,
    ) -> AlshPajPeriodChangePayload | None:
        changes = {"name": input.name, "start_date": input.start_date, "end_date": input.end_date,
                   "opens_at": input.opens_at, "closes_at": input.closes_at, "weekdays": input.weekdays,
                   "cancel_days_before": input.cancel_days_before, "cancel_time": input.cancel_time,
                   "cancel_working_days": input.cancel_working_days, "min_age": input.min_age,
                   "max_age": input.max_age, "auto_accept": input.auto_accept}
        change = await service.update_period(actor(info), parse_id(id, "id"), changes,
                                             affected_lines.value if affected_lines else None, dry_run)
        ranks = await service.waiting_ranks(change.affected)
        return AlshPajPeriodChangePayload(
            period=AlshPajPeriod.of(change.period), is_applied=change.applied,
            affected_lines=[AlshPajRequest.of(ln, ranks.get(ln.id)) for ln in change.affected],
            choice=AlshPajAffectedLinesChoice(change.choice) if change.choice else None)


@strawberry.type
class AlshAllMutation(AlshMutation, AlshAdminMutation, AlshEditMutation):
    pass


contribution = GraphQLContribution(query=AlshQuery, mutation=AlshAllMutation)
