"""Démarches through HTTP: built-in and plugin types, submit with attachments, follow, staff processing
scoped by service, and the mail the family receives."""

from __future__ import annotations

import pytest

from core.config import ConfigError
from core.contributions import DemarcheField, DemarcheType
from core.demarches.models import Demarche, DemarcheAttachment
from core.demarches.rules import (
    BUILTIN_DEMARCHE_TYPES,
    check_processing,
    handling_service,
    service_of,
    validate_data,
    with_service_choices,
)
from core.errors import ValidationError
from core.files.models import StoredFile
from core.hookspecs import hookimpl
from core.mail.service import send_pending
from tests.conftest import make_family, make_staff
from tests.querycount import count_queries

PDF = b"%PDF-1.4\n1 0 obj<<>>endobj\ntrailer<<>>\n%%EOF"
EXE = b"MZ\x90\x00\x03\x00\x00\x00\x04\x00\x00\x00\xff\xff\x00\x00" + b"\x00" * 64

TYPES = """{ demarcheTypes { code label service allowsAttachments fields { name label kind required choices } } }"""
SUBMIT = """mutation($type: String!, $data: JSON, $child: ID, $attachments: [Upload!]) {
  submitDemarche(typeCode: $type, data: $data, childId: $child, attachments: $attachments) {
    id typeCode typeLabel serviceCode status childId childFirstName data response attachments { filename size downloadUrl } } }"""
MINE = """{ myDemarches { items { id typeCode status response data attachments { filename } } } }"""
STAFF_LIST = """query($status: DemarcheStatus, $service: String) { demarches(status: $status, service: $service) { items {
  id typeCode serviceCode status householdId attachments { filename } } } }"""
PROCESS = """mutation($id: ID!, $status: DemarcheStatus!, $response: String) {
  processDemarche(id: $id, status: $status, response: $response) { id status response } }"""

MOVING = {"date_demenagement": "2025-09-01", "nouvelle_adresse": "3 rue des Vignes", "code_postal": "33360",
          "ville": "CAMBLANES"}


def types_by_code():
    return {t.code: t for t in with_service_choices(BUILTIN_DEMARCHE_TYPES, ["alsh", "jeunesse"])}


# ---- pure rules ----------------------------------------------------------------------------------
def test_validate_data_worked_examples():
    t = types_by_code()
    assert validate_data(t["demenagement"].fields, {**MOVING, "intrus": "x"}, []) == MOVING
    cases = [
        ("demenagement", {**MOVING, "ville": " "}, "REQUIRED", "ville"),
        ("demenagement", {**MOVING, "date_demenagement": "01/09/2025"}, "INVALID_DATE", "date_demenagement"),
        ("inscription_scolaire", {"enfant": 7, "ecole": "Jean Jaurès", "classe": "6e", "date_rentree": "2025-09-01"},
         "INVALID_CHOICE", "classe"),
        ("inscription_scolaire", {"enfant": 99, "ecole": "Jean Jaurès", "classe": "CP", "date_rentree": "2025-09-01"},
         "UNKNOWN_CHILD", "enfant"),
        ("demande_information", {"service": "creche_inconnue", "message": "Bonjour"}, "INVALID_CHOICE", "service"),
    ]
    for code, data, error, field in cases:
        with pytest.raises(ValidationError) as exc:
            validate_data(t[code].fields, data, [7])
        assert (exc.value.code, exc.value.field) == (error, field), code
    with pytest.raises(ValidationError) as exc:
        validate_data(t["demenagement"].fields, ["pas", "un", "objet"], [])  # type: ignore[arg-type]
    assert exc.value.code == "INVALID_DATA"
    birth = validate_data(t["nouvel_enfant"].fields, {"prenom": "Léa", "nom": "Martin", "date_naissance": "2025-03-01"}, [])
    assert birth["a_naitre"] is False and "sexe" not in birth
    with pytest.raises(ValidationError) as exc:
        validate_data((DemarcheField("ok", "OK", kind="bool"),), {"ok": "oui"}, [])
    assert exc.value.code == "INVALID_BOOL"
    info = validate_data(t["demande_information"].fields, {"service": "alsh", "message": "Bonjour"}, [])
    assert service_of(t["demande_information"], info) == "alsh"
    assert service_of(t["demenagement"], MOVING) == ""


def test_processing_rules():
    assert check_processing("submitted", "accepted", None) == ""
    for current, new, response, code in [("submitted", "refused", " ", "RESPONSE_REQUIRED"),
                                         ("submitted", "submitted", "", "INVALID_STATUS"),
                                         ("closed", "accepted", "", "DEMARCHE_CLOSED")]:
        with pytest.raises(ValidationError) as exc:
            check_processing(current, new, response)
        assert exc.value.code == code


def test_builtin_types_cover_the_guides():
    codes = {t.code for t in BUILTIN_DEMARCHE_TYPES}
    assert codes == {"demenagement", "changement_situation", "demande_pai", "nouvel_enfant",
                     "inscription_scolaire", "demande_information"}


# ---- family journey ---------------------------------------------------------------------------------
async def test_types_submit_with_attachments_and_follow(gql, mailbox):
    user, household, (kid1, kid2) = await make_family("demarche@example.org")
    family = await gql.as_user(user)
    types = {t["code"]: t for t in (await family.ok(TYPES))["demarcheTypes"]}
    assert "inscription_scolaire" in types
    service_field = next(f for f in types["demande_information"]["fields"] if f["name"] == "service")
    assert "alsh" in service_field["choices"]

    result = await family.upload(SUBMIT, {"type": "demenagement", "data": MOVING, "attachments": [None, None]},
                                 {"attachments.0": ("bail.pdf", PDF, "application/pdf"),
                                  "attachments.1": ("edf.pdf", PDF, "application/pdf")})
    assert not result.get("errors"), result
    moving = result["data"]["submitDemarche"]
    assert moving["status"] == "SUBMITTED" and moving["serviceCode"] == ""
    assert [a["filename"] for a in moving["attachments"]] == ["bail.pdf", "edf.pdf"]

    # the child comes from childId when the data does not name it
    pai = (await family.ok(SUBMIT, type="demande_pai", child=str(kid2.id),
                           data={"pathologie": "Allergie à l'arachide"}))["submitDemarche"]
    assert pai["childId"] == str(kid2.id) and pai["childFirstName"] == "Enfant2"
    school = (await family.ok(SUBMIT, type="inscription_scolaire", data={
        "enfant": kid1.id, "ecole": "École Jean Jaurès", "classe": "CP", "date_rentree": "2025-09-01"}))["submitDemarche"]
    assert school["data"]["classe"] == "CP"
    info = (await family.ok(SUBMIT, type="demande_information",
                            data={"service": "jeunesse", "message": "Horaires du PAJ ?"}))["submitDemarche"]
    assert info["serviceCode"] == "jeunesse"

    mine = (await family.ok(MINE))["myDemarches"]["items"]
    assert [d["typeCode"] for d in mine] == ["demande_information", "inscription_scolaire", "demande_pai",
                                            "demenagement"]

    # processing: the family is mailed and sees the response
    admin = await gql.as_user(await make_staff("admin@example.org", role="admin"))
    assert (await admin.error(PROCESS, id=moving["id"], status="REFUSED"))["extensions"] == {
        "code": "RESPONSE_REQUIRED", "field": "response"}
    await admin.ok(PROCESS, id=moving["id"], status="IN_PROGRESS")
    done = (await admin.ok(PROCESS, id=moving["id"], status="ACCEPTED",
                           response="Adresse mise à jour."))["processDemarche"]
    assert done == {"id": moving["id"], "status": "ACCEPTED", "response": "Adresse mise à jour."}
    await send_pending(ignore_schedule=True)
    messages = mailbox.to("demarche@example.org")
    assert len(messages) == 2
    assert "acceptée" in messages[-1]["Subject"]
    assert "Adresse mise à jour." in mailbox.text(messages[-1])
    mine = {d["id"]: d for d in (await family.ok(MINE))["myDemarches"]["items"]}
    assert mine[moving["id"]]["status"] == "ACCEPTED" and mine[moving["id"]]["response"] == "Adresse mise à jour."

    await admin.ok(PROCESS, id=moving["id"], status="CLOSED")
    assert await admin.code(PROCESS, id=moving["id"], status="ACCEPTED") == "DEMARCHE_CLOSED"


async def test_submit_errors_create_nothing(gql):
    user, household, (kid1,) = await make_family("erreurs@example.org", children=1)
    _, _, (other_kid,) = await make_family("autre@example.org", children=1, name="AUTRE")
    family = await gql.as_user(user)

    missing = await family.error(SUBMIT, type="demenagement", data={**MOVING, "ville": ""})
    assert missing["extensions"] == {"code": "REQUIRED", "field": "ville"}
    bad_date = await family.error(SUBMIT, type="demenagement", data={**MOVING, "date_demenagement": "2025-02-30"})
    assert bad_date["extensions"] == {"code": "INVALID_DATE", "field": "date_demenagement"}
    assert await family.code(SUBMIT, type="inconnu", data={}) == "UNKNOWN_DEMARCHE_TYPE"
    assert await family.code(SUBMIT, type="demande_pai", child=str(other_kid.id),
                             data={"pathologie": "x"}) == "NOT_FOUND"
    other_in_data = await family.error(SUBMIT, type="demande_pai", data={"enfant": other_kid.id, "pathologie": "x"})
    assert other_in_data["extensions"] == {"code": "UNKNOWN_CHILD", "field": "enfant"}
    exe = await family.upload(SUBMIT, {"type": "demenagement", "data": MOVING, "attachments": [None, None]},
                              {"attachments.0": ("ok.pdf", PDF, "application/pdf"),
                               "attachments.1": ("virus.pdf", EXE, "application/pdf")})
    assert exe["errors"][0]["extensions"] == {"code": "INVALID_FILE_TYPE", "field": "attachments"}
    assert await gql.code(SUBMIT, type="demenagement", data=MOVING) == "UNAUTHENTICATED"
    staff = await gql.as_user(await make_staff(services=["alsh"]))
    assert await staff.code(SUBMIT, type="demenagement", data=MOVING) == "NOT_FOUND"  # staff have no household

    unconfirmed, _, _ = await make_family("pasconfirme@example.org", confirmed=False)
    assert await (await gql.as_user(unconfirmed)).code(SUBMIT, type="demenagement", data=MOVING) == \
        "EMAIL_NOT_CONFIRMED"
    assert await Demarche.all().count() == 0
    assert await DemarcheAttachment.all().count() == 0 and await StoredFile.all().count() == 0


async def test_staff_see_and_process_only_their_services(gql, mailbox):
    user, _, _ = await make_family("scope@example.org")
    family = await gql.as_user(user)
    to_alsh = (await family.ok(SUBMIT, type="demande_information",
                               data={"service": "alsh", "message": "Bonjour"}))["submitDemarche"]
    to_all = (await family.ok(SUBMIT, type="demenagement", data=MOVING))["submitDemarche"]
    other_user, _, _ = await make_family("voisin@example.org", name="VOISIN")
    neighbour = await gql.as_user(other_user)

    alsh = await gql.as_user(await make_staff("alsh@example.org", services=["alsh"]))
    jeunesse = await gql.as_user(await make_staff("jeunesse@example.org", services=["jeunesse"]))
    assert {d["id"] for d in (await alsh.ok(STAFF_LIST))["demarches"]["items"]} == {to_alsh["id"], to_all["id"]}
    # need-to-know: a démarche addressed to no service (a move, a PAI) is shown to the agents of the
    # services the household uses (here the ALSH), not to jeunesse
    assert (await jeunesse.ok(STAFF_LIST))["demarches"]["items"] == []
    assert await jeunesse.code(PROCESS, id=to_all["id"], status="ACCEPTED") == "NOT_FOUND"
    assert [d["id"] for d in (await alsh.ok(STAFF_LIST, service="alsh"))["demarches"]["items"]] == [to_alsh["id"]]
    assert await jeunesse.code(STAFF_LIST, service="alsh") == "FORBIDDEN"
    assert await family.code(STAFF_LIST) == "FORBIDDEN"

    # agent of another service: looks like a missing démarche, nothing changes
    assert await jeunesse.code(PROCESS, id=to_alsh["id"], status="ACCEPTED") == "NOT_FOUND"
    assert (await Demarche.get(id=int(to_alsh["id"]))).status == "submitted"
    assert await family.code(PROCESS, id=to_alsh["id"], status="ACCEPTED") == "FORBIDDEN"
    # another family's démarche is not in its list
    assert (await neighbour.ok(MINE))["myDemarches"]["items"] == []

    refused = (await alsh.ok(PROCESS, id=to_alsh["id"], status="REFUSED",
                             response="Merci de nous appeler."))["processDemarche"]
    assert refused["status"] == "REFUSED"
    assert [d["id"] for d in (await alsh.ok(STAFF_LIST, status="REFUSED"))["demarches"]["items"]] == [to_alsh["id"]]
    await send_pending(ignore_schedule=True)
    [mail] = mailbox.to("scope@example.org")
    assert "refusée" in mail["Subject"] and "Merci de nous appeler." in mailbox.text(mail)


async def test_demarche_lists_do_not_grow_queries_with_rows(gql):
    user, _, (kid1, kid2) = await make_family("beaucoup@example.org")
    family = await gql.as_user(user)
    admin = await gql.as_user(await make_staff("admin@example.org", role="admin"))

    async def submit() -> None:
        await family.upload(SUBMIT, {"type": "demande_pai", "child": str(kid1.id), "data": {"pathologie": "x"},
                                     "attachments": [None]},
                            {"attachments.0": ("pai.pdf", PDF, "application/pdf")})

    async def counts() -> tuple[int, int]:
        with count_queries() as mine:
            await family.ok(MINE)
        with count_queries() as staff:
            await admin.ok(STAFF_LIST)
        return mine.count, staff.count

    await submit()
    small = await counts()
    for _ in range(4):
        await submit()
    assert await counts() == small


# ---- plugin types and attachment downloads ---------------------------------------------------------
class ExamplePlugin:
    """A service plugin written by someone else, adding one démarche type addressed to its service."""

    @hookimpl
    def portail_demarche_types(self, settings):
        return [DemarcheType(code="exemple_badge", label="Demande de badge", service="sport",
                             fields=(DemarcheField("motif", "Motif"),), allows_attachments=False)]


@pytest.fixture
def example_plugin(host):
    host.register(ExamplePlugin(), name="exemple_demarches")
    yield
    host.unregister("exemple_demarches")


async def test_plugin_demarche_type(gql, example_plugin):
    user, _, _ = await make_family("plugin@example.org")
    family = await gql.as_user(user)
    assert "exemple_badge" in {t["code"] for t in (await family.ok(TYPES))["demarcheTypes"]}
    badge = (await family.ok(SUBMIT, type="exemple_badge", data={"motif": "Perdu"}))["submitDemarche"]
    assert badge["serviceCode"] == "sport" and badge["typeLabel"] == "Demande de badge"
    refused = await family.upload(SUBMIT, {"type": "exemple_badge", "data": {"motif": "x"}, "attachments": [None]},
                                  {"attachments.0": ("a.pdf", PDF, "application/pdf")})
    assert refused["errors"][0]["extensions"]["code"] == "ATTACHMENTS_NOT_ALLOWED"
    sport = await gql.as_user(await make_staff(services=["sport"]))
    alsh = await gql.as_user(await make_staff("alsh@example.org", services=["alsh"]))
    assert [d["id"] for d in (await sport.ok(STAFF_LIST))["demarches"]["items"]] == [badge["id"]]
    assert (await alsh.ok(STAFF_LIST))["demarches"]["items"] == []


async def test_attachment_download_rights(gql):
    user, _, _ = await make_family("pj@example.org")
    family = await gql.as_user(user)
    result = await family.upload(SUBMIT, {"type": "demande_information", "attachments": [None],
                                          "data": {"service": "alsh", "message": "Voir pièce jointe"}},
                                 {"attachments.0": ("question.pdf", PDF, "application/pdf")})
    url = result["data"]["submitDemarche"]["attachments"][0]["downloadUrl"]
    response = await family.download(url)
    assert response.status_code == 200 and response.content == PDF
    assert (await (await gql.as_user(await make_staff(services=["alsh"]))).download(url)).status_code == 200
    other_service = await gql.as_user(await make_staff("j@example.org", services=["jeunesse"]))
    assert (await other_service.download(url)).status_code == 404
    other, _, _ = await make_family("autre@example.org", name="AUTRE")
    assert (await (await gql.as_user(other)).download(url)).status_code == 404
    assert (await gql.download(url)).status_code == 401


# ---- who handles each type (issue 14, point 6) ------------------------------------------------------
TYPES_SERVICE = """{ demarcheTypes { code service serviceName } }"""


def test_handling_service_worked_examples():
    services = [("alsh", "alsh"), ("scolaire_latresne", "scolaire"), ("scolaire_cambes", "scolaire")]
    assert handling_service("inscription_scolaire", "scolaire", {}, services) == "scolaire_latresne"  # first of kind
    assert handling_service("inscription_scolaire", "scolaire", {"inscription_scolaire": "scolaire_cambes"},
                            services) == "scolaire_cambes"
    assert handling_service("demande_pai", "", {"demande_pai": "alsh"}, services) == "alsh"
    assert handling_service("demenagement", "", {}, services) == ""
    assert handling_service("inscription_scolaire", "scolaire", {}, [("alsh", "alsh")]) == ""  # no such service


def test_handling_services_config_is_strict(tmp_path):
    from core.config import settings_from_dict

    base = {"community": {"name": "CC Test", "short_name": "CC"},
            "services": [{"code": "ecoles", "name": "Écoles", "kind": "scolaire"}]}
    ok = settings_from_dict({**base, "demarches": {"handling_services": {"demande_pai": "ecoles"}}}, tmp_path)
    assert ok.demarches.handling_services == {"demande_pai": "ecoles"}
    with pytest.raises(ConfigError) as unknown:
        settings_from_dict({**base, "demarches": {"handling_services": {"demande_pai": "mairie"}}}, tmp_path)
    assert "« mairie » n'est ni un service, ni un type de service" in str(unknown.value)
    with pytest.raises(ConfigError):
        settings_from_dict({**base, "demarches": {"handling_service": {}}}, tmp_path)  # misspelt key


class SchoolTransportPlugin:
    """A plugin's démarche type names the service kind that handles it."""

    @hookimpl
    def portail_demarche_types(self, settings):
        return [DemarcheType(code="transport_scolaire", label="Transport scolaire", service="creche",
                             fields=(DemarcheField("message", "Message"),))]


async def test_types_say_which_service_handles_them(gql, host, settings):
    from dataclasses import replace

    from core import config
    from core.config import DemarchesSection

    host.register(SchoolTransportPlugin(), name="transport_test")
    try:
        types = {t["code"]: t for t in (await gql.ok(TYPES_SERVICE))["demarcheTypes"]}
    finally:
        host.unregister("transport_test")
    assert types["inscription_scolaire"]["service"] == "scolaire_latresne"
    assert types["inscription_scolaire"]["serviceName"] == "Service scolaire LATRESNE"
    assert types["transport_scolaire"]["service"] == "creche_au_fil_de_l_eau"  # first service of its kind
    assert {types[c]["service"] for c in ("demenagement", "changement_situation", "demande_pai",
                                          "nouvel_enfant", "demande_information")} == {""}

    # a school registration reaches the school service's agents, not the ALSH's
    user, household, (kid,) = await make_family("ecole@example.org", children=1)
    family = await gql.as_user(user)
    school = (await family.ok(SUBMIT, type="inscription_scolaire", data={
        "enfant": kid.id, "ecole": "École Jean Jaurès", "classe": "CP", "date_rentree": "2025-09-01"}))["submitDemarche"]
    assert school["serviceCode"] == "scolaire_latresne"
    alsh = await gql.as_user(await make_staff("alsh@example.org", services=["alsh"]))
    assert (await alsh.ok(STAFF_LIST))["demarches"]["items"] == []
    assert await alsh.code(PROCESS, id=school["id"], status="ACCEPTED") == "NOT_FOUND"
    ecole = await gql.as_user(await make_staff("ecole.agent@example.org", services=["scolaire_latresne"]))
    assert [d["id"] for d in (await ecole.ok(STAFF_LIST))["demarches"]["items"]] == [school["id"]]
    assert (await ecole.ok(PROCESS, id=school["id"], status="ACCEPTED", response="Inscrit."))[
        "processDemarche"]["status"] == "ACCEPTED"

    # the community's config overrides the defaults
    config.activate(replace(settings, demarches=DemarchesSection(
        handling_services={"inscription_scolaire": "alsh", "demande_pai": "jeunesse"})))
    try:
        types = {t["code"]: t for t in (await gql.ok(TYPES_SERVICE))["demarcheTypes"]}
        pai = (await family.ok(SUBMIT, type="demande_pai", child=str(kid.id),
                               data={"pathologie": "Asthme"}))["submitDemarche"]
    finally:
        config.activate(settings)
    assert (types["inscription_scolaire"]["service"], types["demande_pai"]["serviceName"]) == ("alsh", "Service Jeunesse")
    assert pai["serviceCode"] == "jeunesse"
