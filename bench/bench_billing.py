"""Bench: bill N households with 3 lines each (two ALSH days on one régie, a crèche month on another).

Prints, for each size, the run's time and SQL statement count, and a ratio against a baseline
measured in the same database just before: bulk-inserting as many plain rows as the run creates
lines, with Tortoise's bulk_create. Several sizes show whether the run is linear (seconds per
1,000 households should stay flat). Each size gets a fresh throw-away database.

    .venv/bin/python bench/bench_billing.py                         # 10,000 households, SQLite
    .venv/bin/python bench/bench_billing.py --households 10000 50000
    .venv/bin/python bench/bench_billing.py --households 10000 50000 \
        --database-url postgres://postgres@127.0.0.1:5432/postgres   # a bench_* database is created, then dropped
"""

from __future__ import annotations

import argparse
import asyncio
import sys
import time
from datetime import date
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
sys.path.insert(0, str(Path(__file__).resolve().parent))

from _common import is_postgres, throwaway_database  # noqa: E402

from core.billing.types import BillingPeriod, InvoiceLineDraft  # noqa: E402
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



async def one_size(n: int, database_url: str | None) -> tuple[float, float]:
    from tortoise.transactions import in_transaction

    from core.billing.models import Invoice, InvoiceLine
    from core.billing.service import run_billing
    from core.households.models import Household
    from core.mail.models import OutboxMail

    async with throwaway_database(database_url) as (host, _url):
        host.register(BenchLines(), "bench_lines")
        await Household.bulk_create([Household(name=f"FOYER{i}", email=f"f{i}@example.org") for i in range(n)],
                                    batch_size=1000)
        # Baseline: bulk-insert as many plain rows as the run creates lines (in one transaction).
        t0 = time.perf_counter()
        async with in_transaction():
            await OutboxMail.bulk_create([OutboxMail(to="x@example.org", subject="s", text_body="t")
                                          for _ in range(3 * n)], batch_size=1000)
        baseline = time.perf_counter() - t0
        await OutboxMail.all().delete()

        t0, c0 = time.perf_counter(), time.process_time()
        with count_queries() as log:
            result = await run_billing(PERIOD)
        elapsed, cpu = time.perf_counter() - t0, time.process_time() - c0
        t1 = time.perf_counter()
        with count_queries() as log2:
            again = await run_billing(PERIOD)
        elapsed2 = time.perf_counter() - t1

        assert result.invoices == 2 * n and result.lines == 3 * n, result
        assert again.invoices == 0 and again.skipped_lines == 3 * n
        assert await Invoice.all().count() == 2 * n and await InvoiceLine.all().count() == 3 * n
        mails = await OutboxMail.all().count()
        assert mails == 2 * n
        print(f"households: {n}  invoices: {result.invoices}  lines: {result.lines}  mails: {mails}")
        print(f"  billing run: {elapsed:.2f} s ({cpu:.2f} s CPU), {log.count} SQL statements, "
              f"{elapsed / n * 1000:.2f} s per 1,000 households")
        print(f"  second run (idempotent, nothing created): {elapsed2:.2f} s, {log2.count} SQL statements")
        print(f"  baseline bulk insert of {3 * n} plain rows: {baseline:.2f} s")
        print(f"  ratio billing run / baseline: {elapsed / baseline:.1f}x")
        return elapsed, baseline


async def main(sizes: list[int], database_url: str | None) -> None:
    print(f"database: {'PostgreSQL' if is_postgres(database_url) else 'SQLite'}")
    runs = {n: await one_size(n, database_url) for n in sizes}
    if len(sizes) > 1:
        small, big = min(sizes), max(sizes)
        growth = runs[big][0] / runs[small][0]
        print(f"linearity: {big / small:.0f}x the households took {growth:.1f}x the time "
              f"(baseline: {runs[big][1] / runs[small][1]:.1f}x)")
    big = max(sizes)
    if big >= 50_000:
        print(f"target 50,000 households < 30 s: {'OK' if runs[big][0] < 30 else 'TOO SLOW'}")


if __name__ == "__main__":
    parser = argparse.ArgumentParser()
    parser.add_argument("--households", type=int, nargs="+", default=[10_000])
    parser.add_argument("--database-url", default=None, help="postgres://… to bench PostgreSQL (default SQLite)")
    args = parser.parse_args()
    asyncio.run(main(args.households, args.database_url))
