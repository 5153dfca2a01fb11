"""Booking throughput of the ALSH plugin against a baseline measured in the same run.

    .venv/bin/python bench/bench_booking.py            # temporary SQLite database
    DATABASE_URL=postgres://postgres@127.0.0.1:5432/postgres .venv/bin/python bench/bench_booking.py
                                                       # also PostgreSQL (a throw-away database is
                                                       # created next to the given one, then dropped)

Baseline: the same rows (booking + line + event) written with plain inserts, no checks.
Service: `service.submit` (permission, window, age, rules, atomic place counter, numbering, mail
queued), sequentially then with 20 concurrent callers.
"""

from __future__ import annotations

import asyncio
import os
import sys
import tempfile
import time
from dataclasses import replace
from datetime import timedelta
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

N = int(os.environ.get("BENCH_N", "200"))


async def run(db_url: str, label: str) -> None:
    from tortoise import Tortoise

    from core.accounts.models import Role, User
    from core.app import bootstrap
    from core.config import BUNDLED_DEMO_CONFIG, load_settings
    from core.db import init_db
    from core.households.models import Child, Household
    from core.permissions import Actor
    from core.timeutil import now, today
    from plugins.alsh_paj import service
    from plugins.alsh_paj.models import (
        AlshBooking,
        AlshBookingLine,
        AlshEstablishment,
        AlshLineEvent,
        AlshMode,
        AlshPeriod,
    )

    base = load_settings(BUNDLED_DEMO_CONFIG, environ={"DATABASE_URL": db_url, "PORTAIL_PLUGINS": "alsh_paj"})
    raw = {**base.raw, "plugin": {"alsh_paj": {"check_prerequisites": False}}}
    settings = replace(base, raw=raw, storage_path=Path(tempfile.mkdtemp()) / "files")
    host = bootstrap(settings)
    await init_db(host, db_url)
    await Tortoise.generate_schemas()
    try:
        est = await AlshEstablishment.create(name="ALSH BENCH", service_code="alsh")
        mode = await AlshMode.create(establishment=est, name="MERCREDIS")
        start = today()
        period = await AlshPeriod.create(mode=mode, name="Bench", start_date=start, end_date=start + timedelta(weeks=12),
                                         weekdays=[3], opens_at=now() - timedelta(days=1),
                                         closes_at=now() + timedelta(days=10), min_age=0, max_age=99, auto_accept=True)
        period = await AlshPeriod.get(id=period.id).select_related("mode__establishment")
        unit = await service.create_unit(period, "J", "MERCREDI JOURNEE AVEC REPAS", N // 2,
                                         {"method": "flat", "flat_cents": 1000})
        days = [d for d in await service.open_days(period) if d > today()]
        household = await Household.create(name="BENCH", email="bench@example.org")
        user = await User.create(email="bench@example.org", role=Role.FAMILY, household=household,
                                 email_confirmed_at=now())
        birth = start.replace(year=start.year - 8)
        kids = [await Child.create(household=household, first_name=f"E{i}", last_name="BENCH", birth_date=birth)
                for i in range(3 * N)]
        actor = Actor.for_user(user)

        # baseline: plain inserts of the same rows
        t0 = time.perf_counter()
        for i in range(N):
            booking = await AlshBooking.create(number=10_000_000 + i, household=household, child=kids[i],
                                               period=period, created_by=user)
            line = await AlshBookingLine.create(booking=booking, unit=unit, date=days[1], state="acceptee",
                                                holds_place=True)
            await AlshLineEvent.create(line=line, from_state="", to_state="acceptee")
        baseline = N / (time.perf_counter() - t0)

        t0 = time.perf_counter()
        for i in range(N):
            await service.submit(actor, kids[N + i].id, period.id, [service.Selection(days[0], unit.id)])
        sequential = N / (time.perf_counter() - t0)

        sem = asyncio.Semaphore(20)

        async def one(child: Child) -> None:
            async with sem:
                await service.submit(actor, child.id, period.id, [service.Selection(days[2], unit.id)])

        t0 = time.perf_counter()
        await asyncio.gather(*(one(k) for k in kids[2 * N:3 * N]))
        concurrent = N / (time.perf_counter() - t0)
        accepted = await AlshBookingLine.filter(unit=unit, date=days[2], state="acceptee").count()
        assert accepted == unit.capacity, (accepted, unit.capacity)  # never more than the capacity

        print(f"[{label}] {N} bookings each (capacity {unit.capacity}: half accepted, half waiting list)")
        print(f"  baseline plain inserts : {baseline:8.1f} bookings/s")
        print(f"  service, sequential    : {sequential:8.1f} bookings/s  ({sequential / baseline:.0%} of baseline)")
        print(f"  service, 20 concurrent : {concurrent:8.1f} bookings/s  ({concurrent / baseline:.0%} of baseline)")
    finally:
        await Tortoise.close_connections()


async def main() -> None:
    if len(sys.argv) == 3 and sys.argv[1] == "--db":  # one backend per process (Tortoise caches SQL)
        await run(sys.argv[2], "PostgreSQL" if sys.argv[2].startswith("postgres") else "SQLite")
        return
    with tempfile.TemporaryDirectory() as tmp:
        await run(f"sqlite://{tmp}/bench.sqlite3", "SQLite")
    url = os.environ.get("DATABASE_URL", "")
    if url.startswith(("postgres://", "postgresql://")):
        import asyncpg

        dsn = url.replace("postgres://", "postgresql://", 1)
        name = f"bench_alsh_{os.getpid()}"
        conn = await asyncpg.connect(dsn)
        await conn.execute(f'CREATE DATABASE "{name}"')
        await conn.close()
        try:
            target = dsn.rsplit("/", 1)[0].replace("postgresql://", "postgres://", 1) + f"/{name}"
            proc = await asyncio.create_subprocess_exec(sys.executable, __file__, "--db", target)
            await proc.wait()
        finally:
            conn = await asyncpg.connect(dsn)
            await conn.execute(f'DROP DATABASE IF EXISTS "{name}"')
            await conn.close()


if __name__ == "__main__":
    asyncio.run(main())
