"""ALSH booking through HTTP: the wizard, the summary, copy mode, cancellation, waiting list,
planning, staff processing, mails, and every error path."""

from __future__ import annotations

from datetime import date, timedelta

from core.billing.models import Invoice
from core.billing.service import run_billing
from core.billing.types import BillingPeriod
from core.documents.models import Document, DocumentStatus
from core.mail.service import send_pending
from core.timeutil import today
from plugins.alsh_paj.models import AlshBooking, AlshBookingLine, AlshChildLink, AlshDayCounter
from tests.alsh_paj.conftest import complete_file, make_family, make_setup
from tests.conftest import make_staff

CHILDREN = "{ alshPajChildren { id firstName age marker isLinked } }"
OFFERS = """query($c: ID!) { alshPajOffers(childId: $c) { id name establishment mode minAge maxAge } }"""
DAYS = """query($c: ID!, $p: ID!) { alshPajPeriodDays(childId: $c, periodId: $p) {
  date isOpen closedLabel units { unit { id name } remaining } booked { id unit state } } }"""
RECORD_PAYMENT = """mutation($i: ID!, $a: Int!) {
  recordPayment(invoiceId: $i, amountCents: $a, method: CASH) { id } }"""
SUMMARY = """query($c: ID!, $p: ID!, $s: [AlshPajSelectionInput!]!) {
  alshPajBookingSummary(childId: $c, periodId: $p, selections: $s) { child lines { date unit { name } remaining expectedOutcome } } }"""
SUBMIT = """mutation($c: ID!, $p: ID!, $s: [AlshPajSelectionInput!]!) {
  submitAlshPajBooking(childId: $c, periodId: $p, selections: $s) {
    id number childId period { name establishment mode }
    lines { id date unit unitId state stateLabel reason waitingRank } } }"""
CANCEL = """mutation($ids: [ID!]!) { cancelAlshPajLines(lineIds: $ids) { id state } }"""
PROCESS = """mutation($d: [AlshPajDecisionInput!]!) { processAlshPajLines(decisions: $d) { id state reason } }"""
PLANNING = """query($m: YearMonth!, $children: [ID!], $cancelled: Boolean! = false, $linked: Boolean! = false) {
  alshPajPlanning(month: $m, childIds: $children, showCancelled: $cancelled, showLinked: $linked) {
    line { id date unit state waitingRank } bookingNumber childName marker establishment mode period
    isBookedByOtherAccount } }"""
HISTORY = """query($id: ID!) { alshPajBookingHistory(id: $id) { total items { lineId fromState toState by note } } }"""
COPY = """mutation($input: AlshPajCopyInput!) { submitAlshPajCopy(input: $input) { number childId lines { date unit state } } }"""
COPY_PREVIEW = """query($input: AlshPajCopyInput!) { alshPajCopyPreview(input: $input) { date unitId } }"""
REQUESTS = """query { alshPajRequests { total items { line { id state } bookingNumber childName establishment } } }"""
DAY_LIST = """query($e: ID!, $d: Date!) { alshPajDayList(establishmentId: $e, date: $d) { items {
  lineId unit firstName hasPai allergies presence mayCollect { firstName lastName } } } }"""
PRESENCE = """mutation($l: ID!, $p: AlshPajPresence!) {
  markAlshPajPresence(lineId: $l, presence: $p) { id presence presenceLabel } }"""


def sel(day, unit):
    return {"date": day.isoformat(), "unitId": str(unit.id)}


async def mails_to(mailbox, address):
    await send_pending(ignore_schedule=True)
    return [mailbox.text(m) for m in mailbox.to(address)]


async def test_wizard_children_offers_days_summary_submit_and_mail(gql, mailbox, alsh):
    user, household, kids = await make_family("famille@example.org", children=2)
    g = await gql.as_user(user)
    children = (await g.ok(CHILDREN))["alshPajChildren"]
    from plugins.alsh_paj.rules import age_on

    assert {c["id"]: c["age"] for c in children} == {str(k.id): age_on(k.birth_date, today()) for k in kids}
    assert children[0]["marker"] == "E" and not children[0]["isLinked"]

    offers = (await g.ok(OFFERS, c=kids[1].id))["alshPajOffers"]
    assert [o["name"] for o in offers] == ["Mercredis Avril Mai"]
    assert offers[0]["establishment"] == "ALSH BRAUD ET ST LOUIS" and offers[0]["mode"] == "MERCREDIS"

    days = (await g.ok(DAYS, c=kids[1].id, p=alsh.period.id))["alshPajPeriodDays"]
    open_days = [d for d in days if d["isOpen"]]
    assert open_days and all(u["remaining"] == 10 for u in open_days[0]["units"])

    w1, w2 = alsh.wednesdays[1], alsh.wednesdays[2]
    selections = [sel(w1, alsh.morning), sel(w2, alsh.morning)]
    summary = (await g.ok(SUMMARY, c=kids[1].id, p=alsh.period.id, s=selections))["alshPajBookingSummary"]
    assert [line["unit"]["name"] for line in summary["lines"]] == ["MERCREDI MATIN SANS REPAS"] * 2
    assert summary["lines"][0]["expectedOutcome"] == "PLACE_AVAILABLE"
    assert await AlshBooking.all().count() == 0  # the summary writes nothing

    booking = (await g.ok(SUBMIT, c=kids[1].id, p=alsh.period.id, s=selections))["submitAlshPajBooking"]
    assert booking["number"] == "00001"
    assert [line["state"] for line in booking["lines"]] == ["PENDING", "PENDING"]
    second = (await g.ok(SUBMIT, c=kids[0].id, p=alsh.period.id, s=[sel(w1, alsh.day)]))["submitAlshPajBooking"]
    assert second["number"] == "00002"

    days = (await g.ok(DAYS, c=kids[1].id, p=alsh.period.id))["alshPajPeriodDays"]
    day1 = next(d for d in days if d["date"] == w1.isoformat())
    assert {u["unit"]["name"]: u["remaining"] for u in day1["units"]}["MERCREDI MATIN SANS REPAS"] == 9
    assert day1["booked"][0]["state"] == "PENDING"

    texts = await mails_to(mailbox, "famille@example.org")
    assert len(texts) == 2
    assert "Réservation n°00001" in texts[0] and "Etablissement : ALSH BRAUD ET ST LOUIS" in texts[0]
    assert "Mode d'accueil : MERCREDIS" in texts[0] and "Période : Mercredis Avril Mai" in texts[0]
    assert f"{w1:%d/%m/%Y} | MERCREDI MATIN SANS REPAS | En attente de traitement" in texts[0]
    html = mailbox.to("famille@example.org")[0].get_body(preferencelist=("html",)).get_content()
    assert "<td>MERCREDI MATIN SANS REPAS</td>" in html


async def test_auto_accept_history_and_planning_filters(gql):
    setup = await make_setup(auto_accept=True)
    user, _, kids = await make_family(children=2)
    g = await gql.as_user(user)
    w = setup.wednesdays[1]
    b1 = (await g.ok(SUBMIT, c=kids[0].id, p=setup.period.id, s=[sel(w, setup.day)]))["submitAlshPajBooking"]
    b2 = (await g.ok(SUBMIT, c=kids[1].id, p=setup.period.id, s=[sel(w, setup.morning)]))["submitAlshPajBooking"]
    assert b1["lines"][0]["state"] == "ACCEPTED"
    await g.ok(CANCEL, ids=[b2["lines"][0]["id"]])

    planning = (await g.ok(PLANNING, m=w.isoformat()[:7]))["alshPajPlanning"]
    assert [(p["marker"], p["line"]["state"]) for p in planning] == [("E", "ACCEPTED")]
    assert planning[0]["establishment"] == "ALSH BRAUD ET ST LOUIS" and planning[0]["bookingNumber"] == "00001"
    everything = (await g.ok(PLANNING, m=w.isoformat()[:7], cancelled=True))["alshPajPlanning"]
    assert len(everything) == 2
    only_second = (await g.ok(PLANNING, m=w.isoformat()[:7], children=[str(kids[1].id)], cancelled=True))["alshPajPlanning"]
    assert [p["line"]["state"] for p in only_second] == ["CANCELLED"]

    history = (await g.ok(HISTORY, id=b2["id"]))["alshPajBookingHistory"]["items"]
    assert [(h["fromState"], h["toState"]) for h in history] == [(None, "ACCEPTED"), ("ACCEPTED", "CANCELLED")]
    assert history[1]["by"] == "Camille DUPONT"


async def test_copy_mode_range_weekdays_and_other_child(gql, alsh):
    user, _, kids = await make_family(children=2)
    g = await gql.as_user(user)
    start, end = alsh.wednesdays[1], alsh.wednesdays[4]
    data = {"childId": str(kids[1].id), "periodId": str(alsh.period.id), "selections": [sel(start, alsh.morning)],
            "rangeStart": start.isoformat(), "rangeEnd": end.isoformat(), "weekdays": [3]}
    preview = (await g.ok(COPY_PREVIEW, input=data))["alshPajCopyPreview"]
    assert [p["date"] for p in preview] == [d.isoformat() for d in alsh.wednesdays[1:5]]

    bookings = (await g.ok(COPY, input={**data, "targetChildIds": [str(kids[1].id), str(kids[0].id)]}))["submitAlshPajCopy"]
    assert [b["childId"] for b in bookings] == [str(kids[1].id), str(kids[0].id)]
    assert all(len(b["lines"]) == 4 for b in bookings)
    # whole period: every open day from tomorrow on
    preview = (await g.ok(COPY_PREVIEW, input={**data, "wholePeriod": True}))["alshPajCopyPreview"]
    assert len(preview) == len([d for d in alsh.wednesdays if d >= today()])

    other_user, _, other_kids = await make_family("autre@example.org", children=1, name="MARTIN")
    assert await g.code(COPY, input={**data, "targetChildIds": [str(other_kids[0].id)]}) == "NOT_FOUND"
    assert await AlshBooking.all().count() == 2
    bad = await g.error(COPY_PREVIEW, input={**data, "rangeEnd": (start - timedelta(days=7)).isoformat()})
    assert bad["extensions"] == {"code": "INVALID_RANGE", "field": "rangeEnd"}


async def test_copy_preview_range_excludes_the_source_day(gql, alsh):
    """Issue 14 point 7: the source day outside the range is not previewed nor booked."""
    user, _, kids = await make_family(children=1)
    g = await gql.as_user(user)
    source, start, end = alsh.wednesdays[1], alsh.wednesdays[3], alsh.wednesdays[4]
    data = {"childId": str(kids[0].id), "periodId": str(alsh.period.id), "selections": [sel(source, alsh.morning)],
            "rangeStart": start.isoformat(), "rangeEnd": end.isoformat()}
    preview = (await g.ok(COPY_PREVIEW, input=data))["alshPajCopyPreview"]
    assert [p["date"] for p in preview] == [start.isoformat(), end.isoformat()]
    bookings = (await g.ok(COPY, input=data))["submitAlshPajCopy"]
    assert sorted(ln["date"] for ln in bookings[0]["lines"]) == [start.isoformat(), end.isoformat()]


async def test_cancellation_before_and_after_deadline(gql, mailbox):
    early = await make_setup(auto_accept=True, capacity=1, cancel_days_before=0)
    user, _, kids = await make_family(children=2)
    g = await gql.as_user(user)
    w = early.wednesdays[1]
    b = (await g.ok(SUBMIT, c=kids[0].id, p=early.period.id, s=[sel(w, early.day)]))["submitAlshPajBooking"]
    assert (await AlshDayCounter.get(unit_id=early.day.id, date=w)).taken == 1
    assert (await g.ok(CANCEL, ids=[b["lines"][0]["id"]]))["cancelAlshPajLines"][0]["state"] == "CANCELLED"
    assert (await AlshDayCounter.get(unit_id=early.day.id, date=w)).taken == 0  # place freed
    assert await g.code(CANCEL, ids=[b["lines"][0]["id"]]) == "NOT_CANCELLABLE"

    late = await make_setup(auto_accept=True, cancel_days_before=60, name="Mercredis tardifs")
    b = (await g.ok(SUBMIT, c=kids[0].id, p=late.period.id, s=[sel(late.wednesdays[1], late.day)]))["submitAlshPajBooking"]
    line_id = b["lines"][0]["id"]
    assert (await g.ok(CANCEL, ids=[line_id]))["cancelAlshPajLines"][0]["state"] == "CANCELLATION_REQUESTED"
    assert (await AlshDayCounter.get(unit_id=late.day.id, date=late.wednesdays[1])).taken == 1  # still held

    # the service decides
    agent = await make_staff(services=["alsh"])
    staff = await gql.as_user(agent)
    requests = (await staff.ok(REQUESTS))["alshPajRequests"]["items"]
    assert [r["line"]["state"] for r in requests] == ["CANCELLATION_REQUESTED"]
    done = (await staff.ok(PROCESS, d=[{"lineId": line_id, "action": "ACCEPT_CANCELLATION"}]))["processAlshPajLines"]
    assert done[0]["state"] == "CANCELLED"
    assert (await AlshDayCounter.get(unit_id=late.day.id, date=late.wednesdays[1])).taken == 0
    assert not (await AlshBookingLine.get(id=int(line_id))).cancelled_in_time  # late: still billed

    # another family cannot cancel someone else's line
    other, _, _ = await make_family("autre@example.org", children=1, name="MARTIN")
    b = (await g.ok(SUBMIT, c=kids[1].id, p=late.period.id, s=[sel(late.wednesdays[2], late.day)]))["submitAlshPajBooking"]
    assert await (await gql.as_user(other)).code(CANCEL, ids=[b["lines"][0]["id"]]) == "NOT_FOUND"
    assert (await AlshBookingLine.get(id=int(b["lines"][0]["id"]))).state == "acceptee"


async def test_window_age_ownership_and_bad_input(gql, alsh):
    user, _, kids = await make_family(children=2)
    g = await gql.as_user(user)
    w = alsh.wednesdays[1]
    closed = await make_setup(opens_in_days=3, name="Mercredis Juin")
    err = await g.error(SUBMIT, c=kids[0].id, p=closed.period.id, s=[sel(w, closed.day)])
    assert err["extensions"] == {"code": "BOOKING_CLOSED", "field": "periodId"}
    assert (await g.ok(OFFERS, c=kids[0].id))["alshPajOffers"][0]["name"] == "Mercredis Avril Mai"

    teens = await make_setup(min_age=11, max_age=17, name="PAJ")
    err = await g.error(SUBMIT, c=kids[0].id, p=teens.period.id, s=[sel(w, teens.day)])
    assert err["extensions"] == {"code": "AGE_NOT_ALLOWED", "field": "childId"}
    assert "PAJ" not in [o["name"] for o in (await g.ok(OFFERS, c=kids[0].id))["alshPajOffers"]]

    _, _, other_kids = await make_family("autre@example.org", children=1, name="MARTIN")
    assert await g.code(SUBMIT, c=other_kids[0].id, p=alsh.period.id, s=[sel(w, alsh.day)]) == "NOT_FOUND"
    assert await g.code(OFFERS, c=other_kids[0].id) == "NOT_FOUND"
    assert await g.code(DAYS, c=other_kids[0].id, p=alsh.period.id) == "NOT_FOUND"
    assert await g.code(SUBMIT, c=kids[0].id, p=999999, s=[sel(w, alsh.day)]) == "NOT_FOUND"

    err = await g.error(SUBMIT, c=kids[0].id, p=alsh.period.id, s=[])
    assert err["extensions"] == {"code": "EMPTY_SELECTION", "field": "selections"}
    thursday = w + timedelta(days=1)
    err = await g.error(SUBMIT, c=kids[0].id, p=alsh.period.id, s=[sel(thursday, alsh.day)])
    assert err["extensions"]["code"] == "DAY_NOT_BOOKABLE" and err["extensions"]["field"] == "selections"
    err = await g.error(SUBMIT, c=kids[0].id, p=alsh.period.id, s=[sel(w, closed.day)])
    assert err["extensions"]["code"] == "UNKNOWN_UNIT"
    await g.ok(SUBMIT, c=kids[0].id, p=alsh.period.id, s=[sel(w, alsh.day)])
    assert await g.code(SUBMIT, c=kids[0].id, p=alsh.period.id, s=[sel(w, alsh.day)]) == "ALREADY_BOOKED"
    assert await gql.code(SUBMIT, c=kids[0].id, p=alsh.period.id, s=[sel(w, alsh.day)]) == "UNAUTHENTICATED"
    assert await AlshBooking.all().count() == 1


async def test_unconfirmed_email_and_missing_prerequisites(gql, alsh):
    """Core's real checks: an incomplete child file and documents not yet accepted block the booking."""
    user, _, kids = await make_family(confirmed=False, children=1)
    w = alsh.wednesdays[1]
    g = await gql.as_user(user)
    assert await g.code(SUBMIT, c=kids[0].id, p=alsh.period.id, s=[sel(w, alsh.day)]) == "EMAIL_NOT_CONFIRMED"

    user, household, kids = await make_family("ok@example.org", children=1, complete=False)
    g = await gql.as_user(user)
    err = await g.error(SUMMARY, c=kids[0].id, p=alsh.period.id, s=[sel(w, alsh.day)])
    assert err["extensions"]["code"] == "PREREQUISITES_MISSING"
    missing = err["extensions"]["missing"]
    assert {m["code"] for m in missing if m["kind"] == "document"} == {"attestation_assurance", "carnet_sante"}
    assert {"MEDICAL_MISSING", "AUTHORIZATIONS_MISSING", "CONTACT_MISSING"} <= {
        m["code"] for m in missing if m["kind"] == "child_file"}
    # the message says what to send (nothing was sent yet) and that documents must be validated
    assert "validés par le service" in err["message"] and "transmis au service" not in err["message"]
    assert "À transmettre : Attestation d'assurance, Carnet de santé / attestation vaccinale." in err["message"]
    assert "en attente de validation" not in err["message"]
    assert await g.code(SUBMIT, c=kids[0].id, p=alsh.period.id, s=[sel(w, alsh.day)]) == "PREREQUISITES_MISSING"
    assert await AlshBooking.all().count() == 0

    await complete_file(household, kids)
    await Document.filter(household_id=household.id, type_code="carnet_sante").update(status=DocumentStatus.PENDING)
    err = await g.error(SUMMARY, c=kids[0].id, p=alsh.period.id, s=[sel(w, alsh.day)])
    assert [(m["code"], m["status"]) for m in err["extensions"]["missing"]] == [("carnet_sante", "pending")]
    # sent but not yet reviewed: still blocks, and the message says it waits for the service
    assert err["message"].endswith("Transmis, en attente de validation : Carnet de santé / attestation vaccinale.")
    assert "À transmettre" not in err["message"] and "À compléter" not in err["message"]
    await Document.filter(household_id=household.id, type_code="carnet_sante").update(status=DocumentStatus.ACCEPTED)
    await g.ok(SUBMIT, c=kids[0].id, p=alsh.period.id, s=[sel(w, alsh.day)])
    assert await AlshBooking.all().count() == 1


async def test_unpaid_balance_from_real_billing_blocks_new_bookings(gql, alsh, plugin_config):
    """`unpaid_threshold_cents`: an issued invoice of the service's régie left unpaid above the threshold
    blocks a new booking (UNPAID_BALANCE); a payment at the desk that brings it under unblocks it."""
    plugin_config["unpaid_threshold_cents"] = 1000
    user, household, kids = await make_family(children=1, quotient_familial=800)
    g = await gql.as_user(user)
    w = alsh.wednesdays[1]
    # A past Wednesday attended: the monthly billing run issues the invoice (1 day x 11,00 € at QF 800).
    booking = await AlshBooking.create(number=900, household=household, child=kids[0], period=alsh.period)
    await AlshBookingLine.create(booking=booking, unit=alsh.day, date=date(2023, 3, 8), state="acceptee")
    await run_billing(BillingPeriod(date(2023, 3, 1), date(2023, 3, 31)))
    invoice = await Invoice.get(household_id=household.id)
    assert (invoice.regie_code, invoice.total_cents, invoice.balance_cents) == ("cdc", 1100, 1100)

    err = await g.error(SUBMIT, c=kids[0].id, p=alsh.period.id, s=[sel(w, alsh.day)])
    assert err["extensions"]["code"] == "UNPAID_BALANCE"
    assert (err["extensions"]["dueCents"], err["extensions"]["thresholdCents"]) == (1100, 1000)
    # Paid down to the threshold exactly: booking is allowed again.
    agent = await gql.as_user(await make_staff("regie@example.org", services=["alsh"]))
    await agent.ok(RECORD_PAYMENT, i=str(invoice.id), a=100)
    await g.ok(SUBMIT, c=kids[0].id, p=alsh.period.id, s=[sel(w, alsh.day)])
    assert await AlshBooking.filter(household_id=household.id).count() == 2


async def test_exclusion_and_requirement_rules(gql, alsh):
    user, _, kids = await make_family(children=1)
    g = await gql.as_user(user)
    w = alsh.wednesdays[1]
    err = await g.error(SUMMARY, c=kids[0].id, p=alsh.period.id, s=[sel(w, alsh.day), sel(w, alsh.morning)])
    assert err["extensions"]["code"] == "UNIT_EXCLUDED" and err["extensions"]["date"] == w.isoformat()
    err = await g.error(SUBMIT, c=kids[0].id, p=alsh.period.id, s=[sel(w, alsh.meal)])
    assert err["extensions"]["code"] == "UNIT_REQUIRES"
    await g.ok(SUBMIT, c=kids[0].id, p=alsh.period.id, s=[sel(w, alsh.morning), sel(w, alsh.meal)])
    # the rule also holds against what is already booked
    assert await g.code(SUBMIT, c=kids[0].id, p=alsh.period.id, s=[sel(w, alsh.day)]) == "UNIT_EXCLUDED"
    w2 = alsh.wednesdays[2]
    await g.ok(SUBMIT, c=kids[0].id, p=alsh.period.id, s=[sel(w2, alsh.morning)])
    await g.ok(SUBMIT, c=kids[0].id, p=alsh.period.id, s=[sel(w2, alsh.meal)])
    assert await AlshBooking.all().count() == 3


async def test_waiting_list_rank_and_promotion_mail(gql, mailbox):
    setup = await make_setup(capacity=1, auto_accept=True, cancel_days_before=0)
    w = setup.wednesdays[1]
    first, _, k1 = await make_family("un@example.org", children=1, name="UN")
    second, _, k2 = await make_family("deux@example.org", children=1, name="DEUX")
    third, _, k3 = await make_family("trois@example.org", children=1, name="TROIS")
    g1, g2, g3 = [await gql.as_user(u) for u in (first, second, third)]
    b1 = (await g1.ok(SUBMIT, c=k1[0].id, p=setup.period.id, s=[sel(w, setup.day)]))["submitAlshPajBooking"]
    b2 = (await g2.ok(SUBMIT, c=k2[0].id, p=setup.period.id, s=[sel(w, setup.day)]))["submitAlshPajBooking"]
    b3 = (await g3.ok(SUBMIT, c=k3[0].id, p=setup.period.id, s=[sel(w, setup.day)]))["submitAlshPajBooking"]
    assert b1["lines"][0]["state"] == "ACCEPTED"
    assert (b2["lines"][0]["state"], b2["lines"][0]["waitingRank"]) == ("WAITING_LIST", 1)
    assert (b3["lines"][0]["state"], b3["lines"][0]["waitingRank"]) == ("WAITING_LIST", 2)
    summary = (await g3.ok(SUMMARY, c=k3[0].id, p=setup.period.id, s=[sel(setup.wednesdays[2], setup.day)]))
    assert summary["alshPajBookingSummary"]["lines"][0]["expectedOutcome"] == "PLACE_AVAILABLE"
    await send_pending(ignore_schedule=True)
    mailbox.clear()

    await g1.ok(CANCEL, ids=[b1["lines"][0]["id"]])
    assert (await AlshBookingLine.get(id=int(b2["lines"][0]["id"]))).state == "acceptee"
    planning = (await g3.ok(PLANNING, m=w.isoformat()[:7]))["alshPajPlanning"]
    assert planning[0]["line"]["waitingRank"] == 1  # moved up
    texts = await mails_to(mailbox, "deux@example.org")
    assert len(texts) == 1 and "Une place s'est libérée" in texts[0]
    assert (await AlshDayCounter.get(unit_id=setup.day.id, date=w)).taken == 1


async def test_waiting_list_off_refuses_full_day(gql, plugin_config):
    plugin_config["waiting_list"] = False
    setup = await make_setup(capacity=0)
    user, _, kids = await make_family(children=1)
    b = (await (await gql.as_user(user)).ok(SUBMIT, c=kids[0].id, p=setup.period.id,
                                            s=[sel(setup.wednesdays[1], setup.day)]))["submitAlshPajBooking"]
    assert (b["lines"][0]["state"], b["lines"][0]["reason"]) == ("REFUSED", "Aucune place disponible")


async def test_staff_processing_mail_and_scoping(gql, mailbox, alsh):
    user, _, kids = await make_family(children=1)
    g = await gql.as_user(user)
    days = alsh.wednesdays[1:4]
    b = (await g.ok(SUBMIT, c=kids[0].id, p=alsh.period.id, s=[sel(d, alsh.morning) for d in days]))["submitAlshPajBooking"]
    ids = [line["id"] for line in b["lines"]]
    await send_pending(ignore_schedule=True)
    mailbox.clear()

    outsider = await gql.as_user(await make_staff("creche@example.org", services=["creche_au_fil_de_l_eau"]))
    assert await outsider.code(PROCESS, d=[{"lineId": ids[0], "action": "ACCEPT"}]) == "NOT_FOUND"
    assert (await outsider.ok(REQUESTS))["alshPajRequests"] == {"total": 0, "items": []}
    assert await g.code(PROCESS, d=[{"lineId": ids[0], "action": "ACCEPT"}]) == "FORBIDDEN"

    staff = await gql.as_user(await make_staff(services=["alsh"]))
    assert (await staff.ok(REQUESTS))["alshPajRequests"]["total"] == 3
    err = await staff.error(PROCESS, d=[{"lineId": ids[1], "action": "REFUSE"}])
    assert err["extensions"] == {"code": "REASON_REQUIRED", "field": "decisions"}
    done = (await staff.ok(PROCESS, d=[{"lineId": ids[0], "action": "ACCEPT"},
                                       {"lineId": ids[1], "action": "REFUSE", "reason": "Aucune place disponible"},
                                       {"lineId": ids[2], "action": "ACCEPT"}]))["processAlshPajLines"]
    assert [d["state"] for d in done] == ["ACCEPTED", "REFUSED", "ACCEPTED"]
    assert (await AlshDayCounter.get(unit_id=alsh.morning.id, date=days[1])).taken == 0
    texts = await mails_to(mailbox, "famille@example.org")
    assert len(texts) == 1
    assert f"{days[1]:%d/%m/%Y} | MERCREDI MATIN SANS REPAS | Refusée - Motif : Aucune place disponible" in texts[0]
    assert f"{days[0]:%d/%m/%Y} | MERCREDI MATIN SANS REPAS | Acceptée" in texts[0]
    assert await staff.code(PROCESS, d=[{"lineId": ids[0], "action": "ACCEPT"}]) == "INVALID_STATE"
    history = (await g.ok(HISTORY, id=b["id"]))["alshPajBookingHistory"]["items"]
    assert history[-1]["by"] == "Agent TEST"


async def test_day_list_presence_and_justified_absence(gql, alsh):
    from core.households.models import AuthorizedPerson

    user, _, kids = await make_family(children=1)
    kids[0].has_pai, kids[0].allergies = True, "Arachide"
    await kids[0].save()
    await AuthorizedPerson.create(child=kids[0], last_name="DUPONT", first_name="Mamie", may_collect=True)
    await AuthorizedPerson.create(child=kids[0], last_name="VOISIN", first_name="Paul", may_collect=False)
    # a line on a past day (booked earlier), accepted
    from plugins.alsh_paj.models import AlshBooking as B

    past = today() - timedelta(days=1)
    booking = await B.create(number=1, household_id=kids[0].household_id, child=kids[0], period=alsh.period)
    line = await AlshBookingLine.create(booking=booking, unit=alsh.day, date=past, state="acceptee", holds_place=True)

    staff = await gql.as_user(await make_staff(services=["alsh"]))
    rows = (await staff.ok(DAY_LIST, e=alsh.establishment.id, d=past.isoformat()))["alshPajDayList"]["items"]
    assert rows == [{"lineId": str(line.id), "unit": "MERCREDI JOURNEE AVEC REPAS", "firstName": "Enfant1",
                     "hasPai": True, "allergies": "Arachide", "presence": "NOT_MARKED",
                     "mayCollect": [{"firstName": "Mamie", "lastName": "DUPONT"}]}]
    outsider = await gql.as_user(await make_staff("x@example.org", services=["jeunesse"]))
    assert await outsider.code(DAY_LIST, e=alsh.establishment.id, d=past.isoformat()) == "NOT_FOUND"
    assert await (await gql.as_user(user)).code(DAY_LIST, e=alsh.establishment.id, d=past.isoformat()) == "FORBIDDEN"

    marked = (await staff.ok(PRESENCE, l=line.id, p="JUSTIFIED_ABSENCE"))["markAlshPajPresence"]
    assert marked == {"id": str(line.id), "presence": "JUSTIFIED_ABSENCE", "presenceLabel": "Absence justifiée"}
    assert (await AlshBookingLine.get(id=line.id)).absence_justified
    assert await outsider.code(PRESENCE, l=line.id, p="PRESENT") == "NOT_FOUND"
    assert (await staff.error(PRESENCE, l=line.id, p="NOT_MARKED"))["extensions"] == {
        "code": "INVALID_PRESENCE", "field": "presence"}


async def test_garde_alternee_link_and_planning(gql, alsh):
    mother, _, kids = await make_family("mere@example.org", children=1)
    father, father_home, _ = await make_family("pere@example.org", children=0, name="PERE")
    staff = await gql.as_user(await make_staff(services=["alsh"]))
    gm, gf = await gql.as_user(mother), await gql.as_user(father)
    w = alsh.wednesdays[1]
    assert await gf.code(SUBMIT, c=kids[0].id, p=alsh.period.id, s=[sel(w, alsh.day)]) == "NOT_FOUND"
    link = """mutation($c: ID!, $h: ID!) { linkAlshPajChild(childId: $c, householdId: $h) { childId householdId } }"""
    assert await gm.code(link, c=kids[0].id, h=father_home.id) == "FORBIDDEN"
    await staff.ok(link, c=kids[0].id, h=father_home.id)
    assert await AlshChildLink.exists(child_id=kids[0].id, household_id=father_home.id)
    children = (await gf.ok(CHILDREN))["alshPajChildren"]
    assert [(c["firstName"], c["isLinked"]) for c in children] == [("Enfant1", True)]
    await gf.ok(SUBMIT, c=kids[0].id, p=alsh.period.id, s=[sel(w, alsh.day)])

    assert (await gm.ok(PLANNING, m=w.isoformat()[:7]))["alshPajPlanning"] == []
    linked = (await gm.ok(PLANNING, m=w.isoformat()[:7], linked=True))["alshPajPlanning"]
    assert [p["isBookedByOtherAccount"] for p in linked] == [True]
    # the mother cannot cancel what the father booked
    assert await gm.code(CANCEL, ids=[linked[0]["line"]["id"]]) == "NOT_FOUND"


async def test_planning_query_count_does_not_grow(gql):
    from tests.querycount import count_queries

    setup = await make_setup(auto_accept=True)
    user, _, kids = await make_family(children=2)
    g = await gql.as_user(user)
    month = setup.wednesdays[1]
    await g.ok(SUBMIT, c=kids[0].id, p=setup.period.id, s=[sel(month, setup.day)])
    with count_queries() as small:
        await g.ok(PLANNING, m=month.isoformat()[:7])
    same_month = [d for d in setup.wednesdays if d.month == month.month and d != month]
    for kid in kids:
        await g.ok(SUBMIT, c=kid.id, p=setup.period.id, s=[sel(d, setup.morning) for d in same_month] or
                   [sel(month, setup.morning)] if kid is kids[1] else [sel(d, setup.day) for d in same_month]
                   or [sel(month, setup.day)])
    with count_queries() as big:
        data = await g.ok(PLANNING, m=month.isoformat()[:7])
    assert len(data["alshPajPlanning"]) > 1
    assert big.count == small.count


