"""A mandate signed on paper at the régie's desk, registered by staff through HTTP: active at once,
the scan kept as the signed document, audited, the family mailed, collected FRST by the next batch;
and its error paths (wrong agent, family, unseen household, bad IBAN, existing mandate, dates)."""

from __future__ import annotations

import asyncio
import os
from datetime import timedelta

import pytest

from core.documents.models import Document
from core.households.models import AuditLog
from core.timeutil import today
from plugins.prelevement import rules
from plugins.prelevement.models import MandateStatus, SepaMandate
from tests.conftest import make_family, make_staff, uses_service
from tests.prelevement.conftest import IBAN_CA, PDF, make_invoice, make_mandate
from tests.prelevement.test_api import BUILD, due, mails

REGISTER = """mutation($h: ID!, $input: PrelevementPaperMandateInput!, $file: Upload) {
  registerPrelevementPaperMandate(householdId: $h, input: $input, file: $file) {
    id rum status regieCode version signedOn startMonth maskedIban bankName hasSignedMandate
    versions { version maskedIban } } }"""


def paper(**overrides):
    data = {"regieCode": "st_caprais", "accountHolder": "DUPONT Camille", "iban": "FR76 3000 6000 0112 3456 7890 189",
            "bic": "AGRIFRPP", "bankName": "", "startMonth": today().strftime("%Y-%m"),
            "signedOn": (today() - timedelta(days=2)).isoformat(), "information": "Formulaire remis à l'accueil"}
    return {**data, **overrides}


async def stc_agent(gql, household=None, email: str = "stc@example.org"):
    """An agent of the St Caprais crèche (billed by the st_caprais régie); the household uses it."""
    if household is not None:
        await uses_service(household, "creche_petit_a_petit")
    return await gql.as_user(await make_staff(email, services=["creche_petit_a_petit"]))


async def test_agent_registers_a_signed_paper_mandate_active_at_once_and_collected_frst(gql, mailbox):
    user, household, _ = await make_family("fam@example.org")
    agent = await stc_agent(gql, household)
    res = await agent.upload(REGISTER, {"h": str(household.id), "input": paper()},
                             {"file": ("mandat-scan.pdf", PDF, "application/pdf")})
    assert not res.get("errors"), res
    mandate = res["data"]["registerPrelevementPaperMandate"]
    assert mandate["status"] == "ACTIVE" and mandate["version"] == 1 and mandate["regieCode"] == "st_caprais"
    assert mandate["signedOn"] == (today() - timedelta(days=2)).isoformat()
    assert mandate["maskedIban"] == "FR76 **** **** **** **** ***0 189" and mandate["bankName"] == "CREDIT AGRICOLE SA"
    assert mandate["hasSignedMandate"] is True
    assert mandate["versions"] == [{"version": 1, "maskedIban": "FR76 **** **** **** **** ***0 189"}]
    # The scan is the mandate's signed document, accepted (the agent had the original in hand).
    stored = await SepaMandate.get(id=int(mandate["id"]))
    doc = await Document.get(id=stored.signed_document_id)
    assert doc.household_id == household.id and doc.type_code == "mandat_sepa_signe" and doc.status == "accepted"
    # Audited, without the IBAN.
    entry = await AuditLog.get(action="sepa_paper_mandate", entity_id=stored.id)
    assert entry.household_id == household.id and entry.detail["rum"] == mandate["rum"]
    assert IBAN_CA not in str(entry.detail)
    # The family is mailed (masked IBAN only) and sees it among its mandates.
    subjects = await mails(mailbox, "fam@example.org")
    assert subjects == ["Votre prélèvement automatique (St Caprais) est enregistré"], subjects
    text = [mailbox.text(m) for m in mailbox.to("fam@example.org") if "enregistré" in m["Subject"]][0]
    assert mandate["rum"] in text and "***0 189" in text and IBAN_CA not in text
    mine = (await (await gql.as_user(user)).ok("{ prelevementMandates { id status } }"))["prelevementMandates"]
    assert mine == [{"id": mandate["id"], "status": "ACTIVE"}]
    # The next batch collects it, as a first collection.
    await make_invoice(household, "st_caprais", 3200)
    batch = (await agent.ok(BUILD, regie="st_caprais", due=due()))["buildPrelevementBatch"]
    assert [(d["sequenceType"], d["amountCents"]) for d in batch["debits"]["items"]] == [("FRST", 3200)]


async def test_without_a_scan_the_mandate_is_active_but_has_no_signed_document(gql):
    _, household, _ = await make_family("fam@example.org")
    admin = await gql.as_user(await make_staff("admin@example.org", role="admin"))
    done = (await admin.ok(REGISTER, h=str(household.id), input=paper(signedOn=today().isoformat())))
    assert done["registerPrelevementPaperMandate"]["status"] == "ACTIVE"
    assert done["registerPrelevementPaperMandate"]["hasSignedMandate"] is False


async def test_a_scan_that_is_not_a_document_is_refused_and_nothing_is_created(gql):
    _, household, _ = await make_family("fam@example.org")
    agent = await stc_agent(gql, household)
    bad = await agent.upload(REGISTER, {"h": str(household.id), "input": paper()},
                             {"file": ("scan.pdf", b"MZ\x90\x00" * 10, "application/pdf")})
    assert bad["errors"][0]["extensions"]["code"] == "INVALID_FILE_TYPE"
    assert await SepaMandate.filter(household_id=household.id).count() == 0


async def test_who_may_register(gql):
    user, household, _ = await make_family("fam@example.org")
    await uses_service(household, "creche_petit_a_petit", "alsh")
    # An agent of a service billed by another régie (alsh -> cdc): FORBIDDEN on st_caprais.
    alsh = await gql.as_user(await make_staff("alsh@example.org", services=["alsh"]))
    assert await alsh.code(REGISTER, h=str(household.id), input=paper()) == "FORBIDDEN"
    # The family itself: FORBIDDEN (it goes through requestPrelevementMandate).
    assert await (await gql.as_user(user)).code(REGISTER, h=str(household.id), input=paper()) == "FORBIDDEN"
    # The régie's agent, a household that does not exist: NOT_FOUND.
    agent = await stc_agent(gql)
    assert await agent.code(REGISTER, h="999999", input=paper()) == "NOT_FOUND"
    assert await SepaMandate.all().count() == 0


async def test_desk_agent_registers_for_a_household_using_none_of_the_regies_services(gql, mailbox):
    """A family signs at the St Caprais desk before its child starts at the crèche: the household uses
    no service of the régie yet (only ALSH, billed by another régie), and the crèche's agent registers
    the mandate all the same. Reading it afterwards stays need-to-know."""
    user, newcomer, _ = await make_family("nouveaux@example.org", name="MARTIN")
    await uses_service(newcomer, "alsh")
    agent = await stc_agent(gql)  # agent of creche_petit_a_petit, billed by st_caprais
    done = (await agent.ok(REGISTER, h=str(newcomer.id), input=paper()))["registerPrelevementPaperMandate"]
    assert done["status"] == "ACTIVE" and done["regieCode"] == "st_caprais" and done["version"] == 1
    assert await SepaMandate.filter(household_id=newcomer.id, status=MandateStatus.ACTIVE).count() == 1
    assert await AuditLog.exists(action="sepa_paper_mandate", household_id=newcomer.id)
    # The family sees it and is mailed.
    mine = (await (await gql.as_user(user)).ok("{ prelevementMandates { id status } }"))["prelevementMandates"]
    assert mine == [{"id": done["id"], "status": "ACTIVE"}]
    assert await mails(mailbox, "nouveaux@example.org") == ["Votre prélèvement automatique (St Caprais) est enregistré"]
    # Still one live mandate per household and régie.
    assert await agent.code(REGISTER, h=str(newcomer.id), input=paper()) == "MANDATE_EXISTS"
    # The household's data stays need-to-know: once it uses the crèche, the agent reads the mandate.
    assert await agent.code("query($id: ID!) { prelevementMandate(id: $id) { id } }", id=done["id"]) == "NOT_FOUND"
    await uses_service(newcomer, "creche_petit_a_petit")
    assert (await agent.ok("query($id: ID!) { prelevementMandate(id: $id) { id } }", id=done["id"])) \
        == {"prelevementMandate": {"id": done["id"]}}


async def test_same_checks_as_the_familys_request(gql):
    _, household, _ = await make_family("fam@example.org")
    agent = await stc_agent(gql, household)
    h = str(household.id)
    err = await agent.error(REGISTER, h=h, input=paper(iban="FR76 3000 6000 0112 3456 7890 188"))
    assert err["extensions"] == {"code": "INVALID_IBAN", "field": "iban"} and "188" not in err["message"]
    err = await agent.error(REGISTER, h=h, input=paper(bic="COBADEFFXXX"))
    assert err["extensions"] == {"code": "INVALID_BIC", "field": "bic"}
    err = await agent.error(REGISTER, h=h, input=paper(accountHolder=" "))
    assert err["extensions"] == {"code": "REQUIRED", "field": "accountHolder"}
    err = await agent.error(REGISTER, h=h, input=paper(regieCode="inconnue"))
    assert err["extensions"] == {"code": "UNKNOWN_REGIE", "field": "regieCode"}
    past = (today().replace(day=1) - timedelta(days=1)).strftime("%Y-%m")
    assert await agent.code(REGISTER, h=h, input=paper(startMonth=past)) == "INVALID_START_MONTH"
    assert await SepaMandate.filter(household_id=household.id).count() == 0


async def test_signature_date_not_in_the_future_nor_lapsed(gql):
    _, household, _ = await make_family("fam@example.org")
    agent = await stc_agent(gql, household)
    h = str(household.id)
    err = await agent.error(REGISTER, h=h, input=paper(signedOn=(today() + timedelta(days=1)).isoformat()))
    assert err["extensions"] == {"code": "SIGNED_ON_IN_FUTURE", "field": "signedOn"}
    too_old = rules.add_months(today(), -rules.LAPSE_MONTHS) - timedelta(days=1)
    err = await agent.error(REGISTER, h=h, input=paper(signedOn=too_old.isoformat()))
    assert err["extensions"] == {"code": "SIGNED_ON_TOO_OLD", "field": "signedOn"} and "36 mois" in err["message"]
    assert await SepaMandate.filter(household_id=household.id).count() == 0
    oldest = rules.add_months(today(), -rules.LAPSE_MONTHS)
    done = await agent.ok(REGISTER, h=h, input=paper(signedOn=oldest.isoformat()))
    assert done["registerPrelevementPaperMandate"]["signedOn"] == oldest.isoformat()


@pytest.mark.parametrize("status", [MandateStatus.PENDING, MandateStatus.ACTIVE])
async def test_a_live_mandate_of_the_regie_blocks_a_second(gql, status):
    _, household, _ = await make_family("fam@example.org")
    await make_mandate(household, "st_caprais", status=status)
    await make_mandate(household, "cdc", status=MandateStatus.PENDING)  # another régie does not count
    agent = await stc_agent(gql, household)
    err = await agent.error(REGISTER, h=str(household.id), input=paper())
    assert err["extensions"]["code"] == "MANDATE_EXISTS" and err["extensions"]["field"] == "regieCode"
    assert await SepaMandate.filter(household_id=household.id, regie_code="st_caprais").count() == 1


async def test_a_stopped_mandate_does_not_block_a_new_paper_one(gql):
    _, household, _ = await make_family("fam@example.org")
    await make_mandate(household, "st_caprais", status=MandateStatus.STOPPED)
    agent = await stc_agent(gql, household)
    assert (await agent.ok(REGISTER, h=str(household.id), input=paper()))["registerPrelevementPaperMandate"]["status"] == "ACTIVE"


@pytest.mark.skipif(not os.environ.get("DATABASE_URL", "").startswith("postgres"),
                    reason="row locking is proved on PostgreSQL")
async def test_double_registration_at_once_makes_one_mandate(gql):
    """The same form registered many times at once (two agents, double clicks): one mandate, the
    others MANDATE_EXISTS, the same answer as one at a time."""
    _, household, _ = await make_family("fam@example.org")
    agent = await stc_agent(gql, household)
    other = await stc_agent(gql, None, email="stc2@example.org")
    results = await asyncio.gather(*((agent if i % 2 else other).execute(REGISTER, {"h": str(household.id),
                                                                                   "input": paper()})
                                     for i in range(20)))
    outcome = [r["errors"][0]["extensions"]["code"] if r.get("errors") else "ok" for r in results]
    assert outcome.count("ok") == 1 and outcome.count("MANDATE_EXISTS") == 19, outcome
    assert await SepaMandate.filter(household_id=household.id, regie_code="st_caprais").count() == 1
