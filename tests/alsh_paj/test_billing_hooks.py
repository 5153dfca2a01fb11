"""Billing hook (accepted days × tariff by QF, less justified absences and timely cancellations),
alerts, RGPD export / erasure and demo data."""

from __future__ import annotations

from datetime import date, datetime, timedelta

from core.billing.types import BillingPeriod
from core.documents.models import Document
from core.files.models import StoredFile
from core.households.models import Child, Household
from core.timeutil import PARIS, today
from plugins.alsh_paj.models import AlshBooking, AlshBookingLine, AlshChildLink, AlshEstablishment
from tests.alsh_paj.conftest import make_family, make_setup
from tests.querycount import count_queries

MARCH = BillingPeriod(date(2023, 3, 1), date(2023, 3, 31))
WEDNESDAYS = [date(2023, 3, 1), date(2023, 3, 8), date(2023, 3, 15), date(2023, 3, 22), date(2023, 3, 29)]


async def _line(booking: AlshBooking, unit, day: date, state: str = "acceptee", **kw) -> AlshBookingLine:
    return await AlshBookingLine.create(booking=booking, unit=unit, date=day, state=state, **kw)


async def _family_with_booking(setup, email: str, qf: int | None, number: int):
    _, household, kids = await make_family(email, children=1, name=email.split("@")[0].upper(), quotient_familial=qf)
    booking = await AlshBooking.create(number=number, household=household, child=kids[0], period=setup.period)
    return household, kids[0], booking


async def test_invoice_lines_by_qf_less_justified_absences_and_timely_cancellations(host):
    setup = await make_setup(name="MERCREDI FEV MARS AVRIL 2023 FILOUS FUTES")
    household, child, booking = await _family_with_booking(setup, "qf@example.org", 800, 1)
    w = WEDNESDAYS
    billed = await _line(booking, setup.day, w[0])
    await _line(booking, setup.day, w[1], "en_attente")  # not accepted: not billed
    await _line(booking, setup.day, w[2], "annulee", cancelled_in_time=True)  # timely cancellation
    late = await _line(booking, setup.day, w[3], "annulee", cancelled_in_time=False)  # late: billed
    await _line(booking, setup.day, w[4], present=False, absence_justified=True)  # staff flag
    justified_by_doc = await _line(booking, setup.morning, w[1], present=False)
    too_late_doc = await _line(booking, setup.morning, w[3], present=False)
    stored = await StoredFile.create(stored_name="x1", original_filename="certificat.pdf", content_type="application/pdf",
                                     size=10, sha256="0" * 64, household=household)
    doc = await Document.create(household=household, child=child, type_code="justificatif_absence", file=stored)
    await Document.filter(id=doc.id).update(uploaded_at=datetime(2023, 3, 10, 9, 0, tzinfo=PARIS))  # 2 days after 08/03

    no_qf, child2, booking2 = await _family_with_booking(setup, "sansqf@example.org", None, 2)
    await _line(booking2, setup.day, w[0])
    outside, _, booking3 = await _family_with_booking(setup, "autre@example.org", 500, 3)
    await _line(booking3, setup.day, w[0])  # household not in the batch

    lines = await host.invoice_lines(MARCH, [household.id, no_qf.id])
    by_key = {line.source_key: line for line in lines if line.source_key.startswith("alsh:")}
    assert set(by_key) == {f"alsh:line:{billed.id}", f"alsh:line:{late.id}", f"alsh:line:{too_late_doc.id}",
                           f"alsh:line:{(await AlshBookingLine.get(booking=booking2)).id}"}
    assert f"alsh:line:{justified_by_doc.id}" not in by_key
    first = by_key[f"alsh:line:{billed.id}"]
    assert first.household_id == household.id and first.child_id == child.id
    assert first.unit_price_cents == 1100 and first.amount_cents == 1100 and first.quantity == "1"  # QF 800
    assert first.designation.startswith("MERCREDIS JOURNEE AVEC REPAS")
    assert first.establishment == "ALSH BRAUD ET ST LOUIS / MERCREDIS / MERCREDI FEV MARS AVRIL 2023 FILOUS FUTES"
    assert first.regie_code == "cdc" and first.service_code == "alsh"
    # Accueil de loisirs is childcare for the tax credit; a unit without meal_cents counts whole.
    assert first.childcare_tax_credit and first.care_nature == "Accueil de loisirs périscolaire"
    assert first.tax_credit_cents == 1100
    assert by_key[f"alsh:line:{too_late_doc.id}"].unit_price_cents == 500  # flat grid
    no_qf_line = next(line for line in by_key.values() if line.household_id == no_qf.id)
    assert no_qf_line.unit_price_cents == 1300  # no QF: maximum tariff
    # stable across runs
    again = await host.invoice_lines(MARCH, [household.id, no_qf.id])
    assert sorted(line.source_key for line in again) == sorted(line.source_key for line in lines)


async def test_invoice_lines_queries_do_not_grow_with_households(host):
    setup = await make_setup()
    ids = []
    for i in range(2):
        household, _, booking = await _family_with_booking(setup, f"f{i}@example.org", 800, i + 1)
        await _line(booking, setup.day, WEDNESDAYS[0], present=False)
        ids.append(household.id)
    with count_queries() as small:
        await host.invoice_lines(MARCH, ids)
    for i in range(2, 8):
        household, _, booking = await _family_with_booking(setup, f"f{i}@example.org", 800, i + 1)
        await _line(booking, setup.day, WEDNESDAYS[1], present=False)
        ids.append(household.id)
    with count_queries() as big:
        lines = await host.invoice_lines(MARCH, ids)
    assert len([line for line in lines if line.source_key.startswith("alsh:")]) == 8
    assert big.count == small.count


async def test_alerts_rgpd_export_and_erase(host):
    setup = await make_setup()
    household, child, booking = await _family_with_booking(setup, "rgpd@example.org", 800, 7)
    past = await _line(booking, setup.day, WEDNESDAYS[0], reason="note")
    await _line(booking, setup.day, setup.wednesdays[1], "en_attente", holds_place=True)
    await _line(booking, setup.morning, setup.wednesdays[2], "liste_attente")
    _, other, _ = await make_family("pere@example.org", children=0, name="PERE")
    await AlshChildLink.create(child=child, household=other)

    from core.permissions import Actor

    alerts = await host.alerts(Actor.anonymous(), household.id)
    assert {a.code: a.count for a in alerts if a.code.startswith("alsh")} == {"alsh_pending": 1,
                                                                              "alsh_waiting_list": 1}
    export = await host.rgpd_export(household.id)
    assert export["alsh_paj"]["bookings"][0]["number"] == "00007"
    assert len(export["alsh_paj"]["bookings"][0]["lines"]) == 3

    await host.rgpd_erase(other.id)
    assert not await AlshChildLink.exists(child=child)
    await host.rgpd_erase(household.id)
    remaining = await AlshBookingLine.filter(booking__household_id=household.id)
    assert [line.id for line in remaining] == [past.id] and remaining[0].reason == ""  # kept for invoices


async def test_demo_data(host, settings):
    from core.demo import load_core_demo
    from plugins.alsh_paj.service import create_demo

    await load_core_demo(settings, today())
    await create_demo(today())
    assert await AlshEstablishment.filter(name="ALSH BRAUD ET ST LOUIS").exists()
    cce = await Household.get(name="CCE")
    junior = await Child.get(household=cce, first_name="Junior")
    booking = await AlshBooking.get(child=junior).prefetch_related("lines")
    assert booking.lines and booking.period_id  # type: ignore[attr-defined]
    await create_demo(today())  # idempotent
    assert await AlshBooking.all().count() == 1
    assert today() - timedelta(days=30) < booking.lines[0].date


async def test_past_undecided_requests_expire(gql):
    from plugins.alsh_paj.models import AlshDayCounter
    from plugins.alsh_paj.service import expire_past_requests

    setup = await make_setup()
    household, child, booking = await _family_with_booking(setup, "exp@example.org", 800, 9)
    yesterday = today() - timedelta(days=1)
    await AlshDayCounter.create(unit=setup.day, date=yesterday, capacity=10, taken=1)
    pending = await _line(booking, setup.day, yesterday, "en_attente", holds_place=True)
    accepted = await _line(booking, setup.morning, yesterday, "acceptee", holds_place=True)
    user = await household.members.all().first()
    g = await gql.as_user(user)
    data = await g.ok("""query($id: ID!) { alshPajBooking(id: $id) { number lines { id state stateLabel } } }""",
                      id=booking.id)
    assert {line["state"] for line in data["alshPajBooking"]["lines"]} == {"EXPIRED", "ACCEPTED"}
    # the hourly maintenance hook (server worker and `portail maintenance`) runs it
    from core.plugins import get_host

    assert (await get_host().maintenance(today()))["alsh_lines_expired"] == 1
    assert await expire_past_requests() == 0  # idempotent
    assert (await AlshBookingLine.get(id=pending.id)).state == "expiree"
    assert (await AlshBookingLine.get(id=accepted.id)).state == "acceptee"
    assert (await AlshDayCounter.get(unit=setup.day, date=yesterday)).taken == 0
    _, _, _ = await make_family("x@example.org", children=0, name="X")
    other = await gql.as_user(await (await Household.get(name="X")).members.all().first())
    assert await other.code("""query($id: ID!) { alshPajBooking(id: $id) { number } }""", id=booking.id) == "NOT_FOUND"
