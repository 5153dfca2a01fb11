"""The canteen through the API, with the fixtures Portail Famille ships (core.testing)."""

from datetime import date
from decimal import Decimal

from cantine import rules
from cantine.models import CantineRegistration

from core.billing.models import InvoiceLine
from core.billing.service import run_billing
from core.billing.types import BillingPeriod
from core.mail.models import OutboxMail
from core.testing import make_family, make_staff

REGISTER = """mutation($c: ID!, $d: [Int!]!, $a: Boolean!) {
  registerCantineChild(childId: $c, weekdays: $d, hasAllergy: $a) { childId weekdays hasAllergy } }"""
CHILDREN = "{ myHousehold { children { id cantineRegistration { weekdays hasAllergy } } } }"
ALERTS = "{ home { alerts { message count } } }"


async def test_registration_shows_on_the_child_and_is_confirmed_by_mail(gql):
    user, _, (kid, other) = await make_family(children=2)
    family = await gql.as_user(user)
    done = await family.data(REGISTER, c=str(kid.id), d=[4, 1, 4], a=False)
    assert done["registerCantineChild"] == {"childId": str(kid.id), "weekdays": [1, 4], "hasAllergy": False}
    children = {c["id"]: c["cantineRegistration"] for c in (await family.data(CHILDREN))["myHousehold"]["children"]}
    assert children == {str(kid.id): {"weekdays": [1, 4], "hasAllergy": False}, str(other.id): None}
    assert [m.subject for m in await OutboxMail.filter(to=user.email)] == ["Inscription à la cantine : Enfant1"]


async def test_bad_days_and_another_familys_child_are_refused(gql):
    user, _, (kid, _) = await make_family(children=2)
    _, _, (stranger, _) = await make_family("autre@example.org", children=2)
    family = await gql.as_user(user)
    for days in ([], [6], [0, 2]):
        error = await family.error(REGISTER, c=str(kid.id), d=days, a=False)
        assert error["extensions"] == {"code": "CANTINE_INVALID_WEEKDAYS", "field": "weekdays"}
    assert await family.code(REGISTER, c=str(stranger.id), d=[1], a=False) == "NOT_FOUND"
    assert await CantineRegistration.all().count() == 0


async def test_allergy_attestation_required_only_for_the_child_registered_with_an_allergy(gql):
    user, _, (kid, other) = await make_family(children=2)
    family = await gql.as_user(user)
    await family.data(REGISTER, c=str(other.id), d=[1, 2], a=False)
    assert not [a for a in (await family.data(ALERTS))["home"]["alerts"] if "Restauration" in a["message"]]
    await family.data(REGISTER, c=str(kid.id), d=[1, 2], a=True)
    alerts = (await family.data(ALERTS))["home"]["alerts"]
    assert {"message": "1 document(s) à transmettre pour : Restauration scolaire", "count": 1} in alerts
    from core.documents.service import missing_documents

    assert [(m.type_code, m.child_id) for m in await missing_documents(user.household_id, "cantine")] == [
        ("attestation_allergie", kid.id)]


async def test_monthly_run_bills_the_meals_outside_holidays():
    # October 2026, zone A: Toussaint holidays from Saturday 17 (Éducation nationale calendar), so on
    # Mondays and Thursdays the meals are 1, 5, 8, 12, 15 October.
    closed = {date(2026, 10, d) for d in range(17, 32)}
    assert rules.meal_days(date(2026, 10, 1), date(2026, 10, 31), [1, 4], closed) == [
        date(2026, 10, d) for d in (1, 5, 8, 12, 15)]
    _, household, (kid, _) = await make_family(children=2)
    await CantineRegistration.create(child=kid, household=household, weekdays=[1, 4], allergy=False)
    period = BillingPeriod(date(2026, 10, 1), date(2026, 10, 31))
    await run_billing(period, issued_on=date(2026, 11, 2))
    await run_billing(period, issued_on=date(2026, 11, 2))  # a second run bills nothing twice
    [line] = await InvoiceLine.filter(service_code="cantine")
    assert (line.child_id, line.quantity, line.unit_price_cents, line.amount_cents, line.regie_code) == (
        kid.id, Decimal(5), 400, 2000, "cdc")


async def test_an_agent_of_cantine_needs_no_services_entry_and_sees_the_attestation(gql):
    from core.accounts.service import create_staff
    from core.config import get_settings
    from core.documents.models import Document
    from core.documents.service import visible_to
    from core.files.service import store_bytes
    from core.permissions import Actor

    assert get_settings().service("cantine") is None  # no [[services]] entry in the community's file
    cook = await create_staff("cuisine@example.org", "motdepasse-solide-42", "Paul", "BOCUSE", "agent", ["cantine"])
    alsh = await make_staff("alsh@example.org", services=["alsh"])
    user, household, (kid, _) = await make_family(children=2)
    file = await store_bytes("allergie.pdf", b"%PDF-1.4\n%%EOF", household_id=household.id, uploaded_by_id=user.id)
    doc = await Document.create(household=household, child=kid, type_code="attestation_allergie", file=file,
                                uploaded_by=user)
    assert await visible_to(Actor(user=cook, services=frozenset(cook.services)), [doc]) == [doc]
    assert await visible_to(Actor(user=alsh, services=frozenset(alsh.services)), [doc]) == []


async def test_rgpd_export_and_erasure(gql):
    user, household, (kid, _) = await make_family(children=2)
    await CantineRegistration.create(child=kid, household=household, weekdays=[1, 2], allergy=True)
    export = (await (await gql.as_user(user)).data("{ personalDataExport }"))["personalDataExport"]
    [row] = export["cantine"]["CantineRegistration"]
    assert (row["child_id"], row["weekdays"], row["allergy"]) == (kid.id, [1, 2], True)
    admin = await gql.as_user(await make_staff("admin@example.org", role="admin"))
    await admin.data("mutation($h: ID!) { eraseHousehold(householdId: $h) { ok } }", h=str(household.id))
    assert await CantineRegistration.filter(household_id=household.id).count() == 0


def test_schema_follows_the_conventions_and_lists_every_error_code(host):
    from pathlib import Path

    import cantine

    from schema import build_schema
    from schema.checks import iter_problems, raised_codes

    assert [line for area, line in iter_problems(build_schema(host)) if area == "cantine"] == []
    assert set(raised_codes(Path(cantine.__file__).parent)) <= set(host.error_codes())
