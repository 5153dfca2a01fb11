"""Issue 10 §13: a household opened by the services from scratch (seed guide 001, « l'ouverture de
votre compte »): responsable(s) and children in one mutation, the invitation mail with the existing
confirmation + password creation flow, validation errors naming the input, the audit log."""

from __future__ import annotations

import re
from datetime import timedelta

from core.accounts.models import User
from core.households.models import AuditLog, Child, Household, Responsable
from core.mail.service import send_pending
from core.timeutil import today
from tests.conftest import make_family, make_staff

CREATE = """mutation($input: HouseholdCreateInput!) { createFamilyHousehold(input: $input) {
  id name city email responsables { rank firstName lastName email } children { firstName isExpected } } }"""
CONFIRM = """mutation($token: String!, $password: String) { confirmEmail(token: $token, password: $password) { ok } }"""
LOGIN = """mutation($e: String!, $p: String!) { login(email: $e, password: $p) { user { emailConfirmed householdId } } }"""


def household_input(**changes):
    data = {
        "household": {"addressLine1": "2 rue des Écoles", "postalCode": "33360", "city": "LATRESNE"},
        "responsable": {"firstName": "Élise", "lastName": "Martin", "email": "Elise.Martin@Example.org",
                        "phoneMobile": "0601020304"},
        "otherResponsable": {"firstName": "Paul", "lastName": "Martin"},
        "children": [{"firstName": "Léo", "lastName": "Martin", "birthDate": str(today() - timedelta(days=900))},
                     {"firstName": "Bébé", "lastName": "Martin",
                      "expectedBirthDate": str(today() + timedelta(days=60))}],
    }
    data.update(changes)
    return data


async def test_rpe_agent_creates_a_household_and_the_family_activates_it(gql, mailbox):
    rpe = await gql.as_user(await make_staff("rpe@example.org", services=["rpe"]))
    created = (await rpe.ok(CREATE, input=household_input()))["createFamilyHousehold"]
    assert created["name"] == "MARTIN" and created["city"] == "LATRESNE"
    assert [(r["rank"], r["firstName"], r["email"]) for r in created["responsables"]] == [
        (1, "Élise", "elise.martin@example.org"), (2, "Paul", "")]
    assert [(c["firstName"], c["isExpected"]) for c in created["children"]] == [("Léo", False), ("Bébé", True)]
    user = await User.get(email="elise.martin@example.org")
    assert user.password_hash is None and user.household_id == int(created["id"])
    assert (await Responsable.get(household_id=user.household_id, rank=1)).user_id == user.id
    entry = await AuditLog.get(action="create_household")
    assert entry.household_id == int(created["id"]) and entry.detail["children"] == 2
    # the invitation: the existing « ouverture de votre compte » mail, confirm + create the password
    await send_pending(ignore_schedule=True)
    [mail] = mailbox.to("elise.martin@example.org")
    text = mailbox.text(mail)
    assert "ouverture de votre compte" in text
    token = re.search(r"token=([A-Za-z0-9_\-]+)", text).group(1)
    await gql.ok(CONFIRM, token=token, password="famille2024x")
    login = (await gql.ok(LOGIN, e="elise.martin@example.org", p="famille2024x"))["login"]
    assert login["user"] == {"emailConfirmed": True, "householdId": created["id"]}


async def test_only_authorised_staff_create_households(gql):
    for user in (await make_staff("sport@example.org", services=["sport", "alsh"]),
                 (await make_family("famille@example.org"))[0]):
        client = await gql.as_user(user)
        assert await client.code(CREATE, input=household_input()) == "FORBIDDEN"
    assert await gql.code(CREATE, input=household_input()) == "UNAUTHENTICATED"
    assert await Household.filter(name="MARTIN").count() == 0
    admin = await gql.as_user(await make_staff("admin@example.org", role="admin"))
    await admin.ok(CREATE, input=household_input())


async def test_bad_input_names_the_field_in_french_and_writes_nothing(gql, mailbox):
    await make_family("deja@example.org")
    rpe = await gql.as_user(await make_staff("rpe@example.org", services=["rpe"]))
    base = household_input()
    cases = [
        ({"responsable": {**base["responsable"], "email": ""}}, "REQUIRED", "responsable.email"),
        ({"responsable": {**base["responsable"], "email": "pas-une-adresse"}}, "INVALID_EMAIL", "responsable.email"),
        ({"responsable": {**base["responsable"], "email": "deja@example.org"}}, "EMAIL_TAKEN", "responsable.email"),
        ({"responsable": {**base["responsable"], "lastName": "  "}}, "REQUIRED", "responsable.lastName"),
        ({"otherResponsable": {"firstName": "Paul"}}, "REQUIRED", "otherResponsable.lastName"),
        ({"children": [base["children"][0], {"firstName": "Futur", "lastName": "Martin",
                                             "birthDate": str(today() + timedelta(days=3))}]},
         None, "children.1.birthDate"),
        ({"household": {"country": "F1"}}, "INVALID_COUNTRY", "household.country"),
    ]
    for changes, code, field in cases:
        err = await rpe.error(CREATE, input=household_input(**changes))
        assert err["extensions"]["field"] == field, (changes, err)
        if code:
            assert err["extensions"]["code"] == code, (changes, err)
        assert err["extensions"]["code"] != "INTERNAL_SERVER_ERROR"
        assert re.search(r"[a-zé]", err["message"]), err
    assert await Household.filter(name="MARTIN").count() == 0
    assert await Child.filter(last_name="Martin").count() == 0
    assert not await AuditLog.exists(action="create_household")
    await send_pending(ignore_schedule=True)
    assert mailbox.to("elise.martin@example.org") == []


async def test_two_agents_creating_the_same_family_at_once_make_one_household(gql, settings):
    """The address is unique: of two creations at once, one wins, the other is EMAIL_TAKEN and leaves
    no household behind (PostgreSQL, where the requests really run in parallel)."""
    import asyncio

    import pytest

    if not settings.database_url.startswith("postgres"):
        pytest.skip("concurrency is proved on PostgreSQL")
    rpe = await gql.as_user(await make_staff("rpe@example.org", services=["rpe"]))
    admin = await gql.as_user(await make_staff("admin@example.org", role="admin"))
    results = await asyncio.gather(*(client.execute(CREATE, {"input": household_input()})
                                     for client in (rpe, admin, rpe, admin)))
    codes = sorted((r.get("errors") or [{"extensions": {"code": "OK"}}])[0]["extensions"]["code"] for r in results)
    assert codes == ["EMAIL_TAKEN"] * 3 + ["OK"]
    assert await Household.filter(name="MARTIN").count() == 1
    assert await User.filter(email="elise.martin@example.org").count() == 1
    assert await AuditLog.filter(action="create_household").count() == 1
