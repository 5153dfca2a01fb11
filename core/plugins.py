"""The plugin host: a thin typed wrapper over pluggy's PluginManager.

`load_plugins(settings)` registers core (always on) and the enabled plugins found in the
`portail.plugins` entry point group; `check_pending()` makes a misspelt hookimpl fail at start-up.
"""

from __future__ import annotations

import difflib
import importlib
import inspect
import logging
import os
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from importlib.metadata import PackageNotFoundError, entry_points, version
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
TRACE_ENV = "PORTAIL_TRACE_HOOKS"
hook_log = logging.getLogger("portail.hooks")


class PluginConfigError(ConfigError):
    """An enabled plugin that is not installed, or a plugin table its model refuses."""


class PluginHookError(PluginConfigError):
    """A plugin whose hook implementations do not match `core/hookspecs.py` (misspelt hook,
    unknown argument, hook function without `@hookimpl`): refused at start-up, one line each."""


def _hook_problems(pm: pluggy.PluginManager, plugin: object, name: str) -> list[str]:
    """What pluggy would silently ignore or reject in `plugin`, in French, one line per problem."""
    specs = {n for n in vars(hookspecs) if n.startswith("portail_")}
    problems = []
    for attr in sorted(dir(plugin)):
        if not attr.startswith("portail_"):
            continue
        function = getattr(plugin, attr, None)
        if not callable(function):
            continue
        opts = pm.parse_hookimpl_opts(plugin, attr)
        if opts is None:
            defined_here = getattr(function, "__module__", None) == getattr(plugin, "__name__", object())
            if attr in specs and (defined_here or not isinstance(plugin, ModuleType)):
                problems.append(f"plugin « {name} » : « {attr} » n'est pas marqué @hookimpl, "
                                "il ne serait jamais appelé")
            continue
        if attr not in specs:
            close = difflib.get_close_matches(attr, sorted(specs), n=1)
            hint = f" (voulez-vous dire « {close[0]} » ?)" if close else ""
            problems.append(f"plugin « {name} » : le hook « {attr} » n'existe pas{hint} ; "
                            "liste des hooks : core/hookspecs.py")
            continue
        spec = getattr(pm.hook, attr).spec
        wanted = [p for p in inspect.signature(function).parameters if p != "self"]
        unknown = [arg for arg in wanted if arg not in spec.argnames]
        if unknown:
            given = ", ".join(spec.argnames) or "aucun"
            problems.append(f"plugin « {name} » : hook « {attr} » : argument(s) inconnu(s) "
                            f"{', '.join(unknown)} (le hook fournit : {given})")
    return problems


def register_plugin(pm: pluggy.PluginManager, plugin: object, name: str) -> None:
    """Register `plugin` under `name`, refusing a hook that does not match its spec, loudly."""
    problems = _hook_problems(pm, plugin, name)
    if problems:
        raise PluginHookError(problems)
    try:
        pm.register(plugin, name=name)
        pm.check_pending()
    except pluggy.PluginValidationError as exc:  # anything the checks above did not foresee
        if pm.get_plugin(name) is not None:
            pm.unregister(name=name)
        raise PluginHookError(f"plugin « {name} » : {' '.join(str(exc).split())}") from None


def available_plugins() -> dict[str, str]:
    """Installed plugins: `{name: module path}` from the entry point group."""
    return {ep.name: ep.value for ep in entry_points(group=ENTRY_POINT_GROUP)}


def tracing_requested(environ: dict[str, str] | None = None) -> bool:
    """`PORTAIL_TRACE_HOOKS=1` (or `portail --trace-hooks …`) logs every hook call."""
    value = (os.environ if environ is None else environ).get(TRACE_ENV, "")
    return value.strip().lower() in ("1", "true", "yes", "on")


def enable_hook_tracing(pm: pluggy.PluginManager) -> Callable[[], None]:
    """Log each hook call to `portail.hooks` (pluggy's hook call monitoring): the hook, the names
    of its arguments (never their values: they hold personal data), the plugins that answered, the
    number of answers, the duration, the exception. Async hooks: the time to create the coroutines.
    Returns the function that stops it."""
    started: list[float] = []

    def before(hook_name: str, impls: list[Any], kwargs: dict[str, Any]) -> None:
        started.append(time.perf_counter())

    def after(outcome: Any, hook_name: str, impls: list[Any], kwargs: dict[str, Any]) -> None:
        duration = (time.perf_counter() - started.pop()) * 1000 if started else 0.0
        plugins = ",".join(impl.plugin_name for impl in reversed(impls)) or "-"
        if outcome.exception is not None:
            hook_log.info("hook %s(%s) plugins=%s error=%s duration_ms=%.2f", hook_name, ", ".join(kwargs),
                          plugins, type(outcome.exception).__name__, duration)
            return
        result = outcome.get_result()
        answers = len(result) if isinstance(result, list) else 1
        hook_log.info("hook %s(%s) plugins=%s results=%d duration_ms=%.2f", hook_name, ", ".join(kwargs),
                      plugins, answers, duration)

    return pm.add_hookcall_monitoring(before, after)


async def _await_all(results: list[Any]) -> list[Any]:
    return [await r if inspect.isawaitable(r) else r for r in results]


@dataclass
class PluginHost:
    """What core asks of plugins, one typed method per hook."""

    pm: pluggy.PluginManager
    settings: Settings
    enabled: tuple[str, ...]
    tracing: bool = field(default=False)

    def _trace(self, hook_name: str, plugin_name: str, *arg_names: str) -> None:
        """Hooks the host calls one implementation at a time (pluggy's monitoring does not see them)."""
        if self.tracing:
            hook_log.info("hook %s(%s) plugin=%s", hook_name, ", ".join(arg_names), plugin_name)

    # ---- registration helpers -------------------------------------------------------------
    def register(self, plugin: ModuleType | object, name: str) -> None:
        register_plugin(self.pm, plugin, name)

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

    def app_owners(self) -> dict[str, str]:
        """`{app_label: plugin name}` of the Tortoise apps (core's is "core")."""
        return {label: impl.plugin_name for impl in self.pm.hook.portail_models.get_hookimpls()
                for label in (impl.function() or {})}

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

    def services(self) -> dict[str, str]:
        """`{service code: French label}` supplied by the enabled plugins (the first label given wins)."""
        labels: dict[str, str] = {}
        for contribution in reversed(self.pm.hook.portail_services()):
            for code, label in (contribution or {}).items():
                labels.setdefault(code, label)
        return labels

    def type_fields(self) -> dict[str, list[tuple[str, Any]]]:
        """`{core GraphQL type name: [(plugin name, StrawberryField), ...]}` added by plugins."""
        out: dict[str, list[tuple[str, Any]]] = {}
        for impl in self.pm.hook.portail_type_fields.get_hookimpls():
            for core_type, holder in (impl.function() or {}).items():
                type_name = core_type if isinstance(core_type, str) else core_type.__strawberry_definition__.name
                definition = getattr(holder, "__strawberry_definition__", None)
                if definition is None:
                    raise TypeError(f"plugin « {impl.plugin_name} » : portail_type_fields()[{type_name!r}] "
                                    "doit être une classe @strawberry.type")
                out.setdefault(type_name, []).extend((impl.plugin_name, f) for f in definition.fields)
        return out

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

    async def document_requirements(self, household_id: int, child_ids: list[int]) -> set[tuple[str, int | None]]:
        """`{(type code, child id or None)}` where the conditional document types are required."""
        wanted: set[tuple[str, int | None]] = set()
        for part in await _await_all(self.pm.hook.portail_document_requirements(
                household_id=household_id, child_ids=list(child_ids))):
            wanted.update((code, child) for code, child in (part or ()))
        return wanted

    async def alerts(self, actor: Actor, household_id: int) -> list[Alert]:
        results = await _await_all(self.pm.hook.portail_alerts(actor=actor, household_id=household_id))
        return [a for batch in reversed(results) for a in (batch or [])]

    async def _each(self, hook_name: str, **kwargs: Any) -> list[tuple[str, Any]]:
        """(plugin name, result) of every implementation, in registration order (core first)."""
        out: list[tuple[str, Any]] = []
        for impl in getattr(self.pm.hook, hook_name).get_hookimpls():
            self._trace(hook_name, impl.plugin_name, *kwargs)
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
            self._trace("portail_rgpd_retention", impl.plugin_name, "policy", "today", "dry_run")
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
            self._trace("portail_demo_data", impl.plugin_name, "settings", "today")
            result = impl.function(settings=self.settings, today=today)
            if inspect.isawaitable(result):
                await result


def _import(module_path: str) -> ModuleType:
    return importlib.import_module(module_path)


def load_plugins(settings: Settings, extra: dict[str, object] | None = None, *,
                 trace: bool | None = None) -> PluginHost:
    """Register core then every enabled plugin; unknown names are a configuration error, a hook
    that matches no spec stops the start-up. `trace` (default: `PORTAIL_TRACE_HOOKS`) logs hook calls."""
    pm = pluggy.PluginManager(hookspecs.PROJECT)
    pm.add_hookspecs(hookspecs)
    tracing = tracing_requested() if trace is None else trace
    if tracing:
        enable_hook_tracing(pm)
    register_plugin(pm, _import("core.plugin"), "core")
    installed = available_plugins()
    for name in settings.enabled_plugins:
        if extra and name in extra:
            register_plugin(pm, extra[name], name)
            continue
        if name not in installed:
            where = (settings.origin.line(("plugins", "enabled"), f"plugin « {name} » activé mais non installé")
                     if settings.origin else f"Plugin « {name} » activé dans la configuration mais non installé")
            raise PluginConfigError(f"{where} (installés : {', '.join(sorted(installed)) or 'aucun'})")
        register_plugin(pm, _import(installed[name]), name)
    host = PluginHost(pm=pm, settings=settings, enabled=tuple(settings.enabled_plugins), tracing=tracing)
    host.validate_config()
    host.startup()
    return host


@dataclass(frozen=True)
class PluginInfo:
    """What `portail plugins` shows of one plugin."""

    name: str
    enabled: bool
    module: str
    distribution: str | None
    version: str | None
    hooks: tuple[str, ...]


def _hooks_of(pm: pluggy.PluginManager, plugin: object) -> tuple[str, ...]:
    return tuple(sorted(attr for attr in dir(plugin)
                        if attr.startswith("portail_") and pm.parse_hookimpl_opts(plugin, attr) is not None))


def describe_plugins(host: PluginHost) -> list[PluginInfo]:
    """Core, then every installed plugin (entry point group `portail.plugins`) and every plugin
    registered another way (tests), with its package version and the hooks it implements."""
    try:
        core_version: str | None = version("portail-famille")
    except PackageNotFoundError:
        core_version = None
    infos = [PluginInfo("core", True, "core.plugin", "portail-famille", core_version,
                        _hooks_of(host.pm, host.pm.get_plugin("core")))]
    seen = {"core"}
    for ep in sorted(entry_points(group=ENTRY_POINT_GROUP), key=lambda e: e.name):
        if ep.name in seen:
            continue
        seen.add(ep.name)
        dist = getattr(ep, "dist", None)
        registered = host.pm.get_plugin(ep.name)
        plugin = registered if registered is not None else _import(ep.value)
        infos.append(PluginInfo(ep.name, ep.name in host.enabled, ep.value,
                                dist.metadata["Name"] if dist else None, dist.version if dist else None,
                                _hooks_of(host.pm, plugin)))
    for name, plugin in host.pm.list_name_plugin():
        if name not in seen:
            module = getattr(plugin, "__name__", type(plugin).__module__ + "." + type(plugin).__qualname__)
            infos.append(PluginInfo(name, name in host.enabled, module, None, None, _hooks_of(host.pm, plugin)))
    return infos


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
