"""Accounts through HTTP: register → confirm, login (cookie and Bearer), throttling, reset, staff-opened
accounts, and mail actually received by a real SMTP server."""

from __future__ import annotations

import re
from datetime import timedelta

from core.accounts.models import AuthToken, TokenPurpose, User
from core.households.models import AuditLog, Household, Responsable
from core.mail.models import OutboxMail, OutboxStatus
from core.mail.service import send_pending
from core.timeutil import now
from tests.conftest import PASSWORD, make_family, make_staff

REGISTER = """mutation($input: RegisterInput!) { register(input: $input) { ok message } }"""
CONFIRM = """mutation($token: String!, $password: String) { confirmEmail(token: $token, password: $password) { ok } }"""
LOGIN = """mutation($email: String!, $password: String!, $remember: Boolean! = false) {
  login(email: $email, password: $password, rememberMe: $remember) { token expiresAt user { email emailConfirmed role } } }"""
ME = "{ me { email emailConfirmed householdId } }"
RESET_REQUEST = """mutation($email: String!) { requestPasswordReset(email: $email) { ok message } }"""
RESET = """mutation($token: String!, $pw: String!) { resetPassword(token: $token, newPassword: $pw) { ok } }"""


def token_in(text: str) -> str:
    match = re.search(r"token=([A-Za-z0-9_\-]+)", text)
    assert match, text
    return match.group(1)


async def delivered_text(mailbox, address: str) -> str:
    await send_pending(ignore_schedule=True)
    messages = mailbox.to(address)
    assert messages, f"no mail received for {address}"
    return mailbox.text(messages[-1])


async def test_self_registration_mail_confirmation_and_login(gql, mailbox):
    data = await gql.ok(REGISTER, input={"email": "Nouvelle@Example.org", "password": "famille2024x",
                                          "firstName": "Léa", "lastName": "Martin"})
    assert data["register"]["ok"]
    text = await delivered_text(mailbox, "nouvelle@example.org")
    assert "aucune demande d'inscription ne sera prise en compte" in text
    html = mailbox.to("nouvelle@example.org")[-1].get_body(preferencelist=("html",)).get_content()
    assert f'<a href="http://127.0.0.1:8000/confirmer?token={token_in(text)}">' in html  # text + HTML parts

    login = (await gql.ok(LOGIN, email="nouvelle@example.org", password="famille2024x"))["login"]
    assert login["user"]["emailConfirmed"] is False  # may log in, but no request is accepted yet
    me = (await gql.with_token(login["token"]).ok(ME))["me"]
    assert me["householdId"] is not None

    await gql.ok(CONFIRM, token=token_in(text))
    assert (await gql.with_token(login["token"]).ok(ME))["me"]["emailConfirmed"] is True
    # single use
    assert await gql.code(CONFIRM, token=token_in(text)) == "INVALID_TOKEN"


async def test_register_same_answer_for_existing_email_and_no_second_account(gql, mailbox):
    await make_family("deja@example.org")
    data = await gql.ok(REGISTER, input={"email": "deja@example.org", "password": "famille2024x",
                                          "firstName": "X", "lastName": "Y"})
    assert data["register"]["ok"]
    assert await User.filter(email="deja@example.org").count() == 1
    assert "a déjà un compte" in await delivered_text(mailbox, "deja@example.org")


async def test_register_bad_input(gql):
    weak = await gql.error(REGISTER, input={"email": "a@b.fr", "password": "court", "firstName": "A", "lastName": "B"})
    assert weak["extensions"] == {"code": "WEAK_PASSWORD", "field": "password"}
    bad_email = await gql.error(REGISTER, input={"email": "pas-un-email", "password": "famille2024x",
                                                 "firstName": "A", "lastName": "B"})
    assert bad_email["extensions"]["code"] == "INVALID_EMAIL"
    assert await User.all().count() == 0


async def test_login_sets_httponly_cookie_and_logout_ends_session(gql, http):
    await make_family("cookie@example.org")
    response = await http.post("/graphql", json={"query": LOGIN, "variables": {"email": "cookie@example.org",
                                                                             "password": PASSWORD, "remember": True}})
    set_cookie = response.headers["set-cookie"]
    assert "portail_session=" in set_cookie and "HttpOnly" in set_cookie and "Max-Age=" in set_cookie
    # the cookie alone authenticates a browser
    me = await http.post("/graphql", json={"query": ME})
    assert me.json()["data"]["me"]["email"] == "cookie@example.org"
    await http.post("/graphql", json={"query": "mutation { logout { ok } }"})
    http.cookies.clear()
    token = response.json()["data"]["login"]["token"]
    assert (await gql.with_token(token).ok(ME))["me"] is None


async def test_remember_me_gives_a_longer_session(gql):
    await make_family("long@example.org")
    short = (await gql.ok(LOGIN, email="long@example.org", password=PASSWORD))["login"]["expiresAt"]
    long = (await gql.ok(LOGIN, email="long@example.org", password=PASSWORD, remember=True))["login"]["expiresAt"]
    assert long > short


async def test_failed_logins_are_throttled_per_account(gql):
    await make_family("cible@example.org")
    for _ in range(5):
        assert await gql.code(LOGIN, email="cible@example.org", password="mauvais000") == "INVALID_CREDENTIALS"
    # even the right password is refused while throttled
    assert await gql.code(LOGIN, email="cible@example.org", password=PASSWORD) == "TOO_MANY_ATTEMPTS"


async def test_failed_logins_are_throttled_per_ip(gql, settings):
    limit = settings.security.max_failed_logins_per_ip
    for i in range(limit):
        await gql.code(LOGIN, email=f"inconnu{i}@example.org", password="mauvais000")
    await make_family("autre@example.org")
    assert await gql.code(LOGIN, email="autre@example.org", password=PASSWORD) == "TOO_MANY_ATTEMPTS"


async def test_unknown_email_and_wrong_password_look_the_same(gql):
    await make_family("connu@example.org")
    a = await gql.error(LOGIN, email="connu@example.org", password="mauvais000")
    b = await gql.error(LOGIN, email="inconnu@example.org", password="mauvais000")
    assert a == {**b, "path": a["path"], "locations": a["locations"]}


async def test_password_reset_flow_same_answer_single_use_and_expiry(gql, mailbox):
    user, _, _ = await make_family("oubli@example.org")
    known = (await gql.ok(RESET_REQUEST, email="oubli@example.org"))["requestPasswordReset"]
    unknown = (await gql.ok(RESET_REQUEST, email="personne@example.org"))["requestPasswordReset"]
    assert known == unknown
    token = token_in(await delivered_text(mailbox, "oubli@example.org"))
    assert mailbox.to("personne@example.org") == []

    assert await gql.code(RESET, token=token, pw="court") == "WEAK_PASSWORD"
    await gql.ok(RESET, token=token, pw="nouveau2024x")
    assert await gql.code(RESET, token=token, pw="encore2024xx") == "INVALID_TOKEN"
    await gql.ok(LOGIN, email="oubli@example.org", password="nouveau2024x")

    await gql.ok(RESET_REQUEST, email="oubli@example.org")
    expired = token_in(await delivered_text(mailbox, "oubli@example.org"))
    await AuthToken.filter(user=user, purpose=TokenPurpose.RESET, used_at__isnull=True).update(
        expires_at=now() - timedelta(minutes=1))
    assert await gql.code(RESET, token=expired, pw="nouveau2025x") == "INVALID_TOKEN"


async def test_change_password_requires_the_current_one(gql):
    user, _, _ = await make_family("change@example.org")
    client = await gql.as_user(user)
    q = "mutation($c: String!, $n: String!) { changePassword(currentPassword: $c, newPassword: $n) { ok } }"
    err = await client.error(q, c="mauvais000", n="nouveau2024x")
    assert err["extensions"]["field"] == "currentPassword"
    await client.ok(q, c=PASSWORD, n="nouveau2024x")
    await gql.ok(LOGIN, email="change@example.org", password="nouveau2024x")


async def test_agent_opens_account_family_confirms_and_creates_password(gql, mailbox):
    agent = await make_staff(services=["rpe"])  # [accounts] opening_services of the demo config
    household = await Household.create(name="DUPONT")
    await Responsable.create(household=household, rank=1, first_name="Jo", last_name="DUPONT")
    staff = await gql.as_user(agent)
    q = """mutation($h: ID!, $e: String!) { openFamilyAccount(householdId: $h, email: $e, firstName: "Jo", lastName: "DUPONT") { email emailConfirmed } }"""
    assert (await staff.ok(q, h=str(household.id), e="jo@example.org"))["openFamilyAccount"]["emailConfirmed"] is False
    text = await delivered_text(mailbox, "jo@example.org")
    assert "créer un mot de passe" in text
    token = token_in(text)
    assert await gql.code(CONFIRM, token=token) == "PASSWORD_REQUIRED"
    # the failed attempt consumed nothing the family can't redo? it did: single-use tokens are burnt on use
    # so the family asks for a fresh link through the reset flow
    await gql.ok(RESET_REQUEST, email="jo@example.org")
    await gql.ok(RESET, token=token_in(await delivered_text(mailbox, "jo@example.org")), pw="famille2024x")
    login = (await gql.ok(LOGIN, email="jo@example.org", password="famille2024x"))["login"]
    assert login["user"]["emailConfirmed"] is True
    # a family may not open accounts
    family = await gql.with_token(login["token"]).code(q, h=str(household.id), e="x@example.org")
    assert family == "FORBIDDEN"


OPEN = """mutation($h: ID!, $e: String!, $more: Boolean! = false) {
  openFamilyAccount(householdId: $h, email: $e, firstName: "Jo", lastName: "DUPONT", additionalAccess: $more) { email } }"""


async def test_only_admins_and_configured_services_open_accounts(gql):
    household = await Household.create(name="SANSCOMPTE")
    sport = await gql.as_user(await make_staff("sport@example.org", services=["sport", "alsh"]))
    assert await sport.code(OPEN, h=str(household.id), e="pirate@example.org") == "FORBIDDEN"
    assert not await User.exists(email="pirate@example.org")
    assert not await AuditLog.exists(action="open_account")
    admin = await gql.as_user(await make_staff("admin@example.org", role="admin"))
    await admin.ok(OPEN, h=str(household.id), e="famille.sanscompte@example.org")
    entry = await AuditLog.get(action="open_account")
    assert entry.household_id == household.id and entry.detail["email"] == "famille.sanscompte@example.org"


async def test_a_household_with_an_account_is_not_taken_over(gql, mailbox):
    """Issue 10 §1: an agent opened a second account on a household with an address they controlled."""
    holder, household, _ = await make_family("titulaire@example.org")
    rpe = await gql.as_user(await make_staff("rpe@example.org", services=["rpe"]))
    err = await rpe.error(OPEN, h=str(household.id), e="intrus@example.org")
    assert err["extensions"] == {"code": "HOUSEHOLD_HAS_ACCOUNT", "field": "additionalAccess"}
    assert not await User.exists(email="intrus@example.org")
    # an explicit second access: the holder is mailed through the outbox, the act is audited
    await rpe.ok(OPEN, h=str(household.id), e="second.parent@example.org", more=True)
    text = await delivered_text(mailbox, "titulaire@example.org")
    assert "second.parent@example.org" in text and "second accès" in text
    entry = await AuditLog.get(action="open_account")
    assert entry.detail["additional_access"] is True and entry.detail["holders_mailed"] == [holder.id]
    # a family and an unknown household are refused like before
    family = await gql.as_user(holder)
    assert await family.code(OPEN, h=str(household.id), e="x@example.org") == "FORBIDDEN"
    assert await rpe.code(OPEN, h="999999", e="y@example.org") == "NOT_FOUND"


async def test_concurrent_openings_do_not_make_two_silent_holders(gql, settings, mailbox):
    """Two openings at once on a household without account: one wins, the other sees its account."""
    import asyncio

    import pytest

    if not settings.database_url.startswith("postgres"):
        pytest.skip("row locks are proved on PostgreSQL")
    household = await Household.create(name="COURSE")
    rpe = await gql.as_user(await make_staff("rpe@example.org", services=["rpe"]))
    results = await asyncio.gather(*(rpe.execute(OPEN, {"h": str(household.id), "e": f"p{i}@example.org"})
                                     for i in range(5)))
    codes = sorted((r.get("errors") or [{"extensions": {"code": "OK"}}])[0]["extensions"]["code"] for r in results)
    assert codes == ["HOUSEHOLD_HAS_ACCOUNT"] * 4 + ["OK"]
    assert await User.filter(household_id=household.id).count() == 1


async def test_smtp_outage_loses_no_mail(gql, settings, smtp_server, mailbox):
    from dataclasses import replace

    from core import config

    await gql.ok(RESET_REQUEST, email="nobody@example.org")  # nothing queued
    await make_family("panne@example.org")
    down = replace(settings, smtp=replace(settings.smtp, port=1))  # nothing listens there
    config.activate(down)
    try:
        await gql.ok(RESET_REQUEST, email="panne@example.org")
        assert await send_pending(ignore_schedule=True) == (0, 1)
        mail = await OutboxMail.get(to="panne@example.org")
        assert mail.status == OutboxStatus.PENDING and mail.attempts == 1 and mail.next_attempt_at > now()
    finally:
        config.activate(settings)
    assert await send_pending() == (0, 0)  # not due yet: backoff
    assert await send_pending(ignore_schedule=True) == (1, 0)
    assert len(mailbox.to("panne@example.org")) == 1
    assert (await OutboxMail.get(to="panne@example.org")).status == OutboxStatus.SENT


def test_account_opening_right_is_strictly_typed():
    import tomllib
    from pathlib import Path

    import pytest

    from core.config import BUNDLED_DEMO_CONFIG, settings_from_dict

    raw = tomllib.loads(BUNDLED_DEMO_CONFIG.read_text(encoding="utf-8"))
    assert settings_from_dict(raw, Path(".")).accounts.opening_services == ("rpe",)
    for bad in (["nope"], "rpe,nope", [1], {"x": 1}):
        with pytest.raises(ValueError):
            settings_from_dict({**raw, "accounts": {"opening_services": bad}}, Path("."))
    with pytest.raises(ValueError):
        settings_from_dict({**raw, "accounts": {"opening_service": ["rpe"]}}, Path("."))
    assert settings_from_dict({**raw, "accounts": {"opening_services": "rpe, alsh"}},
                              Path(".")).accounts.opening_services == ("rpe", "alsh")
