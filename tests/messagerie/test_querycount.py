"""The thread list costs the same number of SQL queries for 2 threads or 50 threads of 20 messages:
unread counts and last messages come from aggregated queries, not one query per thread."""

from __future__ import annotations

from datetime import timedelta

from core.accounts.models import Role
from core.timeutil import now
from plugins.messagerie.models import MessageMessage, MessageThread
from tests.conftest import make_family, make_staff
from tests.querycount import count_queries

LIST = """{ messagerieThreads(limit: 100) { total items { id service serviceName householdName childName status assignedToName
  unreadCount awaitingReplySince unansweredMinutes
  lastMessage { id body authorSide authorName attachments { id filename } } } } messagerieUnreadCount }"""
SERVICES = ["creche_la_ritournelle", "alsh", "sport", "jeunesse"]


async def _make_threads(household, kids, family_user, agent, first: int, count: int) -> None:
    start = now() - timedelta(days=10)
    threads = [MessageThread(household=household, service=SERVICES[i % len(SERVICES)], child=kids[i % len(kids)],
                             created_by=family_user, assigned_to=agent, last_message_at=start + timedelta(hours=i))
               for i in range(first, first + count)]
    await MessageThread.bulk_create(threads)
    created = await MessageThread.filter(household=household).order_by("-id").limit(count)
    messages = [MessageMessage(thread=t, author=agent if j % 2 else family_user, from_staff=bool(j % 2),
                               body=f"Message {j} du fil {t.id}", read_at=None if j > 15 else now())
                for t in created for j in range(20)]
    await MessageMessage.bulk_create(messages, batch_size=500)


async def _count(client) -> tuple[int, dict]:
    with count_queries() as log:
        data = await client.ok(LIST)
    return log.count, data


async def test_thread_list_query_count_does_not_grow(gql):
    user, household, kids = await make_family()
    agent = await make_staff(services=SERVICES)
    admin = await make_staff("admin@example.org", role=Role.ADMIN)
    family, staff, boss = await gql.as_user(user), await gql.as_user(agent), await gql.as_user(admin)

    await _make_threads(household, kids, user, agent, 0, 2)
    small = {name: await _count(client) for name, client in (("family", family), ("staff", staff), ("admin", boss))}
    await _make_threads(household, kids, user, agent, 2, 48)
    big = {name: await _count(client) for name, client in (("family", family), ("staff", staff), ("admin", boss))}

    for name in small:
        n_small, _ = small[name]
        n_big, data = big[name]
        assert len(data["messagerieThreads"]["items"]) == 50
        assert n_big == n_small, (name, n_small, n_big)
        assert n_big <= 10, (name, n_big)
    family_data = big["family"][1]
    # Messages 16..19 are unread: 16, 18 by the family (staff unread), 17, 19 by staff (family unread).
    assert all(t["unreadCount"] == 2 for t in family_data["messagerieThreads"]["items"])
    assert family_data["messagerieUnreadCount"] == 100
    assert family_data["messagerieThreads"]["items"][0]["lastMessage"]["body"].startswith("Message 19 ")
