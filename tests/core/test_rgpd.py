"""RGPD through HTTP: a family exports its own data only (filed by plugin); an admin erases a household
(mails, sessions, tokens, files included) unless it owes money or holds a live contract or mandate;
what accounting keeps (invoices and their debtor) stays."""

from __future__ import annotations

from datetime import date, timedelta

import pytest

from core.accounts.models import AuthToken, TokenPurpose, User
from core.billing.models import Invoice, InvoiceLine, Payment
from core.demarches.models import Demarche
from core.documents.models import Document
from core.files.service import _path, store_bytes
from core.households.models import AuditLog, Child, Household, Responsable
from core.mail.models import OutboxMail
from core.mail.service import queue_mail
from core.plugins import get_host
from core.timeutil import today
from tests.billing.test_billing import pdf_text
from tests.conftest import make_family, make_staff, session_token

EXPORT = "query($h: ID) { personalDataExport(householdId: $h) }"
ERASE = "mutation($h: ID!) { eraseHousehold(householdId: $h) { ok } }"
RESET = "mutation($e: String!) { requestPasswordReset(email: $e) { ok } }"
PDF = b"%PDF-1.4\n1 0 obj<<>>endobj\ntrailer<<>>\n%%EOF"


def _needs(*plugins: str) -> None:
    missing = [p for p in plugins if p not in get_host().enabled]
    if missing:
        pytest.skip(f"plugin(s) off: {', '.join(missing)}")


async def _invoice(household: Household, *, total: int = 4250, paid: int = 0, number: str = "F-1",
                   issued_on: date | None = None) -> Invoice:
    issued_on = issued_on or today()
    invoice = await Invoice.create(number=number, regie_code="st_caprais", household=household, issued_on=issued_on,
                                   period_start=issued_on.replace(day=1), period_end=issued_on, total_cents=total,
                                   paid_cents=paid, status="soldee" if paid >= total else "non_soldee")
    child = await Child.filter(household=household).first()
    await InvoiceLine.create(invoice=invoice, regie_code="st_caprais", child=child,
                             child_name=f"{child.first_name} {child.last_name}" if child else "",
                             designation="Journée ALSH", quantity=1, unit_price_cents=total, amount_cents=total)
    if paid:
        await Payment.create(invoice=invoice, amount_cents=paid, method="cheque", paid_on=issued_on)
    return invoice


async def test_family_exports_its_own_household_only_filed_by_plugin(gql):
    user, household, kids = await make_family(children=2)
    _, other, _ = await make_family("autre@example.org", name="AUTRE")
    stored = await store_bytes("avis.pdf", PDF, household_id=household.id, uploaded_by_id=user.id)
    await Document.create(household=household, child=kids[0], type_code="carnet_sante", file=stored,
                          status="refused", refusal_reason="Page des vaccins illisible")
    await Demarche.create(household=household, type_code="demenagement", data={"adresse": "3 rue des Lilas"},
                          status="refused", response="Justificatif manquant", created_by=user)
    client = await gql.as_user(user)
    export = (await client.ok(EXPORT))["personalDataExport"]
    assert set(export) >= {"core", *get_host().enabled}  # one section per plugin, core included
    core = export["core"]
    assert "DUPONT" in str(core["household"]) and "Enfant1" in str(core)
    assert "AUTRE" not in str(export)
    assert core["invoices"] == []
    [document] = core["documents"]
    assert (document["type"], document["status"], document["refusal_reason"]) == (
        "carnet_sante", "refused", "Page des vaccins illisible")
    assert document["uploaded_at"] and document["file"] == "avis.pdf"
    [demarche] = core["demarches"]
    assert (demarche["type"], demarche["status"], demarche["response"]) == (
        "demenagement", "refused", "Justificatif manquant")
    assert demarche["data"] == {"adresse": "3 rue des Lilas"} and demarche["created_at"]
    # no credential travels in the export
    assert "password_hash" not in str(export) and "token_hash" not in str(export)
    assert await client.code(EXPORT, h=str(other.id)) == "NOT_FOUND"


async def test_export_masks_the_keys_in_mailed_links(gql):
    user, household, _ = await make_family()
    await gql.ok(RESET, e=user.email)
    mail = await OutboxMail.get(to=user.email)
    assert "token=" in mail.text_body
    export = (await (await gql.as_user(user)).ok(EXPORT))["personalDataExport"]
    [row] = [m for m in export["core"]["tables"]["OutboxMail"] if m["id"] == mail.id]
    secret = mail.text_body.split("token=")[1].split()[0]
    assert secret not in str(export) and "token=[masqué]" in row["text_body"]


async def test_two_plugins_with_the_same_key_do_not_overwrite_each_other(gql):
    user, household, _ = await make_family()

    class Shadow:
        from core.hookspecs import hookimpl

        @hookimpl
        async def portail_rgpd_export(self, household_id: int) -> dict:
            return {"household": "ombre", "invoices": ["ombre"]}

    host = get_host()
    host.register(Shadow(), name="ombre")
    try:
        export = (await (await gql.as_user(user)).ok(EXPORT))["personalDataExport"]
    finally:
        host.unregister("ombre")
    assert export["ombre"] == {"household": "ombre", "invoices": ["ombre"]}
    assert "DUPONT" in str(export["core"]["household"]) and export["core"]["invoices"] == []


async def test_agent_cannot_export_admin_can_and_is_audited(gql):
    _, household, _ = await make_family()
    agent = await make_staff(services=["alsh"])
    assert await (await gql.as_user(agent)).code(EXPORT, h=str(household.id)) == "FORBIDDEN"
    admin = await make_staff("admin@example.org", role="admin")
    assert "Enfant1" in str((await (await gql.as_user(admin)).ok(EXPORT, h=str(household.id)))["personalDataExport"])
    assert await AuditLog.exists(action="rgpd_export", household_id=household.id)
    assert await (await gql.as_user(admin)).code(EXPORT, h="abc") == "INVALID_ID"


async def test_admin_erases_household_mails_sessions_tokens_and_files(gql):
    user, household, _ = await make_family()
    _, other, _ = await make_family("autre@example.org", name="AUTRE")
    stored = await store_bytes("justificatif.pdf", PDF, household_id=household.id, uploaded_by_id=user.id)
    await Document.create(household=household, type_code="justificatif_domicile", file=stored)
    assert _path(stored.stored_name).exists()
    await session_token(user)
    await gql.ok(RESET, e=user.email)  # a reset link in the outbox and a reset token
    await queue_mail(user.email, "mail/password_reset", {"user": user, "link": "x"})  # to the address, no household
    await queue_mail("autre@example.org", "mail/password_reset", {"user": user, "link": "x"}, household_id=other.id)
    await AuditLog.create(action="medical_read", entity="child", household_id=household.id, detail={"q": "asthme"})
    assert await AuthToken.filter(user=user, purpose=TokenPurpose.RESET).exists()
    agent = await make_staff(services=["alsh"])
    assert await (await gql.as_user(agent)).code(ERASE, h=str(household.id)) == "FORBIDDEN"
    admin = await make_staff("admin@example.org", role="admin")
    await (await gql.as_user(admin)).ok(ERASE, h=str(household.id))

    assert not _path(stored.stored_name).exists()
    assert not await Document.filter(household_id=household.id).exists()
    assert (await Household.get(id=household.id)).erased_at is not None
    member = await User.get(id=user.id)
    assert member.is_active is False and member.email != "famille@example.org" and member.password_hash is None
    assert all(c.first_name != "Enfant1" for c in await Child.filter(household_id=household.id))
    assert not await AuthToken.filter(user_id=user.id).exists()  # sessions and reset tokens
    assert not await OutboxMail.filter(household_id=household.id).exists()
    assert not await OutboxMail.filter(to="famille@example.org").exists()
    assert await OutboxMail.filter(household_id=other.id).count() == 1  # another household's mail stays
    entry = await AuditLog.get(action="medical_read")
    assert entry.detail == {} and entry.household_id == household.id  # who read it stays, not what
    # nothing owed, no invoice: the household record is fully anonymised
    assert (await Household.get(id=household.id)).name == "ANONYME"
    # erased twice: not found; a logged-in session of the erased family no longer works
    assert await (await gql.as_user(admin)).code(ERASE, h=str(household.id)) == "NOT_FOUND"
    assert await (await gql.as_user(admin)).code(ERASE, h="") == "INVALID_ID"


async def test_erasure_refused_while_an_invoice_is_unpaid(gql):
    user, household, _ = await make_family()
    await _invoice(household, total=4250, paid=1000, number="F-00042")
    admin = await gql.as_user(await make_staff("admin@example.org", role="admin"))
    error = await admin.error(ERASE, h=str(household.id))
    assert error["extensions"]["code"] == "ERASURE_BLOCKED"
    assert "F-00042" in error["message"] and "non soldée" in error["message"]
    assert any("F-00042" in r for r in error["extensions"]["reasons"])
    # nothing was touched
    assert (await Household.get(id=household.id)).erased_at is None
    assert (await User.get(id=user.id)).is_active


async def test_erasure_refused_while_a_creche_contract_runs(gql):
    _needs("creche")
    from tests.creche.test_api import signed_contract

    _, household, kids = await make_family()
    contract = await signed_contract(household, kids[0])
    admin = await gql.as_user(await make_staff("admin@example.org", role="admin"))
    error = await admin.error(ERASE, h=str(household.id))
    assert error["extensions"]["code"] == "ERASURE_BLOCKED"
    assert f"contrat d'accueil n°{contract.number}" in error["message"]
    assert (await Child.get(id=kids[0].id)).first_name == "Enfant1"
    # once the contract ended, the erasure goes through and the contract (it backs invoices) stays
    from plugins.creche.models import Contract, ContractStatus

    await Contract.filter(id=contract.id).update(status=ContractStatus.ENDED, end_date=today() - timedelta(days=1))
    await admin.ok(ERASE, h=str(household.id))
    assert await Contract.exists(id=contract.id)


async def test_erasure_refused_while_a_sepa_mandate_is_in_force(gql):
    _needs("prelevement")
    from plugins.prelevement.models import MandateStatus, SepaMandate
    from tests.prelevement.conftest import make_mandate

    _, household, _ = await make_family()
    mandate = await make_mandate(household, "cdc")
    admin = await gql.as_user(await make_staff("admin@example.org", role="admin"))
    error = await admin.error(ERASE, h=str(household.id))
    assert error["extensions"]["code"] == "ERASURE_BLOCKED" and mandate.rum in error["message"]
    await SepaMandate.filter(id=mandate.id).update(status=MandateStatus.SUSPENDED)
    assert await admin.code(ERASE, h=str(household.id)) == "ERASURE_BLOCKED"
    await SepaMandate.filter(id=mandate.id).update(status=MandateStatus.STOPPED)
    await admin.ok(ERASE, h=str(household.id))
    assert (await SepaMandate.get(id=mandate.id)).iban == mandate.iban  # kept intact (EPC rulebook §4.1)


async def test_erasure_keeps_paid_invoices_with_their_debtor_record(gql):
    """A titre de recettes designates its debtor (nom, prénom, adresse) and is kept 10 years: the
    erasure keeps the household name, its postal address and the first responsable's name while an
    invoice is kept, and erases everything else."""
    user, household, kids = await make_family()
    await Household.filter(id=household.id).update(address_line1="3 rue des Lilas", postal_code="33820",
                                                    city="Braud", phone="0600000000", email="foyer@example.org",
                                                    allocataire_number="1234567")
    await Responsable.filter(household=household, rank=1).update(phone_mobile="0611111111", profession="Infirmière")
    invoice = await _invoice(household, total=4250, paid=4250, number="F-00007")
    admin_user = await make_staff("admin@example.org", role="admin")
    admin = await gql.as_user(admin_user)
    await admin.ok(ERASE, h=str(household.id))

    kept = await Household.get(id=household.id)
    assert (kept.name, kept.address_line1, kept.postal_code, kept.city) == ("DUPONT", "3 rue des Lilas", "33820",
                                                                            "Braud")
    assert (kept.phone, kept.email, kept.allocataire_number) == ("", "", "") and kept.erased_at is not None
    first = await Responsable.get(household=household, rank=1)
    assert first.last_name == "DUPONT" and first.phone_mobile == "" and first.profession == ""
    assert all(c.first_name == "Anonyme" and c.birth_date is None for c in await Child.filter(household=household))
    invoice = await Invoice.get(id=invoice.id)
    assert (invoice.number, invoice.total_cents, invoice.paid_cents) == ("F-00007", 4250, 4250)
    assert await Payment.filter(invoice=invoice).count() == 1
    line = await InvoiceLine.get(invoice=invoice)
    assert line.child_name == "Enfant1 DUPONT"  # the basis of the liquidation, per child, stays on the titre
    # the invoice PDF still names its debtor
    response = await admin.download(f"/files/invoice/{invoice.id}")
    assert response.status_code == 200
    text = pdf_text(response.content)
    assert "DUPONT" in text and "3 rue des Lilas" in text and "F-00007" in text
