"""Crèche mails to the family (real SMTP through the outbox), staff correction of attendance (audited),
and the error paths of the issue: another family's child, another crèche's contract, absence ending
before it starts, request outside opening hours / on a closure day, capacity full — nothing changed."""

from __future__ import annotations

from datetime import timedelta

from core.accounts.models import Role, User
from core.mail.models import OutboxMail
from core.mail.service import send_pending
from core.timeutil import today
from plugins.creche import rules, service
from plugins.creche.models import (
    Absence,
    Attendance,
    AttendanceCorrection,
    Contract,
    ContractStatus,
    OccasionalCare,
    PlaceRequest,
)
from tests.conftest import make_staff
from tests.creche.test_api import (
    ABSENCE,
    ATTEND,
    DECIDE,
    DECIDE_OCC,
    OCCASIONAL,
    PAP,
    PDF,
    RIT,
    SEND,
    SIGNED,
    SUBMIT,
    VALIDATE_ABS,
    family,
    next_monday,
    signed_contract,
)

PUBLIC_URL = "http://127.0.0.1:8000"
REFUSE_SIGNED = """mutation($id: ID!, $ok: Boolean!, $reason: String! = "") {
  reviewCrecheContractSignature(contractId: $id, accept: $ok, reason: $reason) { id status } }"""
DECIDE_OCC_REASON = """mutation($id: ID!, $ok: Boolean!, $reason: String! = "") {
  decideCrecheOccasionalCare(id: $id, accept: $ok, reason: $reason) { id status } }"""
DECIDE_COMMENT = """mutation($id: ID!, $s: String!, $status: CrecheRequestDecision!, $comment: String!) {
  decideCrecheRequest(requestId: $id, serviceCode: $s, decision: $status, comment: $comment) { id status } }"""
ATTEND_ID = """mutation($c: ID!, $s: String!, $d: Date!, $a: String!, $b: String) {
  recordCrecheAttendance(childId: $c, serviceCode: $s, day: $d, arrival: $a, departure: $b) {
    id arrival departure correctedAt correctedBy } }"""
CORRECT = """mutation($id: ID!, $a: String!, $b: String, $comment: String! = "") {
  correctCrecheAttendance(attendanceId: $id, arrival: $a, departure: $b, comment: $comment) {
    id childId arrival departure correctedAt correctedBy } }"""
HISTORY = """query($id: ID!) { crecheAttendanceHistory(attendanceId: $id) { items {
  changedBy oldArrival oldDeparture newArrival newDeparture comment changedAt } } }"""
REVISE = """mutation($id: ID!, $input: CrecheContractInput!) { reviseCrecheContract(contractId: $id, input: $input) { id } }"""
END = "mutation($id: ID!, $d: Date!) { endCrecheContract(contractId: $id, endDate: $d) { id status } }"
ESTABLISH_CLOSURE = """mutation($s: String!, $days: [Date!]) { updateCrecheEstablishment(serviceCode: $s, input: {closureDays: $days}) {
  establishment { closureDays } } }"""


async def delivered(mailbox, address: str) -> list[tuple[str, str]]:
    """Deliver the outbox through the real SMTP server, then (subject, text) of what `address` received."""
    await send_pending(ignore_schedule=True)
    return [(str(m["Subject"]), mailbox.text(m)) for m in mailbox.to(address)]


async def second_holder(household, email: str = "conjoint@example.org") -> User:
    return await User.create(email=email, role=Role.FAMILY, household=household, first_name="Dominique",
                             last_name=household.name)


async def test_request_decision_mails_to_every_account_holder(gql, mailbox):
    user, household, kids = await family()
    await second_holder(household)
    await User.create(email="ancien@example.org", role=Role.FAMILY, household=household, is_active=False)
    fam = await gql.as_user(user)
    agent = await gql.as_user(await make_staff("rit@example.org", services=[RIT]))
    stranger = await gql.as_user(await make_staff("pap@example.org", services=[PAP]))
    base = {"serviceCodes": [RIT], "startDate": next_monday().isoformat(), "daysPerWeek": 4, "hoursPerWeek": "32"}
    req = (await fam.ok(SUBMIT, input={**base, "childId": str(kids[0].id)}))["submitCrecheRequest"]["id"]

    assert await stranger.code(DECIDE, id=req, s=RIT, status="ACCEPTED") == "NOT_FOUND"
    assert await delivered(mailbox, user.email) == []  # a refused decision sends nothing

    await agent.ok(DECIDE, id=req, s=RIT, status="IN_COMMISSION")
    [(subject, text)] = await delivered(mailbox, user.email)
    assert "passe en commission" in subject and "Enfant1" in subject
    assert "prochaine commission d'attribution" in text and "LA RITOURNELLE" in text
    assert "Cordialement," in text and "Pas de réponse possible" in text  # the shared footer
    mailbox.clear()

    await agent.ok(DECIDE, id=req, s=RIT, status="WAITING_LIST", rank=3)
    [(subject, text)] = await delivered(mailbox, user.email)
    assert "liste d'attente" in subject and "Rang" not in text  # rank not published
    mailbox.clear()
    await agent.ok(DECIDE, id=req, s=RIT, status="WAITING_LIST", rank=2, pub=True)
    [(_, text)] = await delivered(mailbox, user.email)
    assert "Rang sur la liste d'attente : 2" in text
    mailbox.clear()

    await agent.ok(DECIDE, id=req, s=RIT, status="ACCEPTED")
    for address in (user.email, "conjoint@example.org"):
        [(subject, text)] = await delivered(mailbox, address)
        assert subject.startswith("Place en crèche accordée pour Enfant1")
        assert "une place à Enfant1 à la crèche LA RITOURNELLE (Le Tourne)" in text
        assert "Contrats d'accueil" in text
    assert mailbox.to("ancien@example.org") == []  # inactive account
    mailbox.clear()

    other = (await fam.ok(SUBMIT, input={**base, "childId": str(kids[1].id)}))["submitCrecheRequest"]["id"]
    await agent.ok(DECIDE_COMMENT, id=other, s=RIT, status="REFUSED", comment="Aucune place sur la période demandée.")
    [(subject, text)] = await delivered(mailbox, user.email)
    assert "Enfant2" in subject and "n'a pas pu retenir" in text
    assert "Commentaire de nos services : Aucune place sur la période demandée." in text


async def test_contract_sent_and_signed_copy_review_mails(gql, mailbox):
    user, household, kids = await family()
    other_user, _, _ = await family("autre@example.org", name="MARTIN")
    contract = await signed_contract(household, kids[0], start=next_monday())
    contract.status = ContractStatus.DRAFT
    await contract.save()
    fam = await gql.as_user(user)
    agent = await gql.as_user(await make_staff("rit@example.org", services=[RIT]))
    stranger = await gql.as_user(await make_staff("pap@example.org", services=[PAP]))
    cid = str(contract.id)

    assert await stranger.code(SEND, id=cid) == "NOT_FOUND"
    assert await delivered(mailbox, user.email) == []
    await agent.ok(SEND, id=cid)
    [(subject, text)] = await delivered(mailbox, user.email)
    assert subject == f"Votre contrat d'accueil est à signer – Contrat n°{contract.number} – LA RITOURNELLE (Le Tourne)"
    link = f"{PUBLIC_URL}/files/creche_contract/{contract.id}"
    assert link in text and "Transmettre le contrat signé" in text
    assert (await fam.download(link.removeprefix(PUBLIC_URL))).status_code == 200  # the link works
    assert mailbox.to(other_user.email) == []
    mailbox.clear()

    await fam.upload(SIGNED, {"id": cid}, {"file": ("contrat.pdf", PDF, "application/pdf")})
    assert await stranger.code(REFUSE_SIGNED, id=cid, ok=False, reason="Non daté") == "NOT_FOUND"
    missing = await agent.error(REFUSE_SIGNED, id=cid, ok=False, reason="  ")
    assert missing["extensions"] == {"code": "REASON_REQUIRED", "field": "reason"}
    assert (await Contract.get(id=contract.id)).status == ContractStatus.RETURNED
    assert await delivered(mailbox, user.email) == []

    refused = await agent.ok(REFUSE_SIGNED, id=cid, ok=False, reason="Le contrat n'est pas daté.")
    assert refused["reviewCrecheContractSignature"]["status"] == "SENT"
    [(subject, text)] = await delivered(mailbox, user.email)
    assert subject.startswith("Contrat signé non accepté")
    assert "Motif du refus : Le contrat n'est pas daté." in text and link in text
    mailbox.clear()

    await fam.upload(SIGNED, {"id": cid}, {"file": ("contrat-date.pdf", PDF, "application/pdf")})
    assert (await agent.ok(REFUSE_SIGNED, id=cid, ok=True))["reviewCrecheContractSignature"]["status"] == "SIGNED"
    [(subject, text)] = await delivered(mailbox, user.email)
    assert subject.startswith("Contrat signé validé") and "validé par nos services" in text


async def test_occasional_care_decision_mails(gql, mailbox):
    user, _, kids = await family()
    fam = await gql.as_user(user)
    agent = await gql.as_user(await make_staff("rit@example.org", services=[RIT]))
    day = next_monday()
    ok_id = (await fam.ok(OCCASIONAL, c=str(kids[0].id), s=RIT, d=day.isoformat(), a="09:00", b="12:00")
             )["requestCrecheOccasionalCare"]["id"]
    ko_id = (await fam.ok(OCCASIONAL, c=str(kids[1].id), s=RIT, d=day.isoformat(), a="14:00", b="16:00")
             )["requestCrecheOccasionalCare"]["id"]

    await agent.ok(DECIDE_OCC, id=ok_id, ok=True)
    [(subject, text)] = await delivered(mailbox, user.email)
    assert subject.startswith(f"Accueil occasionnel du {day.strftime('%d/%m/%Y')} accepté")
    assert "Enfant1 à la crèche LA RITOURNELLE" in text and "de 09h00 à 12h00" in text
    mailbox.clear()

    assert (await agent.error(DECIDE_OCC_REASON, id=ko_id, ok=False))["extensions"] == {
        "code": "REASON_REQUIRED", "field": "reason"}
    assert (await OccasionalCare.get(id=ko_id)).status == "pending"
    await agent.ok(DECIDE_OCC_REASON, id=ko_id, ok=False, reason="L'équipe est au complet cet après-midi.")
    [(subject, text)] = await delivered(mailbox, user.email)
    assert "refusé" in subject and "Motif : L'équipe est au complet cet après-midi." in text


async def test_absence_review_mails_say_whether_and_why_deducted(gql, mailbox):
    user, household, kids = await family()
    await signed_contract(household, kids[0])
    fam = await gql.as_user(user)
    agent = await gql.as_user(await make_staff("rit@example.org", services=[RIT]))
    t = today()
    base = {"startTime": "09:15", "endTime": "17:15", "childIds": [str(kids[0].id)], "fromDate": t.isoformat(),
            "toDate": (t + timedelta(days=1)).isoformat()}

    hosp = (await fam.ok(ABSENCE, input={**base, "motive": "HOSPITALISATION"}))["reportCrecheAbsence"][0]["id"]
    assert (await agent.ok(VALIDATE_ABS, id=hosp, ok=True))["validateCrecheAbsence"]["deductible"] is True
    [(subject, text)] = await delivered(mailbox, user.email)
    assert subject.startswith("Absence de Enfant1 validée")
    assert "seront déduites de votre facture" in text and "Hospitalisation : les heures sont déduites dès le premier jour." in text
    mailbox.clear()

    other = (await fam.ok(ABSENCE, input={**base, "motive": "OTHER"}))["reportCrecheAbsence"][0]["id"]
    assert (await agent.ok(VALIDATE_ABS, id=other, ok=True))["validateCrecheAbsence"]["deductible"] is False
    [(_, text)] = await delivered(mailbox, user.email)
    assert "ne seront pas déduites" in text and "convenance personnelle" in text
    mailbox.clear()

    ill = (await fam.ok(ABSENCE, input={**base, "motive": "ILLNESS"}))["reportCrecheAbsence"][0]["id"]
    await agent.ok(VALIDATE_ABS, id=ill, ok=True)
    [(_, text)] = await delivered(mailbox, user.email)
    assert "Maladie sans certificat médical : l'absence reste facturée." in text
    mailbox.clear()

    refused = (await fam.ok(ABSENCE, input={**base, "motive": "OTHER"}))["reportCrecheAbsence"][0]["id"]
    await agent.ok(VALIDATE_ABS, id=refused, ok=False)
    [(subject, text)] = await delivered(mailbox, user.email)
    assert "non validée" in subject and "restent facturées" in text


async def test_staff_correction_of_attendance_is_audited(gql):
    _, household, kids = await family()
    await signed_contract(household, kids[0])
    rit_agent = await make_staff("rit@example.org", services=[RIT])
    agent = await gql.as_user(rit_agent)
    stranger = await gql.as_user(await make_staff("pap@example.org", services=[PAP]))
    admin = await gql.as_user(await make_staff("admin@example.org", role=Role.ADMIN))
    fam = await gql.as_user(await User.get(household_id=household.id))
    day = today() - timedelta(days=1)
    row = (await agent.ok(ATTEND_ID, c=str(kids[0].id), s=RIT, d=day.isoformat(), a="09:15", b="17:15")
           )["recordCrecheAttendance"]
    assert (row["correctedAt"], row["correctedBy"]) == (None, None)
    aid = row["id"]

    # error paths: nothing changes, nothing is logged
    assert await stranger.code(CORRECT, id=aid, a="09:00", b="17:00") == "NOT_FOUND"
    assert await fam.code(CORRECT, id=aid, a="09:00", b="17:00") == "FORBIDDEN"
    assert await gql.code(CORRECT, id=aid, a="09:00", b="17:00") == "UNAUTHENTICATED"
    bad = await agent.error(CORRECT, id=aid, a="17:30", b="09:00")
    assert bad["extensions"] == {"code": "INVALID_PERIOD", "field": "departure"}
    assert (await agent.error(CORRECT, id=aid, a="25:00", b="17:00"))["extensions"]["field"] == "arrival"
    assert await agent.code(CORRECT, id="999999", a="09:00") == "NOT_FOUND"
    assert (await agent.error(CORRECT, id="abc", a="09:00"))["extensions"] == {"code": "INVALID_ID", "field": "attendanceId"}
    assert await stranger.code(HISTORY, id=aid) == "NOT_FOUND"
    stored = await Attendance.get(id=aid)
    assert (stored.arrival, stored.departure, stored.corrected_at) == ("09:15", "17:15", None)
    assert await AttendanceCorrection.all().count() == 0

    fixed = (await agent.ok(CORRECT, id=aid, a="08:50", b="17:40", comment="Oubli de badge le matin"))["correctCrecheAttendance"]
    assert (fixed["arrival"], fixed["departure"], fixed["correctedBy"]) == ("08:50", "17:40", "Agent TEST")
    assert fixed["correctedAt"] is not None and fixed["childId"] == str(kids[0].id)
    # same values again: no new audit row; recordCrecheAttendance on the existing row is audited too
    await agent.ok(CORRECT, id=aid, a="08:50", b="17:40")
    await admin.ok(ATTEND, c=str(kids[0].id), s=RIT, d=day.isoformat(), a="08:50", b="17:45")
    history = (await agent.ok(HISTORY, id=aid))["crecheAttendanceHistory"]["items"]
    assert [(h["changedBy"], h["oldArrival"], h["oldDeparture"], h["newArrival"], h["newDeparture"], h["comment"])
            for h in history] == [("Agent TEST", "09:15", "17:15", "08:50", "17:40", "Oubli de badge le matin"),
                                  ("Agent TEST", "08:50", "17:40", "08:50", "17:45", "")]
    stored = await Attendance.get(id=aid)
    assert (stored.departure, stored.recorded_by_id) == ("17:45", rit_agent.id)
    # the bill follows the corrected times: 25 min before 09:15 + 30 min after 17:15 outside the contract
    assert rules.overtime_minutes((555, 1035), rules.parse_hhmm(stored.arrival), rules.parse_hhmm(stored.departure)) == 55
    # RGPD erase takes the audit rows with the attendance
    from core.plugins import get_host

    await get_host().rgpd_erase(household.id)
    assert await Attendance.all().count() == 0 and await AttendanceCorrection.all().count() == 0


async def test_issue_error_paths_change_nothing(gql, mailbox):
    user, household, kids = await family()
    _, other_household, other_kids = await family("autre@example.org", name="MARTIN")
    contract = await signed_contract(household, kids[0])
    fam = await gql.as_user(user)
    agent = await gql.as_user(await make_staff("rit@example.org", services=[RIT]))
    stranger = await gql.as_user(await make_staff("pap@example.org", services=[PAP]))
    day = next_monday()
    t = today()

    # another family's child: request, occasional care, absence -> NOT_FOUND, nothing stored
    base = {"serviceCodes": [RIT], "startDate": day.isoformat(), "daysPerWeek": 4, "hoursPerWeek": "32"}
    assert await fam.code(SUBMIT, input={**base, "childId": str(other_kids[0].id)}) == "NOT_FOUND"
    assert await fam.code(OCCASIONAL, c=str(other_kids[0].id), s=RIT, d=day.isoformat(), a="09:00", b="10:00") == "NOT_FOUND"
    assert await fam.code(ABSENCE, input={"fromDate": t.isoformat(), "toDate": t.isoformat(), "startTime": "09:00",
                                          "endTime": "10:00", "motive": "OTHER",
                                          "childIds": [str(other_kids[0].id)]}) == "NOT_FOUND"
    # a contract of another crèche: revise, end -> NOT_FOUND, contract untouched
    schedule = [{"weekday": 1, "arrival": "09:00", "departure": "17:00"}]
    revise = {"startDate": (t + timedelta(days=30)).isoformat(), "schedule": schedule, "weeksPerYear": 45}
    assert await stranger.code(REVISE, id=str(contract.id), input=revise) == "NOT_FOUND"
    assert await stranger.code(END, id=str(contract.id), d=t.isoformat()) == "NOT_FOUND"
    assert await fam.code(END, id=str(contract.id), d=t.isoformat()) == "FORBIDDEN"
    # revision outside opening hours
    late = await agent.error(REVISE, id=str(contract.id), input={**revise, "schedule": [
        {"weekday": 1, "arrival": "09:00", "departure": "19:30"}]})
    assert late["extensions"] == {"code": "OUTSIDE_OPENING_HOURS", "field": "schedule"}
    fresh = await Contract.get(id=contract.id)
    assert (fresh.status, fresh.end_date, await Contract.all().count()) == (ContractStatus.SIGNED, None, 1)
    # absence ending before it starts
    ends_before = await fam.error(ABSENCE, input={"fromDate": t.isoformat(), "toDate": (t - timedelta(days=2)).isoformat(),
                                                  "startTime": "09:00", "endTime": "10:00", "motive": "OTHER",
                                                  "childIds": [str(kids[0].id)]})
    assert ends_before["extensions"] == {"code": "INVALID_PERIOD", "field": "toDate"}
    # occasional request outside opening hours: after closing time, on a closure day
    after = await fam.error(OCCASIONAL, c=str(kids[1].id), s=RIT, d=day.isoformat(), a="17:00", b="19:00")
    assert after["extensions"] == {"code": "OUTSIDE_OPENING_HOURS", "field": "startTime"}
    await agent.ok(ESTABLISH_CLOSURE, s=RIT, days=[day.isoformat()])
    closed = await fam.error(OCCASIONAL, c=str(kids[1].id), s=RIT, d=day.isoformat(), a="09:00", b="10:00")
    assert closed["extensions"] == {"code": "OUTSIDE_OPENING_HOURS", "field": "day"}
    # capacity full: the contract child fills the only place on Monday 09:15-17:15
    await agent.ok(ESTABLISH_CLOSURE, s=RIT, days=[])
    est = await service.establishment(RIT)
    est.capacity = 1
    await est.save()
    full = await fam.error(OCCASIONAL, c=str(kids[1].id), s=RIT, d=day.isoformat(), a="10:00", b="11:00")
    assert full["extensions"]["code"] == "CAPACITY_FULL"
    await fam.ok(OCCASIONAL, c=str(kids[1].id), s=RIT, d=day.isoformat(), a="17:30", b="18:30")  # after the contract hours

    assert await PlaceRequest.all().count() == 0 and await Absence.all().count() == 0
    assert await OccasionalCare.all().count() == 1
    # the only mail: the closure day set on a contract day (« jours de fermeture », not billed)
    assert await OutboxMail.exclude(template="creche/mail/establishment_changed").count() == 0
    assert other_household.id != household.id
