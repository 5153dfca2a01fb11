"""Issue 10 §2 for the crèche: the plugin tells core which crèches a household uses (requests,
contracts), so a crèche's agent sees that household's documents and medical data; an agent of another
crèche or service gets NOT_FOUND on its contracts, planning and documents, like a missing object."""

from __future__ import annotations

from core.permissions import household_services
from plugins.creche.models import PlaceRequest
from tests.conftest import make_staff
from tests.core.test_need_to_know import same_as_missing, same_download_as_missing
from tests.creche.test_api import PAP, RIT, family, signed_contract

PLANNING = """query($m: YearMonth!, $h: ID) { crechePlanning(month: $m, householdId: $h) { childId } }"""
HOUSEHOLD_DOCS = """query($id: ID!) { householdDocuments(householdId: $id) { items { typeCode } } }"""
MEDICAL = """query($id: ID!) { child(id: $id) { medical { allergies } } }"""
CONTRACT = "query($id: ID!) { crecheContract(id: $id) { id status } }"


async def test_crèche_objects_only_for_the_crèches_the_household_uses(gql):
    _, household, (kid, other_kid) = await family()
    contract = await signed_contract(household, kid, RIT)
    await PlaceRequest.create(household=household, child=other_kid, wished_services=[RIT], start_date=contract.start_date,
                              days_per_week=4, hours_per_week="32")
    assert (await household_services([household.id]))[household.id] >= {RIT}
    rit = await gql.as_user(await make_staff("rit@example.org", services=[RIT]))
    pap = await gql.as_user(await make_staff("pap@example.org", services=[PAP]))
    sport = await gql.as_user(await make_staff("sport@example.org", services=["sport"]))
    month = contract.start_date.strftime("%Y-%m")

    assert (await rit.ok(CONTRACT, id=str(contract.id)))["crecheContract"]["status"] == "SIGNED"
    assert len((await rit.ok(PLANNING, m=month, h=str(household.id)))["crechePlanning"]) == 2
    assert {d["typeCode"] for d in (await rit.ok(HOUSEHOLD_DOCS, id=str(household.id)))["householdDocuments"]["items"]} == \
        {"justificatif_domicile", "carnet_sante"}
    assert (await rit.ok(MEDICAL, id=str(kid.id)))["child"]["medical"] is not None

    # documents go by type: another crèche requires the same ones (a family applying there sends no new
    # copy), the sport service none of them
    assert {d["typeCode"] for d in (await pap.ok(HOUSEHOLD_DOCS, id=str(household.id)))["householdDocuments"]["items"]} == \
        {"justificatif_domicile", "carnet_sante"}
    assert (await sport.ok(HOUSEHOLD_DOCS, id=str(household.id)))["householdDocuments"]["items"] == []
    for agent in (pap, sport):
        await same_as_missing(agent, CONTRACT, {"id": str(contract.id)}, {"id": "999999"})
        await same_as_missing(agent, PLANNING, {"m": month, "h": str(household.id)}, {"m": month, "h": "999999"})
        result = await agent.execute(MEDICAL, {"id": str(kid.id)})
        assert result["data"]["child"]["medical"] is None
        assert result["errors"][0]["extensions"]["code"] == "NOT_FOUND"
        await same_download_as_missing(agent, f"/files/creche_contract/{contract.id}", "/files/creche_contract/999999")
