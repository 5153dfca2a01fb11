"""Bench: a SEPA direct debit batch of 10,000 debits, built and validated against the XSD.

Part 1 (pure): the pain.008 XML of N debits built and validated against the official XSD, for
both formats; the baseline, measured in the same run, is serialising the same XML without
validation. Part 2 (service, SQLite temporary file, skip with --no-service): `build_batch` over N
households with an active mandate and one unpaid invoice each (queries, XML, XSD, pre-notification
mails), with its SQL query count.

    .venv/bin/python bench/bench_sepa.py [--debits 10000] [--no-service]
    .venv/bin/python bench/bench_sepa.py --database-url postgres://postgres@127.0.0.1:5432/postgres
        # the service part on PostgreSQL (a bench_* database is created next to it, then dropped)
"""

from __future__ import annotations

import argparse
import asyncio
import sys
import time
from datetime import date, datetime, timedelta
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
sys.path.insert(0, str(Path(__file__).resolve().parent))

from plugins.prelevement import pain008, rules  # noqa: E402

IBANS = ["FR7630006000011234567890189", "FR1420041010050500013M02606", "DE89370400440532013000"]
BICS = ["AGRIFRPP", "PSSTFRPPXXX", "COBADEFFXXX"]


def lines(n: int) -> list[pain008.DebitLine]:
    out = []
    for i in range(n):
        seq = rules.sequence_type(has_previous_collection=i % 5 != 0)
        out.append(pain008.DebitLine(
            end_to_end_id=f"PF1-{i}", amount_cents=1000 + (i * 37) % 50000,
            rum=rules.build_rum("cdc", i, date(2026, 1, 1), token=f"{i:06X}"[-6:]), signed_on=date(2026, 1, 5),
            debtor_name=f"Famille Numéro {i}", debtor_iban=IBANS[i % 3], debtor_bic=BICS[i % 3],
            sequence_type=seq, remittance=f"Facture CDC-2026-{i:05d}",
            amended=i % 97 == 0, new_debtor_agent=i % 97 == 0))
    return out


def best_of(fn, repeat: int = 3) -> float:
    times = []
    for _ in range(repeat):
        start = time.perf_counter()
        fn()
        times.append(time.perf_counter() - start)
    return min(times)


def pure(n: int) -> float:
    creditor = pain008.Creditor("REGIE CC PORTES ENTRE DEUX MERS", "FR7630001007941234567890185", "BDFEFRPPXXX",
                                "FR72ZZZ123456")
    items = lines(n)
    for fmt in rules.SEPA_FORMATS:
        doc = pain008.Pain008("PF-BENCH-1", datetime(2026, 11, 23, 10), date(2026, 12, 5), creditor, items, fmt)
        pain008.schema(fmt)  # XSD parsed once per process (cached), not part of the measure
        baseline = best_of(lambda doc=doc: pain008.build_xml(doc))
        measured = best_of(lambda doc=doc: pain008.build_and_validate(doc))
        size = len(pain008.build_xml(doc))
        print(f"{fmt}: {n} debits, {size / 1e6:.1f} MB | serialise only {baseline * 1000:.0f} ms | "
              f"build + XSD validation {measured * 1000:.0f} ms | ratio {measured / baseline:.2f}x")
    return measured


async def service(n: int, database_url: str | None, xml_seconds: float) -> None:
    from _common import throwaway_database

    from core.accounts.models import Role, User
    from core.billing.models import Invoice
    from core.households.models import Household
    from core.mail.models import OutboxMail
    from core.permissions import Actor
    from core.testing import count_queries
    from core.timeutil import today
    from plugins.prelevement import service as sepa
    from plugins.prelevement.models import MandateStatus, SepaMandate

    async with throwaway_database(database_url) as (_host, url):
        admin = await User.create(email="admin@bench.local", role=Role.ADMIN, first_name="A", last_name="B")
        await Household.bulk_create([Household(name=f"F{i}", email=f"f{i}@bench.local") for i in range(n)],
                                    batch_size=1000)
        ids = await Household.all().order_by("id").values_list("id", flat=True)
        await SepaMandate.bulk_create([SepaMandate(
            household_id=h, regie_code="cdc", rum=rules.build_rum("cdc", h, today(), token=f"{h:06X}"[-6:]),
            account_holder=f"Famille {h}", iban=IBANS[h % 2], bic=BICS[h % 2], bank_name="BANQUE",
            start_month=today().replace(day=1), status=MandateStatus.ACTIVE, signed_on=today(),
            last_collection_on=None if h % 5 == 0 else today() - timedelta(days=30)) for h in ids], batch_size=1000)
        await Invoice.bulk_create([Invoice(
            number=f"CDC-B-{h:06d}", regie_code="cdc", household_id=h, issued_on=today(), period_start=today(),
            period_end=today(), total_cents=1000 + (h * 37) % 50000) for h in ids], batch_size=1000)
        actor = Actor.for_user(admin)
        with count_queries() as log:
            due = rules.earliest_due_date(today())
            start, cpu_start = time.perf_counter(), time.process_time()
            batch = await sepa.build_batch(actor, "cdc", due)
            elapsed, cpu = time.perf_counter() - start, time.process_time() - cpu_start
        pain008.validate(batch.xml.encode(), batch.sepa_format)
        mails = await OutboxMail.filter(template="prelevement/mail/prenotification").count()
        assert mails == batch.count, mails
        print(f"service build_batch ({'PostgreSQL' if url.startswith('postgres') else 'SQLite'}): {batch.count} debits, "
              f"{rules.amount_text(batch.total_cents)} EUR, {mails} pre-notification mails, {elapsed:.2f} s "
              f"({cpu:.2f} s CPU), "
              f"{log.count} SQL statements ({log.count / batch.count:.3f} per debit)")
        print(f"ratio build_batch / building + validating its XML alone: {elapsed / xml_seconds:.1f}x")
        print(f"target < 3 s: {'OK' if elapsed < 3 else 'TOO SLOW'}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--debits", type=int, default=10_000)
    parser.add_argument("--no-service", action="store_true")
    parser.add_argument("--database-url", default=None, help="postgres://… for the service part (default SQLite)")
    args = parser.parse_args()
    xml_seconds = pure(args.debits)
    if not args.no_service:
        asyncio.run(service(args.debits, args.database_url, xml_seconds))


if __name__ == "__main__":
    main()
