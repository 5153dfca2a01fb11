"""Tortoise set-up: one app per plugin (and `core`), each with its own migrations package."""

from __future__ import annotations

import importlib
from typing import Any

from tortoise import Tortoise

from core.plugins import PluginHost


def migrations_module(models_modules: list[str]) -> str:
    """`plugins.creche.models` -> `plugins.creche.migrations`; core's live in `core.migrations`."""
    first = models_modules[0]
    package = "core" if first.startswith("core.") else first.rsplit(".", 1)[0]
    return f"{package}.migrations"


def tortoise_config(host: PluginHost, database_url: str | None = None) -> dict[str, Any]:
    apps = {
        label: {"models": modules, "default_connection": "default", "migrations": migrations_module(modules)}
        for label, modules in host.tortoise_apps().items()
    }
    return {
        "connections": {"default": database_url or host.settings.database_url},
        "apps": apps,
        "use_tz": True,
        "timezone": "Europe/Paris",
    }


def _ensure_sqlite_folder(url: str) -> None:
    if url.startswith("sqlite://") and ":memory:" not in url:
        from pathlib import Path

        Path(url[len("sqlite://"):].split("?")[0]).parent.mkdir(parents=True, exist_ok=True)


async def init_db(host: PluginHost, database_url: str | None = None) -> dict[str, Any]:
    config = tortoise_config(host, database_url)
    _ensure_sqlite_folder(config["connections"]["default"])
    # The global fallback lets request tasks see the connections the lifespan task opened.
    await Tortoise.init(config=config, _enable_global_fallback=True)
    return config


async def migrate(host: PluginHost, database_url: str | None = None) -> None:
    """Apply the shipped migrations of core and every enabled plugin, under a cluster-wide lock
    (PostgreSQL advisory lock): a second `portail db migrate`, or every worker of a rolling
    deployment migrating at once, waits and then finds nothing left to do."""
    from tortoise.migrations.api import migrate as run_migrations

    from core.ops.service import cluster_lock

    config = tortoise_config(host, database_url)
    _ensure_sqlite_folder(config["connections"]["default"])
    for app in config["apps"].values():
        importlib.import_module(app["migrations"])
    async with cluster_lock(config["connections"]["default"], "portail.migrate"):
        await run_migrations(config=config)


async def close_db() -> None:
    await Tortoise.close_connections()


async def lock_rows(model: Any, ids: list[int]) -> list[Any]:
    """SELECT … FOR UPDATE on these rows, in id order so two callers never wait on each other in a
    cycle (PostgreSQL; SQLite serialises writers anyway). Call inside a transaction: the locks last
    until it ends, so a check made after them sees every write that committed before. Awaited as
    objects on purpose: Tortoise drops FOR UPDATE from values() / values_list() queries."""
    return await model.filter(id__in=sorted(set(ids))).order_by("id").select_for_update()
