"""The plugin host: a thin typed wrapper over pluggy's PluginManager.

`load_plugins(settings)` registers core (always on) and the enabled plugins found in the
`portail.plugins` entry point group; `check_pending()` makes a misspelt hookimpl fail at start-up.
"""

from __future__ import annotations

import importlib
import inspect
from dataclasses import dataclass
from importlib.metadata import entry_points
from types import ModuleType
from typing import TYPE_CHECKING, Any

import pluggy

from core import hookspecs
from core.config import ConfigError, validate_plugin_section

if TYPE_CHECKING:
    from datetime import date

    from core.billing.types import BillingPeriod, InvoiceLineDraft
    from core.config import Settings
    from core.contributions import (
        Alert,
        DemarcheType,
        DocumentType,
        DownloadHandler,
        GraphQLContribution,
    )
    from core.permissions import Actor
    from core.rgpd.rules import RetentionPolicy

ENTRY_POINT_GROUP = "portail.plugins"


class PluginConfigError(ConfigError):
    """An enabled plugin that is not installed, or a plugin table its model refuses."""


def available_plugins() -> dict[str, str]:
    """Installed plugins: `{name: module path}` from the entry point group."""
    return {ep.name: ep.value for ep in entry_points(group=ENTRY_POINT_GROUP)}


async def _await_all(results: list[Any]) -> list[Any]:
    return [await r if inspect.isawaitable(r) else r for r in results]


@dataclass
class PluginHost:
    """What core asks of plugins, one typed method per hook."""

    pm: pluggy.PluginManager
    settings: Settings
    enabled: tuple[str, ...]

    # ---- registration helpers -------------------------------------------------------------
    def register(self, plugin: ModuleType | object, name: str) -> None:
        self.pm.register(plugin, name=name)
        self.pm.check_pending()

    def unregister(self, name: str) -> None:
        plugin = self.pm.get_plugin(name)
        if plugin is not None:
            self.pm.unregister(plugin)

    def plugin_names(self) -> list[str]:
        return [name for name, _ in self.pm.list_name_plugin()]

    # ---- sync hooks -----------------------------------------------------------------------
    def tortoise_apps(self) -> dict[str, list[str]]:
        apps: dict[str, list[str]] = {}
        for contribution in reversed(self.pm.hook.portail_models()):
            for label, modules in contribution.items():
                apps.setdefault(label, []).extend(modules)
        return apps

    def graphql_contributions(self) -> list[GraphQLContribution]:
        out: list[GraphQLContribution] = []
        for contribution in reversed(self.pm.hook.portail_graphql()):
            out.extend(contribution if isinstance(contribution, list | tuple) else [contribution])
        return out

    def template_dirs(self) -> dict[str, str]:
        dirs: dict[str, str] = {}
        for contribution in self.pm.hook.portail_template_dirs():
            dirs.update(contribution)
        return dirs

    def document_types(self) -> list[DocumentType]:
        return [t for batch in reversed(self.pm.hook.portail_document_types(settings=self.settings)) for t in batch]

    def demarche_types(self) -> list[DemarcheType]:
        return [t for batch in reversed(self.pm.hook.portail_demarche_types(settings=self.settings)) for t in batch]

    def downloads(self) -> dict[str, DownloadHandler]:
        handlers: dict[str, DownloadHandler] = {}
        for contribution in self.pm.hook.portail_downloads():
            handlers.update(contribution)
        return handlers

    def error_codes(self) -> dict[str, str]:
        """`{CODE: meaning}` of core and every enabled plugin (the first meaning given wins)."""
        codes: dict[str, str] = {}
        for contribution in reversed(self.pm.hook.portail_error_codes()):
            for code, meaning in (contribution or {}).items():
                codes.setdefault(code, meaning)
        return codes

    def config_models(self) -> dict[str, Any]:
        """`{plugin name: model of its [plugin.<name>] table}` for the plugins that declare one."""
        return {impl.plugin_name: impl.function() for impl in self.pm.hook.portail_config_model.get_hookimpls()}

    def validate_config(self) -> None:
        """Each plugin's table through its own model; a table for no installed plugin is refused."""
        known = {*available_plugins(), *self.plugin_names()}
        origin = self.settings.origin
        lines = []
        for name in self.settings.raw.get("plugin", {}):
            if name not in known:
                where = origin.line(("plugin", name), "plugin inconnu") if origin else f"[plugin.{name}] : plugin inconnu"
                lines.append(f"{where} (installés : {', '.join(sorted(available_plugins())) or 'aucun'})")
        for name, model in self.config_models().items():
            try:
                validate_plugin_section(self.settings, name, model)
            except ConfigError as exc:
                lines.extend(exc.lines)
        if lines:
            raise PluginConfigError(lines)

    def startup(self) -> None:
        """Every plugin's start-up check; a refusal becomes one line naming the plugin."""
        label = self.settings.origin.label() if self.settings.origin else "configuration"
        lines = []
        for impl in self.pm.hook.portail_startup.get_hookimpls():
            try:
                impl.function(settings=self.settings)
            except ConfigError as exc:
                lines.extend(exc.lines)
            except (ValueError, TypeError, KeyError) as exc:
                lines.append(f"{label}: plugin « {impl.plugin_name} » : {exc}")
        if lines:
            raise PluginConfigError(lines)

    # ---- async hooks ----------------------------------------------------------------------
    async def invoice_lines(self, period: BillingPeriod, household_ids: list[int]) -> list[InvoiceLineDraft]:
        results = await _await_all(self.pm.hook.portail_invoice_lines(period=period, household_ids=household_ids))
        return [line for batch in results for line in (batch or [])]

    async def household_services(self, household_ids: list[int]) -> dict[int, frozenset[str]]:
        merged: dict[int, set[str]] = {hid: set() for hid in household_ids}
        for part in await _await_all(self.pm.hook.portail_household_services(household_ids=household_ids)):
            for hid, codes in (part or {}).items():
                if hid in merged:
                    merged[hid].update(codes)
        return {hid: frozenset(codes) for hid, codes in merged.items()}

    async def alerts(self, actor: Actor, household_id: int) -> list[Alert]:
        results = await _await_all(self.pm.hook.portail_alerts(actor=actor, household_id=household_id))
        return [a for batch in reversed(results) for a in (batch or [])]

    async def _each(self, hook_name: str, **kwargs: Any) -> list[tuple[str, Any]]:
        """(plugin name, result) of every implementation, in registration order (core first)."""
        out: list[tuple[str, Any]] = []
        for impl in getattr(self.pm.hook, hook_name).get_hookimpls():
            result = impl.function(**kwargs)
            out.append((impl.plugin_name, await result if inspect.isawaitable(result) else result))
        return out

    async def rgpd_export(self, household_id: int) -> dict[str, Any]:
        """`{plugin name: its share}`: two plugins using the same key never overwrite each other."""
        return {name: part or {} for name, part in await self._each("portail_rgpd_export", household_id=household_id)}

    async def rgpd_erasure_blockers(self, household_id: int) -> list[str]:
        results = await self._each("portail_rgpd_erasure_blockers", household_id=household_id)
        return [reason for _, reasons in results for reason in (reasons or [])]

    async def rgpd_retention(self, policy: RetentionPolicy, today: date, dry_run: bool) -> dict[str, int]:
        """`{"plugin.category": count}`; plugins first (their rows point to core), core last."""
        done: dict[str, int] = {}
        impls = list(reversed(self.pm.hook.portail_rgpd_retention.get_hookimpls()))
        for impl in impls:
            result = impl.function(policy=policy, today=today, dry_run=dry_run)
            part = await result if inspect.isawaitable(result) else result
            for key, count in (part or {}).items():
                done[f"{impl.plugin_name}.{key}"] = int(count)
        return done

    async def rgpd_erase(self, household_id: int) -> None:
        # Plugins first (their rows point to core), core last.
        await _await_all(self.pm.hook.portail_rgpd_erase(household_id=household_id))

    async def maintenance(self, today: date) -> dict[str, int]:
        done: dict[str, int] = {}
        for part in await _await_all(self.pm.hook.portail_maintenance(today=today)):
            done.update(part or {})
        return done

    async def demo_data(self, today: date) -> None:
        # Core first, then plugins in registration order: each step may use what came before.
        for impl in self.pm.hook.portail_demo_data.get_hookimpls():
            result = impl.function(settings=self.settings, today=today)
            if inspect.isawaitable(result):
                await result


def _import(module_path: str) -> ModuleType:
    return importlib.import_module(module_path)


def load_plugins(settings: Settings, extra: dict[str, object] | None = None) -> PluginHost:
    """Register core then every enabled plugin; unknown names are a configuration error."""
    pm = pluggy.PluginManager(hookspecs.PROJECT)
    pm.add_hookspecs(hookspecs)
    pm.register(_import("core.plugin"), name="core")
    installed = available_plugins()
    for name in settings.enabled_plugins:
        if extra and name in extra:
            pm.register(extra[name], name=name)
            continue
        if name not in installed:
            where = (settings.origin.line(("plugins", "enabled"), f"plugin « {name} » activé mais non installé")
                     if settings.origin else f"Plugin « {name} » activé dans la configuration mais non installé")
            raise PluginConfigError(f"{where} (installés : {', '.join(sorted(installed)) or 'aucun'})")
        pm.register(_import(installed[name]), name=name)
    pm.check_pending()
    host = PluginHost(pm=pm, settings=settings, enabled=tuple(settings.enabled_plugins))
    host.validate_config()
    host.startup()
    return host


_host: PluginHost | None = None


def activate_host(host: PluginHost) -> PluginHost:
    global _host
    _host = host
    return host


def get_host() -> PluginHost:
    """The plugin host of this process (set by the app factory, the CLI or the tests)."""
    if _host is None:
        raise RuntimeError("Plugin host not initialised: call core.app.bootstrap() first")
    return _host
