"""The shipped migrations and the real server, as an operator runs them: `portail demo` on a fresh
SQLite file, then `portail serve` answering over a real TCP socket; a plugin that is off creates no table."""

from __future__ import annotations

import os
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest

from tests.conftest import free_port

PORTAIL = str(Path(sys.executable).with_name("portail"))


def _env(tmp_path: Path, **extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("PORTAIL_") and k != "DATABASE_URL"}
    env.update(DATABASE_URL=f"sqlite://{tmp_path / 'portail.sqlite3'}", PORTAIL_STORAGE__PATH=str(tmp_path / "files"),
               PORTAIL_CONFIG=str(Path(__file__).parents[1] / "core" / "demo.toml"), **extra)
    return env


def _tables(db: Path) -> set[str]:
    with sqlite3.connect(db) as conn:
        return {row[0] for row in conn.execute("SELECT name FROM sqlite_master WHERE type='table'")}


def test_plugin_off_creates_no_table(tmp_path):
    subprocess.run([PORTAIL, "db", "migrate"], env=_env(tmp_path, PORTAIL_PLUGINS="creche"), check=True,
                   capture_output=True, timeout=120)
    tables = _tables(tmp_path / "portail.sqlite3")
    assert "core_household" in tables
    assert any(t.startswith("creche_") for t in tables)
    assert not any(t.startswith(("alsh_", "prelevement_", "messagerie_")) for t in tables)


def test_demo_then_real_server_over_tcp(tmp_path):
    env = _env(tmp_path)
    demo = subprocess.run([PORTAIL, "demo", "--no-serve"], env=env, capture_output=True, text=True, timeout=180)
    assert demo.returncode == 0, demo.stderr[-3000:]
    assert "patricia.testbo@demo.portail-famille.fr" in demo.stdout
    # Loading the demo twice is harmless.
    assert subprocess.run([PORTAIL, "demo", "--no-serve"], env=env, capture_output=True, timeout=180).returncode == 0

    port = free_port()
    server = subprocess.Popen([PORTAIL, "serve", "--port", str(port)], env=env, stdout=subprocess.PIPE,
                              stderr=subprocess.STDOUT)
    try:
        base = f"http://127.0.0.1:{port}"
        for _ in range(100):
            try:
                if httpx.get(f"{base}/health", timeout=1).status_code == 200:
                    break
            except httpx.HTTPError:
                time.sleep(0.2)
        else:
            pytest.fail("server did not start: " + server.stdout.read1().decode(errors="replace"))  # type: ignore[union-attr]
        with httpx.Client(base_url=base, timeout=10) as client:
            login = client.post("/graphql", json={"query": 'mutation { login(email: "patricia.testbo@demo.portail-famille.fr", password: "portail2024") { token } }'})
            assert login.json().get("errors") is None, login.text
            me = client.post("/graphql", json={"query": "{ me { email role } }"})  # the cookie is enough
            assert me.json()["data"]["me"] == {"email": "patricia.testbo@demo.portail-famille.fr", "role": "FAMILY"}
    finally:
        server.terminate()
        server.wait(timeout=20)


def test_each_app_has_one_line_of_migrations():
    """Two branches that each add a migration to the same app leave two leaves: the order they apply
    in is then undefined. The later one must be regenerated on top of the other."""
    import ast

    root = Path(__file__).resolve().parents[1]
    for folder in [root / "core" / "migrations", *sorted((root / "plugins").glob("*/migrations"))]:
        app = folder.parent.name
        names = {p.stem for p in folder.glob("[0-9]*.py")}
        referenced: set[str] = set()
        for path in folder.glob("[0-9]*.py"):
            for node in ast.walk(ast.parse(path.read_text())):
                if isinstance(node, ast.Assign) and any(getattr(t, "id", "") == "dependencies" for t in node.targets):
                    referenced |= {name for label, name in ast.literal_eval(node.value) if label == app}
        leaves = sorted(names - referenced)
        assert len(leaves) == 1, f"{folder.relative_to(root)}: several last migrations {leaves}"


def test_added_columns_can_be_added_to_tables_that_hold_rows():
    """Upgrading a community's database adds columns to tables full of rows: a NOT NULL column needs
    a database default (`db_default=` on the model field), or SQLite and PostgreSQL refuse the
    migration (`Cannot add a NOT NULL column with default value NULL`)."""
    import ast

    root = Path(__file__).resolve().parents[1]
    offenders = []
    for path in [*(root / "core" / "migrations").glob("[0-9]*.py"), *(root / "plugins").glob("*/migrations/[0-9]*.py")]:
        for node in ast.walk(ast.parse(path.read_text())):
            if not (isinstance(node, ast.Call) and getattr(node.func, "attr", "") == "AddField"):
                continue
            field = next((k.value for k in node.keywords if k.arg == "field"), None)
            keywords = {k.arg: k.value for k in getattr(field, "keywords", [])}
            nullable = isinstance(keywords.get("null"), ast.Constant) and keywords["null"].value is True
            if not nullable and "db_default" not in keywords and getattr(field.func, "attr", "") != "ManyToManyField":
                name = next(k.value.value for k in node.keywords if k.arg == "name")
                offenders.append(f"{path.relative_to(root)}: {name}")
    assert not offenders, f"NOT NULL columns added without db_default: {offenders}"
