"""Tortoise set-up: one app per plugin (and `core`), each with its own migrations package."""

from __future__ import annotations

import importlib
import pkgutil
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


async def _released(connection: Any) -> None:
    """What the ORM's PostgreSQL pool does when a connection comes back, besides asyncpg's own
    clean-up (listeners dropped, an open transaction rolled back): nothing more.

    asyncpg's default sends `SELECT pg_advisory_unlock_all(); CLOSE ALL; UNLISTEN *; RESET ALL` on
    every release: one more round trip per ORM query outside a transaction, for session state this
    application never leaves on a pool connection (advisory locks and LISTEN use their own dedicated
    connections: core.ops.service.cluster_lock, plugins.messagerie.realtime; no SET, no held cursor).
    Code that needs session state takes its own connection, like those two."""


def _runtime_connection(url: str) -> str | dict[str, Any]:
    """The connection of the running application: a PostgreSQL URL expanded so that the pool gets
    `_released`; any other URL as is."""
    if not url.startswith(("postgres://", "postgresql://", "asyncpg://")):
        return url
    from tortoise.backends.base.config_generator import expand_db_url

    expanded = expand_db_url(url)
    expanded["credentials"]["reset"] = _released
    return expanded


async def init_db(host: PluginHost, database_url: str | None = None) -> dict[str, Any]:
    config = tortoise_config(host, database_url)
    _ensure_sqlite_folder(config["connections"]["default"])
    runtime = {**config, "connections": {"default": _runtime_connection(config["connections"]["default"])}}
    # The global fallback lets request tasks see the connections the lifespan task opened.
    await Tortoise.init(config=runtime, _enable_global_fallback=True)
    return config


def _defines_models(modules: list[str]) -> bool:
    from tortoise.models import Model

    for module_path in modules:
        module = importlib.import_module(module_path)
        if any(isinstance(value, type) and issubclass(value, Model) and value.__module__ == module.__name__
               and not value._meta.abstract for value in vars(module).values()):
            return True
    return False


def migration_files(module_path: str) -> list[str] | None:
    """Names of the migrations in a migrations package, in order (None: no such package)."""
    try:
        module = importlib.import_module(module_path)
    except ModuleNotFoundError as exc:
        if exc.name and module_path.startswith(exc.name):
            return None
        raise
    return sorted(name for _, name, is_pkg in pkgutil.iter_modules(getattr(module, "__path__", []))
                  if not is_pkg and name[0] not in "_~")


def missing_migrations(host: PluginHost, config: dict[str, Any] | None = None) -> list[str]:
    """One French line per enabled app that has models but ships no migration: migrating would
    create none of its tables while saying the database is up to date."""
    config = config or tortoise_config(host)
    owners = host.app_owners()
    lines = []
    for label, app in config["apps"].items():
        files = migration_files(app["migrations"])
        if files or not _defines_models(app["models"]):
            continue
        state = "introuvable" if files is None else "sans migration"
        lines.append(f"plugin « {owners.get(label, label)} » : l'app « {label} » a des modèles mais le paquet "
                     f"{app['migrations']} est {state} ; lancez `portail db makemigrations` et livrez "
                     "ses migrations avec le paquet du plugin")
    return lines


async def migrate(host: PluginHost, database_url: str | None = None) -> dict[str, list[str]]:
    """Apply the shipped migrations of core and every enabled plugin, under a cluster-wide lock
    (PostgreSQL advisory lock): a second `portail db migrate`, or every worker of a rolling
    deployment migrating at once, waits and then finds nothing left to do.

    Returns `{app_label: [migration applied now, ...]}` for every app (an empty list: up to date).
    An enabled app with models and no migrations is refused (`PluginConfigError`)."""
    from tortoise.migrations.api import migrate as run_migrations

    from core.ops.service import cluster_lock
    from core.plugins import PluginConfigError

    config = tortoise_config(host, database_url)
    _ensure_sqlite_folder(config["connections"]["default"])
    problems = missing_migrations(host, config)
    if problems:
        raise PluginConfigError(problems)
    applied: dict[str, list[str]] = {label: [] for label in config["apps"]}

    def progress(event: str, app_label: str, name: str) -> None:
        if event == "apply_done":
            applied.setdefault(app_label, []).append(name)

    async with cluster_lock(config["connections"]["default"], "portail.migrate"):
        await run_migrations(config=config, progress=progress)
    return applied


async def close_db() -> None:
    await Tortoise.close_connections()


async def lock_rows(model: Any, ids: list[int]) -> list[Any]:
    """SELECT … FOR UPDATE on these rows, in id order so two callers never wait on each other in a
    cycle (PostgreSQL; SQLite serialises writers anyway). Call inside a transaction: the locks last
    until it ends, so a check made after them sees every write that committed before. Awaited as
    objects on purpose: Tortoise drops FOR UPDATE from values() / values_list() queries."""
    return await model.filter(id__in=sorted(set(ids))).order_by("id").select_for_update()


async def bulk_insert(model: Any, rows: list[dict[str, Any]], batch_size: int = 1000) -> int:
    """Insert plain rows (`{field: value}`, every row with the same keys) without building a model
    instance per row: one statement per `batch_size` rows through the driver's executemany, the
    values converted by each field's own `to_db_value` like `bulk_create` does. Missing fields take
    their Python default (`auto_now_add` datetimes: now). For large batches (billing, SEPA
    pre-notifications), where `Model.__init__` costs more than the SQL. Returns the rows inserted."""
    if not rows:
        return 0
    from core.timeutil import now

    meta = model._meta
    given = list(rows[0])
    defaults: dict[str, Any] = {}
    for name in meta.fields_db_projection:
        fld = meta.fields_map[name]
        if name in given or fld.generated:
            continue
        if getattr(fld, "auto_now_add", False) or getattr(fld, "auto_now", False):
            defaults[name] = now()
        elif callable(fld.default):
            defaults[name] = fld.default  # called per row below
        elif fld.default is not None:
            defaults[name] = fld.default
        elif fld.has_db_default():
            defaults[name] = fld.get_db_default_value()
        elif fld.null:
            defaults[name] = None
        else:
            raise ValueError(f"{model.__name__}.{name}: no value and no default")
    names = given + list(defaults)
    fields_map = meta.fields_map
    db = model._choose_db(True)
    executor = db.executor_class(model=model, db=db)
    sql = str(executor._prepare_insert_statement([meta.fields_db_projection[n] for n in names], has_generated=False))
    converters = [fields_map[n].to_db_value for n in names]
    constant = [(i, defaults[n]) for i, n in enumerate(names) if n in defaults]
    for start in range(0, len(rows), batch_size):
        values = []
        for row in rows[start:start + batch_size]:
            raw = [row[n] for n in given] + [None] * len(defaults)
            for i, default in constant:
                raw[i] = default() if callable(default) else default
            values.append([convert(v, model) for convert, v in zip(converters, raw, strict=True)])
        await db.execute_many(sql, values)
    return len(rows)


async def visible_page(query: Any, limit: int, offset: int, visible: Any, fields: tuple[str, ...],
                       load: Any) -> tuple[int, list[Any]]:
    """One page of an ordered queryset when what the caller may see is decided in Python (need-to-know,
    core.permissions): `visible` filters light rows holding only `fields` (+ id), then `load(ids)` (a
    queryset) reads the page's rows in full. `(total visible, page rows in the query's order)`."""
    light = await query.only("id", *fields)
    ids = [row.id for row in await visible(list(light))]
    page = ids[offset:offset + limit]
    by_id = {row.id: row for row in await load(page)} if page else {}
    return len(ids), [by_id[i] for i in page if i in by_id]
