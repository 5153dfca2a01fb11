"""The household file through HTTP: « Mon foyer », « Mon profil », children (medical answers,
authorisations, authorized people), the September update, staff search / read / edit with the
medical audit, access rules with another family's ids, RGPD helpers, and the query count."""

from __future__ import annotations

from datetime import timedelta

from core.accounts.models import Role, User
from core.config import get_settings
from core.households import service
from core.households.models import AuditLog, AuthorizedPerson, Child, Household, Responsable
from core.mail.models import OutboxMail
from core.mail.service import send_pending
from core.timeutil import today
from tests.conftest import make_family, make_staff, uses_service
from tests.querycount import count_queries

CHILD_FIELDS = """id firstName lastName birthDate expectedBirthDate isExpected ageYears ageMonths
  medical { answers { code answer text } antecedents allergies doctorName doctorPhone hasPai hasAeeh }
  authorizations { code granted }
  authorizedPeople { id lastName firstName relation phoneMobile mayCollect isContact }
  problems { code }"""
FILE_FIELDS = f"""id name addressLine1 postalCode city phone familySituation familySituationLabel dependentChildren regime regimeLabel
  allocataireNumber quotientFamilial referenceIncome incomeGivenOn needsYearlyUpdate yearlyUpdateDoneOn
  responsables {{ id rank label isMe firstName lastName phoneMobile }}
  children {{ {CHILD_FIELDS} }}
  problems {{ code message childId }}"""
MY_HOUSEHOLD = f"{{ myHousehold {{ {FILE_FIELDS} }} }}"
HOUSEHOLD = f"query($id: ID!) {{ household(id: $id) {{ {FILE_FIELDS} }} }}"
UPDATE_HOUSEHOLD = f"""mutation($input: HouseholdInput!, $hid: ID) {{
  updateHousehold(input: $input, householdId: $hid) {{ {FILE_FIELDS} }} }}"""
MY_PROFILE = "{ myProfile { id rank label isMe civility firstName lastName phoneMobile profession employer } }"
UPDATE_PROFILE = """mutation($input: ResponsableInput!) {
  updateMyProfile(input: $input) { id civility firstName lastName phoneMobile profession employer } }"""
SAVE_OTHER = """mutation($input: ResponsableInput!, $hid: ID) {
  saveOtherResponsable(input: $input, householdId: $hid) { id rank label firstName lastName phoneMobile } }"""
REMOVE_OTHER = "mutation($hid: ID) { removeOtherResponsable(householdId: $hid) { id responsables { rank } } }"
ADD_CHILD = f"""mutation($input: ChildInput!, $hid: ID) {{
  addChild(input: $input, householdId: $hid) {{ {CHILD_FIELDS} }} }}"""
UPDATE_CHILD = f"""mutation($id: ID!, $input: ChildInput!) {{
  updateChild(childId: $id, input: $input) {{ {CHILD_FIELDS} }} }}"""
CHILD = f"query($id: ID!) {{ child(id: $id) {{ {CHILD_FIELDS} }} }}"
SET_MEDICAL = f"""mutation($id: ID!, $input: ChildMedicalInput!) {{
  setChildMedical(childId: $id, input: $input) {{ {CHILD_FIELDS} }} }}"""
SET_AUTHS = f"""mutation($id: ID!, $answers: [AuthorizationAnswerInput!]!) {{
  setChildAuthorizations(childId: $id, answers: $answers) {{ {CHILD_FIELDS} }} }}"""
ADD_PERSON = """mutation($id: ID!, $input: AuthorizedPersonInput!) {
  addAuthorizedPerson(childId: $id, input: $input) { id childId lastName relation phoneMobile mayCollect isContact } }"""
UPDATE_PERSON = """mutation($id: ID!, $input: AuthorizedPersonInput!) {
  updateAuthorizedPerson(id: $id, input: $input) { id lastName relation phoneMobile mayCollect isContact } }"""
DELETE_PERSON = "mutation($id: ID!) { deleteAuthorizedPerson(id: $id) { id authorizedPeople { id } } }"
REQUEST_UPDATE = "mutation($ids: [ID!], $all: Boolean! = false) { requestYearlyUpdate(householdIds: $ids, all: $all) { householdCount } }"
CONFIRM_UPDATE = "mutation($hid: ID) { confirmYearlyUpdate(householdId: $hid) { needsYearlyUpdate yearlyUpdateDoneOn } }"
SEARCH = """query($text: String!, $limit: Int! = 20, $offset: Int! = 0) {
  searchHouseholds(text: $text, limit: $limit, offset: $offset) { total items { id name email allocataireNumber } } }"""
AUDIT = "query($hid: ID) { auditLog(householdId: $hid) { total items { actorEmail actionCode entity entityId householdId } } }"


def medical_input(settings, *, autre: bool = False, text: str = "", antecedents: str = "") -> dict:
    answers = [{"code": q.code, "answer": autre if q.code == "autre" else False, "text": text if q.code == "autre" else ""}
               for q in settings.medical_questions]
    return {"answers": answers, "antecedents": antecedents, "allergies": "Arachide", "doctorName": "Dr Martin",
            "doctorPhone": "0556000000", "hasPai": False, "hasAeeh": False}


def all_authorizations(settings, granted: bool = True) -> list[dict]:
    return [{"code": a.code, "granted": granted} for a in settings.authorizations]


PERSON = {"lastName": "TESTBO", "firstName": "Berte", "relation": "grand-mère", "phoneMobile": "0606141256",
          "email": "berte@example.org", "mayCollect": True, "isContact": False}


async def complete_file(client, settings, kids, household_id=None) -> None:
    await client.ok(UPDATE_HOUSEHOLD, input={"phone": "0556208360", "familySituation": "MARRIED", "regime": "GENERAL",
                                             "allocataireNumber": "1234567"}, hid=household_id)
    for kid in kids:
        await client.ok(SET_MEDICAL, id=kid.id, input=medical_input(settings))
        await client.ok(SET_AUTHS, id=kid.id, answers=all_authorizations(settings))
        await client.ok(ADD_PERSON, id=kid.id, input=PERSON)


# ---- family journeys ------------------------------------------------------------------------------
async def test_my_household_shows_the_file_with_ages_and_problems(gql):
    user, household, kids = await make_family(children=2)
    born = today().replace(day=1) - timedelta(days=1)  # last day of the previous month
    await Child.filter(id=kids[0].id).update(birth_date=born.replace(year=born.year - 4))
    client = await gql.as_user(user)
    data = (await client.ok(MY_HOUSEHOLD))["myHousehold"]
    assert data["id"] == str(household.id) and data["city"] == "LATRESNE" and data["quotientFamilial"] == 800
    assert data["responsables"] == [{"id": data["responsables"][0]["id"], "rank": 1, "label": "Moi", "isMe": True,
                                     "firstName": "Camille", "lastName": "DUPONT", "phoneMobile": ""}]
    first = next(c for c in data["children"] if c["id"] == str(kids[0].id))
    assert first["ageYears"] == 4 and first["isExpected"] is False
    assert all(a["answer"] is None for a in first["medical"]["answers"])
    codes = {p["code"] for p in data["problems"]}
    assert {"PHONE_MISSING", "REGIME_MISSING", "MEDICAL_MISSING", "AUTHORIZATIONS_MISSING", "CONTACT_MISSING"} <= codes
    assert "ADDRESS_MISSING" not in codes and "INCOME_MISSING" not in codes


async def test_anonymous_cannot_read_a_household(gql):
    await make_family()
    assert await gql.code(MY_HOUSEHOLD) == "UNAUTHENTICATED"


async def test_update_household_profile_and_other_responsable(gql):
    user, household, _ = await make_family(children=1)
    client = await gql.as_user(user)
    data = (await client.ok(UPDATE_HOUSEHOLD, input={
        "addressLine1": "51 Chemin du Port de l'Homme", "phone": "05 56 20 83 60", "familySituation": "MARRIED",
        "dependentChildren": 4, "regime": "MSA", "allocataireNumber": "MSA-42", "quotientFamilial": None,
        "referenceIncome": 3_250_000, "incomeGivenOn": "2026-09-01"}))["updateHousehold"]
    assert (data["regime"], data["allocataireNumber"], data["referenceIncome"], data["quotientFamilial"]) == \
        ("MSA", "MSA-42", 3_250_000, None)
    assert data["incomeGivenOn"] == "2026-09-01" and data["city"] == "LATRESNE"  # untouched fields kept

    # closed sets are enums: a value outside them is refused by the schema, before any resolver
    error = await client.error(UPDATE_HOUSEHOLD, input={"familySituation": "compliqué"})
    assert error["extensions"]["code"] == "GRAPHQL_VALIDATION_FAILED"
    error = await client.error(UPDATE_HOUSEHOLD, input={"regime": "rsi"})
    assert error["extensions"]["code"] == "GRAPHQL_VALIDATION_FAILED"
    assert data["familySituationLabel"] == "Marié(e)" and data["regimeLabel"] == "MSA"
    error = await client.error(UPDATE_HOUSEHOLD, input={"referenceIncome": -5})
    assert error["extensions"] == {"code": "NEGATIVE_VALUE", "field": "referenceIncome"}
    assert (await Household.get(id=household.id)).family_situation == "marie"

    profile = (await client.ok(UPDATE_PROFILE, input={"civility": "Mme", "phoneMobile": "0601020304",
                                                       "profession": "Infirmière", "employer": "CHU"}))["updateMyProfile"]
    assert profile["profession"] == "Infirmière" and profile["firstName"] == "Camille"
    assert (await client.ok(MY_PROFILE))["myProfile"]["employer"] == "CHU"
    error = await client.error(UPDATE_PROFILE, input={"lastName": "  "})
    assert error["extensions"] == {"code": "REQUIRED", "field": "lastName"}

    error = await client.error(SAVE_OTHER, input={"firstName": "Patrice"})
    assert error["extensions"] == {"code": "REQUIRED", "field": "lastName"}
    other = (await client.ok(SAVE_OTHER, input={"firstName": "Patrice", "lastName": "TESTBO"}))["saveOtherResponsable"]
    assert (other["rank"], other["label"]) == (2, "Autre responsable")
    other = (await client.ok(SAVE_OTHER, input={"phoneMobile": "0611111111"}))["saveOtherResponsable"]
    assert other["firstName"] == "Patrice" and other["phoneMobile"] == "0611111111"
    labels = [r["label"] for r in (await client.ok(MY_HOUSEHOLD))["myHousehold"]["responsables"]]
    assert labels == ["Moi", "Autre responsable"]
    assert (await client.ok(REMOVE_OTHER))["removeOtherResponsable"]["responsables"] == [{"rank": 1}]
    assert await Responsable.filter(household_id=household.id).count() == 1
    assert await client.code(REMOVE_OTHER) == "NOT_FOUND"


async def test_add_children_born_and_expected_with_date_errors(gql):
    user, household, _ = await make_family(children=0)
    client = await gql.as_user(user)
    born = (today() - timedelta(days=800)).isoformat()
    child = (await client.ok(ADD_CHILD, input={"firstName": "Luc", "lastName": "DUPONT", "birthDate": born}))["addChild"]
    assert child["ageYears"] == 2 and not child["isExpected"]
    due = (today() + timedelta(days=60)).isoformat()
    unborn = (await client.ok(ADD_CHILD, input={"firstName": "Bébé", "lastName": "DUPONT",
                                                "expectedBirthDate": due}))["addChild"]
    assert unborn["isExpected"] and unborn["ageYears"] is None and unborn["expectedBirthDate"] == due

    cases = [({"birthDate": (today() + timedelta(days=1)).isoformat()}, "BIRTH_DATE_IN_FUTURE", "birthDate"),
             ({}, "BIRTH_DATE_REQUIRED", "birthDate"),
             ({"expectedBirthDate": today().isoformat()}, "EXPECTED_BIRTH_DATE_NOT_IN_FUTURE", "expectedBirthDate")]
    for extra, code, field in cases:
        error = await client.error(ADD_CHILD, input={"firstName": "X", "lastName": "Y", **extra})
        assert error["extensions"] == {"code": code, "field": field}
    # a malformed date is refused by the Date scalar: an error, nothing stored
    for bad in ("2020-13-45", "31/12/2020", "hier"):
        result = await client.execute(ADD_CHILD, {"input": {"firstName": "X", "lastName": "Y", "birthDate": bad}})
        assert result.get("errors") and not result.get("data")
    literal = await client.error('mutation { addChild(input: {firstName: "X", lastName: "Y", birthDate: "2020-02-30"}) '
                                 '{ id } }')
    assert literal["extensions"]["code"] == "GRAPHQL_VALIDATION_FAILED" and "Date" in literal["message"]
    assert await Child.filter(household_id=household.id).count() == 2

    # the child is born: the birth date replaces the due date
    born_now = today().isoformat()
    updated = (await client.ok(UPDATE_CHILD, id=unborn["id"], input={"birthDate": born_now}))["updateChild"]
    assert updated["birthDate"] == born_now and updated["expectedBirthDate"] is None and updated["ageYears"] == 0
    error = await client.error(UPDATE_CHILD, id=unborn["id"], input={"birthDate": due})
    assert error["extensions"]["code"] == "BIRTH_DATE_IN_FUTURE"
    error = await client.error(UPDATE_CHILD, id=unborn["id"], input={"sex": "X"})
    assert error["extensions"]["code"] == "GRAPHQL_VALIDATION_FAILED"
    renamed = (await client.ok(UPDATE_CHILD, id=child["id"], input={"firstName": "Lucas", "sex": "M"}))["updateChild"]
    assert renamed["firstName"] == "Lucas"


async def test_malformed_date_variable_gets_a_clear_code(gql):
    user, household, _ = await make_family(children=0)
    client = await gql.as_user(user)
    error = await client.error(ADD_CHILD, input={"firstName": "X", "lastName": "Y", "birthDate": "2020-13-45"})
    assert error["extensions"]["code"] == "GRAPHQL_VALIDATION_FAILED"
    assert await Child.filter(household_id=household.id).count() == 0


async def test_child_medical_answers(gql, settings):
    user, _, kids = await make_family(children=1)
    client = await gql.as_user(user)
    kid = kids[0]
    data = (await client.ok(SET_MEDICAL, id=kid.id, input=medical_input(settings, autre=True, text="Eczéma")))
    medical = data["setChildMedical"]["medical"]
    assert {a["code"]: (a["answer"], a["text"]) for a in medical["answers"]}["autre"] == (True, "Eczéma")
    assert medical["allergies"] == "Arachide" and medical["doctorName"] == "Dr Martin"
    assert "MEDICAL_MISSING" not in {p["code"] for p in data["setChildMedical"]["problems"]}

    # « autre » answered yes without saying what: refused, nothing changed
    error = await client.error(SET_MEDICAL, id=kid.id, input=medical_input(settings, autre=True))
    assert error["extensions"]["code"] == "MEDICAL_TEXT_REQUIRED" and error["extensions"]["field"] == "answers"
    assert (await Child.get(id=kid.id)).medical_answers["autre"]["text"] == "Eczéma"
    # ... unless the antécédents say it, as the guide asks
    await client.ok(SET_MEDICAL, id=kid.id, input=medical_input(settings, autre=True, antecedents="Eczéma sévère"))

    unknown = medical_input(settings)
    unknown["answers"].append({"code": "diabolo", "answer": False, "text": ""})
    assert (await client.error(SET_MEDICAL, id=kid.id, input=unknown))["extensions"]["code"] == "UNKNOWN_QUESTION"
    partial = medical_input(settings)
    partial["answers"] = partial["answers"][:2]
    error = await client.error(SET_MEDICAL, id=kid.id, input=partial)
    assert error["extensions"]["code"] == "MEDICAL_ANSWER_REQUIRED"


async def test_child_authorizations(gql, settings):
    user, _, kids = await make_family(children=1)
    client = await gql.as_user(user)
    kid = kids[0]
    data = (await client.ok(SET_AUTHS, id=kid.id, answers=[{"code": "photos", "granted": False},
                                                           {"code": "sorties", "granted": True}]))
    auths = {a["code"]: a["granted"] for a in data["setChildAuthorizations"]["authorizations"]}
    assert auths["photos"] is False and auths["sorties"] is True and auths["transport"] is None
    assert "AUTHORIZATIONS_MISSING" in {p["code"] for p in data["setChildAuthorizations"]["problems"]}
    error = await client.error(SET_AUTHS, id=kid.id, answers=[{"code": "baignade", "granted": True}])
    assert error["extensions"] == {"code": "UNKNOWN_AUTHORIZATION", "field": "answers"}
    assert (await Child.get(id=kid.id)).authorizations == {"photos": False, "sorties": True}
    data = await client.ok(SET_AUTHS, id=kid.id, answers=all_authorizations(settings))
    assert "AUTHORIZATIONS_MISSING" not in {p["code"] for p in data["setChildAuthorizations"]["problems"]}


async def test_authorized_people(gql):
    user, _, kids = await make_family(children=1)
    client = await gql.as_user(user)
    kid = kids[0]
    person = (await client.ok(ADD_PERSON, id=kid.id, input=PERSON))["addAuthorizedPerson"]
    assert person["mayCollect"] is True and person["childId"] == str(kid.id)
    error = await client.error(ADD_PERSON, id=kid.id, input={**PERSON, "phoneMobile": "", "phoneHome": ""})
    assert error["extensions"] == {"code": "PHONE_REQUIRED", "field": "phoneMobile"}
    error = await client.error(ADD_PERSON, id=kid.id, input={**PERSON, "lastName": ""})
    assert error["extensions"] == {"code": "REQUIRED", "field": "lastName"}
    error = await client.error(ADD_PERSON, id=kid.id, input={**PERSON, "email": "pas-un-email"})
    assert error["extensions"] == {"code": "INVALID_EMAIL", "field": "email"}

    updated = (await client.ok(UPDATE_PERSON, id=person["id"], input={"isContact": True, "relation": "grand-père"}))
    assert updated["updateAuthorizedPerson"]["isContact"] is True
    assert updated["updateAuthorizedPerson"]["phoneMobile"] == "0606141256"
    error = await client.error(UPDATE_PERSON, id=person["id"], input={"phoneMobile": ""})
    assert error["extensions"]["code"] == "PHONE_REQUIRED"
    child = (await client.ok(CHILD, id=kid.id))["child"]
    assert [p["relation"] for p in child["authorizedPeople"]] == ["grand-père"]
    after = (await client.ok(DELETE_PERSON, id=person["id"]))["deleteAuthorizedPerson"]
    assert after == {"id": str(kid.id), "authorizedPeople": []}
    assert await AuthorizedPerson.all().count() == 0
    assert await client.code(DELETE_PERSON, id=person["id"]) == "NOT_FOUND"


# ---- another family's ids -------------------------------------------------------------------------
async def test_another_familys_ids_look_missing_and_change_nothing(gql, settings):
    user, _, _ = await make_family("moi@example.org", children=1)
    _, other, other_kids = await make_family("autre@example.org", children=1, name="MARTIN")
    other_kid = other_kids[0]
    other_person = await AuthorizedPerson.create(child=other_kid, last_name="VOISIN", phone_mobile="0600000000")
    client = await gql.as_user(user)
    attempts = [
        (HOUSEHOLD, {"id": other.id}),
        (UPDATE_HOUSEHOLD, {"input": {"city": "PIRATE"}, "hid": other.id}),
        (SAVE_OTHER, {"input": {"firstName": "Pirate", "lastName": "PIRATE"}, "hid": other.id}),
        (REMOVE_OTHER, {"hid": other.id}),
        (ADD_CHILD, {"input": {"firstName": "X", "lastName": "Y", "birthDate": "2020-01-01"}, "hid": other.id}),
        (CONFIRM_UPDATE, {"hid": other.id}),
        (CHILD, {"id": other_kid.id}),
        (UPDATE_CHILD, {"id": other_kid.id, "input": {"firstName": "Pirate"}}),
        (SET_MEDICAL, {"id": other_kid.id, "input": medical_input(settings, autre=True, text="x")}),
        (SET_AUTHS, {"id": other_kid.id, "answers": all_authorizations(settings)}),
        (ADD_PERSON, {"id": other_kid.id, "input": PERSON}),
        (UPDATE_PERSON, {"id": other_person.id, "input": {"lastName": "PIRATE"}}),
        (DELETE_PERSON, {"id": other_person.id}),
        (UPDATE_CHILD, {"id": 999999, "input": {"firstName": "Pirate"}}),
    ]
    for query, variables in attempts:
        assert await gql.code(query, **variables) == "UNAUTHENTICATED"
        assert await client.code(query, **variables) == "NOT_FOUND", query
    after = await Household.get(id=other.id)
    assert after.city == "LATRESNE"
    assert await Responsable.filter(household_id=other.id).count() == 1
    assert await Child.filter(household_id=other.id).count() == 1
    kid = await Child.get(id=other_kid.id)
    assert (kid.first_name, kid.medical_answers, kid.authorizations) == ("Enfant1", {}, {})
    assert [p.last_name for p in await AuthorizedPerson.filter(child_id=other_kid.id)] == ["VOISIN"]
    assert await AuditLog.all().count() == 0


# ---- September update -----------------------------------------------------------------------------
async def test_yearly_update_requested_by_staff_confirmed_by_family_when_complete(gql, settings):
    user, household, kids = await make_family(children=2)
    _, other, _ = await make_family("autre@example.org", children=0)
    agent = await make_staff(services=["alsh"])
    staff = await gql.as_user(agent)
    client = await gql.as_user(user)
    assert await client.code(REQUEST_UPDATE, all=True) == "FORBIDDEN"
    assert (await staff.error(REQUEST_UPDATE))["extensions"] == {"code": "REQUIRED", "field": "householdIds"}
    # an ALSH agent asks the households using ALSH (core.permissions.may_edit_household) …
    assert await staff.code(REQUEST_UPDATE, ids=[household.id]) == "FORBIDDEN"
    await uses_service(household, "alsh")
    assert (await staff.ok(REQUEST_UPDATE, ids=[household.id]))["requestYearlyUpdate"]["householdCount"] == 1
    assert not (await Household.get(id=other.id)).needs_yearly_update
    # … every household at once: admins and the desk that opens accounts
    assert await staff.code(REQUEST_UPDATE, all=True) == "FORBIDDEN"
    admin = await gql.as_user(await make_staff("admin@example.org", role="admin"))
    assert (await admin.ok(REQUEST_UPDATE, all=True))["requestYearlyUpdate"]["householdCount"] == 2
    assert (await client.ok(MY_HOUSEHOLD))["myHousehold"]["needsYearlyUpdate"] is True

    alerts = await service.household_alerts(household.id)
    assert {a.code for a in alerts} == {"HOUSEHOLD_YEARLY_UPDATE", "HOUSEHOLD_FILE_INCOMPLETE", "CHILD_FILE_INCOMPLETE"}
    assert {a.child_id for a in alerts if a.code == "CHILD_FILE_INCOMPLETE"} == {k.id for k in kids}

    error = await client.error(CONFIRM_UPDATE)
    assert error["extensions"]["code"] == "FILE_INCOMPLETE"
    assert {"code": "REGIME_MISSING", "childId": None} in error["extensions"]["problems"]
    assert (await Household.get(id=household.id)).needs_yearly_update is True

    blocking = await service.child_file_problems(kids[0].id)
    assert {p.code for p in blocking} >= {"REGIME_MISSING", "MEDICAL_MISSING"} and all(p.message for p in blocking)
    assert {p.child_id for p in blocking} <= {None, kids[0].id}

    await complete_file(client, settings, kids)
    assert await service.child_file_problems(kids[0].id) == []
    assert await service.household_file_problems(household.id) == []
    data = (await client.ok(CONFIRM_UPDATE))["confirmYearlyUpdate"]
    assert data["needsYearlyUpdate"] is False and data["yearlyUpdateDoneOn"] == today().isoformat()
    assert await service.household_alerts(household.id) == []


async def test_yearly_update_request_mails_each_household_once(gql, mailbox):
    """Issue 14 point 6: each household concerned gets one mail per request, with the portal link."""
    user, household, _ = await make_family("rentree@example.org", children=1)
    _, other, _ = await make_family("autre@example.org", children=0)
    await Household.filter(id=other.id).update(email="")  # no contact address: its account is mailed
    _, untouched, _ = await make_family("pas-concerne@example.org", children=0)
    staff = await gql.as_user(await make_staff(role="admin"))  # asks every household at once below
    family = await gql.as_user(user)
    mailbox.clear()
    assert await family.code(REQUEST_UPDATE, ids=[household.id]) == "FORBIDDEN"
    assert await OutboxMail.all().count() == 0

    assert (await staff.ok(REQUEST_UPDATE, ids=[household.id, other.id, household.id]))["requestYearlyUpdate"]["householdCount"] == 2
    await send_pending(ignore_schedule=True)
    [mail] = mailbox.to("rentree@example.org")
    assert "Mise à jour de votre dossier famille" in mail["Subject"]
    text = mailbox.text(mail)
    assert "rentrée scolaire" in text and get_settings().community.public_url in text
    assert len(mailbox.to("autre@example.org")) == 1
    assert mailbox.to("pas-concerne@example.org") == []
    assert await OutboxMail.filter(template="mail/yearly_update_requested", household_id=household.id).count() == 1

    # a new request (here: everyone) mails again, once per household
    mailbox.clear()
    assert (await staff.ok(REQUEST_UPDATE, all=True))["requestYearlyUpdate"]["householdCount"] == 3
    await send_pending(ignore_schedule=True)
    assert sorted(m["To"] for m in mailbox.messages) == sorted(
        ["rentree@example.org", "autre@example.org", "pas-concerne@example.org"])
    assert (await staff.error(REQUEST_UPDATE))["extensions"] == {"code": "REQUIRED", "field": "householdIds"}


# ---- staff ----------------------------------------------------------------------------------------
async def test_staff_search_households(gql):
    user, household, kids = await make_family("dupont@example.org", children=1, name="DUPONT")
    household.allocataire_number = "CAF778899"
    await household.save()
    kids[0].first_name = "Anatole"
    await kids[0].save()
    _, other, _ = await make_family("martin@example.org", children=1, name="MARTIN")
    agent = await make_staff(services=["alsh"])
    admin = await make_staff("admin@example.org", role=Role.ADMIN)
    for staff_user in (agent, admin):
        staff = await gql.as_user(staff_user)
        for text, expected in [("dupo", [household.id]), ("anatole", [household.id]), ("778899", [household.id]),
                               ("martin@", [other.id]), ("", [household.id, other.id]), ("zzz", [])]:
            result = (await staff.ok(SEARCH, text=text))["searchHouseholds"]
            assert sorted(int(i["id"]) for i in result["items"]) == sorted(expected), text
            assert result["total"] == len(expected)
        page = (await staff.ok(SEARCH, text="", limit=1, offset=1))["searchHouseholds"]
        assert page["total"] == 2 and [i["name"] for i in page["items"]] == ["MARTIN"]
    family = await gql.as_user(user)
    assert await family.code(SEARCH, text="martin") == "FORBIDDEN"
    assert await gql.code(SEARCH, text="martin") == "UNAUTHENTICATED"


async def test_staff_reads_household_and_medical_read_is_audited(gql, settings):
    _, household, kids = await make_family(children=3)
    await uses_service(household, "alsh")
    agent = await make_staff(services=["alsh"])
    staff = await gql.as_user(agent)
    with count_queries() as log:
        data = (await staff.ok(HOUSEHOLD, id=household.id))["household"]
    assert len(data["children"]) == 3
    rows = await AuditLog.filter(household_id=household.id).order_by("entity_id")
    assert [(r.action, r.entity, r.entity_id, r.actor_id) for r in rows] == \
        [("read_medical", "child", k.id, agent.id) for k in kids]
    assert sum(1 for s in log.statements if "core_audit_log" in s) == 1  # one batched insert

    # a query without medical data writes nothing
    await staff.ok("query($id: ID!) { household(id: $id) { name children { firstName } } }", id=household.id)
    assert await AuditLog.all().count() == 3
    # single child read by staff
    await staff.ok(CHILD, id=kids[0].id)
    assert await AuditLog.all().count() == 4
    # the family reading its own file is not audited
    family_user = await household.members.all().first()
    await (await gql.as_user(family_user)).ok(MY_HOUSEHOLD)
    assert await AuditLog.all().count() == 4

    admin = await gql.as_user(await make_staff("admin@example.org", role=Role.ADMIN))
    entries = (await admin.ok(AUDIT, hid=household.id))["auditLog"]["items"]
    assert len(entries) == 4 and {e["actorEmail"] for e in entries} == {"agent@example.org"}
    assert await staff.code(AUDIT, hid=household.id) == "FORBIDDEN"
    assert await (await gql.as_user(family_user)).code(AUDIT, hid=household.id) == "FORBIDDEN"
    assert await staff.code(HOUSEHOLD, id=999999) == "NOT_FOUND"


async def test_staff_edits_a_household_with_explicit_id(gql, settings):
    _, household, kids = await make_family(children=1)
    await uses_service(household, "alsh")
    staff = await gql.as_user(await make_staff(services=["alsh"]))
    assert (await staff.error(UPDATE_HOUSEHOLD, input={"regime": "GENERAL"}))["extensions"]["field"] == "householdId"
    await complete_file(staff, settings, kids, household_id=household.id)
    await staff.ok(SAVE_OTHER, input={"firstName": "Patrice", "lastName": "TESTBO"}, hid=household.id)
    child = (await staff.ok(ADD_CHILD, input={"firstName": "Chloé", "lastName": "DUPONT", "birthDate": "2021-05-04"},
                            hid=household.id))["addChild"]
    assert await Child.filter(household_id=household.id).count() == 2 and child["firstName"] == "Chloé"
    assert (await Household.get(id=household.id)).regime == "general"
    assert await Responsable.filter(household_id=household.id, rank=2).exists()


# ---- RGPD -----------------------------------------------------------------------------------------
async def test_export_and_erase_household(gql, settings):
    user, household, kids = await make_family(children=1)
    client = await gql.as_user(user)
    await complete_file(client, settings, kids)
    exported = await service.export_household(household.id)
    assert exported["household"]["allocataire_number"] == "1234567"
    assert exported["children"][0]["medical_answers"]["asthme"] == {"answer": False, "text": ""}
    assert exported["children"][0]["authorized_people"][0]["last_name"] == "TESTBO"
    assert exported["responsables"][0]["first_name"] == "Camille"

    await service.erase_household(household.id)
    h = await Household.get(id=household.id)
    assert (h.name, h.address_line1, h.allocataire_number, h.quotient_familial) == ("ANONYME", "", "", None)
    assert h.erased_at is not None
    kid = await Child.get(id=kids[0].id)
    assert (kid.first_name, kid.birth_date, kid.medical_answers, kid.allergies) == ("Anonyme", None, {}, "")
    assert (await Responsable.get(household_id=household.id)).first_name == "Anonyme"
    person = await AuthorizedPerson.get(child_id=kid.id)
    assert (person.last_name, person.phone_mobile, person.email) == ("ANONYME", "", "")


# ---- performance ----------------------------------------------------------------------------------
async def _family_query_count(gql, settings, email: str, children: int) -> int:
    user, _, kids = await make_family(email, children=children)
    client = await gql.as_user(user)
    await complete_file(client, settings, kids)
    for kid in kids:
        await client.ok(ADD_PERSON, id=kid.id, input={**PERSON, "lastName": "SECOND", "isContact": True})
    with count_queries() as log:
        data = (await client.ok(MY_HOUSEHOLD))["myHousehold"]
    assert len(data["children"]) == children
    assert all(len(c["authorizedPeople"]) == 2 and c["authorizations"] for c in data["children"])
    return log.count


async def test_family_household_query_count_does_not_grow_with_children(gql, settings):
    one = await _family_query_count(gql, settings, "un@example.org", 1)
    four = await _family_query_count(gql, settings, "quatre@example.org", 4)
    assert one == four
    assert four <= 6  # session + household, responsables, children, authorized people


async def test_staff_search_ignores_accents_and_ranks_the_name_first(gql):
    _, helene, kids = await make_family("h@example.org", children=1, name="LE GOFF")
    responsable = await Responsable.get(household_id=helene.id, rank=1)
    responsable.first_name = "Hélène"
    await responsable.save()
    _, martin, _ = await make_family("m@example.org", children=0, name="MARTIN")
    _, martinez, _ = await make_family("mz@example.org", children=0, name="MARTINEZ")
    kids[0].first_name = "Martin"  # the LE GOFF household has a child called Martin
    await kids[0].save()
    staff = await gql.as_user(await make_staff(services=["alsh"]))

    async def search(text, **page):
        result = (await staff.ok(SEARCH, text=text, limit=page.get("limit", 20), offset=page.get("offset", 0)))
        return result["searchHouseholds"]["total"], [i["name"] for i in result["searchHouseholds"]["items"]]

    for text in ("helene", "HÉLÈNE", "Helene le goff", "le-goff"):
        assert await search(text) == (1, ["LE GOFF"]), text
    assert await search("martin") == (3, ["MARTIN", "MARTINEZ", "LE GOFF"])
    assert await search("martin", limit=1, offset=1) == (3, ["MARTINEZ"])
    assert await search("helene martin") == (1, ["LE GOFF"])  # every word, anywhere in the file
    # The index follows the file: a child renamed through the API is found under the new name.
    parent = await User.get(email="h@example.org")
    await (await gql.as_user(parent)).ok(
        """mutation($id: ID!) { updateChild(childId: $id, input: {firstName: "Éloïse"}) { id } }""", id=str(kids[0].id))
    assert await search("eloise") == (1, ["LE GOFF"])
    assert await search("martin") == (2, ["MARTIN", "MARTINEZ"])
