"""Fee revisions under concurrent maintenance runs on PostgreSQL: each revision recorded and mailed once."""

from __future__ import annotations

import asyncio
import os

import pytest

from core.mail.models import OutboxMail
from core.timeutil import today
from plugins.creche import service
from plugins.creche.models import FeeChange
from tests.conftest import make_family
from tests.creche.test_fees_api import _contract_march_2025

pytestmark = pytest.mark.skipif(not os.environ.get("DATABASE_URL", "").startswith("postgres"),
                                reason="needs PostgreSQL (DATABASE_URL=postgres://…)")


async def test_concurrent_maintenance_records_and_mails_each_revision_once(settings):
    contracts = []
    for i in range(5):
        _, household, kids = await make_family(f"f{i}@example.org", name=f"F{i}", children=1)
        household.reference_income_cents = 12_000_000
        await household.save()
        contracts.append(await _contract_march_2025(household, kids[0]))
    results = await asyncio.gather(*[service.notify_fee_changes(today()) for _ in range(4)])
    assert sum(results) == 5  # the 1 September 2025 plafond, once per contract
    assert await FeeChange.all().count() == 5
    assert await OutboxMail.filter(template="creche/mail/fee_revised").count() == 5
