"""The configuration as an operator meets it: through the real `portail` command, in a folder of
their own, with their own file and environment. Every mistake is one line naming the file, the key
and the environment variable, with no traceback; nothing falls back to the demo."""

from __future__ import annotations

import os
import sqlite3
import subprocess
import sys
from pathlib import Path

import pytest

from core.config import BUNDLED_DEMO_CONFIG, ConfigError, load_settings

PORTAIL = [sys.executable, "-m", "core.cli"]
ROOT = Path(__file__).parents[2]

MINIMAL = """
[community]
name = "Communauté de communes du Test"
short_name = "CC Test"

[plugins]
enabled = ["creche", "prelevement"]

[[services]]
code = "creche_a"
name = "Crèche A"
kind = "creche"
regie = "cc"

[[regies]]
code = "cc"
name = "Régie CC"
ics = "FR72ZZZ123456"
creditor_iban = "FR7630001007941234567890185"
creditor_bic = "BDFEFRPPXXX"
creditor_street = "allée du Parc"
creditor_postcode = "33360"
creditor_town = "LATRESNE"
"""


def _env(tmp_path: Path, **extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("PORTAIL_") and k != "DATABASE_URL"}
    env["PYTHONPATH"] = str(ROOT)
    env["DATABASE_URL"] = f"sqlite://{tmp_path / 'portail.sqlite3'}"
    env.update(extra)
    return env


def _write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "portail.toml"
    path.write_text(text, encoding="utf-8")
    return path


def portail(tmp_path: Path, *args: str, config: Path | None = None, **env: str) -> subprocess.CompletedProcess[str]:
    if config is not None:
        env["PORTAIL_CONFIG"] = str(config)
    return subprocess.run([*PORTAIL, *args], cwd=tmp_path, env=_env(tmp_path, **env), capture_output=True,
                          text=True, timeout=120)


def _one_error(result: subprocess.CompletedProcess[str]) -> str:
    assert result.returncode != 0, result.stdout
    assert "Traceback" not in result.stderr, result.stderr
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1, result.stderr
    return lines[0]


def test_valid_file_checks_and_runs(tmp_path):
    result = portail(tmp_path, "config", "check", config=_write(tmp_path, MINIMAL))
    assert result.returncode == 0, result.stderr
    assert "Configuration valide" in result.stdout and "creche, prelevement" in result.stdout


def test_unknown_key_named_with_its_file_and_a_suggestion(tmp_path):
    path = _write(tmp_path, MINIMAL + "\n[smtp]\nhost = \"mail.example.org\"\nprot = 587\n")
    line = _one_error(portail(tmp_path, "config", "check", config=path))
    assert str(path) in line and "[smtp] prot" in line and "clé inconnue" in line and "« port »" in line


def test_unknown_section_and_missing_key(tmp_path):
    path = _write(tmp_path, MINIMAL.replace('name = "Communauté de communes du Test"\n', "") + "\n[smpt]\nhost = \"x\"\n")
    result = portail(tmp_path, "db", "migrate", config=path)
    assert result.returncode == 2 and "Traceback" not in result.stderr
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 2, result.stderr
    assert any("[community] name" in line and "clé obligatoire absente" in line for line in lines)
    assert any("[smpt]" in line and "section inconnue" in line and "« smtp »" in line for line in lines)
    assert not (tmp_path / "portail.sqlite3").exists()  # refused before touching the database


def test_bad_type_in_file_and_in_environment(tmp_path):
    path = _write(tmp_path, MINIMAL + "\n[smtp]\nport = \"vingt-cinq\"\n")
    line = _one_error(portail(tmp_path, "config", "check", config=path))
    assert "[smtp] port" in line and "nombre entier attendu" in line and "vingt-cinq" in line

    path = _write(tmp_path, MINIMAL)
    line = _one_error(portail(tmp_path, "serve", config=path, PORTAIL_SECURITY__SESSION_HOURS="douze"))
    assert str(path) in line and "[security] session_hours (PORTAIL_SECURITY__SESSION_HOURS)" in line
    assert "nombre entier attendu" in line


def test_environment_typo_and_plugin_table_checked_by_the_plugin_model(tmp_path):
    path = _write(tmp_path, MINIMAL)
    line = _one_error(portail(tmp_path, "config", "check", config=path, PORTAIL_SMTP_HOST="mail.example.org"))
    assert "PORTAIL_SMTP_HOST" in line and "PORTAIL_SMTP__HOST" in line

    line = _one_error(portail(tmp_path, "config", "check", config=path, PORTAIL_PLUGIN__CRECHE__CARENCE_DAYS="trois"))
    assert "[plugin.creche] carence_days (PORTAIL_PLUGIN__CRECHE__CARENCE_DAYS)" in line

    path = _write(tmp_path, MINIMAL + "\n[plugin.creche]\ncarence_jours = 3\n")
    line = _one_error(portail(tmp_path, "config", "check", config=path))
    assert "[plugin.creche] carence_jours" in line and "« carence_days »" in line

    path = _write(tmp_path, MINIMAL + "\n[plugin.bibliotheque]\nx = 1\n")
    line = _one_error(portail(tmp_path, "config", "check", config=path))
    assert "[plugin.bibliotheque]" in line and "plugin inconnu" in line


def test_missing_file_is_an_error_never_the_demo(tmp_path):
    line = _one_error(portail(tmp_path, "config", "check", config=tmp_path / "portail.tml"))
    assert "portail.tml" in line and "introuvable" in line and "PORTAIL_CONFIG" in line
    # No PORTAIL_CONFIG and no ./portail.toml: an error too, pointing at the ways to give one.
    line = _one_error(portail(tmp_path, "serve"))
    assert "aucun fichier de configuration" in line
    assert not (tmp_path / "data").exists()  # the demo's ./data SQLite was not created
    with pytest.raises(ConfigError):
        load_settings(environ={"PORTAIL_CONFIG": str(tmp_path / "nope.toml")})


def test_cross_checks_references_ibans_plugins_and_startup_hooks(tmp_path):
    text = (MINIMAL.replace('regie = "cc"', 'regie = "cx"')
            .replace("FR7630001007941234567890185", "FR7630001007941234567890100")
            .replace('enabled = ["creche", "prelevement"]', 'enabled = ["creche", "prelevement", "bibliotheque"]'))
    result = portail(tmp_path, "config", "check", config=_write(tmp_path, text))
    assert result.returncode == 2 and "Traceback" not in result.stderr
    assert "[[services]] n°1 regie : régie « cx » inconnue" in result.stderr
    assert "[[regies]] n°1 creditor_iban : IBAN invalide" in result.stderr

    text = MINIMAL.replace('enabled = ["creche", "prelevement"]', 'enabled = ["creche", "bibliotheque"]')
    line = _one_error(portail(tmp_path, "config", "check", config=_write(tmp_path, text)))
    assert "[plugins] enabled" in line and "« bibliotheque »" in line and "non installé" in line

    # The plugins' start-up hooks run too (here prelevement's check of the SEPA format).
    text = MINIMAL.replace('creditor_bic = "BDFEFRPPXXX"', 'creditor_bic = "BDFEFRPPXXX"\nsepa_format = "pain.008.001.99"')
    line = _one_error(portail(tmp_path, "config", "check", config=_write(tmp_path, text)))
    assert "prelevement" in line and "pain.008.001.99" in line
    line = _one_error(portail(tmp_path, "config", "check", config=_write(tmp_path, MINIMAL.replace("FR72ZZZ", "FR45ZZZ"))))
    assert "prelevement" in line and "FR45ZZZ123456" in line and "invalide" in line


def test_env_booleans_are_typed_and_show_gives_sources_and_masks_secrets(tmp_path):
    path = _write(tmp_path, MINIMAL + '\n[smtp]\nhost = "mail.example.org"\npassword = "dans-le-fichier"\n')
    result = portail(tmp_path, "config", "show", config=path, PORTAIL_SECURITY__INTROSPECTION="false",
                     PORTAIL_SMTP__START_TLS="true", PORTAIL_SMTP__PORT="587",
                     DATABASE_URL="postgres://portail:s3cr3t-db@db.example.org/portail")
    assert result.returncode == 0, result.stderr
    out = result.stdout
    assert "security.introspection = false  # env PORTAIL_SECURITY__INTROSPECTION" in out
    assert "smtp.start_tls = true  # env PORTAIL_SMTP__START_TLS" in out
    assert "smtp.port = 587  # env PORTAIL_SMTP__PORT" in out
    assert 'smtp.host = "mail.example.org"  # fichier' in out
    assert "smtp.max_attempts = 8  # défaut" in out
    assert "plugin.creche.carence_days = 3  # défaut" in out
    assert 'smtp.password = "***"  # fichier' in out
    assert 'database.url = "postgres://portail:***@db.example.org/portail"  # env DATABASE_URL' in out
    assert "dans-le-fichier" not in out and "s3cr3t-db" not in out

    settings = load_settings(path, environ={"PORTAIL_SECURITY__INTROSPECTION": "false", "PORTAIL_SMTP__PORT": "587",
                                            "PORTAIL_PLUGINS": "creche"})
    assert settings.security.introspection is False and settings.smtp.port == 587
    assert settings.enabled_plugins == ("creche",)


def test_removed_secret_key_is_named(tmp_path):
    path = _write(tmp_path, MINIMAL + '\n[security]\nsecret_key = "x"\n')
    line = _one_error(portail(tmp_path, "config", "check", config=path))
    assert "[security] secret_key" in line and "supprimez-la" in line


def test_bundled_demo_config_is_valid():
    settings = load_settings(BUNDLED_DEMO_CONFIG, environ={})
    assert settings.enabled_plugins == ("creche", "alsh_paj", "prelevement", "messagerie")


def test_demo_refuses_a_database_that_is_not_its_own(tmp_path):
    path = _write(tmp_path, MINIMAL)
    assert portail(tmp_path, "db", "migrate", config=path).returncode == 0
    created = portail(tmp_path, "create-staff", "agent@cc-test.fr", "Alice", "Agent", "--role", "admin",
                      "--password", "unvrai-motdepasse-2026", config=path)
    assert created.returncode == 0, created.stderr
    refused = portail(tmp_path, "demo", "--no-serve", config=path)
    assert refused.returncode == 1 and "Refusé" in refused.stderr and "--force" in refused.stderr
    with sqlite3.connect(tmp_path / "portail.sqlite3") as conn:
        emails = {row[0] for row in conn.execute("SELECT email FROM core_user")}
    assert emails == {"agent@cc-test.fr"}  # no admin@demo… with the published password


def test_relative_paths_follow_the_config_file_except_for_the_bundled_demo(tmp_path, monkeypatch):
    path = _write(tmp_path, MINIMAL + '\n[storage]\npath = "fichiers"\n')
    monkeypatch.chdir(ROOT)
    assert load_settings(path, environ={}).storage_path == tmp_path / "fichiers"
    # The demo, however it is named (`-c core/demo.toml`), keeps its files under the working folder.
    assert load_settings(Path("core/demo.toml"), environ={}).storage_path == ROOT / "data" / "files"
