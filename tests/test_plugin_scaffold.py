"""`portail plugin new`: the generated project is a separate package that pip installs, whose entry
point Portail finds, whose initial migration matches its models, and whose own tests (written with
Portail's pytest plugin) pass. A two-word name exercises every spelling (ecole_musique, EcoleMusique,
ecoleMusique, ECOLE_MUSIQUE, portail-ecole-musique)."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from core.scaffold import ScaffoldError, check_name

BIN = Path(sys.executable).parent
NAME = "ecole_musique"


def _run(*args: str, cwd: Path, timeout: int = 240) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("PYTEST_", "PORTAIL_")) and k != "DATABASE_URL"}
    return subprocess.run(list(args), cwd=cwd, env=env, capture_output=True, text=True, timeout=timeout)


def test_generated_plugin_installs_and_its_tests_pass(tmp_path):
    project = tmp_path / "portail-ecole-musique"
    made = _run(str(BIN / "portail"), "plugin", "new", NAME, "--dir", str(project), cwd=tmp_path)
    assert made.returncode == 0, made.stdout + made.stderr
    for path in ("pyproject.toml", "README.md", ".github/workflows/tests.yml", "tests/test_api.py",
                 "tests/conftest.py", f"{NAME}/plugin.py", f"{NAME}/models.py", f"{NAME}/rules.py",
                 f"{NAME}/service.py", f"{NAME}/graphql.py", f"{NAME}/templates/mail/registered.txt",
                 f"{NAME}/migrations/__init__.py", f"{NAME}/migrations/0001_initial.py"):
        assert (project / path).is_file(), path
    assert not list(project.rglob("*.tmpl")) and "{{" not in (project / f"{NAME}/graphql.py").read_text()
    assert f'{NAME} = "{NAME}.plugin"' in (project / "pyproject.toml").read_text()
    lint = _run(str(BIN / "ruff"), "check", ".", cwd=project)
    assert lint.returncode == 0, lint.stdout

    installed = _run(str(BIN / "python"), "-m", "pip", "install", "-q", "--no-deps", "--disable-pip-version-check",
                     "-e", str(project), cwd=tmp_path)
    assert installed.returncode == 0, installed.stdout + installed.stderr
    try:
        listed = _run(str(BIN / "portail"), "plugins", "--json", cwd=tmp_path)
        assert f'"name": "{NAME}"' in listed.stdout and '"distribution": "portail-ecole-musique"' in listed.stdout
        tested = _run(str(BIN / "python"), "-m", "pytest", "-p", "no:cacheprovider", cwd=project)
        assert tested.returncode == 0, tested.stdout[-4000:] + tested.stderr[-2000:]
        assert "10 passed" in tested.stdout
        # its migration creates its table through `portail db migrate`, with core's
        env = {"DATABASE_URL": f"sqlite://{tmp_path / 'db.sqlite3'}", "PORTAIL_PLUGINS": NAME,
               "PORTAIL_STORAGE__PATH": str(tmp_path / "files"), "PORTAIL_CONFIG": str(Path(__file__).parents[1] / "core" / "demo.toml")}
        migrated = subprocess.run([str(BIN / "portail"), "db", "migrate"], cwd=tmp_path, capture_output=True, text=True,
                                  timeout=120, env={**{k: v for k, v in os.environ.items()
                                                       if not k.startswith("PORTAIL_") and k != "DATABASE_URL"}, **env})
        assert migrated.returncode == 0, migrated.stdout + migrated.stderr
        assert f"{NAME} : 1 migration(s) appliquée(s) (0001_initial)" in migrated.stdout
    finally:
        _run(str(BIN / "python"), "-m", "pip", "uninstall", "-y", "-q", "portail-ecole-musique", cwd=tmp_path)


@pytest.mark.parametrize("name", ["Cantine", "2cantine", "cantine-scolaire", "c", "creche", "core", "json", "class"])
def test_unusable_names_are_refused(name):
    with pytest.raises(ScaffoldError):
        check_name(name)


def test_an_existing_folder_is_not_overwritten(tmp_path):
    from core.scaffold import new_plugin

    (tmp_path / "notes.txt").write_text("à garder")
    with pytest.raises(ScaffoldError, match="n'est pas vide"):
        new_plugin("bibliotheque", tmp_path)
    assert [p.name for p in tmp_path.iterdir()] == ["notes.txt"]
