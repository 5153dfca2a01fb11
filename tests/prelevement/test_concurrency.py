"""Direct-debit check-then-write rules under concurrent requests through the real app (PostgreSQL):
one live mandate per household and régie, one decision per request."""

from __future__ import annotations

import asyncio
import os

import pytest

from plugins.prelevement.models import MandateStatus, SepaMandate
from tests.conftest import make_family, make_staff
from tests.prelevement.conftest import make_mandate
from tests.prelevement.test_api import REFUSE, REQUEST, VALIDATE, form

pytestmark = pytest.mark.skipif(not os.environ.get("DATABASE_URL", "").startswith("postgres"),
                                reason="row locking is proved on PostgreSQL")


def codes(results: list[dict]) -> list[str]:
    return [r["errors"][0]["extensions"]["code"] if r.get("errors") else "ok" for r in results]


async def test_thirty_parallel_requests_make_one_pending_mandate(gql):
    user, household, _ = await make_family("fam@example.org")
    fam = await gql.as_user(user)
    outcome = codes(await asyncio.gather(*(fam.execute(REQUEST, {"input": form(regieCodes=["cdc"])})
                                           for _ in range(30))))
    assert outcome.count("ok") == 1 and outcome.count("MANDATE_EXISTS") == 29  # same code as one at a time
    assert await SepaMandate.filter(household_id=household.id, regie_code="cdc").count() == 1


async def test_parallel_validate_and_refuse_decide_once(gql):
    _, household, _ = await make_family("fam@example.org")
    mandate = await make_mandate(household, status=MandateStatus.PENDING)
    admin = await gql.as_user(await make_staff("admin@example.org", role="admin"))
    calls = [admin.execute(VALIDATE, {"id": mandate.id}) if i % 2 else
             admin.execute(REFUSE, {"id": mandate.id, "reason": "RIB illisible"}) for i in range(20)]
    outcome = codes(await asyncio.gather(*calls))
    assert outcome.count("ok") == 1 and outcome.count("NOT_PENDING") == 19
    assert (await SepaMandate.get(id=mandate.id)).status in (MandateStatus.ACTIVE, MandateStatus.REFUSED)
