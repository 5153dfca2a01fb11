"""Core's API conventions seen by a client (docs/graphql.md, issue 12): a failing root field does not wipe
the others (partial answers), lists that grow are pages (total, hasMore, stable order, INVALID_PAGE), and
a page shows the family only its own rows and an agent only what need-to-know allows."""

from __future__ import annotations

from datetime import timedelta

import pytest

from core.billing.models import Invoice
from core.timeutil import today
from tests.conftest import make_family, make_staff, uses_service
from tests.core.test_documents import upload

INVOICES = """query($limit: Int! = 50, $offset: Int! = 0) { invoices(limit: $limit, offset: $offset) {
  total hasMore limit offset items { id number status statusLabel } } }"""
MY_INVOICES = """query($limit: Int! = 50, $offset: Int! = 0) { myInvoices(limit: $limit, offset: $offset) {
  total hasMore items { number householdId } } }"""
PENDING = """query($limit: Int! = 50, $offset: Int! = 0) { pendingDocuments(limit: $limit, offset: $offset) {
  total hasMore items { id householdId status statusLabel } } }"""


async def _invoice(household, number: str, days_ago: int, regie: str = "cdc") -> Invoice:
    start = today().replace(day=1) - timedelta(days=40)
    return await Invoice.create(number=number, regie_code=regie, household=household,
                                issued_on=today() - timedelta(days=days_ago), period_start=start.replace(day=1),
                                period_end=start, total_cents=1000)


async def test_a_failing_field_keeps_the_others_data(gql):
    """The query of issue 12: `home` is answered, `invoice` is null with its NOT_FOUND error."""
    user, _, _ = await make_family()
    family = await gql.as_user(user)
    result = await family.execute('{ home { actionCount alerts { count } } invoice(id: "999") { id } }')
    assert result["data"]["home"]["actionCount"] == sum(a["count"] for a in result["data"]["home"]["alerts"])
    assert result["data"]["invoice"] is None
    assert [(e["path"], e["extensions"]["code"]) for e in result["errors"]] == [(["invoice"], "NOT_FOUND")]


async def test_a_failing_mutation_is_null_with_its_error(gql):
    user, _, _ = await make_family()
    family = await gql.as_user(user)
    result = await family.execute('mutation { deleteAuthorizedPerson(id: "999") { id } }')
    assert result["data"] == {"deleteAuthorizedPerson": None}
    assert result["errors"][0]["extensions"]["code"] == "NOT_FOUND"


async def test_invoices_pages_newest_first_with_total_and_has_more(gql):
    _, household, _ = await make_family()
    for i, days_ago in enumerate((30, 10, 20)):
        await _invoice(household, f"CDC-{i}", days_ago)
    admin = await gql.as_user(await make_staff("admin@example.org", role="admin"))
    first = (await admin.ok(INVOICES, limit=2))["invoices"]
    assert (first["total"], first["hasMore"], first["limit"], first["offset"]) == (3, True, 2, 0)
    assert [i["number"] for i in first["items"]] == ["CDC-1", "CDC-2"]
    assert first["items"][0]["status"] == "UNPAID" and first["items"][0]["statusLabel"] == "Non soldée"
    second = (await admin.ok(INVOICES, limit=2, offset=2))["invoices"]
    assert (second["total"], second["hasMore"], [i["number"] for i in second["items"]]) == (3, False, ["CDC-0"])
    beyond = (await admin.ok(INVOICES, limit=2, offset=10))["invoices"]
    assert (beyond["total"], beyond["hasMore"], beyond["items"]) == (3, False, [])


@pytest.mark.parametrize(("field", "args"), [
    ("invoices", "limit: 0"), ("invoices", "limit: 201"), ("invoices", "offset: -1"),
    ("pendingDocuments", "limit: 0"), ("demarches", "limit: 201"), ("auditLog", "offset: -1"),
    ("outbox", "limit: 0"), ("householdDocuments", 'householdId: "1", limit: 201'),
])
async def test_a_page_outside_its_bounds_is_invalid_page(gql, field, args):
    admin = await gql.as_user(await make_staff("admin@example.org", role="admin"))
    error = await admin.error(f"{{ {field}({args}) {{ total }} }}")
    assert error["extensions"]["code"] == "INVALID_PAGE"
    assert error["extensions"]["field"] in ("limit", "offset")


@pytest.mark.parametrize("query", ["{ myInvoices(limit: 0) { total } }", "{ myDocuments(offset: -1) { total } }",
                                   "{ myDemarches(limit: 201) { total } }", "{ news(limit: 0) { total } }"])
async def test_family_pages_refuse_bad_windows_too(gql, query):
    user, _, _ = await make_family()
    assert await (await gql.as_user(user)).code(query) == "INVALID_PAGE"


async def test_the_family_pages_only_its_own_invoices(gql):
    user, mine, _ = await make_family("a@example.org", name="MARTIN")
    _, other, _ = await make_family("b@example.org", name="DURAND")
    for i in range(3):
        await _invoice(mine, f"CDC-A{i}", i)
    await _invoice(other, "CDC-B0", 0)
    family = await gql.as_user(user)
    page = (await family.ok(MY_INVOICES, limit=2))["myInvoices"]
    assert (page["total"], page["hasMore"]) == (3, True)
    rest = (await family.ok(MY_INVOICES, limit=2, offset=2))["myInvoices"]
    assert {i["householdId"] for i in page["items"] + rest["items"]} == {str(mine.id)}
    assert [i["number"] for i in page["items"] + rest["items"]] == ["CDC-A0", "CDC-A1", "CDC-A2"]
    totals = (await family.ok("{ myInvoiceTotals { count totalCents balanceCents } }"))["myInvoiceTotals"]
    assert totals == {"count": 3, "totalCents": 3000, "balanceCents": 3000}


async def test_an_agent_pages_only_the_invoices_need_to_know_allows(gql):
    """Hidden households do not count in `total` and do not leave holes in the pages."""
    _, seen, _ = await make_family("vue@example.org", name="VUE")
    await uses_service(seen, "alsh")
    for i in range(3):
        await _invoice(seen, f"CDC-V{i}", 10 + i)
        _, hidden, _ = await make_family(f"cachee{i}@example.org", name=f"CACHEE{i}")
        await _invoice(hidden, f"CDC-H{i}", i)
    agent = await gql.as_user(await make_staff("alsh@example.org", services=["alsh"]))
    first = (await agent.ok(INVOICES, limit=2))["invoices"]
    assert (first["total"], first["hasMore"], [i["number"] for i in first["items"]]) == (3, True, ["CDC-V0", "CDC-V1"])
    second = (await agent.ok(INVOICES, limit=2, offset=2))["invoices"]
    assert (second["hasMore"], [i["number"] for i in second["items"]]) == (False, ["CDC-V2"])


async def test_pending_documents_page_oldest_first_and_need_to_know(gql, clock):
    """A crèche agent sees the documents the crèche requires, from every household; a sport agent none."""
    users = [await make_family(f"f{i}@example.org", name=f"F{i}") for i in range(3)]
    ids = []
    for user, _, _ in users:
        result = await upload(await gql.as_user(user), "justificatif_domicile")
        ids.append(result["data"]["uploadDocument"]["id"])
        clock.advance(minutes=1)
    creche = await gql.as_user(await make_staff("creche@example.org", services=["creche"]))
    first = (await creche.ok(PENDING, limit=2))["pendingDocuments"]
    assert (first["total"], first["hasMore"], [d["id"] for d in first["items"]]) == (3, True, ids[:2])
    assert first["items"][0]["status"] == "PENDING"
    second = (await creche.ok(PENDING, limit=2, offset=2))["pendingDocuments"]
    assert (second["hasMore"], [d["id"] for d in second["items"]]) == (False, ids[2:])
    sport = await gql.as_user(await make_staff("sport@example.org", services=["sport"]))
    assert (await sport.ok(PENDING))["pendingDocuments"] == {"total": 0, "hasMore": False, "items": []}


async def test_my_documents_and_household_documents_are_pages(gql):
    user, household, _ = await make_family()
    family = await gql.as_user(user)
    for _ in range(3):
        await upload(family, "justificatif_domicile")
    mine = (await family.ok("{ myDocuments(limit: 2) { total hasMore items { id } } }"))["myDocuments"]
    assert (mine["total"], mine["hasMore"], len(mine["items"])) == (3, True, 2)
    other, _, _ = await make_family("autre@example.org", name="AUTRE")
    assert (await (await gql.as_user(other)).ok("{ myDocuments { total } }"))["myDocuments"]["total"] == 0
    admin = await gql.as_user(await make_staff("admin@example.org", role="admin"))
    page = (await admin.ok("query($h: ID!) { householdDocuments(householdId: $h, offset: 1) { total items { id } } }",
                           h=str(household.id)))["householdDocuments"]
    assert (page["total"], [d["id"] for d in page["items"]]) == (3, [d["id"] for d in mine["items"]][1:] + [
        d["id"] for d in (await family.ok("{ myDocuments(offset: 2) { items { id } } }"))["myDocuments"]["items"]])


async def test_search_households_audit_log_and_outbox_are_pages(gql):
    from core.households.models import AuditLog
    from core.mail.models import OutboxMail

    for i in range(3):
        await make_family(f"f{i}@example.org", name=f"NOM{i}")
        await AuditLog.create(action=f"read_medical_{i}", entity="child", household_id=i + 1)
        await OutboxMail.create(to=f"f{i}@example.org", subject=f"Sujet {i}", text_body="Bonjour")
    admin = await gql.as_user(await make_staff("admin@example.org", role="admin"))
    search = (await admin.ok('{ searchHouseholds(text: "", limit: 2) { total hasMore items { name } } }'))
    assert search["searchHouseholds"] == {"total": 3, "hasMore": True, "items": [{"name": "NOM0"}, {"name": "NOM1"}]}
    assert await admin.code("{ searchHouseholds(limit: 101) { total } }") == "INVALID_PAGE"
    log = (await admin.ok("{ auditLog(limit: 2) { total hasMore items { actionCode } } }"))["auditLog"]
    assert log == {"total": 3, "hasMore": True, "items": [{"actionCode": "read_medical_2"},
                                                         {"actionCode": "read_medical_1"}]}
    outbox = (await admin.ok("{ outbox(limit: 2, offset: 2) { total hasMore items { subject status statusLabel } } }"))
    assert outbox["outbox"] == {"total": 3, "hasMore": False,
                                "items": [{"subject": "Sujet 0", "status": "PENDING", "statusLabel": "En attente"}]}
    family, _, _ = await make_family("famille2@example.org", name="FAM")
    assert await (await gql.as_user(family)).code("{ outbox { total } }") == "FORBIDDEN"
    assert await (await gql.as_user(family)).code("{ auditLog { total } }") == "FORBIDDEN"
