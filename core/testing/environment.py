"""Settings and database for a test run: the demo community with the plugins under test, on
SQLite (a file in a temporary folder) or on PostgreSQL when `DATABASE_URL` names one."""

from __future__ import annotations

import os
from collections.abc import Mapping, Sequence
from dataclasses import replace
from pathlib import Path
from typing import Any

from core.config import BUNDLED_DEMO_CONFIG, Settings, SmtpConfig, load_settings, merge_tables

TEST_SENDER = "Portail <portail@test.local>"


def make_settings(folder: Path, *, plugins: Sequence[str], overrides: Mapping[str, Any] | None = None,
                  smtp_port: int | None = None, environ: Mapping[str, str] | None = None) -> Settings:
    """The demo configuration (core/demo.toml) with `plugins` enabled and `overrides` (TOML-shaped,
    `{"plugin": {"cantine": {...}}}`) merged over it; files under `folder`, mail to 127.0.0.1:`smtp_port`.

    From `environ` (default: the process's) only `DATABASE_URL` (default: a SQLite file in `folder`)
    and `PORTAIL_PLUGINS` (run a subset: `PORTAIL_PLUGINS=creche pytest`) are read."""
    environ = os.environ if environ is None else environ
    chosen = {"DATABASE_URL": environ.get("DATABASE_URL") or f"sqlite://{folder / 'test.sqlite3'}"}
    if environ.get("PORTAIL_PLUGINS") is not None:
        chosen["PORTAIL_PLUGINS"] = environ["PORTAIL_PLUGINS"]
    layered = merge_tables(dict(overrides or {}), {"plugins": {"enabled": list(plugins)}})
    settings = load_settings(BUNDLED_DEMO_CONFIG, environ=chosen, overrides=layered)
    settings = replace(settings, storage_path=folder / "files")
    if smtp_port is not None:
        settings = replace(settings, smtp=SmtpConfig(host="127.0.0.1", port=smtp_port, sender=TEST_SENDER))
    return settings


def is_postgres(url: str) -> bool:
    return url.startswith("postgres")


async def reset_database(settings: Settings) -> None:
    """Drop everything: PostgreSQL's `public` schema, or the SQLite file."""
    if is_postgres(settings.database_url):
        import asyncpg

        conn = await asyncpg.connect(settings.database_url.replace("postgres://", "postgresql://", 1))
        try:
            await conn.execute("DROP SCHEMA public CASCADE; CREATE SCHEMA public;")
        finally:
            await conn.close()
    else:
        Path(settings.database_url[len("sqlite://"):]).unlink(missing_ok=True)


async def create_tables(host: Any) -> None:
    """Open the database and create the tables of core and the enabled plugins from the models
    (faster than migrating); the migrations are recorded as applied (readiness checks them), and
    `portail db makemigrations --check` proves they build the same tables."""
    from tortoise import Tortoise
    from tortoise.migrations.api import migrate

    from core.db import init_db, migration_files

    config = await init_db(host)
    await Tortoise.generate_schemas()
    # A plugin still without its migrations package is tested all the same (`portail db migrate`
    # refuses it): its tables come from the models.
    shipped = {label: app for label, app in config["apps"].items() if migration_files(app["migrations"]) is not None}
    await migrate(config={**config, "apps": shipped}, fake=True)


def tables() -> list[str]:
    from tortoise import Tortoise

    return [model._meta.db_table for app in Tortoise.apps.values() for model in app.values()]


async def empty_tables(settings: Settings) -> None:
    """Delete every row of every table (ids restart at 1), keeping the tables."""
    from tortoise import connections

    conn = connections.get("default")
    names = tables()
    if is_postgres(settings.database_url):
        await conn.execute_script(f"TRUNCATE {', '.join(names)} RESTART IDENTITY CASCADE")
        return
    statements = ["PRAGMA foreign_keys=OFF"] + [f'DELETE FROM "{t}"' for t in names]
    statements += ["DELETE FROM sqlite_sequence", "PRAGMA foreign_keys=ON"]
    for statement in statements:
        try:
            await conn.execute_script(statement)
        except Exception:  # sqlite_sequence exists only once an AUTOINCREMENT table was used
            if "sqlite_sequence" not in statement:
                raise
