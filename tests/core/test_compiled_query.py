"""`core.compiled_query`: a read compiled once gives, for any values, the rows the ORM query gives;
a query whose SQL would not follow its values is refused on first use, never run stale."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

import pytest
from tortoise.exceptions import DoesNotExist
from tortoise.transactions import in_transaction

from core.accounts.models import User
from core.billing.models import Invoice
from core.compiled_query import CompiledQuery
from core.graphql_support import paginate
from core.households.models import Household

BY_HOUSEHOLD = CompiledQuery(lambda household_id: Invoice.filter(household_id=household_id)
                             .order_by("-issued_on", "-id"))
SINCE = CompiledQuery(lambda household_id, since: Invoice.filter(household_id=household_id, issued_on__gte=since)
                      .order_by("id"))
ONE_HOUSEHOLD = CompiledQuery(lambda name: Household.filter(name=name).first())
GET_HOUSEHOLD = CompiledQuery(lambda name: Household.get(name=name))


async def _households_with_invoices() -> tuple[Household, Household]:
    first = await Household.create(name="PREMIER")
    second = await Household.create(name="SECOND")
    day = date(2026, 3, 1)
    for n in range(7):
        await Invoice.create(number=f"A-{n}", regie_code="cdc", household=first, issued_on=day + timedelta(days=n),
                             period_start=day, period_end=day, total_cents=100 * n)
    for n in range(3):
        await Invoice.create(number=f"B-{n}", regie_code="cdc", household=second, issued_on=day - timedelta(days=n),
                             period_start=day, period_end=day, total_cents=10 * n)
    return first, second


async def test_rows_count_and_pages_follow_the_values_like_the_orm():
    first, second = await _households_with_invoices()
    for household in (first, second, first):  # compiled on the first call, rebound on the next ones
        orm = await Invoice.filter(household_id=household.id).order_by("-issued_on", "-id")
        assert [i.number for i in await BY_HOUSEHOLD.all(household.id)] == [i.number for i in orm]
        assert await BY_HOUSEHOLD.count(household.id) == len(orm)
        for limit, offset in ((2, 0), (2, 2), (5, 5), (3, 10)):
            page = await BY_HOUSEHOLD.page(household.id, limit=limit, offset=offset)
            assert [i.number for i in page] == [i.number for i in orm[offset:offset + limit]]
    since = date(2026, 3, 4)
    assert [i.number for i in await SINCE.all(first.id, since)] == ["A-3", "A-4", "A-5", "A-6"]
    assert [i.number for i in await SINCE.all(second.id, date(2026, 2, 27))] == ["B-0", "B-1", "B-2"]
    assert await SINCE.all(second.id, since) == []


async def test_paginate_takes_a_bound_query():
    first, second = await _households_with_invoices()
    page = await paginate(BY_HOUSEHOLD.bind(first.id), 3, 3)
    assert (page.total, [i.number for i in page.items], page.has_more()) == (7, ["A-3", "A-2", "A-1"], True)
    past_the_end = await paginate(BY_HOUSEHOLD.bind(first.id), 3, 9)  # no row to carry the count: counted apart
    assert (past_the_end.total, past_the_end.items) == (7, [])
    last = await paginate(BY_HOUSEHOLD.bind(first.id), 5, 5)
    assert (last.total, [i.number for i in last.items], last.has_more()) == (7, ["A-1", "A-0"], False)
    nothing = await paginate(BY_HOUSEHOLD.bind(first.id + second.id + 1000), 3, 0)
    assert (nothing.total, nothing.items) == (0, [])


async def test_a_distinct_query_is_counted_apart():
    first, second = await _households_with_invoices()
    households = CompiledQuery(lambda regie: Household.filter(invoices__regie_code=regie).distinct().order_by("id"))
    page = await paginate(households.bind("cdc"), 1, 0)  # 10 invoice rows, 2 households
    assert (page.total, [h.name for h in page.items]) == (2, ["PREMIER"])


async def test_single_row_queries_keep_first_and_get_semantics():
    await _households_with_invoices()
    assert (await ONE_HOUSEHOLD.all("SECOND")).name == "SECOND"
    assert await ONE_HOUSEHOLD.all("AUCUN") is None
    assert (await GET_HOUSEHOLD.all("PREMIER")).name == "PREMIER"
    with pytest.raises(DoesNotExist):
        await GET_HOUSEHOLD.all("AUCUN")


async def test_runs_on_the_connection_of_the_current_transaction():
    async with in_transaction():
        created = await Household.create(name="PAS ENCORE VALIDE")
        assert (await ONE_HOUSEHOLD.all("PAS ENCORE VALIDE")).id == created.id
    assert (await ONE_HOUSEHOLD.all("PAS ENCORE VALIDE")).id == created.id


@pytest.mark.parametrize("build, values", [
    # a value computed from an argument: the second build shows a parameter that is not a value
    (lambda day: Invoice.filter(issued_on__gte=day - timedelta(days=1)), (date(2026, 3, 1),)),
    # a shape chosen by a value
    (lambda n: Invoice.filter(total_cents=n) if n % 2 else Invoice.filter(total_cents=n, kind="invoice"), (4,)),
    # a value turned into another one by the lookup (LIKE pattern)
    (lambda text: Household.filter(name__icontains=text), ("dupont",)),
])
async def test_a_query_that_cannot_be_rebound_is_refused(build, values):
    with pytest.raises(TypeError, match="ne peut pas être réutilisée"):
        await CompiledQuery(build).all(*values)


async def test_unsupported_value_types_are_refused():
    with pytest.raises(TypeError, match="non prise en charge"):
        await CompiledQuery(lambda active: User.filter(is_active=active)).all(True)


def _state(instance) -> dict:
    """What an instance holds: its attributes, the select_related objects it carries included."""
    out = {}
    for name, value in vars(instance).items():
        if hasattr(value, "_meta"):
            out[name] = _state(value)
        elif isinstance(value, datetime):  # the same instant is not enough: the same zone too
            out[name] = value.isoformat()
        elif name != "_await_when_save":
            out[name] = value
    return out


async def test_instances_are_those_the_orm_makes():
    """Same attributes and converted values (dates, datetimes in the configured zone, booleans on
    SQLite, JSON), select_related objects (None when the related row is missing), annotations."""
    from tortoise.expressions import F

    from core.households.models import Child

    first, second = await _households_with_invoices()
    await Invoice.filter(number="A-0").update(collection_at=datetime(2026, 3, 2, 9, 30, tzinfo=UTC))
    credit = await Invoice.create(number="AV-1", regie_code="cdc", household=first, issued_on=date(2026, 3, 9),
                                  period_start=date(2026, 3, 1), period_end=date(2026, 3, 1), total_cents=-100,
                                  kind="credit_note", corrects=await Invoice.get(number="A-1"))
    await Child.create(household=first, first_name="Léa", last_name="PREMIER", birth_date=date(2020, 5, 4),
                       allergies="arachide", medical_answers={"asthme": True})
    queries = [
        (lambda h: Invoice.filter(household_id=h).order_by("id"), (first.id,)),
        (lambda h: Invoice.filter(household_id=h).select_related("household", "corrects").order_by("id"), (first.id,)),
        (lambda h: Invoice.filter(household_id=h).annotate(household_name=F("household__name")).order_by("id"),
         (second.id,)),
        (lambda h: Child.filter(household_id=h).select_related("household"), (first.id,)),
        (lambda h: Household.filter(id=h), (first.id,)),
    ]
    for build, values in queries:
        query = CompiledQuery(build)
        orm, compiled = await build(*values), await query.all(*values)
        assert [_state(i) for i in compiled] == [_state(i) for i in orm]
        assert all(type(i) is type(o) for i, o in zip(compiled, orm, strict=True))
        assert all(callable(plan.hydrate) for plan in query._plans.values()), "made by the compiled loop"
    only = CompiledQuery(lambda h: Invoice.filter(household_id=h).only("id", "number").order_by("id"))
    for _ in range(2):  # a partial model: Tortoise's executor, every time
        assert [(i.id, i.number) for i in await only.all(first.id)] == [
            (i.id, i.number) for i in await Invoice.filter(household_id=first.id).order_by("id")]
    credit_note = await CompiledQuery(lambda n: Invoice.filter(number=n).select_related("corrects").first()).all("AV-1")
    assert (credit_note.id, credit_note.corrects.number) == (credit.id, "A-1")
    credit_note.reason = "Erreur de tarif"  # an instance read this way saves like any other
    await credit_note.save(update_fields=["reason"])
    assert (await Invoice.get(id=credit.id)).reason == "Erreur de tarif"


async def test_values_queries_give_the_orm_dicts_and_tuples():
    first, _ = await _households_with_invoices()
    builds = [
        lambda h: Invoice.filter(household_id=h).order_by("id").values("number", "issued_on", "total_cents"),
        lambda h: Invoice.filter(household_id=h).order_by("id").values_list("id", "issued_on"),
        lambda h: Invoice.filter(household_id=h).order_by("id").values_list("number", flat=True),
        lambda h: Invoice.filter(household_id=h, number="A-3").first().values("number", "issued_on"),
    ]
    for build in builds:
        assert await CompiledQuery(build).all(first.id) == await build(first.id)
