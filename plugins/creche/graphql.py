"""GraphQL of the crèche plugin: thin types and resolvers over `service.py` (conventions: docs/graphql.md).

Weekdays cross the API as ISO numbers (1 = Monday … 7 = Sunday) and are converted to the stored
numbering (0 = Monday) by `rules.weekday_from_iso` / `rules.weekday_to_iso` only. Closed sets are
`LabelledEnum`s whose stored value is what the database keeps.
"""

from __future__ import annotations

from datetime import date, datetime, timedelta
from decimal import Decimal
from typing import Annotated

import strawberry
from strawberry.file_uploads import Upload
from strawberry.types import Info

from core.contributions import GraphQLContribution
from core.graphql_support import (
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
from plugins.creche import rules, service
from plugins.creche.models import (
    Absence,
    Attendance,
    AttendanceCorrection,
    Contract,
    Establishment,
    FamilyResources,
    OccasionalCare,
    PlaceRequest,
)

STAFF = "agent of the crèche's service or admin"
FAMILY = "family (account holder of the household)"
SERVICE_CODE = Annotated[str, strawberry.argument(description=(
    "Code of the crèche's service in the community's configuration (`crecheEstablishments.serviceCode`, "
    "e.g. `creche_la_ritournelle`). UNKNOWN_SERVICE when no crèche has it."))]


# ---- enums -----------------------------------------------------------------------------------------
class CrecheRequestStatus(LabelledEnum):
    RECEIVED = ("recue", "Reçue", "Sent by the family, not yet examined.")
    IN_COMMISSION = ("en_commission", "En commission", "Examined by the next admission commission.")
    ACCEPTED = ("acceptee", "Acceptée", "A place is given in `establishmentName`; a contract follows.")
    REFUSED = ("refusee", "Refusée", "No place: final.")
    WAITING_LIST = ("liste_attente", "Sur liste d'attente", "On the waiting list (`waitingRank`).")


class CrecheRequestDecision(LabelledEnum):
    IN_COMMISSION = ("en_commission", "En commission", "Send the request to the next commission.")
    ACCEPTED = ("acceptee", "Acceptée", "Give a place in the crèche of `serviceCode` (final).")
    REFUSED = ("refusee", "Refusée", "Refuse (final).")
    WAITING_LIST = ("liste_attente", "Sur liste d'attente", "Put on the waiting list: `rank` required.")


class CrecheContractStatus(LabelledEnum):
    DRAFT = ("draft", "Brouillon", "Being prepared by the crèche; the family does not see it.")
    SENT = ("sent", "À signer", "Sent to the family, waiting for the signed copy.")
    RETURNED = ("returned", "Signé, en cours de validation", "Signed copy received, staff to validate.")
    SIGNED = ("signed", "Signé", "In force (billed).")
    REVISED = ("revised", "Révisé", "Replaced from a date by a later revision (same number).")
    ENDED = ("ended", "Terminé", "Ended on `endDate`.")


class CrecheOccasionalCareStatus(LabelledEnum):
    PENDING = ("pending", "À valider", "Asked by the family, waiting for the crèche's decision.")
    ACCEPTED = ("accepted", "Acceptée", "Booked (counts in the capacity, billed).")
    REFUSED = ("refused", "Refusée", "Refused by the crèche.")
    CANCELLED = ("cancelled", "Annulée par la crèche",
                 "Cancelled by the crèche after a change of its opening hours or closure days (family mailed).")


class CrecheAbsenceMotive(LabelledEnum):
    ILLNESS = ("maladie", "Maladie", "Illness: deducted after the carence days with a medical certificate.")
    HOSPITALISATION = ("hospitalisation", "Hospitalisation", "Hospitalisation: deducted from the first day.")
    EVICTION = ("eviction", "Éviction", "Éviction by the crèche's doctor: deducted from the first day.")
    CLOSURE = ("fermeture", "Fermeture de la crèche", "Closure of the crèche: deducted from the first day.")
    OTHER = ("autre", "Autre motif", "Personal reason: stays billed.")


class CrecheAbsenceKind(LabelledEnum):
    CANCELLATION = ("cancellation", "Annulation",
                    "Reported at least the cancellation delay (2 days by default) before the first day.")
    ABSENCE = ("absence", "Absence", "Reported later (« signaler une absence »), or recorded by staff.")


class CrecheAbsenceStatus(LabelledEnum):
    PENDING = ("pending", "À valider", "Waiting for the crèche's review.")
    VALIDATED = ("validated", "Validée", "Accepted by the crèche (`deductible` says whether it is deducted).")
    REFUSED = ("refused", "Refusée", "Refused by the crèche: the hours stay billed.")


class CrecheResourcesSource(LabelledEnum):
    JANUARY_UPDATE = ("janvier", "Mise à jour annuelle des ressources", "Yearly update of the N-2 resources.")
    TAX_NOTICE = ("avis", "Nouvel avis d'imposition", "A new tax notice (avis d'imposition).")
    CAF = ("caf", "Données CAF", "CAF data (CDAP, change of situation).")
    OTHER = ("autre", "Changement de situation", "Any other change of situation.")


class CrecheDayStatus(LabelledEnum):
    BOOKED = (rules.DayStatus.RESERVEE, "Réservée", "A contract day or accepted occasional care, to come.")
    PRESENT = (rules.DayStatus.PRESENT, "Présent", "Attendance recorded within the planned hours.")
    ABSENT = (rules.DayStatus.ABSENCE, "Absence", "Expected but absent (billed).")
    EXCUSED_ABSENCE = (rules.DayStatus.ABSENCE_EXCUSEE, "Absence excusée", "Validated deductible absence.")
    CANCELLED = (rules.DayStatus.ANNULEE, "Annulée", "Cancelled within the cancellation delay.")
    LEFT = (rules.DayStatus.SORTIE, "Sortie", "The child's contract ended before this day.")
    WAITING_LIST = (rules.DayStatus.LISTE_ATTENTE, "Sur liste d'attente", "A place request is open.")
    NOT_ENROLLED = (rules.DayStatus.NON_INSCRIT, "Non inscrit", "Nothing booked that day.")
    TO_VALIDATE = (rules.DayStatus.A_VALIDER, "À valider", "Occasional care asked, not yet decided.")
    OVERTIME = (rules.DayStatus.MAJORATION, "Majoration", "Present beyond the planned hours (billed on top).")


class CrecheEstablishmentKind(LabelledEnum):
    COLLECTIVE = ("collectif", "Accueil collectif", "Collective crèche (collective taux d'effort table).")
    MICRO_CRECHE = ("micro_creche", "Micro-crèche", "Micro-crèche (collective table).")
    FAMILY = ("familial", "Accueil familial", "Crèche familiale (family and parental table).")
    PARENTAL = ("parental", "Accueil parental", "Crèche parentale (family and parental table).")


class CrecheAffectedBookingKind(LabelledEnum):
    OCCASIONAL_CARE = ("occasional_care", "Accueil occasionnel", "An occasional care booking (`id` is its id).")
    CONTRACT = ("contract", "Contrat", "A contract whose weekly hours fall outside the new opening hours "
                                       "(`id` is the contract's id).")
    CONTRACT_DAY = ("contract_day", "Jour de contrat", "One contract day on a new closure day (`id`: contract).")


class CrecheAffectedReason(LabelledEnum):
    CLOSED_DAY = ("closed_day", "Crèche fermée ce jour-là", "The crèche is now closed that day.")
    OUTSIDE_OPENING_HOURS = ("outside_opening_hours", "Hors des heures d'ouverture",
                             "The hours booked are now outside the opening hours.")
    NEW_CLOSURE_DAY = ("new_closure_day", "Nouveau jour de fermeture", "A closure day added on a contract day.")


class CrecheAffectedOutcome(LabelledEnum):
    TO_DECIDE = ("to_decide", "À décider", "Preview without a choice: say KEEP or CANCEL to apply.")
    KEPT = ("kept", "Maintenu", "Kept as an exception (family mailed).")
    CANCELLED = ("cancelled", "Annulé", "Cancelled, not billed (family mailed).")
    NOT_BILLED_CLOSURE = ("not_billed_closure", "Fermeture non facturée",
                          "The contract day becomes a closure: not billed (family mailed).")
    BLOCKS_CHANGE = ("blocks_change", "Bloque la modification",
                     "The change is refused (CONTRACTS_OUTSIDE_OPENING_HOURS) until the contract is revised.")


class CrecheAffectedBookingsChoice(LabelledEnum):
    KEEP = ("keep", "Maintenir", "Keep the affected occasional care as an exception; the family is mailed.")
    CANCEL = ("cancel", "Annuler", "Cancel the affected occasional care (not billed); the family is mailed.")


for _enum, _description in (
        (CrecheRequestStatus, "State of a demande de place (pre-registration)."),
        (CrecheRequestDecision, "What a commission decides on a demande de place."),
        (CrecheContractStatus, "State of a contrat d'accueil."),
        (CrecheOccasionalCareStatus, "State of an occasional care (accueil occasionnel) booking."),
        (CrecheAbsenceMotive, "Why a child is absent; decides the deduction (CNAF LC 2014-009)."),
        (CrecheAbsenceKind, "A cancellation (early enough) or an absence report."),
        (CrecheAbsenceStatus, "Review state of a reported absence."),
        (CrecheResourcesSource, "Where a new record of the family's resources comes from."),
        (CrecheDayStatus, "The planning legend of one child on one day."),
        (CrecheEstablishmentKind, "Kind of crèche: decides the taux d'effort table (CNAF LC 2019-005)."),
        (CrecheAffectedBookingKind, "What an establishment edit affects."),
        (CrecheAffectedReason, "Why an establishment edit affects a booking."),
        (CrecheAffectedOutcome, "What becomes of a booking affected by an establishment edit."),
        (CrecheAffectedBookingsChoice, "The agent's choice for the occasional care an establishment edit affects."),
):
    graphql_enum(_enum, description=_description)


def _enum_of(cls: type[LabelledEnum], stored: str | None) -> LabelledEnum | None:
    return cls(stored) if stored is not None else None


def _hhmm(value: int | None) -> str | None:
    return rules.fmt_hhmm(value) if value is not None else None


def _id(value: int) -> strawberry.ID:
    return strawberry.ID(str(value))


HHMM = "`HH:MM`, 24 h, Europe/Paris"


# ---- establishments --------------------------------------------------------------------------------
@strawberry.type(description="Opening hours of a crèche on one weekday (absent weekdays: closed).")
class CrecheOpeningHours:
    weekday: int = strawberry.field(description="ISO 8601 weekday: 1 = Monday … 7 = Sunday.")
    opens: str = strawberry.field(description=f"Opening time, {HHMM}.")
    closes: str = strawberry.field(description=f"Closing time, {HHMM}.")


@strawberry.type(description="A crèche of the community: one service; its agents manage it.")
class CrecheEstablishment:
    id: strawberry.ID = strawberry.field(description="Database id.")
    service_code: str = strawberry.field(description="Code of the crèche's service (used in every argument).")
    name: str = strawberry.field(description="Display name, upper case (« LA RITOURNELLE »).")
    town: str = strawberry.field(description="Town of the crèche.")
    kind: CrecheEstablishmentKind = strawberry.field(description="Kind of crèche (configuration).")
    kind_label: str = strawberry.field(description="French label of `kind`.")
    capacity: int = strawberry.field(description="Places: children present at once in any time slot.")
    slot_minutes: int = strawberry.field(description="Length of the capacity time slots, minutes (15, 30 or 60).")
    opening_hours: list[CrecheOpeningHours] = strawberry.field(
        description="Opening hours by ISO weekday (1 = Monday), Monday first. Not paginated: at most 7.")
    closure_days: list[date] = strawberry.field(
        description="Days the crèche is closed (besides public holidays), oldest first. Not paginated: "
                    "a few days a year.")

    @classmethod
    def from_model(cls, e: Establishment) -> CrecheEstablishment:
        kind = CrecheEstablishmentKind(service.kind_of(e))
        return cls(id=_id(e.id), service_code=e.service_code, name=e.name, town=e.town, kind=kind,
                   kind_label=kind.label, capacity=e.capacity, slot_minutes=e.slot_minutes,
                   opening_hours=[CrecheOpeningHours(weekday=rules.weekday_to_iso(int(k)), opens=v[0], closes=v[1])
                                  for k, v in sorted((e.opening_hours or {}).items(), key=lambda kv: int(kv[0]))],
                   closure_days=[date.fromisoformat(d) for d in e.closure_days or []])


@strawberry.type(description="Children expected in one capacity time slot of a day.")
class CrecheSlot:
    start: str = strawberry.field(description=f"Start of the slot, {HHMM}.")
    count: int = strawberry.field(description="Children expected in the slot (contracts minus absences, "
                                              "accepted occasional care).")
    capacity: int = strawberry.field(description="The crèche's capacity (places).")


@strawberry.input(description="Opening hours of one weekday (an establishment edit).")
class CrecheOpeningHoursInput:
    weekday: int = strawberry.field(description="ISO 8601 weekday: 1 = Monday … 7 = Sunday; INVALID_WEEKDAY "
                                                "otherwise.")
    opens: str = strawberry.field(description=f"Opening time, {HHMM}.")
    closes: str = strawberry.field(description=f"Closing time, {HHMM}, after `opens`.")


@strawberry.input(description="What to change in a crèche; a null field is left as it is.")
class CrecheEstablishmentInput:
    capacity: int | None = strawberry.field(default=None, description="Places (≥ 1); INVALID_CAPACITY otherwise.")
    slot_minutes: int | None = strawberry.field(default=None, description="Slot length: 15, 30 or 60 minutes; "
                                                                          "INVALID_SLOT otherwise.")
    opening_hours: list[CrecheOpeningHoursInput] | None = strawberry.field(
        default=None, description="The full week: weekdays not listed are closed.")
    closure_days: list[date] | None = strawberry.field(
        default=None, description="The full list of closure days (replaces the current one).")


@strawberry.type(description="A booking an establishment edit affects, and what becomes of it.")
class CrecheAffectedBooking:
    kind: CrecheAffectedBookingKind = strawberry.field(description="Occasional care, contract or contract day.")
    id: strawberry.ID = strawberry.field(description="The occasional care's id, or the contract's id.")
    child_id: strawberry.ID = strawberry.field(description="The child's id.")
    child_first_name: str = strawberry.field(description="The child's first name.")
    day: date | None = strawberry.field(description="The day (null for a contract as a whole).")
    start_time: str | None = strawberry.field(description=f"Booked from, {HHMM}.")
    end_time: str | None = strawberry.field(description=f"Booked until, {HHMM}.")
    reason: CrecheAffectedReason = strawberry.field(description="Why it is affected.")
    reason_label: str = strawberry.field(description="French label of `reason`.")
    outcome: CrecheAffectedOutcome = strawberry.field(description="What becomes of it (or would, in a preview).")
    outcome_label: str = strawberry.field(description="French label of `outcome`.")

    @classmethod
    def from_service(cls, x: service.AffectedBooking) -> CrecheAffectedBooking:
        reason, outcome = CrecheAffectedReason(x.reason), CrecheAffectedOutcome(x.outcome)
        return cls(kind=CrecheAffectedBookingKind(x.kind), id=_id(x.id), child_id=_id(x.child.id),
                   child_first_name=x.child.first_name, day=x.day, start_time=x.start_time, end_time=x.end_time,
                   reason=reason, reason_label=reason.label, outcome=outcome, outcome_label=outcome.label)


@strawberry.type(description="The answer of an establishment edit or its preview.")
class CrecheEstablishmentPayload:
    establishment: CrecheEstablishment = strawberry.field(description="The crèche after the edit (as it is, "
                                                                      "for a preview).")
    preview: bool = strawberry.field(description="True: a dry run, nothing was changed nor mailed.")
    affected: list[CrecheAffectedBooking] = strawberry.field(description=(
        "Bookings from today on that the edit affects, occasional care first. Not paginated: bounded by the "
        "crèche's bookings to come."))
    days_over_capacity: list[date] = strawberry.field(description=(
        "When the capacity is lowered: days (within a year, or up to the last occasional care) whose bookings "
        "exceed it. They stay booked; new bookings those days are refused. Not paginated: at most a year."))

    @classmethod
    def from_service(cls, c: service.EstablishmentChange) -> CrecheEstablishmentPayload:
        return cls(establishment=CrecheEstablishment.from_model(c.establishment), preview=c.preview,
                   affected=[CrecheAffectedBooking.from_service(x) for x in
                             sorted(c.affected, key=lambda x: (x.kind != "occasional_care", x.day or date.min, x.id))],
                   days_over_capacity=c.days_over_capacity)


# ---- requests ------------------------------------------------------------------------------------------
@strawberry.type(description="A demande de place (pre-registration) of a child in one or more crèches.")
class CrechePlaceRequest:
    id: strawberry.ID = strawberry.field(description="Database id.")
    child_id: strawberry.ID = strawberry.field(description="The child's id.")
    child_first_name: str = strawberry.field(description="The child's first name.")
    wished_services: list[str] = strawberry.field(description="Service codes of the wished crèches, in the "
                                                              "family's order.")
    start_date: date = strawberry.field(description="Wished start date.")
    days_per_week: int = strawberry.field(description="Wished days per week (1 to 5).")
    hours_per_week: str = strawberry.field(description="Wished hours per week, decimal string (« 32.00 »).")
    status: CrecheRequestStatus = strawberry.field(description="State of the request.")
    status_label: str = strawberry.field(description="French label of `status`.")
    waiting_rank: int | None = strawberry.field(description="Rank on the waiting list: always for staff, for the "
                                                            "family only once the crèche publishes it.")
    establishment_name: str | None = strawberry.field(description="The crèche that gave a place (accepted).")
    comment: str = strawberry.field(description="Staff: the family's comment. Family: the commission's comment.")

    @classmethod
    def from_model(cls, r: PlaceRequest, staff: bool) -> CrechePlaceRequest:
        status = CrecheRequestStatus(r.status)
        return cls(id=_id(r.id), child_id=_id(r.child_id),  # type: ignore[attr-defined]
                   child_first_name=r.child.first_name, wished_services=list(r.wished_services or []),
                   start_date=r.start_date, days_per_week=r.days_per_week, hours_per_week=str(r.hours_per_week),
                   status=status, status_label=status.label,
                   waiting_rank=r.waiting_rank if staff or r.rank_published else None,
                   establishment_name=r.establishment.name if r.establishment else None,
                   comment=r.decision_comment if not staff else r.comment)


@strawberry.input(description="A demande de place.")
class CrechePlaceRequestInput:
    child_id: strawberry.ID = strawberry.field(description="The child (of the caller's household, or any child "
                                                           "for an agent of one of the wished crèches).")
    service_codes: list[str] = strawberry.field(description="Wished crèches (service codes), by preference.")
    start_date: date = strawberry.field(description="Wished start. Family: today or later. Staff: up to "
                                                    "`staff_backfill_days` (92 by default) in the past.")
    days_per_week: int = strawberry.field(description="1 to 5; INVALID_DAYS otherwise.")
    hours_per_week: Decimal = strawberry.field(description="Hours per week, > 0 and ≤ 55; INVALID_HOURS otherwise.")
    comment: str = strawberry.field(default="", description="Free text for the commission.")


# ---- contracts -----------------------------------------------------------------------------------------
@strawberry.type(description="Contract hours on one weekday.")
class CrecheScheduleDay:
    weekday: int = strawberry.field(description="ISO 8601 weekday: 1 = Monday … 7 = Sunday.")
    arrival: str = strawberry.field(description=f"Arrival, {HHMM}.")
    departure: str = strawberry.field(description=f"Departure, {HHMM}.")


@strawberry.input(description="Contract hours on one weekday.")
class CrecheScheduleDayInput:
    weekday: int = strawberry.field(description="ISO 8601 weekday: 1 = Monday … 7 = Sunday; INVALID_WEEKDAY "
                                                "otherwise.")
    arrival: str = strawberry.field(description=f"Arrival, {HHMM}, within the crèche's opening hours.")
    departure: str = strawberry.field(description=f"Departure, {HHMM}, after `arrival`.")


def _schedule_items(items: list[CrecheScheduleDayInput], field: str = "schedule") -> list[tuple[int, str, str]]:
    with service.rule_errors():
        return [(rules.weekday_from_iso(i.weekday, field), i.arrival, i.departure) for i in items]


def _opening_items(items: list[CrecheOpeningHoursInput]) -> list[tuple[int, str, str]]:
    with service.rule_errors():
        return [(rules.weekday_from_iso(i.weekday, "openingHours"), i.opens, i.closes) for i in items]


@strawberry.type(description="A contrat d'accueil: numbered per community, one child in one crèche, one "
                             "revision per change (same number).")
class CrecheContract:
    id: strawberry.ID = strawberry.field(description="Database id (one per revision).")
    number: int = strawberry.field(description="Contract number, community-wide.")
    revision: int = strawberry.field(description="Revision, from 1.")
    title: str = strawberry.field(description="« Contrat n°12 – LA RITOURNELLE (Le Tourne) », to show.")
    child_id: strawberry.ID = strawberry.field(description="The child's id.")
    child_first_name: str = strawberry.field(description="The child's first name.")
    service_code: str = strawberry.field(description="The crèche's service code.")
    establishment: str = strawberry.field(description="The crèche's name.")
    start_date: date = strawberry.field(description="First day of the contract (revision).")
    end_date: date | None = strawberry.field(description="Last day, null while open-ended.")
    schedule: list[CrecheScheduleDay] = strawberry.field(
        description="Weekly hours by ISO weekday (1 = Monday), Monday first. Not paginated: at most 7.")
    weeks_per_year: int = strawberry.field(description="Weeks of attendance a year (mensualisation).")
    hours_per_week: str = strawberry.field(description="Hours per week, decimal string (« 32.00 »).")
    monthly_hours: str = strawberry.field(description="Hours billed each month, decimal string.")
    hourly_fee_cents: int = strawberry.field(description="PSU hourly fee at the start, euro cents.")
    monthly_fee_cents: int = strawberry.field(description="Monthly fee at the start, euro cents "
                                                          "(see `crecheContractFeePeriods` for revisions).")
    status: CrecheContractStatus = strawberry.field(description="State of the contract.")
    status_label: str = strawberry.field(description="French label of `status`.")
    pdf_url: str = strawberry.field(description="Relative URL of the contract's PDF (same session).")

    @classmethod
    def from_model(cls, c: Contract) -> CrecheContract:
        status = CrecheContractStatus(c.status)
        return cls(id=_id(c.id), number=c.number, revision=c.revision, title=service.contract_title(c),
                   child_id=_id(c.child_id), child_first_name=c.child.first_name,  # type: ignore[attr-defined]
                   service_code=c.establishment.service_code, establishment=c.establishment.name,
                   start_date=c.start_date, end_date=c.end_date,
                   schedule=[CrecheScheduleDay(weekday=rules.weekday_to_iso(int(k)), arrival=v[0], departure=v[1])
                             for k, v in sorted((c.schedule or {}).items(), key=lambda kv: int(kv[0]))],
                   weeks_per_year=c.weeks_per_year, hours_per_week=str(c.hours_per_week),
                   monthly_hours=str(c.monthly_hours), hourly_fee_cents=c.hourly_fee_cents,
                   monthly_fee_cents=c.monthly_fee_cents, status=status, status_label=status.label,
                   pdf_url=f"/files/creche_contract/{c.id}")


@strawberry.input(description="Dates and hours of a contract (creation or revision).")
class CrecheContractInput:
    start_date: date = strawberry.field(description="First day. Staff may start up to `staff_backfill_days` (92 by "
                                                    "default) in the past; INVALID_DATE beyond.")
    end_date: date | None = strawberry.field(default=None, description="Last day (null: open-ended); after "
                                                                       "`startDate` (INVALID_PERIOD).")
    schedule: list[CrecheScheduleDayInput] = strawberry.field(description="Weekly hours, one item per weekday.")
    weeks_per_year: int = strawberry.field(default=45, description="Weeks of attendance a year, 1 to 52.")


@strawberry.type(description="A stretch of a contract with one fee, and why it starts (barème, resources).")
class CrecheFeePeriod:
    start: date = strawberry.field(description="First day of the period.")
    end: date | None = strawberry.field(description="Last day, null for the last open period.")
    hourly_fee_cents: int = strawberry.field(description="Hourly fee, euro cents.")
    monthly_fee_cents: int = strawberry.field(description="Monthly fee, euro cents.")
    resources_monthly_cents: int = strawberry.field(description="Monthly resources used, euro cents (bounded "
                                                                "by the plancher and plafond).")
    children_for_rate: int = strawberry.field(description="Children counted for the taux d'effort.")
    taux_effort_percent: str = strawberry.field(description="Taux d'effort in percent, decimal string (« 0.0516 »).")
    reasons: list[str] = strawberry.field(description="Why this period starts, French sentences. Not paginated: "
                                                      "one or two.")
    recorded_at: datetime | None = strawberry.field(description="When the revision was recorded and told to the family.")

    @classmethod
    def from_service(cls, x: service.ContractFeePeriod) -> CrecheFeePeriod:
        p = x.period
        return cls(start=p.start, end=p.end, hourly_fee_cents=p.hourly_fee_cents, monthly_fee_cents=p.monthly_fee_cents,
                   resources_monthly_cents=p.resources_monthly_cents, children_for_rate=p.children_for_rate,
                   taux_effort_percent=str((p.taux * 100).normalize()), reasons=list(p.reasons), recorded_at=x.recorded_at)


@strawberry.type(description="The family's resources from a date (history kept as audit trail).")
class CrecheFamilyResources:
    id: strawberry.ID = strawberry.field(description="Database id.")
    effective_date: date = strawberry.field(description="In force from this day.")
    annual_resources_cents: int | None = strawberry.field(description="N-2 annual resources, euro cents; null: "
                                                                      "not given (the plafond applies).")
    dependent_children: int = strawberry.field(description="Dependent children.")
    aeeh_children: int = strawberry.field(description="Children with the AEEH (each counts as one more).")
    source: CrecheResourcesSource = strawberry.field(description="Where the record comes from.")
    source_label: str = strawberry.field(description="French label of `source`.")
    comment: str = strawberry.field(description="Staff comment.")
    recorded_by: str | None = strawberry.field(description="Email of the agent who recorded it.")
    recorded_at: datetime = strawberry.field(description="When it was recorded.")

    @classmethod
    def from_model(cls, r: FamilyResources) -> CrecheFamilyResources:
        by = r.recorded_by if r.recorded_by_id else None  # type: ignore[attr-defined]
        source = CrecheResourcesSource(r.source)
        return cls(id=_id(r.id), effective_date=r.effective_date, annual_resources_cents=r.annual_cents,
                   dependent_children=r.dependent_children, aeeh_children=r.aeeh_children, source=source,
                   source_label=source.label, comment=r.comment,
                   recorded_by=getattr(by, "email", None) if by else None, recorded_at=r.recorded_at)


@strawberry.input(description="The family's resources from a date.")
class CrecheResourcesInput:
    effective_date: date = strawberry.field(description="In force from this day (at most a year ahead; INVALID_DATE).")
    annual_resources_cents: int | None = strawberry.field(description="N-2 annual resources, euro cents; null: "
                                                                      "not given (plafond).")
    dependent_children: int = strawberry.field(description="Dependent children, 0 to 20.")
    aeeh_children: int = strawberry.field(default=0, description="Children with the AEEH, ≤ dependent children.")
    source: CrecheResourcesSource = strawberry.field(description="Where the record comes from.")
    comment: str = strawberry.field(default="", description="Staff comment (told to the family in the fee mail).")


# ---- occasional care -------------------------------------------------------------------------------------
@strawberry.type(description="Accueil occasionnel: one child, one day, some hours, within capacity.")
class CrecheOccasionalCare:
    id: strawberry.ID = strawberry.field(description="Database id.")
    child_id: strawberry.ID = strawberry.field(description="The child's id.")
    child_first_name: str = strawberry.field(description="The child's first name.")
    service_code: str = strawberry.field(description="The crèche's service code.")
    day: date = strawberry.field(description="The day.")
    start_time: str = strawberry.field(description=f"Arrival, {HHMM}.")
    end_time: str = strawberry.field(description=f"Departure, {HHMM}.")
    status: CrecheOccasionalCareStatus = strawberry.field(description="State of the booking.")
    status_label: str = strawberry.field(description="French label of `status`.")
    emergency: bool = strawberry.field(description="Accueil d'urgence (emergency fee while resources are unknown).")
    booked_by_staff: bool = strawberry.field(description="Booked by an agent on the family's behalf.")
    override_reason: str | None = strawberry.field(description="Staff only: why the agent passed a rule "
                                                               "(past day, documents under review); null otherwise.")

    @classmethod
    def from_model(cls, o: OccasionalCare, staff: bool = False) -> CrecheOccasionalCare:
        status = CrecheOccasionalCareStatus(o.status)
        return cls(id=_id(o.id), child_id=_id(o.child_id),  # type: ignore[attr-defined]
                   child_first_name=o.child.first_name, service_code=o.establishment.service_code, day=o.day,
                   start_time=o.start_time, end_time=o.end_time, status=status, status_label=status.label,
                   emergency=o.emergency, booked_by_staff=o.booked_by_id is not None,  # type: ignore[attr-defined]
                   override_reason=(o.override_reason or None) if staff else None)


@strawberry.input(description="Occasional care booked by an agent on a family's behalf.")
class CrecheOccasionalBookingInput:
    child_id: strawberry.ID = strawberry.field(description="The child.")
    service_code: str = strawberry.field(description="The crèche (the agent's own; NOT_FOUND otherwise).")
    day: date = strawberry.field(description="The day. In the past (up to `staff_backfill_days`): an override "
                                             "reason is required.")
    start_time: str = strawberry.field(description=f"Arrival, {HHMM}, within opening hours.")
    end_time: str = strawberry.field(description=f"Departure, {HHMM}, after `startTime`.")
    override_reason: str = strawberry.field(
        default="", description="Required (OVERRIDE_REASON_REQUIRED) when the booking passes a rule an agent may "
                                "pass: a past day, required documents still under review. Kept in the audit log.")
    emergency: bool = strawberry.field(default=False, description="Accueil d'urgence (emergency fee while the "
                                                                  "family's resources are unknown).")


# ---- absences ------------------------------------------------------------------------------------------
@strawberry.type(description="An absence or cancellation of a child (one per child and report).")
class CrecheAbsence:
    id: strawberry.ID = strawberry.field(description="Database id.")
    child_id: strawberry.ID = strawberry.field(description="The child's id.")
    child_first_name: str = strawberry.field(description="The child's first name.")
    service_code: str = strawberry.field(description="The crèche's service code.")
    start_date: date = strawberry.field(description="First day.")
    end_date: date = strawberry.field(description="Last day.")
    start_time: str = strawberry.field(description=f"From (first day), {HHMM}.")
    end_time: str = strawberry.field(description=f"Until (last day), {HHMM}.")
    motive: CrecheAbsenceMotive = strawberry.field(description="Why.")
    motive_label: str = strawberry.field(description="French label of `motive`.")
    kind: CrecheAbsenceKind = strawberry.field(description="Cancellation (early enough) or absence report.")
    kind_label: str = strawberry.field(description="French label of `kind`.")
    is_cancellation: bool = strawberry.field(description="Same as `kind == CANCELLATION`.")
    status: CrecheAbsenceStatus = strawberry.field(description="Review state.")
    status_label: str = strawberry.field(description="French label of `status`.")
    deductible: bool = strawberry.field(description="Validated and deducted from the fee (per the CNAF rules).")
    has_certificate: bool = strawberry.field(description="A medical certificate is attached.")

    @classmethod
    def from_model(cls, a: Absence) -> CrecheAbsence:
        motive, kind, status = CrecheAbsenceMotive(a.motive), CrecheAbsenceKind(a.kind), CrecheAbsenceStatus(a.status)
        return cls(id=_id(a.id), child_id=_id(a.child_id), child_first_name=a.child.first_name,  # type: ignore[attr-defined]
                   service_code=a.establishment.service_code, start_date=a.start_date, end_date=a.end_date,
                   start_time=a.start_time, end_time=a.end_time, motive=motive, motive_label=motive.label, kind=kind,
                   kind_label=kind.label, is_cancellation=kind is CrecheAbsenceKind.CANCELLATION, status=status,
                   status_label=status.label, deductible=a.deductible,
                   has_certificate=a.certificate_id is not None)  # type: ignore[attr-defined]


@strawberry.input(description="« Signaler une absence » for one or more children.")
class CrecheAbsenceInput:
    from_date: date = strawberry.field(description="First day.")
    to_date: date = strawberry.field(description="Last day, not before `fromDate` (INVALID_PERIOD).")
    start_time: str = strawberry.field(description=f"From (first day), {HHMM}.")
    end_time: str = strawberry.field(description=f"Until (last day), {HHMM}.")
    motive: CrecheAbsenceMotive = strawberry.field(description="Why.")
    child_ids: list[strawberry.ID] = strawberry.field(description="The children (each with a contract or "
                                                                   "occasional care then; NO_CONTRACT otherwise).")
    comment: str = strawberry.field(default="", description="Free text for the crèche.")


# ---- attendance ---------------------------------------------------------------------------------------
def _user_name(user: object | None) -> str | None:
    if user is None:
        return None
    name = f"{getattr(user, 'first_name', '')} {getattr(user, 'last_name', '')}".strip()
    return name or getattr(user, "email", None)


@strawberry.type(description="A child's recorded arrival and departure on a day.")
class CrecheAttendance:
    id: strawberry.ID = strawberry.field(description="Database id.")
    child_id: strawberry.ID = strawberry.field(description="The child's id.")
    day: date = strawberry.field(description="The day.")
    arrival: str = strawberry.field(description=f"Arrival, {HHMM}.")
    departure: str | None = strawberry.field(description=f"Departure, {HHMM}; null while the child is there.")
    corrected_at: datetime | None = strawberry.field(description="Last staff correction (null if never corrected).")
    corrected_by: str | None = strawberry.field(description="Name of the agent of the last correction.")

    @classmethod
    def from_model(cls, a: Attendance, corrected_by: object | None = None) -> CrecheAttendance:
        return cls(id=_id(a.id), child_id=_id(a.child_id), day=a.day,  # type: ignore[attr-defined]
                   arrival=a.arrival, departure=a.departure, corrected_at=a.corrected_at,
                   corrected_by=_user_name(corrected_by))


@strawberry.type(description="One audited change of a recorded attendance.")
class CrecheAttendanceCorrection:
    changed_at: datetime = strawberry.field(description="When.")
    changed_by: str | None = strawberry.field(description="Name of the agent.")
    old_arrival: str = strawberry.field(description=f"Arrival before, {HHMM}.")
    old_departure: str | None = strawberry.field(description=f"Departure before, {HHMM}.")
    new_arrival: str = strawberry.field(description=f"Arrival after, {HHMM}.")
    new_departure: str | None = strawberry.field(description=f"Departure after, {HHMM}.")
    comment: str = strawberry.field(description="Why (staff text).")

    @classmethod
    def from_model(cls, c: AttendanceCorrection) -> CrecheAttendanceCorrection:
        return cls(changed_at=c.changed_at, changed_by=_user_name(c.changed_by), old_arrival=c.old_arrival,
                   old_departure=c.old_departure, new_arrival=c.new_arrival, new_departure=c.new_departure,
                   comment=c.comment)


async def _attendance_out(a: Attendance) -> CrecheAttendance:
    by = await a.corrected_by if a.corrected_by_id else None  # type: ignore[attr-defined]
    return CrecheAttendance.from_model(a, by)


@strawberry.type(description="A child expected in the crèche on a day, for the staff's day sheet.")
class CrecheDailyRow:
    child_id: strawberry.ID = strawberry.field(description="The child's id.")
    child_name: str = strawberry.field(description="« First Last ».")
    planned_arrival: str | None = strawberry.field(description=f"Planned arrival, {HHMM}.")
    planned_departure: str | None = strawberry.field(description=f"Planned departure, {HHMM}.")
    arrival: str | None = strawberry.field(description=f"Recorded arrival, {HHMM}.")
    departure: str | None = strawberry.field(description=f"Recorded departure, {HHMM}.")
    status: CrecheDayStatus | None = strawberry.field(description="Planning legend of the day.")
    status_label: str | None = strawberry.field(description="French label of `status`.")


@strawberry.type(description="One child on one day of the planning.")
class CrecheDay:
    date: date = strawberry.field(description="The day.")
    status: CrecheDayStatus | None = strawberry.field(description="Planning legend; null when the crèche is "
                                                                  "closed and nothing happened.")
    status_label: str | None = strawberry.field(description="French label of `status`.")
    service_code: str | None = strawberry.field(description="The crèche concerned that day, if any.")
    planned_arrival: str | None = strawberry.field(description=f"Planned arrival, {HHMM}.")
    planned_departure: str | None = strawberry.field(description=f"Planned departure, {HHMM}.")
    arrival: str | None = strawberry.field(description=f"Recorded arrival, {HHMM}.")
    departure: str | None = strawberry.field(description=f"Recorded departure, {HHMM}.")


@strawberry.type(description="A child's planning over a month or a week.")
class CrecheChildPlanning:
    child_id: strawberry.ID = strawberry.field(description="The child's id.")
    first_name: str = strawberry.field(description="The child's first name.")
    days: list[CrecheDay] = strawberry.field(description="Every day of the range, in order. Not paginated: a "
                                                         "month at most.")


def _day_status(stored: str | None) -> tuple[CrecheDayStatus | None, str | None]:
    status = _enum_of(CrecheDayStatus, stored)
    return status, status.label if status else None  # type: ignore[return-value]


def _creche_day(d: service.PlannedDay) -> CrecheDay:
    status, label = _day_status(d.status)
    return CrecheDay(date=d.day, status=status, status_label=label, service_code=d.service_code,
                     planned_arrival=_hhmm(d.planned[0]) if d.planned else None,
                     planned_departure=_hhmm(d.planned[1]) if d.planned else None,
                     arrival=_hhmm(d.actual[0]) if d.actual else None,
                     departure=_hhmm(d.actual[1]) if d.actual else None)


def _plannings(items: list[service.ChildPlanning]) -> list[CrecheChildPlanning]:
    """A day shared by several children (the crèche knows nothing of them) is shown once."""
    shown: dict[int, CrecheDay] = {}  # id(PlannedDay): its day; the items keep the days alive
    out = []
    for p in items:
        days = []
        for d in p.days:
            day = shown.get(id(d))
            if day is None:
                day = shown[id(d)] = _creche_day(d)
            days.append(day)
        out.append(CrecheChildPlanning(child_id=_id(p.child.id), first_name=p.child.first_name, days=days))
    return out


def _staff(info: Info) -> bool:
    return actor(info).is_staff


@strawberry.type
class CrecheQuery:
    @strawberry.field(description=(
        "The community's crèches, by name. Any logged-in user. Not paginated: a community runs a few crèches. "
        "Errors: UNAUTHENTICATED."))
    async def creche_establishments(self, info: Info) -> list[CrecheEstablishment] | None:
        return [CrecheEstablishment.from_model(e) for e in await service.list_establishments(actor(info))]

    @strawberry.field(description=(
        f"Children expected per capacity slot on a day ({STAFF}), earliest slot first. Not paginated: one day's "
        "slots (at most 96). Errors: FORBIDDEN, UNKNOWN_SERVICE."))
    async def creche_occupancy(self, info: Info, service_code: SERVICE_CODE,
                               day: Annotated[date, strawberry.argument(description="The day.")]
                               ) -> list[CrecheSlot] | None:
        est, counts = await service.occupancy(actor(info), service_code, day)
        return [CrecheSlot(start=rules.fmt_hhmm(s), count=n, capacity=est.capacity) for s, n in sorted(counts.items())]

    @strawberry.field(description=(
        f"The caller's demandes de place ({FAMILY}), newest first. The rank shows once the crèche publishes it. "
        "Errors: UNAUTHENTICATED, NOT_FOUND (no household), INVALID_PAGE."))
    async def creche_my_requests(self, info: Info, limit: Limit = 50, offset: Offset = 0
                                 ) -> Page[CrechePlaceRequest] | None:
        return await paginate(await service.my_requests(actor(info)), limit, offset,
                              lambda r: CrechePlaceRequest.from_model(r, False))

    @strawberry.field(description=(
        f"Open requests for a crèche ({STAFF}): ranked ones by rank, then the others oldest first. "
        "Errors: FORBIDDEN, UNKNOWN_SERVICE, INVALID_PAGE."))
    async def creche_waiting_list(self, info: Info, service_code: SERVICE_CODE, limit: Limit = 50,
                                  offset: Offset = 0) -> Page[CrechePlaceRequest] | None:
        rows = await service.waiting_list(actor(info), service_code)
        page = page_of(rows, limit, offset)
        page.items = [CrechePlaceRequest.from_model(r, True) for r in page.items]
        return page

    @strawberry.field(description=(
        f"Contracts, newest number first: a family's own once sent ({FAMILY}); the contracts of the agent's "
        "crèches (all for an admin), optionally one crèche and one status. Errors: UNAUTHENTICATED, INVALID_PAGE."))
    async def creche_contracts(
            self, info: Info,
            service_code: Annotated[str | None, strawberry.argument(
                description="Staff: only this crèche (ignored when not the agent's).")] = None,
            status: Annotated[CrecheContractStatus | None, strawberry.argument(
                description="Only contracts in this state.")] = None,
            limit: Limit = 50, offset: Offset = 0) -> Page[CrecheContract] | None:
        query = await service.list_contracts(actor(info), service_code)
        if status is not None:
            query = query.filter(status=status.value)
        return await paginate(query, limit, offset, CrecheContract.from_model)

    @strawberry.field(description=(
        f"One contract: the family's own once sent, or for an {STAFF}. Errors: NOT_FOUND (missing, another "
        "family's, a draft for the family, another crèche's for an agent)."))
    async def creche_contract(self, info: Info, id: Annotated[strawberry.ID, strawberry.argument(
            description="The contract's id.")]) -> CrecheContract | None:
        return CrecheContract.from_model(await service.contract_for(actor(info), parse_id(id, "id")))

    @strawberry.field(description=(
        "The contract's fee period by period, with why each revision happened (family and staff, like "
        "`crecheContract`). Not paginated: one period per barème or resources change. Errors: NOT_FOUND."))
    async def creche_contract_fee_periods(self, info: Info, contract_id: Annotated[
            strawberry.ID, strawberry.argument(description="The contract's id.")]) -> list[CrecheFeePeriod] | None:
        rows = await service.contract_fee_periods(actor(info), parse_id(contract_id, "contractId"))
        return [CrecheFeePeriod.from_service(x) for x in rows]

    @strawberry.field(description=(
        f"A household's resources over time, oldest first ({STAFF} the household uses). Not paginated: a few "
        "records a year. Errors: FORBIDDEN (family), NOT_FOUND."))
    async def creche_family_resources(self, info: Info, household_id: Annotated[
            strawberry.ID, strawberry.argument(description="The household.")]) -> list[CrecheFamilyResources] | None:
        rows = await service.family_resources(actor(info), parse_id(household_id, "householdId"))
        return [CrecheFamilyResources.from_model(r) for r in rows]

    @strawberry.field(description=(
        "A month's planning of every child of the household, day by day (family: own household; staff: "
        "`householdId`, a household using one of their crèches). Not paginated: the household's children. "
        "Errors: REQUIRED (staff without householdId), NOT_FOUND."))
    async def creche_planning(
            self, info: Info, month: Annotated[YearMonth, strawberry.argument(description="The month, `YYYY-MM`.")],
            household_id: Annotated[strawberry.ID | None, strawberry.argument(
                description="Staff: the household (required). Family: ignored.")] = None
    ) -> list[CrecheChildPlanning] | None:
        first: date = month  # type: ignore[assignment]
        days = rules.month_days(first.year, first.month)
        hid = parse_id(household_id, "householdId") if household_id is not None else None
        return _plannings(await service.planning(actor(info), hid, days[0], days[-1]))

    @strawberry.field(description=(
        "A week's planning (Monday to Sunday, the week holding `weekStart`) of every child of the household; "
        "callers as `crechePlanning`. Not paginated: the household's children. Errors: REQUIRED, NOT_FOUND."))
    async def creche_week_planning(
            self, info: Info, week_start: Annotated[date, strawberry.argument(
                description="Any day of the week; the week starts on its Monday.")],
            household_id: Annotated[strawberry.ID | None, strawberry.argument(
                description="Staff: the household (required). Family: ignored.")] = None
    ) -> list[CrecheChildPlanning] | None:
        monday = week_start - timedelta(days=week_start.weekday())
        hid = parse_id(household_id, "householdId") if household_id is not None else None
        return _plannings(await service.planning(actor(info), hid, monday, monday + timedelta(days=6)))

    @strawberry.field(description=(
        f"Occasional care bookings by day then id: a family's own ({FAMILY}); the agent's crèches ({STAFF}). "
        "Errors: UNAUTHENTICATED, INVALID_PAGE."))
    async def creche_occasional_cares(
            self, info: Info,
            service_code: Annotated[str | None, strawberry.argument(description="Staff: only this crèche.")] = None,
            status: Annotated[CrecheOccasionalCareStatus | None, strawberry.argument(
                description="Only bookings in this state (PENDING: the ones to decide).")] = None,
            limit: Limit = 50, offset: Offset = 0) -> Page[CrecheOccasionalCare] | None:
        query = await service.list_occasionals(actor(info), service_code)
        if status is not None:
            query = query.filter(status=status.value)
        staff = _staff(info)
        return await paginate(query, limit, offset, lambda o: CrecheOccasionalCare.from_model(o, staff))

    @strawberry.field(description=(
        f"Absences, latest first: a family's own ({FAMILY}); the agent's crèches ({STAFF}). "
        "Errors: UNAUTHENTICATED, INVALID_PAGE."))
    async def creche_absences(
            self, info: Info,
            service_code: Annotated[str | None, strawberry.argument(description="Staff: only this crèche.")] = None,
            status: Annotated[CrecheAbsenceStatus | None, strawberry.argument(
                description="Only absences in this state (PENDING: the ones to review).")] = None,
            limit: Limit = 50, offset: Offset = 0) -> Page[CrecheAbsence] | None:
        query = await service.list_absences(actor(info), service_code)
        if status is not None:
            query = query.filter(status=status.value)
        return await paginate(query, limit, offset, CrecheAbsence.from_model)

    @strawberry.field(description=(
        f"Audit of the corrections of a recorded attendance, oldest first ({STAFF}). "
        "Errors: FORBIDDEN (family), NOT_FOUND (another crèche's), INVALID_PAGE."))
    async def creche_attendance_history(self, info: Info, attendance_id: Annotated[
            strawberry.ID, strawberry.argument(description="The attendance's id.")],
            limit: Limit = 50, offset: Offset = 0) -> Page[CrecheAttendanceCorrection] | None:
        query = await service.attendance_history(actor(info), parse_id(attendance_id, "attendanceId"))
        return await paginate(query, limit, offset, CrecheAttendanceCorrection.from_model)

    @strawberry.field(description=(
        f"The day sheet ({STAFF}): children expected on a day with their planned and recorded times, by name. "
        "Not paginated: bounded by the crèche's capacity. Errors: FORBIDDEN, UNKNOWN_SERVICE."))
    async def creche_daily_attendance(self, info: Info, service_code: SERVICE_CODE,
                                      day: Annotated[date, strawberry.argument(description="The day.")]
                                      ) -> list[CrecheDailyRow] | None:
        rows = await service.daily_attendance(actor(info), service_code, day)
        out = []
        for r in rows:
            status, label = _day_status(r.status)
            out.append(CrecheDailyRow(
                child_id=_id(r.child.id), child_name=f"{r.child.first_name} {r.child.last_name}",
                planned_arrival=_hhmm(r.planned[0]) if r.planned else None,
                planned_departure=_hhmm(r.planned[1]) if r.planned else None,
                arrival=r.attendance.arrival if r.attendance else None,
                departure=r.attendance.departure if r.attendance else None, status=status, status_label=label))
        return out


def _arg(text: str) -> object:
    return strawberry.argument(description=text)


@strawberry.type
class CrecheMutation:
    @strawberry.mutation(description=(
        f"Change a crèche's capacity, slot, opening hours or closure days ({STAFF}), never silently for what is "
        "booked: `preview: true` lists the bookings from today on that the change affects and changes nothing. "
        "Occasional care on a day now closed or outside the hours needs `affectedBookings` (KEEP or CANCEL); a "
        "contract left outside the new hours refuses the change (revise it first); a contract day on a new "
        "closure day becomes a closure (not billed). A lower capacity applies to new bookings "
        "(`daysOverCapacity`). Families concerned are mailed; the edit is audited. Errors: FORBIDDEN, "
        "UNKNOWN_SERVICE, INVALID_CAPACITY, INVALID_SLOT, INVALID_WEEKDAY, INVALID_TIME, INVALID_PERIOD, "
        "EMPTY_SCHEDULE, AFFECTED_BOOKINGS_CHOICE_REQUIRED, CONTRACTS_OUTSIDE_OPENING_HOURS."))
    async def update_creche_establishment(
            self, info: Info, service_code: SERVICE_CODE,
            input: Annotated[CrecheEstablishmentInput, _arg("What to change.")],
            preview: Annotated[bool, _arg("True: a dry run listing what the change affects; nothing changes.")] = False,
            affected_bookings: Annotated[CrecheAffectedBookingsChoice | None, _arg(
                "What becomes of the occasional care the change affects (required when there is any).")] = None
    ) -> CrecheEstablishmentPayload | None:
        change = await service.update_establishment(
            actor(info), service_code, capacity=input.capacity, slot_minutes=input.slot_minutes,
            opening_hours=_opening_items(input.opening_hours) if input.opening_hours is not None else None,
            closure_days=input.closure_days, preview=preview,
            on_affected=affected_bookings.value if affected_bookings is not None else None)
        return CrecheEstablishmentPayload.from_service(change)

    @strawberry.mutation(description=(
        f"Demande de place in one or more crèches: a {FAMILY} for their child, or an {STAFF} of every wished "
        "crèche for a family (start up to `staff_backfill_days` in the past). Errors: EMAIL_NOT_CONFIRMED, "
        "NOT_FOUND, UNKNOWN_SERVICE, INVALID_DATE, INVALID_DAYS, INVALID_HOURS, MISSING_DOCUMENTS, REQUEST_EXISTS."))
    async def submit_creche_request(
            self, info: Info, input: Annotated[CrechePlaceRequestInput, _arg("The request.")]
    ) -> CrechePlaceRequest | None:
        who = actor(info)
        r = await service.submit_request(who, parse_id(input.child_id, "childId"), input.service_codes,
                                         input.start_date, input.days_per_week, input.hours_per_week, input.comment)
        await r.fetch_related("child")
        r.establishment = None
        return CrechePlaceRequest.from_model(r, who.is_staff)

    @strawberry.mutation(description=(
        f"Commission decision on a request for one crèche ({STAFF}); the family is mailed. Errors: FORBIDDEN, "
        "NOT_FOUND, ALREADY_DECIDED, RANK_REQUIRED."))
    async def decide_creche_request(
            self, info: Info, request_id: Annotated[strawberry.ID, _arg("The request's id.")],
            service_code: SERVICE_CODE, decision: Annotated[CrecheRequestDecision, _arg("The decision.")],
            rank: Annotated[int | None, _arg("Waiting list rank (≥ 1), required with WAITING_LIST.")] = None,
            publish_rank: Annotated[bool, _arg("Show the rank to the family.")] = False,
            comment: Annotated[str, _arg("Told to the family.")] = "") -> CrechePlaceRequest | None:
        r = await service.decide_request(actor(info), parse_id(request_id, "requestId"), service_code, decision.value,
                                         rank, publish_rank, comment)
        return CrechePlaceRequest.from_model(r, True)

    @strawberry.mutation(description=(
        f"Draft contract from an accepted request, fees computed by the PSU rules ({STAFF}). Errors: FORBIDDEN, "
        "NOT_FOUND, REQUEST_NOT_ACCEPTED, INVALID_DATE, INVALID_PERIOD, INVALID_WEEKS, INVALID_WEEKDAY, "
        "OUTSIDE_OPENING_HOURS, EMPTY_SCHEDULE, CONTRACT_EXISTS, BUSY."))
    async def create_creche_contract(
            self, info: Info, request_id: Annotated[strawberry.ID, _arg("The accepted request's id.")],
            input: Annotated[CrecheContractInput, _arg("Dates and hours.")]) -> CrecheContract | None:
        c = await service.create_contract(actor(info), parse_id(request_id, "requestId"), input.start_date,
                                          input.end_date, _schedule_items(input.schedule), input.weeks_per_year)
        return CrecheContract.from_model(c)

    @strawberry.mutation(description=(
        f"Send the draft to the family (status SENT, family mailed) ({STAFF}). Errors: FORBIDDEN, NOT_FOUND, "
        "INVALID_CONTRACT_STATUS."))
    async def send_creche_contract(self, info: Info, contract_id: Annotated[strawberry.ID, _arg("The contract's id.")]
                                   ) -> CrecheContract | None:
        return CrecheContract.from_model(await service.send_contract(actor(info), parse_id(contract_id, "contractId")))

    @strawberry.mutation(description=(
        f"Return the signed contract (PDF, JPEG or PNG) ({FAMILY}); staff then review it (status RETURNED). "
        "Errors: EMAIL_NOT_CONFIRMED, NOT_FOUND, INVALID_CONTRACT_STATUS, INVALID_FILE_TYPE, FILE_TOO_LARGE."))
    async def return_creche_contract(self, info: Info,
                                     contract_id: Annotated[strawberry.ID, _arg("The contract's id.")],
                                     file: Annotated[Upload, _arg("The signed copy (multipart upload).")]
                                     ) -> CrecheContract | None:
        return CrecheContract.from_model(
            await service.send_signed_contract(actor(info), parse_id(contract_id, "contractId"), file))

    @strawberry.mutation(description=(
        f"Accept (status SIGNED) or refuse (back to SENT, reason required) the returned signed copy ({STAFF}); "
        "the family is mailed. Errors: FORBIDDEN, NOT_FOUND, INVALID_CONTRACT_STATUS, REASON_REQUIRED."))
    async def review_creche_contract_signature(
            self, info: Info, contract_id: Annotated[strawberry.ID, _arg("The contract's id.")],
            accept: Annotated[bool, _arg("True: the copy is valid.")],
            reason: Annotated[str, _arg("Why it is refused (required when refusing), told to the family.")] = ""
    ) -> CrecheContract | None:
        return CrecheContract.from_model(
            await service.validate_signed_contract(actor(info), parse_id(contract_id, "contractId"), accept, reason))

    @strawberry.mutation(description=(
        f"New revision of a contract from a date (same number; the current one ends the day before) ({STAFF}). "
        "Errors: FORBIDDEN, NOT_FOUND, INVALID_CONTRACT_STATUS, INVALID_PERIOD, INVALID_WEEKS, INVALID_WEEKDAY, "
        "OUTSIDE_OPENING_HOURS."))
    async def revise_creche_contract(self, info: Info,
                                     contract_id: Annotated[strawberry.ID, _arg("The contract's id.")],
                                     input: Annotated[CrecheContractInput, _arg("The revision's dates and hours.")]
                                     ) -> CrecheContract | None:
        return CrecheContract.from_model(await service.revise_contract(
            actor(info), parse_id(contract_id, "contractId"), input.start_date, input.end_date,
            _schedule_items(input.schedule), input.weeks_per_year))

    @strawberry.mutation(description=(
        f"End a contract on a day ({STAFF}). Errors: FORBIDDEN, NOT_FOUND, INVALID_CONTRACT_STATUS, INVALID_PERIOD."))
    async def end_creche_contract(self, info: Info, contract_id: Annotated[strawberry.ID, _arg("The contract's id.")],
                                  end_date: Annotated[date, _arg("Last day, not before the start.")]
                                  ) -> CrecheContract | None:
        return CrecheContract.from_model(await service.end_contract(actor(info), parse_id(contract_id, "contractId"),
                                                                    end_date))

    @strawberry.mutation(description=(
        f"Ask for occasional care on a day ({FAMILY}); the crèche decides. Needs today or later, opening hours and "
        "room in every slot. Errors: FORBIDDEN (staff: use bookCrecheOccasionalCare), EMAIL_NOT_CONFIRMED, "
        "NOT_FOUND, UNKNOWN_SERVICE, INVALID_DATE, INVALID_TIME, INVALID_PERIOD, OUTSIDE_OPENING_HOURS, "
        "CAPACITY_FULL, OCCASIONAL_EXISTS."))
    async def request_creche_occasional_care(
            self, info: Info, child_id: Annotated[strawberry.ID, _arg("The child.")], service_code: SERVICE_CODE,
            day: Annotated[date, _arg("The day.")], start_time: Annotated[str, _arg(f"Arrival, {HHMM}.")],
            end_time: Annotated[str, _arg(f"Departure, {HHMM}.")]) -> CrecheOccasionalCare | None:
        o = await service.request_occasional(actor(info), parse_id(child_id, "childId"), service_code, day,
                                             start_time, end_time)
        await o.fetch_related("child", "establishment")
        return CrecheOccasionalCare.from_model(o)

    @strawberry.mutation(description=(
        f"Book occasional care on a family's behalf ({STAFF} of `serviceCode`): accepted at once, the family "
        "mailed, audited. The family's rules plus the crèche's acceptance check (its required documents accepted, "
        "except for an accueil d'urgence). The agent may pass, with `overrideReason`, a past day (up to "
        "`staff_backfill_days`) and documents still under review — never the capacity, the opening hours or "
        "closure days, documents never sent or refused, nor an overlapping booking. Errors: "
        "FORBIDDEN (family), NOT_FOUND (child, or a crèche not the agent's), UNKNOWN_SERVICE, INVALID_DATE, "
        "INVALID_TIME, INVALID_PERIOD, OUTSIDE_OPENING_HOURS, MISSING_DOCUMENTS, OVERRIDE_REASON_REQUIRED, "
        "CAPACITY_FULL, OCCASIONAL_EXISTS."))
    async def book_creche_occasional_care(
            self, info: Info, input: Annotated[CrecheOccasionalBookingInput, _arg("The booking.")]
    ) -> CrecheOccasionalCare | None:
        o = await service.book_occasional_for_family(
            actor(info), parse_id(input.child_id, "childId"), input.service_code, input.day, input.start_time,
            input.end_time, input.override_reason, input.emergency)
        return CrecheOccasionalCare.from_model(o, True)

    @strawberry.mutation(description=(
        f"Accept (within capacity) or refuse an occasional care request ({STAFF}); the family is mailed. "
        "Errors: FORBIDDEN, NOT_FOUND, ALREADY_DECIDED, REASON_REQUIRED, CAPACITY_FULL."))
    async def decide_creche_occasional_care(
            self, info: Info, id: Annotated[strawberry.ID, _arg("The booking's id.")],
            accept: Annotated[bool, _arg("True: accept.")],
            reason: Annotated[str, _arg("Why it is refused (required when refusing), told to the family.")] = "",
            emergency: Annotated[bool, _arg("Accueil d'urgence: emergency fee while resources are unknown.")] = False
    ) -> CrecheOccasionalCare | None:
        return CrecheOccasionalCare.from_model(
            await service.decide_occasional(actor(info), parse_id(id, "id"), accept, reason, emergency), True)

    @strawberry.mutation(description=(
        f"Record the family's resources from a date (January update, new avis, CAF data) ({STAFF} the "
        "household uses): the contracts' fees are revised from that date and the family told why. Errors: "
        "FORBIDDEN, NOT_FOUND, INVALID_AMOUNT, INVALID_DATE, INVALID_CHILDREN."))
    async def record_creche_resources(
            self, info: Info, household_id: Annotated[strawberry.ID, _arg("The household.")],
            input: Annotated[CrecheResourcesInput, _arg("The resources.")]) -> CrecheFamilyResources | None:
        r = await service.record_resources(actor(info), parse_id(household_id, "householdId"), input.effective_date,
                                           input.annual_resources_cents, input.dependent_children, input.aeeh_children,
                                           input.source.value, input.comment)
        await r.fetch_related("recorded_by")
        return CrecheFamilyResources.from_model(r)

    @strawberry.mutation(description=(
        f"« Signaler une absence » ({FAMILY}, optional medical certificate): one absence per child, to be "
        f"reviewed. An {STAFF} may record one for a family, past days included (up to `staff_backfill_days`): "
        "it is validated at once and the family mailed. Not paginated: one item per child given. Errors: "
        "EMAIL_NOT_CONFIRMED, NOT_FOUND, REQUIRED, INVALID_TIME, INVALID_PERIOD, INVALID_DATE, NO_CONTRACT, "
        "INVALID_FILE_TYPE."))
    async def report_creche_absence(
            self, info: Info, input: Annotated[CrecheAbsenceInput, _arg("The absence.")],
            certificate: Annotated[Upload | None, _arg("Medical certificate (PDF, JPEG, PNG).")] = None
    ) -> list[CrecheAbsence] | None:
        rows = await service.report_absence(actor(info), [parse_id(c, "childIds") for c in input.child_ids],
                                            input.from_date, input.to_date, input.start_time, input.end_time,
                                            input.motive.value, input.comment, certificate)
        return [CrecheAbsence.from_model(a) for a in rows]

    @strawberry.mutation(description=(
        f"Add the medical certificate of a reported absence ({FAMILY}). Errors: EMAIL_NOT_CONFIRMED, NOT_FOUND, "
        "INVALID_FILE_TYPE."))
    async def add_creche_absence_certificate(
            self, info: Info, absence_id: Annotated[strawberry.ID, _arg("The absence's id.")],
            file: Annotated[Upload, _arg("The certificate (PDF, JPEG, PNG).")]) -> CrecheAbsence | None:
        return CrecheAbsence.from_model(
            await service.add_absence_certificate(actor(info), parse_id(absence_id, "absenceId"), file))

    @strawberry.mutation(description=(
        f"Validate (deduction decided by the CNAF rules) or refuse an absence ({STAFF}); the family is mailed. "
        "Errors: FORBIDDEN, NOT_FOUND, ALREADY_PROCESSED."))
    async def validate_creche_absence(self, info: Info,
                                      absence_id: Annotated[strawberry.ID, _arg("The absence's id.")],
                                      accept: Annotated[bool, _arg("True: validate.")]) -> CrecheAbsence | None:
        return CrecheAbsence.from_model(await service.validate_absence(actor(info), parse_id(absence_id, "absenceId"),
                                                                       accept))

    @strawberry.mutation(description=(
        f"Record a child's arrival / departure on a day ({STAFF}): today or a past day up to "
        "`staff_backfill_days` back; a second recording of the same day is an audited correction. Errors: "
        "FORBIDDEN, NOT_FOUND, UNKNOWN_SERVICE, INVALID_TIME, INVALID_PERIOD, FUTURE_DAY, INVALID_DATE, CONFLICT."))
    async def record_creche_attendance(
            self, info: Info, child_id: Annotated[strawberry.ID, _arg("The child.")], service_code: SERVICE_CODE,
            day: Annotated[date, _arg("The day (not in the future).")],
            arrival: Annotated[str, _arg(f"Arrival, {HHMM}.")],
            departure: Annotated[str | None, _arg(f"Departure, {HHMM}; null while the child is there.")] = None
    ) -> CrecheAttendance | None:
        return await _attendance_out(await service.record_attendance(
            actor(info), parse_id(child_id, "childId"), service_code, day, arrival, departure))

    @strawberry.mutation(description=(
        f"Correct a recorded arrival / departure ({STAFF}), audited (`crecheAttendanceHistory`). Errors: "
        "FORBIDDEN, NOT_FOUND, INVALID_TIME, INVALID_PERIOD."))
    async def correct_creche_attendance(
            self, info: Info, attendance_id: Annotated[strawberry.ID, _arg("The attendance's id.")],
            arrival: Annotated[str, _arg(f"Arrival, {HHMM}.")],
            departure: Annotated[str | None, _arg(f"Departure, {HHMM}.")] = None,
            comment: Annotated[str, _arg("Why (kept in the audit).")] = "") -> CrecheAttendance | None:
        return await _attendance_out(await service.correct_attendance(
            actor(info), parse_id(attendance_id, "attendanceId"), arrival, departure, comment))


contribution = GraphQLContribution(query=CrecheQuery, mutation=CrecheMutation)
