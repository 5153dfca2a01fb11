"""Pages of the messagerie (docs/graphql.md): the threads list and the messages of a thread come by
`limit` / `offset` with a total; a family sees its household's threads, an agent those of their services."""

from __future__ import annotations

from tests.conftest import make_family, make_staff
from tests.messagerie.conftest import CRECHE, START

THREADS = """query($limit: Int! = 50, $offset: Int! = 0) { messagerieThreads(limit: $limit, offset: $offset) {
  total hasMore limit offset items { id householdName status statusLabel } } }"""
MESSAGES = """query($id: ID!, $limit: Int! = 50, $offset: Int! = 0) { messagerieThread(id: $id) {
  messages(limit: $limit, offset: $offset) { total hasMore items { body authorSide authorSideLabel } } } }"""
REPLY = """mutation($id: ID!, $body: String!) { replyMessagerieThread(threadId: $id, body: $body) { id } }"""


async def test_thread_pages_scoped_to_the_caller(gql):
    user, _, _ = await make_family("famille@example.org", name="DUPONT")
    other_user, _, _ = await make_family("autre@example.org", name="MARTIN")
    family, other = await gql.as_user(user), await gql.as_user(other_user)
    created = [(await family.ok(START, service=CRECHE, body=f"Question {i}"))["startMessagerieThread"]["id"]
               for i in range(3)]
    await family.ok(START, service="sport", body="Basket ?")
    await other.ok(START, service=CRECHE, body="Autre foyer")
    creche_agent = await gql.as_user(await make_staff("creche@example.org", services=[CRECHE]))

    first = (await family.ok(THREADS, limit=3))["messagerieThreads"]
    assert (first["total"], first["hasMore"], first["limit"], len(first["items"])) == (4, True, 3, 3)
    assert {t["householdName"] for t in first["items"]} == {"DUPONT"}
    assert first["items"][0]["status"] == "OPEN" and first["items"][0]["statusLabel"] == "Ouverte"
    last = (await family.ok(THREADS, limit=3, offset=3))["messagerieThreads"]
    assert (last["hasMore"], len(last["items"])) == (False, 1)
    assert len({t["id"] for t in first["items"] + last["items"]}) == 4

    # the crèche's agent: the crèche's threads of both households, not the sport one
    staff = (await creche_agent.ok(THREADS, limit=2))["messagerieThreads"]
    assert (staff["total"], staff["hasMore"]) == (4, True)
    assert (await other.ok(THREADS))["messagerieThreads"]["total"] == 1

    for bad in ({"limit": 0}, {"limit": 201}, {"offset": -1}):
        assert await family.code(THREADS, **bad) == "INVALID_PAGE"

    # the messages of one thread, oldest first
    tid = created[0]
    for text in ("Réponse 1", "Réponse 2"):
        await creche_agent.ok(REPLY, id=tid, body=text)
    page = (await family.ok(MESSAGES, id=tid, limit=2, offset=1))["messagerieThread"]["messages"]
    assert (page["total"], page["hasMore"]) == (3, False)
    assert page["items"] == [{"body": "Réponse 1", "authorSide": "SERVICE", "authorSideLabel": "Service"},
                             {"body": "Réponse 2", "authorSide": "SERVICE", "authorSideLabel": "Service"}]
    head = (await family.ok(MESSAGES, id=tid, limit=1))["messagerieThread"]["messages"]
    assert head["hasMore"] is True and head["items"][0]["authorSide"] == "FAMILY"
    assert await family.code(MESSAGES, id=tid, limit=300) == "INVALID_PAGE"
    assert await other.code(MESSAGES, id=tid) == "NOT_FOUND"
