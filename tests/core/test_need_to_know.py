"""Issue 10 §2, the need-to-know rule of core.permissions, through HTTP: an agent finds any household
by search, but sees its documents, children's medical data and invoices only for the services the
household uses (and a document only when its type is required or handled by one of those services);
anything else answers exactly like a missing object. Admins see everything."""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal

from core.billing.models import Invoice, InvoiceLine
from core.documents.models import Document, DocumentStatus
from core.households.models import AuditLog
from core.timeutil import today
from tests.conftest import make_family, make_staff, uses_service
from tests.core.test_documents import HOUSEHOLD_DOCS, PENDING, PNG, REVIEW, upload

CRECHE = "creche_au_fil_de_l_eau"
SEARCH = """query($t: String!) { searchHouseholds(text: $t) { items { id name } } }"""
MEDICAL = """query($id: ID!) { household(id: $id) { name children { firstName medical { allergies } } } }"""
CHILD_MEDICAL = """query($id: ID!) { child(id: $id) { firstName medical { allergies } } }"""
SET_MEDICAL = """mutation($id: ID!, $answers: [MedicalAnswerInput!]!) {
  setChildMedical(childId: $id, input: {answers: $answers, allergies: "aucune"}) { id } }"""
INVOICE = """query($id: ID!) { invoice(id: $id) { id number } }"""
INVOICES = """query($h: ID) { invoices(householdId: $h) { items { id } } }"""


async def same_as_missing(client, query: str, real: dict, missing: dict) -> None:
    """The answer on a real object the caller may not see is the answer on a missing one."""
    denied = await client.error(query, **real)
    absent = await client.error(query, **missing)
    assert denied["extensions"]["code"] == "NOT_FOUND", denied
    assert (denied["message"], denied["extensions"]) == (absent["message"], absent["extensions"])


async def same_download_as_missing(client, url: str, missing_url: str) -> None:
    denied, absent = await client.download(url), await client.download(missing_url)
    assert denied.status_code == absent.status_code == 404
    assert denied.content == absent.content


async def test_documents_only_for_the_services_the_household_uses(gql):
    """A sport agent accepted a crèche proof the crèche had refused: no more."""
    user, household, (kid, _) = await make_family("famille@example.org")
    await uses_service(household, CRECHE, "sport")  # a crèche request, a sport registration
    family = await gql.as_user(user)
    proof = (await upload(family, "justificatif_domicile"))["data"]["uploadDocument"]
    health = (await upload(family, "carnet_sante", PNG, "carnet.png", child=kid.id, mime="image/png"))["data"][
        "uploadDocument"]
    creche = await gql.as_user(await make_staff("creche@example.org", services=[CRECHE]))
    sport = await gql.as_user(await make_staff("sport@example.org", services=["sport"]))
    alsh = await gql.as_user(await make_staff("alsh@example.org", services=["alsh"]))
    admin = await gql.as_user(await make_staff("admin@example.org", role="admin"))

    # every agent finds the household by search
    for agent in (creche, sport, alsh):
        assert [h["name"] for h in (await agent.ok(SEARCH, t="DUPONT"))["searchHouseholds"]["items"]] == ["DUPONT"]

    await creche.ok(REVIEW, id=proof["id"], decision="REFUSE", reason="Justificatif de plus de 3 mois")
    # sport: the household uses sport, but sport requires no proof of address: refused like a missing one
    await same_as_missing(sport, REVIEW, {"id": proof["id"], "decision": "ACCEPT"}, {"id": "999999", "decision": "ACCEPT"})
    assert (await Document.get(id=int(proof["id"]))).status == DocumentStatus.REFUSED
    # sport requires neither document: nothing to see, download or review
    await same_download_as_missing(sport, proof["downloadUrl"], "/files/document/999999")
    await same_download_as_missing(sport, health["downloadUrl"], "/files/document/999999")
    assert (await sport.ok(PENDING))["pendingDocuments"]["items"] == []
    assert (await sport.ok(HOUSEHOLD_DOCS, id=str(household.id)))["householdDocuments"]["items"] == []
    # ALSH requires the carnet de santé: its agent reviews it BEFORE the household uses the ALSH (no
    # booking is accepted until it is), but never the proof of address, which the ALSH does not require
    assert [d["id"] for d in (await alsh.ok(PENDING))["pendingDocuments"]["items"]] == [health["id"]]
    assert [d["id"] for d in (await alsh.ok(HOUSEHOLD_DOCS, id=str(household.id)))["householdDocuments"]["items"]] == [health["id"]]
    await same_download_as_missing(alsh, proof["downloadUrl"], "/files/document/999999")

    # the crèche and the admin see both
    assert [d["id"] for d in (await creche.ok(PENDING))["pendingDocuments"]["items"]] == [health["id"]]
    assert (await creche.download(health["downloadUrl"])).status_code == 200
    assert {d["id"] for d in (await admin.ok(HOUSEHOLD_DOCS, id=str(household.id)))["householdDocuments"]["items"]} == \
        {proof["id"], health["id"]}
    assert (await alsh.download(health["downloadUrl"])).status_code == 200
    assert (await alsh.ok(REVIEW, id=health["id"], decision="ACCEPT"))["reviewDocument"]["status"] == "ACCEPTED"


async def test_medical_data_only_for_the_services_the_household_uses(gql, settings):
    _, household, (kid, _) = await make_family("famille@example.org")
    kid.allergies = "arachide"
    await kid.save()
    await uses_service(household, CRECHE)
    creche_agent = await make_staff("creche@example.org", services=[CRECHE])
    creche = await gql.as_user(creche_agent)
    alsh = await gql.as_user(await make_staff("alsh@example.org", services=["alsh"]))

    # the file itself is shown (names, address); the medical data is not, and nothing is audited
    result = await alsh.execute(MEDICAL, {"id": str(household.id)})
    assert result["data"]["household"]["name"] == "DUPONT"
    assert [c["medical"] for c in result["data"]["household"]["children"]] == [None, None]
    assert {e["extensions"]["code"] for e in result["errors"]} == {"NOT_FOUND"}
    assert "arachide" not in str(result)
    result = await alsh.execute(CHILD_MEDICAL, {"id": str(kid.id)})
    assert result["data"]["child"] == {"firstName": "Enfant1", "medical": None}
    missing = await alsh.error(CHILD_MEDICAL, id="999999")
    assert (result["errors"][0]["message"], result["errors"][0]["extensions"]) == \
        (missing["message"], missing["extensions"])
    answers = [{"code": q.code, "answer": False} for q in settings.medical_questions]
    await same_as_missing(alsh, SET_MEDICAL, {"id": str(kid.id), "answers": answers},
                          {"id": "999999", "answers": answers})
    assert (await type(kid).get(id=kid.id)).allergies == "arachide"
    assert not await AuditLog.exists(action="read_medical")

    data = (await creche.ok(MEDICAL, id=str(household.id)))["household"]
    assert data["children"][1]["medical"]["allergies"] == "arachide"
    assert await AuditLog.filter(action="read_medical", actor_id=creche_agent.id).count() == 2


async def test_invoices_only_for_the_services_the_household_uses(gql):
    _, household, (kid, _) = await make_family("famille@example.org")
    start = today().replace(day=1) - timedelta(days=20)
    invoice = await Invoice.create(number="CDC-2026-00001", regie_code="cdc", household=household,
                                   issued_on=today(), period_start=start.replace(day=1), period_end=start,
                                   total_cents=12000)
    await InvoiceLine.create(invoice=invoice, regie_code="cdc", child=kid, source_key="c1", active_source_key="c1",
                             service_code=CRECHE, designation="Contrat crèche", quantity=Decimal("1"),
                             unit_price_cents=12000, amount_cents=12000)
    creche = await gql.as_user(await make_staff("creche@example.org", services=[CRECHE]))
    # the ALSH agent works for the same régie (cdc), but the household has no ALSH invoice line
    alsh = await gql.as_user(await make_staff("alsh@example.org", services=["alsh"]))

    await same_as_missing(alsh, INVOICE, {"id": str(invoice.id)}, {"id": "999999"})
    assert (await alsh.ok(INVOICES, h=str(household.id)))["invoices"]["items"] == []
    assert (await alsh.ok(INVOICES, h=None))["invoices"]["items"] == []
    await same_download_as_missing(alsh, f"/files/invoice/{invoice.id}", "/files/invoice/999999")
    await same_download_as_missing(alsh, f"/files/attestation/{household.id}-{today().year}",
                                   f"/files/attestation/999999-{today().year}")

    assert (await creche.ok(INVOICE, id=str(invoice.id)))["invoice"]["number"] == "CDC-2026-00001"
    assert [i["id"] for i in (await creche.ok(INVOICES, h=str(household.id)))["invoices"]["items"]] == \
        [str(invoice.id)]
    assert (await creche.download(f"/files/invoice/{invoice.id}")).status_code == 200
    assert (await creche.download(f"/files/attestation/{household.id}-{today().year}")).status_code == 200


async def test_a_third_party_plugin_tells_core_which_services_a_household_uses(gql):
    """Core knows no plugin: a new one (here a sport club registry) declares the households it serves
    through `portail_household_services`, and the sport agent may then read their medical data."""
    from core.hookspecs import hookimpl
    from core.plugins import get_host

    _, household, (kid, _) = await make_family("famille@example.org")
    sport = await gql.as_user(await make_staff("sport@example.org", services=["sport"]))
    assert (await sport.execute(CHILD_MEDICAL, {"id": str(kid.id)}))["data"]["child"]["medical"] is None

    class SportClub:
        @hookimpl
        async def portail_household_services(self, household_ids: list[int]) -> dict[int, set[str]]:
            return {hid: {"sport"} for hid in household_ids if hid == household.id}

    get_host().register(SportClub(), "sport_club_test")
    try:
        assert (await sport.ok(CHILD_MEDICAL, id=str(kid.id)))["child"]["medical"] == {"allergies": ""}
    finally:
        get_host().unregister("sport_club_test")


async def test_the_invoice_list_limit_counts_what_the_agent_sees(gql):
    """Newer invoices of households the agent may not see do not push theirs out of a limited list."""
    from core.billing.service import staff_invoices
    from core.permissions import Actor

    _, seen, _ = await make_family("vue@example.org", name="VUE")
    await uses_service(seen, "alsh")
    start = today().replace(day=1) - timedelta(days=20)
    mine = await Invoice.create(number="CDC-1", regie_code="cdc", household=seen, issued_on=today() - timedelta(days=9),
                                period_start=start.replace(day=1), period_end=start, total_cents=100)
    for i in range(3):
        _, hidden, _ = await make_family(f"cachee{i}@example.org", name=f"CACHEE{i}")
        await Invoice.create(number=f"CDC-{i + 2}", regie_code="cdc", household=hidden, issued_on=today(),
                             period_start=start.replace(day=1), period_end=start, total_cents=100)
    agent = Actor.for_user(await make_staff("alsh@example.org", services=["alsh"]))
    assert await staff_invoices(agent, limit=1) == (1, [mine])
    assert await staff_invoices(agent, limit=2) == (1, [mine])
    assert await staff_invoices(agent, limit=2, offset=1) == (1, [])
