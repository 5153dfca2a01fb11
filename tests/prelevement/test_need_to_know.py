"""Issue 10 §2 for direct debit: a mandate is shown to the agents of its régie only for a household
using one of their services (core.permissions); the signed mandate and the RIB, documents handled by
the régie's agents, likewise. Anything else answers like a missing object."""

from __future__ import annotations

from plugins.prelevement.models import MandateStatus
from tests.conftest import make_family, make_staff, uses_service
from tests.core.test_need_to_know import same_as_missing, same_download_as_missing
from tests.prelevement.conftest import PDF, make_mandate
from tests.prelevement.test_api import REGIE_MANDATES, UPLOAD, VALIDATE

MANDATE = "query($id: ID!) { prelevementMandate(id: $id) { id status } }"
MANDATES = "query($h: ID) { prelevementMandates(householdId: $h) { id } }"


async def test_mandates_only_for_households_using_the_agents_services(gql):
    user, household, _ = await make_family("famille@example.org")
    await uses_service(household, "alsh")
    mandate = await make_mandate(household, "cdc", status=MandateStatus.PENDING)
    result = await (await gql.as_user(user)).upload(UPLOAD, {"id": str(mandate.id), "kind": "RIB"},
                                                    {"file": ("rib.pdf", PDF, "application/pdf")})
    rib_url = f"/files/document/{result['data']['uploadPrelevementDocument']['documentId']}"
    alsh = await gql.as_user(await make_staff("alsh@example.org", services=["alsh"]))
    # jeunesse is billed by the same régie (cdc), but the household does not use it
    jeunesse = await gql.as_user(await make_staff("jeunesse@example.org", services=["jeunesse"]))

    await same_as_missing(jeunesse, MANDATE, {"id": str(mandate.id)}, {"id": "999999"})
    await same_as_missing(jeunesse, VALIDATE, {"id": str(mandate.id)}, {"id": "999999"})
    assert (await jeunesse.ok(MANDATES, h=str(household.id)))["prelevementMandates"] == []
    assert (await jeunesse.ok(REGIE_MANDATES, regie="cdc"))["prelevementRegieMandates"]["items"] == []
    await same_download_as_missing(jeunesse, f"/files/sepa_mandate/{mandate.id}", "/files/sepa_mandate/999999")
    await same_download_as_missing(jeunesse, rib_url, "/files/document/999999")

    assert (await alsh.ok(MANDATE, id=str(mandate.id)))["prelevementMandate"]["status"] == "PENDING"
    assert [m["id"] for m in (await alsh.ok(REGIE_MANDATES, regie="cdc"))["prelevementRegieMandates"]["items"]] == [str(mandate.id)]
    assert (await alsh.download(rib_url)).status_code == 200
    assert (await alsh.ok(VALIDATE, id=str(mandate.id)))["validatePrelevementMandate"]["status"] == "ACTIVE"
