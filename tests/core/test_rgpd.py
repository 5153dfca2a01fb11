"""RGPD through HTTP: a family exports its own data only; an admin erases a household (files included)."""

from __future__ import annotations

from core.accounts.models import User
from core.files.service import _path, store_bytes
from core.households.models import AuditLog, Child, Household
from tests.conftest import make_family, make_staff

EXPORT = "query($h: ID) { personalDataExport(householdId: $h) }"
ERASE = "mutation($h: ID!) { eraseHousehold(householdId: $h) { ok } }"
PDF = b"%PDF-1.4\n1 0 obj<<>>endobj\ntrailer<<>>\n%%EOF"


async def test_family_exports_its_own_household_only(gql):
    user, household, _ = await make_family(children=2)
    _, other, _ = await make_family("autre@example.org", name="AUTRE")
    client = await gql.as_user(user)
    export = (await client.ok(EXPORT))["personalDataExport"]
    assert "DUPONT" in str(export["household"])
    assert "Enfant1" in str(export)
    assert "AUTRE" not in str(export)
    assert export["invoices"] == []  # accounting records are part of the export (none yet)
    assert await client.code(EXPORT, h=str(other.id)) == "NOT_FOUND"


async def test_agent_cannot_export_admin_can_and_is_audited(gql):
    _, household, _ = await make_family()
    agent = await make_staff(services=["alsh"])
    assert await (await gql.as_user(agent)).code(EXPORT, h=str(household.id)) == "FORBIDDEN"
    admin = await make_staff("admin@example.org", role="admin")
    assert "Enfant1" in str((await (await gql.as_user(admin)).ok(EXPORT, h=str(household.id)))["personalDataExport"])
    assert await AuditLog.exists(action="rgpd_export", household_id=household.id)


async def test_admin_erases_household_and_its_files(gql):
    user, household, _ = await make_family()
    stored = await store_bytes("justificatif.pdf", PDF, household_id=household.id, uploaded_by_id=user.id)
    assert _path(stored.stored_name).exists()
    agent = await make_staff(services=["alsh"])
    assert await (await gql.as_user(agent)).code(ERASE, h=str(household.id)) == "FORBIDDEN"
    admin = await make_staff("admin@example.org", role="admin")
    await (await gql.as_user(admin)).ok(ERASE, h=str(household.id))
    assert not _path(stored.stored_name).exists()
    assert (await Household.get(id=household.id)).erased_at is not None
    member = await User.get(id=user.id)
    assert member.is_active is False and "famille@example.org" != member.email
    assert all(c.first_name != "Enfant1" for c in await Child.filter(household_id=household.id))
    # erased twice: not found
    assert await (await gql.as_user(admin)).code(ERASE, h=str(household.id)) == "NOT_FOUND"
