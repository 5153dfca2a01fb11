"""Crèche use cases: establishments, demandes de place, contracts, planning, occasional care,
absences, attendance, billing lines, alerts, RGPD and demo data. Permission-checked, transactional."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from decimal import Decimal
from typing import Any

from tortoise.exceptions import IntegrityError
from tortoise.expressions import Q
from tortoise.transactions import in_transaction

from core import calendar as fr_calendar
from core.compiled_query import CompiledQuery
from core.config import ServiceConfig, get_settings
from core.contributions import Alert, FileDownload
from core.db import lock_rows
from core.errors import Conflict, Forbidden, NotFound, ValidationError
from core.files.service import download_id, store_upload
from core.households.models import Child, Household
from core.households.service import load_bundle
from core.mail.service import queue_mail
from core.permissions import (
    Actor,
    require_confirmed,
    require_household,
    require_household_data,
    require_staff,
    require_user,
)
from core.rgpd.rules import RetentionPolicy
from core.rgpd.walk import export_tables
from core.timeutil import now, today
from plugins.creche import rules
from plugins.creche.models import (
    Absence,
    Attendance,
    AttendanceCorrection,
    Contract,
    ContractStatus,
    Establishment,
    FamilyResources,
    FeeChange,
    OccasionalCare,
    PlaceRequest,
    RequestStatus,
    ResourcesSource,
)

SIGNED_DOCUMENT_TYPE = "contrat_accueil_signe"
ACTIVE_CONTRACT = (ContractStatus.DRAFT, ContractStatus.SENT, ContractStatus.RETURNED, ContractStatus.SIGNED)
BILLED_CONTRACT = (ContractStatus.SIGNED, ContractStatus.REVISED, ContractStatus.ENDED, ContractStatus.RETURNED)
OPEN_REQUEST = (RequestStatus.RECEIVED, RequestStatus.COMMISSION, RequestStatus.WAITING)


def config() -> rules.Config:
    return rules.Config.from_dict(get_settings().plugin_config("creche"))


@contextlib.contextmanager
def rule_errors() -> Iterator[None]:
    try:
        yield
    except rules.RuleError as exc:
        raise ValidationError(exc.message, code=exc.code, field=exc.field) from None


def check_staff_backfill(day: date, field_name: str, cfg: rules.Config | None = None) -> None:
    """Staff back-fill window: a past day at most `staff_backfill_days` back (the month being billed and the
    previous ones); older days are closed (INVALID_DATE)."""
    limit = (cfg or config()).staff_backfill_days
    if day < today() - timedelta(days=limit):
        raise ValidationError(f"Ce jour est trop ancien : au plus {limit} jours en arrière.", code="INVALID_DATE",
                              field=field_name)


async def audit(actor: Actor, action: str, entity: str, entity_id: int | None, household_id: int | None,
                detail: dict[str, Any]) -> None:
    """A staff act in the community's audit log (core `AuditLog`, read with `auditLog`)."""
    from core.households.models import AuditLog

    await AuditLog.create(actor_id=actor.user_id, action=action[:50], entity=entity[:50], entity_id=entity_id,
                          household_id=household_id, detail=detail)


def creche_services() -> dict[str, ServiceConfig]:
    return {s.code: s for s in get_settings().services if s.kind == "creche"}


def visible_services(actor: Actor) -> set[str]:
    """Crèches an agent manages (all for an admin, none for a family)."""
    if actor.is_admin:
        return set(creche_services())
    if actor.is_staff:
        return set(creche_services()) & set(actor.services)
    return set()


def _display(service: ServiceConfig) -> tuple[str, str]:
    name = service.name.split(" - ", 1)[-1].upper()
    town = service.address.rsplit(",", 1)[-1].strip()
    town = " ".join(town.split(" ")[1:]) if town[:5].isdigit() else town
    return name, town.title()


_ESTABLISHMENTS = CompiledQuery(lambda: Establishment.all())


async def ensure_establishments() -> dict[str, Establishment]:
    """One establishment per crèche service of the configuration (created with defaults)."""
    existing = {e.service_code: e for e in await _ESTABLISHMENTS.all()}
    cfg = config()
    missing = []
    for code, service in creche_services().items():
        if code not in existing:
            name, town = _display(service)
            missing.append(Establishment(
                service_code=code, name=name, town=town, capacity=cfg.default_capacity, slot_minutes=cfg.slot_minutes,
                opening_hours={str(d): list(cfg.default_opening) for d in range(5)}))
    if missing:
        # Requests arriving together on a fresh database: the unique service_code keeps one row each.
        await Establishment.bulk_create(missing, ignore_conflicts=True)
        existing = {e.service_code: e for e in await Establishment.all()}
    return existing


async def establishment(code: str, field_name: str = "serviceCode") -> Establishment:
    if code not in creche_services():
        raise ValidationError("Crèche inconnue.", code="UNKNOWN_SERVICE", field=field_name)
    return (await ensure_establishments())[code]


def opening(est: Establishment) -> dict[int, tuple[int, int]]:
    return {int(k): (rules.parse_hhmm(v[0]), rules.parse_hhmm(v[1])) for k, v in (est.opening_hours or {}).items()}


def closures(est: Establishment) -> set[date]:
    return {date.fromisoformat(d) for d in est.closure_days or []}


def shut_days(est: Establishment, start: date, end: date) -> set[date]:
    """Closure days plus the public holidays of the community's subdivision between start and end."""
    return rules.closures_with_holidays(closures(est), start, end, fr_calendar.community_subdivision())


def kind_of(est: Establishment, cfg: rules.Config | None = None) -> str:
    """The establishment's kind (`[plugin.creche.establishments.<code>] kind`), collective by default."""
    return (cfg or config()).establishment(est.service_code).kind


def contract_title(contract: Contract) -> str:
    est = contract.establishment
    return f"Contrat n°{contract.number} – {est.name}" + (f" ({est.town})" if est.town else "")


def _staff_sees(actor: Actor, service_code: str) -> bool:
    return actor.is_staff and service_code in visible_services(actor)


async def _child(actor: Actor, child_id: int) -> Child:
    child = await Child.get_or_none(id=child_id)
    if child is None or not (actor.is_staff or actor.household_id == child.household_id):  # type: ignore[attr-defined]
        raise NotFound("enfant")
    require_household(actor, child.household_id, "enfant")  # type: ignore[attr-defined]
    return child


async def family_emails(household_id: int) -> list[str]:
    """The household's account holders (active accounts), one query."""
    from core.accounts.models import User

    emails = await User.filter(household_id=household_id, is_active=True).order_by("id").values_list("email", flat=True)
    return list(dict.fromkeys(e for e in emails if e))


async def notify_family(household_id: int, name: str, context: dict[str, Any]) -> None:
    """Queue `creche/mail/<name>` to every account holder of the household (call inside the transaction)."""
    for to in await family_emails(household_id):
        await queue_mail(to, f"creche/mail/{name}", context, household_id=household_id)


# ---- establishments ------------------------------------------------------------------------------------
async def list_establishments(actor: Actor) -> list[Establishment]:
    require_user(actor)
    ests = await ensure_establishments()
    return sorted(ests.values(), key=lambda e: e.name)


# ---- establishment edits (issue 14): never a silent change to existing bookings ----------------------
# What an edit does to what is already booked, from today on:
# - occasional care (pending or accepted) on a day now closed or outside the new hours: listed; the agent
#   chooses KEEP (honoured as an exception) or CANCEL (status cancelled, not billed); the family is mailed
#   either way. Without a choice the edit is refused (AFFECTED_BOOKINGS_CHOICE_REQUIRED). Only what THIS
#   edit puts outside counts: a booking kept by an earlier edit is not asked about again.
# - a contract whose weekly schedule falls outside the new opening hours: the edit is refused
#   (CONTRACTS_OUTSIDE_OPENING_HOURS): revise the contract first (a contract changes by revision only).
# - a contract day falling on a new closure day: the day is closed (not billed: closures leave the
#   prorata, rules.open_days); the family is mailed.
# - a lower capacity applies to new bookings; bookings already made stay (the days where they exceed it
#   are listed in `days_over_capacity`). A new slot length changes how capacity is counted, no booking.
# `preview` computes all this and changes nothing. Every applied edit is audited (before / after).
CAPACITY_HORIZON_DAYS = 366


@dataclass
class AffectedBooking:
    kind: str  # occasional_care | contract | contract_day
    id: int  # the occasional care's or the contract's id
    household_id: int
    child: Child
    day: date | None
    start_time: str | None
    end_time: str | None
    reason: str  # closed_day | outside_opening_hours | new_closure_day
    outcome: str  # to_decide | kept | cancelled | not_billed_closure | blocks_change


@dataclass
class EstablishmentChange:
    establishment: Establishment
    preview: bool
    affected: list[AffectedBooking]
    days_over_capacity: list[date]


def _covering(c: Contract, day: date) -> bool:
    return c.start_date <= day and (c.end_date is None or day <= c.end_date)


def _days_over_capacity(contracts: list[Contract], occasionals: list[OccasionalCare], hours: dict[int, tuple[int, int]],
                        shut: set[date], capacity: int, slot_minutes: int, start: date, end: date) -> list[date]:
    """Days from start to end whose bookings (contract hours, occasional care) exceed `capacity` in a slot
    (absences ignored: the crèche must be able to take every booked child)."""
    by_day: dict[date, list[tuple[int, int]]] = {}
    for o in occasionals:
        by_day.setdefault(o.day, []).append((rules.parse_hhmm(o.start_time), rules.parse_hhmm(o.end_time)))
    schedules = [(c, rules.schedule_from_json(c.schedule)) for c in contracts]
    over = []
    for i in range((end - start).days + 1):
        d = start + timedelta(days=i)
        if not rules.is_open(d, hours, shut):
            continue
        intervals = [sched[d.weekday()] for c, sched in schedules if d.weekday() in sched and _covering(c, d)]
        intervals += by_day.get(d, [])
        if len(intervals) > capacity and max(rules.slot_occupancy(intervals, slot_minutes).values()) > capacity:
            over.append(d)
    return over


async def update_establishment(actor: Actor, code: str, *, capacity: int | None, slot_minutes: int | None,
                               opening_hours: list[tuple[int, str, str]] | None,
                               closure_days: list[date] | None, preview: bool = False,
                               on_affected: str | None = None) -> EstablishmentChange:
    """Staff: edit a crèche (capacity, slot, opening hours, closure days), with the rules above for the
    bookings it affects. `on_affected`: "keep" or "cancel" (occasional care), required when some are."""
    require_staff(actor, code)
    est = await establishment(code)
    if capacity is not None and capacity < 1:
        raise ValidationError("La capacité doit être positive.", code="INVALID_CAPACITY", field="capacity")
    if slot_minutes is not None and slot_minutes not in (15, 30, 60):
        raise ValidationError("Créneau de 15, 30 ou 60 minutes.", code="INVALID_SLOT", field="slotMinutes")
    new_hours_json = None
    if opening_hours is not None:
        with rule_errors():
            new_hours_json = rules.schedule_to_json(rules.normalize_schedule(opening_hours))
    the_day = today()
    async with in_transaction():
        # Under the crèche's row lock, like every booking and acceptance: none slips in between the
        # preview of what is affected and the change.
        est = (await lock_rows(Establishment, [est.id]))[0]
        before = {"capacity": est.capacity, "slot_minutes": est.slot_minutes, "opening_hours": est.opening_hours,
                  "closure_days": est.closure_days}
        old_closures, old_hours = closures(est), opening(est)
        if capacity is not None:
            est.capacity = capacity
        if slot_minutes is not None:
            est.slot_minutes = slot_minutes
        if new_hours_json is not None:
            est.opening_hours = new_hours_json
        if closure_days is not None:
            est.closure_days = sorted({d.isoformat() for d in closure_days})
        hours, new_closures = opening(est), closures(est)
        occasionals = await OccasionalCare.filter(establishment=est, day__gte=the_day,
                                                  status__in=("pending", "accepted")).select_related("child")
        contracts = [c for c in await Contract.filter(establishment=est, status__in=ACTIVE_CONTRACT)
                     .select_related("child") if c.end_date is None or c.end_date >= the_day]
        horizon = max([the_day + timedelta(days=CAPACITY_HORIZON_DAYS)] + [o.day for o in occasionals])
        shut = shut_days(est, the_day, horizon)
        old_shut = rules.closures_with_holidays(old_closures, the_day, horizon, fr_calendar.community_subdivision())

        def fits(hours_: dict[int, tuple[int, int]], shut_: set[date], day: date, start: int, end: int) -> str | None:
            if not rules.is_open(day, hours_, shut_):
                return "closed_day"
            if start < hours_[day.weekday()][0] or end > hours_[day.weekday()][1]:
                return "outside_opening_hours"
            return None

        choice = {"keep": "kept", "cancel": "cancelled"}.get(on_affected or "", "to_decide")
        affected: list[AffectedBooking] = []
        for o in occasionals:
            start, end = rules.parse_hhmm(o.start_time), rules.parse_hhmm(o.end_time)
            reason = fits(hours, shut, o.day, start, end)
            if reason is None or fits(old_hours, old_shut, o.day, start, end) is not None:
                continue  # fine, or already outside before this edit (kept then): not affected by it
            affected.append(AffectedBooking("occasional_care", o.id, o.household_id, o.child, o.day,  # type: ignore[attr-defined]
                                            o.start_time, o.end_time, reason, choice))
        for c in contracts:
            for weekday, (a, d) in sorted(rules.schedule_from_json(c.schedule).items()):
                o_hours = hours.get(weekday)
                if o_hours is None or a < o_hours[0] or d > o_hours[1]:
                    affected.append(AffectedBooking("contract", c.id, c.household_id, c.child, None,  # type: ignore[attr-defined]
                                                    rules.fmt_hhmm(a), rules.fmt_hhmm(d), "outside_opening_hours",
                                                    "blocks_change"))
                    break
            schedule = rules.schedule_from_json(c.schedule)
            for day in sorted(new_closures - old_closures):
                if day >= the_day and _covering(c, day) and day.weekday() in schedule:
                    a, d = schedule[day.weekday()]
                    affected.append(AffectedBooking("contract_day", c.id, c.household_id, c.child, day,  # type: ignore[attr-defined]
                                                    rules.fmt_hhmm(a), rules.fmt_hhmm(d), "new_closure_day",
                                                    "not_billed_closure"))
        to_cancel = {x.id for x in affected if x.kind == "occasional_care" and x.outcome == "cancelled"}
        kept_occ = [o for o in occasionals if o.status == "accepted" and o.id not in to_cancel]
        over = _days_over_capacity(contracts, kept_occ, hours, shut, est.capacity, est.slot_minutes, the_day, horizon) \
            if capacity is not None and capacity < before["capacity"] else []
        change = EstablishmentChange(est, preview, affected, over)
        if preview:
            await est.refresh_from_db()  # nothing saved: the answer shows the crèche as it is
            return change
        blocking = [x for x in affected if x.outcome == "blocks_change"]
        if blocking:
            raise Conflict("Ces horaires laisseraient des contrats hors des heures d'ouverture : révisez-les d'abord.",
                           code="CONTRACTS_OUTSIDE_OPENING_HOURS", field="openingHours",
                           details={"contractIds": sorted({x.id for x in blocking})})
        if any(x.outcome == "to_decide" for x in affected):
            raise ValidationError("Des accueils occasionnels sont concernés : prévisualisez puis choisissez de les "
                                  "maintenir ou de les annuler.", code="AFFECTED_BOOKINGS_CHOICE_REQUIRED",
                                  field="affectedBookings",
                                  details={"occasionalCareIds": [x.id for x in affected if x.kind == "occasional_care"]})
        await est.save()
        cancelled = [x.id for x in affected if x.outcome == "cancelled"]
        if cancelled:
            await OccasionalCare.filter(id__in=cancelled).update(status="cancelled")
        await audit(actor, "creche_establishment_updated", "creche_establishment", est.id, None, {
            "before": before, "after": {"capacity": est.capacity, "slot_minutes": est.slot_minutes,
                                        "opening_hours": est.opening_hours, "closure_days": est.closure_days},
            "choice": on_affected, "cancelled": cancelled,
            "kept": [x.id for x in affected if x.outcome == "kept"],
            "closed_contract_days": [[x.id, x.day.isoformat()] for x in affected if x.kind == "contract_day" and x.day],
            "days_over_capacity": [d.isoformat() for d in over]})
        by_household: dict[int, list[AffectedBooking]] = {}
        for x in affected:
            by_household.setdefault(x.household_id, []).append(x)
        for household_id, items in by_household.items():
            def rows(outcome: str, items: list[AffectedBooking] = items) -> list[dict[str, Any]]:
                return [{"child_first_name": x.child.first_name, "day": x.day, "start_time": x.start_time,
                         "end_time": x.end_time} for x in items if x.outcome == outcome]
            await notify_family(household_id, "establishment_changed", {
                "establishment": est, "cancelled": rows("cancelled"), "kept": rows("kept"),
                "closures": rows("not_billed_closure")})
    return change


async def _intervals(est: Establishment, day: date, exclude_occasional: int | None = None) -> list[tuple[int, int]]:
    """Who is expected in the crèche that day: contracts (minus absences) and accepted occasional care."""
    contracts = await Contract.filter(establishment=est, status__in=ACTIVE_CONTRACT, start_date__lte=day).filter(
        end_date__isnull=True).all() + await Contract.filter(
        establishment=est, status__in=ACTIVE_CONTRACT, start_date__lte=day, end_date__gte=day).all()
    absent = set(await Absence.filter(establishment=est, start_date__lte=day, end_date__gte=day)
                 .exclude(status="refused").values_list("child_id", flat=True))
    out = []
    for c in contracts:
        planned = rules.schedule_from_json(c.schedule).get(day.weekday())
        if planned and c.child_id not in absent:  # type: ignore[attr-defined]
            out.append(planned)
    for o in await OccasionalCare.filter(establishment=est, day=day, status="accepted").exclude(id=exclude_occasional or 0):
        out.append((rules.parse_hhmm(o.start_time), rules.parse_hhmm(o.end_time)))
    return out


async def occupancy(actor: Actor, code: str, day: date) -> tuple[Establishment, dict[int, int]]:
    require_staff(actor, code)
    est = await establishment(code)
    return est, rules.slot_occupancy(await _intervals(est, day), est.slot_minutes)


# ---- demandes de place ----------------------------------------------------------------------------------------
async def _missing_documents(household_id: int, child_id: int) -> list[Any]:
    try:
        from core.documents.service import missing_documents  # being written in parallel
    except ImportError:
        return []
    return list(await missing_documents(household_id, "creche", child_id))


async def submit_request(actor: Actor, child_id: int, service_codes: list[str], start_date: date,
                         days_per_week: int, hours_per_week: Decimal, comment: str = "") -> PlaceRequest:
    require_confirmed(actor)
    child = await _child(actor, child_id)
    if not service_codes or any(c not in creche_services() for c in service_codes):
        raise ValidationError("Choisissez une ou plusieurs crèches.", code="UNKNOWN_SERVICE", field="serviceCodes")
    if actor.is_staff:
        # An agent files a request for a family at the desk, for their own crèches only; the start may be
        # in the past (a child already cared for) within the back-fill window.
        if not all(_staff_sees(actor, c) for c in service_codes):
            raise NotFound("enfant")
        check_staff_backfill(start_date, "startDate")
    elif start_date < today():
        raise ValidationError("La date d'entrée souhaitée est passée.", code="INVALID_DATE", field="startDate")
    if not 1 <= days_per_week <= 5:
        raise ValidationError("De 1 à 5 jours par semaine.", code="INVALID_DAYS", field="daysPerWeek")
    if not Decimal(0) < hours_per_week <= Decimal(55):
        raise ValidationError("Nombre d'heures par semaine invalide.", code="INVALID_HOURS", field="hoursPerWeek")
    missing = await _missing_documents(child.household_id, child.id)  # type: ignore[attr-defined]
    if missing:
        labels = ", ".join(getattr(m, "label", str(m)) for m in missing)
        raise ValidationError(f"Documents manquants : {labels}.", code="MISSING_DOCUMENTS", field="childId")
    wished = list(dict.fromkeys(service_codes))
    async with in_transaction():
        # Under the child's row lock, so two requests sent at once see each other.
        await lock_rows(Child, [child.id])
        open_requests = await PlaceRequest.filter(child_id=child.id, status__in=OPEN_REQUEST)
        already = sorted({c for r in open_requests for c in (r.wished_services or [])} & set(wished))
        if already:
            raise Conflict("Une demande est déjà en cours pour cet enfant dans cette crèche.", code="REQUEST_EXISTS",
                           field="serviceCodes", details={"serviceCodes": already})
        return await PlaceRequest.create(household_id=child.household_id, child=child,  # type: ignore[attr-defined]
                                         wished_services=wished, start_date=start_date,
                                         days_per_week=days_per_week, hours_per_week=hours_per_week, comment=comment)


async def my_requests(actor: Actor) -> list[PlaceRequest]:
    hid = require_household(actor, actor.household_id)
    return PlaceRequest.filter(household_id=hid).select_related("child", "establishment").order_by("-id")


async def waiting_list(actor: Actor, code: str) -> list[PlaceRequest]:
    require_staff(actor, code)
    rows = await PlaceRequest.filter(status__in=OPEN_REQUEST).select_related("child", "establishment").order_by("id")
    rows = [r for r in rows if code in (r.wished_services or [])]
    return sorted(rows, key=lambda r: (r.waiting_rank is None, r.waiting_rank or 0, r.id))


async def decide_request(actor: Actor, request_id: int, code: str, status: str, rank: int | None,
                         publish_rank: bool, comment: str) -> PlaceRequest:
    require_staff(actor)
    req = await PlaceRequest.get_or_none(id=request_id).select_related("child", "establishment")
    if req is None or code not in (req.wished_services or []) or not _staff_sees(actor, code):
        raise NotFound("demande")
    if status not in (RequestStatus.COMMISSION, RequestStatus.ACCEPTED, RequestStatus.REFUSED, RequestStatus.WAITING):
        raise ValidationError("Décision inconnue.", code="INVALID_STATUS", field="status")
    if req.status in (RequestStatus.ACCEPTED, RequestStatus.REFUSED):
        raise Conflict("Cette demande a déjà été décidée.", code="ALREADY_DECIDED")
    if status == RequestStatus.WAITING and (rank is None or rank < 1):
        raise ValidationError("Indiquez le rang sur la liste d'attente.", code="RANK_REQUIRED", field="rank")
    async with in_transaction():
        # Two agents deciding at once: the second sees the first decision.
        current = (await lock_rows(PlaceRequest, [req.id]))[0]
        if current.status in (RequestStatus.ACCEPTED, RequestStatus.REFUSED):
            raise Conflict("Cette demande a déjà été décidée.", code="ALREADY_DECIDED")
        req.status = status
        req.decision_comment = comment
        req.waiting_rank = rank if status == RequestStatus.WAITING else None
        req.rank_published = publish_rank and status == RequestStatus.WAITING
        if status == RequestStatus.ACCEPTED:
            req.establishment = await establishment(code)
        if status != RequestStatus.COMMISSION:
            req.decided_at = now()
        await req.save()
        wished = [e.name for c, e in (await ensure_establishments()).items() if c in (req.wished_services or [])]
        await notify_family(req.household_id, "request_decision", {  # type: ignore[attr-defined]
            "request": req, "child": req.child, "status": status, "establishment": req.establishment,
            "wished": wished, "rank": req.waiting_rank if req.rank_published else None, "comment": comment})
    return req


# ---- contracts --------------------------------------------------------------------------------------------------
async def resources_histories(household_ids: list[int]) -> dict[int, list[rules.ResourcesAt]]:
    """Each household's resources over time, in three queries: the family file (household's reference
    income, dependent children, children with AEEH) as the base, then every dated record
    (`FamilyResources`, oldest first; for one date the last recorded wins)."""
    ids = list(dict.fromkeys(household_ids))
    households = await Household.filter(id__in=ids)
    aeeh: dict[int, int] = {}
    for hid in await Child.filter(household_id__in=ids, has_aeeh=True).values_list("household_id", flat=True):
        aeeh[hid] = aeeh.get(hid, 0) + 1  # type: ignore[index]
    out = {h.id: [rules.ResourcesAt(date(1900, 1, 1), h.reference_income_cents, h.dependent_children,
                                    aeeh.get(h.id, 0), "Ressources du dossier famille")] for h in households}
    for r in await FamilyResources.filter(household_id__in=ids).order_by("effective_date", "id"):
        why = ResourcesSource.LABELS.get(r.source, r.source) + (f" : {r.comment}" if r.comment else "")
        out[r.household_id].append(rules.ResourcesAt(r.effective_date, r.annual_cents, r.dependent_children,  # type: ignore[attr-defined]
                                                     r.aeeh_children, why))
    return out


def contract_periods(c: Contract, history: list[rules.ResourcesAt], cfg: rules.Config) -> list[rules.FeePeriod]:
    """The contract's fee periods: the barème and the family's resources in force at each date."""
    return rules.fee_periods(c.start_date, c.end_date, history, Decimal(c.hours_per_week), c.weeks_per_year,
                             kind_of(c.establishment, cfg), cfg)


async def _fees(household_id: int, start: date, schedule: rules.Schedule, weeks: int,
                est: Establishment) -> dict[str, Any]:
    """The fee at the contract's start (shown on the contract; billing follows `contract_periods`)."""
    cfg = config()
    res = rules.resources_on((await resources_histories([household_id]))[household_id], start)
    kind = kind_of(est, cfg)
    hourly = rules.hourly_fee_cents(res.annual_cents, res.dependent_children, res.aeeh_children, start, cfg, kind)
    hpw = rules.weekly_hours(schedule)
    return {"resources_monthly_cents": rules.monthly_resources_cents(res.annual_cents, start, cfg),
            "children_for_rate": rules.children_for_rate(res.dependent_children, res.aeeh_children),
            "hourly_fee_cents": hourly, "hours_per_week": hpw, "monthly_hours": rules.monthly_hours(hpw, weeks),
            "monthly_fee_cents": rules.monthly_fee_cents(hourly, hpw, weeks)}


def _check_contract_input(est: Establishment, start: date, end: date | None, schedule_items: list[tuple[int, str, str]],
                          weeks: int) -> rules.Schedule:
    with rule_errors():
        schedule = rules.normalize_schedule(schedule_items)
    if end is not None and end < start:
        raise ValidationError("La fin du contrat doit suivre son début.", code="INVALID_PERIOD", field="endDate")
    if not 1 <= weeks <= 52:
        raise ValidationError("Nombre de semaines par an invalide.", code="INVALID_WEEKS", field="weeksPerYear")
    hours = opening(est)
    for weekday, (a, d) in schedule.items():
        o = hours.get(weekday)
        if o is None or a < o[0] or d > o[1]:
            raise ValidationError(f"{rules.WEEKDAYS_FR[weekday]} : hors des heures d'ouverture de la crèche.",
                                  code="OUTSIDE_OPENING_HOURS", field="schedule")
    return schedule


async def create_contract(actor: Actor, request_id: int, start: date, end: date | None,
                          schedule_items: list[tuple[int, str, str]], weeks: int) -> Contract:
    require_staff(actor)
    req = await PlaceRequest.get_or_none(id=request_id).select_related("establishment")
    if req is None or req.establishment is None or not _staff_sees(actor, req.establishment.service_code):
        raise NotFound("demande")
    if req.status != RequestStatus.ACCEPTED:
        raise Conflict("Seule une demande acceptée donne lieu à un contrat.", code="REQUEST_NOT_ACCEPTED")
    check_staff_backfill(start, "startDate")  # a contract may start in the past, within the back-fill window
    schedule = _check_contract_input(req.establishment, start, end, schedule_items, weeks)
    fees = await _fees(req.household_id, start, schedule, weeks, req.establishment)  # type: ignore[attr-defined]
    # Numbers are community-wide (max + 1); the unique (number, revision) refuses a number taken
    # by a concurrent creation, which then retries with the next: each round one of them wins.
    for _ in range(20):
        try:
            async with in_transaction():
                # One contract at a time for a child: checked under the child's row lock.
                await lock_rows(Child, [req.child_id])  # type: ignore[attr-defined]
                await _check_no_overlapping_contract(req.child_id, start, end)  # type: ignore[attr-defined]
                last = await Contract.all().order_by("-number").first()
                contract = await Contract.create(
                    number=(last.number + 1) if last else 1, establishment=req.establishment,
                    household_id=req.household_id, child_id=req.child_id, request=req,  # type: ignore[attr-defined]
                    start_date=start, end_date=end, schedule=rules.schedule_to_json(schedule), weeks_per_year=weeks,
                    **fees)
            return await _load_contract(contract.id)
        except IntegrityError:
            continue  # a contract of another child took the same number meanwhile: take the next one
    raise Conflict("Trop de contrats créés en même temps : réessayez.", code="BUSY")


async def _check_no_overlapping_contract(child_id: int, start: date, end: date | None,
                                         exclude_id: int | None = None) -> None:
    query = Contract.filter(child_id=child_id, status__in=ACTIVE_CONTRACT)
    if exclude_id is not None:
        query = query.exclude(id=exclude_id)
    for other in await query:
        if (end is None or other.start_date <= end) and (other.end_date is None or start <= other.end_date):
            raise Conflict(f"Cet enfant a déjà le contrat n°{other.number} sur cette période.",
                           code="CONTRACT_EXISTS", field="startDate", details={"contractNumber": other.number})


async def _load_contract(contract_id: int) -> Contract:
    return await Contract.get(id=contract_id).select_related("establishment", "child")


async def contract_for(actor: Actor, contract_id: int) -> Contract:
    """Families: their own contracts once sent. Agents: contracts of their crèches only."""
    require_user(actor)
    contract = await Contract.get_or_none(id=contract_id).select_related("establishment", "child")
    if contract is None:
        raise NotFound("contrat")
    if actor.is_staff:
        if not _staff_sees(actor, contract.establishment.service_code):
            raise NotFound("contrat")
    elif actor.household_id != contract.household_id or contract.status == ContractStatus.DRAFT:  # type: ignore[attr-defined]
        raise NotFound("contrat")
    return contract


async def list_contracts(actor: Actor, code: str | None = None) -> Any:
    """The contracts the caller sees, newest number first (a queryset, to paginate)."""
    require_user(actor)
    query = Contract.all().select_related("establishment", "child").order_by("-number", "-revision", "-id")
    if actor.is_staff:
        services = visible_services(actor) & ({code} if code else set(creche_services()))
        return query.filter(establishment__service_code__in=list(services))
    return query.filter(household_id=actor.household_id).exclude(status=ContractStatus.DRAFT)


async def _staff_contract(actor: Actor, contract_id: int, allowed: tuple[str, ...]) -> Contract:
    require_staff(actor)
    contract = await contract_for(actor, contract_id)
    if contract.status not in allowed:
        raise Conflict("Action impossible dans l'état actuel du contrat.", code="INVALID_CONTRACT_STATUS")
    return contract


async def send_contract(actor: Actor, contract_id: int) -> Contract:
    contract = await _staff_contract(actor, contract_id, (ContractStatus.DRAFT,))
    async with in_transaction():
        contract.status, contract.sent_at = ContractStatus.SENT, now()
        await contract.save(update_fields=["status", "sent_at"])
        await notify_family(contract.household_id, "contract_sent", {  # type: ignore[attr-defined]
            "contract": contract, "title": contract_title(contract), "child": contract.child})
    return contract


async def send_signed_contract(actor: Actor, contract_id: int, upload: Any) -> Contract:
    """The family returns the signed copy: stored as a document « contrat_accueil_signe » of the child,
    the contract waits for staff validation (status `returned`), then `validateSignedCrecheContract`."""
    from core.documents.models import Document

    require_confirmed(actor)
    contract = await contract_for(actor, contract_id)
    if contract.status not in (ContractStatus.SENT, ContractStatus.RETURNED):
        raise Conflict("Ce contrat n'attend pas de signature.", code="INVALID_CONTRACT_STATUS")
    async with in_transaction():
        stored = await store_upload(upload, household_id=contract.household_id, uploaded_by_id=actor.user_id)  # type: ignore[attr-defined]
        doc = await Document.create(household_id=contract.household_id, child_id=contract.child_id,  # type: ignore[attr-defined]
                                    type_code=SIGNED_DOCUMENT_TYPE, file=stored, uploaded_by_id=actor.user_id,
                                    comment=contract_title(contract))
        contract.signed_document = doc
        contract.status = ContractStatus.RETURNED
        await contract.save(update_fields=["signed_document_id", "status"])
    return contract


async def validate_signed_contract(actor: Actor, contract_id: int, accept: bool, reason: str = "") -> Contract:
    from core.documents.models import Document, DocumentStatus

    contract = await _staff_contract(actor, contract_id, (ContractStatus.RETURNED,))
    reason = reason.strip()
    if not accept and not reason:
        raise ValidationError("Indiquez le motif du refus.", code="REASON_REQUIRED", field="reason")
    async with in_transaction():
        if contract.signed_document_id:  # type: ignore[attr-defined]
            await Document.filter(id=contract.signed_document_id).update(  # type: ignore[attr-defined]
                status=DocumentStatus.ACCEPTED if accept else DocumentStatus.REFUSED, refusal_reason=reason,
                reviewed_by_id=actor.user_id, reviewed_at=now())
        contract.status = ContractStatus.SIGNED if accept else ContractStatus.SENT
        contract.signed_at = now() if accept else None
        await contract.save(update_fields=["status", "signed_at"])
        await notify_family(contract.household_id, "contract_signed_review", {  # type: ignore[attr-defined]
            "contract": contract, "title": contract_title(contract), "child": contract.child, "accepted": accept,
            "reason": reason})
    return contract


async def revise_contract(actor: Actor, contract_id: int, start: date, end: date | None,
                          schedule_items: list[tuple[int, str, str]], weeks: int) -> Contract:
    """A new revision (same number) from `start`: the current one ends the day before."""
    old = await _staff_contract(actor, contract_id, (ContractStatus.SENT, ContractStatus.RETURNED, ContractStatus.SIGNED))
    if start <= old.start_date:
        raise ValidationError("La révision doit commencer après le début du contrat.", code="INVALID_PERIOD",
                              field="startDate")
    schedule = _check_contract_input(old.establishment, start, end, schedule_items, weeks)
    async with in_transaction():
        # Two revisions at once: the second finds the contract already revised.
        if (await lock_rows(Contract, [old.id]))[0].status == ContractStatus.REVISED:
            raise Conflict("Action impossible dans l'état actuel du contrat.", code="INVALID_CONTRACT_STATUS")
        old.status, old.end_date = ContractStatus.REVISED, start - timedelta(days=1)
        await old.save(update_fields=["status", "end_date"])
        new = await Contract.create(
            number=old.number, revision=old.revision + 1, establishment=old.establishment,
            household_id=old.household_id, child_id=old.child_id, request_id=old.request_id,  # type: ignore[attr-defined]
            start_date=start, end_date=end, schedule=rules.schedule_to_json(schedule), weeks_per_year=weeks,
            **await _fees(old.household_id, start, schedule, weeks, old.establishment))  # type: ignore[attr-defined]
    return await _load_contract(new.id)


async def end_contract(actor: Actor, contract_id: int, end: date) -> Contract:
    contract = await _staff_contract(actor, contract_id, ACTIVE_CONTRACT)
    if end < contract.start_date:
        raise ValidationError("La fin du contrat doit suivre son début.", code="INVALID_PERIOD", field="endDate")
    contract.status, contract.end_date = ContractStatus.ENDED, end
    await contract.save(update_fields=["status", "end_date"])
    return contract


async def contract_pdf(actor: Actor, object_id: str) -> FileDownload:
    from core.pdf import render_pdf

    contract = await contract_for(actor, download_id(object_id, "contrat"))
    household = await Household.get(id=contract.household_id).prefetch_related("responsables")  # type: ignore[attr-defined]
    schedule = rules.schedule_from_json(contract.schedule)
    rows = [(rules.WEEKDAYS_FR[d], rules.fmt_hhmm(a), rules.fmt_hhmm(e)) for d, (a, e) in sorted(schedule.items())]
    service = creche_services().get(contract.establishment.service_code)
    history = (await resources_histories([contract.household_id]))[contract.household_id]  # type: ignore[attr-defined]
    content = await render_pdf("creche/pdf/contract.html", {
        "periods": contract_periods(contract, history, config()),
        "contract": contract, "title": contract_title(contract), "child": contract.child, "household": household,
        "responsables": sorted(household.responsables, key=lambda r: r.rank), "rows": rows, "service": service,
        "hours_per_week": str(contract.hours_per_week).replace(".", ","),
        "monthly_hours": str(contract.monthly_hours).replace(".", ","),
        "taux": str(rules.taux_effort(contract.children_for_rate, contract.start_date, kind_of(contract.establishment))
                    * 100).replace(".", ",")})
    return FileDownload(filename=f"contrat-{contract.number}-{contract.revision}.pdf", content_type="application/pdf",
                        content=content)


# ---- planning ---------------------------------------------------------------------------------------------------
@dataclass(frozen=True)
class PlannedDay:
    """One child on one day; frozen: the days of children the crèche knows nothing of are shared."""

    day: date
    status: str | None
    service_code: str | None = None
    planned: tuple[int, int] | None = None
    actual: tuple[int, int | None] | None = None


@dataclass
class ChildPlanning:
    child: Child
    days: list[PlannedDay] = field(default_factory=list)


def _covers(start: date, end: date | None, day: date) -> bool:
    return start <= day and (end is None or day <= end)


# The planning's reads, by household (a join on the child), each compiled once (core.compiled_query).
# Contracts and occasional care come with their crèche (opening hours, closures): the planning
# needs no other establishment.
_PLANNING_CONTRACTS = CompiledQuery(lambda household_id, end: Contract.filter(
    child__household_id=household_id, start_date__lte=end).exclude(status=ContractStatus.DRAFT)
    .select_related("establishment").order_by("id"))
_PLANNING_ATTENDANCE = CompiledQuery(lambda household_id, start, end: Attendance.filter(
    child__household_id=household_id, day__gte=start, day__lte=end))
_PLANNING_ABSENCES = CompiledQuery(lambda household_id, start, end: Absence.filter(
    child__household_id=household_id, start_date__lte=end, end_date__gte=start).exclude(status="refused")
    .order_by("id"))
_PLANNING_OCCASIONALS = CompiledQuery(lambda household_id, start, end: OccasionalCare.filter(
    child__household_id=household_id, day__gte=start, day__lte=end).exclude(status__in=("refused", "cancelled"))
    .select_related("establishment"))
_PLANNING_WAITING = CompiledQuery(lambda household_id: PlaceRequest.filter(
    child__household_id=household_id, status__in=OPEN_REQUEST))


async def planning(actor: Actor, household_id: int | None, start: date, end: date) -> list[ChildPlanning]:
    """Every child of the household, day by day, in a fixed number of queries (whatever the children)."""
    require_user(actor)
    if actor.is_staff:
        if household_id is None:
            raise ValidationError("Précisez le foyer.", code="REQUIRED", field="householdId")
        require_staff(actor)
    else:
        household_id = actor.household_id
    hid = require_household(actor, household_id)
    if actor.is_staff:  # need-to-know: only a household using one of the agent's services
        await require_household_data(actor, hid)
    children = (await load_bundle(hid)).children
    contracts, attendance, absences, occasionals, waiting = await asyncio.gather(
        _PLANNING_CONTRACTS.all(hid, end), _PLANNING_ATTENDANCE.all(hid, start, end),
        _PLANNING_ABSENCES.all(hid, start, end), _PLANNING_OCCASIONALS.all(hid, start, end),
        _PLANNING_WAITING.all(hid))
    if actor.is_staff and not actor.is_admin:  # agents only see their crèches
        visible = visible_services(actor)
        mine = {e.id for e in (await ensure_establishments()).values() if e.service_code in visible}
        contracts = [c for c in contracts if c.establishment_id in mine]  # type: ignore[attr-defined]
        attendance = [a for a in attendance if a.establishment_id in mine]  # type: ignore[attr-defined]
        absences = [a for a in absences if a.establishment_id in mine]  # type: ignore[attr-defined]
        occasionals = [o for o in occasionals if o.establishment_id in mine]  # type: ignore[attr-defined]
    ests = {e.id: e for e in (x.establishment for x in (*contracts, *occasionals))}
    cfg, the_day = config(), today()
    days = [start + timedelta(days=i) for i in range((end - start).days + 1)]
    holidays = fr_calendar.public_holidays_between(start, end, fr_calendar.community_subdivision())
    shut = {e.id: closures(e) | holidays for e in ests.values()}
    hours = {e.id: opening(e) for e in ests.values()}
    schedules = {c.id: rules.schedule_from_json(c.schedule) for c in contracts}
    out = []
    # The days of a child the crèche knows nothing of (no contract, care, attendance, absence or
    # request): the same for every such child, so computed once (most children of a household).
    unknown_child_days: list[PlannedDay] | None = None
    for child in children:
        c_contracts = [c for c in contracts if c.child_id == child.id]  # type: ignore[attr-defined]
        c_att = {a.day: a for a in attendance if a.child_id == child.id}  # type: ignore[attr-defined]
        c_abs = [a for a in absences if a.child_id == child.id]  # type: ignore[attr-defined]
        c_occ = {o.day: o for o in occasionals if o.child_id == child.id}  # type: ignore[attr-defined]
        c_wait = [w for w in waiting if w.child_id == child.id]  # type: ignore[attr-defined]
        known = bool(c_contracts or c_att or c_abs or c_occ or c_wait)
        if not known and unknown_child_days is not None:
            out.append(ChildPlanning(child=child, days=list(unknown_child_days)))
            continue
        plan = ChildPlanning(child=child)
        for d in days:
            contract = next((c for c in c_contracts if _covers(c.start_date, c.end_date, d)), None)
            occ = c_occ.get(d)
            est = ests.get(contract.establishment_id if contract else occ.establishment_id if occ else -1)  # type: ignore[attr-defined]
            is_open = rules.is_open(d, hours[est.id], shut[est.id]) if est else d.weekday() < 5 and d not in holidays
            planned = schedules[contract.id].get(d.weekday()) if contract and is_open else None
            att = c_att.get(d)
            actual = (rules.parse_hhmm(att.arrival), rules.parse_hhmm(att.departure) if att.departure else None) if att else None
            absence = next((a for a in c_abs if a.start_date <= d <= a.end_date), None)
            absence_state = None
            if absence is not None and (planned or occ):
                absence_state = ("cancellation" if absence.kind == "cancellation" else
                                 "excused" if absence.status == "validated" and absence.deductible else "absence")
            facts = rules.DayFacts(
                day=d, today=the_day, open=is_open, planned=planned, attendance=actual, absence=absence_state,
                occasional=(occ.status, rules.parse_hhmm(occ.start_time), rules.parse_hhmm(occ.end_time)) if occ else None,
                contract_ended_before=contract is None and any(c.end_date and c.end_date < d for c in c_contracts),
                waiting=any(w.start_date <= d for w in c_wait))
            if occ and not planned:
                planned = (rules.parse_hhmm(occ.start_time), rules.parse_hhmm(occ.end_time))
            plan.days.append(PlannedDay(day=d, status=rules.day_status(facts, cfg),
                                        service_code=est.service_code if est else None, planned=planned, actual=actual))
        if not known:
            unknown_child_days = plan.days
            plan = ChildPlanning(child=child, days=list(plan.days))
        out.append(plan)
    return out


# ---- occasional care ----------------------------------------------------------------------------------------------
# Rules of an occasional care booking, and which of them an agent booking on a family's behalf may pass
# with a reason (issue 14). A family's request: today or later, opening hours, capacity (the crèche then
# decides; no document check at request time, so that an accueil d'urgence can be asked). An agent's
# booking is also the crèche's acceptance, so it checks what the crèche checks before accepting: the
# crèche's required documents accepted, unless it is an accueil d'urgence. The agent may pass, with a
# reason kept on the booking and in the audit log: a past day (within the back-fill window: the care
# happened and is recorded afterwards) and documents sent but still under review (the desk saw the paper).
# No one passes the capacity, the opening hours and closure days, documents never sent or refused, or a
# second booking of the same child on overlapping hours.
PASSABLE_PAST_DAY = "past_day"
PASSABLE_PENDING_DOCUMENTS = "pending_documents"


async def _occasional_rules(actor: Actor, child: Child, est: Establishment, day: date, start_time: str,
                            end_time: str, check_documents: bool) -> tuple[int, int, list[str]]:
    """The checks outside the transaction; returns (start, end, rules an agent passes)."""
    with rule_errors():
        start, end = rules.parse_hhmm(start_time, "startTime"), rules.parse_hhmm(end_time, "endTime")
        rules.check_within_opening(day, start, end, opening(est), shut_days(est, day, day))
    passed: list[str] = []
    if day < today():
        if not actor.is_staff:
            raise ValidationError("Ce jour est passé.", code="INVALID_DATE", field="day")
        check_staff_backfill(day, "day")
        passed.append(PASSABLE_PAST_DAY)
    missing = await _missing_documents(child.household_id, child.id) if check_documents else []  # type: ignore[attr-defined]
    blocking = [m for m in missing if not (actor.is_staff and getattr(m, "status", "missing") == "pending")]
    if blocking:
        labels = ", ".join(getattr(m, "label", str(m)) for m in blocking)
        raise ValidationError(f"Documents à fournir et à faire valider par la crèche : {labels}.",
                              code="MISSING_DOCUMENTS", field="childId",
                              details={"documents": [getattr(m, "type_code", str(m)) for m in blocking]})
    if missing:
        passed.append(PASSABLE_PENDING_DOCUMENTS)
    return start, end, passed


async def _create_occasional(est: Establishment, child: Child, day: date, start: int, end: int,
                             **fields_: Any) -> OccasionalCare:
    """Capacity and overlap checked and the row inserted, under the crèche's and the child's row locks:
    call inside a transaction. The crèche's lock orders this with every acceptance (decide_occasional)
    and every other booking, so the last place goes to one of them."""
    await lock_rows(Establishment, [est.id])
    await lock_rows(Child, [child.id])
    if not rules.has_room(await _intervals(est, day), start, end, est.capacity, est.slot_minutes):
        raise Conflict("La crèche est complète sur ce créneau.", code="CAPACITY_FULL")
    for other in await OccasionalCare.filter(child_id=child.id, day=day).exclude(status__in=("refused", "cancelled")):
        if rules.parse_hhmm(other.start_time) < end and start < rules.parse_hhmm(other.end_time):
            raise Conflict("Une demande d'accueil occasionnel existe déjà pour cet enfant sur ce créneau.",
                           code="OCCASIONAL_EXISTS", field="startTime")
    return await OccasionalCare.create(household_id=child.household_id, child=child, establishment=est,  # type: ignore[attr-defined]
                                       day=day, start_time=rules.fmt_hhmm(start), end_time=rules.fmt_hhmm(end),
                                       **fields_)


async def request_occasional(actor: Actor, child_id: int, code: str, day: date, start_time: str,
                             end_time: str) -> OccasionalCare:
    """Family: ask for occasional care (the crèche decides): today or later, within opening hours, room in
    every slot."""
    require_confirmed(actor)
    if actor.is_staff:
        raise Forbidden()  # agents book with book_occasional_for_family (accepted at once, audited)
    child = await _child(actor, child_id)
    est = await establishment(code)
    start, end, _ = await _occasional_rules(actor, child, est, day, start_time, end_time, check_documents=False)
    async with in_transaction():
        return await _create_occasional(est, child, day, start, end)


async def book_occasional_for_family(actor: Actor, child_id: int, code: str, day: date, start_time: str,
                                     end_time: str, override_reason: str = "",
                                     emergency: bool = False) -> OccasionalCare:
    """Agent of the crèche (or admin): book occasional care on a family's behalf, accepted at once. The
    family's rules apply; the passable ones (see PASSABLE_*) need `override_reason`, kept on the booking and
    in the audit log. The family is mailed."""
    require_staff(actor)
    if code not in creche_services():
        raise ValidationError("Crèche inconnue.", code="UNKNOWN_SERVICE", field="serviceCode")
    if not _staff_sees(actor, code):
        raise NotFound("crèche")
    child = await Child.get_or_none(id=child_id)
    if child is None:
        raise NotFound("enfant")
    est = await establishment(code)
    start, end, passed = await _occasional_rules(actor, child, est, day, start_time, end_time,
                                                 check_documents=not emergency)
    reason = override_reason.strip()
    if passed and not reason:
        labels = {PASSABLE_PAST_DAY: "jour passé", PASSABLE_PENDING_DOCUMENTS: "documents en cours de validation"}
        raise ValidationError("Indiquez pourquoi vous passez outre : " + ", ".join(labels[p] for p in passed) + ".",
                              code="OVERRIDE_REASON_REQUIRED", field="overrideReason", details={"rules": passed})
    async with in_transaction():
        occ = await _create_occasional(est, child, day, start, end, status="accepted", emergency=emergency,
                                       booked_by_id=actor.user_id, override_reason=reason if passed else "")
        await audit(actor, "creche_occasional_booked_for_family", "creche_occasional_care", occ.id,
                    child.household_id, {"service": code, "day": day.isoformat(),  # type: ignore[attr-defined]
                                         "hours": f"{occ.start_time}-{occ.end_time}", "overridden": passed,
                                         "reason": reason if passed else ""})
        occ.child, occ.establishment = child, est
        await notify_family(child.household_id, "occasional_booked", {  # type: ignore[attr-defined]
            "occasional": occ, "child": child, "establishment": est})
    return occ


async def decide_occasional(actor: Actor, occasional_id: int, accept: bool, reason: str = "",
                            emergency: bool = False) -> OccasionalCare:
    """Staff decision. `emergency`: an accueil d'urgence, billed at the emergency fee while the family's
    resources are unknown (rules.emergency_fee_cents)."""
    require_staff(actor)
    occ = await OccasionalCare.get_or_none(id=occasional_id).select_related("establishment", "child")
    if occ is None or not _staff_sees(actor, occ.establishment.service_code):
        raise NotFound("accueil occasionnel")
    if occ.status != "pending":
        raise Conflict("Cette demande a déjà été traitée.", code="ALREADY_DECIDED")
    reason = reason.strip()
    if not accept and not reason:
        raise ValidationError("Indiquez le motif du refus.", code="REASON_REQUIRED", field="reason")
    async with in_transaction():
        # Capacity is decided under the crèche's row lock: two agents accepting the last place at
        # once are served one after the other, and the second sees the first acceptance.
        await lock_rows(Establishment, [occ.establishment.id])
        if (await lock_rows(OccasionalCare, [occ.id]))[0].status != "pending":
            raise Conflict("Cette demande a déjà été traitée.", code="ALREADY_DECIDED")
        if accept:
            est = occ.establishment
            start, end = rules.parse_hhmm(occ.start_time), rules.parse_hhmm(occ.end_time)
            if not rules.has_room(await _intervals(est, occ.day, exclude_occasional=occ.id), start, end, est.capacity,
                                  est.slot_minutes):
                raise Conflict("La crèche est complète sur ce créneau.", code="CAPACITY_FULL")
        occ.status = "accepted" if accept else "refused"
        occ.emergency = accept and emergency
        await occ.save(update_fields=["status", "emergency"])
        await notify_family(occ.household_id, "occasional_decision", {  # type: ignore[attr-defined]
            "occasional": occ, "child": occ.child, "establishment": occ.establishment, "accepted": accept,
            "reason": reason})
    return occ


async def list_occasionals(actor: Actor, code: str | None = None) -> Any:
    """The occasional cares the caller sees, by day then id (a queryset, to paginate)."""
    require_user(actor)
    query = OccasionalCare.all().select_related("establishment", "child").order_by("day", "id")
    if actor.is_staff:
        services = visible_services(actor) & ({code} if code else set(creche_services()))
        return query.filter(establishment__service_code__in=list(services))
    return query.filter(household_id=actor.household_id)


# ---- absences -----------------------------------------------------------------------------------------------------
async def report_absence(actor: Actor, child_ids: list[int], from_date: date, to_date: date, start_time: str,
                         end_time: str, motive: str, comment: str, certificate: Any | None) -> list[Absence]:
    """« Signaler une absence »: one row per child; `kind` says cancellation or absence report."""

    require_confirmed(actor)
    with rule_errors():
        start, end = rules.parse_hhmm(start_time, "startTime"), rules.parse_hhmm(end_time, "endTime")
        rules.check_period(from_date, to_date, start, end)
    if motive not in rules.Motive.ALL:
        raise ValidationError("Motif inconnu.", code="INVALID_MOTIVE", field="motive")
    if not child_ids:
        raise ValidationError("Choisissez au moins un enfant.", code="REQUIRED", field="childIds")
    if actor.is_staff:  # back-fill by staff: past days within the window (families: any day, as before)
        check_staff_backfill(from_date, "fromDate")
    ests = {e.id: e for e in (await ensure_establishments()).values()}
    targets = []
    for child_id in dict.fromkeys(child_ids):
        child = await _child(actor, child_id)
        contract = await Contract.filter(child=child, status__in=ACTIVE_CONTRACT, start_date__lte=to_date) \
            .order_by("-start_date").first()
        occ = await OccasionalCare.filter(child=child, day__gte=from_date, day__lte=to_date).exclude(status__in=("refused", "cancelled")).first()
        est_id = contract.establishment_id if contract else occ.establishment_id if occ else None  # type: ignore[attr-defined]
        if actor.is_staff and est_id is not None and not _staff_sees(actor, ests[est_id].service_code):
            raise NotFound("enfant")  # another crèche's child: like a missing one
        if est_id is None:
            raise ValidationError(f"{child.first_name} n'a pas d'accueil en crèche sur cette période.",
                                  code="NO_CONTRACT", field="childIds")
        targets.append((child, est_id))
    cfg = config()
    kind = rules.absence_kind(from_date, today(), cfg)
    async with in_transaction():
        stored = None
        if certificate is not None:
            stored = await store_upload(certificate, household_id=targets[0][0].household_id, uploaded_by_id=actor.user_id)  # type: ignore[attr-defined]
        rows = []
        for child, est_id in targets:
            row = await Absence.create(household_id=child.household_id, child=child, establishment_id=est_id,  # type: ignore[attr-defined]
                                       start_date=from_date, end_date=to_date, start_time=rules.fmt_hhmm(start),
                                       end_time=rules.fmt_hhmm(end), motive=motive, comment=comment, kind=kind,
                                       certificate=stored)
            row.establishment = ests[est_id]
            if actor.is_staff:
                # Recorded by the crèche itself: validated at once, deduction by the rules, family told.
                row.status = "validated"
                row.deductible = bool(rules.deductible_days(motive, stored is not None, from_date, to_date, cfg))
                await row.save(update_fields=["status", "deductible"])
                await audit(actor, "creche_absence_recorded", "creche_absence", row.id, child.household_id,  # type: ignore[attr-defined]
                            {"from": from_date.isoformat(), "to": to_date.isoformat(), "motive": motive})
                await notify_family(child.household_id, "absence_reviewed", {  # type: ignore[attr-defined]
                    "absence": row, "child": child, "establishment": row.establishment, "accepted": True,
                    "deductible": row.deductible, "cancellation": False,
                    "why": rules.deduction_reason(motive, stored is not None, from_date, to_date, cfg)})
            rows.append(row)
        return rows


async def _absence_for(actor: Actor, absence_id: int) -> Absence:
    require_user(actor)
    absence = await Absence.get_or_none(id=absence_id).select_related("establishment", "child")
    if absence is None or (actor.is_staff and not _staff_sees(actor, absence.establishment.service_code)) or \
            (not actor.is_staff and absence.household_id != actor.household_id):  # type: ignore[attr-defined]
        raise NotFound("absence")
    return absence


async def add_absence_certificate(actor: Actor, absence_id: int, upload: Any) -> Absence:

    require_confirmed(actor)
    absence = await _absence_for(actor, absence_id)
    async with in_transaction():
        absence.certificate = await store_upload(upload, household_id=absence.household_id, uploaded_by_id=actor.user_id)  # type: ignore[attr-defined]
        await absence.save(update_fields=["certificate_id"])
    return absence


async def validate_absence(actor: Actor, absence_id: int, accept: bool) -> Absence:
    """Staff: validated absences are deducted when rules.deductible_days says so."""
    require_staff(actor)
    absence = await _absence_for(actor, absence_id)
    if absence.status != "pending":
        raise Conflict("Cette absence a déjà été traitée.", code="ALREADY_PROCESSED")
    cfg, has_certificate = config(), absence.certificate_id is not None  # type: ignore[attr-defined]
    async with in_transaction():
        absence.status = "validated" if accept else "refused"
        absence.deductible = accept and bool(rules.deductible_days(
            absence.motive, has_certificate, absence.start_date, absence.end_date, cfg))
        await absence.save(update_fields=["status", "deductible"])
        await notify_family(absence.household_id, "absence_reviewed", {  # type: ignore[attr-defined]
            "absence": absence, "child": absence.child, "establishment": absence.establishment, "accepted": accept,
            "deductible": absence.deductible, "cancellation": absence.kind == "cancellation",
            "why": rules.deduction_reason(absence.motive, has_certificate, absence.start_date, absence.end_date, cfg)})
    return absence


async def list_absences(actor: Actor, code: str | None = None) -> Any:
    """The absences the caller sees, latest first (a queryset, to paginate)."""
    require_user(actor)
    query = Absence.all().select_related("establishment", "child").order_by("-start_date", "-id")
    if actor.is_staff:
        services = visible_services(actor) & ({code} if code else set(creche_services()))
        return query.filter(establishment__service_code__in=list(services))
    return query.filter(household_id=actor.household_id)


# ---- attendance ---------------------------------------------------------------------------------------------------
async def record_attendance(actor: Actor, child_id: int, code: str, day: date, arrival: str,
                            departure: str | None) -> Attendance:
    require_staff(actor, code)
    est = await establishment(code)
    child = await Child.get_or_none(id=child_id)
    if child is None:
        raise NotFound("enfant")
    if day > today():
        raise ValidationError("On ne saisit pas une présence à venir.", code="FUTURE_DAY", field="day")
    check_staff_backfill(day, "day")
    with rule_errors():
        a = rules.parse_hhmm(arrival, "arrival")
        d = rules.parse_hhmm(departure, "departure") if departure else None
    if d is not None and d <= a:
        raise ValidationError("Le départ doit suivre l'arrivée.", code="INVALID_PERIOD", field="departure")
    async with in_transaction():
        # Under the child's row lock: two recordings at once give one row, the second a correction.
        await lock_rows(Child, [child.id])
        row = await Attendance.get_or_none(child=child, day=day)
        if row is not None and row.establishment_id != est.id:  # type: ignore[attr-defined]
            raise Conflict("Présence déjà saisie dans une autre crèche.", code="CONFLICT")
        if row is None:
            return await Attendance.create(child=child, establishment=est, day=day, arrival=rules.fmt_hhmm(a),
                                           departure=rules.fmt_hhmm(d) if d is not None else None,
                                           recorded_by_id=actor.user_id)
        return await _apply_correction(actor, row, a, d, "")


async def _apply_correction(actor: Actor, row: Attendance, arrival: int, departure: int | None,
                            comment: str) -> Attendance:
    """Change the times of a recorded attendance, keeping who changed what and when (no-op if same)."""
    new_a, new_d = rules.fmt_hhmm(arrival), rules.fmt_hhmm(departure) if departure is not None else None
    if (new_a, new_d) == (row.arrival, row.departure):
        return row
    await AttendanceCorrection.create(attendance=row, changed_by_id=actor.user_id, old_arrival=row.arrival,
                                      old_departure=row.departure, new_arrival=new_a, new_departure=new_d,
                                      comment=comment)
    row.arrival, row.departure = new_a, new_d
    row.corrected_by_id, row.corrected_at = actor.user_id, now()  # type: ignore[attr-defined]
    await row.save(update_fields=["arrival", "departure", "corrected_by_id", "corrected_at"])
    return row


async def _attendance_for(actor: Actor, attendance_id: int) -> Attendance:
    """Staff of the attendance's crèche only: another crèche's row looks like a missing one."""
    require_staff(actor)
    row = await Attendance.get_or_none(id=attendance_id).select_related("establishment")
    if row is None or not _staff_sees(actor, row.establishment.service_code):
        raise NotFound("présence")
    return row


async def correct_attendance(actor: Actor, attendance_id: int, arrival: str, departure: str | None,
                             comment: str = "") -> Attendance:
    """Staff correction of a recorded arrival/departure, audited (AttendanceCorrection)."""
    row = await _attendance_for(actor, attendance_id)
    with rule_errors():
        a = rules.parse_hhmm(arrival, "arrival")
        d = rules.parse_hhmm(departure, "departure") if departure else None
    if d is not None and d <= a:
        raise ValidationError("Le départ doit suivre l'arrivée.", code="INVALID_PERIOD", field="departure")
    async with in_transaction():
        return await _apply_correction(actor, row, a, d, comment.strip())


async def attendance_history(actor: Actor, attendance_id: int) -> Any:
    """The corrections of an attendance, oldest first (a queryset, to paginate)."""
    row = await _attendance_for(actor, attendance_id)
    return AttendanceCorrection.filter(attendance=row).select_related("changed_by").order_by("changed_at", "id")


@dataclass
class DailyRow:
    child: Child
    planned: tuple[int, int] | None
    attendance: Attendance | None
    status: str | None


async def daily_attendance(actor: Actor, code: str, day: date) -> list[DailyRow]:
    require_staff(actor, code)
    est = await establishment(code)
    contracts = [c for c in await Contract.filter(establishment=est, status__in=ACTIVE_CONTRACT + (ContractStatus.ENDED,),
                                                  start_date__lte=day).select_related("child")
                 if _covers(c.start_date, c.end_date, day)]
    if not rules.is_open(day, opening(est), shut_days(est, day, day)):
        contracts = []  # closed (closure day, public holiday): no contract child is expected
    occs = await OccasionalCare.filter(establishment=est, day=day, status="accepted").select_related("child")
    att = {a.child_id: a for a in await Attendance.filter(establishment=est, day=day)}  # type: ignore[attr-defined]
    cfg, rows, seen = config(), [], set()
    expected = [(c.child, rules.schedule_from_json(c.schedule).get(day.weekday())) for c in contracts]
    expected += [(o.child, (rules.parse_hhmm(o.start_time), rules.parse_hhmm(o.end_time))) for o in occs]
    for child, planned in expected:
        if planned is None or child.id in seen:
            continue
        seen.add(child.id)
        a = att.get(child.id)
        actual = (rules.parse_hhmm(a.arrival), rules.parse_hhmm(a.departure) if a.departure else None) if a else None
        status = rules.day_status(rules.DayFacts(day=day, today=today(), open=True, planned=planned, attendance=actual), cfg)
        rows.append(DailyRow(child=child, planned=planned, attendance=a, status=status))
    return sorted(rows, key=lambda r: (r.child.last_name, r.child.first_name))


# ---- billing ------------------------------------------------------------------------------------------------------
def _months(start: date, end: date) -> list[tuple[int, int]]:
    out, y, m = [], start.year, start.month
    while (y, m) <= (end.year, end.month):
        out.append((y, m))
        y, m = (y + 1, 1) if m == 12 else (y, m + 1)
    return out


# Crèche fees are childcare for the tax credit (CGI 200 quater B; BOFiP BOI-IR-RICI-300: "établissements
# d'accueil des enfants de moins de six ans"): the PSU fee covers the care, meals and hygiene included
# in the hourly rate, never billed apart; deductions reduce it, dépassements add to it.
CARE_REGULAR = "Accueil régulier en établissement d'accueil du jeune enfant (crèche)"
CARE_OCCASIONAL = "Accueil occasionnel en établissement d'accueil du jeune enfant (crèche)"


async def invoice_lines(period: Any, household_ids: list[int]) -> list[Any]:
    """Invoice line drafts of a batch of households: a few queries whatever the batch size. Each month
    is billed with the barème and the family's resources in force that month (`contract_periods`),
    public holidays of the community's subdivision being closures for the prorata."""
    from core.billing.types import InvoiceLineDraft

    if not household_ids:
        return []
    cfg, services, sub = config(), creche_services(), fr_calendar.community_subdivision()
    contracts = await Contract.filter(household_id__in=household_ids, status__in=BILLED_CONTRACT,
                                      start_date__lte=period.end).select_related("establishment", "child")
    contracts = [c for c in contracts if c.end_date is None or c.end_date >= period.start]
    child_ids = list({c.child_id for c in contracts})  # type: ignore[attr-defined]
    attendance = await Attendance.filter(child_id__in=child_ids, day__gte=period.start, day__lte=period.end)
    absences = await Absence.filter(child_id__in=child_ids, status="validated", deductible=True,
                                    start_date__lte=period.end, end_date__gte=period.start)
    occasionals = await OccasionalCare.filter(household_id__in=household_ids, status="accepted", day__gte=period.start,
                                              day__lte=period.end).select_related("establishment", "child")
    histories = await resources_histories(list({c.household_id for c in contracts}  # type: ignore[attr-defined]
                                               | {o.household_id for o in occasionals}))  # type: ignore[attr-defined]
    lines: list[Any] = []

    def regie(code: str) -> str:
        service = services.get(code) or get_settings().service(code)
        return service.regie if service else ""

    for c in contracts:
        est = c.establishment
        hours, shut = opening(est), closures(est)
        periods = contract_periods(c, histories[c.household_id], cfg)  # type: ignore[attr-defined]
        att = {a.day: (rules.parse_hhmm(a.arrival), rules.parse_hhmm(a.departure))
               for a in attendance if a.child_id == c.child_id and a.departure and a.establishment_id == est.id}  # type: ignore[attr-defined]
        deducted: set[date] = set()
        for a in absences:
            if a.child_id == c.child_id and a.establishment_id == est.id:  # type: ignore[attr-defined]
                deducted |= rules.deductible_days(a.motive, a.certificate_id is not None, a.start_date, a.end_date, cfg)  # type: ignore[attr-defined]
        for y, m in _months(period.start, period.end):
            data = rules.MonthInput(
                year=y, month=m, monthly_fee_cents=c.monthly_fee_cents, hourly_fee_cents=c.hourly_fee_cents,
                contract_start=max(c.start_date, period.start),
                contract_end=min(c.end_date, period.end) if c.end_date else period.end,
                schedule=rules.schedule_from_json(c.schedule),
                open_days=rules.open_days(y, m, hours, shut, sub),
                attendance={d: v for d, v in att.items() if d.month == m and d.year == y}, deducted_days=deducted,
                periods=periods)
            for line in rules.contract_month_lines(data, cfg):
                lines.append(InvoiceLineDraft(
                    household_id=c.household_id, regie_code=regie(est.service_code),  # type: ignore[attr-defined]
                    source_key=f"creche:contract:{c.id}:{y:04d}-{m:02d}:{line.key or line.kind}",
                    designation=f"{contract_title(c)} – {c.child.first_name} – {line.designation}",
                    quantity=str(line.quantity), unit_price_cents=line.unit_price_cents, amount_cents=line.amount_cents,
                    child_id=c.child_id, establishment=est.name, service_code=est.service_code,  # type: ignore[attr-defined]
                    childcare_tax_credit=True, care_nature=CARE_REGULAR))
    for o in occasionals:
        est = o.establishment
        res = rules.resources_on(histories[o.household_id], o.day)  # type: ignore[attr-defined]
        kind = kind_of(est, cfg)
        if o.emergency and res.annual_cents is None:
            hourly = rules.emergency_fee_cents(res.dependent_children, res.aeeh_children, o.day, cfg, kind,
                                               cfg.establishment(est.service_code).emergency_hourly_cents)
            label = "Accueil d'urgence"
        else:
            hourly = rules.hourly_fee_cents(res.annual_cents, res.dependent_children, res.aeeh_children, o.day, cfg,
                                            kind)
            label = "Accueil d'urgence" if o.emergency else "Accueil occasionnel"
        minutes = rules.parse_hhmm(o.end_time) - rules.parse_hhmm(o.start_time)
        qty = (Decimal(minutes) / 60).quantize(rules.CENT)
        amount = int((qty * hourly).quantize(Decimal(1), rounding="ROUND_HALF_UP"))
        lines.append(InvoiceLineDraft(
            household_id=o.household_id, regie_code=regie(est.service_code),  # type: ignore[attr-defined]
            source_key=f"creche:occasional:{o.id}",
            designation=f"{label} {est.name} – {o.child.first_name} – "
                        f"{o.day.strftime('%d/%m/%Y')} {o.start_time}-{o.end_time}",
            quantity=str(qty), unit_price_cents=hourly, amount_cents=amount, child_id=o.child_id,  # type: ignore[attr-defined]
            establishment=est.name, service_code=est.service_code,
            childcare_tax_credit=True, care_nature=CARE_OCCASIONAL))
    return lines


# ---- resources and fee revisions ------------------------------------------------------------------------------
NOTICE_DAYS_AHEAD = 31  # a barème change known in advance is told to the family up to a month before


async def _household_for_staff(actor: Actor, household_id: int) -> Household:
    """Agents act on families with a crèche contract or request in their crèches; others look missing."""
    require_staff(actor)
    household = await Household.get_or_none(id=household_id)
    if household is None:
        raise NotFound("foyer")
    if not actor.is_admin:
        mine = list(visible_services(actor))
        known = await Contract.filter(household_id=household_id, establishment__service_code__in=mine).exists() or \
            await PlaceRequest.filter(household_id=household_id, establishment__service_code__in=mine).exists()
        if not known:
            raise NotFound("foyer")
    return household


async def record_resources(actor: Actor, household_id: int, effective_date: date, annual_cents: int | None,
                           dependent_children: int, aeeh_children: int, source: str,
                           comment: str = "") -> FamilyResources:
    """Staff: the family's resources from a date (January update, new avis, CAF data). Kept as history;
    the contracts' fees are revised from that date and the family is told why (mail, fee periods)."""
    household = await _household_for_staff(actor, household_id)
    if source not in ResourcesSource.ALL:
        raise ValidationError("Origine inconnue (janvier, avis, caf, autre).", code="INVALID_SOURCE", field="source")
    if annual_cents is not None and annual_cents < 0:
        raise ValidationError("Les ressources ne peuvent pas être négatives.", code="INVALID_AMOUNT",
                              field="annualResourcesCents")
    if not date(2000, 1, 1) <= effective_date <= today() + timedelta(days=366):
        raise ValidationError("Date d'effet invalide (au plus un an à l'avance).", code="INVALID_DATE",
                              field="effectiveDate")
    if not 0 <= dependent_children <= 20:
        raise ValidationError("Nombre d'enfants à charge invalide.", code="INVALID_CHILDREN", field="dependentChildren")
    if not 0 <= aeeh_children <= max(dependent_children, 1):
        raise ValidationError("Le nombre d'enfants bénéficiaires de l'AEEH dépasse les enfants à charge.",
                              code="INVALID_CHILDREN", field="aeehChildren")
    async with in_transaction():
        record = await FamilyResources.create(
            household=household, effective_date=effective_date, annual_cents=annual_cents,
            dependent_children=dependent_children, aeeh_children=aeeh_children, source=source,
            comment=comment.strip(), recorded_by_id=actor.user_id)
        contracts = await Contract.filter(household_id=household.id, status__in=BILLED_CONTRACT + (ContractStatus.SENT,)) \
            .select_related("establishment", "child")
        history = (await resources_histories([household.id]))[household.id]
        for c in contracts:
            await _record_fee_changes(c, history, config(), max(today(), effective_date) + timedelta(days=NOTICE_DAYS_AHEAD),
                                      revise_from=effective_date)
    return record


async def family_resources(actor: Actor, household_id: int) -> list[FamilyResources]:
    """Staff: the household's resources history (audit trail: who recorded what, when)."""
    await _household_for_staff(actor, household_id)
    return await FamilyResources.filter(household_id=household_id).select_related("recorded_by") \
        .order_by("effective_date", "id")


async def _record_fee_changes(c: Contract, history: list[rules.ResourcesAt], cfg: rules.Config, until: date,
                              revise_from: date | None = None, known: dict[date, FeeChange] | None = None) -> int:
    """Record (once) each revision of the contract's fee starting up to `until` and mail the family
    why. A revision already recorded for that date is updated when `revise_from` says a new record
    changed it. Call inside a transaction (the mail leaves with the commit)."""
    periods = contract_periods(c, history, cfg)
    if known is None:
        known = {f.start: f for f in await FeeChange.filter(contract_id=c.id)}
    created = 0
    for prev, p in zip(periods, periods[1:], strict=False):
        if p.start > until:
            break
        row = known.get(p.start)
        if row is not None:
            if revise_from is None or p.start < revise_from or row.monthly_fee_cents == p.monthly_fee_cents:
                continue
            row.hourly_fee_cents, row.monthly_fee_cents = p.hourly_fee_cents, p.monthly_fee_cents
            row.previous_monthly_fee_cents, row.reasons = prev.monthly_fee_cents, "\n".join(p.reasons)
            await row.save()
        else:
            row = await FeeChange.create(contract_id=c.id, start=p.start, hourly_fee_cents=p.hourly_fee_cents,
                                         monthly_fee_cents=p.monthly_fee_cents,
                                         previous_monthly_fee_cents=prev.monthly_fee_cents, reasons="\n".join(p.reasons))
        created += 1
        await notify_family(c.household_id, "fee_revised", {  # type: ignore[attr-defined]
            "contract": c, "title": contract_title(c), "child": c.child, "change": row, "period": p,
            "reasons": list(p.reasons), "taux": str(p.taux * 100).replace(".", ",")})
    return created


async def notify_fee_changes(on: date) -> int:
    """Maintenance: tell every family whose contract's fee changes (barème, resources) up to a month
    ahead, once per change. Safe when two processes run it: (contract, start) is unique, the loser's
    transaction (and its mail) is rolled back."""
    cfg = config()
    contracts = await Contract.filter(status__in=(ContractStatus.SIGNED, ContractStatus.RETURNED)) \
        .select_related("establishment", "child")
    contracts = [c for c in contracts if c.end_date is None or c.end_date >= on]
    histories = await resources_histories([c.household_id for c in contracts])  # type: ignore[attr-defined]
    known: dict[int, dict[date, FeeChange]] = {c.id: {} for c in contracts}
    for f in await FeeChange.filter(contract_id__in=list(known)):
        known[f.contract_id][f.start] = f  # type: ignore[attr-defined]
    done = 0
    for c in contracts:
        until = on + timedelta(days=NOTICE_DAYS_AHEAD)
        if all(p.start in known[c.id] for p in contract_periods(c, histories[c.household_id], cfg)[1:]  # type: ignore[attr-defined]
               if p.start <= until):
            continue  # nothing new: no transaction, no query
        try:
            async with in_transaction():
                done += await _record_fee_changes(c, histories[c.household_id], cfg, until,  # type: ignore[attr-defined]
                                                  known=known[c.id])
        except IntegrityError:
            continue  # another process recorded it first
    return done


@dataclass
class ContractFeePeriod:
    period: rules.FeePeriod
    recorded_at: Any = None  # when the revision was recorded and told to the family


async def contract_fee_periods(actor: Actor, contract_id: int) -> list[ContractFeePeriod]:
    """The contract's fee, period by period, with why each one starts (family and staff)."""
    contract = await contract_for(actor, contract_id)
    history = (await resources_histories([contract.household_id]))[contract.household_id]  # type: ignore[attr-defined]
    recorded = {f.start: f.created_at for f in await FeeChange.filter(contract_id=contract.id)}
    return [ContractFeePeriod(p, recorded.get(p.start)) for p in contract_periods(contract, history, config())]


# ---- need-to-know --------------------------------------------------------------------------------------------------
async def household_services(household_ids: list[int]) -> dict[int, set[str]]:
    """Crèches a household uses (core.permissions' need-to-know rule): those it asked a place in,
    and those it has a contract, occasional care or absence with."""
    used: dict[int, set[str]] = {}
    for hid, wished, code in await PlaceRequest.filter(household_id__in=household_ids) \
            .values_list("household_id", "wished_services", "establishment__service_code"):
        used.setdefault(hid, set()).update([*(wished or []), *([code] if code else [])])
    for model in (Contract, OccasionalCare, Absence):
        for hid, code in await model.filter(household_id__in=household_ids).distinct() \
                .values_list("household_id", "establishment__service_code"):
            used.setdefault(hid, set()).add(code)
    return used


# ---- alerts, RGPD ---------------------------------------------------------------------------------------------------
async def alerts(actor: Actor, household_id: int) -> list[Alert]:
    if actor.is_staff or actor.household_id != household_id:
        return []
    out = []
    to_sign = await Contract.filter(household_id=household_id, status=ContractStatus.SENT).count()
    if to_sign:
        out.append(Alert(code="creche_contract_to_sign", count=to_sign, severity="warning", link="/creche/contrats",
                         message=f"{to_sign} contrat(s) d'accueil à signer et à nous retourner."))
    waiting = await Absence.filter(household_id=household_id, motive=rules.Motive.ILLNESS, status="pending",
                                   certificate_id__isnull=True).count()
    if waiting:
        out.append(Alert(code="creche_absence_certificate", count=waiting, link="/creche/absences",
                         message=f"{waiting} absence(s) pour maladie en attente d'un certificat médical."))
    return out


async def rgpd_export(household_id: int) -> dict[str, Any]:
    def rows(items: list[Any], *names: str) -> list[dict[str, Any]]:
        return [{n: (str(getattr(i, n)) if getattr(i, n) is not None else None) for n in names} for i in items]

    return {
        "demandes": rows(await PlaceRequest.filter(household_id=household_id), "id", "child_id", "wished_services",
                         "start_date", "days_per_week", "hours_per_week", "status", "created_at"),
        "contrats": rows(await Contract.filter(household_id=household_id), "id", "number", "revision", "child_id",
                         "start_date", "end_date", "schedule", "hourly_fee_cents", "monthly_fee_cents", "status"),
        "accueils_occasionnels": rows(await OccasionalCare.filter(household_id=household_id), "id", "child_id", "day",
                                      "start_time", "end_time", "status"),
        "absences": rows(await Absence.filter(household_id=household_id), "id", "child_id", "start_date", "end_date",
                         "motive", "comment", "kind", "status"),
        "presences": rows(await Attendance.filter(child__household_id=household_id), "id", "child_id", "day", "arrival",
                          "departure"),
        "ressources": rows(await FamilyResources.filter(household_id=household_id), "id", "effective_date",
                           "annual_cents", "dependent_children", "aeeh_children", "source", "comment", "recorded_at"),
        "tables": await export_tables("creche", household_id),
    }


LIVE_CONTRACTS = (ContractStatus.DRAFT, ContractStatus.SENT, ContractStatus.RETURNED, ContractStatus.SIGNED)


async def rgpd_erasure_blockers(household_id: int) -> list[str]:
    """A contract in force (or being signed) binds the community and the family: end it first."""
    live = await Contract.filter(Q(end_date__isnull=True) | Q(end_date__gte=today()),
                                 household_id=household_id, status__in=LIVE_CONTRACTS).order_by("number")
    return [f"contrat d'accueil n°{c.number} en cours : il doit être terminé avant l'effacement." for c in live]


async def rgpd_retention(policy: RetentionPolicy, today_: date, dry_run: bool) -> dict[str, int]:
    """Attendance, absences, occasional care and decided requests past `activity_months`; medical
    certificates of absences past `health_months_after_leaving` (the file goes with core's orphan
    purge); ended contracts once the invoices they back are past the accounting retention."""
    activity = policy.cutoff_months(today_, policy.activity_months)
    health = policy.cutoff_months(today_, policy.health_months_after_leaving)
    queries = {
        "attendance": Attendance.filter(day__lt=activity),
        "absences": Absence.filter(end_date__lt=activity),
        "occasional_care": OccasionalCare.filter(day__lt=activity),
        "requests": PlaceRequest.filter(status__in=[RequestStatus.ACCEPTED, RequestStatus.REFUSED],
                                        created_at__lt=datetime.combine(activity, time.min, tzinfo=UTC)),
        "contracts": Contract.filter(status__in=[ContractStatus.ENDED, ContractStatus.REVISED],
                                     end_date__lt=policy.invoices_cutoff(today_)),
    }
    certificates = Absence.filter(end_date__lt=health, certificate_id__isnull=False)
    done = {name: await q.count() for name, q in queries.items()}
    done["absence_certificates"] = await certificates.count()
    # Resources back the fees of the contracts: they go with the household's last contract.
    doomed_contracts = set(await queries["contracts"].values_list("id", flat=True))
    keeping = {h for h, c in await Contract.all().values_list("household_id", "id") if c not in doomed_contracts}
    resources = FamilyResources.filter(effective_date__lt=policy.invoices_cutoff(today_)) \
        .exclude(household_id__in=list(keeping) or [0])
    done["resources"] = await resources.count()
    if dry_run:
        return done
    async with in_transaction():
        await certificates.update(certificate_id=None)
        await AttendanceCorrection.filter(attendance__day__lt=activity).delete()
        for name, query in queries.items():
            if name == "requests":
                await Contract.filter(request_id__in=await query.values_list("id", flat=True)).update(request_id=None)
            await query.delete()
        await resources.delete()
    return done


async def rgpd_erase(household_id: int) -> None:
    """Contracts stay (they back invoices: accounting documents), stripped of the free text and the
    link to the request. Requests, occasional care, absences (with their comments) and attendance go."""
    async with in_transaction():
        await AttendanceCorrection.filter(attendance__child__household_id=household_id).delete()
        await Attendance.filter(child__household_id=household_id).delete()
        await Absence.filter(household_id=household_id).delete()
        await OccasionalCare.filter(household_id=household_id).delete()
        await Contract.filter(household_id=household_id).update(request_id=None)
        await PlaceRequest.filter(household_id=household_id).delete()
        # The resources are the basis of the fees billed (kept with the contracts), not the comments.
        await FamilyResources.filter(household_id=household_id).update(comment="")
