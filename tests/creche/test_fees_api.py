"""Issue 11, crèche money through HTTP: each month billed with the barème and the resources in force that
month (the 8 500 € plafond of 1 September 2025 on a contract of March 2025), resources recorded from a
date revise the fee and tell the family, emergency care at the plancher, éviction deducted, public
holidays as closures."""

from __future__ import annotations

from dataclasses import replace
from datetime import date, timedelta

from core import calendar as fr_calendar
from core import config as core_config
from core.timeutil import today
from plugins.creche import rules, service
from plugins.creche.models import Contract, ContractStatus, FeeChange
from tests.conftest import make_family, make_staff
from tests.creche.test_api import (
    DAILY,
    DECIDE_OCC,
    OCCASIONAL,
    PLANNING,
    RIT,
    family,
    next_monday,
    signed_contract,
)
from tests.creche.test_mail_and_corrections import delivered

RUN = """mutation($s: Date!, $e: Date!) { runBilling(periodStart: $s, periodEnd: $e) { invoices lines } }"""
MY = """{ myInvoices { items { periodStart lines { designation quantity unitPriceCents amountCents } } } }"""
PERIODS = """query($id: ID!) { crecheContractFeePeriods(contractId: $id) { start end hourlyFeeCents monthlyFeeCents
  resourcesMonthlyCents childrenForRate tauxEffortPercent reasons recordedAt } }"""
RECORD = """mutation($h: ID!, $input: CrecheResourcesInput!) { recordCrecheResources(householdId: $h, input: $input) {
  id effectiveDate annualResourcesCents dependentChildren aeehChildren source recordedBy } }"""
HISTORY = "query($h: ID!) { crecheFamilyResources(householdId: $h) { effectiveDate annualResourcesCents source recordedBy } }"
DECIDE_URGENT = """mutation($id: ID!) { decideCrecheOccasionalCare(id: $id, accept: true, emergency: true) {
  id status emergency } }"""


async def _contract_march_2025(household, child) -> Contract:
    """The issue's worked example: 01/03/2025, Monday to Friday 08:30-16:30 (40 h), 46 weeks."""
    est = await service.establishment(RIT)
    schedule = rules.normalize_schedule([(d, "08:30", "16:30") for d in range(5)])
    start = date(2025, 3, 1)
    last = await Contract.all().order_by("-number").first()
    return await Contract.create(number=(last.number + 1) if last else 1, establishment=est, household=household, child=child, start_date=start,
                                 schedule=rules.schedule_to_json(schedule), weeks_per_year=46,
                                 status=ContractStatus.SIGNED, **await service._fees(household.id, start, schedule, 46, est))


async def test_monthly_run_bills_september_2025_at_the_new_plafond(gql, mailbox):
    # caf.fr (15/05/2025): the 8 500 € plafond applies from 01/09/2025 « pour tous les contrats, y compris
    # ceux en cours ». 10 000 €/month (120 000 €/year), 1 child: 4,33 €/h -> 5,26 €/h;
    # 40 h × 46 weeks / 12: 663,93 € in August, 806,53 € in September (142,60 € a month more).
    user, household, kids = await make_family("plafond@example.org", children=1)
    household.reference_income_cents = 12_000_000
    await household.save()
    contract = await _contract_march_2025(household, kids[0])
    assert (contract.hourly_fee_cents, contract.monthly_fee_cents) == (433, 66_393)  # at the start
    admin = await gql.as_user(await make_staff("admin@example.org", role="admin"))
    for start, end in (("2025-08-01", "2025-08-31"), ("2025-09-01", "2025-09-30")):
        assert (await admin.ok(RUN, s=start, e=end))["runBilling"]["invoices"] == 1
    fam = await gql.as_user(user)
    invoices = sorted((await fam.ok(MY))["myInvoices"]["items"], key=lambda i: i["periodStart"])
    fees = [[(line["designation"].rsplit(" – ", 1)[-1], line["amountCents"]) for line in inv["lines"]] for inv in invoices]
    assert fees == [[("Mensualisation 08/2025", 66_393)], [("Mensualisation 09/2025", 80_653)]]

    # the family sees why: the fee periods of the contract
    periods = (await fam.ok(PERIODS, id=str(contract.id)))["crecheContractFeePeriods"]
    assert [(p["start"], p["end"], p["hourlyFeeCents"], p["monthlyFeeCents"]) for p in periods] == [
        ("2025-03-01", "2025-08-31", 433, 66_393), ("2025-09-01", None, 526, 80_653)]
    assert periods[1]["resourcesMonthlyCents"] == 850_000 and periods[1]["tauxEffortPercent"] == "0.0619"
    assert "Plafond de ressources CNAF porté à 8" in periods[1]["reasons"][0]
    assert periods[1]["recordedAt"] is None

    # the maintenance tells the family once, and keeps the revision (audit trail)
    assert await service.notify_fee_changes(today()) == 1
    assert await service.notify_fee_changes(today()) == 0
    [(subject, text)] = [m for m in await delivered(mailbox, user.email) if "Révision" in m[0]]
    assert "806,53" in text and "663,93" in text and "01/09/2025" in text and "8\u202f500,00" in text
    change = await FeeChange.get(contract=contract)
    assert (change.start, change.previous_monthly_fee_cents, change.monthly_fee_cents) == (date(2025, 9, 1), 66_393, 80_653)
    assert (await fam.ok(PERIODS, id=str(contract.id)))["crecheContractFeePeriods"][1]["recordedAt"] is not None

    # the contract's PDF lists the revision with its reason
    import io

    import pypdf

    pdf = await fam.download(f"/files/creche_contract/{contract.id}")
    text = "\n".join(page.extract_text() for page in pypdf.PdfReader(io.BytesIO(pdf.content)).pages)
    assert "Révisions de la participation" in text and "01/09/2025" in text and "806,53" in text

    # another family cannot read these periods
    stranger, _, _ = await make_family("autre@example.org", name="MARTIN")
    assert await (await gql.as_user(stranger)).code(PERIODS, id=str(contract.id)) == "NOT_FOUND"


async def test_recorded_resources_revise_the_fee_from_their_date(gql, mailbox):
    # 30 000 €/year (2 500 €/month), 1 child, from 01/09/2025: 1,55 €/h, 40 h × 46 weeks / 12: 237,67 €.
    # January update (revenus 2024: 36 000 €/year = 3 000 €/month): 1,857 -> 1,86 €/h, 285,20 €.
    user, household, kids = await make_family("janvier@example.org", children=1)
    household.reference_income_cents = 3_000_000
    await household.save()
    contract = await _contract_march_2025(household, kids[0])
    agent = await gql.as_user(await make_staff("rit@example.org", services=[RIT]))
    other_agent = await gql.as_user(await make_staff("pap@example.org", services=["creche_petit_a_petit"]))
    fam = await gql.as_user(user)
    good = {"effectiveDate": "2026-01-01", "annualResourcesCents": 3_600_000, "dependentChildren": 1,
            "source": "JANUARY_UPDATE", "comment": "revenus 2024"}

    assert await fam.code(RECORD, h=str(household.id), input=good) == "FORBIDDEN"
    assert await other_agent.code(RECORD, h=str(household.id), input=good) == "NOT_FOUND"
    assert await agent.code(RECORD, h="999999", input=good) == "NOT_FOUND"
    bad_source = await agent.error(RECORD, h=str(household.id), input={**good, "source": "RUMEUR"})
    assert bad_source["extensions"]["code"] == "GRAPHQL_VALIDATION_FAILED"  # a closed set: the schema refuses it
    assert await agent.code(RECORD, h=str(household.id), input={**good, "aeehChildren": 3}) == "INVALID_CHILDREN"
    assert await agent.code(RECORD, h=str(household.id), input={**good, "annualResourcesCents": -1}) == "INVALID_AMOUNT"
    assert await agent.code(RECORD, h=str(household.id), input={**good, "effectiveDate": "9999-12-31"}) == "INVALID_DATE"
    assert await FeeChange.all().count() == 0

    recorded = (await agent.ok(RECORD, h=str(household.id), input=good))["recordCrecheResources"]
    assert (recorded["effectiveDate"], recorded["recordedBy"]) == ("2026-01-01", "rit@example.org")
    periods = (await fam.ok(PERIODS, id=str(contract.id)))["crecheContractFeePeriods"]
    assert [(p["start"], p["hourlyFeeCents"], p["monthlyFeeCents"]) for p in periods] == [
        ("2025-03-01", 155, 23_767), ("2026-01-01", 186, 28_520)]
    assert "Mise à jour annuelle des ressources : revenus 2024" in periods[1]["reasons"]
    texts = [t for s, t in await delivered(mailbox, user.email) if "Révision" in s]
    assert len(texts) == 1 and "285,20" in texts[0] and "revenus 2024" in texts[0]
    history = (await agent.ok(HISTORY, h=str(household.id)))["crecheFamilyResources"]
    assert history == [{"effectiveDate": "2026-01-01", "annualResourcesCents": 3_600_000, "source": "JANUARY_UPDATE",
                        "recordedBy": "rit@example.org"}]
    assert await other_agent.code(HISTORY, h=str(household.id)) == "NOT_FOUND"

    # billed at the new fee from January 2026, the old one before
    admin = await gql.as_user(await make_staff("admin@example.org", role="admin"))
    await admin.ok(RUN, s="2025-12-01", e="2026-01-31")
    amounts = sorted(line["amountCents"] for inv in (await fam.ok(MY))["myInvoices"]["items"] for line in inv["lines"])
    assert amounts == [23_767, 28_520]


async def test_emergency_care_without_resources_is_billed_at_the_plancher(gql):
    # LC CNAF 2014-009 / 2019-005: accueil d'urgence with unknown resources -> plancher (or the manager's
    # fixed fee). 2 children, plancher 2026 814,62 €: 814,62 × 0,000516 = 0,4203 -> 0,42 €/h;
    # the same care not flagged urgent pays the plafond fee 8 500 × 0,000516 = 4,386 -> 4,39 €/h.
    user, household, kids = await family(documents=False)
    household.reference_income_cents = None
    await household.save()
    fam = await gql.as_user(user)
    agent = await gql.as_user(await make_staff("rit@example.org", services=[RIT]))
    day = next_monday()
    while fr_calendar.public_holiday(day):
        day += timedelta(days=7)
    urgent = (await fam.ok(OCCASIONAL, c=str(kids[0].id), s=RIT, d=day.isoformat(), a="09:00", b="11:00"))
    plain = (await fam.ok(OCCASIONAL, c=str(kids[1].id), s=RIT, d=day.isoformat(), a="09:00", b="11:00"))
    assert (await fam.code(DECIDE_URGENT, id=urgent["requestCrecheOccasionalCare"]["id"])) == "FORBIDDEN"
    res = (await agent.ok(DECIDE_URGENT, id=urgent["requestCrecheOccasionalCare"]["id"]))["decideCrecheOccasionalCare"]
    assert (res["status"], res["emergency"]) == ("ACCEPTED", True)
    await agent.ok(DECIDE_OCC, id=plain["requestCrecheOccasionalCare"]["id"], ok=True)
    from core.billing.types import BillingPeriod
    from core.plugins import get_host

    lines = await get_host().invoice_lines(BillingPeriod(day, day), [household.id])
    plancher = rules.plancher_cents(day)
    expected = round(plancher * 0.000516 + 1e-9)  # 42 with the 2026 plancher
    assert sorted((x.designation.split(" ")[0], x.unit_price_cents, x.amount_cents) for x in lines) == sorted([
        ("Accueil", expected, expected * 2), ("Accueil", 439, 878)])
    assert any(x.designation.startswith("Accueil d'urgence") and x.unit_price_cents == expected for x in lines)


async def test_public_holidays_close_the_crèche_with_the_community_subdivision(gql, monkeypatch):
    user, household, kids = await family()
    fam = await gql.as_user(user)
    await signed_contract(household, kids[0], days=(0, 1, 2, 3, 4), start=today() - timedelta(days=400))
    # the next weekday public holiday (metropolitan France) is a closure: no occasional care, no planning
    day = next(d for d in sorted(fr_calendar.public_holidays(today().year + 1) | fr_calendar.public_holidays(today().year))
               if d > today() and d.weekday() < 5)
    assert await fam.code(OCCASIONAL, c=str(kids[1].id), s=RIT, d=day.isoformat(), a="09:00", b="11:00") == \
        "OUTSIDE_OPENING_HOURS"
    plan = (await fam.ok(PLANNING, m=f"{day.year:04d}-{day.month:02d}"))["crechePlanning"]
    status = {d["date"]: d["status"] for d in plan[0]["days"]}
    assert status[day.isoformat()] is None
    agent = await gql.as_user(await make_staff("rit@example.org", services=[RIT]))
    assert (await agent.ok(DAILY, s=RIT, d=day.isoformat()))["crecheDailyAttendance"] == []
    week_before = day - timedelta(days=7)
    while fr_calendar.public_holiday(week_before):
        week_before -= timedelta(days=7)
    assert len((await agent.ok(DAILY, s=RIT, d=week_before.isoformat()))["crecheDailyAttendance"]) == 1
    # Alsace-Moselle ("57"): Good Friday is closed too (Code du travail L3134-13)
    good_friday = next(d for d, name in sorted(fr_calendar.public_holidays(today().year + 1, "57").items())
                       if name == "Vendredi saint")
    free_day = (await fam.ok(PLANNING, m=f"{good_friday.year:04d}-{good_friday.month:02d}"))["crechePlanning"]
    assert {d["date"]: d["status"] for d in free_day[0]["days"]}[good_friday.isoformat()] is not None
    settings = core_config.get_settings()
    monkeypatch.setattr(core_config, "_active", replace(settings, community=replace(settings.community,
                                                                                      holiday_subdivision="57")))
    assert await fam.code(OCCASIONAL, c=str(kids[1].id), s=RIT, d=good_friday.isoformat(), a="09:00", b="11:00") == \
        "OUTSIDE_OPENING_HOURS"
    alsace = (await fam.ok(PLANNING, m=f"{good_friday.year:04d}-{good_friday.month:02d}"))["crechePlanning"]
    assert {d["date"]: d["status"] for d in alsace[0]["days"]}[good_friday.isoformat()] is None


async def test_eviction_by_the_doctor_is_deducted(gql):
    from tests.creche.test_api import ABSENCE, VALIDATE_ABS

    user, household, kids = await family()
    await signed_contract(household, kids[0])
    fam = await gql.as_user(user)
    agent = await gql.as_user(await make_staff("rit@example.org", services=[RIT]))
    t = today()
    absence = (await fam.ok(ABSENCE, input={"startTime": "09:15", "endTime": "17:15", "motive": "EVICTION",
                                            "childIds": [str(kids[0].id)], "fromDate": t.isoformat(),
                                            "toDate": t.isoformat()}))["reportCrecheAbsence"][0]
    assert (await agent.ok(VALIDATE_ABS, id=absence["id"], ok=True))["validateCrecheAbsence"]["deductible"] is True


async def test_fee_notice_maintenance_queries_do_not_grow_with_contracts(settings):
    from tests.querycount import count_queries

    for i in range(4):
        _, household, kids = await make_family(f"q{i}@example.org", name=f"Q{i}", children=1)
        household.reference_income_cents = 12_000_000
        await household.save()
        await _contract_march_2025(household, kids[0])
        if i == 0:
            assert await service.notify_fee_changes(today()) == 1
            with count_queries() as one:
                assert await service.notify_fee_changes(today()) == 0
    assert await service.notify_fee_changes(today()) == 3
    with count_queries() as four:
        assert await service.notify_fee_changes(today()) == 0
    assert four.count == one.count, four.statements
