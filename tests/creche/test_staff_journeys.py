"""Issue 14 for the crèche, through the API: an agent books occasional care on a family's behalf (rules
passed with an audited reason, rules no one passes, the family mailed, capacity under concurrency), edits
an establishment with an explicit choice for the bookings it affects (preview, keep, cancel, refused), and
back-fills attendance, absences, requests and contracts in the past; families keep their restrictions."""

from __future__ import annotations

import asyncio
from datetime import date, timedelta

from core.calendar import public_holiday
from core.documents.models import Document
from core.files.models import StoredFile
from core.households.models import AuditLog
from core.timeutil import today
from plugins.creche import service
from plugins.creche.models import (
    Absence,
    Attendance,
    Contract,
    Establishment,
    OccasionalCare,
    PlaceRequest,
)
from tests.conftest import make_staff
from tests.creche.test_api import (
    ABSENCE,
    ATTEND,
    CREATE,
    DECIDE,
    OCCASIONAL,
    PAP,
    RIT,
    SUBMIT,
    family,
    next_monday,
    signed_contract,
)
from tests.creche.test_concurrency import codes, postgres_only
from tests.creche.test_mail_and_corrections import delivered

BOOK = """mutation($input: CrecheOccasionalBookingInput!) { bookCrecheOccasionalCare(input: $input) {
  id status statusLabel bookedByStaff overrideReason day startTime endTime emergency } }"""
MY_OCCASIONALS = "{ crecheOccasionalCares { total items { id status bookedByStaff overrideReason } } }"
EDIT = """mutation($s: String!, $input: CrecheEstablishmentInput!, $preview: Boolean! = false,
  $choice: CrecheAffectedBookingsChoice) {
  updateCrecheEstablishment(serviceCode: $s, input: $input, preview: $preview, affectedBookings: $choice) {
    preview daysOverCapacity establishment { capacity closureDays openingHours { weekday opens closes } }
    affected { kind id childFirstName day startTime endTime reason reasonLabel outcome outcomeLabel } } }"""


def past_open_day(at_least_days_back: int = 7) -> date:
    """A weekday (not a public holiday) at least `at_least_days_back` days ago."""
    day = today() - timedelta(days=at_least_days_back)
    while day.weekday() >= 5 or public_holiday(day) is not None:
        day -= timedelta(days=1)
    return day


def booking(child, day: date, **kw) -> dict:
    return {"input": {"childId": str(child.id), "serviceCode": RIT, "day": day.isoformat(), "startTime": "09:00",
                      "endTime": "12:00", **kw}}


async def test_agent_books_on_behalf_with_audited_overrides_and_the_family_mailed(gql, mailbox):
    user, household, kids = await family()
    fam = await gql.as_user(user)
    agent_user = await make_staff("rit@example.org", services=[RIT])
    agent = await gql.as_user(agent_user)
    stranger = await gql.as_user(await make_staff("pap@example.org", services=[PAP]))
    day = next_monday()

    # a family cannot use the staff act; an agent of another crèche finds nothing; nothing stored
    assert await fam.code(BOOK, **booking(kids[0], day)) == "FORBIDDEN"
    assert await stranger.code(BOOK, **booking(kids[0], day)) == "NOT_FOUND"
    assert await agent.code(BOOK, **booking(kids[0], day, serviceCode="creche_inconnue")) == "UNKNOWN_SERVICE"
    assert await OccasionalCare.all().count() == 0

    booked = (await agent.ok(BOOK, **booking(kids[0], day)))["bookCrecheOccasionalCare"]
    assert (booked["status"], booked["statusLabel"], booked["bookedByStaff"], booked["overrideReason"]) == (
        "ACCEPTED", "Acceptée", True, None)
    mails = await delivered(mailbox, user.email)
    assert len(mails) == 1 and "Accueil occasionnel réservé" in mails[0][0]
    assert kids[0].first_name in mails[0][1] and "de 09h00 à 12h00" in mails[0][1]
    # the family sees it (without the staff-only reason)
    mine = (await fam.ok(MY_OCCASIONALS))["crecheOccasionalCares"]
    assert mine["total"] == 1 and mine["items"][0]["bookedByStaff"] is True

    # a past day: passable, with a reason only; the family may not book it at all
    past = past_open_day()
    refused = await agent.error(BOOK, **booking(kids[1], past))
    assert refused["extensions"]["code"] == "OVERRIDE_REASON_REQUIRED"
    assert refused["extensions"]["field"] == "overrideReason" and refused["extensions"]["rules"] == ["past_day"]
    assert await fam.code(OCCASIONAL, c=str(kids[1].id), s=RIT, d=past.isoformat(), a="09:00", b="12:00") == "INVALID_DATE"
    late = (await agent.ok(BOOK, **booking(kids[1], past, overrideReason="Venu sans réservation, accueilli")))
    assert late["bookCrecheOccasionalCare"]["overrideReason"] == "Venu sans réservation, accueilli"
    # beyond the back-fill window: no one
    too_old = past_open_day(service.config().staff_backfill_days + 3)
    assert await agent.code(BOOK, **booking(kids[1], too_old, overrideReason="x")) == "INVALID_DATE"

    # rules no one passes, reason or not: opening hours, closed day, overlap
    saturday = day + timedelta(days=5)
    assert await agent.code(BOOK, **booking(kids[1], saturday, overrideReason="urgence")) == "OUTSIDE_OPENING_HOURS"
    assert await agent.code(BOOK, **booking(kids[1], day, startTime="06:00", overrideReason="x")) == "OUTSIDE_OPENING_HOURS"
    assert await agent.code(BOOK, **booking(kids[0], day, startTime="11:00", endTime="13:00")) == "OCCASIONAL_EXISTS"

    # audited: who, which rules were passed, why
    rows = await AuditLog.filter(action="creche_occasional_booked_for_family").order_by("id")
    assert [(r.actor_id, r.household_id, r.detail["overridden"]) for r in rows] == [
        (agent_user.id, household.id, []), (agent_user.id, household.id, ["past_day"])]
    assert rows[1].detail["reason"] == "Venu sans réservation, accueilli"
    assert await OccasionalCare.all().count() == 2


async def test_documents_and_capacity_when_booking_on_behalf(gql):
    # documents sent but under review: passable with a reason; never sent: refused, unless emergency care
    pending_user, pending_household, pending_kids = await family("attente@example.org", documents=False, name="ATTENTE")
    stored = await StoredFile.create(stored_name="p", original_filename="p.pdf", content_type="application/pdf", size=1,
                                     sha256="0", household=pending_household)
    for code, child in [("justificatif_domicile", None)] + [("carnet_sante", k) for k in pending_kids]:
        await Document.create(household=pending_household, child=child, type_code=code, file=stored, status="pending")
    _, _, nodoc_kids = await family("sansdoc@example.org", documents=False, name="SANSDOC")
    agent = await gql.as_user(await make_staff("rit@example.org", services=[RIT]))
    day = next_monday()

    pending = await agent.error(BOOK, **booking(pending_kids[0], day))
    assert (pending["extensions"]["code"], pending["extensions"]["rules"]) == ("OVERRIDE_REASON_REQUIRED",
                                                                               ["pending_documents"])
    await agent.ok(BOOK, **booking(pending_kids[0], day, overrideReason="Carnet de santé vu au guichet"))
    missing = await agent.error(BOOK, **booking(nodoc_kids[0], day, overrideReason="on passe outre"))
    assert missing["extensions"]["code"] == "MISSING_DOCUMENTS" and "Carnet de santé" in missing["message"]
    urgent = (await agent.ok(BOOK, **booking(nodoc_kids[0], day, emergency=True)))["bookCrecheOccasionalCare"]
    assert (urgent["status"], urgent["emergency"]) == ("ACCEPTED", True)

    # capacity full: refused whatever the reason, nothing stored
    est = await service.establishment(RIT)
    est.capacity = 2
    await est.save()
    full = await agent.error(BOOK, **booking(nodoc_kids[1], day, startTime="10:00", endTime="11:00", emergency=True,
                                             overrideReason="il le faut"))
    assert full["extensions"]["code"] == "CAPACITY_FULL"
    assert await OccasionalCare.filter(day=day).count() == 2


@postgres_only
async def test_parallel_bookings_on_behalf_respect_capacity(gql):
    agent_users = [await make_staff(f"a{i}@example.org", services=[RIT]) for i in range(3)]
    agents = [await gql.as_user(u) for u in agent_users]
    est = await service.establishment(RIT)
    est.capacity = 2
    await est.save()
    day = next_monday()
    kids = []
    for i in range(10):
        _, _, k = await family(f"f{i}@example.org", name=f"F{i}", children=1)
        kids.append(k[0])
    results = await asyncio.gather(*(agents[i % 3].execute(BOOK, booking(kid, day)) for i, kid in enumerate(kids)))
    outcome = codes(results)
    assert outcome.count("ok") == 2 and outcome.count("CAPACITY_FULL") == 8, outcome
    assert await OccasionalCare.filter(day=day, status="accepted").count() == 2


async def test_establishment_edit_preview_then_explicit_choice(gql, mailbox):
    user, household, kids = await family()
    other_user, _, other_kids = await family("autre@example.org", name="MARTIN")
    await signed_contract(household, kids[0], days=(0, 1, 3, 4))  # Monday, Tuesday, Thursday, Friday
    agent = await gql.as_user(await make_staff("rit@example.org", services=[RIT]))
    stranger = await gql.as_user(await make_staff("pap@example.org", services=[PAP]))
    fam = await gql.as_user(user)
    monday = next_monday()
    wednesday = next(monday + timedelta(days=i) for i in (2, 1, 3, 4)
                     if public_holiday(monday + timedelta(days=i)) is None)  # an open weekday of that week
    occ = (await agent.ok(BOOK, **booking(other_kids[0], wednesday, startTime="16:00", endTime="18:00")))
    occ_id = occ["bookCrecheOccasionalCare"]["id"]
    await delivered(mailbox, other_user.email)
    mailbox.clear()
    # closes at 17:30 from now on, and Monday becomes a closure day
    change = {"closureDays": [monday.isoformat()],
              "openingHours": [{"weekday": d, "opens": "07:30", "closes": "17:30"} for d in range(1, 6)]}

    assert await fam.code(EDIT, s=RIT, input=change) == "FORBIDDEN"
    assert await stranger.code(EDIT, s=RIT, input=change) == "FORBIDDEN"
    preview = (await agent.ok(EDIT, s=RIT, input=change, preview=True))["updateCrecheEstablishment"]
    assert preview["preview"] is True
    assert preview["establishment"]["closureDays"] == [] and preview["establishment"]["openingHours"][0]["closes"] == "18:30"
    assert [(a["kind"], a["id"], a["day"], a["reason"], a["outcome"]) for a in preview["affected"]] == [
        ("OCCASIONAL_CARE", occ_id, wednesday.isoformat(), "OUTSIDE_OPENING_HOURS", "TO_DECIDE"),
        ("CONTRACT_DAY", str((await Contract.get(child=kids[0])).id), monday.isoformat(), "NEW_CLOSURE_DAY",
         "NOT_BILLED_CLOSURE")]
    assert preview["affected"][0]["reasonLabel"] == "Hors des heures d'ouverture"

    # applied without a choice: refused, nothing changed, nobody mailed
    refused = await agent.error(EDIT, s=RIT, input=change)
    assert refused["extensions"]["code"] == "AFFECTED_BOOKINGS_CHOICE_REQUIRED"
    assert (await Establishment.get(service_code=RIT)).closure_days == []
    assert (await OccasionalCare.get(id=int(occ_id))).status == "accepted"
    assert await delivered(mailbox, user.email) == [] and await delivered(mailbox, other_user.email) == []

    done = (await agent.ok(EDIT, s=RIT, input=change, choice="CANCEL"))["updateCrecheEstablishment"]
    assert done["preview"] is False and done["establishment"]["closureDays"] == [monday.isoformat()]
    assert [a["outcome"] for a in done["affected"]] == ["CANCELLED", "NOT_BILLED_CLOSURE"]
    assert (await OccasionalCare.get(id=int(occ_id))).status == "cancelled"
    cancelled_mail = await delivered(mailbox, other_user.email)
    assert len(cancelled_mail) == 1 and "réservation annulée" in cancelled_mail[0][0]
    assert "sont annulés" in cancelled_mail[0][1] and other_kids[0].first_name in cancelled_mail[0][1]
    closure_mail = await delivered(mailbox, user.email)
    assert len(closure_mail) == 1 and "ne vous seront pas facturées" in closure_mail[0][1]
    audit = await AuditLog.get(action="creche_establishment_updated")
    assert audit.detail["choice"] == "cancel" and audit.detail["cancelled"] == [int(occ_id)]
    assert audit.detail["before"]["closure_days"] == [] and audit.detail["after"]["closure_days"] == [monday.isoformat()]
    # the family's planning shows the closure day, not a booked one
    planning = await fam.ok("query($m: YearMonth!) { crechePlanning(month: $m) { childId days { date status } } }",
                            m=monday.strftime("%Y-%m"))
    days = {d["date"]: d["status"] for p in planning["crechePlanning"] if p["childId"] == str(kids[0].id)
            for d in p["days"]}
    assert days[monday.isoformat()] is None
    # the cancelled occasional care leaves the other family's planning
    other = await (await gql.as_user(other_user)).ok(
        "query($m: YearMonth!) { crechePlanning(month: $m) { childId days { date status plannedArrival } } }",
        m=wednesday.strftime("%Y-%m"))
    other_days = {d["date"]: d for p in other["crechePlanning"] if p["childId"] == str(other_kids[0].id)
                  for d in p["days"]}
    assert other_days[wednesday.isoformat()]["plannedArrival"] is None
    assert other_days[wednesday.isoformat()]["status"] not in ("BOOKED", "TO_VALIDATE")


async def test_establishment_edit_keep_contracts_and_capacity(gql, mailbox):
    user, household, kids = await family()
    other_user, _, other_kids = await family("autre@example.org", name="MARTIN")
    await signed_contract(household, kids[0], days=(0, 1, 3, 4))  # 09:15-17:15
    agent = await gql.as_user(await make_staff("rit@example.org", services=[RIT]))
    monday = next_monday()
    occ = (await agent.ok(BOOK, **booking(other_kids[0], monday, startTime="16:00", endTime="18:00")))
    occ_id = occ["bookCrecheOccasionalCare"]["id"]
    await delivered(mailbox, other_user.email)
    mailbox.clear()

    # closing at 17:00 would leave the contract outside its hours: refused whatever the choice
    early = {"openingHours": [{"weekday": d, "opens": "07:30", "closes": "17:00"} for d in range(1, 6)]}
    preview = (await agent.ok(EDIT, s=RIT, input=early, preview=True))["updateCrecheEstablishment"]
    assert ("CONTRACT", "BLOCKS_CHANGE") in [(a["kind"], a["outcome"]) for a in preview["affected"]]
    assert await agent.code(EDIT, s=RIT, input=early, choice="CANCEL") == "CONTRACTS_OUTSIDE_OPENING_HOURS"
    assert (await OccasionalCare.get(id=int(occ_id))).status == "accepted"
    # a weekday as ISO 8601: 0 is not one
    bad = await agent.error(EDIT, s=RIT, input={"openingHours": [{"weekday": 0, "opens": "07:30", "closes": "18:00"}]})
    assert bad["extensions"] == {"code": "INVALID_WEEKDAY", "field": "openingHours"}

    # closing at 17:30: the occasional care (until 18:00) kept as an exception, the family told
    later = {"openingHours": [{"weekday": d, "opens": "07:30", "closes": "17:30"} for d in range(1, 6)]}
    kept = (await agent.ok(EDIT, s=RIT, input=later, choice="KEEP"))["updateCrecheEstablishment"]
    assert [(a["kind"], a["outcome"]) for a in kept["affected"]] == [("OCCASIONAL_CARE", "KEPT")]
    assert (await OccasionalCare.get(id=int(occ_id))).status == "accepted"
    mail = await delivered(mailbox, other_user.email)
    assert len(mail) == 1 and "maintenus à titre exceptionnel" in mail[0][1]
    assert kept["establishment"]["openingHours"][4] == {"weekday": 5, "opens": "07:30", "closes": "17:30"}

    # a lower capacity applies to new bookings; the days already over it are listed, bookings stay
    low = (await agent.ok(EDIT, s=RIT, input={"capacity": 1}))["updateCrecheEstablishment"]
    assert monday.isoformat() in low["daysOverCapacity"] and low["establishment"]["capacity"] == 1
    assert (await OccasionalCare.get(id=int(occ_id))).status == "accepted"
    assert await agent.code(BOOK, **booking(other_kids[1], monday, startTime="10:00", endTime="11:00")) == "CAPACITY_FULL"


async def test_staff_back_fill_and_family_restrictions(gql, mailbox):
    user, household, kids = await family()
    contract = await signed_contract(household, kids[0], start=today() - timedelta(days=120))
    agent = await gql.as_user(await make_staff("rit@example.org", services=[RIT]))
    stranger = await gql.as_user(await make_staff("pap@example.org", services=[PAP]))
    fam = await gql.as_user(user)
    window = service.config().staff_backfill_days
    past = past_open_day(10)
    while past.weekday() not in (0, 1, 3, 4):
        past -= timedelta(days=1)

    # attendance: a past day yes, a day to come or beyond the window no, a family never
    att = await agent.ok(ATTEND, c=str(kids[0].id), s=RIT, d=past.isoformat(), a="09:15", b="17:15")
    assert att["recordCrecheAttendance"]["arrival"] == "09:15"
    future = await agent.error(ATTEND, c=str(kids[0].id), s=RIT, d=(today() + timedelta(days=1)).isoformat(), a="09:15")
    assert future["extensions"] == {"code": "FUTURE_DAY", "field": "day"}
    old = (today() - timedelta(days=window + 1)).isoformat()
    assert await agent.code(ATTEND, c=str(kids[0].id), s=RIT, d=old, a="09:15") == "INVALID_DATE"
    assert await fam.code(ATTEND, c=str(kids[0].id), s=RIT, d=past.isoformat(), a="09:15") == "FORBIDDEN"
    assert await Attendance.all().count() == 1

    # absence for past days, recorded by the crèche: validated at once, deducted by the rules, family mailed
    absence = {"fromDate": (past - timedelta(days=1)).isoformat(), "toDate": (past - timedelta(days=1)).isoformat(),
               "startTime": "09:15", "endTime": "17:15", "motive": "HOSPITALISATION", "childIds": [str(kids[0].id)]}
    assert await stranger.code(ABSENCE, input=absence) == "NOT_FOUND"
    recorded = (await agent.ok(ABSENCE, input=absence))["reportCrecheAbsence"][0]
    assert (recorded["status"], recorded["kind"]) == ("VALIDATED", "ABSENCE")
    stored = await Absence.get(id=int(recorded["id"]))
    assert (stored.status, stored.deductible) == ("validated", True)
    assert any("Hospitalisation" in text for _, text in await delivered(mailbox, user.email))
    assert await agent.code(ABSENCE, input={**absence, "fromDate": old, "toDate": old}) == "INVALID_DATE"
    # the family still reports and waits for the review
    own = (await fam.ok(ABSENCE, input={**absence, "motive": "OTHER"}))["reportCrecheAbsence"][0]
    assert own["status"] == "PENDING"
    assert await AuditLog.filter(action="creche_absence_recorded").count() == 1

    # a request starting in the past: staff of every wished crèche only; families not
    base = {"childId": str(kids[1].id), "serviceCodes": [RIT], "startDate": (today() - timedelta(days=20)).isoformat(),
            "daysPerWeek": 4, "hoursPerWeek": "32"}
    assert await fam.code(SUBMIT, input=base) == "INVALID_DATE"
    assert await stranger.code(SUBMIT, input=base) == "NOT_FOUND"
    assert await agent.code(SUBMIT, input={**base, "serviceCodes": [RIT, PAP]}) == "NOT_FOUND"
    assert await agent.code(SUBMIT, input={**base, "startDate": old}) == "INVALID_DATE"
    assert await PlaceRequest.all().count() == 0
    request = (await agent.ok(SUBMIT, input=base))["submitCrecheRequest"]
    await agent.ok(DECIDE, id=request["id"], s=RIT, status="ACCEPTED")
    # and its contract starting in the past
    schedule = [{"weekday": d, "arrival": "09:15", "departure": "17:15"} for d in (1, 2, 4, 5)]
    assert await agent.code(CREATE, id=request["id"], input={"startDate": old, "schedule": schedule}) == "INVALID_DATE"
    created = (await agent.ok(CREATE, id=request["id"], input={"startDate": base["startDate"], "schedule": schedule}))
    assert created["createCrecheContract"]["startDate"] == base["startDate"]
    assert contract.status == "signed"
