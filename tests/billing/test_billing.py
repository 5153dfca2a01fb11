"""Billing through HTTP: runs, invoices (PDF, mail), payments, credit notes, tariffs, attestation."""

from __future__ import annotations

import io
from datetime import date

import pypdf
import pytest

from core.billing.models import Invoice, InvoiceLine, Payment
from core.billing.service import reverse_payment, run_billing, unpaid_invoices
from core.config import get_settings
from core.errors import Conflict
from core.mail.service import send_pending
from core.timeutil import today
from tests.billing.conftest import MARCH
from tests.conftest import make_family, make_staff
from tests.querycount import count_queries

RUN = """mutation($s: Date!, $e: Date!) { runBilling(periodStart: $s, periodEnd: $e) {
  households invoices lines skippedLines totalCents } }"""
MY = """query($y: Int) { myInvoiceTotals(year: $y) { count totalCents balanceCents }
  myInvoices(year: $y) { total items {
  id number status statusLabel totalCents balanceCents regieCode periodStart periodEnd establishments pdfUrl
  lines { designation quantity unitPriceCents amountCents childName } } } }"""
ONE = "query($id: ID!) { invoice(id: $id) { id number totalCents paidCents balanceCents status lines { id amountCents } payments { amountCents method reversed } } }"
PAY = """mutation($id: ID!, $a: Int!, $m: PaymentMethod!, $r: String! = "") { recordPayment(invoiceId: $id, amountCents: $a, method: $m, reference: $r) {
  id paidCents balanceCents status } }"""
CREDIT = """mutation($id: ID!, $reason: String!, $a: Int, $l: [ID!]) { issueCreditNote(invoiceId: $id, reason: $reason, amountCents: $a, lineIds: $l) {
  id number kind totalCents correctsId } }"""


def pdf_text(content: bytes) -> str:
    reader = pypdf.PdfReader(io.BytesIO(content))
    return "\n".join(page.extract_text() for page in reader.pages)


async def _setup(lines_plugin):
    ua, ha, ka = await make_family("a@example.org", name="MARTIN", children=2)
    ub, hb, kb = await make_family("b@example.org", name="DURAND", children=1)
    lines_plugin.add(ha.id, "alsh:1:mer-1", "MERCREDIS JOURNEE AVEC REPAS", "1", 1300, child_id=ka[0].id)
    lines_plugin.add(ha.id, "alsh:1:mer-2", "MERCREDI MATIN SANS REPAS", "2", 650, child_id=ka[0].id)
    lines_plugin.add(ha.id, "alsh:2:mer-1", "MERCREDIS JOURNEE AVEC REPAS", "1", 1300, child_id=ka[1].id)
    lines_plugin.add(ha.id, "creche:9:2023-03", "Accueil régulier (heures)", "12.5", 176, regie="st_caprais",
                     child_id=ka[1].id, establishment="Crèche - Petit à Petit", service="creche_petit_a_petit")
    lines_plugin.add(hb.id, "alsh:3:mer-1", "MERCREDIS JOURNEE AVEC REPAS", "1", 1300, child_id=kb[0].id)
    admin = await make_staff("admin@example.org", role="admin")
    return (ua, ha, ka), (ub, hb, kb), admin


async def test_run_billing_invoices_pdf_mail_and_idempotence(gql, lines_plugin, mailbox):
    (ua, ha, ka), (ub, hb, kb), admin = await _setup(lines_plugin)
    staff = await gql.as_user(admin)
    res = (await staff.ok(RUN, s="2023-03-01", e="2023-03-31"))["runBilling"]
    assert res == {"households": 2, "invoices": 3, "lines": 5, "skippedLines": 0,
                   "totalCents": 1300 + 1300 + 1300 + 2200 + 1300}
    year = today().year
    numbers = sorted(await Invoice.all().values_list("number", flat=True))
    assert numbers == [f"CDC-{year}-00001", f"CDC-{year}-00002", f"STC-{year}-00001"]

    # Second run: nothing new (lines recognised by their source_key), and no new number consumed.
    again = (await staff.ok(RUN, s="2023-03-01", e="2023-03-31"))["runBilling"]
    assert again["invoices"] == 0 and again["skippedLines"] == 5
    assert await Invoice.all().count() == 3

    # A new line for the same period later: only that line is billed, next number.
    lines_plugin.add(hb.id, "alsh:3:mer-2", "MERCREDI MATIN SANS REPAS", "1", 650, child_id=kb[0].id)
    third = (await staff.ok(RUN, s="2023-03-01", e="2023-03-31"))["runBilling"]
    assert third["invoices"] == 1 and third["lines"] == 1
    assert await Invoice.exists(number=f"CDC-{year}-00003", total_cents=650)

    # One mail per invoice, like the ALSH guide.
    await send_pending(ignore_schedule=True)
    mails_a = mailbox.to("a@example.org")
    assert len(mails_a) == 2
    text = mailbox.text(mails_a[0])
    assert "votre facture concernant la période du 1er au 31 mars 2023" in text
    assert len(mailbox.to("b@example.org")) == 2

    # « Mes factures »
    fam = await gql.as_user(ua)
    answer = await fam.ok(MY, y=year)
    assert answer["myInvoiceTotals"] == {"count": 2, "totalCents": 3900 + 2200, "balanceCents": 6100}
    data = answer["myInvoices"]
    assert data["total"] == 2
    cdc = next(i for i in data["items"] if i["regieCode"] == "cdc")
    assert cdc["status"] == "UNPAID" and cdc["statusLabel"] == "Non soldée"
    assert cdc["periodStart"] == "2023-03-01" and "ALSH BRAUD ET ST LOUIS" in cdc["establishments"]
    assert {(ln["designation"], ln["quantity"], ln["amountCents"]) for ln in cdc["lines"]} == {
        ("MERCREDIS JOURNEE AVEC REPAS", "1", 1300), ("MERCREDI MATIN SANS REPAS", "2", 1300)}
    stc = next(i for i in data["items"] if i["regieCode"] == "st_caprais")
    assert stc["lines"][0]["quantity"] == "12.5" and stc["totalCents"] == 2200
    assert (await fam.ok(MY, y=year - 5))["myInvoices"]["total"] == 0

    # PDF read back: detail table, totals, restant dû.
    response = await fam.download(cdc["pdfUrl"])
    assert response.status_code == 200 and response.headers["content-type"] == "application/pdf"
    assert response.headers["content-disposition"].startswith("attachment")
    text = pdf_text(response.content)
    for expected in (cdc["number"], "Désignation", "Quantité", "Tarif", "Montant", "MERCREDIS JOURNEE AVEC REPAS",
                     "Enfant1 MARTIN", "Enfant2 MARTIN", "6,50", "39,00", "Restant dû", "Période de facturation",
                     "Référent", "Camille MARTIN", "01/03/2023", "31/03/2023"):
        assert expected in text, expected
    preview = await fam.download(cdc["pdfUrl"] + "?inline=1")
    assert preview.headers["content-disposition"].startswith("inline")

    # Another family: the invoice does not exist for them.
    other = await gql.as_user(ub)
    assert await other.code(ONE, id=cdc["id"]) == "NOT_FOUND"
    assert (await other.download(cdc["pdfUrl"])).status_code == 404
    assert (await gql.download(cdc["pdfUrl"])).status_code in (401, 404)
    assert await other.code(ONE, id="abc") == "INVALID_ID"


async def test_run_billing_permissions_and_period(gql, lines_plugin):
    (ua, ha, ka), _, admin = await _setup(lines_plugin)
    fam = await gql.as_user(ua)
    assert await fam.code(RUN, s="2023-03-01", e="2023-03-31") == "FORBIDDEN"
    assert await gql.code(RUN, s="2023-03-01", e="2023-03-31") == "UNAUTHENTICATED"
    staff = await gql.as_user(admin)
    err = await staff.error(RUN, s="2023-03-31", e="2023-03-01")
    assert err["extensions"] == {"code": "INVALID_PERIOD", "field": "periodEnd"}
    assert await Invoice.all().count() == 0
    agent = await gql.as_user(await make_staff("agent@example.org", services=["alsh"]))
    assert (await agent.ok(RUN, s="2023-03-01", e="2023-03-31"))["runBilling"]["invoices"] == 3


async def test_batches_and_query_count(lines_plugin):
    """Households are asked in batches and the queries do not grow with the number of lines."""
    fams = [await make_family(f"f{i}@example.org", name=f"F{i}", children=1) for i in range(12)]
    for _, h, k in fams:
        for j in range(3):
            lines_plugin.add(h.id, f"x:{h.id}:{j}", "Repas", "1", 350, child_id=k[0].id)
    with count_queries() as small:
        r = await run_billing(MARCH, batch_size=5)
    assert r.invoices == 12 and r.lines == 36
    assert [len(c) for c in lines_plugin.calls] == [5, 5, 2]
    assert small.count < 3 * 20, small.statements  # per batch, not per line or invoice


async def test_payments_partial_overpayment_reverse(gql, lines_plugin):
    (ua, ha, ka), (ub, hb, kb), admin = await _setup(lines_plugin)
    await run_billing(MARCH)
    inv = await Invoice.get(household_id=ha.id, regie_code="cdc")
    agent = await gql.as_user(await make_staff("agent@example.org", services=["alsh"]))
    res = (await agent.ok(PAY, id=str(inv.id), a=1000, m="CHEQUE", r="CHQ 1234"))["recordPayment"]
    assert res == {"id": str(inv.id), "paidCents": 1000, "balanceCents": 2900, "status": "PARTIALLY_PAID"}

    err = await agent.error(PAY, id=str(inv.id), a=2901, m="CASH")
    assert err["extensions"]["code"] == "OVERPAYMENT" and err["extensions"]["field"] == "amountCents"
    assert "29,00" in err["message"]
    err = await agent.error(PAY, id=str(inv.id), a=0, m="CASH")
    assert err["extensions"] == {"code": "INVALID_AMOUNT", "field": "amountCents"}
    err = await agent.error(PAY, id=str(inv.id), a=100, m="bitcoin")  # not a PaymentMethod: refused by the schema
    assert err["extensions"]["code"] == "GRAPHQL_VALIDATION_FAILED"

    # Staff of a service of another régie, a family, another family: nothing changes.
    stc_agent = await gql.as_user(await make_staff("stc@example.org", services=["creche_petit_a_petit"]))
    assert await stc_agent.code(PAY, id=str(inv.id), a=100, m="CASH") == "NOT_FOUND"
    assert await (await gql.as_user(ua)).code(PAY, id=str(inv.id), a=100, m="CASH") == "FORBIDDEN"
    assert await (await gql.as_user(ub)).code(ONE, id=str(inv.id)) == "NOT_FOUND"
    assert (await Invoice.get(id=inv.id)).paid_cents == 1000

    res = (await agent.ok(PAY, id=str(inv.id), a=2900, m="CESU"))["recordPayment"]
    assert res["status"] == "PAID" and res["balanceCents"] == 0
    assert [i.id for i in await unpaid_invoices("cdc")] == [(await Invoice.get(household_id=hb.id)).id]

    # SEPA reject: the balance reopens.
    cesu = await Payment.get(invoice_id=inv.id, method="cesu")
    await reverse_payment(cesu.id, "Rejet SEPA AM04")
    data = (await (await gql.as_user(ua)).ok(ONE, id=str(inv.id)))["invoice"]
    assert data["status"] == "PARTIALLY_PAID" and data["balanceCents"] == 2900
    assert {(p["method"], p["reversed"]) for p in data["payments"]} == {("CHEQUE", False), ("CESU", True)}
    with pytest.raises(Conflict):
        await reverse_payment(cesu.id, "again")
    assert inv.id in [i.id for i in await unpaid_invoices("cdc", [ha.id])]


async def test_credit_notes(gql, lines_plugin):
    (ua, ha, ka), _, admin = await _setup(lines_plugin)
    await run_billing(MARCH)
    inv = await Invoice.get(household_id=ha.id, regie_code="cdc")
    staff = await gql.as_user(admin)
    err = await staff.error(CREDIT, id=str(inv.id), reason="Erreur", a=5000)
    assert err["extensions"] == {"code": "CREDIT_EXCEEDS_BALANCE", "field": "amountCents"}
    err = await staff.error(CREDIT, id=str(inv.id), reason=" ", a=100)
    assert err["extensions"] == {"code": "REQUIRED", "field": "reason"}
    note = (await staff.ok(CREDIT, id=str(inv.id), reason="Geste commercial", a=300))["issueCreditNote"]
    year = today().year
    assert note["kind"] == "CREDIT_NOTE" and note["totalCents"] == -300 and note["correctsId"] == str(inv.id)
    assert note["number"] == f"CDC-{year}-00003"
    assert (await Invoice.get(id=inv.id)).balance_cents == 3600

    # Cancelling a line makes it billable again (corrected by the plugin).
    line = await InvoiceLine.get(invoice_id=inv.id, source_key="alsh:2:mer-1")
    note2 = (await staff.ok(CREDIT, id=str(inv.id), reason="Absence justifiée", l=[str(line.id)]))["issueCreditNote"]
    assert note2["totalCents"] == -1300
    assert (await Invoice.get(id=inv.id)).balance_cents == 2300
    assert await staff.code(CREDIT, id=str(inv.id), reason="x", l=[str(line.id)]) == "INVALID_LINE"
    lines_plugin.lines = [d for d in lines_plugin.lines if d.source_key != "alsh:2:mer-1"]
    lines_plugin.add(ha.id, "alsh:2:mer-1", "MERCREDI MATIN SANS REPAS", "1", 650, child_id=ka[1].id)
    r = await run_billing(MARCH)
    assert r.invoices == 1 and r.total_cents == 650

    fam = await gql.as_user(ua)
    pdf = pdf_text((await fam.download(f"/files/invoice/{note2['id']}")).content)
    assert "Avoir" in pdf and "Absence justifiée" in pdf and inv.number in pdf
    assert await fam.code(CREDIT, id=str(inv.id), reason="x", a=1) == "FORBIDDEN"


TARIFFS = "{ tariffs { code label method bracketIndex yourPriceCents brackets { qfMax priceCents } rate } }"


async def test_tariffs_highlight_family_bracket(gql, monkeypatch):
    monkeypatch.setitem(get_settings().raw, "billing", {"activities": [
        {"code": "alsh_journee", "label": "ALSH journée avec repas", "service": "alsh",
         "grid": {"method": "qf_brackets", "brackets": [[700, 850], [1100, 1100], ["max", 1400]]}},
        {"code": "creche_heure", "label": "Crèche (heure)", "service": "creche_au_fil_de_l_eau",
         "grid": {"method": "taux_effort", "rate": "0.000619", "floor_cents": 50, "ceiling_cents": 450}},
        {"code": "broken", "label": "Mal configuré", "grid": {"method": "nope"}},
    ]})
    user, household, _ = await make_family(quotient_familial=800)
    household.reference_income_cents = 12 * 284500
    await household.save()
    rows = (await (await gql.as_user(user)).ok(TARIFFS))["tariffs"]
    assert [r["code"] for r in rows] == ["alsh_journee", "creche_heure"]
    assert rows[0]["bracketIndex"] == 1 and rows[0]["yourPriceCents"] == 1100
    assert rows[0]["brackets"][2] == {"qfMax": None, "priceCents": 1400}
    assert rows[1]["yourPriceCents"] == 176 and rows[1]["rate"] == "0.000619"
    no_qf, _, _ = await make_family("noqf@example.org", quotient_familial=None)
    rows = (await (await gql.as_user(no_qf)).ok(TARIFFS))["tariffs"]
    assert rows[0]["bracketIndex"] == 2 and rows[0]["yourPriceCents"] == 1400 and rows[1]["yourPriceCents"] == 450
    assert await gql.code(TARIFFS) == "UNAUTHENTICATED"


async def test_payment_attestation(gql, lines_plugin):
    (ua, ha, ka), (ub, hb, kb), admin = await _setup(lines_plugin)
    await run_billing(MARCH)
    inv = await Invoice.get(household_id=ha.id, regie_code="cdc")  # 2600 child 1, 1300 child 2
    staff = await gql.as_user(admin)
    await staff.ok(PAY, id=str(inv.id), a=3900, m="CARD")
    year = today().year
    fam = await gql.as_user(ua)
    assert (await fam.ok("{ paymentYears }"))["paymentYears"] == [year]
    response = await fam.download(f"/files/attestation/{ha.id}-{year}")
    assert response.status_code == 200
    text = pdf_text(response.content)
    # Lines no plugin flagged as childcare: a payment statement, not a tax-credit attestation
    # (tests/billing/test_attestation.py has the fiscal cases).
    assert f"Relevé des paiements {year}" in text and "n'est pas une attestation fiscale" in text
    assert "Enfant1 MARTIN" in text and "26,00" in text and "13,00" in text and "39,00" in text
    assert (await (await gql.as_user(ub)).download(f"/files/attestation/{ha.id}-{year}")).status_code == 404
    assert (await fam.download(f"/files/attestation/{ha.id}-x")).status_code == 404
    assert (await staff.download(f"/files/attestation/{ha.id}-{year}")).status_code == 200


async def test_staff_invoice_search_scoped_by_regie(gql, lines_plugin):
    (ua, ha, ka), _, admin = await _setup(lines_plugin)
    await run_billing(MARCH)
    q = "query($h: ID, $r: String, $s: InvoiceStatus) { invoices(householdId: $h, regieCode: $r, status: $s) { total items { number regieCode } } }"
    assert (await (await gql.as_user(admin)).ok(q))["invoices"]["total"] == 3
    stc = await gql.as_user(await make_staff("stc@example.org", services=["creche_petit_a_petit"]))
    data = (await stc.ok(q))["invoices"]
    assert data["total"] == 1 and data["items"][0]["regieCode"] == "st_caprais"
    agent = await gql.as_user(await make_staff("agent@example.org", services=["alsh"]))
    assert (await agent.ok(q, h=str(ha.id)))["invoices"]["total"] == 1
    assert (await agent.ok(q, s="PAID"))["invoices"]["total"] == 0
    assert (await agent.error(q, s="bogus"))["extensions"]["code"] == "GRAPHQL_VALIDATION_FAILED"
    assert await (await gql.as_user(ua)).code(q) == "FORBIDDEN"


async def test_my_invoices_query_count_is_flat(gql, lines_plugin):
    user, h, kids = await make_family(children=1)
    for m in range(1, 6):
        lines_plugin.add(h.id, f"k:{m}", f"Ligne {m}", "1", 100 * m, child_id=kids[0].id)
        lines_plugin.add(h.id, f"k:{m}:b", f"Ligne {m} b", "1", 100, child_id=kids[0].id)
        from core.billing.types import BillingPeriod

        await run_billing(BillingPeriod(date(2023, m, 1), date(2023, m, 28)))
        lines_plugin.lines = []
    fam = await gql.as_user(user)
    with count_queries() as log:
        data = (await fam.ok(MY + "", y=today().year))["myInvoices"]
    assert data["total"] == 5
    assert log.count <= 6, log.statements
