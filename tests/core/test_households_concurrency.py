"""Household and crèche attendance writes that create a row on first use, under concurrent requests
through the real app (PostgreSQL): one row, the others update it, no INTERNAL_SERVER_ERROR."""

from __future__ import annotations

import asyncio
import os

import pytest

from core.households.models import Responsable
from core.plugins import get_host
from tests.conftest import make_family, make_staff
from tests.core.test_households import SAVE_OTHER

pytestmark = pytest.mark.skipif(not os.environ.get("DATABASE_URL", "").startswith("postgres"),
                                reason="row locking is proved on PostgreSQL")


def codes(results: list[dict]) -> list[str]:
    return [r["errors"][0]["extensions"]["code"] if r.get("errors") else "ok" for r in results]


async def test_parallel_saves_of_the_other_responsable_make_one(gql):
    user, household, _ = await make_family()
    fam = await gql.as_user(user)
    results = await asyncio.gather(*(fam.execute(SAVE_OTHER, {"input": {"firstName": "Patrice", "lastName": f"T{i}"}})
                                     for i in range(20)))
    assert codes(results) == ["ok"] * 20
    assert await Responsable.filter(household_id=household.id, rank=2).count() == 1


async def test_parallel_attendance_recordings_make_one_row(gql):
    if "creche" not in get_host().plugin_names():
        pytest.skip("creche plugin off")
    from plugins.creche.models import Attendance
    from tests.creche.test_api import ATTEND, RIT
    from tests.creche.test_staff_journeys import past_open_day

    agent = await gql.as_user(await make_staff("rit@example.org", services=[RIT]))
    _, _, kids = await make_family()
    day = past_open_day().isoformat()  # attendance is recorded for a day that has happened
    results = await asyncio.gather(*(agent.execute(ATTEND, {"c": str(kids[0].id), "s": RIT, "d": day,
                                                            "a": f"08:{i:02}", "b": None}) for i in range(20)))
    assert codes(results) == ["ok"] * 20
    assert await Attendance.filter(child_id=kids[0].id).count() == 1
