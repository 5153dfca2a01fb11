"""GraphQL of the crèche plugin: thin types and resolvers over `service.py`."""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal

import strawberry
from strawberry.file_uploads import Upload
from strawberry.types import Info

from core.contributions import GraphQLContribution
from core.errors import ValidationError
from core.graphql_support import actor, parse_id
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

REQUEST_LABELS = {"recue": "Reçue", "en_commission": "En commission", "acceptee": "Acceptée", "refusee": "Refusée",
                  "liste_attente": "Sur liste d'attente"}
CONTRACT_LABELS = {"draft": "Brouillon", "sent": "À signer", "returned": "Signé, en cours de validation",
                   "signed": "Signé", "revised": "Révisé", "ended": "Terminé"}




def _hhmm(value: int | None) -> str | None:
    return rules.fmt_hhmm(value) if value is not None else None


@strawberry.type
class CrecheOpeningHours:
    weekday: int
    opens: str
    closes: str


@strawberry.type
class CrecheEstablishment:
    id: strawberry.ID
    service_code: str
    name: str
    town: str
    capacity: int
    slot_minutes: int
    opening_hours: list[CrecheOpeningHours]
    closure_days: list[date]

    @classmethod
    def from_model(cls, e: Establishment) -> CrecheEstablishment:
        return cls(id=strawberry.ID(str(e.id)), service_code=e.service_code, name=e.name, town=e.town,
                   capacity=e.capacity, slot_minutes=e.slot_minutes,
                   opening_hours=[CrecheOpeningHours(weekday=int(k), opens=v[0], closes=v[1])
                                  for k, v in sorted((e.opening_hours or {}).items())],
                   closure_days=[date.fromisoformat(d) for d in e.closure_days or []])


@strawberry.type
class CrecheSlot:
    start: str
    count: int
    capacity: int


@strawberry.type
class CrechePlaceRequest:
    id: strawberry.ID
    child_id: strawberry.ID
    child_first_name: str
    wished_services: list[str]
    start_date: date
    days_per_week: int
    hours_per_week: str
    status: str
    status_label: str
    waiting_rank: int | None
    establishment: str | None
    comment: str

    @classmethod
    def from_model(cls, r: PlaceRequest, staff: bool) -> CrechePlaceRequest:
        return cls(id=strawberry.ID(str(r.id)), child_id=strawberry.ID(str(r.child_id)),  # type: ignore[attr-defined]
                   child_first_name=r.child.first_name, wished_services=list(r.wished_services or []),
                   start_date=r.start_date, days_per_week=r.days_per_week, hours_per_week=str(r.hours_per_week),
                   status=r.status, status_label=REQUEST_LABELS.get(r.status, r.status),
                   waiting_rank=r.waiting_rank if staff or r.rank_published else None,
                   establishment=r.establishment.name if r.establishment else None,
                   comment=r.decision_comment if not staff else r.comment)


@strawberry.type
class CrecheScheduleDay:
    weekday: int
    arrival: str
    departure: str


@strawberry.input
class CrecheScheduleDayInput:
    weekday: int = strawberry.field(description="0 = lundi … 6 = dimanche")
    arrival: str
    departure: str


def _schedule_items(items: list[CrecheScheduleDayInput]) -> list[tuple[int, str, str]]:
    return [(i.weekday, i.arrival, i.departure) for i in items]


@strawberry.type
class CrecheContract:
    id: strawberry.ID
    number: int
    revision: int
    title: str
    child_id: strawberry.ID
    child_first_name: str
    service_code: str
    establishment: str
    start_date: date
    end_date: date | None
    schedule: list[CrecheScheduleDay]
    weeks_per_year: int
    hours_per_week: str
    monthly_hours: str
    hourly_fee_cents: int
    monthly_fee_cents: int
    status: str
    status_label: str
    pdf_url: str

    @classmethod
    def from_model(cls, c: Contract) -> CrecheContract:
        return cls(id=strawberry.ID(str(c.id)), number=c.number, revision=c.revision, title=service.contract_title(c),
                   child_id=strawberry.ID(str(c.child_id)), child_first_name=c.child.first_name,  # type: ignore[attr-defined]
                   service_code=c.establishment.service_code, establishment=c.establishment.name,
                   start_date=c.start_date, end_date=c.end_date,
                   schedule=[CrecheScheduleDay(weekday=int(k), arrival=v[0], departure=v[1])
                             for k, v in sorted((c.schedule or {}).items())],
                   weeks_per_year=c.weeks_per_year, hours_per_week=str(c.hours_per_week),
                   monthly_hours=str(c.monthly_hours), hourly_fee_cents=c.hourly_fee_cents,
                   monthly_fee_cents=c.monthly_fee_cents, status=c.status,
                   status_label=CONTRACT_LABELS.get(c.status, c.status), pdf_url=f"/files/creche_contract/{c.id}")


@strawberry.type(description="A stretch of a contract with one fee, and why it starts (barème, resources).")
class CrecheFeePeriod:
    start: date
    end: date | None
    hourly_fee_cents: int
    monthly_fee_cents: int
    resources_monthly_cents: int
    children_for_rate: int
    taux_effort_percent: str
    reasons: list[str]
    recorded_at: datetime | None = strawberry.field(description="When the revision was recorded and told to the family.")

    @classmethod
    def from_service(cls, x: service.ContractFeePeriod) -> CrecheFeePeriod:
        p = x.period
        return cls(start=p.start, end=p.end, hourly_fee_cents=p.hourly_fee_cents, monthly_fee_cents=p.monthly_fee_cents,
                   resources_monthly_cents=p.resources_monthly_cents, children_for_rate=p.children_for_rate,
                   taux_effort_percent=str((p.taux * 100).normalize()), reasons=list(p.reasons), recorded_at=x.recorded_at)


@strawberry.type(description="The family's resources from a date (history kept as audit trail).")
class CrecheFamilyResources:
    id: strawberry.ID
    effective_date: date
    annual_resources_cents: int | None
    dependent_children: int
    aeeh_children: int
    source: str
    comment: str
    recorded_by: str | None
    recorded_at: datetime

    @classmethod
    def from_model(cls, r: FamilyResources) -> CrecheFamilyResources:
        by = r.recorded_by if r.recorded_by_id else None  # type: ignore[attr-defined]
        return cls(id=strawberry.ID(str(r.id)), effective_date=r.effective_date, annual_resources_cents=r.annual_cents,
                   dependent_children=r.dependent_children, aeeh_children=r.aeeh_children, source=r.source,
                   comment=r.comment, recorded_by=getattr(by, "email", None) if by else None, recorded_at=r.recorded_at)


@strawberry.input
class CrecheResourcesInput:
    effective_date: date
    annual_resources_cents: int | None = strawberry.field(description="N-2 resources, cents; null: not given (plafond)")
    dependent_children: int
    aeeh_children: int = 0
    source: str = strawberry.field(description="janvier | avis | caf | autre")
    comment: str = ""


@strawberry.type
class CrecheOccasionalCare:
    id: strawberry.ID
    child_id: strawberry.ID
    child_first_name: str
    service_code: str
    day: date
    start_time: str
    end_time: str
    status: str
    emergency: bool = strawberry.field(description="Accueil d'urgence (emergency fee while resources are unknown).")

    @classmethod
    def from_model(cls, o: OccasionalCare) -> CrecheOccasionalCare:
        return cls(id=strawberry.ID(str(o.id)), child_id=strawberry.ID(str(o.child_id)),  # type: ignore[attr-defined]
                   child_first_name=o.child.first_name, service_code=o.establishment.service_code, day=o.day,
                   start_time=o.start_time, end_time=o.end_time, status=o.status, emergency=o.emergency)


@strawberry.type
class CrecheAbsence:
    id: strawberry.ID
    child_id: strawberry.ID
    start_date: date
    end_date: date
    start_time: str
    end_time: str
    motive: str
    kind: str = strawberry.field(description="cancellation (dans le délai d'annulation) | absence (signalement)")
    is_cancellation: bool
    status: str
    deductible: bool
    has_certificate: bool

    @classmethod
    def from_model(cls, a: Absence) -> CrecheAbsence:
        return cls(id=strawberry.ID(str(a.id)), child_id=strawberry.ID(str(a.child_id)), start_date=a.start_date,  # type: ignore[attr-defined]
                   end_date=a.end_date, start_time=a.start_time, end_time=a.end_time, motive=a.motive, kind=a.kind,
                   is_cancellation=a.kind == "cancellation", status=a.status, deductible=a.deductible,
                   has_certificate=a.certificate_id is not None)  # type: ignore[attr-defined]


def _user_name(user: object | None) -> str | None:
    if user is None:
        return None
    name = f"{getattr(user, 'first_name', '')} {getattr(user, 'last_name', '')}".strip()
    return name or getattr(user, "email", None)


@strawberry.type
class CrecheAttendance:
    id: strawberry.ID
    child_id: strawberry.ID
    day: date
    arrival: str
    departure: str | None
    corrected_at: datetime | None = strawberry.field(description="Last staff correction (null if never corrected).")
    corrected_by: str | None

    @classmethod
    def from_model(cls, a: Attendance, corrected_by: object | None = None) -> CrecheAttendance:
        return cls(id=strawberry.ID(str(a.id)), child_id=strawberry.ID(str(a.child_id)), day=a.day,  # type: ignore[attr-defined]
                   arrival=a.arrival, departure=a.departure, corrected_at=a.corrected_at,
                   corrected_by=_user_name(corrected_by))


@strawberry.type
class CrecheAttendanceCorrection:
    changed_at: datetime
    changed_by: str | None
    old_arrival: str
    old_departure: str | None
    new_arrival: str
    new_departure: str | None
    comment: str

    @classmethod
    def from_model(cls, c: AttendanceCorrection) -> CrecheAttendanceCorrection:
        return cls(changed_at=c.changed_at, changed_by=_user_name(c.changed_by), old_arrival=c.old_arrival,
                   old_departure=c.old_departure, new_arrival=c.new_arrival, new_departure=c.new_departure,
                   comment=c.comment)


async def _attendance_out(a: Attendance) -> CrecheAttendance:
    by = await a.corrected_by if a.corrected_by_id else None  # type: ignore[attr-defined]
    return CrecheAttendance.from_model(a, by)


@strawberry.type
class CrecheDailyRow:
    child_id: strawberry.ID
    child_name: str
    planned_arrival: str | None
    planned_departure: str | None
    arrival: str | None
    departure: str | None
    status: str | None


@strawberry.type
class CrecheDay:
    date: date
    status: str | None
    status_label: str | None
    service_code: str | None
    planned_arrival: str | None
    planned_departure: str | None
    arrival: str | None
    departure: str | None


@strawberry.type
class CrecheChildPlanning:
    child_id: strawberry.ID
    first_name: str
    days: list[CrecheDay]


def _plannings(items: list[service.ChildPlanning]) -> list[CrecheChildPlanning]:
    return [CrecheChildPlanning(
        child_id=strawberry.ID(str(p.child.id)), first_name=p.child.first_name,
        days=[CrecheDay(date=d.day, status=d.status, status_label=rules.DayStatus.LABELS.get(d.status or ""),
                        service_code=d.service_code,
                        planned_arrival=_hhmm(d.planned[0]) if d.planned else None,
                        planned_departure=_hhmm(d.planned[1]) if d.planned else None,
                        arrival=_hhmm(d.actual[0]) if d.actual else None,
                        departure=_hhmm(d.actual[1]) if d.actual else None) for d in p.days])
        for p in items]


@strawberry.input
class CrechePlaceRequestInput:
    child_id: strawberry.ID
    service_codes: list[str]
    start_date: date
    days_per_week: int
    hours_per_week: Decimal
    comment: str = ""


@strawberry.input
class CrecheContractInput:
    start_date: date
    end_date: date | None = None
    schedule: list[CrecheScheduleDayInput]
    weeks_per_year: int = 45


@strawberry.input
class CrecheAbsenceInput:
    from_date: date
    to_date: date
    start_time: str
    end_time: str
    motive: str = strawberry.field(description="maladie | hospitalisation | eviction | fermeture | autre")
    child_ids: list[strawberry.ID]
    comment: str = ""


@strawberry.type
class CrecheQuery:
    @strawberry.field(description="Crèches of the community (opening hours, capacity, closure days).")
    async def creche_establishments(self, info: Info) -> list[CrecheEstablishment]:
        return [CrecheEstablishment.from_model(e) for e in await service.list_establishments(actor(info))]

    @strawberry.field(description="Staff: children expected per time slot on a day.")
    async def creche_occupancy(self, info: Info, service_code: str, day: date) -> list[CrecheSlot]:
        est, counts = await service.occupancy(actor(info), service_code, day)
        return [CrecheSlot(start=rules.fmt_hhmm(s), count=n, capacity=est.capacity) for s, n in sorted(counts.items())]

    @strawberry.field(description="Family: my demandes de place (rank shown once published).")
    async def creche_my_requests(self, info: Info) -> list[CrechePlaceRequest]:
        return [CrechePlaceRequest.from_model(r, False) for r in await service.my_requests(actor(info))]

    @strawberry.field(description="Staff: open requests for a crèche (waiting list order).")
    async def creche_waiting_list(self, info: Info, service_code: str) -> list[CrechePlaceRequest]:
        return [CrechePlaceRequest.from_model(r, True) for r in await service.waiting_list(actor(info), service_code)]

    @strawberry.field(description="Contracts: a family's own (once sent), an agent's crèches.")
    async def creche_contracts(self, info: Info, service_code: str | None = None) -> list[CrecheContract]:
        return [CrecheContract.from_model(c) for c in await service.list_contracts(actor(info), service_code)]

    @strawberry.field
    async def creche_contract(self, info: Info, id: strawberry.ID) -> CrecheContract:
        return CrecheContract.from_model(await service.contract_for(actor(info), parse_id(id, "id")))

    @strawberry.field(description="The contract's fee period by period, with why each revision happened.")
    async def creche_contract_fee_periods(self, info: Info, contract_id: strawberry.ID) -> list[CrecheFeePeriod]:
        rows = await service.contract_fee_periods(actor(info), parse_id(contract_id, "contractId"))
        return [CrecheFeePeriod.from_service(x) for x in rows]

    @strawberry.field(description="Staff: a household's resources over time (who recorded what, when).")
    async def creche_family_resources(self, info: Info, household_id: strawberry.ID) -> list[CrecheFamilyResources]:
        rows = await service.family_resources(actor(info), parse_id(household_id, "householdId"))
        return [CrecheFamilyResources.from_model(r) for r in rows]

    @strawberry.field(description="Month planning (YYYY-MM) of every child of the household, day by day.")
    async def creche_planning(self, info: Info, month: str, household_id: strawberry.ID | None = None
                              ) -> list[CrecheChildPlanning]:
        try:
            year, m = rules.parse_month(month)
        except rules.RuleError as exc:
            raise ValidationError(exc.message, code=exc.code, field=exc.field) from None
        days = rules.month_days(year, m)
        hid = parse_id(household_id, "householdId") if household_id is not None else None
        return _plannings(await service.planning(actor(info), hid, days[0], days[-1]))

    @strawberry.field(description="Week planning (7 days from weekStart) of every child of the household.")
    async def creche_week_planning(self, info: Info, week_start: date, household_id: strawberry.ID | None = None
                                   ) -> list[CrecheChildPlanning]:
        from datetime import timedelta

        monday = week_start - timedelta(days=week_start.weekday())
        hid = parse_id(household_id, "householdId") if household_id is not None else None
        return _plannings(await service.planning(actor(info), hid, monday, monday + timedelta(days=6)))

    @strawberry.field
    async def creche_occasional_cares(self, info: Info, service_code: str | None = None) -> list[CrecheOccasionalCare]:
        return [CrecheOccasionalCare.from_model(o) for o in await service.list_occasionals(actor(info), service_code)]

    @strawberry.field
    async def creche_absences(self, info: Info, service_code: str | None = None, pending_only: bool = False
                              ) -> list[CrecheAbsence]:
        return [CrecheAbsence.from_model(a) for a in await service.list_absences(actor(info), service_code, pending_only)]

    @strawberry.field(description="Staff: audit of the corrections of a recorded attendance (oldest first).")
    async def creche_attendance_history(self, info: Info, attendance_id: strawberry.ID
                                        ) -> list[CrecheAttendanceCorrection]:
        rows = await service.attendance_history(actor(info), parse_id(attendance_id, "attendanceId"))
        return [CrecheAttendanceCorrection.from_model(c) for c in rows]

    @strawberry.field(description="Staff: children expected on a day with their arrival/departure.")
    async def creche_daily_attendance(self, info: Info, service_code: str, day: date) -> list[CrecheDailyRow]:
        rows = await service.daily_attendance(actor(info), service_code, day)
        return [CrecheDailyRow(child_id=strawberry.ID(str(r.child.id)), child_name=f"{r.child.first_name} {r.child.last_name}",
                               planned_arrival=_hhmm(r.planned[0]) if r.planned else None,
                               planned_departure=_hhmm(r.planned[1]) if r.planned else None,
                               arrival=r.attendance.arrival if r.attendance else None,
                               departure=r.attendance.departure if r.attendance else None, status=r.status)
                for r in rows]


@strawberry.type
class CrecheMutation:
    @strawberry.mutation(description="Staff: capacity, slot, opening hours (per weekday) and closure days.")
    async def update_creche_establishment(self, info: Info, service_code: str, capacity: int | None = None,
                                          slot_minutes: int | None = None,
                                          opening_hours: list[CrecheScheduleDayInput] | None = None,
                                          closure_days: list[date] | None = None) -> CrecheEstablishment:
        est = await service.update_establishment(
            actor(info), service_code, capacity=capacity, slot_minutes=slot_minutes,
            opening_hours=_schedule_items(opening_hours) if opening_hours is not None else None,
            closure_days=closure_days)
        return CrecheEstablishment.from_model(est)

    @strawberry.mutation(description="Family: demande de place in one or more crèches.")
    async def submit_creche_request(self, info: Info, input: CrechePlaceRequestInput) -> CrechePlaceRequest:
        r = await service.submit_request(actor(info), parse_id(input.child_id, "childId"), input.service_codes,
                                         input.start_date, input.days_per_week, input.hours_per_week, input.comment)
        await r.fetch_related("child")
        r.establishment = None
        return CrechePlaceRequest.from_model(r, False)

    @strawberry.mutation(description="Staff: commission decision (en_commission | acceptee | refusee | liste_attente).")
    async def decide_creche_request(self, info: Info, request_id: strawberry.ID, service_code: str, status: str,
                                    rank: int | None = None, publish_rank: bool = False, comment: str = ""
                                    ) -> CrechePlaceRequest:
        r = await service.decide_request(actor(info), parse_id(request_id, "requestId"), service_code, status, rank,
                                         publish_rank, comment)
        return CrechePlaceRequest.from_model(r, True)

    @strawberry.mutation(description="Staff: draft contract from an accepted request (fees computed by PSU).")
    async def create_creche_contract(self, info: Info, request_id: strawberry.ID, input: CrecheContractInput
                                     ) -> CrecheContract:
        c = await service.create_contract(actor(info), parse_id(request_id, "requestId"), input.start_date, input.end_date,
                                          _schedule_items(input.schedule), input.weeks_per_year)
        return CrecheContract.from_model(c)

    @strawberry.mutation(description="Staff: send the draft to the family (status sent, to sign).")
    async def send_creche_contract(self, info: Info, contract_id: strawberry.ID) -> CrecheContract:
        return CrecheContract.from_model(await service.send_contract(actor(info), parse_id(contract_id, "contractId")))

    @strawberry.mutation(description="Family: return the signed contract (PDF/JPEG/PNG); staff then validate it.")
    async def send_signed_contract(self, info: Info, contract_id: strawberry.ID, file: Upload) -> CrecheContract:
        return CrecheContract.from_model(
            await service.send_signed_contract(actor(info), parse_id(contract_id, "contractId"), file))

    @strawberry.mutation(description="Staff: accept (status signed) or refuse (back to sent, reason required) the returned copy.")
    async def validate_signed_creche_contract(self, info: Info, contract_id: strawberry.ID, accept: bool,
                                              reason: str = "") -> CrecheContract:
        return CrecheContract.from_model(
            await service.validate_signed_contract(actor(info), parse_id(contract_id, "contractId"), accept, reason))

    @strawberry.mutation(description="Staff: new revision of a contract from a date (same number).")
    async def revise_creche_contract(self, info: Info, contract_id: strawberry.ID, input: CrecheContractInput
                                     ) -> CrecheContract:
        return CrecheContract.from_model(await service.revise_contract(
            actor(info), parse_id(contract_id, "contractId"), input.start_date, input.end_date,
            _schedule_items(input.schedule), input.weeks_per_year))

    @strawberry.mutation
    async def end_creche_contract(self, info: Info, contract_id: strawberry.ID, end_date: date) -> CrecheContract:
        return CrecheContract.from_model(await service.end_contract(actor(info), parse_id(contract_id, "contractId"), end_date))

    @strawberry.mutation(description="Family: accueil occasionnel request for a day and hours.")
    async def request_creche_occasional_care(self, info: Info, child_id: strawberry.ID, service_code: str, day: date,
                                             start_time: str, end_time: str) -> CrecheOccasionalCare:
        o = await service.request_occasional(actor(info), parse_id(child_id, "childId"), service_code, day, start_time,
                                             end_time)
        await o.fetch_related("child", "establishment")
        return CrecheOccasionalCare.from_model(o)

    @strawberry.mutation(description="Staff: accept (within capacity) or refuse an occasional care request.")
    async def decide_creche_occasional_care(self, info: Info, id: strawberry.ID, accept: bool, reason: str = "",
                                            emergency: bool = False) -> CrecheOccasionalCare:
        return CrecheOccasionalCare.from_model(
            await service.decide_occasional(actor(info), parse_id(id, "id"), accept, reason, emergency))

    @strawberry.mutation(description="Staff: the family's resources from a date (January update, new avis, CAF "
                                     "data): the contracts' fees are revised from that date and the family told why.")
    async def record_creche_resources(self, info: Info, household_id: strawberry.ID, input: CrecheResourcesInput
                                      ) -> CrecheFamilyResources:
        r = await service.record_resources(actor(info), parse_id(household_id, "householdId"), input.effective_date,
                                           input.annual_resources_cents, input.dependent_children, input.aeeh_children,
                                           input.source, input.comment)
        await r.fetch_related("recorded_by")
        return CrecheFamilyResources.from_model(r)

    @strawberry.mutation(description="Family: « Signaler une absence » (optional medical certificate).")
    async def report_creche_absence(self, info: Info, input: CrecheAbsenceInput,
                                    certificate: Upload | None = None) -> list[CrecheAbsence]:
        rows = await service.report_absence(actor(info), [parse_id(c, "childIds") for c in input.child_ids], input.from_date,
                                            input.to_date, input.start_time, input.end_time, input.motive,
                                            input.comment, certificate)
        return [CrecheAbsence.from_model(a) for a in rows]

    @strawberry.mutation(description="Family: add the medical certificate of a reported absence.")
    async def add_creche_absence_certificate(self, info: Info, absence_id: strawberry.ID, file: Upload) -> CrecheAbsence:
        return CrecheAbsence.from_model(
            await service.add_absence_certificate(actor(info), parse_id(absence_id, "absenceId"), file))

    @strawberry.mutation(description="Staff: validate (deduction decided by the rules) or refuse an absence.")
    async def validate_creche_absence(self, info: Info, absence_id: strawberry.ID, accept: bool) -> CrecheAbsence:
        return CrecheAbsence.from_model(await service.validate_absence(actor(info), parse_id(absence_id, "absenceId"), accept))

    @strawberry.mutation(description="Staff: arrival / departure of a child on a day.")
    async def record_creche_attendance(self, info: Info, child_id: strawberry.ID, service_code: str, day: date,
                                       arrival: str, departure: str | None = None) -> CrecheAttendance:
        return await _attendance_out(await service.record_attendance(
            actor(info), parse_id(child_id, "childId"), service_code, day, arrival, departure))

    @strawberry.mutation(description="Staff of the crèche: correct a recorded arrival/departure (audited).")
    async def correct_creche_attendance(self, info: Info, attendance_id: strawberry.ID, arrival: str,
                                        departure: str | None = None, comment: str = "") -> CrecheAttendance:
        return await _attendance_out(await service.correct_attendance(
            actor(info), parse_id(attendance_id, "attendanceId"), arrival, departure, comment))


contribution = GraphQLContribution(query=CrecheQuery, mutation=CrecheMutation)
