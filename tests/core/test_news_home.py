"""News (« Mes actus ») and the family's home page through HTTP: alerts from core (missing and refused
documents, the households area) and from plugins, quick access to the children, latest news."""

from __future__ import annotations

import importlib
import importlib.machinery
import sys
import types
from datetime import timedelta

import pytest

from core.contributions import Alert
from core.hookspecs import hookimpl
from core.news.models import NewsItem
from core.timeutil import today
from tests.conftest import make_family, make_staff, uses_service

PUBLISH = """mutation($title: String!, $body: String!, $service: String, $on: Date!, $until: Date) {
  publishNews(title: $title, body: $body, serviceCode: $service, publishedOn: $on, expiresOn: $until) {
    id title serviceCode publishedOn expiresOn } }"""
DELETE = """mutation($id: ID!) { deleteNews(id: $id) { ok } }"""
NEWS = """query($limit: Int! = 10) { news(limit: $limit) { total items { id title body publishedOn } } }"""
HOME = """{ home { actionCount alerts { code message count severity severityLabel link }
  children { id firstName } news { title } } }"""
UPLOAD = """mutation($file: Upload!, $type: String!, $child: ID) {
  uploadDocument(file: $file, typeCode: $type, childId: $child) { id } }"""
REVIEW = """mutation($id: ID!, $decision: DocumentDecision!, $reason: String) {
  reviewDocument(id: $id, decision: $decision, reason: $reason) { id } }"""
PDF = b"%PDF-1.4\n1 0 obj<<>>endobj\ntrailer<<>>\n%%EOF"


def iso(days: int = 0) -> str:
    return (today() + timedelta(days=days)).isoformat()


# ---- news -----------------------------------------------------------------------------------------
async def test_publish_list_and_delete_news(gql):
    agent = await gql.as_user(await make_staff(services=["alsh"]))
    old = (await agent.ok(PUBLISH, title="Inscriptions été", body="Ouverture le 1er juin", service="alsh",
                          on=iso(-10)))["publishNews"]
    new = (await agent.ok(PUBLISH, title="Voici votre Portail Famille", body="Bienvenue", on=iso(-1),
                          until=iso(30)))["publishNews"]
    await agent.ok(PUBLISH, title="Expirée", body="x", on=iso(-20), until=iso(-1))
    await agent.ok(PUBLISH, title="Future", body="x", on=iso(5))
    assert new["serviceCode"] == ""

    listed = (await gql.ok(NEWS))["news"]["items"]  # anyone reads the news
    assert [n["title"] for n in listed] == ["Voici votre Portail Famille", "Inscriptions été"]
    assert [n["title"] for n in (await gql.ok(NEWS, limit=1))["news"]["items"]] == ["Voici votre Portail Famille"]

    jeunesse = await gql.as_user(await make_staff("jeunesse@example.org", services=["jeunesse"]))
    assert await jeunesse.code(DELETE, id=old["id"]) == "FORBIDDEN"
    assert await jeunesse.code(PUBLISH, title="t", body="b", service="alsh", on=iso()) == "FORBIDDEN"
    family_user, _, _ = await make_family()
    family = await gql.as_user(family_user)
    assert await family.code(PUBLISH, title="t", body="b", on=iso()) == "FORBIDDEN"
    assert await family.code(DELETE, id=old["id"]) == "FORBIDDEN"
    assert await gql.code(DELETE, id=old["id"]) == "UNAUTHENTICATED"
    assert await NewsItem.all().count() == 4

    assert (await agent.error(PUBLISH, title=" ", body="b", on=iso()))["extensions"] == {
        "code": "REQUIRED", "field": "title"}
    assert (await agent.error(PUBLISH, title="t", body="b", on=iso(), until=iso(-1)))["extensions"] == {
        "code": "INVALID_DATES", "field": "expiresOn"}

    assert (await agent.ok(DELETE, id=old["id"]))["deleteNews"]["ok"]
    assert await agent.code(DELETE, id=old["id"]) == "NOT_FOUND"
    assert [n["title"] for n in (await gql.ok(NEWS))["news"]["items"]] == ["Voici votre Portail Famille"]


# ---- home ---------------------------------------------------------------------------------------------
class ExamplePlugin:
    """A service plugin written by someone else: one alert for the household."""

    @hookimpl
    async def portail_alerts(self, actor, household_id):
        return [Alert(code="EXEMPLE_MESSAGES", message="2 messages non lus", count=2)]


@pytest.fixture
def example_plugin(host):
    host.register(ExamplePlugin(), name="exemple_alertes")
    yield
    host.unregister("exemple_alertes")


@pytest.fixture
def household_alerts(monkeypatch):
    """The households area's `household_alerts` (written in parallel): stub it whether or not it exists yet."""
    def fake(household_id: int) -> list[Alert]:
        return [Alert(code="FILE_TO_UPDATE", message="Mettez à jour votre dossier", severity="warning")]

    name = "core.households.service"
    if importlib.util.find_spec(name) is not None:
        monkeypatch.setattr(importlib.import_module(name), "household_alerts", fake, raising=False)
    else:
        module = types.ModuleType(name)
        module.__spec__ = importlib.machinery.ModuleSpec(name, None)
        module.household_alerts = fake  # type: ignore[attr-defined]
        monkeypatch.setitem(sys.modules, name, module)


async def test_home_alerts_children_and_news(gql, example_plugin, household_alerts):
    user, household, (kid1, kid2) = await make_family("accueil@example.org")
    family = await gql.as_user(user)
    await uses_service(household, "alsh")
    agent = await gql.as_user(await make_staff(services=["alsh"]))
    await agent.ok(PUBLISH, title="Voici votre Portail Famille", body="Bienvenue", on=iso())

    page = (await family.ok(HOME))["home"]
    assert [c["firstName"] for c in page["children"]] == ["Enfant2", "Enfant1"]  # oldest first
    assert [n["title"] for n in page["news"]] == ["Voici votre Portail Famille"]
    alerts = {(a["code"], a["link"]): a for a in page["alerts"]}
    # creche: justificatif + carnet × 2 children, alsh_paj: assurance + carnet × 2
    assert alerts[("DOCUMENTS_MISSING", "documents?service=creche")]["count"] == 3
    assert alerts[("DOCUMENTS_MISSING", "documents?service=alsh_paj")]["count"] == 3
    assert alerts[("EXEMPLE_MESSAGES", "")]["count"] == 2
    assert ("FILE_TO_UPDATE", "") in alerts
    # other enabled plugins may add their own alerts: the total is the sum of the counts
    assert page["actionCount"] == sum(a["count"] for a in page["alerts"]) >= 3 + 3 + 2 + 1

    # a refused document becomes its own alert, and is no longer counted as "missing"
    doc = await family.upload(UPLOAD, {"type": "attestation_assurance"}, {"file": ("a.pdf", PDF, "application/pdf")})
    await agent.ok(REVIEW, id=doc["data"]["uploadDocument"]["id"], decision="REFUSE", reason="Périmée")
    page = (await family.ok(HOME))["home"]
    alerts = {(a["code"], a["link"]): a for a in page["alerts"]}
    assert alerts[("DOCUMENTS_MISSING", "documents?service=alsh_paj")]["count"] == 2
    assert alerts[("DOCUMENTS_REFUSED", "documents")]["count"] == 1
    assert page["actionCount"] == sum(a["count"] for a in page["alerts"]) >= 3 + 2 + 1 + 2 + 1


async def test_alert_count_is_the_sum_of_counts_not_the_number_of_alerts(gql, example_plugin, household_alerts):
    """Issue 14 point 7: actionCount counts items (documents, messages), as its description says."""
    user, household, _ = await make_family("somme@example.org")
    await uses_service(household, "alsh")
    page = (await (await gql.as_user(user)).ok(HOME))["home"]
    counts = sorted(a["count"] for a in page["alerts"])
    assert counts.count(3) >= 2 and 2 in counts  # crèche 3 docs, alsh 3 docs, 2 messages, ...
    assert page["actionCount"] == sum(counts) > len(page["alerts"])
    field = (await gql.ok('''{ __type(name: "HomePage") { fields { name description } } }'''))["__type"]
    description = {f["name"]: f["description"] for f in field["fields"]}["actionCount"]
    assert "sum of `count` over `alerts`" in description and "NOT the number of alerts" in description


async def test_home_needs_a_family(gql):
    user, _, _ = await make_family("reel@example.org")
    page = (await (await gql.as_user(user)).ok(HOME))["home"]  # the real households alerts, no stub
    assert page["actionCount"] == sum(a["count"] for a in page["alerts"])
    assert "DOCUMENTS_MISSING" in {a["code"] for a in page["alerts"]}
    assert await gql.code(HOME) == "UNAUTHENTICATED"
    staff = await gql.as_user(await make_staff(services=["alsh"]))
    assert await staff.code(HOME) == "NOT_FOUND"
