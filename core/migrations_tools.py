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


async def _changes(config: dict) -> list:
    async with TortoiseContext() as ctx:
        await ctx.init(config=config)
        return await MigrationAutodetector(ctx.apps, config["apps"]).changes()


async def make_migrations(host: PluginHost, *, check: bool = False) -> list[str]:
    """Returns the `app.migration` names written (or that would be written with `check`).

    Core is written first: the autodetector makes a plugin's migration depend on core's latest one
    only when that one is already on disk, and plugins' foreign keys point to core.
    """
    config = tortoise_config(host_with_all_plugins(host), "sqlite://:memory:")
    core_only = {**config, "apps": {"core": config["apps"]["core"]}}
    names: list[str] = []
    for pass_config in (core_only, config):
        writers = await _changes(pass_config)
        names += [f"{w.app_label}.{w.name}" for w in writers]
        if check:
            if names:
                break
            continue
        for writer in writers:
            writer.write()
    return names
