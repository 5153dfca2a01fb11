"""`portail` command line: database, demo, server, staff accounts, mail, schema."""

from __future__ import annotations

import asyncio
import json
import os
import sys
from collections.abc import Awaitable, Callable
from datetime import date
from pathlib import Path
from typing import TYPE_CHECKING, Any

import typer
from rich.console import Console

from core.config import ConfigError

if TYPE_CHECKING:
    from core.plugins import PluginHost

app = typer.Typer(help="Portail Famille: administration commands.", no_args_is_help=True)
db_app = typer.Typer(help="Database: migrations.")
mail_app = typer.Typer(help="Outbox: pending mail.")
schema_app = typer.Typer(help="GraphQL SDL export and check.")
config_app = typer.Typer(help="Configuration: show the effective values, check them.")
app.add_typer(db_app, name="db")
app.add_typer(mail_app, name="mail")
app.add_typer(schema_app, name="schema")
app.add_typer(config_app, name="config")
console = Console()


@app.callback()
def root(ctx: typer.Context, config: Path | None = typer.Option(
        None, "--config", "-c", help="Configuration file (default: $PORTAIL_CONFIG, else ./portail.toml)."),
         trace_hooks: bool = typer.Option(
             False, "--trace-hooks", help="Log every plugin hook call (logger portail.hooks; also PORTAIL_TRACE_HOOKS=1).")
         ) -> None:
    """Portail Famille: administration commands."""
    if config is not None:
        os.environ["PORTAIL_CONFIG"] = str(config)  # inherited by server workers too
    if trace_hooks:
        from core.plugins import TRACE_ENV

        os.environ[TRACE_ENV] = "1"
    # Only server processes share Prometheus files: a command's counters would otherwise be added to
    # the servers' (and its files left behind). This runs before anything imports prometheus_client.
    if ctx.invoked_subcommand not in ("serve", "demo"):
        os.environ.pop("PROMETHEUS_MULTIPROC_DIR", None)
    elif os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
        _multiprocess_metrics_dir()


def run_with_db(fn: Callable[[], Awaitable[Any]], *, migrate_first: bool = False) -> Any:
    """Bootstrap plugins, open the DB, run `fn`, close the DB."""
    from core.app import bootstrap
    from core.db import close_db, init_db, migrate

    host = bootstrap()

    async def main() -> Any:
        try:
            if migrate_first:
                await migrate(host)
            await init_db(host)
            return await fn()
        finally:
            await close_db()

    return asyncio.run(main())


@db_app.command("migrate")
def db_migrate() -> None:
    """Apply the migrations of core and of every enabled plugin."""
    from core.app import bootstrap
    from core.db import close_db, migrate

    host = bootstrap()

    async def main() -> dict[str, list[str]]:
        try:
            return await migrate(host)
        finally:
            await close_db()

    from core.db import migration_files, tortoise_config

    applied = asyncio.run(main())
    apps = tortoise_config(host)["apps"]
    for label, names in applied.items():
        shipped = len(migration_files(apps[label]["migrations"]) or [])
        if names:
            console.print(f"{label} : [green]{len(names)} migration(s) appliquée(s)[/green] ({', '.join(names)})",
                          soft_wrap=True)
        else:
            console.print(f"{label} : déjà à jour ({shipped} migration(s))", soft_wrap=True)
    total = sum(len(names) for names in applied.values())
    console.print(f"[green]Base à jour[/green] : {total} migration(s) appliquée(s)." if total else "Base déjà à jour.")


def _developer_settings() -> None:
    """Developer commands (SDL, migrations) work on the code: without a config file, the demo's."""
    from core.config import activate, load_settings

    activate(load_settings(allow_demo=True))


@db_app.command("status")
def db_status() -> None:
    """List the applied and pending migrations of core and of every enabled plugin."""
    from core.app import bootstrap
    from core.db import missing_migrations, tortoise_config
    from core.ops.service import migration_status
    from core.plugins import PluginConfigError

    host = bootstrap()
    config = tortoise_config(host)
    problems = missing_migrations(host, config)
    if problems:
        raise PluginConfigError(problems)
    states = run_with_db(lambda: migration_status(config))
    pending = 0
    for app_label in config["apps"]:
        console.print(f"[bold]{app_label}[/bold]")
        for state in (s for s in states if s.app == app_label):
            pending += not state.applied
            mark = "[green]appliquée[/green]" if state.applied else "[yellow]en attente[/yellow]"
            console.print(f"  {state.name}  {mark}")
    console.print(f"{pending} migration(s) en attente" if pending else "Base à jour.")
    if pending:
        raise typer.Exit(1)


@db_app.command("makemigrations")
def db_makemigrations(check: bool = typer.Option(False, help="Fail if models have changes without migration.")) -> None:
    """Write the migrations of changed models (developers), or check none is missing (CI)."""
    from core.app import bootstrap
    from core.migrations_tools import make_migrations

    _developer_settings()
    host = bootstrap()
    written = asyncio.run(make_migrations(host, check=check))
    if check and written:
        console.print(f"[red]Migrations manquantes :[/red] {', '.join(written)}")
        raise typer.Exit(1)
    console.print("\n".join(written) or "Aucun changement.")


def _load_demo(today: date) -> None:
    from datetime import timedelta

    from core.billing.service import run_billing
    from core.billing.types import BillingPeriod
    from core.plugins import get_host

    async def main() -> None:
        await get_host().demo_data(today)
        # Last month billed, so that « Mes factures » has something to show (idempotent).
        end = today.replace(day=1) - timedelta(days=1)
        await run_billing(BillingPeriod(start=end.replace(day=1), end=end))

    run_with_db(main, migrate_first=True)


@app.command()
def demo(host: str = "127.0.0.1", port: int = 8000, serve: bool = typer.Option(True, help="Serve after loading."),
         force: bool = typer.Option(False, help="Load the demo into a database that is neither empty nor the demo's.")
         ) -> None:
    """Migrate, load the demo households of the seed guides and serve the API with GraphiQL.

    Without --config / PORTAIL_CONFIG / ./portail.toml, the bundled demo configuration is used. The
    demo accounts share a published password: the demo refuses a database that already holds other
    data unless --force.
    """
    from core.config import activate, load_settings
    from core.demo import DEMO_ACCOUNTS, DEMO_PASSWORD, database_state
    from core.timeutil import today

    activate(load_settings(allow_demo=True))
    state = run_with_db(database_state, migrate_first=True)
    if state == "other" and not force:
        typer.echo("Refusé : cette base contient déjà des comptes ou des foyers qui ne viennent pas de la "
                   "démonstration ; les comptes de démonstration ont un mot de passe public. Utilisez une base "
                   "vide (DATABASE_URL=…) ou --force.", err=True)
        raise typer.Exit(1)
    _load_demo(today())
    console.print(f"[bold]Comptes de démonstration[/bold] (mot de passe : {DEMO_PASSWORD})")
    for email, (role, services) in DEMO_ACCOUNTS.items():
        console.print(f"  {email}  {role}" + (f" ({', '.join(services)})" if services else ""), soft_wrap=True)
    if serve:
        console.print(f"GraphiQL : [bold]http://{host}:{port}/graphql[/bold]")
        _serve(host, port)


def _serve(host: str, port: int, workers: int = 1, proxy_headers: bool | None = None,
           forwarded_allow_ips: str | None = None) -> None:
    import uvicorn

    from core.config import get_settings
    from core.ops.logs import configure_from_settings

    settings = get_settings()
    configure_from_settings(settings)  # uvicorn's own lines (start, stop, worker deaths) use it too
    if forwarded_allow_ips is None:  # default: the config's trusted proxies, else nobody
        trusted = getattr(settings.security, "trusted_proxies", None) or ()
        forwarded_allow_ips = ",".join(trusted) if not isinstance(trusted, str) else trusted
    if proxy_headers is None:
        proxy_headers = bool(forwarded_allow_ips)
    if settings.metrics.enabled and workers > 1 and not os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
        _multiprocess_metrics_dir()
    uvicorn.run("core.app:create_app", factory=True, host=host, port=port, workers=workers,
                proxy_headers=proxy_headers, forwarded_allow_ips=forwarded_allow_ips or "",
                log_config=None, access_log=False)


def _multiprocess_metrics_dir() -> None:
    """prometheus-client sums the workers' counters through files in PROMETHEUS_MULTIPROC_DIR:
    use the operator's folder (emptied: stale files from a previous run would be added) or a new one."""
    import tempfile
    from pathlib import Path

    folder = os.environ.get("PROMETHEUS_MULTIPROC_DIR")
    if not folder:
        os.environ["PROMETHEUS_MULTIPROC_DIR"] = tempfile.mkdtemp(prefix="portail-metrics-")
        return
    path = Path(folder)
    if path.exists():
        for child in path.iterdir():
            if child.suffix == ".db":
                child.unlink()
    else:
        path.mkdir(parents=True)


@app.command()
def serve(host: str = "127.0.0.1", port: int = 8000, migrate: bool = True,
          workers: int = typer.Option(1, min=1, help="Worker processes (uvicorn), each with its background worker."),
          proxy_headers: bool | None = typer.Option(
              None, "--proxy-headers/--no-proxy-headers",
              help="Believe X-Forwarded-For/-Proto from the trusted proxies (on when some are trusted)."),
          forwarded_allow_ips: str | None = typer.Option(
              None, help="Comma-separated proxy addresses to trust (default: [security] trusted_proxies, else none).")) -> None:
    """Serve the API (migrating first unless --no-migrate)."""
    if migrate:
        db_migrate()
    _serve(host, port, workers, proxy_headers, forwarded_allow_ips)


@app.command("create-staff")
def create_staff(email: str, first_name: str, last_name: str,
                 role: str = typer.Option("agent", help="agent or admin"),
                 service: list[str] = typer.Option([], help="Service code (repeat for several)."),
                 password: str = typer.Option(..., prompt=True, hide_input=True, confirmation_prompt=True)) -> None:
    """Create an agent (scoped to services) or an admin."""
    from core.accounts.service import create_staff as create
    from core.errors import PortailError

    async def main() -> None:
        await create(email, password, first_name, last_name, role, service)

    try:
        run_with_db(main)
    except PortailError as exc:
        console.print(f"[red]{exc.message}[/red] ({exc.code})")
        raise typer.Exit(1) from None
    console.print(f"[green]Compte {role} créé :[/green] {email}")


@app.command()
def maintenance() -> None:
    """Run the plugins' periodic housekeeping now (the servers also run it, once per hour across
    the cluster); refused while another process runs it."""
    from core.ops.service import run_maintenance
    from core.plugins import get_host
    from core.timeutil import today

    done = run_with_db(lambda: run_maintenance(get_host(), today(), force=True))
    if done is None:
        console.print("[yellow]Maintenance déjà en cours dans un autre processus.[/yellow]")
        raise typer.Exit(1)
    console.print(", ".join(f"{k}: {v}" for k, v in done.items()) or "Rien à faire.")


@mail_app.command("send")
def mail_send() -> None:
    """Deliver pending mail now (ignoring the retry schedule; mail claimed by a worker is left to it)."""
    from core.mail.service import send_all_pending

    sent, failed = run_with_db(lambda: send_all_pending(ignore_schedule=True))
    console.print(f"{sent} envoyé(s), {failed} en échec")


@mail_app.command("outbox")
def mail_outbox(limit: int = 10) -> None:
    """Show the latest mail (the quick-start demo has no SMTP server: follow links from here)."""
    from core.mail.models import OutboxMail

    async def main() -> list[OutboxMail]:
        return await OutboxMail.all().order_by("-id").limit(limit)

    for mail in run_with_db(main):
        console.rule(f"#{mail.id} → {mail.to} [{mail.status}]")
        console.print(f"[bold]{mail.subject}[/bold]\n{mail.text_body}")


def _third_party_plugins(host: Any) -> list[str]:
    """Enabled plugins that do not ship with Portail Famille (not under `plugins.`)."""
    from core.plugins import available_plugins

    installed = available_plugins()
    return [name for name in host.enabled if not installed.get(name, "plugins.").startswith("plugins.")]


def _sdl_target(host: Any, path: Path | None, option: str) -> Path:
    """The file to write / compare: `path`, else core's schema/schema.graphql, which holds the SDL of
    the shipped plugins only: with a third-party plugin on, name your own file."""
    from schema import SDL_PATH

    if path is not None:
        return path
    others = _third_party_plugins(host)
    if others:
        console.print(f"[red]Plugin(s) tiers activé(s) ({', '.join(others)}) : schema/schema.graphql est le SDL des "
                      f"plugins livrés. Indiquez votre fichier : {option} FICHIER.[/red]")
        raise typer.Exit(2)
    return SDL_PATH


@schema_app.command("export")
def schema_export(output: Path | None = typer.Option(
        None, "--output", "-o", help="Write here (default: schema/schema.graphql, shipped plugins only).")) -> None:
    """Write the SDL from the code (core + the plugins enabled in the config)."""
    from core.app import bootstrap
    from schema import export_sdl

    _developer_settings()
    host = bootstrap()
    target = _sdl_target(host, output, "--output")
    target.write_text(export_sdl(host), encoding="utf-8")
    console.print(f"SDL écrit : {target}")


@schema_app.command("check")
def schema_check(sdl: Path | None = typer.Option(
        None, "--sdl", help="The committed SDL to compare with (default: schema/schema.graphql).")) -> None:
    """Fail when the committed SDL differs from the code (core + the plugins enabled in the config)."""
    from core.app import bootstrap
    from schema import export_sdl

    _developer_settings()
    host = bootstrap()
    target = _sdl_target(host, sdl, "--sdl")
    current = export_sdl(host)
    committed = target.read_text(encoding="utf-8") if target.exists() else ""
    if current != committed:
        import difflib

        sys.stdout.writelines(difflib.unified_diff(committed.splitlines(True), current.splitlines(True),
                                                   f"{target} (committed)", "code"))
        again = "portail schema export" + (f" --output {target}" if sdl is not None else "")
        console.print(f"[red]Le SDL committé diffère du code : lancez `{again}`.[/red]")
        raise typer.Exit(1)
    console.print(f"SDL à jour : {target}")
    problems = convention_problems(host)
    for line in problems:
        typer.echo(line)
    if problems:
        console.print(f"[red]{len(problems)} écart(s) aux conventions GraphQL (docs/graphql.md).[/red]")
        raise typer.Exit(1)
    console.print("Conventions GraphQL respectées (descriptions, enums, noms, pages, codes d'erreur).")


def convention_problems(host: PluginHost) -> list[str]:
    """docs/graphql.md checked on the schema of `host`, and every error code raised in the source of core
    and of each enabled plugin listed in `ErrorCode`: one line per problem, named by its area."""
    import inspect
    from types import ModuleType

    from schema import build_schema
    from schema.checks import iter_problems, raised_codes

    lines = [f"{area}: {line}" for area, line in iter_problems(build_schema(host))]
    listed = set(host.error_codes())
    folders = {"core": Path(__file__).parent}
    for name in host.enabled:
        plugin = host.pm.get_plugin(name)
        module = plugin if isinstance(plugin, ModuleType) else inspect.getmodule(type(plugin))
        if module is not None and module.__file__:
            folders[name] = Path(module.__file__).parent
    for area, folder in folders.items():
        for code, files in sorted(raised_codes(folder).items()):
            if code not in listed:
                lines.append(f"{area}: error code {code} raised in {', '.join(sorted(files))} but not in ErrorCode "
                             "(add it to the area's error codes)")
    return lines


@config_app.command("show")
def config_show() -> None:
    """Print the effective configuration, each value with its source (file, env, default); secrets masked."""
    from core.app import bootstrap
    from core.config import effective_values

    host = bootstrap()
    settings = host.settings
    typer.echo(f"# {settings.origin.label() if settings.origin else 'configuration'}")
    for key, value, source in effective_values(settings, host.config_models()):
        typer.echo(f"{key} = {json.dumps(value, ensure_ascii=False, default=str)}  # {source}")


@config_app.command("check")
def config_check() -> None:
    """Validate the configuration: types, references, IBANs, plugins and their start-up checks."""
    from core.app import bootstrap

    host = bootstrap()
    label = host.settings.origin.label() if host.settings.origin else "configuration"
    typer.echo(f"Configuration valide : {label} (plugins : {', '.join(host.enabled) or 'aucun'})")


plugin_app = typer.Typer(help="Plugin authors: create a plugin project.")
app.add_typer(plugin_app, name="plugin")


@plugin_app.command("new")
def plugin_new(name: str = typer.Argument(..., help="The plugin's name: lowercase, digits, _ (e.g. cantine)."),
               folder: Path | None = typer.Option(None, "--dir", help="The project folder to create "
                                                  "(default: ./portail-<name>); absent or empty.")) -> None:
    """Create a separate, pip-installable plugin project: entry point, plugin.py, models.py (with its
    initial migration), rules.py, service.py, graphql.py, templates/, tests using Portail's pytest
    plugin, a CI workflow and a README. Then: cd into it, `pip install -e '.[test]'`, `pytest`."""
    from core.scaffold import new_plugin

    _developer_settings()
    target = folder or Path.cwd() / f"portail-{name.replace('_', '-')}"
    written = new_plugin(name, target)
    console.print(f"[green]Plugin « {name} » créé[/green] dans {target} ({len(written)} fichiers)", soft_wrap=True)
    console.print(f"  cd {target}\n  pip install -e '.[test]'\n  pytest", soft_wrap=True, markup=False)


@app.command("plugins")
def plugins_list(as_json: bool = typer.Option(False, "--json", help="One JSON document instead of a table.")) -> None:
    """List the installed plugins (entry point group portail.plugins): enabled or not, package and
    version, module, hooks implemented. Hook tracing: `portail --trace-hooks …` or PORTAIL_TRACE_HOOKS=1."""
    from dataclasses import asdict

    from rich.table import Table

    from core.app import bootstrap
    from core.plugins import describe_plugins

    _developer_settings()  # without a configuration file, the demo's
    host = bootstrap()
    infos = describe_plugins(host)
    if as_json:
        typer.echo(json.dumps({"enabled": list(host.enabled), "plugins": [asdict(i) for i in infos]},
                              ensure_ascii=False, indent=1))
        return
    table = Table("plugin", "activé", "paquet", "module", "hooks")
    for info in infos:
        package = f"{info.distribution or '?'} {info.version or ''}".strip()
        hooks = ", ".join(h.removeprefix("portail_") for h in info.hooks) or "aucun"
        table.add_row(info.name, "oui" if info.enabled else "non", package, info.module, hooks)
    console.print(table)
    if host.tracing:
        console.print("Traçage des hooks actif (logger portail.hooks).")


def _register_area_commands() -> None:
    from core.billing.cli import register_cli
    from core.rgpd.cli import register_cli as register_rgpd_cli

    register_cli(app)
    register_rgpd_cli(app)


_register_area_commands()


def main() -> None:
    """The `portail` command: a configuration mistake is printed in one line per mistake, no traceback."""
    os.environ.setdefault("PYTHONUTF8", "1")
    try:
        app()
    except ConfigError as exc:
        for line in exc.lines:
            typer.echo(f"Configuration : {line}", err=True)
        sys.exit(2)


if __name__ == "__main__":
    main()
