"""The two seed guides walked over the demo data, through HTTP, with every plugin on: what a TESTBO
parent (crèche guide) and the CCE parent (ALSH guide) see, and what their agents see."""

from __future__ import annotations

from datetime import timedelta

import pytest

from core.accounts.models import User
from core.billing.service import run_billing
from core.billing.types import BillingPeriod
from core.timeutil import today

HOME = "{ home { actionCount alerts { code count } children { firstName } } }"


@pytest.fixture
async def demo(host):
    await host.demo_data(today())
    end = today().replace(day=1) - timedelta(days=1)
    await run_billing(BillingPeriod(start=end.replace(day=1), end=end))
    # loading twice is harmless
    await host.demo_data(today())


async def as_demo(gql, email: str):
    return await gql.as_user(await User.get(email=email))


async def test_creche_guide_family_side(demo, gql):
    family = await as_demo(gql, "patricia.testbo@demo.portail-famille.fr")
    home = (await family.ok(HOME))["home"]
    assert [c["firstName"] for c in home["children"]] == ["Elena", "Valentine", "Luc", "Chloé"]
    codes = {a["code"] for a in home["alerts"]}
    assert "unread_messages" in codes  # « MESSAGES (2) »
    assert home["actionCount"] == sum(a["count"] for a in home["alerts"])

    household = (await family.ok("{ myHousehold { name city familySituation children { firstName } } }"))["myHousehold"]
    assert (household["name"], household["city"], household["familySituation"]) == ("TESTBO", "LATRESNE", "MARRIED")

    month = today().strftime("%Y-%m")
    planning = (await family.ok("query($m: YearMonth!) { crechePlanning(month: $m) { firstName days { status } } }", m=month))["crechePlanning"]
    luc = next(p for p in planning if p["firstName"] == "Luc")
    assert any(d and d["status"] for d in luc["days"])

    contracts = (await family.ok("{ crecheContracts { items { title pdfUrl } } }"))["crecheContracts"]["items"]
    assert any(c["title"].startswith("Contrat n°33") for c in contracts)
    pdf = await family.download(contracts[0]["pdfUrl"])
    assert pdf.status_code == 200 and pdf.content.startswith(b"%PDF")

    mandates = (await family.ok("{ prelevementMandates { regieCode status maskedIban } }"))["prelevementMandates"]
    assert {m["regieCode"] for m in mandates} == {"cdc", "st_caprais"}
    assert all("*" in m["maskedIban"] for m in mandates)

    threads = (await family.ok("{ messagerieThreads { items { serviceName unreadCount } } messagerieUnreadCount }"))
    assert threads["messagerieUnreadCount"] == 2
    assert (await family.ok("{ messagerieContacts { name phone } }"))["messagerieContacts"]

    tariffs = (await family.ok("{ tariffs { label } }"))["tariffs"]
    assert tariffs


async def test_alsh_guide_family_side(demo, gql):
    family = await as_demo(gql, "cce@demo.portail-famille.fr")
    children = (await family.ok("{ alshPajChildren { firstName } }"))["alshPajChildren"]
    assert {c["firstName"] for c in children} == {"Junior", "Enfant"}
    start = today().replace(day=1)
    months = {start, (start - timedelta(days=1)).replace(day=1), (start + timedelta(days=32)).replace(day=1)}
    entries = []
    for month in months:
        entries += (await family.ok("query($m: YearMonth!) { alshPajPlanning(month: $m) { childName bookingNumber } }",
                                    m=month.isoformat()[:7]))["alshPajPlanning"]
    assert any("Junior" in e["childName"] for e in entries)
    invoices = (await family.ok("{ myInvoices { total hasMore items { number } } }"))["myInvoices"]
    assert invoices["total"] == len(invoices["items"]) and not invoices["hasMore"]


async def test_agents_see_their_services_only(demo, gql):
    creche_agent = await as_demo(gql, "agent.creche@demo.portail-famille.fr")
    alsh_agent = await as_demo(gql, "agent.alsh@demo.portail-famille.fr")
    assert (await creche_agent.ok("{ messagerieThreads { items { serviceName } } }"))["messagerieThreads"]["items"]
    assert (await alsh_agent.ok("{ messagerieThreads { items { serviceName } } }"))["messagerieThreads"]["items"] == []
    found = (await alsh_agent.ok('{ searchHouseholds(text: "TESTBO") { total } }'))["searchHouseholds"]
    assert found["total"] == 1
    waiting = (await creche_agent.ok('{ crecheWaitingList(serviceCode: "creche_la_ritournelle") { total } }'))
    assert waiting["crecheWaitingList"]["total"]
    assert await alsh_agent.code('{ crecheWaitingList(serviceCode: "creche_la_ritournelle") { total } }') in (
        "FORBIDDEN", "NOT_FOUND")


