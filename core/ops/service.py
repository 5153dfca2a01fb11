"""Cluster-wide coordination (leases, advisory locks), migration status and readiness.

One deployment may run N worker processes on M hosts against one database: anything that must
happen once (the hourly maintenance, applying migrations) is decided in the database, never in
process memory.
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import importlib
import logging
import os
import pkgutil
import socket
from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import date, timedelta
from pathlib import Path
from typing import Any
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

from tortoise import connections
from tortoise.exceptions import IntegrityError
from tortoise.expressions import F, Q

from core.ops.models import Lease
from core.plugins import PluginHost
from core.timeutil import now

log = logging.getLogger("portail.ops")

MAINTENANCE = "maintenance"


def holder_id() -> str:
    """Who holds a lease: host and process, so an operator can tell which worker ran a job."""
    return f"{socket.gethostname()}:{os.getpid()}"[:64]


async def take_lease(name: str, *, duration: timedelta, every: timedelta | None = None,
                     force: bool = False) -> str | None:
    """Claim job `name` for `duration`; returns the holder id, or None when another process holds it
    or (unless `force`) it is not due yet. One conditional UPDATE: safe on PostgreSQL and SQLite."""
    with contextlib.suppress(IntegrityError):  # two first-ever runs may both create the row
        await Lease.get_or_create(name=name)
    moment, holder = now(), holder_id()
    free = Q(until__isnull=True) | Q(until__lt=moment)
    if not force:
        free &= Q(next_run_at__isnull=True) | Q(next_run_at__lte=moment)
    values: dict[str, Any] = {"holder": holder, "until": moment + duration, "last_started_at": moment}
    if every is not None:
        values["next_run_at"] = moment + every
    taken = await Lease.filter(free, name=name).update(**values)
    return holder if taken else None


async def release_lease(name: str, holder: str) -> None:
    await Lease.filter(name=name, holder=holder).update(until=None, runs=F("runs") + 1, last_finished_at=now())


async def run_maintenance(host: PluginHost, today: date, *, every: timedelta = timedelta(hours=1),
                          force: bool = False) -> dict[str, int] | None:
    """Run the plugins' maintenance once across the cluster: when due (hourly worker) or now
    (`force`, the CLI) but never while another process runs it. None when skipped."""
    holder = await take_lease(MAINTENANCE, duration=timedelta(minutes=30), every=every, force=force)
    if holder is None:
        log.debug("maintenance skipped: not due or running elsewhere")
        return None
    try:
        done = await host.maintenance(today)
    finally:
        await release_lease(MAINTENANCE, holder)
    log.info("maintenance run", extra={"outcome": "ok", "done": {k: v for k, v in done.items() if v}})
    return done


# ---- migrations under a lock ------------------------------------------------------------------

def _lock_key(name: str) -> int:
    """A stable signed 64-bit key for pg_advisory_lock, derived from a readable name."""
    return int.from_bytes(hashlib.sha256(name.encode()).digest()[:8], "big", signed=True)


def asyncpg_dsn(url: str) -> str:
    """Tortoise's `postgres://…?schema=x` as a plain asyncpg DSN (TLS parameters kept)."""
    parts = urlsplit(url)
    query = [(k, v) for k, v in parse_qsl(parts.query) if k in {"ssl", "sslmode", "sslrootcert"}]
    return urlunsplit(("postgresql", parts.netloc, parts.path, urlencode(query), ""))


@contextlib.asynccontextmanager
async def cluster_lock(database_url: str, name: str) -> AsyncIterator[None]:
    """Hold an exclusive lock named `name` for the whole block, waiting for it if taken.

    PostgreSQL: a session advisory lock on a dedicated connection (the whole cluster sees it).
    SQLite: an flock on a file beside the database (one host by nature).
    """
    if database_url.startswith("postgres"):
        import asyncpg

        conn = await asyncpg.connect(asyncpg_dsn(database_url))
        try:
            await conn.execute("SELECT pg_advisory_lock($1)", _lock_key(name))
            yield
        finally:
            with contextlib.suppress(Exception):
                await conn.execute("SELECT pg_advisory_unlock($1)", _lock_key(name))
            await conn.close()
        return
    path = database_url[len("sqlite://"):].split("?")[0]
    if ":memory:" in path or not path:
        yield
        return
    import fcntl

    lock_path = Path(f"{path}.{name}.lock")
    lock_path.parent.mkdir(parents=True, exist_ok=True)
    with open(lock_path, "w") as handle:
        await asyncio.to_thread(fcntl.flock, handle, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)


# ---- migration status and readiness ------------------------------------------------------------

@dataclass(frozen=True)
class MigrationState:
    app: str
    name: str
    applied: bool


def shipped_migrations(config: dict[str, Any]) -> list[tuple[str, str]]:
    """(app, name) of every migration file of the configured apps (file names sort in order)."""
    found: list[tuple[str, str]] = []
    for label, app in config["apps"].items():
        module = importlib.import_module(app["migrations"])
        names = sorted(name for _, name, is_pkg in pkgutil.iter_modules(module.__path__)
                       if not is_pkg and name[0] not in "_~")
        found += [(label, name) for name in names]
    return found


async def applied_migrations() -> set[tuple[str, str]]:
    """What the migrations table records (empty when it does not exist yet)."""
    conn = connections.get("default")
    try:
        _, rows = await conn.execute_query('SELECT "app", "name" FROM "tortoise_migrations"')
    except Exception as exc:  # no table yet: nothing applied
        if "tortoise_migrations" in str(exc) or "does not exist" in str(exc) or "no such table" in str(exc):
            return set()
        raise
    return {(row["app"], row["name"]) for row in rows}


async def migration_status(config: dict[str, Any]) -> list[MigrationState]:
    applied = await applied_migrations()
    return [MigrationState(app, name, (app, name) in applied) for app, name in shipped_migrations(config)]


async def readiness(config: dict[str, Any], *, within: float = 2.0) -> tuple[bool, dict[str, str]]:
    """Ready when the database answers within `within` seconds and no shipped migration is pending."""
    checks: dict[str, str] = {}
    try:
        pending = await asyncio.wait_for(_pending(config), within)
    except Exception as exc:  # unreachable, refused, timed out, authentication…
        checks["database"] = f"injoignable ({type(exc).__name__})"
        checks["migrations"] = "inconnu"
        return False, checks
    checks["database"] = "ok"
    checks["migrations"] = "ok" if not pending else "en attente : " + ", ".join(f"{a}.{n}" for a, n in pending)
    return not pending, checks


async def _pending(config: dict[str, Any]) -> list[tuple[str, str]]:
    await connections.get("default").execute_query("SELECT 1")
    applied = await applied_migrations()
    return [key for key in shipped_migrations(config) if key not in applied]
