"""Issue 14 point 6: the service side's read state is per agent; the family keeps its own."""

from __future__ import annotations

import asyncio
import os

import pytest

from plugins.messagerie.models import MessageThreadRead
from tests.conftest import make_family, make_staff
from tests.messagerie.conftest import CRECHE, MARK_READ, REPLY, START, THREAD, THREADS, UNREAD

postgres_only = pytest.mark.skipif(not os.environ.get("DATABASE_URL", "").startswith("postgres"),
                                   reason="concurrency is tested on PostgreSQL")


async def _unread(client, thread_id: str) -> tuple[int, int, int]:
    """(thread unreadCount, same in the list, messagerieUnreadCount) as the client sees them."""
    one = (await client.ok(THREAD, id=thread_id))["messagerieThread"]["unreadCount"]
    listed = {t["id"]: t["unreadCount"] for t in (await client.ok(THREADS))["messagerieThreads"]["items"]}
    return one, listed[thread_id], (await client.ok(UNREAD))["messagerieUnreadCount"]


async def test_two_agents_of_one_service_each_have_their_read_state(gql):
    user, _, _ = await make_family()
    family = await gql.as_user(user)
    anne = await gql.as_user(await make_staff("anne@example.org", services=[CRECHE]))
    bruno = await gql.as_user(await make_staff("bruno@example.org", services=[CRECHE]))
    other = await gql.as_user(await make_staff("sport@example.org", services=["sport"]))
    thread = (await family.ok(START, service=CRECHE, body="Bonjour, une question."))["startMessagerieThread"]
    tid = thread["id"]
    assert await _unread(anne, tid) == (1, 1, 1) and await _unread(bruno, tid) == (1, 1, 1)

    # Anne reads: her counts drop, Bruno still sees the message unread
    assert (await anne.ok(MARK_READ, id=tid))["markMessagerieThreadRead"]["unreadCount"] == 0
    assert await _unread(anne, tid) == (0, 0, 0)
    assert await _unread(bruno, tid) == (1, 1, 1)
    # the family sees its message read by the service
    messages = (await family.ok(THREAD, id=tid))["messagerieThread"]["messages"]["items"]
    assert messages[0]["readAt"] is not None
    # an agent of another service cannot mark it: like a missing thread, nothing changes
    assert await other.code(MARK_READ, id=tid) == "NOT_FOUND"
    assert await MessageThreadRead.filter(thread_id=int(tid)).count() == 1

    # Anne answers; the family writes again: Anne has 1 new, Bruno 2; the family its own count
    await anne.ok(REPLY, id=tid, body="Bonjour, voici la réponse.")
    assert await _unread(family, tid) == (1, 1, 1)
    await family.ok(REPLY, id=tid, body="Merci, et pour la semaine prochaine ?")
    assert await _unread(anne, tid) == (1, 1, 1)
    assert await _unread(bruno, tid) == (2, 2, 2)
    assert (await family.ok(MARK_READ, id=tid))["markMessagerieThreadRead"]["unreadCount"] == 0
    assert await _unread(bruno, tid) == (2, 2, 2)  # the family reading changes nothing for the agents
    # answering counts as reading, for the one who answers only
    await bruno.ok(REPLY, id=tid, body="Oui, c'est possible.")
    assert await _unread(bruno, tid) == (0, 0, 0)
    assert await _unread(anne, tid) == (1, 1, 1)


@postgres_only
async def test_concurrent_read_marks_of_one_agent_keep_one_mark(gql):
    user, _, _ = await make_family()
    family = await gql.as_user(user)
    agent = await make_staff("anne@example.org", services=[CRECHE])
    anne = await gql.as_user(agent)
    tid = (await family.ok(START, service=CRECHE, body="Bonjour."))["startMessagerieThread"]["id"]
    results = await asyncio.gather(*(anne.execute(MARK_READ, {"id": tid}) for _ in range(6)))
    assert all(not r.get("errors") for r in results), results
    assert await MessageThreadRead.filter(thread_id=int(tid), agent_id=agent.id).count() == 1
    assert await _unread(anne, tid) == (0, 0, 0)
