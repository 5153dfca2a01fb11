"""Shared fixtures: one database per run (SQLite file, or PostgreSQL when DATABASE_URL says so),
emptied before each test; the real ASGI app through httpx; a real SMTP server (aiosmtpd)."""

from __future__ import annotations

import os
import socket
from collections.abc import AsyncIterator
from dataclasses import replace
from datetime import date, datetime, timedelta
from email import message_from_bytes, policy
from email.message import EmailMessage
from pathlib import Path
from typing import Any

import httpx
import pytest
from aiosmtpd.controller import Controller
from tortoise import Tortoise, connections

from core import timeutil
from core.accounts.models import AuthToken, Role, TokenPurpose, User
from core.accounts.rules import hash_token, new_token
from core.accounts.service import hash_password
from core.app import bootstrap, create_app
from core.config import BUNDLED_DEMO_CONFIG, SmtpConfig, load_settings
from core.db import init_db
from core.households.models import Child, Household, Responsable
from core.timeutil import now
from tests.helpers import GraphQLClient

PASSWORD = "motdepasse123"
_PASSWORD_HASH: str | None = None


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Mailbox:
    """What the real SMTP server received."""

    def __init__(self) -> None:
        self.messages: list[EmailMessage] = []

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:  # aiosmtpd handler
        self.messages.append(message_from_bytes(envelope.content, policy=policy.default))  # type: ignore[arg-type]
        return "250 OK"

    def to(self, address: str) -> list[EmailMessage]:
        return [m for m in self.messages if m["To"] == address]

    @staticmethod
    def text(message: EmailMessage) -> str:
        part = message.get_body(preferencelist=("plain",))
        return part.get_content() if part else ""

    def clear(self) -> None:
        self.messages.clear()


def pytest_addoption(parser: pytest.Parser) -> None:
    parser.addoption("--today", default=os.environ.get("PORTAIL_TEST_TODAY") or None,
                     help="Run the suite as if today (Europe/Paris, 10:00) were this YYYY-MM-DD date "
                          "(or PORTAIL_TEST_TODAY): the suite must pass on any day.")


class Clock:
    """The application's clock in a test: `clock.set(date(2027, 3, 1))` (10:00 in Paris that day,
    time flowing from there), `clock.set(datetime(..., tzinfo=PARIS), frozen=True)`,
    `clock.advance(days=3)`. Put back after the test."""

    def __init__(self, base: date | None) -> None:
        self.base = base

    def set(self, instant: date | datetime, *, frozen: bool = False) -> datetime:
        timeutil.set_clock(instant, frozen=frozen)
        return now()

    def advance(self, **delta: float) -> datetime:
        frozen = timeutil._frozen is not None
        return self.set(now() + timedelta(**delta), frozen=frozen)

    def reset(self) -> None:
        timeutil.set_clock(self.base)


@pytest.fixture(scope="session", autouse=True)
def _session_clock(request: pytest.FixtureRequest) -> Any:
    """`--today` moves the whole suite to another day; Tortoise's auto_now fields follow the same clock."""
    import tortoise.timezone

    value = request.config.getoption("--today")
    base = date.fromisoformat(value) if value else None
    original = tortoise.timezone.now
    tortoise.timezone.now = lambda: now() if tortoise.timezone.get_use_tz() else now().replace(tzinfo=None)
    timeutil.set_clock(base)
    yield base
    timeutil.set_clock(None)
    tortoise.timezone.now = original


@pytest.fixture
def clock(_session_clock: date | None) -> Any:
    c = Clock(_session_clock)
    yield c
    c.reset()


@pytest.fixture(scope="session")
def smtp_server() -> Any:
    mailbox = Mailbox()
    controller = Controller(mailbox, hostname="127.0.0.1", port=free_port())
    controller.start()
    yield controller
    controller.stop()


@pytest.fixture(scope="session")
def settings(tmp_path_factory: pytest.TempPathFactory, smtp_server: Controller) -> Any:
    tmp = tmp_path_factory.mktemp("portail")
    db_url = os.environ.get("DATABASE_URL") or f"sqlite://{tmp / 'test.sqlite3'}"
    environ = {"DATABASE_URL": db_url}
    if os.environ.get("PORTAIL_PLUGINS") is not None:  # run a subset: PORTAIL_PLUGINS=creche pytest …
        environ["PORTAIL_PLUGINS"] = os.environ["PORTAIL_PLUGINS"]
    base = load_settings(BUNDLED_DEMO_CONFIG, environ=environ)
    return replace(base, storage_path=tmp / "files",
                   smtp=SmtpConfig(host="127.0.0.1", port=smtp_server.port, sender="Portail <portail@test.local>"))


@pytest.fixture(scope="session")
def host(settings: Any) -> Any:
    return bootstrap(settings)


def _is_postgres(url: str) -> bool:
    return url.startswith("postgres")


@pytest.fixture(scope="session")
async def database(host: Any, settings: Any) -> AsyncIterator[None]:
    if _is_postgres(settings.database_url):
        import asyncpg

        conn = await asyncpg.connect(settings.database_url.replace("postgres://", "postgresql://", 1))
        await conn.execute("DROP SCHEMA public CASCADE; CREATE SCHEMA public;")
        await conn.close()
    else:
        Path(settings.database_url[len("sqlite://"):]).unlink(missing_ok=True)
    config = await init_db(host)
    await Tortoise.generate_schemas()
    # The tables come from the models (faster than migrating); `makemigrations --check` proves the
    # migrations build the same ones, so they are recorded as applied (readiness checks them).
    from tortoise.migrations.api import migrate

    await migrate(config=config, fake=True)
    yield
    await Tortoise.close_connections()


def _tables() -> list[str]:
    return [model._meta.db_table for app in Tortoise.apps.values() for model in app.values()]


@pytest.fixture(autouse=True)
async def clean_db(database: None, settings: Any, smtp_server: Controller) -> AsyncIterator[None]:
    conn = connections.get("default")
    tables = _tables()
    if _is_postgres(settings.database_url):
        await conn.execute_script(f"TRUNCATE {', '.join(tables)} RESTART IDENTITY CASCADE")
    else:
        statements = ["PRAGMA foreign_keys=OFF"] + [f'DELETE FROM "{t}"' for t in tables]
        statements += ["DELETE FROM sqlite_sequence" , "PRAGMA foreign_keys=ON"]
        for statement in statements:
            try:
                await conn.execute_script(statement)
            except Exception:  # sqlite_sequence exists only once an AUTOINCREMENT table was used
                if "sqlite_sequence" not in statement:
                    raise
    smtp_server.handler.clear()
    yield


@pytest.fixture
def mailbox(smtp_server: Controller) -> Mailbox:
    return smtp_server.handler


@pytest.fixture(scope="session")
def app(host: Any) -> Any:
    return create_app(host, manage_db=False, background=False)


@pytest.fixture
async def http(app: Any) -> AsyncIterator[httpx.AsyncClient]:
    transport = httpx.ASGITransport(app=app, client=("127.0.0.1", 40000))
    async with httpx.AsyncClient(transport=transport, base_url="http://portail.test") as client:
        yield client


@pytest.fixture
def gql(http: httpx.AsyncClient) -> GraphQLClient:
    """An anonymous client; `gql.as_user(user)` gives one logged in as `user`."""
    return GraphQLClient(http)


# ---- factories ---------------------------------------------------------------------------------
def password_hash() -> str:
    global _PASSWORD_HASH
    if _PASSWORD_HASH is None:
        _PASSWORD_HASH = hash_password(PASSWORD)
    return _PASSWORD_HASH


async def make_family(email: str = "famille@example.org", *, confirmed: bool = True, children: int = 2,
                      name: str = "DUPONT", quotient_familial: int | None = 800) -> tuple[User, Household, list[Child]]:
    household = await Household.create(name=name, email=email, address_line1="1 rue de la Paix", postal_code="33360",
                                       city="LATRESNE", quotient_familial=quotient_familial, dependent_children=children)
    user = await User.create(email=email, password_hash=password_hash(), role=Role.FAMILY, household=household,
                             first_name="Camille", last_name=name, email_confirmed_at=now() if confirmed else None)
    await Responsable.create(household=household, rank=1, user=user, first_name="Camille", last_name=name, email=email)
    kids = [await Child.create(household=household, first_name=f"Enfant{i + 1}", last_name=name,
                               birth_date=now().date() - timedelta(days=365 * (3 + 2 * i)))
            for i in range(children)]
    return user, household, kids


async def make_staff(email: str = "agent@example.org", *, services: list[str] | None = None,
                     role: str = Role.AGENT) -> User:
    return await User.create(email=email, password_hash=password_hash(), role=role, services=services or [],
                             first_name="Agent", last_name="TEST", email_confirmed_at=now())


async def session_token(user: User, lifetime: timedelta = timedelta(hours=2)) -> str:
    """A session without going through argon2 each time (login itself is tested in test_accounts)."""
    token = new_token()
    await AuthToken.create(user=user, purpose=TokenPurpose.SESSION, token_hash=hash_token(token),
                           expires_at=now() + lifetime)
    return token


async def uses_service(household: Household, *service_codes: str) -> None:
    """Make the household USE these services (core.permissions' need-to-know rule): a démarche
    addressed to each, the lightest core record that says so whatever plugins are on."""
    from core.demarches.models import Demarche

    for code in service_codes:
        await Demarche.create(household=household, type_code="information", service_code=code, data={})
