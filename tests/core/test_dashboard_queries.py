"""The family home page query (bench/dashboard.graphql, the one bench_dashboard.py loads) costs a
bounded number of SQL statements: the same with 1 child and few rows as with 4 children, a year of
invoices and a dozen documents, and at most 20 (issue 12, point 8)."""

from __future__ import annotations

from core.testing.dashboard import DASHBOARD_QUERY, dashboard_variables, fill_household
from tests.conftest import make_family
from tests.querycount import count_queries

MAX_STATEMENTS = 20


async def _statements(gql, email: str, children: int, months: int, documents: int, threads: int) -> tuple[int, dict]:
    user, household, _ = await make_family(email, children=0, name=email.split("@")[0].upper())
    await fill_household(household, user, children=children, months=months, documents_per_child=documents,
                         threads=threads)
    client = await gql.as_user(user)
    await client.execute(DASHBOARD_QUERY, dashboard_variables())  # warm: the session look-up is the same every time
    with count_queries() as log:
        result = await client.execute(DASHBOARD_QUERY, dashboard_variables())
    assert "errors" not in result, result.get("errors")
    return log.count, result["data"]


async def test_home_page_query_count_does_not_grow_with_rows(gql):
    # The youngest child has a crèche contract, the others ALSH bookings: two children cover every part.
    small, small_data = await _statements(gql, "petit@example.org", children=2, months=1, documents=1, threads=1)
    big, big_data = await _statements(gql, "grand@example.org", children=4, months=12, documents=3, threads=4)
    assert len(small_data["myHousehold"]["children"]) == 2 and len(big_data["myHousehold"]["children"]) == 4
    assert big_data["myDocuments"]["total"] == 12 and big_data["myInvoices"]["total"] == 24
    assert big_data["messagerieUnreadCount"] == 4 and big_data["messagerieThreads"]["total"] == 4
    assert len(big_data["crechePlanning"]) == 4 and all(len(c["days"]) >= 28 for c in big_data["crechePlanning"])
    youngest_first = [c["id"] for c in big_data["myHousehold"]["children"]][::-1]  # the crèche has the youngest
    assert {e["childId"] for e in big_data["alshPajPlanning"]} == set(youngest_first[1:])
    assert small == big, (small, big)
    assert big <= MAX_STATEMENTS, big
