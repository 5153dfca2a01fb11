"""Staff set-up through HTTP: establishment, mode, period, units, capacity, closed days."""

from __future__ import annotations

from datetime import timedelta

from core.timeutil import now, today
from plugins.alsh_paj.models import AlshBookingLine, AlshDayCounter, AlshEstablishment
from tests.alsh_paj.conftest import make_family, make_setup, next_wednesdays
from tests.alsh_paj.test_booking import DAYS, SUBMIT, sel
from tests.conftest import make_staff

EST = """mutation($n: String!, $s: String!) { createAlshPajEstablishment(name: $n, serviceCode: $s) { id name serviceCode } }"""
MODE = """mutation($e: ID!, $n: String!) { createAlshPajMode(establishmentId: $e, name: $n) { id kind kindLabel } }"""
PERIOD = """mutation($i: AlshPajPeriodInput!) { createAlshPajPeriod(input: $i) { id name establishment mode cancellationRule } }"""
UNIT = """mutation($i: AlshPajUnitInput!) { createAlshPajUnit(input: $i) { id code name capacity tariffMethod } }"""
CAPACITY = """mutation($u: ID!, $c: Int!) { setAlshPajUnitCapacity(unitId: $u, capacity: $c) { capacity } }"""
CLOSE = """mutation($e: ID!, $d: Date!) { addAlshPajClosedDay(establishmentId: $e, date: $d, label: "Fermeture") { date label } }"""
ESTABLISHMENTS = "{ alshPajEstablishments { name serviceCode kind } }"


async def test_staff_builds_a_period_that_families_book(gql):
    staff = await gql.as_user(await make_staff(services=["alsh"]))
    jeunesse = await gql.as_user(await make_staff("j@example.org", services=["jeunesse"]))
    assert await staff.code(EST, n="PAJ", s="jeunesse") == "FORBIDDEN"
    assert (await staff.error(EST, n="X", s="inconnu"))["extensions"] == {"code": "UNKNOWN_SERVICE",
                                                                          "field": "serviceCode"}
    est = (await staff.ok(EST, n="ALSH BRAUD ET ST LOUIS", s="alsh"))["createAlshPajEstablishment"]
    await jeunesse.ok(EST, n="PAJ LATRESNE", s="jeunesse")
    assert (await staff.ok(ESTABLISHMENTS))["alshPajEstablishments"] == [{"name": "ALSH BRAUD ET ST LOUIS",
                                                                       "serviceCode": "alsh", "kind": "ALSH"}]
    assert await jeunesse.code(MODE, e=est["id"], n="MERCREDIS") == "NOT_FOUND"
    mode = (await staff.ok(MODE, e=est["id"], n="MERCREDIS"))["createAlshPajMode"]
    assert (mode["kind"], mode["kindLabel"]) == ("WEDNESDAYS", "Mercredis")
    mode_id = mode["id"]

    base = {"modeId": mode_id, "name": "Mercredis Avril Mai", "startDate": today().isoformat(),
            "endDate": (today() + timedelta(weeks=6)).isoformat(), "opensAt": (now() - timedelta(hours=1)).isoformat(),
            "closesAt": (now() + timedelta(days=7)).isoformat(), "weekdays": [3], "cancelWorkingDays": True,
            "minAge": 2}
    bad = await staff.error(PERIOD, i={**base, "endDate": (today() - timedelta(days=1)).isoformat()})
    assert bad["extensions"] == {"code": "INVALID_RANGE", "field": "endDate"}
    bad = await staff.error(PERIOD, i={**base, "cancelTime": "midi"})
    assert bad["extensions"] == {"code": "INVALID_TIME", "field": "cancelTime"}
    bad = await staff.error(PERIOD, i={**base, "weekdays": [9]})
    assert bad["extensions"] == {"code": "INVALID_WEEKDAY", "field": "weekdays"}
    period = (await staff.ok(PERIOD, i=base))["createAlshPajPeriod"]
    assert period["cancellationRule"] == "2 jour(s) ouvré(s) avant à 12:00"

    unit_input = {"periodId": period["id"], "code": "journee_repas", "name": "MERCREDI JOURNEE AVEC REPAS",
                  "capacity": 1, "tariff": {"method": "FLAT", "flatCents": 1300}}
    bad = await staff.error(UNIT, i={**unit_input, "tariff": {"method": "QF_BRACKETS", "brackets": []}})
    assert bad["extensions"] == {"code": "INVALID_TARIFF", "field": "tariff"}
    assert await jeunesse.code(UNIT, i=unit_input) == "NOT_FOUND"
    unit = (await staff.ok(UNIT, i=unit_input))["createAlshPajUnit"]
    assert (unit["code"], unit["tariffMethod"]) == ("JOURNEE_REPAS", "FLAT")
    assert (await staff.error(UNIT, i=unit_input))["extensions"]["code"] == "DUPLICATE_CODE"

    # two families, one place: the second waits, then the capacity grows and it is accepted
    w = next_wednesdays(2)[1]
    users = [await make_family(f"f{i}@example.org", children=1, name=f"F{i}") for i in range(2)]
    states = []
    for user, _, kids in users:
        g = await gql.as_user(user)
        b = (await g.ok(SUBMIT, c=kids[0].id, p=period["id"], s=[{"date": w.isoformat(), "unitId": unit["id"]}]))
        states.append(b["submitAlshPajBooking"]["lines"][0]["state"])
    assert states == ["PENDING", "WAITING_LIST"]
    assert await jeunesse.code(CAPACITY, u=unit["id"], c=5) == "NOT_FOUND"
    await staff.ok(CAPACITY, u=unit["id"], c=5)
    assert sorted(await AlshBookingLine.all().values_list("state", flat=True)) == ["acceptee", "en_attente"]
    assert (await AlshDayCounter.get(unit_id=int(unit["id"]), date=w)).taken == 2


async def test_closed_day_leaves_the_calendar(gql):
    setup = await make_setup()
    staff = await gql.as_user(await make_staff(services=["alsh"]))
    user, _, kids = await make_family(children=1)
    g = await gql.as_user(user)
    w1, w2 = setup.wednesdays[1], setup.wednesdays[2]
    await g.ok(SUBMIT, c=kids[0].id, p=setup.period.id, s=[sel(w1, setup.day)])
    assert (await staff.error(CLOSE, e=setup.establishment.id, d=w1.isoformat()))["extensions"] == {
        "code": "DAY_HAS_BOOKINGS", "field": "date", "affectedLineCount": 1}
    closed = (await staff.ok(CLOSE, e=setup.establishment.id, d=w2.isoformat()))["addAlshPajClosedDay"]
    assert closed == {"date": w2.isoformat(), "label": "Fermeture"}
    days = {d["date"]: d for d in (await g.ok(DAYS, c=kids[0].id, p=setup.period.id))["alshPajPeriodDays"]}
    assert days[w2.isoformat()]["isOpen"] is False and days[w2.isoformat()]["closedLabel"] == "Fermeture"
    assert await g.code(SUBMIT, c=kids[0].id, p=setup.period.id, s=[sel(w2, setup.day)]) == "DAY_NOT_BOOKABLE"
    assert await g.code(CLOSE, e=setup.establishment.id, d=w2.isoformat()) == "FORBIDDEN"
    assert await AlshEstablishment.all().count() == 1
