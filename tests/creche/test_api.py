"""Crèche journeys through HTTP: demande de place -> commission -> contract -> signature, occasional
care within capacity, absences, attendance, planning (bounded queries), billing lines, alerts, RGPD, demo."""

from __future__ import annotations

from datetime import date, timedelta
from decimal import Decimal

from core.billing.types import BillingPeriod
from core.calendar import public_holiday
from core.documents.models import Document
from core.files.models import StoredFile
from core.plugins import get_host
from core.timeutil import today
from plugins.creche import rules, service
from plugins.creche.models import Absence, Contract, ContractStatus, OccasionalCare, PlaceRequest
from tests.conftest import make_family, make_staff
from tests.querycount import count_queries

PDF = b"%PDF-1.4\n1 0 obj<<>>endobj\ntrailer<<>>\n%%EOF\n"
RIT, PAP = "creche_la_ritournelle", "creche_petit_a_petit"
SUBMIT = """mutation($input: CrechePlaceRequestInput!) { submitCrecheRequest(input: $input) {
  id status statusLabel waitingRank wishedServices } }"""
MY_REQUESTS = "{ crecheMyRequests { total items { id status waitingRank establishmentName } } }"
WAITING = "query($s: String!) { crecheWaitingList(serviceCode: $s) { total items { id childFirstName status waitingRank } } }"
DECIDE = """mutation($id: ID!, $s: String!, $status: CrecheRequestDecision!, $rank: Int, $pub: Boolean! = false) {
  decideCrecheRequest(requestId: $id, serviceCode: $s, decision: $status, rank: $rank, publishRank: $pub) { id status waitingRank } }"""
CONTRACT_FIELDS = """id number title status hourlyFeeCents monthlyFeeCents hoursPerWeek monthlyHours pdfUrl
  schedule { weekday arrival departure } startDate endDate"""
CREATE = f"""mutation($id: ID!, $input: CrecheContractInput!) {{ createCrecheContract(requestId: $id, input: $input) {{ {CONTRACT_FIELDS} }} }}"""
SEND = "mutation($id: ID!) { sendCrecheContract(contractId: $id) { id status } }"
CONTRACT = "query($id: ID!) { crecheContract(id: $id) { id status title } }"
CONTRACTS = "{ crecheContracts { total items { id status title } } }"
SIGNED = "mutation($id: ID!, $file: Upload!) { returnCrecheContract(contractId: $id, file: $file) { id status statusLabel } }"
VALIDATE_SIGNED = "mutation($id: ID!, $ok: Boolean!) { reviewCrecheContractSignature(contractId: $id, accept: $ok) { id status } }"
ESTABLISH = """mutation($s: String!, $cap: Int) { updateCrecheEstablishment(serviceCode: $s, input: {capacity: $cap}) {
  establishment { serviceCode capacity name town openingHours { weekday opens closes } } } }"""
OCCASIONAL = """mutation($c: ID!, $s: String!, $d: Date!, $a: String!, $b: String!) {
  requestCrecheOccasionalCare(childId: $c, serviceCode: $s, day: $d, startTime: $a, endTime: $b) { id status } }"""
DECIDE_OCC = "mutation($id: ID!, $ok: Boolean!) { decideCrecheOccasionalCare(id: $id, accept: $ok) { id status } }"
ABSENCE = """mutation($input: CrecheAbsenceInput!, $certificate: Upload) { reportCrecheAbsence(input: $input, certificate: $certificate) {
  id childId kind isCancellation status hasCertificate } }"""
VALIDATE_ABS = "mutation($id: ID!, $ok: Boolean!) { validateCrecheAbsence(absenceId: $id, accept: $ok) { id status deductible } }"
ATTEND = """mutation($c: ID!, $s: String!, $d: Date!, $a: String!, $b: String) {
  recordCrecheAttendance(childId: $c, serviceCode: $s, day: $d, arrival: $a, departure: $b) { childId arrival departure } }"""
DAILY = "query($s: String!, $d: Date!) { crecheDailyAttendance(serviceCode: $s, day: $d) { childId arrival status plannedArrival } }"
PLANNING = """query($m: YearMonth!, $h: ID) { crechePlanning(month: $m, householdId: $h) { childId firstName
  days { date status statusLabel plannedArrival plannedDeparture arrival departure } } }"""
WEEK = "query($w: Date!) { crecheWeekPlanning(weekStart: $w) { firstName days { date status } } }"


def next_monday(weeks: int = 3) -> date:
    """A Monday about `weeks` weeks ahead that is not a public holiday (Easter / Whit Monday close the crèche)."""
    t = today()
    day = t + timedelta(days=7 - t.weekday() + 7 * weeks)
    while public_holiday(day) is not None:
        day += timedelta(days=7)
    return day


async def family(email: str = "famille@example.org", documents: bool = True, **kw):
    user, household, kids = await make_family(email, **kw)
    household.reference_income_cents = 4_200_000  # 3 500 €/month
    await household.save()
    if documents:  # what the crèche requires (core/demo.toml): justificatif de domicile, carnet de santé
        stored = await StoredFile.create(stored_name=f"x{household.id}", original_filename="x.pdf",
                                         content_type="application/pdf", size=1, sha256="0", household=household)
        for code, child in [("justificatif_domicile", None)] + [("carnet_sante", k) for k in kids]:
            await Document.create(household=household, child=child, type_code=code, file=stored, status="accepted")
    return user, household, kids


async def signed_contract(household, child, code: str = RIT, start: date | None = None, days=(0, 1, 3, 4)) -> Contract:
    """A signed contract straight in the database (the HTTP journey is tested once, below)."""
    est = await service.establishment(code)
    start = start or today().replace(day=1) - timedelta(days=40)
    schedule = rules.normalize_schedule([(d, "09:15", "17:15") for d in days])
    last = await Contract.all().order_by("-number").first()
    return await Contract.create(number=(last.number + 1) if last else 1, establishment=est, household=household,
                                 child=child, start_date=start, schedule=rules.schedule_to_json(schedule),
                                 weeks_per_year=45, status=ContractStatus.SIGNED,
                                 **await service._fees(household.id, start, schedule, 45, est))


async def test_request_commission_contract_and_signature_journey(gql, http):
    user, household, kids = await family()
    other_user, _, _ = await family("autre@example.org", name="MARTIN")
    agent = await gql.as_user(await make_staff("rit@example.org", services=[RIT]))
    stranger = await gql.as_user(await make_staff("pap@example.org", services=[PAP]))
    fam = await gql.as_user(user)
    start = next_monday()
    req = (await fam.ok(SUBMIT, input={"childId": str(kids[0].id), "serviceCodes": [RIT, PAP],
                                       "startDate": start.isoformat(), "daysPerWeek": 4, "hoursPerWeek": "32"}))
    req = req["submitCrecheRequest"]
    assert (req["status"], req["statusLabel"]) == ("RECEIVED", "Reçue")
    assert [r["id"] for r in (await agent.ok(WAITING, s=RIT))["crecheWaitingList"]["items"]] == [req["id"]]
    assert await stranger.code(WAITING, s=RIT) == "FORBIDDEN"

    await agent.ok(DECIDE, id=req["id"], s=RIT, status="IN_COMMISSION")
    await agent.ok(DECIDE, id=req["id"], s=RIT, status="WAITING_LIST", rank=3)
    assert (await fam.ok(MY_REQUESTS))["crecheMyRequests"]["items"][0]["waitingRank"] is None  # not published yet
    await agent.ok(DECIDE, id=req["id"], s=RIT, status="WAITING_LIST", rank=2, pub=True)
    assert (await fam.ok(MY_REQUESTS))["crecheMyRequests"]["items"][0] == {
        "id": req["id"], "status": "WAITING_LIST", "waitingRank": 2, "establishmentName": None}
    assert await agent.code(DECIDE, id=req["id"], s=RIT, status="WAITING_LIST") == "RANK_REQUIRED"
    await agent.ok(DECIDE, id=req["id"], s=RIT, status="ACCEPTED")
    assert await agent.code(DECIDE, id=req["id"], s=RIT, status="REFUSED") == "ALREADY_DECIDED"

    schedule = [{"weekday": d, "arrival": "09:15", "departure": "17:15"} for d in (1, 2, 4, 5)]
    bad = await agent.error(CREATE, id=req["id"], input={"startDate": start.isoformat(), "weeksPerYear": 45,
                                                         "schedule": [{"weekday": 1, "arrival": "06:00", "departure": "12:00"}]})
    assert bad["extensions"] == {"code": "OUTSIDE_OPENING_HOURS", "field": "schedule"}
    assert await stranger.code(CREATE, id=req["id"], input={"startDate": start.isoformat(), "schedule": schedule}) == "NOT_FOUND"
    contract = (await agent.ok(CREATE, id=req["id"], input={"startDate": start.isoformat(), "schedule": schedule,
                                                            "weeksPerYear": 45}))["createCrecheContract"]
    # 3 500 €/month, 2 children: 3 500 × 0,0516 % = 1,806 -> 1,81 €/h ; 32 h × 45 weeks / 12 = 120 h -> 217,20 €
    assert contract["title"] == "Contrat n°1 – LA RITOURNELLE (Le Tourne)"
    assert (contract["hourlyFeeCents"], contract["hoursPerWeek"], contract["monthlyHours"],
            contract["monthlyFeeCents"], contract["status"]) == (181, "32.00", "120.00", 21_720, "DRAFT")
    cid = contract["id"]
    # the family does not see a draft
    assert await fam.code(CONTRACT, id=cid) == "NOT_FOUND"
    assert (await fam.ok(CONTRACTS))["crecheContracts"] == {"total": 0, "items": []}
    assert await stranger.code(SEND, id=cid) == "NOT_FOUND"
    await agent.ok(SEND, id=cid)
    assert (await fam.ok(CONTRACTS))["crecheContracts"]["items"][0]["status"] == "SENT"
    alerts = await get_host().alerts(fam_actor := await _actor(user), household.id)
    assert any(a.code == "creche_contract_to_sign" for a in alerts) and fam_actor.household_id == household.id

    # PDF: the family and the crèche's agent, not another family nor another crèche's agent
    pdf = await fam.download(contract["pdfUrl"])
    assert pdf.status_code == 200 and pdf.content.startswith(b"%PDF")
    assert (await (await gql.as_user(other_user)).download(contract["pdfUrl"])).status_code == 404
    assert (await stranger.download(contract["pdfUrl"])).status_code == 404
    assert (await agent.download(contract["pdfUrl"])).status_code == 200

    # signed copy back: stored as a child document, then validated by staff
    bad_file = await fam.upload(SIGNED, {"id": cid}, {"file": ("contrat.exe", b"MZ\x90\x00binary", "application/pdf")})
    assert bad_file["errors"][0]["extensions"]["code"] == "INVALID_FILE_TYPE"
    other = await (await gql.as_user(other_user)).upload(SIGNED, {"id": cid}, {"file": ("c.pdf", PDF, "application/pdf")})
    assert other["errors"][0]["extensions"]["code"] == "NOT_FOUND"
    sent = await fam.upload(SIGNED, {"id": cid}, {"file": ("contrat-signe.pdf", PDF, "application/pdf")})
    assert sent["data"]["returnCrecheContract"]["status"] == "RETURNED", sent
    doc = await Document.get(household_id=household.id, type_code="contrat_accueil_signe")
    assert (doc.type_code, doc.child_id, doc.status) == ("contrat_accueil_signe", kids[0].id, "pending")
    assert await stranger.code(VALIDATE_SIGNED, id=cid, ok=True) == "NOT_FOUND"
    assert (await agent.ok(VALIDATE_SIGNED, id=cid, ok=True))["reviewCrecheContractSignature"]["status"] == "SIGNED"
    await doc.refresh_from_db()
    assert doc.status == "accepted"
    assert "contrat_accueil_signe" in {t.code for t in get_host().document_types()}


async def _actor(user):
    from core.permissions import Actor

    return Actor.for_user(user)


async def test_request_errors(gql):
    unconfirmed, _, kids_u = await family("nc@example.org", confirmed=False)
    user, _, kids = await family()
    _, _, other_kids = await family("autre@example.org", name="MARTIN")
    fam = await gql.as_user(user)
    base = {"serviceCodes": [RIT], "startDate": next_monday().isoformat(), "daysPerWeek": 4, "hoursPerWeek": "32"}
    assert await (await gql.as_user(unconfirmed)).code(SUBMIT, input={**base, "childId": str(kids_u[0].id)}) == "EMAIL_NOT_CONFIRMED"
    assert await fam.code(SUBMIT, input={**base, "childId": str(other_kids[0].id)}) == "NOT_FOUND"
    unknown = await fam.error(SUBMIT, input={**base, "childId": str(kids[0].id), "serviceCodes": ["alsh"]})
    assert unknown["extensions"] == {"code": "UNKNOWN_SERVICE", "field": "serviceCodes"}
    assert await gql.code(SUBMIT, input={**base, "childId": str(kids[0].id)}) == "UNAUTHENTICATED"
    nodocs, _, kids_n = await family("nodocs@example.org", documents=False, name="SANSDOC")
    missing = await (await gql.as_user(nodocs)).error(SUBMIT, input={**base, "childId": str(kids_n[0].id)})
    assert missing["extensions"] == {"code": "MISSING_DOCUMENTS", "field": "childId"}
    assert "Carnet de santé" in missing["message"]
    assert await PlaceRequest.all().count() == 0


async def test_occasional_care_capacity_and_opening_hours(gql):
    user, _, kids = await family()
    user2, _, kids2 = await family("autre@example.org", name="MARTIN")
    fam, fam2 = await gql.as_user(user), await gql.as_user(user2)
    agent = await gql.as_user(await make_staff("rit@example.org", services=[RIT]))
    stranger = await gql.as_user(await make_staff("pap@example.org", services=[PAP]))
    assert await stranger.code(ESTABLISH, s=RIT, cap=1) == "FORBIDDEN"
    est = (await agent.ok(ESTABLISH, s=RIT, cap=1))["updateCrecheEstablishment"]["establishment"]
    assert est["capacity"] == 1 and est["openingHours"][0] == {"weekday": 1, "opens": "07:30", "closes": "18:30"}
    day = next_monday()

    first = (await fam.ok(OCCASIONAL, c=str(kids[0].id), s=RIT, d=day.isoformat(), a="09:00", b="12:00"))
    occ_id = first["requestCrecheOccasionalCare"]["id"]
    assert first["requestCrecheOccasionalCare"]["status"] == "PENDING"
    pending2 = (await fam2.ok(OCCASIONAL, c=str(kids2[0].id), s=RIT, d=day.isoformat(), a="11:30", b="13:00"))
    assert await stranger.code(DECIDE_OCC, id=occ_id, ok=True) == "NOT_FOUND"
    assert (await agent.ok(DECIDE_OCC, id=occ_id, ok=True))["decideCrecheOccasionalCare"]["status"] == "ACCEPTED"
    # the slot 11:30-12:00 is now full: accepting the second one fails, a new request too
    assert await agent.code(DECIDE_OCC, id=pending2["requestCrecheOccasionalCare"]["id"], ok=True) == "CAPACITY_FULL"
    assert await fam2.code(OCCASIONAL, c=str(kids2[0].id), s=RIT, d=day.isoformat(), a="10:00", b="11:00") == "CAPACITY_FULL"
    # afternoon is free
    await fam2.ok(OCCASIONAL, c=str(kids2[0].id), s=RIT, d=day.isoformat(), a="14:00", b="16:00")

    early = await fam.error(OCCASIONAL, c=str(kids[0].id), s=RIT, d=day.isoformat(), a="06:00", b="09:00")
    assert early["extensions"] == {"code": "OUTSIDE_OPENING_HOURS", "field": "startTime"}
    saturday = day + timedelta(days=5)
    assert await fam.code(OCCASIONAL, c=str(kids[0].id), s=RIT, d=saturday.isoformat(), a="09:00", b="10:00") == "OUTSIDE_OPENING_HOURS"
    assert await fam.code(OCCASIONAL, c=str(kids[0].id), s=RIT, d=day.isoformat(), a="12:00", b="10:00") == "INVALID_PERIOD"
    assert await fam.code(OCCASIONAL, c=str(kids2[0].id), s=RIT, d=day.isoformat(), a="15:00", b="16:00") == "NOT_FOUND"
    assert await OccasionalCare.all().count() == 3


async def test_absence_report_cancellation_certificate_and_deduction(gql):
    user, household, kids = await family()
    _, other_household, other_kids = await family("autre@example.org", name="MARTIN")
    unconfirmed, h3, kids3 = await family("nc@example.org", confirmed=False, name="NC")
    await signed_contract(household, kids[0])
    await signed_contract(other_household, other_kids[0])
    fam = await gql.as_user(user)
    agent = await gql.as_user(await make_staff("rit@example.org", services=[RIT]))
    stranger = await gql.as_user(await make_staff("pap@example.org", services=[PAP]))
    t = today()
    base = {"startTime": "09:15", "endTime": "17:15", "motive": "ILLNESS", "childIds": [str(kids[0].id)]}

    bad = await fam.error(ABSENCE, input={**base, "fromDate": t.isoformat(), "toDate": (t - timedelta(days=1)).isoformat()})
    assert bad["extensions"] == {"code": "INVALID_PERIOD", "field": "toDate"}
    same_day = await fam.error(ABSENCE, input={**base, "fromDate": t.isoformat(), "toDate": t.isoformat(),
                                               "startTime": "12:00", "endTime": "10:00"})
    assert same_day["extensions"]["code"] == "INVALID_PERIOD"
    assert await fam.code(ABSENCE, input={**base, "fromDate": t.isoformat(), "toDate": t.isoformat(),
                                          "childIds": [str(other_kids[0].id)]}) == "NOT_FOUND"
    assert await fam.code(ABSENCE, input={**base, "fromDate": t.isoformat(), "toDate": t.isoformat(),
                                          "childIds": [str(kids[1].id)]}) == "NO_CONTRACT"
    assert await (await gql.as_user(unconfirmed)).code(ABSENCE, input={**base, "fromDate": t.isoformat(), "toDate": t.isoformat(),
                                                                        "childIds": [str(kids3[0].id)]}) == "EMAIL_NOT_CONFIRMED"
    assert await Absence.all().count() == 0

    # far enough ahead: a cancellation
    later = t + timedelta(days=10)
    cancel = (await fam.ok(ABSENCE, input={**base, "motive": "OTHER", "fromDate": later.isoformat(),
                                           "toDate": later.isoformat()}))["reportCrecheAbsence"][0]
    assert (cancel["kind"], cancel["isCancellation"]) == ("CANCELLATION", True)
    # from today, 5 days, illness with certificate: an absence report, deductible beyond the carence
    result = await fam.upload(ABSENCE, {"input": {**base, "fromDate": t.isoformat(),
                                                  "toDate": (t + timedelta(days=4)).isoformat()}},
                              {"certificate": ("certificat.pdf", PDF, "application/pdf")})
    absence = result["data"]["reportCrecheAbsence"][0]
    assert (absence["kind"], absence["hasCertificate"], absence["status"]) == ("ABSENCE", True, "PENDING")
    assert await stranger.code(VALIDATE_ABS, id=absence["id"], ok=True) == "NOT_FOUND"
    assert await fam.code(VALIDATE_ABS, id=absence["id"], ok=True) == "FORBIDDEN"
    validated = (await agent.ok(VALIDATE_ABS, id=absence["id"], ok=True))["validateCrecheAbsence"]
    assert validated == {"id": absence["id"], "status": "VALIDATED", "deductible": True}
    # processed once: a second decision is refused, nothing changes
    assert await agent.code(VALIDATE_ABS, id=absence["id"], ok=False) == "ALREADY_PROCESSED"
    # illness without certificate: alert to the family, not deductible once validated
    noc = (await fam.ok(ABSENCE, input={**base, "fromDate": t.isoformat(), "toDate": t.isoformat()}))["reportCrecheAbsence"][0]
    alerts = await get_host().alerts(await _actor(user), household.id)
    assert any(a.code == "creche_absence_certificate" for a in alerts)
    assert (await agent.ok(VALIDATE_ABS, id=noc["id"], ok=True))["validateCrecheAbsence"]["deductible"] is False


async def test_attendance_planning_and_week_view(gql, clock):
    clock.set(date(2027, 3, 18))  # a Thursday: two contract days of the month are already past
    user, household, kids = await family()
    contract = await signed_contract(household, kids[0])
    agent = await gql.as_user(await make_staff("rit@example.org", services=[RIT]))
    stranger = await gql.as_user(await make_staff("pap@example.org", services=[PAP]))
    fam = await gql.as_user(user)
    t = today()
    month_days = rules.month_days(t.year, t.month)
    contract_days = [d for d in month_days if d.weekday() in (0, 1, 3, 4)]
    past = [d for d in contract_days if d < t]
    on_time, late = past[0], past[1] if len(past) > 1 else None
    await agent.ok(ATTEND, c=str(kids[0].id), s=RIT, d=on_time.isoformat(), a="09:15", b="17:15")
    if late:
        await agent.ok(ATTEND, c=str(kids[0].id), s=RIT, d=late.isoformat(), a="09:10", b="17:40")
    assert await stranger.code(ATTEND, c=str(kids[0].id), s=RIT, d=on_time.isoformat(), a="09:15") == "FORBIDDEN"
    bad = await agent.error(ATTEND, c=str(kids[0].id), s=RIT, d=on_time.isoformat(), a="17:00", b="09:00")
    assert bad["extensions"] == {"code": "INVALID_PERIOD", "field": "departure"}
    daily = (await agent.ok(DAILY, s=RIT, d=on_time.isoformat()))["crecheDailyAttendance"]
    assert daily == [{"childId": str(kids[0].id), "arrival": "09:15", "status": "PRESENT", "plannedArrival": "09:15"}]

    month = f"{t.year:04d}-{t.month:02d}"
    planning = (await fam.ok(PLANNING, m=month))["crechePlanning"]
    assert [p["firstName"] for p in planning] == [k.first_name for k in sorted(kids, key=lambda k: k.birth_date)]
    days = {d["date"]: d for d in next(p for p in planning if p["childId"] == str(kids[0].id))["days"]}
    assert len(days) == len(month_days)
    assert days[on_time.isoformat()]["status"] == "PRESENT"
    assert days[on_time.isoformat()]["statusLabel"] == "Présent"
    if late:
        assert days[late.isoformat()]["status"] == "OVERTIME"
        assert (days[late.isoformat()]["arrival"], days[late.isoformat()]["departure"]) == ("09:10", "17:40")
    future = [d for d in contract_days if d > t]
    if future:
        assert days[future[0].isoformat()]["status"] == "BOOKED"
        assert days[future[0].isoformat()]["plannedArrival"] == "09:15"
    wednesday = next(d for d in month_days if d.weekday() == 2)
    assert days[wednesday.isoformat()]["status"] == "NOT_ENROLLED"
    sunday = next(d for d in month_days if d.weekday() == 6)
    assert days[sunday.isoformat()]["status"] is None
    other_child = next(p for p in planning if p["childId"] == str(kids[1].id))
    assert {d["status"] for d in other_child["days"]} <= {"NOT_ENROLLED", None}

    week = (await fam.ok(WEEK, w=t.isoformat()))["crecheWeekPlanning"]
    assert len(week[0]["days"]) == 7 and date.fromisoformat(week[0]["days"][0]["date"]).weekday() == 0
    # staff view of the household; bad month
    assert (await agent.ok(PLANNING, m=month, h=str(household.id)))["crechePlanning"]
    assert (await fam.error(PLANNING, m="2025-13"))["extensions"]["code"] == "GRAPHQL_VALIDATION_FAILED"
    assert contract.status == "signed"


async def _household_with(children: int, email: str):
    user, household, kids = await family(email, children=children, name=email.split("@")[0].upper())
    t = today()
    for kid in kids:
        await signed_contract(household, kid)
        day = next(d for d in rules.month_days(t.year, t.month) if d.weekday() == 0)
        await service.Attendance.create(child=kid, establishment=await service.establishment(RIT), day=day,
                                        arrival="09:15", departure="17:30")
        await Absence.create(household=household, child=kid, establishment=await service.establishment(RIT),
                             start_date=day + timedelta(days=1), end_date=day + timedelta(days=1), start_time="09:15",
                             end_time="17:15", motive="maladie", kind="absence")
    return user


async def test_month_planning_query_count_independent_of_children(gql):
    one = await gql.as_user(await _household_with(1, "un@example.org"))
    four = await gql.as_user(await _household_with(4, "quatre@example.org"))
    t = today()
    month = f"{t.year:04d}-{t.month:02d}"
    await one.ok(PLANNING, m=month)  # warm-up (session lookup aside, same statements each time)
    with count_queries() as log_one:
        data_one = await one.ok(PLANNING, m=month)
    with count_queries() as log_four:
        data_four = await four.ok(PLANNING, m=month)
    assert len(data_one["crechePlanning"]) == 1 and len(data_four["crechePlanning"]) == 4
    assert log_four.count == log_one.count, log_four.statements
    assert log_four.count <= 12, log_four.count


async def test_invoice_lines_hook(gql):
    _, household, kids = await family()
    t = today()
    first = t.replace(day=1)
    last = rules.month_days(t.year, t.month)[-1]
    full = await signed_contract(household, kids[0], start=first - timedelta(days=60))
    partial = await signed_contract(household, kids[1], code=PAP, start=first + timedelta(days=14))
    monday = next(d for d in rules.month_days(t.year, t.month) if d.weekday() == 0)
    est = await service.establishment(RIT)
    await service.Attendance.create(child=kids[0], establishment=est, day=monday, arrival="09:15", departure="17:25")
    period = BillingPeriod(start=first, end=last)
    lines = await get_host().invoice_lines(period, [household.id])
    by_key = {line.source_key: line for line in lines}
    ym = f"{t.year:04d}-{t.month:02d}"
    fee = by_key[f"creche:contract:{full.id}:{ym}:fee"]
    assert (fee.amount_cents, fee.regie_code, fee.child_id, fee.household_id) == (full.monthly_fee_cents, "cdc", kids[0].id, household.id)
    assert "Contrat n°1 – LA RITOURNELLE" in fee.designation
    # Crèche care is childcare for the tax credit (CGI 200 quater B), the whole fee.
    assert fee.childcare_tax_credit and fee.tax_credit_cents == fee.amount_cents and "crèche" in fee.care_nature
    overtime = by_key[f"creche:contract:{full.id}:{ym}:overtime"]
    assert (overtime.quantity, overtime.amount_cents) == ("0.50", round(full.hourly_fee_cents / 2 + 0.001))
    partial_fee = by_key[f"creche:contract:{partial.id}:{ym}:fee"]
    assert partial_fee.regie_code == "st_caprais" and 0 < partial_fee.amount_cents < partial.monthly_fee_cents
    # stable keys: a second run gives the same lines
    assert [x.source_key for x in await get_host().invoice_lines(period, [household.id])] == [x.source_key for x in lines]
    assert await get_host().invoice_lines(period, []) == []


async def test_rgpd_export_erase_and_demo(settings):
    from core.demo import load_core_demo
    from plugins.creche.demo import load_demo

    t = today()
    await load_core_demo(settings, t)
    await load_demo(settings, t)
    contract = await Contract.get(number=33).select_related("establishment", "child")
    assert service.contract_title(contract) == "Contrat n°33 – LA RITOURNELLE (Le Tourne)"
    assert contract.child.first_name == "Luc" and contract.status == "signed"
    export = await get_host().rgpd_export(contract.household_id)
    assert export["creche"]["contrats"][0]["number"] == "33"
    await get_host().rgpd_erase(contract.household_id)
    assert await PlaceRequest.filter(household_id=contract.household_id).count() == 0
    assert await Contract.filter(number=33).exists()  # kept: it backs invoices
    await load_demo(settings, t)  # idempotent
    assert await Contract.filter(number=33).count() == 1
    assert Decimal(contract.hours_per_week) == Decimal(32)
