"""SEPA direct debit through HTTP: the family's journey, staff decisions, batches, rejects, mails,
permissions and errors."""

from __future__ import annotations

import asyncio
from datetime import timedelta

import pytest
from lxml import etree

from core.billing.models import Invoice, Payment
from core.formatting import date_fr, euros
from core.households.models import Household
from core.mail.models import OutboxMail
from core.mail.service import send_pending
from core.timeutil import now, today
from plugins.prelevement import pain008, rules
from plugins.prelevement.models import (
    MandateStatus,
    SepaBatch,
    SepaDebit,
    SepaMandate,
    SepaMandateVersion,
)
from tests.conftest import make_family, make_staff, uses_service
from tests.prelevement.conftest import IBAN_CA, IBAN_LBP, PDF, make_invoice, make_mandate
from tests.querycount import count_queries

MANDATE_FIELDS = """id rum status statusLabel regieCode regieName accountHolder maskedIban bic bankName startMonth
  version refusalReason hasSignedMandate hasRib mandatePdfUrl rejectCount
  versions { version maskedIban bic reason }"""
REQUEST = f"""mutation($input: PrelevementMandateRequestInput!) {{ requestPrelevementMandate(input: $input) {{ {MANDATE_FIELDS} }} }}"""
MINE = f"{{ prelevementMandates {{ {MANDATE_FIELDS} }} }}"
CANCEL = "mutation($id: ID!) { cancelPrelevementMandate(mandateId: $id) { id status } }"
STOP = "mutation($id: ID!) { stopPrelevementMandate(mandateId: $id, reason: \"déménagement\") { id status } }"
CHANGE = f"""mutation($id: ID!, $input: PrelevementAccountChangeInput!) {{ changePrelevementMandateAccount(mandateId: $id, input: $input) {{ {MANDATE_FIELDS} }} }}"""
UPLOAD = """mutation($id: ID!, $kind: PrelevementDocumentKind!, $file: Upload!) { uploadPrelevementDocument(mandateId: $id, kind: $kind, file: $file) {
  documentId mandate { hasSignedMandate hasRib } } }"""
VALIDATE = "mutation($id: ID!) { validatePrelevementMandate(mandateId: $id) { id status } }"
REFUSE = "mutation($id: ID!, $reason: String!) { refusePrelevementMandate(mandateId: $id, reason: $reason) { id status refusalReason } }"
REGIE_MANDATES = """query($regie: String!, $status: PrelevementMandateStatus) {
  prelevementRegieMandates(regieCode: $regie, status: $status) {
  total hasMore items { id status householdName maskedIban versions { version } } } }"""
BUILD = """mutation($regie: String!, $due: Date!) { buildPrelevementBatch(regieCode: $regie, dueDate: $due) {
  id count totalCents sepaFormat status downloadUrl debits { items { id invoiceId amountCents sequenceType amended status } } } }"""
SENT = "mutation($id: ID!) { markPrelevementBatchSent(batchId: $id) { id status } }"
REJECT = "mutation($id: ID!, $code: PrelevementRejectReason!) { recordPrelevementReject(debitId: $id, reason: $code) { id status rejectReason rejectReasonLabel } }"


def form(**overrides):
    data = {"regieCodes": ["cdc", "st_caprais"], "accountHolder": "DUPONT Camille",
            "iban": "fr76 3000 6000 0112 3456 7890 189", "bic": "agri frpp", "bankName": "",
            "startMonth": (today().replace(day=1) + timedelta(days=32)).strftime("%Y-%m"), "information": ""}
    return {**data, **overrides}


async def mails(mailbox, address: str) -> list[str]:
    await send_pending(ignore_schedule=True)
    return [m["Subject"] for m in mailbox.to(address)]


def due() -> str:
    return rules.earliest_due_date(today()).isoformat()


async def test_family_joins_downloads_sends_documents_and_staff_validates_or_refuses(gql, mailbox):
    user, household, _ = await make_family("fam@example.org")
    fam = await gql.as_user(user)
    created = (await fam.ok(REQUEST, input=form()))["requestPrelevementMandate"]
    assert [m["regieCode"] for m in created] == ["cdc", "st_caprais"]
    cdc, stc = created
    assert cdc["status"] == "PENDING" and cdc["statusLabel"] == "Demande en cours"
    assert cdc["maskedIban"] == "FR76 **** **** **** **** ***0 189"
    assert cdc["bic"] == "AGRIFRPP" and cdc["bankName"] == "CREDIT AGRICOLE SA"  # derived from the IBAN
    assert cdc["rum"] != stc["rum"] and len(cdc["rum"]) <= 35
    assert "Demande de prélèvement" not in str(await mails(mailbox, "fam@example.org"))
    assert len(await mails(mailbox, "fam@example.org")) == 2
    # The mandate PDF: owner yes, another family no.
    pdf = await fam.download(cdc["mandatePdfUrl"])
    assert pdf.status_code == 200 and pdf.content.startswith(b"%PDF")
    import io

    from pypdf import PdfReader

    text = " ".join(p.extract_text() for p in PdfReader(io.BytesIO(pdf.content)).pages)
    for expected in (cdc["rum"], "FR72ZZZ123456", "REGIE CC PORTES ENTRE DEUX MERS", "DUPONT Camille",
                     "8 semaines", "vous autorisez"):
        assert expected in text, expected
    from core.permissions import Actor
    from core.plugins import get_host

    alerts = await get_host().alerts(Actor.for_user(user), household.id)
    assert "sepa_mandate_to_sign" in [a.code for a in alerts]
    other, _, _ = await make_family("autre@example.org", name="MARTIN")
    assert (await (await gql.as_user(other)).download(cdc["mandatePdfUrl"])).status_code == 404
    # Send back the signed mandate and the RIB.
    res = await fam.upload(UPLOAD, {"id": stc["id"], "kind": "SIGNED_MANDATE"}, {"file": ("mandat.pdf", PDF, "application/pdf")})
    assert not res.get("errors"), res
    res = await fam.upload(UPLOAD, {"id": stc["id"], "kind": "RIB"}, {"file": ("rib.pdf", PDF, "application/pdf")})
    assert res["data"]["uploadPrelevementDocument"]["mandate"] == {"hasSignedMandate": True, "hasRib": True}
    bad = await fam.upload(UPLOAD, {"id": stc["id"], "kind": "RIB"}, {"file": ("rib.exe", b"MZ\x90\x00" * 10, "application/pdf")})
    assert bad["errors"][0]["extensions"]["code"] == "INVALID_FILE_TYPE"
    # Agent of St Caprais' crèche validates the St Caprais mandate but cannot see the CdC one.
    await uses_service(household, "creche_petit_a_petit")
    agent = await gql.as_user(await make_staff("stc@example.org", services=["creche_petit_a_petit"]))
    assert (await agent.download(stc["mandatePdfUrl"])).status_code == 200
    assert (await agent.download(cdc["mandatePdfUrl"])).status_code == 404
    seen = (await agent.ok("query($h: ID) { prelevementMandates(householdId: $h) { regieCode } }", h=str(household.id)))
    assert seen["prelevementMandates"] == [{"regieCode": "st_caprais"}]
    assert (await agent.ok(VALIDATE, id=stc["id"]))["validatePrelevementMandate"]["status"] == "ACTIVE"
    assert await agent.code(VALIDATE, id=cdc["id"]) == "NOT_FOUND"
    assert await agent.code(REGIE_MANDATES, regie="cdc") == "FORBIDDEN"
    listed = (await agent.ok(REGIE_MANDATES, regie="st_caprais"))["prelevementRegieMandates"]["items"]
    assert [(m["status"], m["householdName"]) for m in listed] == [("ACTIVE", "DUPONT")]
    # Admin refuses the CdC request; a reason is required.
    admin = await gql.as_user(await make_staff("admin@example.org", role="admin"))
    err = await admin.error(REFUSE, id=cdc["id"], reason=" ")
    assert err["extensions"] == {"code": "REQUIRED", "field": "reason"}
    refused = (await admin.ok(REFUSE, id=cdc["id"], reason="RIB illisible"))["refusePrelevementMandate"]
    assert refused == {"id": cdc["id"], "status": "REFUSED", "refusalReason": "RIB illisible"}
    subjects = await mails(mailbox, "fam@example.org")
    assert any("est actif" in s for s in subjects) and any("refusée" in s for s in subjects)
    refused_text = [mailbox.text(m) for m in mailbox.to("fam@example.org") if "refusée" in m["Subject"]][0]
    assert "RIB illisible" in refused_text and IBAN_CA not in refused_text
    # Alerts: refused request.
    alerts = await get_host().alerts(Actor.for_user(user), household.id)
    assert "sepa_mandate_refused" in [a.code for a in alerts]
    mine = (await fam.ok(MINE))["prelevementMandates"]
    assert {m["status"] for m in mine} == {"ACTIVE", "REFUSED"}


async def test_request_errors_name_the_field(gql):
    user, _, _ = await make_family("fam@example.org")
    fam = await gql.as_user(user)
    err = await fam.error(REQUEST, input=form(iban="FR76 3000 6000 0112 3456 7890 188"))
    assert err["extensions"] == {"code": "INVALID_IBAN", "field": "iban"}
    assert "0188" not in err["message"] and "188" not in err["message"]
    err = await fam.error(REQUEST, input=form(bic="COBADEFFXXX"))
    assert err["extensions"] == {"code": "INVALID_BIC", "field": "bic"}
    err = await fam.error(REQUEST, input=form(regieCodes=[]))
    assert err["extensions"]["field"] == "regieCodes"
    err = await fam.error(REQUEST, input=form(regieCodes=["inconnue"]))
    assert err["extensions"] == {"code": "UNKNOWN_REGIE", "field": "regieCodes"}
    err = await fam.error(REQUEST, input=form(accountHolder=""))
    assert err["extensions"] == {"code": "REQUIRED", "field": "accountHolder"}
    err = await fam.error(REQUEST, input=form(startMonth="2020-01"))
    assert err["extensions"] == {"code": "INVALID_START_MONTH", "field": "startMonth"}
    assert await SepaMandate.all().count() == 0
    await fam.ok(REQUEST, input=form(regieCodes=["cdc"]))
    err = await fam.error(REQUEST, input=form())
    assert err["extensions"]["code"] == "MANDATE_EXISTS" and err["extensions"]["field"] == "regieCodes"
    assert await SepaMandate.all().count() == 1


async def test_unconfirmed_email_cannot_request(gql):
    user, _, _ = await make_family("new@example.org", confirmed=False)
    assert await (await gql.as_user(user)).code(REQUEST, input=form()) == "EMAIL_NOT_CONFIRMED"
    assert await gql.code(REQUEST, input=form()) == "UNAUTHENTICATED"
    assert await SepaMandate.all().count() == 0


async def test_another_familys_mandate_looks_missing_and_is_unchanged(gql):
    owner_user, household, _ = await make_family("owner@example.org")
    mandate = await make_mandate(household, status=MandateStatus.PENDING)
    intruder, _, _ = await make_family("intrus@example.org", name="MARTIN")
    other = await gql.as_user(intruder)
    assert await other.code(CANCEL, id=str(mandate.id)) == "NOT_FOUND"
    assert await other.code(STOP, id=str(mandate.id)) == "NOT_FOUND"
    assert await other.code(CHANGE, id=str(mandate.id), input={"accountHolder": "X", "iban": IBAN_LBP, "bic": ""}) == "NOT_FOUND"
    assert await other.code(CANCEL, id="999999") == "NOT_FOUND"
    res = await other.upload(UPLOAD, {"id": str(mandate.id), "kind": "RIB"}, {"file": ("rib.pdf", PDF, "application/pdf")})
    assert res["errors"][0]["extensions"]["code"] == "NOT_FOUND"
    assert (await other.ok(MINE))["prelevementMandates"] == []
    # A family cannot validate its own request either.
    assert await (await gql.as_user(owner_user)).code(VALIDATE, id=str(mandate.id)) == "NOT_FOUND"
    await mandate.refresh_from_db()
    assert mandate.status == MandateStatus.PENDING and mandate.iban == IBAN_CA


async def test_cancel_stop_and_change_of_account_keeps_history(gql, mailbox):
    user, household, _ = await make_family("fam@example.org")
    fam = await gql.as_user(user)
    pending = await make_mandate(household, "cdc", status=MandateStatus.PENDING)
    active = await make_mandate(household, "st_caprais", last_collection_on=today() - timedelta(days=30))
    assert await fam.code(VALIDATE, id=str(pending.id)) == "NOT_FOUND"
    assert (await fam.ok(CANCEL, id=str(pending.id)))["cancelPrelevementMandate"]["status"] == "CANCELLED"
    assert await fam.code(CANCEL, id=str(pending.id)) == "NOT_PENDING"
    # Change of bank: version 2, old version kept, amendment SMNDA waiting for the next collection.
    changed = (await fam.ok(CHANGE, id=str(active.id), input={"accountHolder": "DUPONT Camille", "iban": IBAN_LBP,
                                                                "bic": "PSSTFRPPXXX"}))["changePrelevementMandateAccount"]
    assert changed["version"] == 2 and changed["rum"] == active.rum
    assert changed["maskedIban"] == "FR14 **** **** **** **** ***2 606"
    assert [(v["version"], v["maskedIban"][-5:]) for v in changed["versions"]] == [(1, "0 189"), (2, "2 606")]
    await active.refresh_from_db()
    assert active.amendment_new_agent is True
    assert await SepaMandateVersion.filter(mandate=active).count() == 2
    err = await fam.error(CHANGE, id=str(active.id), input={"accountHolder": "X", "iban": "FR00", "bic": ""})
    assert err["extensions"]["field"] == "iban"
    assert (await fam.ok(STOP, id=str(active.id)))["stopPrelevementMandate"]["status"] == "STOPPED"
    assert await fam.code(STOP, id=str(active.id)) == "NOT_ACTIVE"
    subjects = await mails(mailbox, "fam@example.org")
    assert any("annulée" in s for s in subjects) and any("Changement de compte" in s for s in subjects)
    assert any("arrêté" in s for s in subjects)


def _xml_ok(content: bytes, fmt: str) -> etree._Element:
    pain008.validate(content, fmt)
    return etree.fromstring(content)


async def test_batch_frst_then_rcur_payments_and_xml_valid(gql, mailbox):
    user, household, _ = await make_family("fam@example.org")
    mandate = await make_mandate(household, "st_caprais")
    inv1 = await make_invoice(household, "st_caprais", 4250)
    inv2 = await make_invoice(household, "st_caprais", 1000, paid_cents=300)
    await make_invoice(household, "cdc", 999)  # other régie: not in this batch
    await make_invoice(household, "st_caprais", 500, paid_cents=500)  # paid
    agent = await gql.as_user(await make_staff("stc@example.org", services=["creche_petit_a_petit"]))
    other_agent = await gql.as_user(await make_staff("alsh@example.org", services=["alsh"]))
    assert await other_agent.code(BUILD, regie="st_caprais", due=due()) == "FORBIDDEN"
    assert await (await gql.as_user(user)).code(BUILD, regie="st_caprais", due=due()) == "FORBIDDEN"
    err = await agent.error(BUILD, regie="st_caprais", due=(today() - timedelta(days=1)).isoformat())
    assert err["extensions"] == {"code": "INVALID_DUE_DATE", "field": "dueDate"}

    batch = (await agent.ok(BUILD, regie="st_caprais", due=due()))["buildPrelevementBatch"]
    assert batch["count"] == 2 and batch["totalCents"] == 4250 + 700
    assert batch["sepaFormat"] == "PAIN_008_001_02"  # the régie's option
    assert {d["sequenceType"] for d in batch["debits"]["items"]} == {"FRST"}
    response = await agent.download(batch["downloadUrl"])
    assert response.status_code == 200
    doc = _xml_ok(response.content, "pain.008.001.02")
    ns = {"p": "urn:iso:std:iso:20022:tech:xsd:pain.008.001.02"}
    assert doc.findtext("p:CstmrDrctDbtInitn/p:GrpHdr/p:CtrlSum", namespaces=ns) == "49.50"
    assert (await other_agent.download(batch["downloadUrl"])).status_code == 404
    assert (await (await gql.as_user(user)).download(batch["downloadUrl"])).status_code == 404
    # Pre-notification with amount and date.
    await send_pending(ignore_schedule=True)
    notice = [m for m in mailbox.to("fam@example.org") if m["Subject"].startswith("Avis de prélèvement")]
    assert len(notice) == 1 and "49,50" in notice[0]["Subject"]
    assert inv1.number in mailbox.text(notice[0])
    # Same invoices are not taken twice while the batch stands.
    assert await agent.code(BUILD, regie="st_caprais", due=due()) == "EMPTY_BATCH"
    # Sent: invoices paid by "sepa" at the due date.
    assert (await agent.ok(SENT, id=batch["id"]))["markPrelevementBatchSent"]["status"] == "SENT"
    assert await agent.code(SENT, id=batch["id"]) == "ALREADY_SENT"
    await inv1.refresh_from_db()
    await inv2.refresh_from_db()
    assert inv1.balance_cents == 0 and inv2.balance_cents == 0
    payment = await Payment.get(invoice_id=inv1.id)
    assert payment.method == "sepa" and payment.paid_on.isoformat() == due()
    # Next invoice: RCUR.
    await make_invoice(household, "st_caprais", 1500)
    second = (await agent.ok(BUILD, regie="st_caprais", due=due()))["buildPrelevementBatch"]
    assert [d["sequenceType"] for d in second["debits"]["items"]] == ["RCUR"]
    await mandate.refresh_from_db()
    assert mandate.last_collection_on is not None


async def test_default_format_08_and_amendment_smnda(gql):
    user, household, _ = await make_family("fam@example.org")
    mandate = await make_mandate(household, "cdc", last_collection_on=today() - timedelta(days=40))
    fam = await gql.as_user(user)
    await fam.ok(CHANGE, id=str(mandate.id), input={"accountHolder": "DUPONT C", "iban": IBAN_LBP, "bic": "PSSTFRPP"})
    await make_invoice(household, "cdc", 2000)
    admin = await gql.as_user(await make_staff("admin@example.org", role="admin"))
    batch = (await admin.ok(BUILD, regie="cdc", due=due()))["buildPrelevementBatch"]
    assert batch["sepaFormat"] == "PAIN_008_001_08"
    assert [(d["sequenceType"], d["amended"]) for d in batch["debits"]["items"]] == [("RCUR", True)]
    xml = (await admin.download(batch["downloadUrl"])).content
    _xml_ok(xml, "pain.008.001.08")
    assert b"<Id>SMNDA</Id>" in xml and IBAN_LBP.encode() in xml and b"<BICFI>PSSTFRPP</BICFI>" in xml
    await mandate.refresh_from_db()
    assert not mandate.amendment_new_agent  # sent once only


async def test_empty_batch_is_an_error_not_a_file(gql):
    admin = await gql.as_user(await make_staff("admin@example.org", role="admin"))
    err = await admin.error(BUILD, regie="cdc", due=due())
    assert err["extensions"]["code"] == "EMPTY_BATCH"
    _, household, _ = await make_family("fam@example.org")
    await make_invoice(household, "cdc", 2000)  # no mandate
    await make_mandate(household, "cdc", status=MandateStatus.PENDING)  # not active yet
    assert await admin.code(BUILD, regie="cdc", due=due()) == "EMPTY_BATCH"
    assert await SepaBatch.all().count() == 0
    assert await admin.code(BUILD, regie="nope", due=due()) == "UNKNOWN_REGIE"


async def test_unused_mandate_lapses(gql, mailbox):
    _, household, _ = await make_family("fam@example.org")
    old = today().replace(day=1) - timedelta(days=365 * 3 + 40)
    mandate = await make_mandate(household, "cdc", last_collection_on=old, signed_on=old)
    await make_invoice(household, "cdc", 2000)
    admin = await gql.as_user(await make_staff("admin@example.org", role="admin"))
    assert await admin.code(BUILD, regie="cdc", due=due()) == "EMPTY_BATCH"
    await mandate.refresh_from_db()
    assert mandate.status == MandateStatus.LAPSED
    assert any("caduc" in s for s in await mails(mailbox, "fam@example.org"))


async def test_mandate_activated_36_months_ago_never_signed_nor_collected_lapses(gql):
    """Without a collection nor a signature date, the activation date counts."""
    _, household, _ = await make_family("fam@example.org")
    _, other, _ = await make_family("autre@example.org", name="AUTRE")
    old, recent = await make_mandate(household, "cdc"), await make_mandate(other, "cdc")
    await SepaMandate.filter(id=old.id).update(signed_on=None, decided_at=now() - timedelta(days=365 * 3 + 40))
    await SepaMandate.filter(id=recent.id).update(signed_on=None, decided_at=now() - timedelta(days=30))
    await make_invoice(household, "cdc", 2000)
    await make_invoice(other, "cdc", 1500)
    admin = await gql.as_user(await make_staff("admin@example.org", role="admin"))
    assert (await admin.ok(BUILD, regie="cdc", due=due()))["buildPrelevementBatch"]["totalCents"] == 1500
    assert await SepaMandate.filter(id=old.id).values_list("status", flat=True) == [MandateStatus.LAPSED]
    assert await SepaMandate.filter(id=recent.id).values_list("status", flat=True) == [MandateStatus.ACTIVE]


async def test_prenotification_lists_each_households_own_invoices_in_text_and_html(gql):
    """One mail per household with its own lines, its total and the due date; the HTML part is the
    same text laid out (paragraphs shared by every mail of the batch are memoised, not mixed up)."""
    invoices = {}
    for name, amounts in (("UN", (4250, 1000)), ("DEUX", (999,))):
        _, household, _ = await make_family(f"{name.lower()}@example.org", name=name)
        await make_mandate(household, "cdc")
        invoices[name] = [await make_invoice(household, "cdc", cents) for cents in amounts]
    admin = await gql.as_user(await make_staff("admin@example.org", role="admin"))
    await admin.ok(BUILD, regie="cdc", due=due())
    sent = {m.to: m for m in await OutboxMail.filter(template="prelevement/mail/prenotification")}
    assert set(sent) == {"un@example.org", "deux@example.org"}
    for name, own in invoices.items():
        mail = sent[f"{name.lower()}@example.org"]
        total = sum(i.total_cents for i in own)
        assert mail.subject == f"Avis de prélèvement : {euros(total)} le {date_fr(rules.earliest_due_date(today()))}"
        detail = "\n".join(f"- Facture {i.number} : {euros(i.total_cents)}" for i in own)
        assert f"Détail :\n{detail}\n\n" in mail.text_body
        assert f"<p>Détail :<br>{'<br>'.join(detail.splitlines())}</p>" in mail.html_body
        assert f"la somme de {euros(total)} le " in mail.html_body
        others = [i.number for n, lst in invoices.items() if n != name for i in lst]
        assert not any(number in mail.text_body or number in mail.html_body for number in others)


async def test_rejects_reopen_balance_and_suspend_after_two(gql, mailbox):
    _, household, _ = await make_family("fam@example.org")
    mandate = await make_mandate(household, "st_caprais", last_collection_on=today() - timedelta(days=30))
    inv1 = await make_invoice(household, "st_caprais", 3000)
    inv2 = await make_invoice(household, "st_caprais", 1200)
    agent = await gql.as_user(await make_staff("stc@example.org", services=["creche_petit_a_petit"]))
    batch = (await agent.ok(BUILD, regie="st_caprais", due=due()))["buildPrelevementBatch"]
    d1, d2 = batch["debits"]["items"]
    assert await agent.code(REJECT, id=d1["id"], code="AM04") == "NOT_SENT"
    await agent.ok(SENT, id=batch["id"])
    # a closed set: an unknown reason code does not pass the schema (PrelevementRejectReason)
    assert await agent.code(REJECT, id=d1["id"], code="ZZ99") == "GRAPHQL_VALIDATION_FAILED"
    other_agent = await gql.as_user(await make_staff("alsh@example.org", services=["alsh"]))
    assert await other_agent.code(REJECT, id=d1["id"], code="AM04") == "NOT_FOUND"

    assert (await agent.ok(REJECT, id=d1["id"], code="AM04"))["recordPrelevementReject"]["status"] == "REJECTED"
    await inv1.refresh_from_db()
    assert inv1.balance_cents == 3000 and inv1.status == "non_soldee"
    await mandate.refresh_from_db()
    assert mandate.status == MandateStatus.ACTIVE and mandate.reject_count == 1
    assert await agent.code(REJECT, id=d1["id"], code="AM04") == "NOT_SENT"
    # The rejected invoice can be collected again in a later batch.
    again = (await agent.ok(BUILD, regie="st_caprais", due=due()))["buildPrelevementBatch"]
    assert [d["invoiceId"] for d in again["debits"]["items"]] == [str(inv1.id)]

    await agent.ok(REJECT, id=d2["id"], code="MD01")
    await inv2.refresh_from_db()
    assert inv2.balance_cents == 1200
    await mandate.refresh_from_db()
    assert mandate.status == MandateStatus.SUSPENDED and mandate.reject_count == 2
    subjects = await mails(mailbox, "fam@example.org")
    assert sum("Prélèvement rejeté" in s for s in subjects) == 2
    assert any("suspendu" in s for s in subjects)
    assert (await Payment.get(id=(await SepaDebit.get(id=int(d1["id"]))).payment_id)).reversed_at is not None


async def test_two_batches_at_once_never_share_an_invoice(gql, settings):
    for i in range(4):
        _, household, _ = await make_family(f"f{i}@example.org", name=f"F{i}")
        await make_mandate(household, "cdc")
        await make_invoice(household, "cdc", 1000 + i)
    admin = await gql.as_user(await make_staff("admin@example.org", role="admin"))
    with count_queries() as log:
        results = await asyncio.gather(admin.execute(BUILD, {"regie": "cdc", "due": due()}),
                                       admin.execute(BUILD, {"regie": "cdc", "due": due()}))
    if settings.database_url.startswith("postgres"):
        assert sum("pg_advisory_xact_lock" in q for q in log.statements) == 2
    ok = [r for r in results if not r.get("errors")]
    assert len(ok) >= 1
    for r in results:
        if r.get("errors"):
            assert r["errors"][0]["extensions"]["code"] in ("EMPTY_BATCH", "BATCH_IN_PROGRESS")
    invoice_ids = await SepaDebit.all().values_list("invoice_id", flat=True)
    assert len(invoice_ids) == len(set(invoice_ids)) == 4


async def test_regie_mandates_query_count_does_not_grow(gql):
    admin = await gql.as_user(await make_staff("admin@example.org", role="admin"))

    async def run() -> int:
        with count_queries() as log:
            await admin.ok(REGIE_MANDATES, regie="cdc")
        return log.count

    _, h, _ = await make_family("a@example.org", name="A")
    await make_mandate(h, "cdc")
    few = await run()
    for i in range(6):
        _, h, _ = await make_family(f"b{i}@example.org", name=f"B{i}")
        await make_mandate(h, "cdc")
    assert await run() == few


async def test_rgpd_erase_keeps_signed_mandate_intact_and_drops_unused_request(gql):
    """SEPA Core Rulebook (EPC016-06) §4.1: a signed mandate is stored intact after its end, as long
    as a refund for an unauthorised debit may be claimed (§4.6.4); a request never validated goes."""
    _, household, _ = await make_family("fam@example.org")
    await make_mandate(household, "cdc")
    unused = await make_mandate(household, "st_caprais", status=MandateStatus.PENDING, iban=IBAN_LBP)
    await SepaMandate.filter(id=unused.id).update(signed_on=None)
    from core.plugins import get_host

    exported = await get_host().rgpd_export(household.id)
    assert exported["prelevement"]["mandats"][0]["iban"] == IBAN_CA
    assert {row["iban"] for row in exported["prelevement"]["tables"]["SepaMandate"]} == {IBAN_CA, IBAN_LBP}
    await get_host().rgpd_erase(household.id)
    mandate = await SepaMandate.get(household_id=household.id)
    assert mandate.iban == IBAN_CA and mandate.regie_code == "cdc"  # kept intact for the refund period
    assert mandate.status == MandateStatus.STOPPED and mandate.ended_at is not None
    assert (await SepaMandateVersion.get(mandate=mandate)).iban == IBAN_CA
    assert not await SepaMandate.exists(id=unused.id)


async def test_demo_data(settings):
    from core.households.models import Household
    from core.plugins import get_host

    await get_host().demo_data(today())
    testbo = await Household.get(name="TESTBO")
    rows = {m.regie_code: m.status for m in await SepaMandate.filter(household=testbo)}
    assert rows == {"cdc": "pending", "st_caprais": "active"}


async def test_invoice_untouched_by_other_regie_batches(gql):
    _, household, _ = await make_family("fam@example.org")
    await make_mandate(household, "st_caprais")
    cdc_invoice = await make_invoice(household, "cdc", 999)
    await make_invoice(household, "st_caprais", 100)
    admin = await gql.as_user(await make_staff("admin@example.org", role="admin"))
    await admin.ok(BUILD, regie="st_caprais", due=due())
    assert not await SepaDebit.filter(invoice_id=cdc_invoice.id).exists()
    assert (await Invoice.get(id=cdc_invoice.id)).balance_cents == 999


# ---- SEPA rulebook 2025: due dates, structured addresses, FNAL, ICS ------------------------------
UPDATE_ADDRESS = """mutation($input: HouseholdInput!) { updateHousehold(input: $input) {
  addressLine1 streetNumber streetName postalCode city country } }"""
IBAN_CH = "CH9300762011623852957"


def _pstl(xml: bytes, party: str) -> list[list[tuple[str, str]]]:
    doc = etree.fromstring(xml)
    return [[(el.tag.split("}")[1], el.text) for el in adr] for adr in doc.iter()
            if adr.tag.endswith("}PstlAdr") and adr.getparent().tag.endswith("}" + party)]


async def test_due_date_must_leave_the_prenotification_and_a_target_day(gql):
    _, household, _ = await make_family("fam@example.org")
    await make_mandate(household, "cdc", last_collection_on=today() - timedelta(days=30))
    await make_invoice(household, "cdc", 2000)
    admin = await gql.as_user(await make_staff("admin@example.org", role="admin"))
    earliest = rules.earliest_due_date(today())
    soon = next(d for d in (earliest - timedelta(days=n) for n in range(1, 10)) if rules.is_target_day(d))
    err = await admin.error(BUILD, regie="cdc", due=soon.isoformat())
    assert err["extensions"] == {"code": "PRENOTIFICATION_TOO_LATE", "field": "dueDate"}
    assert "14 jours" in err["message"]
    weekend = next(d for d in (earliest + timedelta(days=n) for n in range(7)) if d.weekday() == 5)
    assert await admin.code(BUILD, regie="cdc", due=weekend.isoformat()) == "NOT_A_TARGET_DAY"
    assert await SepaBatch.all().count() == 0
    assert (await admin.ok(BUILD, regie="cdc", due=earliest.isoformat()))["buildPrelevementBatch"]["count"] == 1


async def test_remittance_carries_structured_addresses_of_creditor_and_debtor(gql):
    user, household, _ = await make_family("fam@example.org")
    fam = await gql.as_user(user)
    saved = (await fam.ok(UPDATE_ADDRESS, input={"addressLine1": "12 bis, chemin de Lartigue", "postalCode": "33360",
                                                "city": "CÉNAC"}))["updateHousehold"]
    assert saved == {"addressLine1": "12 bis, chemin de Lartigue", "streetNumber": "12 bis",
                     "streetName": "chemin de Lartigue", "postalCode": "33360", "city": "CÉNAC", "country": "FR"}
    await make_mandate(household, "st_caprais", last_collection_on=today() - timedelta(days=30))
    await make_invoice(household, "st_caprais", 2000)
    admin = await gql.as_user(await make_staff("admin@example.org", role="admin"))
    batch = (await admin.ok(BUILD, regie="st_caprais", due=due()))["buildPrelevementBatch"]
    xml = (await admin.download(batch["downloadUrl"])).content
    _xml_ok(xml, "pain.008.001.02")
    assert _pstl(xml, "Dbtr") == [[("StrtNm", "chemin de Lartigue"), ("BldgNb", "12 bis"), ("PstCd", "33360"),
                                   ("TwnNm", "CENAC"), ("Ctry", "FR")]]
    assert _pstl(xml, "Cdtr") == [[("StrtNm", "place de l'Eglise"), ("BldgNb", "3"), ("PstCd", "33880"),
                                   ("TwnNm", "SAINT-CAPRAIS-DE-BORDEAUX"), ("Ctry", "FR")]]


async def test_debtor_bank_outside_the_eea_needs_the_household_address(gql):
    user, household, _ = await make_family("fam@example.org")
    await Household.filter(id=household.id).update(address_line1="", postal_code="", city="")
    mandate = await make_mandate(household, "cdc", iban=IBAN_CH, bic="UBSWCHZH80A",
                                 last_collection_on=today() - timedelta(days=30))
    await make_invoice(household, "cdc", 2000)
    admin = await gql.as_user(await make_staff("admin@example.org", role="admin"))
    err = await admin.error(BUILD, regie="cdc", due=due())
    assert err["extensions"]["code"] == "DEBTOR_ADDRESS_MISSING" and mandate.rum in err["message"]
    assert IBAN_CH not in err["message"]
    fam = await gql.as_user(user)
    assert await fam.code(UPDATE_ADDRESS, input={"country": "XX"}) == "INVALID_COUNTRY"
    await fam.ok(UPDATE_ADDRESS, input={"streetNumber": "14", "streetName": "Rue du Rhône", "postalCode": "1204",
                                        "city": "Genève", "country": "ch"})
    batch = (await admin.ok(BUILD, regie="cdc", due=due()))["buildPrelevementBatch"]
    xml = (await admin.download(batch["downloadUrl"])).content
    _xml_ok(xml, "pain.008.001.08")
    assert _pstl(xml, "Dbtr") == [[("StrtNm", "Rue du Rhone"), ("BldgNb", "14"), ("PstCd", "1204"),
                                   ("TwnNm", "Geneve"), ("Ctry", "CH")]]


async def test_stopping_a_mandate_with_a_built_debit_makes_it_the_final_collection(gql, mailbox):
    user, household, _ = await make_family("fam@example.org")
    mandate = await make_mandate(household, "st_caprais", last_collection_on=today() - timedelta(days=30))
    invoice = await make_invoice(household, "st_caprais", 3000)
    agent = await gql.as_user(await make_staff("stc@example.org", services=["creche_petit_a_petit"]))
    batch = (await agent.ok(BUILD, regie="st_caprais", due=due()))["buildPrelevementBatch"]
    assert [d["sequenceType"] for d in batch["debits"]["items"]] == ["RCUR"]
    mailbox.clear()
    fam = await gql.as_user(user)
    assert (await fam.ok(STOP, id=str(mandate.id)))["stopPrelevementMandate"]["status"] == "STOPPED"
    debit = await SepaDebit.get(batch_id=int(batch["id"]))
    assert debit.sequence_type == "FNAL"
    xml = (await agent.download(batch["downloadUrl"])).content
    _xml_ok(xml, "pain.008.001.02")
    assert b"<SeqTp>FNAL</SeqTp>" in xml and b"<SeqTp>RCUR</SeqTp>" not in xml
    await send_pending(ignore_schedule=True)
    text = mailbox.text(mailbox.to("fam@example.org")[-1])
    assert "sera le dernier" in text and invoice.number in text and "30,00" in text
    # The last collection goes to the bank and pays the invoice; no further batch for this mandate.
    await agent.ok(SENT, id=batch["id"])
    await invoice.refresh_from_db()
    assert invoice.paid_cents == 3000
    await make_invoice(household, "st_caprais", 1000)
    assert await agent.code(BUILD, regie="st_caprais", due=due()) == "EMPTY_BATCH"


async def test_stopping_after_the_file_was_sent_changes_nothing_in_it(gql):
    user, household, _ = await make_family("fam@example.org")
    mandate = await make_mandate(household, "st_caprais", last_collection_on=today() - timedelta(days=30))
    await make_invoice(household, "st_caprais", 3000)
    agent = await gql.as_user(await make_staff("stc@example.org", services=["creche_petit_a_petit"]))
    batch = (await agent.ok(BUILD, regie="st_caprais", due=due()))["buildPrelevementBatch"]
    await agent.ok(SENT, id=batch["id"])
    before = (await SepaBatch.get(id=int(batch["id"]))).xml
    await (await gql.as_user(user)).ok(STOP, id=str(mandate.id))
    assert (await SepaBatch.get(id=int(batch["id"]))).xml == before
    assert (await SepaDebit.get(batch_id=int(batch["id"]))).sequence_type == "RCUR"


@pytest.mark.parametrize("field,value,message", [
    ("ics", "FR45ZZZ123456", "ics"),
    ("creditor_town", "", "creditor_town"),
])
def test_a_regie_with_an_invalid_ics_or_no_creditor_address_is_refused_at_start(settings, field, value, message):
    from dataclasses import replace

    from core.app import bootstrap

    regies = tuple(replace(r, **{field: value}) if r.code == "cdc" else r for r in settings.regies)
    with pytest.raises(ValueError, match=message):
        bootstrap(replace(settings, regies=regies))


async def test_stop_racing_the_bank_file_never_sends_a_stale_sequence(gql, settings):
    """Stop and « marked sent » at once: either the file went first (RCUR kept, mandate stopped after)
    or the stop went first (the sent file says FNAL). Never a FNAL debit in a file sent as RCUR."""
    user, household, _ = await make_family("fam@example.org")
    mandate = await make_mandate(household, "st_caprais", last_collection_on=today() - timedelta(days=30))
    await make_invoice(household, "st_caprais", 3000)
    agent = await gql.as_user(await make_staff("stc@example.org", services=["creche_petit_a_petit"]))
    batch = (await agent.ok(BUILD, regie="st_caprais", due=due()))["buildPrelevementBatch"]
    fam = await gql.as_user(user)
    stop, sent = await asyncio.gather(fam.execute(STOP, {"id": str(mandate.id)}),
                                      agent.execute(SENT, {"id": batch["id"]}))
    assert not stop.get("errors") and not sent.get("errors")
    stored = await SepaBatch.get(id=int(batch["id"]))
    debit = await SepaDebit.get(batch_id=stored.id)
    assert stored.status == "sent"
    assert (b"<SeqTp>FNAL</SeqTp>" in stored.xml.encode()) == (debit.sequence_type == "FNAL")
