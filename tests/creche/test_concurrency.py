"""Crèche check-then-insert rules under concurrent requests through the real app (PostgreSQL):
one open request per child and crèche, occasional care within capacity, one contract at a time.
The sequential cases run everywhere and give the same error codes."""

from __future__ import annotations

import asyncio
import os

import pytest

from plugins.creche import service
from plugins.creche.models import Contract, OccasionalCare, PlaceRequest, RequestStatus
from tests.conftest import make_staff
from tests.creche.test_api import (
    CREATE,
    DECIDE_OCC,
    ESTABLISH,
    OCCASIONAL,
    RIT,
    SUBMIT,
    family,
    next_monday,
)

postgres_only = pytest.mark.skipif(not os.environ.get("DATABASE_URL", "").startswith("postgres"),
                                   reason="row locking is proved on PostgreSQL")
SCHEDULE = [{"weekday": d, "arrival": "09:15", "departure": "17:15"} for d in (1, 2, 4, 5)]


def codes(results: list[dict]) -> list[str]:
    return [r["errors"][0]["extensions"]["code"] if r.get("errors") else "ok" for r in results]


def request_input(child_id: int, services: list[str] | None = None) -> dict:
    return {"input": {"childId": str(child_id), "serviceCodes": services or [RIT],
                      "startDate": next_monday().isoformat(), "daysPerWeek": 4, "hoursPerWeek": "32"}}


async def accepted_request(household, child) -> PlaceRequest:
    return await PlaceRequest.create(household=household, child=child, wished_services=[RIT],
                                     start_date=next_monday(), days_per_week=4, hours_per_week=32,
                                     status=RequestStatus.ACCEPTED, establishment=await service.establishment(RIT))


async def test_one_open_request_per_child_and_creche(gql):
    user, _, kids = await family()
    fam = await gql.as_user(user)
    await fam.ok(SUBMIT, **request_input(kids[0].id))
    again = await fam.error(SUBMIT, **request_input(kids[0].id, [RIT, "creche_petit_a_petit"]))
    assert again["extensions"] == {"code": "REQUEST_EXISTS", "field": "serviceCodes", "serviceCodes": [RIT]}
    await fam.ok(SUBMIT, **request_input(kids[0].id, ["creche_petit_a_petit"]))  # another crèche
    await fam.ok(SUBMIT, **request_input(kids[1].id))  # another child


@postgres_only
async def test_thirty_identical_requests_make_one(gql):
    user, _, kids = await family()
    fam = await gql.as_user(user)
    results = await asyncio.gather(*(fam.execute(SUBMIT, request_input(kids[0].id)) for _ in range(30)))
    outcome = codes(results)
    assert outcome.count("ok") == 1 and outcome.count("REQUEST_EXISTS") == 29
    assert await PlaceRequest.filter(child_id=kids[0].id).count() == 1


@postgres_only
async def test_parallel_acceptances_of_occasional_care_respect_capacity(gql):
    agent = await gql.as_user(await make_staff("rit@example.org", services=[RIT]))
    await agent.ok(ESTABLISH, s=RIT, cap=2)
    day = next_monday().isoformat()
    ids = []
    for i in range(12):
        user, _, kids = await family(f"f{i}@example.org", name=f"F{i}", children=1)
        answer = await (await gql.as_user(user)).ok(OCCASIONAL, c=str(kids[0].id), s=RIT, d=day, a="09:00", b="12:00")
        ids.append(answer["requestCrecheOccasionalCare"]["id"])
    results = await asyncio.gather(*(agent.execute(DECIDE_OCC, {"id": i, "ok": True}) for i in ids))
    outcome = codes(results)
    assert outcome.count("ok") == 2 and outcome.count("CAPACITY_FULL") == 10
    assert await OccasionalCare.filter(status="accepted").count() == 2


@postgres_only
async def test_parallel_decisions_on_one_occasional_care_apply_once(gql):
    agent = await gql.as_user(await make_staff("rit@example.org", services=[RIT]))
    user, _, kids = await family()
    answer = await (await gql.as_user(user)).ok(OCCASIONAL, c=str(kids[0].id), s=RIT, d=next_monday().isoformat(),
                                                a="09:00", b="12:00")
    occ_id = answer["requestCrecheOccasionalCare"]["id"]
    results = await asyncio.gather(*(agent.execute(DECIDE_OCC, {"id": occ_id, "ok": True}) for _ in range(20)))
    assert sorted(codes(results)) == ["ALREADY_DECIDED"] * 19 + ["ok"]


async def test_one_occasional_request_per_child_and_slot(gql):
    user, _, kids = await family()
    fam = await gql.as_user(user)
    day = next_monday().isoformat()
    await fam.ok(OCCASIONAL, c=str(kids[0].id), s=RIT, d=day, a="09:00", b="12:00")
    overlapping = await fam.error(OCCASIONAL, c=str(kids[0].id), s=RIT, d=day, a="11:00", b="13:00")
    assert overlapping["extensions"] == {"code": "OCCASIONAL_EXISTS", "field": "startTime"}
    await fam.ok(OCCASIONAL, c=str(kids[0].id), s=RIT, d=day, a="14:00", b="16:00")


@postgres_only
async def test_identical_occasional_requests_in_parallel_make_one(gql):
    user, _, kids = await family()
    fam = await gql.as_user(user)
    variables = {"c": str(kids[0].id), "s": RIT, "d": next_monday().isoformat(), "a": "09:00", "b": "12:00"}
    outcome = codes(await asyncio.gather(*(fam.execute(OCCASIONAL, variables) for _ in range(30))))
    assert outcome.count("ok") == 1 and outcome.count("OCCASIONAL_EXISTS") == 29
    assert await OccasionalCare.filter(child_id=kids[0].id).count() == 1


async def test_one_contract_at_a_time_for_a_child(gql):
    agent = await gql.as_user(await make_staff("rit@example.org", services=[RIT]))
    _, household, kids = await family()
    req = await accepted_request(household, kids[0])
    contract_input = {"startDate": next_monday().isoformat(), "schedule": SCHEDULE, "weeksPerYear": 45}
    first = (await agent.ok(CREATE, id=req.id, input=contract_input))["createCrecheContract"]
    second = await agent.error(CREATE, id=req.id, input=contract_input)
    assert second["extensions"] == {"code": "CONTRACT_EXISTS", "field": "startDate",
                                    "contractNumber": first["number"]}


@postgres_only
async def test_parallel_contract_creations_one_per_child_numbers_distinct(gql):
    agent = await gql.as_user(await make_staff("rit@example.org", services=[RIT]))
    contract_input = {"startDate": next_monday().isoformat(), "schedule": SCHEDULE, "weeksPerYear": 45}
    _, household, kids = await family()
    req = await accepted_request(household, kids[0])
    outcome = codes(await asyncio.gather(*(agent.execute(CREATE, {"id": req.id, "input": contract_input})
                                           for _ in range(20))))
    assert outcome.count("ok") == 1 and outcome.count("CONTRACT_EXISTS") == 19
    assert await Contract.filter(child_id=kids[0].id).count() == 1

    others = []
    for i in range(10):
        _, h, k = await family(f"n{i}@example.org", name=f"N{i}", children=1)
        others.append(await accepted_request(h, k[0]))
    outcome = codes(await asyncio.gather(*(agent.execute(CREATE, {"id": r.id, "input": contract_input})
                                           for r in others)))
    assert outcome == ["ok"] * 10
    assert sorted(await Contract.all().values_list("number", flat=True)) == list(range(1, 12))
