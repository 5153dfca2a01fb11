"""Tools for plugin authors and operators: `portail plugins` (what is installed, enabled, which
hooks), hook tracing without personal data, an enabled plugin with models but no migrations
refused, and `portail db migrate` saying what it applied to each app."""

from __future__ import annotations

import json
import logging
import os
import subprocess
import sys
from dataclasses import replace
from importlib.metadata import version
from pathlib import Path

import pytest

from core.db import migrate, missing_migrations
from core.hookspecs import hookimpl
from core.permissions import Actor
from core.plugins import PluginConfigError, load_plugins

PORTAIL = str(Path(sys.executable).with_name("portail"))


def _env(tmp_path: Path, **extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("PORTAIL_") and k != "DATABASE_URL"}
    env.update(DATABASE_URL=f"sqlite://{tmp_path / 'portail.sqlite3'}", PORTAIL_STORAGE__PATH=str(tmp_path / "files"),
               PORTAIL_CONFIG=str(Path(__file__).parents[1] / "core" / "demo.toml"), **extra)
    return env


def test_plugins_command_lists_installed_and_enabled_plugins_with_versions_and_hooks(tmp_path):
    out = subprocess.run([PORTAIL, "plugins", "--json"], env=_env(tmp_path, PORTAIL_PLUGINS="creche"),
                         capture_output=True, text=True, timeout=120)
    assert out.returncode == 0, out.stderr
    listing = json.loads(out.stdout)
    assert listing["enabled"] == ["creche"]
    plugins = {p["name"]: p for p in listing["plugins"]}
    assert {"core", "creche", "alsh_paj", "prelevement", "messagerie"} <= set(plugins)
    assert plugins["creche"]["enabled"] and not plugins["alsh_paj"]["enabled"]
    assert plugins["creche"]["module"] == "plugins.creche.plugin"
    assert plugins["creche"]["version"] == version("portail-famille")
    assert {"portail_models", "portail_graphql", "portail_invoice_lines"} <= set(plugins["creche"]["hooks"])
    assert "portail_error_codes" in plugins["core"]["hooks"]
    assert "portail_models" in plugins["alsh_paj"]["hooks"]  # read from the module, not registered


def test_hook_tracing_logs_calls_but_never_their_values(settings, caplog):
    host = load_plugins(replace(settings, enabled_plugins=("creche",)), trace=True)
    assert not load_plugins(replace(settings, enabled_plugins=("creche",))).tracing
    with caplog.at_level(logging.INFO, logger="portail.hooks"):
        host.template_dirs()
        coroutines = host.pm.hook.portail_alerts(actor=Actor.anonymous(ip="192.0.2.77"),
                                                 household_id=987654)
        for coroutine in coroutines:
            coroutine.close()
    lines = [r.getMessage() for r in caplog.records if r.name == "portail.hooks"]
    assert any(line.startswith("hook portail_template_dirs() plugins=creche,core results=2") for line in lines), lines
    assert any(line.startswith("hook portail_alerts(actor, household_id) plugins=") for line in lines), lines
    assert not any("987654" in line or "192.0.2.77" in line for line in lines)


def test_portail_db_migrate_says_what_it_applied_per_app(tmp_path):
    env = _env(tmp_path, PORTAIL_PLUGINS="creche")
    first = subprocess.run([PORTAIL, "db", "migrate"], env=env, capture_output=True, text=True, timeout=120)
    assert first.returncode == 0, first.stderr
    core_migrations = sorted(p.stem for p in (Path(__file__).parents[1] / "core" / "migrations").glob("[0-9]*.py"))
    assert f"core : {len(core_migrations)} migration(s) appliquée(s) ({', '.join(core_migrations)})" in first.stdout
    assert "creche : " in first.stdout and "alsh_paj" not in first.stdout
    second = subprocess.run([PORTAIL, "db", "migrate"], env=env, capture_output=True, text=True, timeout=120)
    assert second.returncode == 0, second.stderr
    assert f"core : déjà à jour ({len(core_migrations)} migration(s))" in second.stdout
    assert "Base déjà à jour." in second.stdout


@pytest.fixture
def unmigrated_package(tmp_path, monkeypatch):
    """A plugin package with a model and (for now) no migrations package, importable as `bibliotheque_tmp`."""
    package = tmp_path / "bibliotheque_tmp"
    package.mkdir()
    (package / "__init__.py").write_text("")
    (package / "models.py").write_text(
        "from tortoise import fields\nfrom tortoise.models import Model\n\n\n"
        "class BiblioLoan(Model):\n    title = fields.CharField(max_length=200)\n\n"
        "    class Meta:\n        table = \"bibliotheque_loan\"\n        app = \"bibliotheque\"\n")
    monkeypatch.syspath_prepend(str(tmp_path))

    class Bibliotheque:
        @hookimpl
        def portail_models(self):
            return {"bibliotheque": ["bibliotheque_tmp.models"]}

    yield package, Bibliotheque()
    for name in [m for m in sys.modules if m.startswith("bibliotheque_tmp")]:
        del sys.modules[name]


async def test_enabled_plugin_with_models_but_no_migrations_is_refused(settings, unmigrated_package, tmp_path):
    package, plugin = unmigrated_package
    host = load_plugins(replace(settings, enabled_plugins=("creche", "bibliotheque")), extra={"bibliotheque": plugin})
    expected = ("plugin « bibliotheque » : l'app « bibliotheque » a des modèles mais le paquet "
                "bibliotheque_tmp.migrations est {} ; lancez `portail db makemigrations` et livrez ses "
                "migrations avec le paquet du plugin")
    assert missing_migrations(host) == [expected.format("introuvable")]
    with pytest.raises(PluginConfigError) as refused:
        await migrate(host, database_url=f"sqlite://{tmp_path / 'refused.sqlite3'}")
    assert refused.value.lines == [expected.format("introuvable")]
    assert not (tmp_path / "refused.sqlite3").exists()  # refused before touching the database

    (package / "migrations").mkdir()
    (package / "migrations" / "__init__.py").write_text("")
    assert missing_migrations(host) == [expected.format("sans migration")]
    (package / "migrations" / "0001_initial.py").write_text("")
    assert missing_migrations(host) == []
