"""Issue 10 §2 for messages: a thread with a service makes the household use it (the plugin tells
core); an agent of another service gets NOT_FOUND on the thread, its answer and its attachments, like a
missing object, and does not see the household's documents for that reason."""

from __future__ import annotations

from core.permissions import household_services
from tests.conftest import make_family, make_staff
from tests.core.test_need_to_know import same_as_missing, same_download_as_missing
from tests.messagerie.conftest import CRECHE, PDF, REPLY, START, THREAD

HOUSEHOLD_DOCS = """query($id: ID!) { householdDocuments(householdId: $id) { items { typeCode } } }"""


async def test_threads_only_for_their_service(gql):
    user, household, _ = await make_family("famille@example.org")
    family = await gql.as_user(user)
    result = await family.upload(START, {"service": CRECHE, "body": "Bonjour, une question sur le contrat",
                                                   "attachments": [None]},
                                 {"attachments.0": ("question.pdf", PDF, "application/pdf")})
    assert not result.get("errors"), result
    thread = result["data"]["startMessagerieThread"]
    assert (await household_services([household.id]))[household.id] == {CRECHE}
    url = (await family.ok(THREAD, id=thread["id"]))["messagerieThread"]["messages"]["items"][0]["attachments"][0]["url"]

    crèche = await gql.as_user(await make_staff("creche@example.org", services=[CRECHE]))
    sport = await gql.as_user(await make_staff("sport@example.org", services=["sport"]))
    assert (await crèche.ok(THREAD, id=thread["id"]))["messagerieThread"]["service"] == CRECHE
    assert (await crèche.download(url)).status_code == 200
    await same_as_missing(sport, THREAD, {"id": thread["id"]}, {"id": "999999"})
    await same_as_missing(sport, REPLY, {"id": thread["id"], "body": "Bonjour"}, {"id": "999999", "body": "Bonjour"})
    await same_download_as_missing(sport, url, "/files/message_attachment/999999")
    assert (await sport.ok(HOUSEHOLD_DOCS, id=str(household.id)))["householdDocuments"]["items"] == []  # by type: none required
    assert (await crèche.ok(HOUSEHOLD_DOCS, id=str(household.id)))["householdDocuments"]["items"] == []
