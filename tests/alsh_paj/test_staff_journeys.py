"""Issue 14 for the ALSH (points 1-3), through HTTP: an agent books on a family's behalf with the same
rules and an audited override reason, edits establishments / modes / periods / units with an explicit
choice for the bookings a change takes away, and back-fills past days; families keep their restrictions."""

from __future__ import annotations

from datetime import date, timedelta

from core.documents.models import Document, DocumentStatus
from core.households.models import AuditLog
from core.mail.service import send_pending
from core.timeutil import today
from plugins.alsh_paj.models import (
    AlshBooking,
    AlshBookingLine,
    AlshClosedDay,
    AlshDayCounter,
    AlshPeriod,
)
from tests.alsh_paj.conftest import make_family, make_setup
from tests.alsh_paj.test_booking import DAYS, PRESENCE, PROCESS, SUBMIT, sel
from tests.conftest import make_staff

ON_BEHALF = """mutation($c: ID!, $p: ID!, $s: [AlshPajSelectionInput!]!, $h: ID, $r: String) {
  submitAlshPajBooking(childId: $c, periodId: $p, selections: $s, householdId: $h, overrideReason: $r) {
    id number householdId lines { id date state } } }"""
SUMMARY = """query($c: ID!, $p: ID!, $s: [AlshPajSelectionInput!]!, $h: ID, $r: String) {
  alshPajBookingSummary(childId: $c, periodId: $p, selections: $s, householdId: $h, overrideReason: $r) {
    lines { expectedOutcome } } }"""
CHILDREN = """query($h: ID) { alshPajChildren(householdId: $h) { id firstName } }"""
OFFERS = """query($c: ID!, $h: ID) { alshPajOffers(childId: $c, householdId: $h) { id name } }"""
STAFF_DAYS = """query($c: ID!, $p: ID!, $h: ID) { alshPajPeriodDays(childId: $c, periodId: $p, householdId: $h) {
  date isOpen } }"""
UPDATE_PERIOD = """mutation($id: ID!, $i: AlshPajPeriodUpdateInput!, $a: AlshPajAffectedLinesChoice, $dry: Boolean!) {
  updateAlshPajPeriod(id: $id, input: $i, affectedLines: $a, dryRun: $dry) {
    isApplied choice period { weekdays endDate } affectedLines { line { id date state } childName } } }"""
UPDATE_EST = """mutation($id: ID!, $n: String, $a: String) {
  updateAlshPajEstablishment(id: $id, name: $n, address: $a) { name address } }"""
UPDATE_MODE = """mutation($id: ID!, $n: String, $k: AlshPajModeKind) {
  updateAlshPajMode(id: $id, name: $n, kind: $k) { name kind } }"""
UPDATE_UNIT = """mutation($id: ID!, $i: AlshPajUnitUpdateInput!) {
  updateAlshPajUnit(id: $id, input: $i) { name tariffMethod excludes } }"""


async def _audit(action: str) -> list[AuditLog]:
    return await AuditLog.filter(action=action).order_by("id")


async def test_agent_books_for_a_family_with_an_audited_override_and_the_family_is_mailed(gql, mailbox):
    closed_window = await make_setup(opens_in_days=5, capacity=1)  # families cannot book yet
    user, household, kids = await make_family("famille@example.org", children=1)
    family = await gql.as_user(user)
    agent = await gql.as_user(await make_staff(services=["alsh"]))
    outsider = await gql.as_user(await make_staff("paj@example.org", services=["jeunesse"]))
    w1, w2 = closed_window.wednesdays[1], closed_window.wednesdays[2]
    args = {"c": kids[0].id, "p": closed_window.period.id, "s": [sel(w1, closed_window.day)]}

    # the wizard on the staff side: the household's children, every period of the service, its days
    assert [c["firstName"] for c in (await agent.ok(CHILDREN, h=household.id))["alshPajChildren"]] == ["Enfant1"]
    assert [o["name"] for o in (await agent.ok(OFFERS, c=kids[0].id, h=household.id))["alshPajOffers"]] == [
        "Mercredis Avril Mai"]
    assert (await family.ok(OFFERS, c=kids[0].id))["alshPajOffers"] == []  # window closed for the family
    days = (await agent.ok(STAFF_DAYS, c=kids[0].id, p=closed_window.period.id, h=household.id))["alshPajPeriodDays"]
    assert w1.isoformat() in [d["date"] for d in days if d["isOpen"]]

    # the family: window closed, and no way to pass it or to book for another household
    assert await family.code(SUBMIT, **args) == "BOOKING_CLOSED"
    assert await family.code(ON_BEHALF, **args, r="urgence") == "FORBIDDEN"
    assert await family.code(ON_BEHALF, **args, h=household.id) == "FORBIDDEN"
    # an agent of another service: the period does not exist for them
    assert await outsider.code(ON_BEHALF, **args, h=household.id, r="urgence") == "NOT_FOUND"
    # the agent without a reason: the same error, saying it may be passed
    err = await agent.error(ON_BEHALF, **args, h=household.id)
    assert err["extensions"] == {"code": "BOOKING_CLOSED", "field": "periodId", "overridable": True}
    assert await AlshBooking.all().count() == 0

    booking = (await agent.ok(ON_BEHALF, **args, h=household.id, r="Inscription au guichet, mère sans internet"))[
        "submitAlshPajBooking"]
    assert booking["householdId"] == str(household.id)
    assert [ln["state"] for ln in booking["lines"]] == ["ACCEPTED"]  # the service books: nothing to decide
    entry = (await _audit("alsh_booking_on_behalf"))[0]
    assert entry.household_id == household.id and entry.entity_id == int(booking["id"])
    assert entry.detail["overrides"] == ["BOOKING_CLOSED"]
    assert entry.detail["reason"] == "Inscription au guichet, mère sans internet"
    await send_pending(ignore_schedule=True)
    mails = mailbox.to("famille@example.org")
    assert len(mails) == 1 and "effectuée par le service" in mails[0]["Subject"]
    assert f"{w1:%d/%m/%Y} | MERCREDI JOURNEE AVEC REPAS | Acceptée" in mailbox.text(mails[0])
    assert mailbox.to("agent@example.org") == []

    # capacity is never passed: the day is full (capacity 1), the next child waits like anyone
    _, other_home, other_kids = await make_family("autre@example.org", children=1, name="MARTIN")
    full = (await agent.ok(ON_BEHALF, c=other_kids[0].id, p=closed_window.period.id, s=[sel(w1, closed_window.day)],
                           h=other_home.id, r="urgence"))["submitAlshPajBooking"]
    assert [ln["state"] for ln in full["lines"]] == ["WAITING_LIST"]
    assert (await AlshDayCounter.get(unit_id=closed_window.day.id, date=w1)).taken == 1
    # closed days are never passed either
    await AlshClosedDay.create(establishment=closed_window.establishment, date=w2, label="Fermeture")
    err = await agent.error(ON_BEHALF, **{**args, "s": [sel(w2, closed_window.day)]}, h=household.id, r="urgence")
    assert err["extensions"]["code"] == "DAY_NOT_BOOKABLE" and "overridable" not in err["extensions"]


async def test_agent_passes_pending_documents_but_never_missing_ones(gql):
    setup = await make_setup()
    agent = await gql.as_user(await make_staff(services=["alsh"]))
    w = setup.wednesdays[1]
    _, household, kids = await make_family("pending@example.org", children=1)
    await Document.filter(household_id=household.id, type_code="carnet_sante").update(status=DocumentStatus.PENDING)
    args = {"c": kids[0].id, "p": setup.period.id, "s": [sel(w, setup.day)], "h": household.id}
    err = await agent.error(SUMMARY, **args)
    assert err["extensions"]["code"] == "PREREQUISITES_MISSING" and err["extensions"]["overridable"] is True
    summary = (await agent.ok(SUMMARY, **args, r="Carnet vu au guichet"))["alshPajBookingSummary"]
    assert summary["lines"] == [{"expectedOutcome": "PLACE_AVAILABLE"}]
    await agent.ok(ON_BEHALF, **args, r="Carnet vu au guichet")
    assert (await _audit("alsh_booking_on_behalf"))[0].detail["overrides"] == ["PREREQUISITES_MISSING"]

    # a document never sent: a rule the agent may not pass, reason or not
    _, incomplete, other_kids = await make_family("missing@example.org", children=1, name="MARTIN", complete=False)
    err = await agent.error(ON_BEHALF, c=other_kids[0].id, p=setup.period.id, s=[sel(w, setup.day)],
                            h=incomplete.id, r="urgence")
    assert err["extensions"]["code"] == "PREREQUISITES_MISSING" and "overridable" not in err["extensions"]
    # nor the age range
    teens = await make_setup(min_age=11, max_age=17, name="PAJ")
    assert await agent.code(ON_BEHALF, c=kids[0].id, p=teens.period.id, s=[sel(w, teens.day)], h=household.id,
                            r="urgence") == "AGE_NOT_ALLOWED"
    assert await AlshBooking.all().count() == 1


async def test_back_fill_past_days_for_staff_only(gql):
    setup = await make_setup()
    past = today() - timedelta(days=7)
    await AlshPeriod.filter(id=setup.period.id).update(start_date=past - timedelta(days=7),
                                                       weekdays=[1, 2, 3, 4, 5, 6, 7])
    user, household, kids = await make_family(children=1)
    family = await gql.as_user(user)
    agent = await gql.as_user(await make_staff(services=["alsh"]))
    args = {"c": kids[0].id, "p": setup.period.id, "s": [sel(past, setup.day)]}
    # families keep their restriction: no past day
    assert await family.code(SUBMIT, **args) == "DAY_NOT_BOOKABLE"
    err = await agent.error(ON_BEHALF, **args, h=household.id)
    assert err["extensions"]["overridable"] is True
    booking = (await agent.ok(ON_BEHALF, **args, h=household.id, r="Venu sans réservation"))["submitAlshPajBooking"]
    line_id = booking["lines"][0]["id"]
    assert booking["lines"][0]["state"] == "ACCEPTED"
    marked = (await agent.ok(PRESENCE, l=line_id, p="ABSENT"))["markAlshPajPresence"]
    assert marked["presence"] == "ABSENT"
    assert await family.code(PRESENCE, l=line_id, p="PRESENT") == "FORBIDDEN"
    # a request nobody decided before its day (expired): the service may still accept it
    stale = await AlshBooking.create(number=77, household=household, child=kids[0], period=setup.period)
    expired = await AlshBookingLine.create(booking=stale, unit=setup.morning, date=past, state="expiree")
    done = (await agent.ok(PROCESS, d=[{"lineId": str(expired.id), "action": "ACCEPT"}]))["processAlshPajLines"]
    assert done[0]["state"] == "ACCEPTED"
    assert (await AlshDayCounter.get(unit_id=setup.morning.id, date=past)).taken == 1
    # presence of a day to come: still refused, for staff too
    future = (await agent.ok(ON_BEHALF, c=kids[0].id, p=setup.period.id, s=[sel(setup.wednesdays[1], setup.day)],
                             h=household.id))["submitAlshPajBooking"]
    assert await agent.code(PRESENCE, l=future["lines"][0]["id"], p="PRESENT") == "FUTURE_DAY"


async def test_period_change_previews_then_keeps_or_cancels_with_a_mail(gql, mailbox):
    setup = await make_setup(auto_accept=True)
    user, _, kids = await make_family("famille@example.org", children=1)
    family = await gql.as_user(user)
    agent = await gql.as_user(await make_staff(services=["alsh"]))
    outsider = await gql.as_user(await make_staff("paj@example.org", services=["jeunesse"]))
    w1, w2 = setup.wednesdays[1], setup.wednesdays[2]
    booking = (await family.ok(SUBMIT, c=kids[0].id, p=setup.period.id,
                               s=[sel(w1, setup.day), sel(w2, setup.day)]))["submitAlshPajBooking"]
    await send_pending(ignore_schedule=True)
    mailbox.clear()
    shorter = {"endDate": (w2 - timedelta(days=1)).isoformat()}  # w2 leaves the period

    assert await family.code(UPDATE_PERIOD, id=setup.period.id, i=shorter, dry=True) == "FORBIDDEN"
    assert await outsider.code(UPDATE_PERIOD, id=setup.period.id, i=shorter, dry=True) == "NOT_FOUND"
    preview = (await agent.ok(UPDATE_PERIOD, id=setup.period.id, i=shorter, dry=True))["updateAlshPajPeriod"]
    assert preview["isApplied"] is False
    assert [a["line"]["date"] for a in preview["affectedLines"]] == [w2.isoformat()]
    assert (await AlshPeriod.get(id=setup.period.id)).end_date == setup.period.end_date  # nothing written
    err = await agent.error(UPDATE_PERIOD, id=setup.period.id, i=shorter, dry=False)
    assert err["extensions"] == {"code": "AFFECTED_LINES_CHOICE_REQUIRED", "field": "affectedLines",
                                 "affectedLineCount": 1}
    bad = await agent.error(UPDATE_PERIOD, id=setup.period.id, i={"weekdays": [8]}, a="KEEP", dry=False)
    assert bad["extensions"] == {"code": "INVALID_WEEKDAY", "field": "weekdays"}
    bad = await agent.error(UPDATE_PERIOD, id=setup.period.id, i={"endDate": "2099-12-31"}, a="KEEP", dry=False)
    assert bad["extensions"] == {"code": "INVALID_RANGE", "field": "endDate"}

    done = (await agent.ok(UPDATE_PERIOD, id=setup.period.id, i=shorter, a="CANCEL", dry=False))["updateAlshPajPeriod"]
    assert done["isApplied"] and done["choice"] == "CANCEL" and done["period"]["endDate"] == shorter["endDate"]
    assert [a["line"]["state"] for a in done["affectedLines"]] == ["CANCELLED"]
    line2 = await AlshBookingLine.get(id=int(booking["lines"][1]["id"]))
    assert line2.state == "annulee" and line2.cancelled_in_time  # never billed
    assert (await AlshDayCounter.get(unit_id=setup.day.id, date=w2)).taken == 0
    assert (await AlshBookingLine.get(id=int(booking["lines"][0]["id"]))).state == "acceptee"
    await send_pending(ignore_schedule=True)
    texts = [mailbox.text(m) for m in mailbox.to("famille@example.org")]
    assert len(texts) == 1 and f"{w2:%d/%m/%Y} | MERCREDI JOURNEE AVEC REPAS" in texts[0]
    entry = (await _audit("alsh_period_updated"))[-1]
    assert entry.detail["choice"] == "cancel" and entry.detail["affected_lines"] == [line2.id]

    # Wednesdays → Thursdays, keeping the booked Wednesday: the line stays, the calendar moves
    kept = (await agent.ok(UPDATE_PERIOD, id=setup.period.id, i={"weekdays": [4]}, a="KEEP", dry=False))[
        "updateAlshPajPeriod"]
    assert kept["period"]["weekdays"] == [4] and [a["line"]["date"] for a in kept["affectedLines"]] == [w1.isoformat()]
    assert (await AlshBookingLine.get(id=int(booking["lines"][0]["id"]))).state == "acceptee"
    days = (await family.ok(DAYS, c=kids[0].id, p=setup.period.id))["alshPajPeriodDays"]
    open_days = [date.fromisoformat(d["date"]) for d in days if d["isOpen"]]
    assert open_days and {d.isoweekday() for d in open_days} == {4}


async def test_establishment_mode_and_unit_edits_keep_bookings_and_are_audited(gql):
    setup = await make_setup(auto_accept=True)
    user, _, kids = await make_family(children=1)
    family = await gql.as_user(user)
    agent = await gql.as_user(await make_staff(services=["alsh"]))
    outsider = await gql.as_user(await make_staff("paj@example.org", services=["jeunesse"]))
    b = (await family.ok(SUBMIT, c=kids[0].id, p=setup.period.id, s=[sel(setup.wednesdays[1], setup.day)]))
    line_id = int(b["submitAlshPajBooking"]["lines"][0]["id"])

    assert await family.code(UPDATE_EST, id=setup.establishment.id, n="X") == "FORBIDDEN"
    assert await outsider.code(UPDATE_EST, id=setup.establishment.id, n="X") == "NOT_FOUND"
    assert (await agent.error(UPDATE_EST, id=setup.establishment.id, n=" "))["extensions"]["code"] == "REQUIRED"
    est = (await agent.ok(UPDATE_EST, id=setup.establishment.id, n="ALSH DE BRAUD", a="Place de la Mairie"))
    assert est["updateAlshPajEstablishment"] == {"name": "ALSH DE BRAUD", "address": "Place de la Mairie"}
    mode = (await agent.ok(UPDATE_MODE, id=setup.mode.id, k="HOLIDAYS"))["updateAlshPajMode"]
    assert mode == {"name": "MERCREDIS", "kind": "HOLIDAYS"}
    assert await outsider.code(UPDATE_MODE, id=setup.mode.id, n="X") == "NOT_FOUND"
    unit = (await agent.ok(UPDATE_UNIT, id=setup.day.id, i={"name": "JOURNEE", "tariff": {"method": "FLAT",
                                                                                          "flatCents": 900},
                                                           "excludes": []}))["updateAlshPajUnit"]
    assert unit == {"name": "JOURNEE", "tariffMethod": "FLAT", "excludes": []}
    bad = await agent.error(UPDATE_UNIT, id=setup.day.id, i={"tariff": {"method": "QF_BRACKETS"}})
    assert bad["extensions"] == {"code": "INVALID_TARIFF", "field": "tariff"}
    assert await outsider.code(UPDATE_UNIT, id=setup.day.id, i={"name": "X"}) == "NOT_FOUND"
    assert (await AlshBookingLine.get(id=line_id)).state == "acceptee"
    assert [e.action for e in await AuditLog.filter(action__startswith="alsh_").order_by("id")] == [
        "alsh_establishment_updated", "alsh_mode_updated", "alsh_unit_updated"]
    assert (await AuditLog.get(action="alsh_unit_updated")).detail["before"]["name"] == "MERCREDI JOURNEE AVEC REPAS"


async def test_closing_a_booked_day_cancels_its_lines_only_when_asked_and_mails_the_families(gql, mailbox):
    setup = await make_setup(auto_accept=True, capacity=1)
    agent = await gql.as_user(await make_staff(services=["alsh"]))
    close = """mutation($e: ID!, $d: Date!, $c: Boolean!) {
      addAlshPajClosedDay(establishmentId: $e, date: $d, label: "Grève", cancelBookings: $c) { date label } }"""
    w = setup.wednesdays[1]
    first, _, k1 = await make_family("un@example.org", children=1, name="UN")
    second, _, k2 = await make_family("deux@example.org", children=1, name="DEUX")
    b1 = (await (await gql.as_user(first)).ok(SUBMIT, c=k1[0].id, p=setup.period.id, s=[sel(w, setup.day)]))
    b2 = (await (await gql.as_user(second)).ok(SUBMIT, c=k2[0].id, p=setup.period.id, s=[sel(w, setup.day)]))
    assert b2["submitAlshPajBooking"]["lines"][0]["state"] == "WAITING_LIST"
    await send_pending(ignore_schedule=True)
    mailbox.clear()

    err = await agent.error(close, e=setup.establishment.id, d=w.isoformat(), c=False)
    assert err["extensions"] == {"code": "DAY_HAS_BOOKINGS", "field": "date", "affectedLineCount": 2}
    assert not await AlshClosedDay.exists(date=w)
    done = (await agent.ok(close, e=setup.establishment.id, d=w.isoformat(), c=True))["addAlshPajClosedDay"]
    assert done == {"date": w.isoformat(), "label": "Grève"}
    lines = await AlshBookingLine.filter(date=w).order_by("id")
    assert [(ln.state, ln.cancelled_in_time) for ln in lines] == [("annulee", True), ("annulee", True)]
    assert (await AlshDayCounter.get(unit_id=setup.day.id, date=w)).taken == 0
    await send_pending(ignore_schedule=True)
    for address in ("un@example.org", "deux@example.org"):
        texts = [mailbox.text(m) for m in mailbox.to(address)]
        assert len(texts) == 1 and f"{w:%d/%m/%Y} | MERCREDI JOURNEE AVEC REPAS" in texts[0], address
    entry = (await _audit("alsh_closed_day"))[-1]
    assert sorted(entry.detail["cancelled_lines"]) == [ln.id for ln in lines]
    assert b1["submitAlshPajBooking"]["lines"][0]["state"] == "ACCEPTED"
