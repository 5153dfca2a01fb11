"""Documents through HTTP: types, « Envoyer un document » (type decided from bytes, size limit, scope),
my documents, what is missing per service, staff review with a real refusal mail, download rights."""

from __future__ import annotations

import pytest

from core.config import get_settings
from core.contributions import DocumentType
from core.documents.models import Document, DocumentStatus
from core.documents.rules import (
    DocumentFact,
    MissingDocument,
    check_review,
    check_scope,
    latest_refused,
    missing_for_service,
    requirer_label,
)
from core.documents.service import missing_documents
from core.errors import ValidationError
from core.files.models import StoredFile
from core.mail.service import send_pending
from tests.conftest import make_family, make_staff, uses_service
from tests.querycount import count_queries

PDF = b"%PDF-1.4\n1 0 obj<<>>endobj\ntrailer<<>>\n%%EOF"
PNG = b"\x89PNG\r\n\x1a\n" + b"\x00\x00\x00\rIHDR" + b"\x00\x00\x00\x01\x00\x00\x00\x01\x08\x02\x00\x00\x00" + b"\x90wS\xde"
EXE = b"MZ\x90\x00\x03\x00\x00\x00\x04\x00\x00\x00\xff\xff\x00\x00" + b"\x00" * 64

UPLOAD = """mutation($file: Upload!, $type: String!, $child: ID) {
  uploadDocument(file: $file, typeCode: $type, childId: $child) {
    id typeCode typeLabel status childId childFirstName uploadedAt downloadUrl filename } }"""
MY_DOCS = """{ myDocuments { items { id typeCode typeLabel status refusalReason uploadedAt childId childFirstName downloadUrl } } }"""
TYPES = """{ documentTypes { code label scope help requiredBy { code label establishments } } }"""
REQUIREMENTS = """query($service: String) { documentRequirements(service: $service) {
  service label establishments missing { typeCode label childId status } } }"""
PENDING = """query($service: String) { pendingDocuments(service: $service) { items { id typeCode householdId status } } }"""
REVIEW = """mutation($id: ID!, $decision: DocumentDecision!, $reason: String) {
  reviewDocument(id: $id, decision: $decision, reason: $reason) { id status refusalReason } }"""
HOUSEHOLD_DOCS = """query($id: ID!) { householdDocuments(householdId: $id) { items { id typeCode status } } }"""


async def upload(client, type_code: str, content: bytes = PDF, name: str = "a.pdf", child=None,
                 mime: str = "application/pdf"):
    variables = {"type": type_code, "child": str(child) if child is not None else None}
    return await client.upload(UPLOAD, variables, {"file": (name, content, mime)})


def stored_files(settings) -> set:
    return {p for p in settings.storage_path.rglob("*") if p.is_file()}


def error_of(result) -> dict:
    assert result.get("errors"), result
    return result["errors"][0]


# ---- pure rules ----------------------------------------------------------------------------------
CARNET = DocumentType("carnet_sante", "Carnet de santé", scope="child", required_by=("creche", "alsh_paj"))
DOMICILE = DocumentType("justificatif_domicile", "Justificatif de domicile", required_by=("creche",))
ASSURANCE = DocumentType("attestation_assurance", "Attestation d'assurance", required_by=("alsh_paj",))


def test_missing_for_service_worked_example():
    # Child 1 has an accepted carnet, child 2 a refused one, the household a pending justificatif.
    docs = [DocumentFact(1, "carnet_sante", 1, "accepted"), DocumentFact(2, "carnet_sante", 2, "refused"),
            DocumentFact(3, "justificatif_domicile", None, "pending")]
    types = [CARNET, DOMICILE, ASSURANCE]
    assert missing_for_service(types, docs, "creche", [1, 2]) == [
        MissingDocument("carnet_sante", "Carnet de santé", 2, "refused"),
        MissingDocument("justificatif_domicile", "Justificatif de domicile", None, "pending"),
    ]
    assert missing_for_service(types, docs, "alsh_paj", [1, 2]) == [
        MissingDocument("carnet_sante", "Carnet de santé", 2, "refused"),
        MissingDocument("attestation_assurance", "Attestation d'assurance", None, "missing"),
    ]
    # a refused one then a new accepted one: nothing missing any more
    docs.append(DocumentFact(4, "carnet_sante", 2, "accepted"))
    assert [m.type_code for m in missing_for_service(types, docs, "creche", [1, 2])] == ["justificatif_domicile"]
    assert latest_refused(docs) == []
    assert latest_refused([DocumentFact(5, "divers", None, "refused")]) == [DocumentFact(5, "divers", None, "refused")]


def test_scope_review_and_requirer_rules():
    with pytest.raises(ValidationError) as exc:
        check_scope(CARNET, None)
    assert (exc.value.code, exc.value.field) == ("CHILD_REQUIRED", "childId")
    with pytest.raises(ValidationError) as exc:
        check_scope(DOMICILE, 3)
    assert exc.value.code == "CHILD_NOT_ALLOWED"
    with pytest.raises(ValidationError) as exc:
        check_review(False, "  ")
    assert (exc.value.code, exc.value.field) == ("REASON_REQUIRED", "reason")
    assert check_review(True, None) == ""
    services = [("alsh", "ALSH et Périscolaire", "alsh"), ("jeunesse", "Service Jeunesse", "paj"),
                ("c1", "Crèche A", "creche")]
    assert requirer_label("creche", services)[1] == ["Crèche A"]
    assert requirer_label("alsh_paj", services)[1] == ["ALSH et Périscolaire", "Service Jeunesse"]
    assert requirer_label("alsh", services) == ("ALSH et Périscolaire", ["ALSH et Périscolaire"])


# ---- family journey ---------------------------------------------------------------------------------
async def test_types_upload_list_and_download(gql, http):
    user, household, (kid1, kid2) = await make_family("doc@example.org")
    family = await gql.as_user(user)
    types = {t["code"]: t for t in (await family.ok(TYPES))["documentTypes"]}
    assert types["carnet_sante"]["scope"] == "CHILD"
    creche = next(r for r in types["justificatif_domicile"]["requiredBy"] if r["code"] == "creche")
    assert "Crèche - Au fil de l'eau" in creche["establishments"]

    result = await upload(family, "justificatif_domicile")
    doc = result["data"]["uploadDocument"]
    assert doc["status"] == "PENDING" and doc["childId"] is None and doc["typeLabel"] == "Justificatif de domicile"
    result = await upload(family, "carnet_sante", PNG, "carnet.png", child=kid2.id, mime="image/png")
    child_doc = result["data"]["uploadDocument"]
    assert child_doc["childFirstName"] == "Enfant2"

    docs = (await family.ok(MY_DOCS))["myDocuments"]["items"]
    assert [d["typeCode"] for d in docs] == ["carnet_sante", "justificatif_domicile"]
    assert docs[1]["downloadUrl"] == f"/files/document/{doc['id']}" and docs[1]["uploadedAt"]

    # download: owner gets the same bytes, another family 404, anonymous 401, staff 200
    response = await family.download(doc["downloadUrl"])
    assert response.status_code == 200 and response.content == PDF
    assert response.headers["content-type"] == "application/pdf"
    other, _, _ = await make_family("autre@example.org", name="MARTIN")
    assert (await (await gql.as_user(other)).download(doc["downloadUrl"])).status_code == 404
    assert (await gql.download(doc["downloadUrl"])).status_code == 401
    assert (await gql.download("/files/document/abc")).status_code == 401
    assert (await (await gql.as_user(other)).download("/files/document/abc")).status_code == 404
    await uses_service(household, "alsh")  # need-to-know: the ALSH agent sees a household using the ALSH
    staff = await gql.as_user(await make_staff(services=["alsh"]))
    png = await staff.download(child_doc["downloadUrl"])
    assert png.status_code == 200 and png.content == PNG


async def test_upload_errors_store_nothing(gql, settings):
    user, household, (kid1, _) = await make_family("err@example.org")
    other, _, (other_kid,) = await make_family("other@example.org", children=1, name="AUTRE")
    family = await gql.as_user(user)
    files_before = stored_files(settings)

    exe = error_of(await upload(family, "justificatif_domicile", EXE, "facture.pdf"))
    assert exe["extensions"] == {"code": "INVALID_FILE_TYPE", "field": "file"}
    big = PDF + b"0" * (get_settings().max_upload_bytes + 1 - len(PDF))
    assert len(big) > settings.max_upload_bytes
    assert error_of(await upload(family, "justificatif_domicile", big))["extensions"]["code"] == "FILE_TOO_LARGE"
    wrong_scope = error_of(await upload(family, "carnet_sante"))
    assert wrong_scope["extensions"] == {"code": "CHILD_REQUIRED", "field": "childId"}
    assert error_of(await upload(family, "justificatif_domicile", child=kid1.id))["extensions"]["code"] == \
        "CHILD_NOT_ALLOWED"
    assert error_of(await upload(family, "carnet_sante", child=other_kid.id))["extensions"]["code"] == "NOT_FOUND"
    assert error_of(await upload(family, "inconnu"))["extensions"] == {"code": "UNKNOWN_DOCUMENT_TYPE",
                                                                      "field": "typeCode"}
    assert error_of(await upload(gql, "justificatif_domicile"))["extensions"]["code"] == "UNAUTHENTICATED"
    assert await Document.all().count() == 0
    assert await StoredFile.all().count() == 0
    assert stored_files(settings) == files_before


async def test_unconfirmed_email_cannot_send(gql):
    user, _, _ = await make_family("pasconfirme@example.org", confirmed=False)
    result = await upload(await gql.as_user(user), "justificatif_domicile")
    assert error_of(result)["extensions"]["code"] == "EMAIL_NOT_CONFIRMED"
    assert await Document.all().count() == 0


# ---- what is missing -----------------------------------------------------------------------------
async def test_missing_documents_interface_and_requirements_query(gql):
    user, household, (kid1, kid2) = await make_family("manque@example.org")
    family = await gql.as_user(user)
    missing = await missing_documents(household.id, "creche")
    assert {(m.type_code, m.child_id, m.status) for m in missing} == {
        ("justificatif_domicile", None, "missing"), ("carnet_sante", kid1.id, "missing"),
        ("carnet_sante", kid2.id, "missing")}
    assert all(isinstance(m, MissingDocument) for m in missing)

    doc = (await upload(family, "carnet_sante", child=kid1.id))["data"]["uploadDocument"]
    assert {(m.child_id, m.status) for m in await missing_documents(household.id, "creche", kid1.id)} == \
        {(None, "missing"), (kid1.id, "pending")}
    await uses_service(household, "creche_au_fil_de_l_eau")
    staff = await gql.as_user(await make_staff(services=["creche_au_fil_de_l_eau"]))
    await staff.ok(REVIEW, id=doc["id"], decision="ACCEPT")
    assert [m.type_code for m in await missing_documents(household.id, "creche", kid1.id)] == \
        ["justificatif_domicile"]

    rows = (await family.ok(REQUIREMENTS))["documentRequirements"]
    assert {r["service"] for r in rows} == {"creche", "alsh_paj"}
    creche = next(r for r in rows if r["service"] == "creche")
    assert "Crèche - Petit à Petit" in creche["establishments"]
    assert {(m["typeCode"], m["childId"]) for m in creche["missing"]} == {
        ("justificatif_domicile", None), ("carnet_sante", str(kid2.id))}
    only = (await family.ok(REQUIREMENTS, service="alsh_paj"))["documentRequirements"]
    assert [r["service"] for r in only] == ["alsh_paj"]


# ---- staff review -------------------------------------------------------------------------------
async def test_review_accept_refuse_with_mail(gql, mailbox):
    user, household, (kid1, _) = await make_family("revue@example.org")
    family = await gql.as_user(user)
    d1 = (await upload(family, "justificatif_domicile"))["data"]["uploadDocument"]
    d2 = (await upload(family, "carnet_sante", child=kid1.id))["data"]["uploadDocument"]
    d3 = (await upload(family, "attestation_assurance"))["data"]["uploadDocument"]
    await uses_service(household, "alsh", "creche_au_fil_de_l_eau")
    staff = await gql.as_user(await make_staff(services=["alsh", "creche_au_fil_de_l_eau"]))

    pending = (await staff.ok(PENDING))["pendingDocuments"]["items"]
    assert [p["id"] for p in pending] == [d1["id"], d2["id"], d3["id"]]
    assert [p["typeCode"] for p in (await staff.ok(PENDING, service="alsh_paj"))["pendingDocuments"]["items"]] == \
        ["carnet_sante", "attestation_assurance"]
    # a configured crèche is covered by the "creche" requirement
    assert [p["typeCode"] for p in (await staff.ok(PENDING, service="creche_au_fil_de_l_eau"))["pendingDocuments"]["items"]] \
        == ["justificatif_domicile", "carnet_sante"]
    assert await family.code(PENDING) == "FORBIDDEN"
    assert await gql.code(PENDING) == "UNAUTHENTICATED"

    # refusal without a reason: nothing changes
    assert (await staff.error(REVIEW, id=d1["id"], decision="REFUSE"))["extensions"] == {
        "code": "REASON_REQUIRED", "field": "reason"}
    assert (await Document.get(id=int(d1["id"]))).status == DocumentStatus.PENDING
    assert await family.code(REVIEW, id=d1["id"], decision="ACCEPT") == "FORBIDDEN"
    assert await staff.code(REVIEW, id="999999", decision="ACCEPT") == "NOT_FOUND"

    refused = (await staff.ok(REVIEW, id=d1["id"], decision="REFUSE", reason="Document illisible"))["reviewDocument"]
    assert refused == {"id": d1["id"], "status": "REFUSED", "refusalReason": "Document illisible"}
    await staff.ok(REVIEW, id=d2["id"], decision="ACCEPT")
    await send_pending(ignore_schedule=True)
    messages = mailbox.to("revue@example.org")
    assert len(messages) == 1  # acceptance sends no mail
    assert "Justificatif de domicile" in messages[0]["Subject"]
    assert "Motif du refus : Document illisible" in mailbox.text(messages[0])

    mine = {d["id"]: d for d in (await family.ok(MY_DOCS))["myDocuments"]["items"]}
    assert mine[d1["id"]]["status"] == "REFUSED" and mine[d1["id"]]["refusalReason"] == "Document illisible"
    assert mine[d2["id"]]["status"] == "ACCEPTED"
    assert [d["id"] for d in (await staff.ok(HOUSEHOLD_DOCS, id=str(household.id)))["householdDocuments"]["items"]] == \
        [d3["id"], d2["id"], d1["id"]]
    assert await family.code(HOUSEHOLD_DOCS, id=str(household.id)) == "FORBIDDEN"


async def test_document_lists_do_not_grow_queries_with_rows(gql):
    user, household, kids = await make_family("nombre@example.org", children=2)
    family = await gql.as_user(user)
    await uses_service(household, "alsh")
    staff = await gql.as_user(await make_staff(services=["alsh"]))

    async def counts() -> tuple[int, int]:
        with count_queries() as mine:
            await family.ok(MY_DOCS)
        with count_queries() as pending:
            await staff.ok(PENDING)
        return mine.count, pending.count

    await upload(family, "carnet_sante", child=kids[0].id)
    small = await counts()
    for kid in kids * 3:
        await upload(family, "carnet_sante", child=kid.id)
    other, other_household, other_kids = await make_family("autre.nombre@example.org", children=2, name="AUTRE")
    await uses_service(other_household, "alsh")
    for kid in other_kids:
        await upload(await gql.as_user(other), "carnet_sante", child=kid.id)
    assert await counts() == small
    assert len((await staff.ok(PENDING))["pendingDocuments"]["items"]) == 9
