"""Bookings under concurrent requests, through the real app on PostgreSQL: no overbooking, one
active line per (child, day, unit), the exclusive units, and the same error as one request at a time."""

from __future__ import annotations

import asyncio
import os

import pytest
from tortoise.exceptions import IntegrityError

from core.households.models import Child
from core.permissions import Actor
from plugins.alsh_paj import rules, service
from plugins.alsh_paj.models import AlshBooking, AlshBookingLine, AlshDayCounter, LineState
from tests.alsh_paj.conftest import complete_file, make_family, make_setup
from tests.alsh_paj.test_booking import CANCEL, COPY, SUBMIT, sel

postgres_only = pytest.mark.skipif(not os.environ.get("DATABASE_URL", "").startswith("postgres"),
                                   reason="row locking is proved on PostgreSQL (SQLite serialises writers anyway)")


def outcome(result: dict) -> str:
    """"ok" or the error code of one GraphQL answer."""
    return result["errors"][0]["extensions"]["code"] if result.get("errors") else "ok"


@postgres_only
async def test_hundred_concurrent_requests_for_ten_places(settings):
    setup = await make_setup(capacity=10, auto_accept=True)
    day = setup.wednesdays[1]
    user, household, _ = await make_family(children=0)
    kids = [await Child.create(household=household, first_name=f"E{i}", last_name="DUPONT",
                               birth_date=day.replace(year=day.year - 6)) for i in range(100)]
    await complete_file(household, kids)
    actor = Actor.for_user(user)

    async def book(child: Child) -> str:
        booking = await service.submit(actor, child.id, setup.period.id, [service.Selection(day, setup.day.id)])
        return (await AlshBookingLine.get(booking_id=booking.id)).state

    states = await asyncio.gather(*(book(k) for k in kids))
    assert states.count("acceptee") == 10
    assert states.count("liste_attente") == 90
    assert (await AlshDayCounter.get(unit_id=setup.day.id, date=day)).taken == 10
    numbers = await AlshBooking.all().values_list("number", flat=True)
    assert sorted(numbers) == list(range(1, 101))  # one number each, no duplicate


@postgres_only
async def test_hundred_identical_requests_for_one_child_book_it_once(gql):
    """Issue 10.3: 100 identical submitAlshPajBooking for one child gave 26 bookings."""
    setup = await make_setup(capacity=10)
    day = setup.wednesdays[1]
    user, _, kids = await make_family(children=1)
    g = await gql.as_user(user)
    sequential = await g.execute(SUBMIT, {"c": kids[0].id, "p": setup.period.id, "s": [sel(day, setup.day)]})
    assert outcome(sequential) == "ok"
    again = await g.execute(SUBMIT, {"c": kids[0].id, "p": setup.period.id, "s": [sel(day, setup.day)]})
    assert outcome(again) == "ALREADY_BOOKED"
    await AlshBookingLine.all().delete()
    await AlshBooking.all().delete()
    await AlshDayCounter.filter(unit_id=setup.day.id, date=day).update(taken=0)

    results = await asyncio.gather(*(g.execute(SUBMIT, {"c": kids[0].id, "p": setup.period.id,
                                                        "s": [sel(day, setup.day)]}) for _ in range(100)))
    outcomes = [outcome(r) for r in results]
    assert outcomes.count("ok") == 1
    assert outcomes.count("ALREADY_BOOKED") == 99  # the same code as one request at a time, never a 500
    assert await AlshBooking.filter(child_id=kids[0].id).count() == 1
    assert await AlshBookingLine.filter(booking__child_id=kids[0].id, date=day).count() == 1
    assert (await AlshDayCounter.get(unit_id=setup.day.id, date=day)).taken == 1


@postgres_only
async def test_concurrent_exclusive_units_keep_one(gql):
    """JOURNEE excludes MATIN: 30 requests at once, half for each, leave one line for the day."""
    setup = await make_setup(capacity=50)
    day = setup.wednesdays[1]
    user, _, kids = await make_family(children=1)
    g = await gql.as_user(user)
    units = [setup.day if i % 2 else setup.morning for i in range(30)]
    results = await asyncio.gather(*(g.execute(SUBMIT, {"c": kids[0].id, "p": setup.period.id, "s": [sel(day, u)]})
                                     for u in units))
    outcomes = [outcome(r) for r in results]
    assert outcomes.count("ok") == 1
    assert set(outcomes) - {"ok"} <= {"ALREADY_BOOKED", "UNIT_EXCLUDED"}
    assert await AlshBookingLine.filter(booking__child_id=kids[0].id, date=day).count() == 1
    counters = await AlshDayCounter.filter(date=day, unit_id__in=[setup.day.id, setup.morning.id])
    assert sum(c.taken for c in counters) == 1


@postgres_only
async def test_concurrent_copies_for_two_children_book_each_day_once(gql):
    setup = await make_setup(capacity=50)
    days = setup.wednesdays[1:4]
    user, _, kids = await make_family(children=2)
    g = await gql.as_user(user)
    copy = {"input": {"childId": str(kids[0].id), "periodId": str(setup.period.id),
                      "selections": [sel(days[0], setup.day)], "rangeStart": days[0].isoformat(),
                      "rangeEnd": days[-1].isoformat(), "targetChildIds": [str(k.id) for k in kids]}}
    results = await asyncio.gather(*(g.execute(COPY, copy) for _ in range(30)))
    outcomes = [outcome(r) for r in results]
    assert outcomes.count("ok") == 1 and outcomes.count("ALREADY_BOOKED") == 29
    for kid in kids:
        assert await AlshBookingLine.filter(booking__child_id=kid.id).count() == len(days)


async def test_database_refuses_a_second_active_line_and_frees_the_key_on_cancel(gql):
    """The unique key is structural (SQLite too); a cancelled line lets the day be booked again."""
    setup = await make_setup(capacity=10, cancel_days_before=0)
    day = setup.wednesdays[1]
    user, _, kids = await make_family(children=1)
    g = await gql.as_user(user)
    booking = (await g.ok(SUBMIT, c=kids[0].id, p=setup.period.id, s=[sel(day, setup.day)]))["submitAlshPajBooking"]
    line = await AlshBookingLine.get(id=booking["lines"][0]["id"])
    assert line.active_key == rules.active_key(kids[0].id, day, setup.day.id)
    with pytest.raises(IntegrityError):
        await AlshBookingLine.create(booking_id=line.booking_id, unit_id=setup.day.id, date=day,  # type: ignore[attr-defined]
                                     state=LineState.EN_ATTENTE, active_key=line.active_key)
    assert (await g.ok(CANCEL, ids=[line.id]))["cancelAlshPajLines"][0]["state"] == "CANCELLED"
    assert (await AlshBookingLine.get(id=line.id)).active_key is None
    again = (await g.ok(SUBMIT, c=kids[0].id, p=setup.period.id, s=[sel(day, setup.day)]))["submitAlshPajBooking"]
    assert again["lines"][0]["state"] == "PENDING"
