"""Concurrent billing runs on PostgreSQL: no duplicate number, no line billed twice, no gap."""

from __future__ import annotations

import asyncio
import os

import pytest
from tortoise.transactions import in_transaction

from core.billing.models import Invoice, InvoiceLine
from core.billing.service import allocate_numbers, ensure_sequence, run_billing
from core.timeutil import today
from tests.billing.conftest import MARCH
from tests.conftest import make_family

pytestmark = pytest.mark.skipif(not os.environ.get("DATABASE_URL", "").startswith("postgres"),
                                reason="needs PostgreSQL (DATABASE_URL=postgres://…)")


async def test_concurrent_number_allocation():
    year = today().year
    await ensure_sequence("cdc", year)

    async def take(n: int) -> list[str]:
        async with in_transaction():
            numbers = await allocate_numbers("cdc", year, n)
            await asyncio.sleep(0.01)
            return numbers

    results = await asyncio.gather(*[take(3) for _ in range(8)])
    flat = [n for batch in results for n in batch]
    assert len(flat) == len(set(flat)) == 24
    assert sorted(flat) == [f"CDC-{year}-{i:05d}" for i in range(1, 25)]


async def test_concurrent_runs_bill_each_line_once(lines_plugin):
    fams = [await make_family(f"f{i}@example.org", name=f"F{i}", children=1) for i in range(30)]
    for _, h, k in fams:
        lines_plugin.add(h.id, f"x:{h.id}", "Repas", "1", 350, child_id=k[0].id)
        lines_plugin.add(h.id, f"y:{h.id}", "Garderie", "2", 120, child_id=k[0].id, regie="st_caprais")
    results = await asyncio.gather(*[run_billing(MARCH, batch_size=7) for _ in range(4)])
    assert sum(r.invoices for r in results) == 60
    assert await Invoice.all().count() == 60 and await InvoiceLine.all().count() == 60
    year = today().year
    for prefix, regie in (("CDC", "cdc"), ("STC", "st_caprais")):
        numbers = sorted(await Invoice.filter(regie_code=regie).values_list("number", flat=True))
        assert numbers == [f"{prefix}-{year}-{i:05d}" for i in range(1, 31)]  # unique, no gap
