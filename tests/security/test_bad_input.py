"""Bad input is answered with a code naming the field, never INTERNAL_SERVER_ERROR: ids through one
bounded parser (checked for every argument before any resolver runs), no control characters in text."""

from __future__ import annotations

import json

import pytest

from core.households.models import Household
from tests.conftest import make_family, make_staff

BAD_IDS = ["", "   ", "abc", "12abc", "-1", "0", "1.5", "١٢", str(2**31), str(2**64), "9" * 40]

OPEN = """mutation($id: ID!) { openFamilyAccount(householdId: $id, email: "x@example.org", firstName: "A",
  lastName: "B") { id } }"""
ERASE = "mutation($id: ID!) { eraseHousehold(householdId: $id) { ok } }"
EXPORT = "query($id: ID) { personalDataExport(householdId: $id) }"
MANDATES = "query($id: ID) { prelevementMandates(householdId: $id) { id } }"


@pytest.mark.parametrize("query", [OPEN, ERASE, EXPORT, MANDATES])
async def test_garbage_ids_are_invalid_id(gql, query):
    admin = await gql.as_user(await make_staff(role="admin", services=["creche", "alsh"]))
    for bad in BAD_IDS:
        error = await admin.error(query, id=bad)
        assert error["extensions"] == {"code": "INVALID_ID", "field": "householdId"}, (bad, error)


async def test_ids_as_literals_in_nested_inputs_and_lists(gql):
    admin = await gql.as_user(await make_staff(role="admin", services=["creche", "alsh"]))
    big = str(2**64)
    error = await admin.error(f'{{ household(id: "{big}") {{ id }} }}')
    assert error["extensions"] == {"code": "INVALID_ID", "field": "id"}
    error = await admin.error(f'mutation {{ requestYearlyUpdate(householdIds: ["1", "{big}"]) {{ householdCount }} }}')
    assert error["extensions"] == {"code": "INVALID_ID", "field": "householdIds"}


async def test_my_invoices_year_out_of_range(gql):
    user, _, _ = await make_family()
    family = await gql.as_user(user)
    for year in (0, -5, 10000, 2**31 - 1):
        error = await family.error("query($y: Int) { myInvoices(year: $y) { total } }", y=year)
        assert error["extensions"] == {"code": "INVALID_YEAR", "field": "year"}
    assert (await family.ok("{ myInvoices(year: 2026) { total } }"))["myInvoices"]["total"] == 0


@pytest.mark.parametrize("bad", ["LATRES\x00NE", "A\x07B", "\x1b[31mrouge", "bad\ud800surrogate", "del\x7f"])
async def test_control_characters_refused_naming_the_field(gql, http, bad):
    user, household, _ = await make_family()
    family = await gql.as_user(user)
    body = json.dumps({"query": "mutation($input: HouseholdInput!) { updateHousehold(input: $input) { city } }",
                       "variables": {"input": {"city": bad}}})  # ASCII JSON: "\u0000", "\ud800"
    response = await http.post("/graphql", content=body, headers={"Authorization": f"Bearer {family.token}",
                                                                  "Content-Type": "application/json"})
    error = response.json()["errors"][0]
    assert error["extensions"] == {"code": "INVALID_TEXT", "field": "city"}
    assert (await Household.get(id=household.id)).city == "LATRESNE"


async def test_ordinary_text_keeps_newlines_tabs_and_accents(gql):
    user, _, _ = await make_family()
    family = await gql.as_user(user)
    data = await family.ok("mutation($input: HouseholdInput!) { updateHousehold(input: $input) { city addressLine2 } }",
                           input={"city": "SAINT-CAPRAIS-DE-BORDEAUX", "addressLine2": "Bât. B\tétage 2\r\nporte à gauche"})
    assert data["updateHousehold"]["addressLine2"] == "Bât. B\tétage 2\r\nporte à gauche"


async def test_control_characters_inside_json_arguments(gql):
    user, _, _ = await make_family()
    family = await gql.as_user(user)
    error = await family.error("mutation($data: JSON) { submitDemarche(typeCode: \"demenagement\", data: $data) { id } }",
                               data={"nouvelleAdresse": "1 rue\x00du Port"})
    assert error["extensions"] == {"code": "INVALID_TEXT", "field": "data"}


async def test_huge_download_ids_are_missing_files(gql):
    user, _, _ = await make_family()
    family = await gql.as_user(user)
    for kind in ("document", "invoice", "attestation"):
        for bad in (str(2**64), "9" * 40 + "-2026"):
            assert (await family.download(f"/files/{kind}/{bad}")).status_code == 404


def test_every_field_with_arguments_is_guarded_and_no_extension_wraps_every_field(settings):
    """The argument check is attached to each field that takes arguments (plugins' fields included),
    and no schema extension implements `resolve`: that would run for every field of every answer
    (thousands per home page)."""
    from core.plugins import load_plugins
    from schema import build_schema

    schema = build_schema(load_plugins(settings))
    assert not [ext for ext in schema.get_extensions() if ext._implements_resolve()]
    unguarded = [f"{t.name}.{name}" for t in schema._schema.type_map.values()
                 if not t.name.startswith("__") and hasattr(t, "fields") and hasattr(t, "interfaces")
                 for name, f in t.fields.items() if f.args and getattr(f.resolve, "__name__", "") != "guarded_resolve"]
    assert unguarded == []
