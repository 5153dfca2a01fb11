"""Per-app migrations with Tortoise 1.x's own autodetector: write them (developers) or check (CI)."""

from __future__ import annotations

from dataclasses import replace

from tortoise.context import TortoiseContext
from tortoise.migrations.autodetector import MigrationAutodetector

from core.db import tortoise_config
from core.plugins import PluginHost, available_plugins, load_plugins


def host_with_all_plugins(host: PluginHost) -> PluginHost:
    """Migrations are written for every installed plugin, whatever this community enables."""
    settings = replace(host.settings, enabled_plugins=tuple(sorted(available_plugins())))
    return load_plugins(settings)


async def make_migrations(host: PluginHost, *, check: bool = False) -> list[str]:
    """Returns the `app.migration` names written (or that would be written with `check`)."""
    config = tortoise_config(host_with_all_plugins(host), "sqlite://:memory:")
    async with TortoiseContext() as ctx:
        await ctx.init(config=config)
        writers = await MigrationAutodetector(ctx.apps, config["apps"]).changes()
    names = [f"{w.app_label}.{w.name}" for w in writers]
    if not check:
        for writer in writers:
            writer.write()
    return names
