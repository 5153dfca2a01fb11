"""The pytest plugin of Portail Famille (entry point `pytest11: portail`): the real app over HTTP, a
GraphQL client, a real SMTP sink, the clock, and one database per run emptied before each test.

A plugin project chooses what runs in its `conftest.py`:

    @pytest.fixture(scope="session")
    def portail_plugins(portail_plugins):          # default: the demo configuration's list
        return [*portail_plugins, "cantine"]

    @pytest.fixture(scope="session")
    def portail_config():                            # TOML-shaped, merged over the demo configuration
        return {"plugin": {"cantine": {"price_cents": 350}}}

SQLite by default; PostgreSQL when `DATABASE_URL` is set (its `public` schema is dropped first).
`--today YYYY-MM-DD` (or `PORTAIL_TEST_TODAY`) runs the suite as if that were today. Needs
pytest-asyncio with `asyncio_mode = "auto"` and session loop scopes (docs/plugins.md, "Testing").
Installed in a virtualenv shared with unrelated projects, turn it off there with `-p no:portail`.
"""

from __future__ import annotations

import functools
import os
import tomllib
from collections.abc import AsyncIterator, Iterator
from datetime import date
from typing import Any

import pytest

pytest.register_assert_rewrite("core.testing.client", "core.testing.querycount")

from core.testing.clock import Clock, install_clock  # noqa: E402
from core.testing.mail import Mailbox, start_smtp_server  # noqa: E402

try:  # portail-famille[test]; without it the plugin must not break pytest for everything else
    import pytest_asyncio

    async_fixture = functools.partial(pytest_asyncio.fixture, loop_scope="session")
except ImportError:  # pragma: no cover - depends on what is installed
    pytest_asyncio = None
    async_fixture = pytest.fixture

ASYNCIO_SETTINGS = {"asyncio_mode": "auto", "asyncio_default_fixture_loop_scope": "session",
                    "asyncio_default_test_loop_scope": "session"}


def pytest_addoption(parser: pytest.Parser) -> None:
    group = parser.getgroup("portail", "Portail Famille")
    group.addoption("--today", default=os.environ.get("PORTAIL_TEST_TODAY") or None,
                    help="Run the suite as if today (Europe/Paris, 10:00) were this YYYY-MM-DD date "
                         "(or PORTAIL_TEST_TODAY): the suite must pass on any day.")


def _check_asyncio_settings(config: pytest.Config) -> None:
    """The app's connections live in one event loop for the whole run: say so plainly if the
    project's pytest configuration would run tests in another one."""
    if pytest_asyncio is None or not config.pluginmanager.hasplugin("asyncio"):
        pytest.fail("portail: the fixtures need pytest-asyncio (pip install 'portail-famille[test]'; "
                    "not disabled with -p no:asyncio)", pytrace=False)
    wrong = []
    for key, wanted in ASYNCIO_SETTINGS.items():
        value = config.getoption("asyncio_mode") if key == "asyncio_mode" else None
        value = value or config.getini(key)
        if str(value) != wanted:
            wrong.append(f'{key} = "{wanted}"')
    if wrong:
        pytest.fail("portail: add to [tool.pytest.ini_options] of your pyproject.toml: " + ", ".join(wrong),
                    pytrace=False)


# ---- what runs --------------------------------------------------------------------------------
@pytest.fixture(scope="session")
def portail_plugins() -> list[str]:
    """Names of the plugins enabled for the run (default: the demo configuration's list).
    `PORTAIL_PLUGINS=creche pytest …` still narrows a run from the environment."""
    from core.config import BUNDLED_DEMO_CONFIG

    demo = tomllib.loads(BUNDLED_DEMO_CONFIG.read_text(encoding="utf-8"))
    return list(demo["plugins"]["enabled"])


@pytest.fixture(scope="session")
def portail_config() -> dict[str, Any]:
    """TOML-shaped overrides merged over the demo configuration, e.g. `{"plugin": {"cantine": {...}}}`."""
    return {}


@pytest.fixture(scope="session")
def portail_extra_plugins() -> dict[str, object]:
    """`{name: module or object}`: plugins registered without being installed (enabled too)."""
    return {}


# ---- clock ------------------------------------------------------------------------------------
@pytest.fixture(scope="session", autouse=True)
def _session_clock(request: pytest.FixtureRequest) -> Iterator[date | None]:
    """`--today` moves the whole suite to another day; Tortoise's auto_now fields follow the same clock."""
    value = request.config.getoption("--today")
    base = date.fromisoformat(value) if value else None
    undo = install_clock(base)
    yield base
    undo()


@pytest.fixture
def clock(_session_clock: date | None) -> Iterator[Clock]:
    """Move the app's clock in a test: `clock.set(date(2027, 3, 1))`, `clock.advance(days=3)`."""
    c = Clock(_session_clock)
    yield c
    c.reset()


# ---- mail -------------------------------------------------------------------------------------
@pytest.fixture(scope="session")
def smtp_server() -> Iterator[Any]:
    """A real SMTP server (aiosmtpd) on 127.0.0.1 for the whole run; `.handler` is the `Mailbox`."""
    controller = start_smtp_server(Mailbox())
    yield controller
    controller.stop()


@pytest.fixture
def mailbox(smtp_server: Any) -> Mailbox:
    """What the SMTP server received during this test (emptied before each test)."""
    return smtp_server.handler


# ---- configuration, plugins, database --------------------------------------------------------
@pytest.fixture(scope="session")
def settings(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory, smtp_server: Any,
             portail_plugins: list[str], portail_config: dict[str, Any],
             portail_extra_plugins: dict[str, object]) -> Any:
    """The demo community with `portail_plugins` on and `portail_config` merged over it."""
    from core.testing.environment import make_settings

    _check_asyncio_settings(request.config)
    plugins = [*portail_plugins, *(name for name in portail_extra_plugins if name not in portail_plugins)]
    return make_settings(tmp_path_factory.mktemp("portail"), plugins=plugins, overrides=portail_config,
                         smtp_port=smtp_server.port)


@pytest.fixture(scope="session")
def host(settings: Any, portail_extra_plugins: dict[str, object]) -> Any:
    """The plugin host (core + enabled plugins), active for the process: `host.register(obj, name)`
    adds a plugin for one test (unregister it after)."""
    from core.app import bootstrap

    return bootstrap(settings, extra_plugins=portail_extra_plugins or None)


@async_fixture(scope="session")
async def database(host: Any, settings: Any) -> AsyncIterator[None]:
    """One database for the run, its tables created from the models of core and enabled plugins."""
    from tortoise import Tortoise

    from core.testing.environment import create_tables, reset_database

    await reset_database(settings)
    await create_tables(host)
    yield
    await Tortoise.close_connections()


@async_fixture(autouse=True)
async def clean_db(database: None, settings: Any, smtp_server: Any) -> AsyncIterator[None]:
    """Every test starts with empty tables and an empty mailbox."""
    from core.testing.environment import empty_tables

    await empty_tables(settings)
    smtp_server.handler.clear()
    yield


# ---- the app ----------------------------------------------------------------------------------
@pytest.fixture(scope="session")
def app(host: Any) -> Any:
    """The real ASGI app (Starlette + Strawberry), without its background worker."""
    from core.app import create_app

    return create_app(host, manage_db=False, background=False)


@async_fixture()
async def http(app: Any) -> AsyncIterator[Any]:
    """httpx over the ASGI app (`await http.get("/health/live")`), base URL http://portail.test."""
    import httpx

    transport = httpx.ASGITransport(app=app, client=("127.0.0.1", 40000))
    async with httpx.AsyncClient(transport=transport, base_url="http://portail.test") as client:
        yield client


@pytest.fixture
def gql(http: Any) -> Any:
    """An anonymous GraphQL client; `await gql.as_user(user)` gives one logged in as `user`."""
    from core.testing.client import GraphQLClient

    return GraphQLClient(http)
