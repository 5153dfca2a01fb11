"""Issue 14 races of the ALSH staff side, through the real app on PostgreSQL: a day closed while families
book it, and two units created with one code at once."""

from __future__ import annotations

import asyncio
import random

from core.households.models import Child
from plugins.alsh_paj.models import (
    AlshBookingLine,
    AlshClosedDay,
    AlshDayCounter,
    AlshUnit,
    LineState,
)
from tests.alsh_paj.conftest import complete_file, make_family, make_setup
from tests.alsh_paj.test_booking import SUBMIT, sel
from tests.alsh_paj.test_concurrency import outcome, postgres_only
from tests.conftest import make_staff

CLOSE = """mutation($e: ID!, $d: Date!) { addAlshPajClosedDay(establishmentId: $e, date: $d) { id } }"""
UNIT = """mutation($i: AlshPajUnitInput!) { createAlshPajUnit(input: $i) { id code } }"""


@postgres_only
async def test_closing_a_day_while_families_book_it_never_leaves_children_on_a_closed_day(gql):
    """Before: the closing checked « no booking » and the bookings checked « open » outside their write
    transactions, so both could pass: a closed day with children booked on it."""
    setup = await make_setup(capacity=5, auto_accept=True, weeks=12)
    user, household, _ = await make_family(children=0)
    kids = [await Child.create(household=household, first_name=f"E{i}", last_name="DUPONT",
                               birth_date=setup.wednesdays[0].replace(year=setup.wednesdays[0].year - 6))
            for i in range(8)]
    await complete_file(household, kids)
    family = await gql.as_user(user)
    staff = await gql.as_user(await make_staff(services=["alsh"]))
    closed_rounds = refused_rounds = 0
    for day in setup.wednesdays[1:7]:
        calls = [("close", staff.execute(CLOSE, {"e": setup.establishment.id, "d": day.isoformat()}))]
        calls += [("book", family.execute(SUBMIT, {"c": k.id, "p": setup.period.id, "s": [sel(day, setup.day)]}))
                  for k in kids]
        random.shuffle(calls)
        results = await asyncio.gather(*(call for _, call in calls))
        outcomes = {kind: [outcome(r) for (k, _), r in zip(calls, results, strict=True) if k == kind]
                    for kind in ("close", "book")}
        assert set(outcomes["book"]) <= {"ok", "DAY_NOT_BOOKABLE"}, outcomes
        active = await AlshBookingLine.filter(date=day, state__in=LineState.ACTIVE).count()
        is_closed = await AlshClosedDay.exists(establishment_id=setup.establishment.id, date=day)
        if outcomes["close"] == ["ok"]:
            closed_rounds += 1
            assert is_closed and active == 0, (day, outcomes)
        else:
            refused_rounds += 1
            assert outcomes["close"] == ["DAY_HAS_BOOKINGS"] and not is_closed and active >= 1, (day, outcomes)
        assert active == outcomes["book"].count("ok")
        taken = (await AlshDayCounter.get(unit_id=setup.day.id, date=day)).taken
        assert taken == min(active, 5)
    assert closed_rounds + refused_rounds == 6


@postgres_only
async def test_units_created_with_one_code_at_once_give_one_unit_and_duplicate_code(gql):
    setup = await make_setup()
    staff = await gql.as_user(await make_staff(services=["alsh"]))
    unit = {"periodId": str(setup.period.id), "code": "sortie", "name": "SORTIE PLAGE", "capacity": 8}
    results = await asyncio.gather(*(staff.execute(UNIT, {"i": unit}) for _ in range(12)))
    outcomes = sorted(outcome(r) for r in results)
    assert outcomes == ["DUPLICATE_CODE"] * 11 + ["ok"], outcomes
    assert await AlshUnit.filter(period_id=setup.period.id, code="SORTIE").count() == 1
    errors = [r["errors"][0] for r in results if r.get("errors")]
    assert all(e["extensions"] == {"code": "DUPLICATE_CODE", "field": "code"} for e in errors)
