"""Who may change a household file (core.permissions.may_edit_household), through HTTP: the family; an
admin; the desk that opens accounts (`[accounts] opening_services`, « rpe » in the test config); the
agents of a service the household uses. Any other agent still finds it and reads its basic file, but
each change is FORBIDDEN and leaves the file as it was; another family gets NOT_FOUND."""

from __future__ import annotations

import pytest

from core.households.models import AuthorizedPerson, Child, Household
from tests.conftest import make_family, make_staff, uses_service

CRECHE = "creche_au_fil_de_l_eau"
HOUSEHOLD = """query($id: ID!) { household(id: $id) { name city } }"""
UPDATE = """mutation($hid: ID, $city: String!) { updateHousehold(householdId: $hid, input: {city: $city}) { city } }"""
ADD_CHILD = """mutation($hid: ID) { addChild(householdId: $hid, input: {firstName: "Intrus", lastName: "X",
  sex: F, birthDate: "2020-01-01"}) { id } }"""
UPDATE_CHILD = """mutation($id: ID!) { updateChild(childId: $id, input: {firstName: "Changé"}) { id firstName } }"""
SET_MEDICAL = """mutation($id: ID!, $answers: [MedicalAnswerInput!]!) {
  setChildMedical(childId: $id, input: {answers: $answers, allergies: "arachide"}) { id } }"""
ADD_PERSON = """mutation($id: ID!) { addAuthorizedPerson(childId: $id, input: {firstName: "Inconnu", lastName: "X",
  phoneMobile: "0600000000", mayCollect: true}) { id } }"""
DELETE_PERSON = """mutation($id: ID!) { deleteAuthorizedPerson(id: $id) { id } }"""
YEARLY_ALL = """mutation { requestYearlyUpdate(all: true) { householdCount } }"""
YEARLY_ONE = """mutation($ids: [ID!]) { requestYearlyUpdate(householdIds: $ids) { householdCount } }"""


async def _household_with_person():
    user, household, (kid, _) = await make_family("famille@example.org")
    person = await AuthorizedPerson.create(child=kid, first_name="Mamie", last_name="DUPONT", relation="grand-mère",
                                           phone_mobile="0611111111", may_collect=True)
    return user, household, kid, person


async def test_an_agent_of_a_service_the_household_does_not_use_cannot_change_its_file(gql, settings):
    _, household, kid, person = await _household_with_person()
    creche = await gql.as_user(await make_staff("creche@example.org", services=[CRECHE]))
    assert (await creche.ok(HOUSEHOLD, id=household.id))["household"]["name"] == "DUPONT"  # still reads it
    calls = [(UPDATE, {"hid": household.id, "city": "AILLEURS"}), (ADD_CHILD, {"hid": household.id}),
             (UPDATE_CHILD, {"id": kid.id}), (ADD_PERSON, {"id": kid.id}),
             (DELETE_PERSON, {"id": person.id}), (YEARLY_ONE, {"ids": [household.id]}), (YEARLY_ALL, {})]
    for query, variables in calls:
        error = await creche.error(query, **variables)
        assert error["extensions"]["code"] == "FORBIDDEN", (query, error)
    # medical data: need-to-know, the answer of a missing child (tests/core/test_need_to_know.py)
    answers = [{"code": q.code, "answer": False} for q in settings.medical_questions]
    assert (await creche.error(SET_MEDICAL, id=kid.id, answers=answers))["extensions"]["code"] == "NOT_FOUND"
    fresh = await Household.get(id=household.id)
    assert fresh.city != "AILLEURS" and fresh.needs_yearly_update is False
    assert await Child.filter(household=household).count() == 2
    unchanged = await Child.get(id=kid.id)
    assert unchanged.first_name == kid.first_name and unchanged.allergies != "arachide"
    assert await AuthorizedPerson.filter(id=person.id).exists()


@pytest.mark.parametrize("who", ["service used", "account opener", "admin", "family"])
async def test_those_allowed_change_it(gql, who):
    user, household, kid, person = await _household_with_person()
    if who == "service used":
        await uses_service(household, CRECHE)
        caller = await gql.as_user(await make_staff("creche@example.org", services=[CRECHE]))
    elif who == "account opener":
        caller = await gql.as_user(await make_staff("rpe@example.org", services=["rpe"]))
    elif who == "admin":
        caller = await gql.as_user(await make_staff("admin@example.org", role="admin"))
    else:
        caller = await gql.as_user(user)
    hid = None if who == "family" else household.id
    assert (await caller.ok(UPDATE, hid=hid, city="LATRESNE"))["updateHousehold"]["city"] == "LATRESNE"
    assert (await caller.ok(UPDATE_CHILD, id=kid.id))["updateChild"]["firstName"] == "Changé"
    await caller.ok(ADD_PERSON, id=kid.id)
    await caller.ok(DELETE_PERSON, id=person.id)
    assert not await AuthorizedPerson.filter(id=person.id).exists()


async def test_another_family_finds_nothing(gql):
    _, household, kid, person = await _household_with_person()
    other, _, _ = await make_family("autre@example.org", name="MARTIN")
    client = await gql.as_user(other)
    for query, variables in [(UPDATE_CHILD, {"id": kid.id}), (ADD_PERSON, {"id": kid.id}),
                             (DELETE_PERSON, {"id": person.id})]:
        assert (await client.error(query, **variables))["extensions"]["code"] == "NOT_FOUND"
