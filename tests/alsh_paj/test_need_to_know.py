"""Issue 10 §2 for the ALSH / PAJ: the plugin tells core which services a household uses (its
bookings, and bookings made for its children in garde alternée); the ALSH agent then sees its carnet de
santé and absence certificates, an agent of another service gets NOT_FOUND like a missing object."""

from __future__ import annotations

from core.documents.models import Document
from core.files.models import StoredFile
from core.permissions import household_services
from plugins.alsh_paj.models import AlshBooking
from tests.alsh_paj.conftest import make_family, make_setup
from tests.conftest import make_staff
from tests.core.test_need_to_know import same_as_missing, same_download_as_missing

BOOKING = "query($id: ID!) { alshPajBooking(id: $id) { id number } }"
HISTORY = "query($id: ID!) { alshPajBookingHistory(id: $id) { items { toState } } }"
REVIEW = """mutation($id: ID!) { reviewDocument(id: $id, decision: ACCEPT) { status } }"""


async def test_bookings_and_their_documents_only_for_the_services_the_household_uses(gql):
    setup = await make_setup()
    _, household, (kid,) = await make_family("famille@example.org", children=1)
    _, other_parent, _ = await make_family("autre.parent@example.org", children=0, name="AUTRE")
    booking = await AlshBooking.create(number=5, household=household, child=kid, period=setup.period)
    # garde alternée: the other parent's booking for the child makes the child's household use the ALSH too
    await AlshBooking.create(number=6, household=other_parent, child=kid, period=setup.period)
    used = await household_services([household.id, other_parent.id])
    assert used == {household.id: frozenset({"alsh"}), other_parent.id: frozenset({"alsh"})}
    stored = await StoredFile.create(stored_name="x1", original_filename="certificat.pdf",
                                     content_type="application/pdf", size=10, sha256="0" * 64, household=household)
    certificate = await Document.create(household=household, child=kid, type_code="justificatif_absence", file=stored)

    alsh = await gql.as_user(await make_staff("alsh@example.org", services=["alsh"]))
    creche = await gql.as_user(await make_staff("creche@example.org", services=["creche_la_ritournelle"]))
    assert (await alsh.ok(BOOKING, id=str(booking.id)))["alshPajBooking"]["number"] == "00005"
    for query in (BOOKING, HISTORY):
        await same_as_missing(creche, query, {"id": str(booking.id)}, {"id": "999999"})
    # the absence certificate is handled by the ALSH (and the crèches, for a household using one)
    await same_as_missing(creche, REVIEW, {"id": str(certificate.id)}, {"id": "999999"})
    await same_download_as_missing(creche, f"/files/document/{certificate.id}", "/files/document/999999")
    assert (await alsh.ok(REVIEW, id=str(certificate.id)))["reviewDocument"]["status"] == "ACCEPTED"
