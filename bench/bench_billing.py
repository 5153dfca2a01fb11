"""Bench: bill 10,000 households with 3 lines each on SQLite (temporary file).

Prints the run's time and SQL query count, and a ratio against a baseline measured in the same
run: bulk-inserting the same number of plain rows (the lines) with Tortoise's bulk_create.

    .venv/bin/python bench/bench_billing.py [--households 10000]
"""

from __future__ import annotations

import argparse
import asyncio
import sys
import tempfile
import time
from dataclasses import replace
from datetime import date
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from tortoise import Tortoise  # noqa: E402

from core.app import bootstrap  # noqa: E402
from core.billing.types import BillingPeriod, InvoiceLineDraft  # noqa: E402
from core.config import BUNDLED_DEMO_CONFIG, load_settings  # noqa: E402
from core.db import init_db  # noqa: E402
from core.hookspecs import hookimpl  # noqa: E402
from core.testing import count_queries  # noqa: E402

PERIOD = BillingPeriod(date(2026, 3, 1), date(2026, 3, 31))


class BenchLines:
    """Three lines per household: two ALSH days and a crèche month (two régies)."""

    @hookimpl
    async def portail_invoice_lines(self, period: BillingPeriod, household_ids: list[int]) -> list[InvoiceLineDraft]:
        out = []
        for h in household_ids:
            out.append(InvoiceLineDraft(h, "cdc", f"bench:{h}:alsh:1", "MERCREDIS JOURNEE AVEC REPAS", "1", 1300, 1300,
                                        establishment="ALSH BRAUD ET ST LOUIS", service_code="alsh"))
            out.append(InvoiceLineDraft(h, "cdc", f"bench:{h}:alsh:2", "MERCREDI MATIN SANS REPAS", "2", 650, 1300,
                                        establishment="ALSH BRAUD ET ST LOUIS", service_code="alsh"))
            out.append(InvoiceLineDraft(h, "st_caprais", f"bench:{h}:creche", "Accueil régulier (heures)", "12.5", 176,
                                        2200, establishment="Crèche - Petit à Petit",
                                        service_code="creche_petit_a_petit"))
        return out


async def main(n: int) -> None:
    from core.billing.models import Invoice, InvoiceLine
    from core.billing.service import run_billing
    from core.households.models import Household
    from core.mail.models import OutboxMail

    with tempfile.TemporaryDirectory() as tmp:
        settings = replace(load_settings(BUNDLED_DEMO_CONFIG, environ={"DATABASE_URL": f"sqlite://{tmp}/bench.sqlite3"}),
                           storage_path=Path(tmp) / "files")
        host = bootstrap(settings)
        host.register(BenchLines(), "bench_lines")
        await init_db(host)
        await Tortoise.generate_schemas()
        await Household.bulk_create([Household(name=f"FOYER{i}", email=f"f{i}@example.org") for i in range(n)],
                                    batch_size=1000)

        # Baseline: bulk-insert as many plain rows as the run creates lines (in one transaction).
        from tortoise.transactions import in_transaction

        t0 = time.perf_counter()
        async with in_transaction():
            await OutboxMail.bulk_create([OutboxMail(to="x@example.org", subject="s", text_body="t") for _ in range(3 * n)],
                                         batch_size=1000)
        baseline = time.perf_counter() - t0
        await OutboxMail.all().delete()

        t0 = time.perf_counter()
        with count_queries() as log:
            result = await run_billing(PERIOD)
        elapsed = time.perf_counter() - t0
        t1 = time.perf_counter()
        with count_queries() as log2:
            again = await run_billing(PERIOD)
        elapsed2 = time.perf_counter() - t1

        assert result.invoices == 2 * n and result.lines == 3 * n, result
        assert again.invoices == 0 and again.skipped_lines == 3 * n
        assert await Invoice.all().count() == 2 * n and await InvoiceLine.all().count() == 3 * n
        mails = await OutboxMail.all().count()
        print(f"households: {n}  invoices: {result.invoices}  lines: {result.lines}  mails: {mails}")
        print(f"billing run: {elapsed:.2f} s, {log.count} SQL queries")
        print(f"second run (idempotent, nothing created): {elapsed2:.2f} s, {log2.count} SQL queries")
        print(f"baseline bulk insert of {3 * n} plain rows: {baseline:.2f} s")
        print(f"ratio billing run / baseline: {elapsed / baseline:.1f}x")
        await Tortoise.close_connections()
        status = "OK" if elapsed < 60 else "TOO SLOW"
        print(f"target < 60 s: {status}")


if __name__ == "__main__":
    parser = argparse.ArgumentParser()
    parser.add_argument("--households", type=int, default=10_000)
    asyncio.run(main(parser.parse_args().households))
