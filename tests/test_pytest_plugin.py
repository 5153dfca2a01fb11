"""The pytest plugin shipped in the package (core/testing/plugin.py) works for a project outside
this repository: a temporary project with its own conftest, using only `core.testing` and the
fixtures, runs in a subprocess from another folder and passes."""

from __future__ import annotations

import ast
import os
import subprocess
import sys
from pathlib import Path

import core.testing

PYPROJECT = """
[tool.pytest.ini_options]
asyncio_mode = "auto"
asyncio_default_fixture_loop_scope = "session"
asyncio_default_test_loop_scope = "session"
"""

CONFTEST = '''
import pytest
import strawberry

from core.contributions import GraphQLContribution
from core.hookspecs import hookimpl


@strawberry.type
class GreetingQuery:
    @strawberry.field(description="A greeting from the plugin under test.")
    def greeting(self) -> str:
        return "Bonjour"


class Greeter:
    @hookimpl
    def portail_graphql(self):
        return GraphQLContribution(query=GreetingQuery)


@pytest.fixture(scope="session")
def portail_plugins():
    return ["creche"]


@pytest.fixture(scope="session")
def portail_extra_plugins():
    return {"greeter": Greeter()}


@pytest.fixture(scope="session")
def portail_config():
    return {"community": {"short_name": "CC de l'essai"}}
'''

TESTS = '''
from core.households.models import Household
from core.testing import GraphQLClient, count_queries, make_family, make_staff

ME = "{ me { email householdId } }"


async def test_a_family_logs_in_and_reads_its_file(gql):
    user, household, children = await make_family("essai@example.org", children=1)
    client = await gql.as_user(user)
    assert isinstance(client, GraphQLClient)
    me = (await client.data(ME))["me"]
    assert me == {"email": "essai@example.org", "householdId": str(household.id)}
    assert (await gql.data(ME)) == {"me": None}


async def test_each_test_starts_from_an_empty_database():
    assert await Household.all().count() == 0


async def test_the_plugin_under_test_and_the_chosen_plugins_are_on(gql, host, settings):
    assert host.enabled == ("creche", "greeter")
    assert settings.community.short_name == "CC de l'essai"
    assert (await gql.data("{ greeting }")) == {"greeting": "Bonjour"}
    assert await gql.code("{ alshEstablishments { id } }") == "GRAPHQL_VALIDATION_FAILED"


async def test_mail_reaches_the_smtp_sink(gql, mailbox):
    await make_family("oubli@example.org")
    await gql.data("mutation { requestPasswordReset(email: \\"oubli@example.org\\") { ok } }")
    await mailbox.deliver()
    assert "mot de passe" in mailbox.text(mailbox.to("oubli@example.org")[-1]).lower()


async def test_clock_and_query_count(gql, clock):
    from datetime import date

    from core.timeutil import today

    clock.set(date(2031, 5, 14))
    assert today() == date(2031, 5, 14)
    staff = await make_staff(services=["creche"])
    with count_queries() as log:
        await (await gql.as_user(staff)).data(ME)
    assert 0 < log.count < 10
'''


def run_project(tmp_path: Path, *options: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    (tmp_path / "pyproject.toml").write_text(PYPROJECT, encoding="utf-8")
    (tmp_path / "conftest.py").write_text(CONFTEST, encoding="utf-8")
    (tmp_path / "test_essai.py").write_text(TESTS, encoding="utf-8")
    # Never the outer run's DATABASE_URL: the inner run drops its database's schema first.
    environ = {k: v for k, v in os.environ.items() if not k.startswith(("PYTEST_", "PORTAIL_")) and k != "DATABASE_URL"}
    return subprocess.run([sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", *options],
                          cwd=tmp_path, env={**environ, **(env or {})}, capture_output=True, text=True, timeout=300)


def test_a_project_outside_the_repository_uses_the_fixtures(tmp_path):
    result = run_project(tmp_path)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "5 passed" in result.stdout


def test_the_plugin_loads_by_name_without_autoloading(tmp_path):
    """`-p portail` is the entry point's name (PYTEST_DISABLE_PLUGIN_AUTOLOAD set)."""
    result = run_project(tmp_path, "-p", "asyncio", "-p", "portail", "-k", "empty_database",
                         env={"PYTEST_DISABLE_PLUGIN_AUTOLOAD": "1"})
    assert result.returncode == 0, result.stdout + result.stderr
    assert "1 passed" in result.stdout


def test_a_project_without_the_asyncio_settings_is_told_what_to_add(tmp_path):
    result = run_project(tmp_path, "-o", "asyncio_default_test_loop_scope=function", "-k", "empty_database")
    assert result.returncode != 0
    assert 'asyncio_default_test_loop_scope = "session"' in result.stdout


def test_without_pytest_asyncio_the_fixtures_say_what_is_missing(tmp_path):
    result = run_project(tmp_path, "-p", "no:asyncio", "-k", "empty_database")
    assert result.returncode != 0
    assert "the fixtures need pytest-asyncio" in result.stdout


def test_the_shipped_helpers_need_nothing_from_the_tests_folder():
    folder = Path(core.testing.__file__).parent
    for source in folder.glob("*.py"):
        tree = ast.parse(source.read_text(encoding="utf-8"))
        imported = {alias.name for node in ast.walk(tree) if isinstance(node, ast.Import) for alias in node.names}
        imported |= {node.module or "" for node in ast.walk(tree) if isinstance(node, ast.ImportFrom)}
        assert not {m for m in imported if m == "tests" or m.startswith("tests.")}, source.name
