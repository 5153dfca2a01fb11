"""Bench: the family home page (`bench/dashboard.graphql`) through the real app against a
hand-written Starlette endpoint running raw SQL (`bench/dashboard_baseline.py`) that returns the
same JSON, both served by uvicorn over real HTTP (issue 12, point 7).

Data: 5,001 households with a year of invoices, and TESTBO (4 children, a year of invoices on two
régies, 12 documents, 4 message threads with unread replies, this month's planning: a crèche
contract with its attendance, ALSH bookings on every weekday for three children), news: about
55 KB of JSON and 2,500 fields. The two answers for TESTBO are
compared first (they must be equal). Then both are loaded with 1 and 20 concurrent clients,
interleaved (app, baseline, app, baseline… in short rounds, so that a change in the machine's load
hits both), and the bench prints p50 / p95 / requests per second, the CPU time each server process
spent per request (Linux /proc) and the ratios app / baseline.

    .venv/bin/python bench/bench_dashboard.py                                  # SQLite
    .venv/bin/python bench/bench_dashboard.py --database-url postgres://postgres@127.0.0.1:5432/postgres
        # a bench_* database is created next to the given one, then dropped
    … --compare-root ../other-checkout      # also that checkout's app on the same data (before/after)
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import socket
import statistics
import subprocess
import sys
import time
from datetime import timedelta
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(Path(__file__).resolve().parent))

import httpx  # noqa: E402
from _common import is_postgres, throwaway_database  # noqa: E402

TARGET_RATIO = 1.5


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


async def build(households: int) -> str:
    """The data; returns TESTBO's session token."""
    from core.billing.models import Invoice
    from core.households.models import Household
    from core.news.models import NewsItem
    from core.testing.dashboard import fill_household
    from core.testing.factories import make_family, session_token
    from core.timeutil import today

    others = households - 1
    await Household.bulk_create([Household(name=f"FOYER{i}", email=f"f{i}@bench.local", postal_code="33360",
                                           city="LATRESNE") for i in range(others)], batch_size=1000)
    ids = await Household.all().order_by("id").values_list("id", flat=True)
    day = today()
    await Invoice.bulk_create([Invoice(number=f"CDC-{h}-{m:02d}", regie_code="cdc", household_id=h,
                                       issued_on=day - timedelta(days=30 * m), period_start=day, period_end=day,
                                       total_cents=3000 + m, paid_cents=3000 + m, status="soldee")
                               for h in ids for m in range(12)], batch_size=2000)
    await NewsItem.bulk_create([NewsItem(title=f"Actualité {i}", body="Les inscriptions sont ouvertes. " * 8,
                                         service_code="alsh" if i % 2 else "", published_on=day - timedelta(days=i))
                                for i in range(10)])
    user, household, _ = await make_family("testbo@bench.local", children=0, name="TESTBO")
    await fill_household(household, user, children=4, months=12, documents_per_child=3, threads=4)
    return await session_token(user, lifetime=timedelta(days=1))


def serve(app: str, url: str, port: int, root: Path = ROOT) -> subprocess.Popen:
    from core.config import BUNDLED_DEMO_CONFIG

    env = {**os.environ, "DATABASE_URL": url, "PORTAIL_CONFIG": str(BUNDLED_DEMO_CONFIG), "PYTHONPATH": str(root)}
    return subprocess.Popen([sys.executable, "-m", "uvicorn", "--factory", app, "--port", str(port),
                             "--log-level", "warning", "--no-access-log"], cwd=root, env=env,
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)


async def wait_up(client: httpx.AsyncClient, url: str) -> None:
    for _ in range(300):
        try:
            await client.get(url)
            return
        except httpx.TransportError:
            await asyncio.sleep(0.2)
    raise RuntimeError(f"{url} did not start")


def cpu_seconds(proc: subprocess.Popen) -> float:
    """User + system CPU time of a server process so far (Linux /proc; 0 elsewhere)."""
    try:
        fields = Path(f"/proc/{proc.pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return 0.0
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


async def load(client: httpx.AsyncClient, call, requests: int, clients: int) -> tuple[list[float], float]:
    latencies: list[float] = []
    left = [requests]

    async def worker() -> None:
        while left[0] > 0:
            left[0] -= 1
            t = time.perf_counter()
            response = await call(client)
            latencies.append(time.perf_counter() - t)
            assert response.status_code == 200, response.text[:300]

    start = time.perf_counter()
    await asyncio.gather(*(worker() for _ in range(clients)))
    return latencies, time.perf_counter() - start


async def main(args: argparse.Namespace) -> None:
    from core.testing.dashboard import DASHBOARD_QUERY as query
    from core.testing.dashboard import dashboard_variables

    label = "PostgreSQL" if is_postgres(args.database_url) else "SQLite"
    async with throwaway_database(args.database_url) as (_host, url):
        t0 = time.perf_counter()
        token = await build(args.households)
        print(f"{label}: {args.households} households built in {time.perf_counter() - t0:.1f} s")
        app_port, base_port = free_port(), free_port()
        procs = [serve("core.app:create_app", url, app_port), serve("bench.dashboard_baseline:create_app", url,
                                                                    base_port)]
        old_port = free_port()
        if args.compare_root:  # the same app from another checkout (e.g. before a change), same data
            procs.append(serve("core.app:create_app", url, old_port, Path(args.compare_root).resolve()))
        headers = {"Authorization": f"Bearer {token}"}
        body = {"query": query, "operationName": "Dashboard", "variables": dashboard_variables()}
        limits = httpx.Limits(max_connections=64, max_keepalive_connections=64)
        try:
            async with httpx.AsyncClient(timeout=60, limits=limits) as client:
                await wait_up(client, f"http://127.0.0.1:{app_port}/health")
                await wait_up(client, f"http://127.0.0.1:{base_port}/")
                if args.compare_root:
                    await wait_up(client, f"http://127.0.0.1:{old_port}/health")

                def app(c: httpx.AsyncClient):
                    return c.post(f"http://127.0.0.1:{app_port}/graphql", json=body, headers=headers)

                def base(c: httpx.AsyncClient):
                    return c.post(f"http://127.0.0.1:{base_port}/dashboard", headers=headers)

                def old(c: httpx.AsyncClient):
                    return c.post(f"http://127.0.0.1:{old_port}/graphql", json=body, headers=headers)

                servers = [("app", app), ("baseline", base)] + ([("compared", old)] if args.compare_root else [])
                process = dict(zip([name for name, _ in servers], procs, strict=True))
                got, expected = (await app(client)).json(), (await base(client)).json()
                assert got == expected, "the app and the baseline disagree:\n" + json.dumps(got)[:2000]
                size = len((await app(client)).content)
                print(f"TESTBO answer: {size / 1000:.1f} KB of JSON, identical from both servers")
                for _ in range(20):  # warm both (caches, connections)
                    await app(client)
                    await base(client)
                for clients in args.clients:
                    runs: dict[str, tuple[list[float], float]] = {name: ([], 0.0) for name, _ in servers}
                    cpu = {name: 0.0 for name, _ in servers}
                    per_round = max(clients, args.requests // args.rounds)
                    for r in range(args.rounds):
                        order = servers if r % 2 == 0 else servers[::-1]
                        for name, call in order:
                            before = cpu_seconds(process[name])
                            lat, spent = await load(client, call, per_round, clients)
                            cpu[name] += cpu_seconds(process[name]) - before
                            runs[name] = (runs[name][0] + lat, runs[name][1] + spent)
                    stats = {}
                    for name, (lat, spent) in runs.items():
                        q = statistics.quantiles(lat, n=20)
                        stats[name] = (statistics.median(lat) * 1000, q[18] * 1000, len(lat) / spent)
                        print(f"{clients:>2} client(s) {name:<8}: p50 {stats[name][0]:6.1f} ms  p95 {stats[name][1]:6.1f} ms"
                              f"  {stats[name][2]:6.1f} req/s  server CPU {cpu[name] / len(lat) * 1000:5.2f} ms/request"
                              f"  ({len(lat)} requests)")
                    ratio = stats["app"][0] / stats["baseline"][0]
                    rps = stats["baseline"][2] / stats["app"][2]
                    print(f"{clients:>2} client(s) ratio app / baseline: p50 {ratio:.2f}x, throughput {rps:.2f}x")
                    if "compared" in stats:
                        print(f"{clients:>2} client(s) ratio compared / baseline: p50 "
                              f"{stats['compared'][0] / stats['baseline'][0]:.2f}x, throughput "
                              f"{stats['baseline'][2] / stats['compared'][2]:.2f}x")
                    if clients >= 20:
                        verdict = "OK" if rps <= TARGET_RATIO else "ABOVE TARGET"
                        print(f"target within {TARGET_RATIO}x at {clients} clients ({label}): {verdict}")
        finally:
            for proc in procs:
                proc.terminate()
            for proc in procs:
                proc.wait(timeout=20)


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--database-url", default=None, help="postgres://… (default: a temporary SQLite file)")
    parser.add_argument("--households", type=int, default=5002)
    parser.add_argument("--requests", type=int, default=400, help="requests per server and client count")
    parser.add_argument("--rounds", type=int, default=8, help="interleaved rounds per client count")
    parser.add_argument("--clients", type=int, nargs="+", default=[1, 20])
    parser.add_argument("--compare-root", default=None,
                        help="also serve the app from this checkout (e.g. a clone of main before a change), interleaved")
    asyncio.run(main(parser.parse_args()))
