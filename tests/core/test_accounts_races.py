"""Accounts under parallel requests and password hashing off the event loop: the login throttle
counts attempts atomically (PostgreSQL), `register` does the same work whether or not the address
has an account, and a login that is hashing does not stall other requests."""

from __future__ import annotations

import asyncio
import os
import threading

import pytest
from argon2 import PasswordHasher

from core.accounts import service
from core.accounts.models import User
from core.households.models import Household
from core.mail.models import OutboxMail
from tests.conftest import PASSWORD, make_family
from tests.core.test_accounts import LOGIN, ME, REGISTER

postgres_only = pytest.mark.skipif(not os.environ.get("DATABASE_URL", "").startswith("postgres"),
                                   reason="row locking is proved on PostgreSQL")


class CountingHasher(PasswordHasher):
    """The real argon2 hasher, counting the passwords it hashes and checks."""

    def __init__(self) -> None:
        super().__init__()
        self.hashed = 0
        self.verified = 0
        self._lock = threading.Lock()

    def hash(self, password: str | bytes, *, salt: bytes | None = None) -> str:
        with self._lock:
            self.hashed += 1
        return super().hash(password, salt=salt)

    def verify(self, hash: str | bytes, password: str | bytes) -> bool:
        with self._lock:
            self.verified += 1
        return super().verify(hash, password)


@pytest.fixture
def hasher(monkeypatch: pytest.MonkeyPatch) -> CountingHasher:
    counting = CountingHasher()
    monkeypatch.setattr(service, "_hasher", counting)
    return counting


def codes(results: list[dict]) -> list[str]:
    return [r["errors"][0]["extensions"]["code"] if r.get("errors") else "ok" for r in results]


@postgres_only
async def test_forty_parallel_wrong_passwords_check_only_the_limit(gql, settings, hasher):
    """Issue 10.4: 40 concurrent wrong passwords on one account had 34 checked, the limit being 5."""
    await make_family("cible@example.org")
    limit = settings.security.max_failed_logins_per_account
    results = await asyncio.gather(*(gql.execute(LOGIN, {"email": "cible@example.org", "password": f"mauvais{i:03}"})
                                     for i in range(40)))
    outcome = codes(results)
    assert outcome.count("INVALID_CREDENTIALS") == limit
    assert outcome.count("TOO_MANY_ATTEMPTS") == 40 - limit
    assert hasher.verified == limit  # the others were refused before their password was looked at
    assert codes([await gql.execute(LOGIN, {"email": "cible@example.org", "password": PASSWORD})]) == \
        ["TOO_MANY_ATTEMPTS"]


@postgres_only
async def test_parallel_guesses_from_one_ip_check_only_the_ip_limit(gql, settings, hasher):
    limit = settings.security.max_failed_logins_per_ip
    results = await asyncio.gather(*(gql.execute(LOGIN, {"email": f"inconnu{i}@example.org", "password": "mauvais000"})
                                     for i in range(limit + 15)))
    outcome = codes(results)
    assert outcome.count("INVALID_CREDENTIALS") == limit
    assert outcome.count("TOO_MANY_ATTEMPTS") == 15
    assert hasher.verified == limit


async def test_a_successful_login_forgives_the_account_failures(gql, settings):
    await make_family("oubli@example.org")
    limit = settings.security.max_failed_logins_per_account
    for _ in range(limit - 1):
        assert await gql.code(LOGIN, email="oubli@example.org", password="mauvais000") == "INVALID_CREDENTIALS"
    await gql.ok(LOGIN, email="oubli@example.org", password=PASSWORD)
    for _ in range(limit):
        assert await gql.code(LOGIN, email="oubli@example.org", password="mauvais000") == "INVALID_CREDENTIALS"
    assert await gql.code(LOGIN, email="oubli@example.org", password="mauvais000") == "TOO_MANY_ATTEMPTS"


async def test_register_does_the_same_work_for_an_existing_and_a_new_address(gql, hasher):
    """Issue 10.5: an existing address answered in 6 ms, a new one in 100 ms. Both paths now hash
    one password and queue one mail (to the holder of the address, not to the caller)."""
    await make_family("deja@example.org")
    work = []
    for email in ("deja@example.org", "nouveau@example.org"):
        before_hashed, before_mails = hasher.hashed, await OutboxMail.all().count()
        answer = await gql.ok(REGISTER, input={"email": email, "password": "famille2024x", "firstName": "A",
                                              "lastName": "B"})
        mails = await OutboxMail.all().order_by("-id").limit(1).values_list("to", "template")
        work.append((answer, hasher.hashed - before_hashed, await OutboxMail.all().count() - before_mails,
                     mails[0][0]))
    assert work[0][0] == work[1][0]  # same answer
    assert [w[1:] for w in work] == [(1, 1, "deja@example.org"), (1, 1, "nouveau@example.org")]
    templates = await OutboxMail.all().order_by("id").values_list("template", flat=True)
    assert templates == ["mail/register_existing", "mail/confirm_email"]


@postgres_only
async def test_parallel_registrations_of_one_address_make_one_account(gql):
    results = await asyncio.gather(*(gql.execute(REGISTER, {"input": {
        "email": "double@example.org", "password": "famille2024x", "firstName": "A", "lastName": "B"}})
        for _ in range(20)))
    assert codes(results) == ["ok"] * 20  # the same answer for all, never INTERNAL_SERVER_ERROR
    assert await User.filter(email="double@example.org").count() == 1
    assert await Household.filter(email="double@example.org").count() == 1
    templates = await OutboxMail.filter(to="double@example.org").values_list("template", flat=True)
    assert sorted(templates) == ["mail/confirm_email"] + ["mail/register_existing"] * 19


async def test_other_requests_run_while_a_login_is_hashing(gql, monkeypatch):
    """Issue 15.6: argon2 ran on the event loop, so one login stalled every request. A hasher that
    blocks until the test lets it go shows another request completing in the meantime."""
    user, _, _ = await make_family("lent@example.org")
    other = await gql.as_user(user)
    started, release = threading.Event(), threading.Event()
    order: list[str] = []

    class SlowHasher(PasswordHasher):
        def verify(self, hash: str | bytes, password: str | bytes) -> bool:
            order.append("verify started")
            started.set()
            release.wait(timeout=10)  # on the event loop this wait would freeze the other request
            order.append("verify done")
            return super().verify(hash, password)

    monkeypatch.setattr(service, "_hasher", SlowHasher())
    login = asyncio.create_task(gql.execute(LOGIN, {"email": "lent@example.org", "password": PASSWORD}))
    assert await asyncio.to_thread(started.wait, 10)
    assert (await other.ok(ME))["me"]["email"] == "lent@example.org"
    order.append("other request done")
    release.set()
    assert codes([await login]) == ["ok"]
    assert order == ["verify started", "other request done", "verify done"]


async def test_maintenance_drops_throttle_rows_of_past_windows(gql, settings):
    from datetime import timedelta

    from core.accounts.models import LoginThrottle
    from core.plugins import get_host
    from core.timeutil import now, today

    await gql.code(LOGIN, email="passe@example.org", password="mauvais000")
    assert await LoginThrottle.all().count() == 2  # the account and the IP, keys hashed
    assert not any("passe" in k or "127.0.0.1" in k for k in await LoginThrottle.all().values_list("key", flat=True))
    old = now() - timedelta(minutes=settings.security.failed_login_window_minutes + 1)
    await LoginThrottle.all().update(window_start=old)
    assert (await get_host().maintenance(today())).get("login_throttle_rows_dropped") == 2
    assert await LoginThrottle.all().count() == 0
