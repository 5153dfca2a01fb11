"""Shared by the benches: a throw-away database (a temporary SQLite file, or a PostgreSQL database
created next to the one given and dropped at the end) with the tables of the demo configuration."""

from __future__ import annotations

import contextlib
import secrets
import sys
import tempfile
from collections.abc import AsyncIterator
from dataclasses import replace
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))


def is_postgres(url: str | None) -> bool:
    return bool(url) and url.startswith(("postgres://", "postgresql://"))  # type: ignore[union-attr]


@contextlib.asynccontextmanager
async def throwaway_database(database_url: str | None, environ: dict[str, str] | None = None,
                             raw: dict[str, Any] | None = None) -> AsyncIterator[tuple[Any, str]]:
    """Yields (settings, database url) with Tortoise initialised and the tables created."""
    from tortoise import Tortoise

    from core.app import bootstrap
    from core.config import BUNDLED_DEMO_CONFIG, load_settings
    from core.db import init_db

    tmp = Path(tempfile.mkdtemp(prefix="portail-bench-"))
    name = ""
    if is_postgres(database_url):
        import asyncpg

        dsn = database_url.replace("postgres://", "postgresql://", 1)  # type: ignore[union-attr]
        name = f"bench_{secrets.token_hex(4)}"
        conn = await asyncpg.connect(dsn)
        await conn.execute(f'CREATE DATABASE "{name}"')
        await conn.close()
        url = dsn.rsplit("/", 1)[0].replace("postgresql://", "postgres://", 1) + f"/{name}"
    else:
        url = f"sqlite://{tmp / 'bench.sqlite3'}"
    try:
        settings = load_settings(BUNDLED_DEMO_CONFIG, environ={**(environ or {}), "DATABASE_URL": url})
        settings = replace(settings, storage_path=tmp / "files", **({"raw": {**settings.raw, **raw}} if raw else {}))
        host = bootstrap(settings)
        await init_db(host, url)
        await Tortoise.generate_schemas()
        try:
            yield host, url
        finally:
            await Tortoise.close_connections()
    finally:
        if name:
            conn = await asyncpg.connect(dsn)
            await conn.execute(f'DROP DATABASE IF EXISTS "{name}"')
            await conn.close()
