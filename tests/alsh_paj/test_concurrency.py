"""No overbooking: 100 simultaneous requests for the last 10 places accept exactly 10 (PostgreSQL)."""

from __future__ import annotations

import asyncio

import pytest

from core.households.models import Child
from core.permissions import Actor
from plugins.alsh_paj import service
from plugins.alsh_paj.models import AlshBooking, AlshBookingLine, AlshDayCounter
from tests.alsh_paj.conftest import complete_file, make_family, make_setup


async def test_hundred_concurrent_requests_for_ten_places(settings):
    if not settings.database_url.startswith("postgres"):
        pytest.skip("row locking is proved on PostgreSQL (SQLite serialises writers anyway)")
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
