"""Concurrent erasures of one household on PostgreSQL: the household row is locked, so exactly one
erases it and the others answer NOT_FOUND; it is audited once."""

from __future__ import annotations

import asyncio
import os

import pytest

from core.households.models import AuditLog
from tests.conftest import make_family, make_staff

pytestmark = pytest.mark.skipif(not os.environ.get("DATABASE_URL", "").startswith("postgres"),
                                reason="needs PostgreSQL (DATABASE_URL=postgres://…)")

ERASE = "mutation($h: ID!) { eraseHousehold(householdId: $h) { ok } }"


async def test_concurrent_erasures_erase_once(gql):
    _, household, _ = await make_family()
    admin = await gql.as_user(await make_staff("admin@example.org", role="admin"))
    results = await asyncio.gather(*[admin.execute(ERASE, {"h": str(household.id)}) for _ in range(6)])
    ok = [r for r in results if not r.get("errors")]
    codes = sorted(r["errors"][0]["extensions"]["code"] for r in results if r.get("errors"))
    assert len(ok) == 1 and codes == ["NOT_FOUND"] * 5
    assert await AuditLog.filter(action="rgpd_erase", household_id=household.id).count() == 1
