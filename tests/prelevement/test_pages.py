"""Pages of the direct debit lists (docs/graphql.md): a régie's mandates, its batches and a batch's
debits come by `limit` / `offset` with a total; the régie's agents see only what they need to know."""

from __future__ import annotations

from datetime import timedelta

from core.accounts.models import Role
from core.timeutil import today
from plugins.prelevement.models import MandateStatus, SepaBatch, SepaDebit
from tests.conftest import make_family, make_staff, uses_service
from tests.prelevement.conftest import make_mandate

REGIE_MANDATES = """query($status: PrelevementMandateStatus, $limit: Int! = 50, $offset: Int! = 0) {
  prelevementRegieMandates(regieCode: "cdc", status: $status, limit: $limit, offset: $offset) {
    total hasMore limit offset items { id householdName status statusLabel } } }"""
BATCHES = """query($limit: Int! = 50, $offset: Int! = 0) {
  prelevementBatches(regieCode: "cdc", limit: $limit, offset: $offset) {
    total hasMore items { id status statusLabel sepaFormat } } }"""
DEBITS = """query($id: ID!, $limit: Int! = 50, $offset: Int! = 0) { prelevementBatch(id: $id) {
  debits(limit: $limit, offset: $offset) { total hasMore items { id amountCents sequenceType status } } } }"""


async def _households(count: int, service: str | None, first: int = 0) -> list:
    out = []
    for i in range(first, first + count):
        _, household, _ = await make_family(f"famille{i}@example.org", name=f"FOYER{i}")
        if service:
            await uses_service(household, service)
        out.append(household)
    return out


async def test_regie_mandates_pages_and_need_to_know(gql):
    alsh_households = await _households(3, "alsh")
    [other] = await _households(1, None, first=3)  # uses no service of the agent
    mandates = [await make_mandate(h, "cdc") for h in alsh_households]
    await make_mandate(other, "cdc", status=MandateStatus.PENDING)
    admin = await gql.as_user(await make_staff("admin@example.org", role=Role.ADMIN))
    agent = await gql.as_user(await make_staff("alsh@example.org", services=["alsh"]))

    first = (await admin.ok(REGIE_MANDATES, limit=3))["prelevementRegieMandates"]
    assert (first["total"], first["hasMore"], first["limit"], first["offset"], len(first["items"])) == (4, True, 3, 0, 3)
    second = (await admin.ok(REGIE_MANDATES, limit=3, offset=3))["prelevementRegieMandates"]
    assert (second["total"], second["hasMore"], len(second["items"])) == (4, False, 1)
    # newest first, no item twice
    ids = [m["id"] for m in first["items"] + second["items"]]
    assert len(set(ids)) == 4 and ids[-1] == str(mandates[0].id)
    pending = (await admin.ok(REGIE_MANDATES, status="PENDING"))["prelevementRegieMandates"]
    assert pending["total"] == 1 and pending["items"][0]["statusLabel"] == "Demande en cours"

    # the agent: only the households using their service, counted as such
    mine = (await agent.ok(REGIE_MANDATES, limit=2))["prelevementRegieMandates"]
    assert (mine["total"], mine["hasMore"]) == (3, True)
    assert {m["householdName"] for m in mine["items"]} <= {"FOYER0", "FOYER1", "FOYER2"}

    for bad in ({"limit": 0}, {"limit": 201}, {"offset": -1}):
        assert await admin.code(REGIE_MANDATES, **bad) == "INVALID_PAGE"
    family_user, _, _ = await make_family("parent@example.org")
    assert await (await gql.as_user(family_user)).code(REGIE_MANDATES) == "FORBIDDEN"


async def test_batches_and_debits_pages(gql):
    [household] = await _households(1, "alsh")
    mandate = await make_mandate(household, "cdc")
    batches = [await SepaBatch.create(regie_code="cdc", due_date=today() + timedelta(days=20 + i),
                                      message_id=f"PF-CDC-TEST-{i}", sepa_format="pain.008.001.08")
               for i in range(3)]
    for n in range(5):
        await SepaDebit.create(batch=batches[0], mandate=mandate, household_id=household.id, invoice_id=1000 + n,
                               amount_cents=100 * (n + 1), sequence_type="RCUR", end_to_end_id=f"E2E-{n}")
    agent = await gql.as_user(await make_staff("alsh@example.org", services=["alsh"]))

    page = (await agent.ok(BATCHES, limit=2))["prelevementBatches"]
    assert (page["total"], page["hasMore"]) == (3, True)
    assert page["items"][0] == {"id": str(batches[2].id), "status": "BUILT", "statusLabel": "Constituée",
                                "sepaFormat": "PAIN_008_001_08"}
    rest = (await agent.ok(BATCHES, limit=2, offset=2))["prelevementBatches"]
    assert (rest["hasMore"], [b["id"] for b in rest["items"]]) == (False, [str(batches[0].id)])
    assert await agent.code(BATCHES, limit=500) == "INVALID_PAGE"

    debits = (await agent.ok(DEBITS, id=str(batches[0].id), limit=2, offset=2))["prelevementBatch"]["debits"]
    assert (debits["total"], debits["hasMore"]) == (5, True)
    assert [d["amountCents"] for d in debits["items"]] == [300, 400]
    assert debits["items"][0]["sequenceType"] == "RCUR" and debits["items"][0]["status"] == "BUILT"
    assert await agent.code(DEBITS, id=str(batches[0].id), offset=-1) == "INVALID_PAGE"

    # another régie's agent sees neither the batches nor their debits
    other = await gql.as_user(await make_staff("stc@example.org", services=["creche_petit_a_petit"]))
    assert await other.code(BATCHES) == "FORBIDDEN"
    assert await other.code(DEBITS, id=str(batches[0].id)) == "NOT_FOUND"
